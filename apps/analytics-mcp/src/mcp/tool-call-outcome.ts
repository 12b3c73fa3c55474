import { DbUnavailableError, ServerBusyError, UnsafeSessionError } from '#db';
import { ToolError } from '#mcp-tools';

/** The bounded outcome label of a tool call that threw `err` (see ToolCallEvent.outcome). */
export function outcomeOf(err: unknown, signal?: { readonly aborted: boolean }): string {
  if (signal?.aborted) return 'cancelled';
  if (err instanceof ToolError) {
    const kind = err.kind;
    if (kind.startsWith('refused') || kind === 'cancelled' || kind === 'timeout' || kind === 'busy' || kind === 'unavailable') return kind;
    return `error:${kind === 'error' ? 'tool' : kind}`;
  }
  if (err instanceof ServerBusyError) return 'busy';
  if (err instanceof DbUnavailableError) return 'unavailable';
  if (err instanceof UnsafeSessionError) return 'error:unsafe_session';
  // A PostgreSQL error (it has a severity); Node's own codes such as EPIPE are not SQLSTATEs.
  const { code, severity } = (err ?? {}) as { code?: unknown; severity?: unknown };
  if (typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code === '57014' ? 'timeout' : `error:${code}`;
  return 'error:internal';
}
