import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import type pg from 'pg';
import type { AbortSignalLike } from './abort-signal-like.js';
import { DB_OPTIONS, PG_POOL, PG_PROBE_POOL } from './db.constants.js';
import type { DbModuleOptions } from './db-options.interface.js';
import { sendCancelRequest } from './cancel-request.js';
import { DbUnavailableError, QueryCancelledError, UnsafeSessionError } from './db.errors.js';
import { isDisconnectError } from './disconnect.js';
import { ReadOnlyBatch, type ReadOnlyResult } from './read-only-batch.js';
import { FairSemaphore } from './fair-semaphore.js';
import { isRetryableConflict, withConflictHint } from './recovery-conflict.js';
import { sessionProblem, type ReportingClient } from './session-params.js';
import { builtinTypeName } from './value-parsers.js';

export interface ReadOnlyQuery {
  sql: string;
  values?: readonly unknown[];
  maxRows: number;
  /** Stop reading rows once their wire size passes this (callers' statements must set it). */
  maxBytes?: number;
  /** Who asked; shown to DBAs as application_name `<app>:<caller>`. */
  caller?: string;
  /**
   * Aborting it cancels the call: a queued call leaves the queue, a running statement
   * is cancelled in PostgreSQL, and the call rejects with a QueryCancelledError.
   */
  signal?: AbortSignalLike;
  /** `json`: rows as JsonRows, for a caller that only sends them on as JSON (see ReadOnlyBatchOptions). */
  rowsAs?: 'values' | 'json';
}

/** Bound on sending the cancel request, and again on the backend answering it. */
const CANCEL_TIMEOUT_MS = 1_000;

interface BackendClient {
  host?: string;
  port?: number;
  processID: number | null;
  secretKey: number | null;
  connection: { stream: { destroy(): void } };
}

export interface PingResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
  /** The server is a hot standby (in recovery). Absent when it could not be read. */
  standby?: boolean;
  /**
   * Standby only: seconds since the last replayed transaction committed on the primary
   * while received WAL waits to be replayed; 0 when everything received is replayed
   * (null before anything was replayed).
   */
  replicationLagSeconds?: number | null;
  /** Standby only: WAL received but not yet replayed, in bytes (null when not streaming). */
  replayLagBytes?: number | null;
}

type ReplicationStatus = Pick<PingResult, 'standby' | 'replicationLagSeconds' | 'replayLagBytes'>;

// Functions every role may run (PUBLIC); one row, whatever the server's role.
const REPLICATION_STATUS_SQL = `
  SELECT r.standby,
         CASE WHEN NOT r.standby THEN NULL
              WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
              ELSE extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.pg_last_xact_replay_timestamp())::float8
         END AS lag_seconds,
         CASE WHEN r.standby
              THEN pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn())::float8
         END AS lag_bytes
    FROM (SELECT pg_catalog.pg_is_in_recovery() AS standby) r`;

/** Thrown by attempt() when the statement lost a conflict; query() may run it again. */
class StatementConflict {
  constructor(
    readonly error: Error,
    readonly rowsReceived: number,
  ) {}
}

/**
 * The one door to PostgreSQL. Every caller statement runs through the semaphore, in
 * a read-only transaction that is always rolled back, on a connection that is
 * destroyed when it broke and reused when only the statement failed. A statement
 * that failed because its connection died is retried once on a fresh connection.
 */
