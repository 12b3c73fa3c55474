import { DbUnavailableError, ServerBusyError, UnsafeSessionError } from '#db';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { ToolError } from '#mcp-tools';

interface PgError extends Error {
  code?: string;
  severity?: string;
  hint?: string;
  detail?: string;
  position?: string;
}

const isPgError = (err: unknown): err is PgError =>
  err instanceof Error && typeof (err as PgError).severity === 'string' && /^[0-9A-Z]{5}$/.test((err as PgError).code ?? '');

export function errorResult(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

/**
 * Turns any failure inside a tool into a result the model can act on. Returns null
 * for unexpected errors, which the caller logs and reports generically.
 */
export function describeToolError(err: unknown): string | null {
  if (err instanceof ToolError || err instanceof ServerBusyError || err instanceof DbUnavailableError || err instanceof UnsafeSessionError) {
    return err.message;
  }
  if (isPgError(err)) {
    const parts = [`PostgreSQL error ${err.code}: ${err.message}`];
    if (err.code === '08P01' && /bind message supplies/.test(err.message)) {
      parts.push('parameters such as $1 are not supported here; write the values into the SQL');
    }
    if (err.code === '57014') parts.push('the statement ran past the server time limit; narrow it (WHERE, smaller time range, aggregate first)');
    if (err.position) parts.push(`at character ${err.position}`);
    if (err.detail) parts.push(`detail: ${err.detail}`);
    if (err.hint) parts.push(`hint: ${err.hint}`);
    return parts.join('; ');
  }
  return null;
}
