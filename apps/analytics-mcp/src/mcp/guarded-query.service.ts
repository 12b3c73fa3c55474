import { Inject, Injectable, Logger } from '@nestjs/common';
import { DbService, type AbortSignalLike, type ReadOnlyResult } from '#db';
import { ToolError } from '#mcp-tools';
import { refusalFamily, SqlGuardService } from '#sql-guard';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { GuardPolicyService } from '../guard-policy/guard-policy.service.js';
import { rowBytesBudget } from './result-size.js';

export interface GuardedQueryRequest {
  sql: string;
  /** Asked-for rows; defaults to MCP_DEFAULT_ROWS and never exceeds MCP_MAX_ROWS. */
  maxRows?: number;
  caller: string;
  /** The calling tool, for the log line. */
  tool: string;
  /** The call's abort signal: cancels the statement in PostgreSQL. */
  signal?: AbortSignalLike;
  /** `json`: the rows as JsonRows (`jsonRows`), for a tool that returns them as JSON as they are. */
  rowsAs?: 'values' | 'json';
}

export interface GuardedExplainRequest {
  /** The statement to explain; the guard checks it exactly as `query` would. */
  sql: string;
  /** Run it (EXPLAIN ANALYZE) inside the same read-only, rolled-back, time-limited transaction. */
  analyze: boolean;
  caller: string;
  tool: string;
  signal?: AbortSignalLike;
}

export interface GuardedQueryResult extends ReadOnlyResult {
  /** PostgreSQL type names, in column order. */
  types: string[];
}

/**
 * Model-written SQL, the one way: the guard against the live catalogue's policy, then the
 * read-only unit of work with the row, byte and time caps. Every tool that runs a
 * statement it did not write itself goes through here.
 */
@Injectable()
export class GuardedQueryService {
  private readonly logger = new Logger('query');
  /** The audit trail already writes one line per call (caller, outcome, rows, ms, SQL); then this one is debug detail. */
  private readonly logRun: ((message: unknown, context: string) => void) | undefined;

  constructor(
    private readonly db: DbService,
    private readonly guard: SqlGuardService,
    private readonly policies: GuardPolicyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const debug = config.logLevel === 'debug' || config.logLevel === 'trace';
    // Below debug the line would never be printed: it is not even built (`?.()` skips its arguments).
    this.logRun = config.auditLog === 'off' ? (m, c) => this.logger.log(m, c) : debug ? (m, c) => this.logger.debug(m, c) : undefined;
  }

  /** Throws ToolError (kind `refused:<family>`, see refusalFamily) with the guard's reason when the statement is refused. */
  async assertAllowed(sql: string, caller: string, tool: string): Promise<void> {
    const current = this.policies.current();
    const policy =
      current instanceof Promise
        ? await current.catch((err: Error) => {
            throw new ToolError(err.message, 'unavailable');
          })
        : current;
    const verdict = await this.guard.checkAsync(sql, policy);
    if (!verdict.ok) {
      this.logger.log({ caller, tool, refused: verdict.reason, sql: sql.slice(0, 500) }, `${tool} refused`);
      throw new ToolError(verdict.reason, `refused:${refusalFamily(verdict.reason)}`);
    }
  }

  async run(req: GuardedQueryRequest): Promise<GuardedQueryResult> {
    const started = performance.now();
    await this.assertAllowed(req.sql, req.caller, req.tool);
    const maxRows = Math.min(req.maxRows ?? this.config.defaultRows, this.config.maxRows);
    const result = await this.db.query({
      sql: req.sql,
      maxRows,
      maxBytes: rowBytesBudget(this.config.maxResultBytes),
      caller: req.caller,
      signal: req.signal,
      rowsAs: req.rowsAs,
    });
    const types = await this.db.typeNames(result.columns.map((c) => c.typeOid));
    this.logRun?.(
      {
        caller: req.caller,
        tool: req.tool,
        rows: result.jsonRows?.length ?? result.rows.length,
        truncated: result.truncatedBy ?? false,
        ms: Math.round(performance.now() - started),
        sql: req.sql.slice(0, 500),
      },
      req.tool,
    );
    return { ...result, types };
  }

  /**
   * The plan of one statement the guard accepts, as PostgreSQL's JSON. The wrapper is
   * fixed text chosen by `analyze` alone, and the statement follows it on a line of
   * its own, so it starts no token of the wrapper's and nothing follows it: what runs
   * is EXPLAIN of the very statement the guard parsed. Parse still takes one
   * statement only, and ANALYZE runs inside the read-only transaction that is rolled
   * back, with the statement timeout.
   */
  async explain(req: GuardedExplainRequest): Promise<{ plan: unknown; truncated: boolean }> {
    const started = performance.now();
    await this.assertAllowed(req.sql, req.caller, req.tool);
    const result = await this.db.query({
      sql: `${req.analyze ? EXPLAIN_ANALYZE : EXPLAIN}\n${req.sql}`,
      maxRows: 1,
      maxBytes: rowBytesBudget(this.config.maxResultBytes),
      caller: req.caller,
      signal: req.signal,
    });
    this.logRun?.(
      { caller: req.caller, tool: req.tool, analyze: req.analyze, ms: Math.round(performance.now() - started), sql: req.sql.slice(0, 500) },
      req.tool,
    );
    if (result.truncatedBy === 'bytes') return { plan: undefined, truncated: true };
    const plan = result.rows[0]?.[0];
    if (result.columns.length !== 1 || plan === undefined) throw new Error('EXPLAIN returned no plan');
    return { plan, truncated: false };
  }
}

const EXPLAIN = 'EXPLAIN (FORMAT JSON)';
const EXPLAIN_ANALYZE = 'EXPLAIN (FORMAT JSON, ANALYZE, BUFFERS)';
