import { Injectable } from '@nestjs/common';
import { McpTool, type ToolCallContext, type ToolOutcome } from '#mcp-tools';
import { z } from 'zod';
import { GuardedQueryService } from '../guarded-query.service.js';

const QueryInput = z.object({
  sql: z
    .string()
    .min(1)
    .describe('Exactly one read-only statement: SELECT, WITH … SELECT, VALUES or TABLE. No writes, no statement batches.'),
  max_rows: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('How many rows to return. Defaults to the server default and is capped at the server ceiling (see instructions).'),
});

const BYTES_NOTE =
  'rows stopped at the result size cap; select fewer or shorter columns (e.g. left(col, 200)), filter, or aggregate';

const QueryOutput = z.object({
  row_count: z.number().int().describe('Rows returned (at most max_rows).'),
  truncated: z.boolean().describe('true when more rows existed than were returned.'),
  truncated_reason: z.enum(['rows', 'bytes']).optional().describe('What stopped the rows: max_rows, or the result size cap.'),
  note: z.string().optional(),
  columns: z.array(z.object({ name: z.string(), type: z.string().describe('PostgreSQL type, e.g. bigint, timestamp with time zone.') })),
  rows: z.array(z.array(z.unknown())).describe('One array per row, values in column order.'),
});

@Injectable()
export class QueryTool {
  constructor(private readonly queries: GuardedQueryService) {}

  @McpTool({
    name: 'query',
    description:
      'Run one read-only SQL statement against the fleet database and get {row_count, truncated, columns:[{name,type}], rows} with rows as arrays in column order. The statement runs in a read-only transaction that is always rolled back, with a time limit; only SELECT/WITH/VALUES/TABLE is accepted. Rows stop at max_rows or at the result size cap: "truncated": true (with "truncated_reason": "rows" or "bytes") means there were more, so aggregate or filter instead of raising max_rows.',
    input: QueryInput,
    output: QueryOutput,
    annotations: { title: 'Read-only SQL query', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  })
  async query(args: z.infer<typeof QueryInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const result = await this.queries.run({ sql: args.sql, maxRows: args.max_rows, caller: ctx.caller, tool: 'query' });
    return {
      structured: {
        row_count: result.rows.length,
        truncated: result.truncated,
        ...(result.truncatedBy ? { truncated_reason: result.truncatedBy } : {}),
        ...(result.truncatedBy === 'bytes' ? { note: BYTES_NOTE } : {}),
        columns: result.columns.map((c, i) => ({ name: c.name, type: result.types[i] })),
        rows: result.rows,
      },
    };
  }
}
