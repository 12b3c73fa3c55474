import { Inject, Injectable } from '@nestjs/common';
import { McpTool, cancellationOf, type ToolCallContext, type ToolOutcome } from '#mcp-tools';
import { z } from 'zod';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { AppConfig } from '../../config/app-config.js';
import { GuardedQueryService } from '../guarded-query.service.js';
import { toCsv, toMarkdown } from '../render/table-text.js';

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
  format: z
    .enum(['json', 'csv', 'markdown'])
    .default('json')
    .describe(
      'json (default): rows in structuredContent and as JSON text. csv: RFC 4180 text with a header row (NULL is an empty field, the empty string is ""). markdown: a table for reading (NULL is an empty cell). For csv and markdown the table is the text content and structuredContent carries row_count, truncated and columns.',
    ),
});

const BYTES_NOTE =
  'rows stopped at the result size cap; select fewer or shorter columns (e.g. left(col, 200)), filter, or aggregate';

const QueryOutput = z.object({
  row_count: z.number().int().describe('Rows returned (at most max_rows).'),
  truncated: z.boolean().describe('true when more rows existed than were returned.'),
  truncated_reason: z.enum(['rows', 'bytes']).optional().describe('What stopped the rows: max_rows, or the result size cap.'),
  note: z.string().optional(),
  format: z.enum(['json', 'csv', 'markdown']).optional().describe('Set for csv and markdown, whose table is the text content.'),
  columns: z.array(z.object({ name: z.string(), type: z.string().describe('PostgreSQL type, e.g. bigint, timestamp with time zone.') })),
  rows: z.array(z.array(z.unknown())).optional().describe('json format: one array per row, values in column order.'),
});

// Room left in the response for the JSON-RPC envelope and the content block wrappers.
const ENVELOPE_BYTES = 1024;

@Injectable()
export class QueryTool {
  constructor(
    private readonly queries: GuardedQueryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @McpTool({
    name: 'query',
    description:
      'Run one read-only SQL statement against the fleet database and get {row_count, truncated, columns:[{name,type}], rows} with rows as arrays in column order (format: "csv" or "markdown" returns the table as text instead). The statement runs in a read-only transaction that is always rolled back, with a time limit; only SELECT/WITH/VALUES/TABLE is accepted. Rows stop at max_rows or at the result size cap: "truncated": true (with "truncated_reason": "rows" or "bytes") means there were more, so aggregate or filter instead of raising max_rows.',
    input: QueryInput,
    output: QueryOutput,
    annotations: { title: 'Read-only SQL query', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  })
  async query(args: z.infer<typeof QueryInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const result = await this.queries.run({
      sql: args.sql,
      maxRows: args.max_rows,
      caller: ctx.caller,
      tool: 'query',
      signal: cancellationOf(ctx),
      rowsAs: args.format === 'json' ? 'json' : 'values',
    });
    const columns = result.columns.map((c, i) => ({ name: c.name, type: result.types[i]! }));
    if (args.format === 'json') {
      return {
        structured: {
          row_count: result.jsonRows?.length ?? result.rows.length,
          truncated: result.truncated,
          ...(result.truncatedBy ? { truncated_reason: result.truncatedBy } : {}),
          ...(result.truncatedBy === 'bytes' ? { note: BYTES_NOTE } : {}),
          columns,
          // Already JSON: the registry splices its text into the answer (toJSON for anything else).
          rows: result.jsonRows ?? result.rows,
        },
      };
    }
    const render = args.format === 'csv' ? toCsv : toMarkdown;
    const names = columns.map((c) => c.name);
    const fitted = fitText((rows) => render(names, rows), result.rows, this.config.maxResultBytes - ENVELOPE_BYTES - 2 * Buffer.byteLength(JSON.stringify(columns)));
    const truncatedBy = fitted.rows < result.rows.length ? 'bytes' : result.truncatedBy;
    const structured = {
      row_count: fitted.rows,
      truncated: result.truncated || truncatedBy !== undefined,
      ...(truncatedBy ? { truncated_reason: truncatedBy } : {}),
      ...(truncatedBy === 'bytes' ? { note: BYTES_NOTE } : {}),
      format: args.format,
      columns,
    };
    const content: ToolOutcome['content'] = [{ type: 'text', text: fitted.text }];
    // The table block stays pure CSV/Markdown; models that read only text learn of the cut here.
    if (structured.truncated) {
      content.push({
        type: 'text',
        text: `${fitted.rows} rows shown; more exist (${truncatedBy === 'bytes' ? BYTES_NOTE : 'stopped at max_rows; aggregate or filter'}).`,
      });
    }
    return { structured, content };
  }
}

/**
 * Renders as many leading rows as fit in `budget` bytes once JSON-escaped in the
 * response (the registry counts the text that way), in at most 30 rounds.
 */
export function fitText(render: (rows: unknown[][]) => string, rows: unknown[][], budget: number): { text: string; rows: number } {
  let kept = rows.length;
  let text = render(rows);
  for (let round = 0; round < 30 && kept > 0; round++) {
    const size = Buffer.byteLength(JSON.stringify(text));
    if (size <= budget) break;
    kept = Math.floor(kept * Math.min(0.9, budget / size));
    text = render(rows.slice(0, kept));
  }
  return { text, rows: kept };
}
