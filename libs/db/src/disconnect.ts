/** SQLSTATEs that mean the session is gone, as opposed to one statement failing. */
const DISCONNECT_SQLSTATES = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / shutting down)
]);

const SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const DISCONNECT_MESSAGES = [
  'connection terminated',
  'connection ended',
  'client has encountered a connection error',
  'not queryable',
  'timeout exceeded when trying to connect',
  'server closed the connection unexpectedly',
];

/**
 * True when `err` means the connection itself is unusable: SQLSTATE class 08,
 * shutdown codes, socket errors or node-postgres' own "terminated" errors. A
 * statement timeout (57014) or a bad query is not a disconnect: that connection is
 * still healthy and goes back to the pool.
 */
export function isDisconnectError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  const severity = (err as { severity?: unknown }).severity;
  if (typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    // An ErrorResponse from the server: FATAL and PANIC end the session, ERROR does not.
    // (Severity may be localised, so the codes below still decide otherwise; 08P01
    // as an ERROR is a protocol complaint, e.g. "$1" with no value, on a live session.)
    if (severity === 'FATAL' || severity === 'PANIC') return true;
    if (code === '08P01') return false;
  }
  if (typeof code === 'string') {
    if (code.startsWith('08') && code.length === 5) return true;
    if (DISCONNECT_SQLSTATES.has(code)) return true;
    if (SOCKET_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return false;
  }
  const message = String((err as { message?: unknown }).message ?? '').toLowerCase();
  return DISCONNECT_MESSAGES.some((m) => message.includes(m));
}
