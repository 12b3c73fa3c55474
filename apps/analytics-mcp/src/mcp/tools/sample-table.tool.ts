import { Inject, Injectable } from '@nestjs/common';
import { DbService } from '#db';
import { McpTool, ToolError, cancellationOf, type ToolCallContext, type ToolOutcome } from '#mcp-tools';
import { z } from 'zod';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { AppConfig } from '../../config/app-config.js';
import { GuardedQueryService } from '../guarded-query.service.js';

/**
 * The relation's name quoted by PostgreSQL itself (format %I) from the catalogue row,
 * so no part of the caller's input is ever spliced into SQL; and its size: reltuples,
 * or for a partitioned table or TimescaleDB hypertable (whose parent holds no rows)
 * the sum over its direct children (partitions, chunks).
 */
const SAMPLE_TARGET_SQL = `
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qualified,
       c.relkind IN ('r', 'p', 'm') AS sampleable,
       greatest(c.reltuples,
                (SELECT coalesce(sum(greatest(ch.reltuples, 0)), 0)
                   FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class ch ON ch.oid = i.inhrelid
                  WHERE i.inhparent = c.oid))::float8 AS estimated_rows
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

/** Past this many estimated rows a sample reads random blocks instead of the first ones. */
const SAMPLE_ABOVE_ROWS = 100_000;
/** Rows the block sample aims to touch: enough blocks that it is never empty, few enough to stay fast. */
const SAMPLE_TARGET_ROWS = 5_000;

const SampleInput = z.object({
  schema: z.string().min(1).describe('Readable schema name, e.g. tracksolid.'),
  table: z.string().min(1).describe('Table, view or materialized view in that schema (exact name, unquoted).'),
  n: z.number().int().min(1).max(100).default(10).describe('How many rows (1-100).'),
});

const SampleOutput = z.object({
  schema: z.string(),
  table: z.string(),
  method: z.enum(['first rows', 'block sample']).describe('block sample: TABLESAMPLE SYSTEM over random blocks of a large table.'),
  estimated_rows: z.number().nullable(),
  row_count: z.number().int(),
  truncated: z.boolean(),
  truncated_reason: z.enum(['rows', 'bytes']).optional(),
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.array(z.unknown())).describe('One array per row, values in column order.'),
});

@Injectable()
export class SampleTableTool {
  private readonly schemas: Set<string>;

  constructor(
    private readonly db: DbService,
    private readonly queries: GuardedQueryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.schemas = new Set(config.readableSchemas);
  }

  @McpTool({
    name: 'sample_table',
    description:
      'A few rows (default 10, at most 100) of one readable table or view, to see what the data looks like before writing SQL. Large tables are sampled from random blocks (TABLESAMPLE SYSTEM), so it stays fast on tables of any size; rows are not ordered.',
    input: SampleInput,
    output: SampleOutput,
    annotations: { title: 'Sample rows', readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  })
  async sample(args: z.infer<typeof SampleInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    if (!this.schemas.has(args.schema)) {
      throw new ToolError(`schema "${args.schema}" is not readable here; readable schemas: ${this.config.readableSchemas.join(', ')}`);
    }
    const found = await this.db.query({ sql: SAMPLE_TARGET_SQL, values: [args.schema, args.table], maxRows: 1, caller: ctx.caller, signal: cancellationOf(ctx) });
    const target = found.rows[0];
    if (!target) throw new ToolError(`no table or view "${args.table}" in schema "${args.schema}"; call list_tables to see what exists`);
    const [qualified, sampleable, estimate] = target as [string, boolean, number];
    const estimatedRows = estimate >= 0 ? Math.round(estimate) : null;

    const sampled = sampleable && estimatedRows !== null && estimatedRows > SAMPLE_ABOVE_ROWS;
    const run = (sql: string) => this.queries.run({ sql, maxRows: args.n, caller: ctx.caller, tool: 'sample_table', signal: cancellationOf(ctx) });
    let result = sampled ? await run(`SELECT * FROM ${qualified} TABLESAMPLE SYSTEM (${samplePercent(estimatedRows, args.n)}) LIMIT ${args.n}`) : undefined;
    let method: 'first rows' | 'block sample' = 'block sample';
    // Statistics can be stale: a sample that came back short reads the first rows instead.
    if (!result || (result.rows.length < args.n && result.truncatedBy !== 'bytes')) {
      result = await run(`SELECT * FROM ${qualified} LIMIT ${args.n}`);
      method = 'first rows';
    }
    return {
      structured: {
        schema: args.schema,
        table: args.table,
        method,
        estimated_rows: estimatedRows,
        row_count: result.rows.length,
        truncated: result.truncatedBy === 'bytes',
        ...(result.truncatedBy === 'bytes' ? { truncated_reason: 'bytes' } : {}),
        columns: result.columns.map((c, i) => ({ name: c.name, type: result.types[i] })),
        rows: result.rows,
      },
    };
  }
}

/** SYSTEM's percentage of blocks for about max(20 n, 5000) rows, as a plain decimal literal. */
export function samplePercent(estimatedRows: number, n: number): string {
  const pct = (100 * Math.max(20 * n, SAMPLE_TARGET_ROWS)) / estimatedRows;
  return Math.min(100, Math.max(pct, 0.000001)).toFixed(6);
}
