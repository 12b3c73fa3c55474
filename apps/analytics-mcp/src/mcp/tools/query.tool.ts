import { Inject, Injectable, Logger } from '@nestjs/common';
import { DbService } from '#db';
import { SqlGuardService } from '#sql-guard';
import { z } from 'zod';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { AppConfig } from '../../config/app-config.js';
import { GuardPolicyService } from '../../guard-policy/guard-policy.service.js';
import { rowBytesBudget } from '../result-size.js';
import { McpTool } from '../mcp-tool.decorator.js';
import { ToolError, type ToolCallContext, type ToolOutcome } from '../mcp-tool.types.js';

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
  private readonly logger = new Logger('query');

  constructor(
    private readonly db: DbService,
    private readonly guard: SqlGuardService,
    private readonly policies: GuardPolicyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @McpTool({
    name: 'query',
    description:
      'Run one read-only SQL statement against the fleet database and get {row_count, truncated, columns:[{name,type}], rows} with rows as arrays in column order. The statement runs in a read-only transaction that is always rolled back, with a time limit; only SELECT/WITH/VALUES/TABLE is accepted. Rows stop at max_rows or at the result size cap: "truncated": true (with "truncated_reason": "rows" or "bytes") means there were more, so aggregate or filter instead of raising max_rows.',
    input: QueryInput,
    output: QueryOutput,
    annotations: { title: 'Read-only SQL query', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  })
  async query(args: z.infer<typeof QueryInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const started = performance.now();
    const policy = await Promise.resolve(this.policies.current()).catch((err: Error) => {
      throw new ToolError(err.message);
    });
    const verdict = await this.guard.checkAsync(args.sql, policy);
    if (!verdict.ok) {
      this.logger.log({ caller: ctx.caller, refused: verdict.reason, sql: args.sql.slice(0, 500) }, 'query refused');
      throw new ToolError(verdict.reason);
    }
    const maxRows = Math.min(args.max_rows ?? this.config.defaultRows, this.config.maxRows);
    const result = await this.db.query({
      sql: args.sql,
      maxRows,
      maxBytes: rowBytesBudget(this.config.maxResultBytes),
      caller: ctx.caller,
    });
    const types = await this.db.typeNames(result.columns.map((c) => c.typeOid));
    this.logger.log(
      {
        caller: ctx.caller,
        rows: result.rows.length,
        truncated: result.truncatedBy ?? false,
        ms: Math.round(performance.now() - started),
        sql: args.sql.slice(0, 500),
      },
      'query',
    );
    return {
      structured: {
        row_count: result.rows.length,
        truncated: result.truncated,
        ...(result.truncatedBy ? { truncated_reason: result.truncatedBy } : {}),
        ...(result.truncatedBy === 'bytes' ? { note: BYTES_NOTE } : {}),
        columns: result.columns.map((c, i) => ({ name: c.name, type: types[i] })),
        rows: result.rows,
      },
    };
  }
}
