import { DynamicModule, Logger, Module } from '@nestjs/common';
import pg from 'pg';
import { DB_OPTIONS, PG_POOL, PG_PROBE_POOL } from './db.constants.js';
import type { DbModuleAsyncOptions, DbModuleOptions } from './db-options.interface.js';
import { DbService } from './db.service.js';
import { rejectsStartupOptions, startupClient, type StartupOptionsState } from './startup-params.js';

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * A pg Pool that, when a pooler refuses the `options` start-up parameter, connects
 * again without it (once the refusal is seen, no connection sends it again).
 */
class DbPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly startup: StartupOptionsState,
    private readonly onRefused: (err: Error) => void,
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const attempt = (): Promise<pg.PoolClient> => super.connect();
    const withOptions = this.startup.send;
    const connected = attempt().catch((err: Error) => {
      if (!withOptions || !rejectsStartupOptions(err)) throw err;
      if (this.startup.send) {
        this.startup.send = false;
        this.onRefused(err);
      }
      return attempt();
    });
    if (!callback) return connected;
    connected.then(
      (client) => callback(undefined, client, (release?: unknown) => client.release(release as Error | boolean | undefined)),
      (err: Error) => callback(err, undefined, () => undefined),
    );
  }
}

// Both pools of one DbModule (same options object) share whether to send `options`.
const startupStates = new WeakMap<DbModuleOptions, StartupOptionsState>();

/**
 * `queries`: MCP_POOL_MAX connections for tool calls. `probes`: one more in a pool of
 * its own for health probes, which nothing else can take (code reading the main pool
 * directly, such as boot-time checks, competes with tool calls, never with probes).
 */
export function createPool(options: DbModuleOptions, purpose: 'queries' | 'probes' = 'queries'): pg.Pool {
  const logger = new Logger(purpose === 'probes' ? 'PgProbePool' : 'PgPool');
  const appName = options.applicationName ?? 'analytics-mcp';
  let startup = startupStates.get(options);
  if (!startup) {
    startup = { send: options.startupOptions !== 'off' };
    startupStates.set(options, startup);
  }
  const config: pg.PoolConfig = {
    connectionString: options.connectionString,
    Client: startupClient(startup),
    max: purpose === 'probes' ? 1 : options.poolMax,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    application_name: purpose === 'probes' ? `${appName}:health` : appName,
    // Session defaults even before the per-call settings: a DSN with a laxer role
    // still gets read-only transactions and bounded statements. A pooler in
    // transaction mode refuses them (and could not keep them per client anyway): then
    // they are dropped, and the per-transaction settings are what holds.
    options: [
      '-c default_transaction_read_only=on',
      `-c statement_timeout=${options.statementTimeoutMs}`,
      `-c idle_in_transaction_session_timeout=${Math.max(options.statementTimeoutMs * 2, 60_000)}`,
    ].join(' '),
  };
  const pool = new DbPool(config, startup, (err) =>
    logger.warn(
      `the database refused the "options" start-up parameter (${err.message}): a pooler such as PgBouncer is in front; ` +
        'connecting without it, so read-only mode and statement_timeout come from each transaction alone ' +
        '(MCP_PG_STARTUP_OPTIONS=off skips the attempt)',
    ),
  );
  // A backend killed while its connection sits idle emits 'error' on the pool, and
  // on a checked-out client; without listeners Node would crash the process.
  pool.on('error', (err) => logger.warn(`idle connection dropped: ${err.message}`));
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

@Module({})
export class DbModule {
  static forRootAsync(options: DbModuleAsyncOptions): DynamicModule {
    return {
      module: DbModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: DB_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        { provide: PG_POOL, useFactory: (o: DbModuleOptions) => createPool(o), inject: [DB_OPTIONS] },
        { provide: PG_PROBE_POOL, useFactory: (o: DbModuleOptions) => createPool(o, 'probes'), inject: [DB_OPTIONS] },
        DbService,
      ],
      exports: [DbService, PG_POOL, DB_OPTIONS],
    };
  }
}
