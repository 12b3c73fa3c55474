/** Raised when every queue slot is taken or the wait for a connection ran out. */
export class ServerBusyError extends Error {
  readonly code = 'SERVER_BUSY';
  constructor(reason: 'queue-full' | 'queue-timeout', waitedMs?: number) {
    super(
      reason === 'queue-full'
        ? 'server busy: too many queries are already waiting for a database connection; retry shortly'
        : `server busy: no database connection became free within ${waitedMs} ms; retry shortly`,
    );
    this.name = 'ServerBusyError';
  }
}

/** Raised when the database cannot be reached (refused, down, or the connection died twice). */
export class DbUnavailableError extends Error {
  readonly code = 'DB_UNAVAILABLE';
  constructor(readonly causeMessage: string) {
    super(`database unavailable: ${causeMessage}; retry shortly`);
    this.name = 'DbUnavailableError';
  }
}

/** Raised when a session's settings differ from what the SQL guard assumed. */
export class UnsafeSessionError extends Error {
  readonly code = 'UNSAFE_SESSION';
  constructor(problem: string) {
    super(problem);
    this.name = 'UnsafeSessionError';
  }
}