@Injectable()
export class DbService implements OnApplicationShutdown {
  private readonly logger = new Logger(DbService.name);
  private readonly gate: FairSemaphore;
  private readonly appName: string;
  private readonly searchPath: string;
  private readonly typeNameCache = new Map<number, string>();
  private probe: Promise<ReplicationStatus> | undefined;
  private readonly probePool: pg.Pool;
  /** Cleared when the server refuses the replication-status functions: probes then run SELECT 1. */
  private readReplicationStatus = true;

  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(DB_OPTIONS) private readonly options: DbModuleOptions,
    // Without one (a DbService built by hand), probes use the query pool.
    @Optional() @Inject(PG_PROBE_POOL) probePool?: pg.Pool,
  ) {
    this.probePool = probePool ?? pool;
    this.gate = new FairSemaphore({
      permits: options.poolMax,
      perCaller: options.callerMaxConcurrency ?? Math.max(1, Math.floor(options.poolMax / 2)),
      queueMax: options.queueMax,
      timeoutMs: options.queueTimeoutMs,
    });
    this.appName = options.applicationName ?? 'analytics-mcp';
    this.searchPath = (options.searchPath ?? ['pg_catalog', 'public']).join(', ');
  }

  /** Read-only counters for metrics: semaphore in flight and queued, pool connections and pool waiters. */
  get stats() {
    return {
      inFlight: this.gate.inFlight,
      waiting: this.gate.waiting,
      poolTotal: this.pool.totalCount,
      poolIdle: this.pool.idleCount,
      poolWaiting: this.pool.waitingCount,
    };
  }

  async query(q: ReadOnlyQuery): Promise<ReadOnlyResult> {
    const release = await this.gate.acquire(q.caller, q.signal);
    try {
      let staleSkips = 0;
      let freshFailures = 0;
      let conflictRetried = false;
      for (;;) {
        let reused = false;
        try {
          if (q.signal?.aborted) throw new QueryCancelledError('connecting');
          const client = await this.pool.connect();
          if (q.signal?.aborted) {
            client.release();
            throw new QueryCancelledError('connecting');
          }
          const tagged = client as pg.PoolClient & { [USES]?: number };
          reused = (tagged[USES] = (tagged[USES] ?? 0) + 1) > 1;
          if (!reused) {
            const problem = sessionProblem((client as unknown as ReportingClient).serverParams ?? new Map());
            if (problem) {
              client.release(new Error(problem));
              throw new UnsafeSessionError(problem);
            }
          }
          return await this.attempt(client, q);
        } catch (err) {
          if (err instanceof StatementConflict) {
            // Read-only and rolled back, so running it again is harmless; once, and only
            // when no row had arrived (a statement that was streaming may conflict again).
            if (conflictRetried || err.rowsReceived > 0) throw withConflictHint(err.error, conflictRetried);
            conflictRetried = true;
            this.logger.warn(`statement canceled by a conflict (${describe(err.error)}); running it once more`);
            continue;
          }
          if (!isDisconnectError(err) || q.signal?.aborted) throw err;
          // A pooled connection that died while idle (restart, pg_terminate_backend,
          // idle_session_timeout) is the pool's problem, not the caller's: discard it
          // and take another. A fresh connection failing gets exactly one retry.
          if (reused && staleSkips <= this.options.poolMax) {
            staleSkips++;
            continue;
          }
          if (++freshFailures > 1) throw new DbUnavailableError(describe(err));
          this.logger.warn(`connection lost (${describe(err)}); retrying once on a fresh connection`);
        }
      }
    } finally {
      release();
    }
  }

  /** SQL type names for result column OIDs; non-built-in types are looked up once. */
  async typeNames(oids: readonly number[]): Promise<string[]> {
    const known = (o: number) => builtinTypeName(o) !== undefined || this.typeNameCache.has(o);
    const missing = oids.every(known) ? [] : [...new Set(oids.filter((o) => !known(o)))];
    if (missing.length > 0) {
      const { rows } = await this.query({
        sql: 'SELECT oid::int8, format_type(oid, NULL) FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])',
        values: [`{${missing.join(',')}}`],
        maxRows: missing.length,
      });
      if (this.typeNameCache.size > 10_000) this.typeNameCache.clear();
      for (const [oid, name] of rows) this.typeNameCache.set(oid as number, name as string);
    }
    return oids.map((o) => builtinTypeName(o) ?? this.typeNameCache.get(o) ?? `oid ${o}`);
  }

  private async attempt(client: pg.PoolClient, q: ReadOnlyQuery): Promise<ReadOnlyResult> {
    const batch = new ReadOnlyBatch({
      sql: q.sql,
      values: q.values,
      maxRows: q.maxRows,
      statementTimeoutMs: this.options.statementTimeoutMs,
      applicationName: q.caller ? `${this.appName}:${q.caller}`.slice(0, 63) : this.appName,
      searchPath: this.searchPath,
      maxBytes: q.maxBytes,
      rowsAs: q.rowsAs,
    });
    try {
      client.query(batch as unknown as pg.QueryConfig);
    } catch (err) {
      // Thrown while writing the message train: the connection's state is unknown.
      client.release(err as Error);
      throw err;
    }
    if (q.signal) return this.cancellable(client, batch, q.signal);
    return this.settle(client, batch);
  }

  /**
   * Runs `settle` unless the signal aborts first: then a CancelRequest goes to the
   * backend (bounded to 1 s; when it cannot be sent, or the backend does not stop
   * within 1 s more, the socket is cut). The connection goes back to the pool only
   * when the statement ended with the cancel's own error and the ROLLBACK after it
   * succeeded; otherwise (it finished first, or its state is unknown) it is closed, so
   * a late cancel can never reach a statement of the next caller.
   */
  private async cancellable(client: pg.PoolClient, batch: ReadOnlyBatch, signal: AbortSignalLike): Promise<ReadOnlyResult> {
    const backend = client as unknown as BackendClient;
    let cancelled: Promise<boolean> | undefined;
    let cutTimer: NodeJS.Timeout | undefined;
    const cut = () => backend.connection.stream.destroy();
    const onAbort = () => {
      cancelled ??= this.cancelBackend(backend).then((sent) => {
        if (!sent) cut();
        else cutTimer = setTimeout(cut, CANCEL_TIMEOUT_MS);
        return sent;
      });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    let outcome: { ok: true; result: ReadOnlyResult } | { ok: false; err: unknown };
    try {
      outcome = await batch.done.then(
        (result) => ({ ok: true as const, result }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (!cancelled) return outcome.ok ? this.released(client, batch, outcome.result) : this.failed(client, batch, outcome.err);
    const sent = await cancelled;
    clearTimeout(cutTimer);
    if (!outcome.ok && sent && (outcome.err as { code?: string }).code === '57014' && !isDisconnectError(outcome.err)) {
      await this.rollbackAndRelease(client);
    } else {
      client.release(new Error('statement cancelled; connection state unknown'));
    }
    throw new QueryCancelledError('running');
  }

  private async cancelBackend(backend: BackendClient): Promise<boolean> {
    if (backend.processID === null || backend.secretKey === null) return false;
    try {
      await sendCancelRequest(
        { host: backend.host, port: backend.port, processID: backend.processID, secretKey: backend.secretKey },
        CANCEL_TIMEOUT_MS,
      );
      return true;
    } catch (err) {
      this.logger.warn(`cancel request failed (${describe(err)}); closing the connection instead`);
      return false;
    }
  }

  private async settle(client: pg.PoolClient, batch: ReadOnlyBatch): Promise<ReadOnlyResult> {
    let result: ReadOnlyResult;
    try {
      result = await batch.done;
    } catch (err) {
      return this.failed(client, batch, err);
    }
    return this.released(client, batch, result);
  }

  private released(client: pg.PoolClient, batch: ReadOnlyBatch, result: ReadOnlyResult): ReadOnlyResult {
    // A batch that cut its socket at the byte cap leaves nothing reusable.
    client.release(batch.connectionSpent ? new Error('closed at the result byte cap') : undefined);
    return result;
  }

  private async rollbackAndRelease(client: pg.PoolClient): Promise<void> {
    await client.query('ROLLBACK').then(
      () => client.release(),
      (rollbackErr: Error) => client.release(rollbackErr),
    );
  }

  private async failed(client: pg.PoolClient, batch: ReadOnlyBatch, err: unknown): Promise<never> {
    if (isDisconnectError(err)) {
      client.release(err as Error);
      throw err;
    }
    // The statement failed, so the server skipped the batch's ROLLBACK.
    await this.rollbackAndRelease(client);
    if (isRetryableConflict(err)) throw new StatementConflict(err as Error, batch.rowsReceived);
    throw err;
  }

  /**
   * Readiness probe: a trivial statement on the probe pool's one connection, outside
   * the semaphore so a saturated server still answers, bounded by `timeoutMs`.
   * Concurrent pings share one probe, and a new one starts only once the last has
   * settled (even when its callers stopped waiting for it), so probes never wait for
   * a connection, and never delay a tool call.
   */
  async ping(timeoutMs: number): Promise<PingResult> {
    const started = performance.now();
    if (!this.probe) {
      const probe = this.probeOnce().finally(() => {
        if (this.probe === probe) this.probe = undefined;
      });
      probe.catch(() => undefined);
      this.probe = probe;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const status = await Promise.race([this.probe, timeout]);
      return { ok: true, latencyMs: Math.round(performance.now() - started), ...status };
    } catch (err) {
      return { ok: false, latencyMs: Math.round(performance.now() - started), error: describe(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  private probeOnce(): Promise<ReplicationStatus> {
    const once = async (): Promise<ReplicationStatus> => {
      const client = await this.probePool.connect();
      try {
        const status = await this.replicationStatus(client);
        client.release();
        return status;
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
    };
    return once().catch((err) => (isDisconnectError(err) ? once() : Promise.reject(err)));
  }

  /** Whether the server is a standby, and how far behind; `SELECT 1` where that cannot be read. */
  private async replicationStatus(client: pg.PoolClient): Promise<ReplicationStatus> {
    if (this.readReplicationStatus) {
      try {
        const { rows } = await client.query<{ standby: boolean; lag_seconds: number | null; lag_bytes: number | null }>(REPLICATION_STATUS_SQL);
        const row = rows[0]!;
        if (!row.standby) return { standby: false };
        const lag = row.lag_seconds === null ? null : Math.max(0, Math.round(row.lag_seconds * 1000) / 1000);
        return { standby: true, replicationLagSeconds: lag, replayLagBytes: row.lag_bytes };
      } catch (err) {
        // 42501 / 42883: a hardened server revoked or lacks these functions.
        const code = (err as { code?: string }).code;
        if (code !== '42501' && code !== '42883') throw err;
        this.readReplicationStatus = false;
        this.logger.warn(`readiness cannot tell whether the database is a standby (${describe(err)}); probing with SELECT 1`);
      }
    }
    await client.query('SELECT 1');
    return {};
  }

  async onApplicationShutdown(): Promise<void> {
    const pools = this.probePool === this.pool ? [this.pool] : [this.pool, this.probePool];
    await Promise.all(pools.map((p) => p.end().catch((err: Error) => this.logger.warn(`pool end: ${err.message}`))));
  }
}

const USES = Symbol('uses');

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return code ? `${err.message} (${code})` : err.message || err.name;
  }
  return String(err);
}
