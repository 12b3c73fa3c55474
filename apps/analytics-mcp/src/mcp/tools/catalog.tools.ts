import { Inject, Injectable } from '@nestjs/common';
import { DbService } from '#db';
import { z } from 'zod';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { AppConfig } from '../../config/app-config.js';
import { McpTool, ToolError, cancellationOf, type ToolCallContext, type ToolOutcome } from '#mcp-tools';

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

const LIST_SCHEMAS_SQL = `
SELECT n.nspname AS schema, obj_description(n.oid, 'pg_namespace') AS comment,
       count(c.oid) FILTER (WHERE c.relkind IN ('r','p','v','m','f')) AS relations
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
WHERE n.nspname = ANY($1::text[])
GROUP BY n.oid, n.nspname
ORDER BY n.nspname`;

const LIST_TABLES_SQL = `
SELECT c.relname AS name,
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END AS kind,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8 END AS estimated_rows,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition
ORDER BY c.relname`;

const DESCRIBE_RELATION_SQL = `
SELECT c.oid::int8 AS oid,
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END AS kind,
       obj_description(c.oid, 'pg_class') AS comment,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8 END AS estimated_rows,
       (SELECT array_agg(a.attname::text ORDER BY k.ord)
          FROM pg_catalog.pg_index i
          CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p','v','m','f')`;

