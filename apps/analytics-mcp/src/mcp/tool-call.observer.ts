import { Injectable, Logger } from '@nestjs/common';

/** One finished tool call, whatever its outcome; never row data, never a token. */
export interface ToolCallEvent {
  caller: string;
  /** The tool's name, or `(unknown)` for a name no tool has. */
  tool: string;
  /**
   * `ok`, `refused:<family>`, `error:<SQLSTATE>` (or `error:<kind>` for failures outside
   * PostgreSQL), `timeout`, `cancelled`, `busy` or `unavailable`. A bounded set.
   */
  outcome: string;
  /** Rows in the result, when the tool returns a table. */
  rows: number | null;
  truncated: boolean;
  ms: number;
  /** The `sql` argument, when the tool takes one. */
  sql?: string;
}

export type ToolCallListener = (event: ToolCallEvent) => void;

/**
 * The registry reports every tool call here once; the audit trail and the metrics
 * listen. Listeners run synchronously on the call's path, so they must stay cheap
 * (no synchronous I/O) and never throw into it.
 */
@Injectable()
export class ToolCallObserver {
  private readonly logger = new Logger('ToolCalls');
  private readonly listeners: ToolCallListener[] = [];

  get active(): boolean {
    return this.listeners.length > 0;
  }

  subscribe(listener: ToolCallListener): void {
    this.listeners.push(listener);
  }

  notify(event: ToolCallEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err }, 'tool-call listener failed');
      }
    }
  }
}
