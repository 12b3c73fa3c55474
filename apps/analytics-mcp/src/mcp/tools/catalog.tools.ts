import { Inject, Injectable } from '@nestjs/common';
import { DbService } from '#db';
import { z } from 'zod';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { AppConfig } from '../../config/app-config.js';
import { McpTool, ToolError, type ToolCallContext, type ToolOutcome } from '#mcp-tools';

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
});

/** Schema discovery tools, confined to MCP_READABLE_SCHEMAS. */
@Injectable()
export class CatalogTools {
  private readonly schemas: Set<string>;

  constructor(
    private readonly db: DbService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.schemas = new Set(config.readableSchemas);
  }

  @McpTool({
    name: 'list_schemas',
    description: 'List the readable schemas with a description and how many tables/views each holds.',
    input: z.object({}),
    output: ListSchemasOutput,
    annotations: { title: 'List schemas', ...READ_ONLY },
  })
  async listSchemas(_args: object, ctx: ToolCallContext): Promise<ToolOutcome> {
    const rows = await this.rows(LIST_SCHEMAS_SQL, [`{${this.config.readableSchemas.join(',')}}`], ctx);
    return { structured: { schemas: rows } };
  }

  @McpTool({
    name: 'list_tables',
    description: 'List the tables, views and materialized views of one readable schema, with estimated row counts and descriptions.',
    input: z.object({ schema: z.string().min(1).describe('One of the readable schemas (see list_schemas).') }),
    output: ListTablesOutput,
    annotations: { title: 'List tables', ...READ_ONLY },
  })
  async listTables(args: { schema: string }, ctx: ToolCallContext): Promise<ToolOutcome> {
    this.assertReadable(args.schema);
    return { structured: { schema: args.schema, tables: await this.rows(LIST_TABLES_SQL, [args.schema], ctx) } };
  }

  @McpTool({
    name: 'describe_table',
    description: 'Describe one table or view: its columns (name, SQL type, nullability, default, description), primary key and description.',
    input: z.object({
      schema: z.string().min(1).describe('Readable schema name, e.g. tracksolid.'),
      table: z.string().min(1).describe('Table or view name within the schema (case-sensitive, unquoted).'),
    }),
    output: DescribeTableOutput,
    annotations: { title: 'Describe table', ...READ_ONLY },
  })
  async describeTable(args: { schema: string; table: string }, ctx: ToolCallContext): Promise<ToolOutcome> {
    this.assertReadable(args.schema);
    const [rel] = await this.rows(DESCRIBE_RELATION_SQL, [args.schema, args.table], ctx);
    if (!rel) {
      throw new ToolError(`no table or view "${args.table}" in schema "${args.schema}"; call list_tables to see what exists`);
    }
    const columns = await this.rows(DESCRIBE_COLUMNS_SQL, [rel.oid], ctx);
    const { oid: _oid, ...info } = rel;
    return { structured: { schema: args.schema, table: args.table, ...info, columns } };
  }

  private assertReadable(schema: string): void {
    if (!this.schemas.has(schema)) {
      throw new ToolError(`schema "${schema}" is not readable here; readable schemas: ${this.config.readableSchemas.join(', ')}`);
    }
  }

  private async rows(sql: string, values: unknown[], ctx: ToolCallContext): Promise<Record<string, unknown>[]> {
    const result = await this.db.query({ sql, values, maxRows: 10_000, caller: ctx.caller });
    return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
  }
}
