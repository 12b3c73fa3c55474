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
  signal?: AbortSignal;
}

/** What a tool method returns: structured data, also sent as compact JSON text. */
export interface ToolOutcome {
  structured: Record<string, unknown>;
}

/** A refusal or failure the model can act on; becomes an `isError` tool result. */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}
