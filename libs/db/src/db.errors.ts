export type BusyReason = 'queue-full' | 'queue-timeout' | 'caller-queue-full' | 'caller-timeout';

/**
 * Raised when a call cannot get a database connection: every queue slot is taken, the
 * wait ran out, or the caller already holds or awaits its fair share of connections.
 */
export class ServerBusyError extends Error {
  readonly code = 'SERVER_BUSY';
  constructor(
    readonly reason: BusyReason,
    detail: { waitedMs?: number; callerLimit?: number } = {},
  ) {
    super(busyMessage(reason, detail.waitedMs, detail.callerLimit));
    this.name = 'ServerBusyError';
  }
}

function busyMessage(reason: BusyReason, waitedMs?: number, callerLimit?: number): string {
  switch (reason) {
    case 'queue-full':
      return 'server busy: too many queries are already waiting for a database connection; retry shortly';
    case 'queue-timeout':
      return `server busy: no database connection became free within ${waitedMs} ms; retry shortly`;
    case 'caller-queue-full':
      return `server busy: too many of your queries are already running or waiting (at most ${callerLimit} run at once per caller); let some finish, then retry`;
    case 'caller-timeout':
      return `server busy: your other queries kept your share of database connections (${callerLimit} at once per caller) busy for ${waitedMs} ms; let them finish, then retry`;
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

/**
 * Raised when the caller's abort signal fired: the statement was cancelled in
 * PostgreSQL (or never started) and its connection went back to the pool clean, or
 * was closed when its state could not be known.
 */
export class QueryCancelledError extends Error {
  readonly code = 'QUERY_CANCELLED';
  constructor(readonly stage: 'queued' | 'connecting' | 'running') {
    super(`cancelled by the client while ${stage === 'queued' ? 'waiting for a database connection' : stage === 'connecting' ? 'connecting' : 'the statement ran'}`);
    this.name = 'QueryCancelledError';
  }
}
