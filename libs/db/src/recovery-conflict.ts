/**
 * SQLSTATEs after which running the same read-only statement again is the remedy:
 * 40001 is how a hot standby cancels a query whose snapshot, locks or buffers
 * replaying the primary's WAL needs ("canceling statement due to conflict with
 * recovery"), 40P01 its deadlock variant (and a plain deadlock on a primary).
 */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

export function isRetryableConflict(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, severity } = err as { code?: unknown; severity?: unknown };
  // FATAL (the session was ended for it) is a lost connection, handled as such.
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code) && severity !== 'FATAL';
}

/** Adds what the model can do about the conflict to the error's hint (printed with it). */
export function withConflictHint(err: Error, retried: boolean): Error {
  const e = err as Error & { hint?: string };
  const recovery = /conflict with recovery/i.test(e.message);
  const ours = recovery
    ? 'a hot standby canceled the statement because replaying changes from the primary needed rows or locks it was using' +
      (retried ? ' (the server already ran it a second time)' : '') +
      '; retry it, or narrow it (a smaller time range, aggregate first) so that it finishes sooner'
    : 'the database rolled the transaction back to resolve a conflict with other sessions' +
      (retried ? ' (the server already ran it a second time)' : '') +
      '; retry it';
  e.hint = e.hint ? `${e.hint}; ${ours}` : ours;
  return e;
}