const DESCRIBE_COLUMNS_SQL = `
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS default, col_description(a.attrelid, a.attnum) AS comment
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;

// Foreign keys both ways, indexes and check constraints in one round trip, confined
// to the readable schemas ($2). Constraints cloned onto partitions (conparentid <> 0)
// are left out: the partitioned parent carries the one that matters.
const DESCRIBE_RELATIONSHIPS_SQL = `
WITH fk AS (
  SELECT con.oid, con.conname, con.conrelid, con.confrelid, con.confdeltype,
         (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols,
         (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_cols,
         sn.nspname AS src_schema, sc.relname AS src_table, tn.nspname AS ref_schema, tc.relname AS ref_table
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class sc ON sc.oid = con.conrelid JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
  JOIN pg_catalog.pg_class tc ON tc.oid = con.confrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  WHERE con.contype = 'f' AND con.conparentid = 0 AND (con.conrelid = $1::oid OR con.confrelid = $1::oid)
    AND sn.nspname = ANY($2::text[]) AND tn.nspname = ANY($2::text[])
)
SELECT
  (SELECT coalesce(json_agg(json_build_object(
            'name', conname, 'columns', cols,
            'references', json_build_object('schema', ref_schema, 'table', ref_table, 'columns', ref_cols),
            'on_delete', CASE confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                                          WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END) ORDER BY conname), '[]')
     FROM fk WHERE conrelid = $1::oid) AS foreign_keys,
  (SELECT coalesce(json_agg(json_build_object(
            'name', conname, 'from', json_build_object('schema', src_schema, 'table', src_table, 'columns', cols),
            'columns', ref_cols) ORDER BY src_schema, src_table, conname), '[]')
     FROM fk WHERE confrelid = $1::oid) AS referenced_by,
  (SELECT coalesce(json_agg(json_build_object(
            'name', ic.relname,
            'columns', (SELECT json_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true) ORDER BY k) FROM generate_series(1, i.indnkeyatts::int) AS k),
            'unique', i.indisunique, 'primary', i.indisprimary, 'method', am.amname,
            'predicate', pg_catalog.pg_get_expr(i.indpred, i.indrelid, true),
            'definition', pg_catalog.pg_get_indexdef(i.indexrelid)) ORDER BY i.indisprimary DESC, ic.relname), '[]')
     FROM pg_catalog.pg_index i
     JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
     JOIN pg_catalog.pg_am am ON am.oid = ic.relam
     WHERE i.indrelid = $1::oid) AS indexes,
  (SELECT coalesce(json_agg(json_build_object('name', conname, 'definition', pg_catalog.pg_get_constraintdef(oid, true)) ORDER BY conname), '[]')
     FROM pg_catalog.pg_constraint WHERE conrelid = $1::oid AND contype = 'c') AS check_constraints,
  (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'timescaledb') AS timescaledb_version`;

// Read only when the timescaledb extension is installed. Rows go through to_jsonb so a
// column that one TimescaleDB version lacks reads as absent instead of failing the
// statement. Untested against a real TimescaleDB here (it cannot be installed in CI);
// written against the documented timescaledb_information views.
const DESCRIBE_TIMESCALE_SQL = `
SELECT
  (SELECT to_jsonb(h) FROM timescaledb_information.hypertables h
    WHERE h.hypertable_schema = $1 AND h.hypertable_name = $2) AS hypertable,
  (SELECT jsonb_agg(to_jsonb(d) ORDER BY to_jsonb(d)->>'dimension_number', to_jsonb(d)->>'column_name')
     FROM timescaledb_information.dimensions d
    WHERE d.hypertable_schema = $1 AND d.hypertable_name = $2) AS dimensions,
  (SELECT to_jsonb(ca) FROM timescaledb_information.continuous_aggregates ca
    WHERE ca.view_schema = $1 AND ca.view_name = $2) AS continuous_aggregate,
  (SELECT jsonb_agg(jsonb_build_object('schema', ca.view_schema, 'view', ca.view_name) ORDER BY ca.view_schema, ca.view_name)
     FROM timescaledb_information.continuous_aggregates ca
    WHERE ca.hypertable_schema = $1 AND ca.hypertable_name = $2 AND ca.view_schema = ANY($3::text[])) AS continuous_aggregates`;

// int8 values arrive as numbers while they fit in a double, as decimal text beyond.
const bigint = z.union([z.number().int(), z.string()]);
const comment = z.string().nullable().describe('The COMMENT ON text, if any.');
const relationKind = z.enum(['table', 'partitioned table', 'view', 'materialized view', 'foreign table']);

const ListSchemasOutput = z.object({
  schemas: z.array(z.object({ schema: z.string(), comment, relations: bigint.describe('Tables, views and materialized views in the schema.') })),
});

const ListTablesOutput = z.object({
  schema: z.string(),
  tables: z.array(z.object({ name: z.string(), kind: relationKind, estimated_rows: bigint.nullable(), comment })),
});

const tableRef = z.object({ schema: z.string(), table: z.string(), columns: z.array(z.string()) });

const TimescaleFacts = z.object({
  version: z.string(),
  hypertable: z
    .object({
      time_column: z.string().nullable().describe('The time (primary) dimension column.'),
      chunk_interval: z.string().nullable().describe('Chunk time interval (e.g. "7 days"), or the integer range for integer time.'),
      num_chunks: z.number().nullable(),
      compression_enabled: z.boolean().nullable(),
      dimensions: z.array(
        z.object({
          column: z.string().nullable(),
          kind: z.string().nullable().describe('Time or Space.'),
          interval: z.string().nullable(),
          partitions: z.number().nullable(),
        }),
      ),
      continuous_aggregates: z.array(z.object({ schema: z.string(), view: z.string() })).describe('Continuous aggregates built on this hypertable.'),
    })
    .optional()
    .describe('Present when the table is a hypertable.'),
  continuous_aggregate: z
    .object({
      hypertable: z.object({ schema: z.string(), table: z.string() }).nullable().describe('The hypertable it aggregates (null when outside the readable schemas).'),
      materialized_only: z.boolean().nullable().describe('false: real-time aggregation adds rows not yet materialized.'),
    })
    .optional()
    .describe('Present when the view is a continuous aggregate.'),
  error: z.string().optional().describe('Why the TimescaleDB facts could not be read.'),
});

const DescribeTableOutput = z.object({
  schema: z.string(),
  table: z.string(),
  kind: relationKind,
  comment,
  estimated_rows: bigint.nullable(),
  primary_key: z.array(z.string()).nullable(),
  columns: z.array(
    z.object({ name: z.string(), type: z.string(), nullable: z.boolean(), default: z.string().nullable(), comment }),
  ),
  foreign_keys: z
    .array(z.object({ name: z.string(), columns: z.array(z.string()), references: tableRef, on_delete: z.string() }))
    .describe('This table → other tables: join columns[i] = references.columns[i].'),
  referenced_by: z
    .array(z.object({ name: z.string(), from: tableRef, columns: z.array(z.string()) }))
    .describe('Other tables → this table: from.columns[i] = columns[i] of this table.'),
  indexes: z.array(
    z.object({
      name: z.string(),
      columns: z.array(z.string()).describe('Key columns or expressions, in index order.'),
      unique: z.boolean(),
      primary: z.boolean(),
      method: z.string().describe('btree, hash, gist, gin, brin, …'),
      predicate: z.string().nullable().describe('WHERE clause of a partial index.'),
      definition: z.string(),
    }),
  ),
  check_constraints: z.array(z.object({ name: z.string(), definition: z.string() })),
  timescaledb: TimescaleFacts.optional().describe('Present when the timescaledb extension is installed.'),
});

/** Schema discovery tools, confined to MCP_READABLE_SCHEMAS. */
@Injectable()
export class CatalogTools {
  private readonly schemas: Set<string>;
  private readonly schemaArray: string;

  constructor(
    private readonly db: DbService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.schemas = new Set(config.readableSchemas);
    this.schemaArray = `{${config.readableSchemas.map((n) => `"${n.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
  }

  @McpTool({
    name: 'list_schemas',
    description: 'List the readable schemas with a description and how many tables/views each holds.',
    input: z.object({}),
    output: ListSchemasOutput,
    scope: 'catalog',
    annotations: { title: 'List schemas', ...READ_ONLY },
  })
  async listSchemas(_args: object, ctx: ToolCallContext): Promise<ToolOutcome> {
    const rows = await this.rows(LIST_SCHEMAS_SQL, [this.schemaArray], ctx);
    return { structured: { schemas: rows } };
  }

  @McpTool({
    name: 'list_tables',
    description: 'List the tables, views and materialized views of one readable schema, with estimated row counts and descriptions.',
    input: z.object({ schema: z.string().min(1).describe('One of the readable schemas (see list_schemas).') }),
    output: ListTablesOutput,
    scope: 'catalog',
    annotations: { title: 'List tables', ...READ_ONLY },
  })
  async listTables(args: { schema: string }, ctx: ToolCallContext): Promise<ToolOutcome> {
    this.assertReadable(args.schema);
    return { structured: { schema: args.schema, tables: await this.rows(LIST_TABLES_SQL, [args.schema], ctx) } };
  }

  @McpTool({
    name: 'describe_table',
    description:
      'Describe one table or view: columns (name, SQL type, nullability, default, description), primary key, foreign keys in both directions (what it references and what references it, with the join columns), indexes, check constraints, and TimescaleDB hypertable / continuous-aggregate facts when that extension is installed.',
    input: z.object({
      schema: z.string().min(1).describe('Readable schema name, e.g. tracksolid.'),
      table: z.string().min(1).describe('Table or view name within the schema (case-sensitive, unquoted).'),
    }),
    output: DescribeTableOutput,
    scope: 'catalog',
    annotations: { title: 'Describe table', ...READ_ONLY },
  })
  async describeTable(args: { schema: string; table: string }, ctx: ToolCallContext): Promise<ToolOutcome> {
    this.assertReadable(args.schema);
    const [rel] = await this.rows(DESCRIBE_RELATION_SQL, [args.schema, args.table], ctx);
    if (!rel) {
      throw new ToolError(`no table or view "${args.table}" in schema "${args.schema}"; call list_tables to see what exists`);
    }
    const columns = await this.rows(DESCRIBE_COLUMNS_SQL, [rel.oid], ctx);
    const [links] = await this.rows(DESCRIBE_RELATIONSHIPS_SQL, [rel.oid, this.schemaArray], ctx);
    const { timescaledb_version: tsdb, ...relationships } = links!;
    const { oid: _oid, ...info } = rel;
    const structured: Record<string, unknown> = { schema: args.schema, table: args.table, ...info, columns, ...relationships };
    if (typeof tsdb === 'string') structured.timescaledb = await this.timescaleFacts(args.schema, args.table, tsdb, ctx);
    return { structured };
  }

  private async timescaleFacts(schema: string, table: string, version: string, ctx: ToolCallContext): Promise<Record<string, unknown>> {
    let row: Record<string, unknown> | undefined;
    try {
      [row] = await this.rows(DESCRIBE_TIMESCALE_SQL, [schema, table, this.schemaArray], ctx);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !/^[0-9A-Z]{5}$/.test(code)) throw err;
      return { version, error: `PostgreSQL error ${code}: ${(err as Error).message}` };
    }
    const facts: Record<string, unknown> = { version };
    const h = row?.hypertable as Record<string, unknown> | null;
    if (h) {
      const dims = ((row!.dimensions as Record<string, unknown>[] | null) ?? []).map((d) => ({
        column: str(d.column_name),
        kind: str(d.dimension_type),
        interval: str(d.time_interval) ?? str(d.integer_interval),
        partitions: num(d.num_partitions),
      }));
      const time = dims.find((d) => d.kind === 'Time') ?? dims[0];
      facts.hypertable = {
        time_column: str(h.primary_dimension) ?? time?.column ?? null,
        chunk_interval: time?.interval ?? null,
        num_chunks: num(h.num_chunks),
        compression_enabled: typeof h.compression_enabled === 'boolean' ? h.compression_enabled : null,
        dimensions: dims,
        continuous_aggregates: row!.continuous_aggregates ?? [],
      };
    }
    const ca = row?.continuous_aggregate as Record<string, unknown> | null;
    if (ca) {
      const source = { schema: str(ca.hypertable_schema), table: str(ca.hypertable_name) };
      facts.continuous_aggregate = {
        hypertable: source.schema && source.table && this.schemas.has(source.schema) ? source : null,
        materialized_only: typeof ca.materialized_only === 'boolean' ? ca.materialized_only : null,
      };
    }
    return facts;
  }

  private assertReadable(schema: string): void {
    if (!this.schemas.has(schema)) {
      throw new ToolError(`schema "${schema}" is not readable here; readable schemas: ${this.config.readableSchemas.join(', ')}`);
    }
  }

  private async rows(sql: string, values: unknown[], ctx: ToolCallContext): Promise<Record<string, unknown>[]> {
    const result = await this.db.query({ sql, values, maxRows: 10_000, caller: ctx.caller, signal: cancellationOf(ctx) });
    return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);
