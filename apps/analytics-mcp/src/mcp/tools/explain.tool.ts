import { Inject, Injectable } from '@nestjs/common';
import { McpTool, ToolError, cancellationOf, type ToolCallContext, type ToolOutcome } from '#mcp-tools';
import { z } from 'zod';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { AppConfig } from '../../config/app-config.js';
import { GuardedQueryService } from '../guarded-query.service.js';
import { summarizePlan } from '../render/plan-summary.js';

const ExplainInput = z.object({
  sql: z.string().min(1).describe('One read-only statement, exactly as you would pass it to query (SELECT, WITH … SELECT, VALUES or TABLE).'),
  analyze: z
    .boolean()
    .default(false)
    .describe('true: run the statement (EXPLAIN ANALYZE, BUFFERS) for actual rows and timings, inside the read-only, rolled-back, time-limited transaction. It takes as long as the query.'),
});

const ExplainOutput = z.object({
  analyzed: z.boolean(),
  summary: z.string().describe('Top node, estimated vs actual rows, cost and time, sequential scans, the worst row misestimate.'),
  top_node: z.string(),
  total_cost: z.number().nullable(),
  estimated_rows: z.number().nullable(),
  actual_rows: z.number().optional(),
  planning_ms: z.number().optional(),
  execution_ms: z.number().optional(),
  seq_scans: z.array(z.string()),
  plan: z.unknown().describe("PostgreSQL's EXPLAIN (FORMAT JSON) output."),
});

@Injectable()
export class ExplainTool {
  constructor(
    private readonly queries: GuardedQueryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @McpTool({
    name: 'explain',
    description:
      "Show how PostgreSQL would run one read-only statement: EXPLAIN (FORMAT JSON) plus a short summary (top node, estimated rows, cost; with analyze: true also actual rows and time). The statement must be one that query accepts. Use it before running a query that might be slow on the large tables, or to see why one was.",
    input: ExplainInput,
    output: ExplainOutput,
    annotations: { title: 'Explain a query plan', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  })
  async explain(args: z.infer<typeof ExplainInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const { plan, truncated } = await this.queries.explain({
      sql: args.sql,
      analyze: args.analyze,
      caller: ctx.caller,
      tool: 'explain',
      signal: cancellationOf(ctx),
    });
    if (truncated) {
      throw new ToolError(
        `the plan is larger than the server's result cap (${this.config.maxResultBytes} bytes, MCP_MAX_RESULT_BYTES); explain a smaller part of the statement`,
        'too_large',
      );
    }
    const { text, nodes: _nodes, worst_estimate: _worst, ...facts } = summarizePlan(plan);
    return { structured: { analyzed: args.analyze, summary: text, ...facts, plan } };
  }
}
