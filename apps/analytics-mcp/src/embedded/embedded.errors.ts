/**
 * The embedded PostgreSQL cannot start here for a reason a person can fix. The message
 * is one line that says why and what to do; it is printed without a stack trace.
 */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
}

/** `err.code: err.message` for filesystem and process errors, one line. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = err.message.split('\n')[0]!;
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(err);
}
