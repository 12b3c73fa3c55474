import type { z } from 'zod';

export interface McpToolOptions<S extends z.ZodObject = z.ZodObject> {
  /** Unique across the application; checked at boot. */
  name: string;
  description: string;
  input: S;
  /**
   * The shape of `structured` in the tool's ToolOutcome, published as the tool's
   * `outputSchema` so clients can validate `structuredContent` against it.
   */
  output?: z.ZodObject;
  /**
   * Which OAuth scopes a caller needs (MCP_OAUTH_SCOPES_*): `catalog` for a tool that
   * reads only the catalogue (names, columns, descriptions, estimates), `query` (the
   * default) for one that reads rows. Static tokens are not limited by scopes.
   */
  scope?: 'catalog' | 'query';
  annotations?: {
    title?: string;
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
}

export interface ToolCallContext {
  /** The authenticated caller (token name), or the stdio user. */
  caller: string;
  /** Aborted when the call is cancelled or its client goes away (may be built on first use). */
  signal?: AbortSignal;
  /**
   * The same cancellation without an AbortSignal, where the server has a cheaper one.
   * DbService.query and GuardedQueryService take it as their `signal`: pass
   * `cancellationOf(ctx)`, and `ctx.signal` to anything else.
   */
  cancellation?: CallCancellation;
}

/** A call's cancellation: whether it is cancelled, and 'abort' listeners (as on an AbortSignal). */
export interface CallCancellation {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** What a tool hands the database layer to be cancelled with the call. */
export function cancellationOf(ctx: ToolCallContext): CallCancellation | undefined {
  return ctx.cancellation ?? ctx.signal;
}

/** Content a tool sends in place of its structured JSON as text. */
export type ToolContent = { type: 'text'; text: string } | { type: 'image'; data: string; mimeType: string };

/**
 * What a tool method returns. `structured` becomes `structuredContent`; by default the
 * same JSON is also the text content. A tool that renders its answer another way (CSV,
 * an image) sets `content`, and `structured` then carries the facts about it. Both count
 * against the server's result cap.
 */
export interface ToolOutcome {
  structured: Record<string, unknown>;
  content?: ToolContent[];
}

/**
 * A refusal or failure the model can act on; becomes an `isError` tool result.
 * `kind` is a short machine-readable reason for logs and metrics (e.g. "refused").
 */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly kind: string = 'error',
  ) {
    super(message);
    this.name = 'ToolError';
  }
}
