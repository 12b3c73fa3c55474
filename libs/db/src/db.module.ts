import { DynamicModule, Logger, Module } from '@nestjs/common';
import pg from 'pg';
import { DB_OPTIONS, PG_POOL, PG_PROBE_POOL } from './db.constants.js';
import type { DbModuleAsyncOptions, DbModuleOptions } from './db-options.interface.js';
import { DbService } from './db.service.js';
import { ReportingClient } from './session-params.js';

/**
 * `queries`: MCP_POOL_MAX connections for tool calls. `probes`: one more in a pool of
 * its own for health probes, which nothing else can take (code reading the main pool
 * directly, such as boot-time checks, competes with tool calls, never with probes).
 */
export function createPool(options: DbModuleOptions, purpose: 'queries' | 'probes' = 'queries'): pg.Pool {
  const logger = new Logger(purpose === 'probes' ? 'PgProbePool' : 'PgPool');
  const appName = options.applicationName ?? 'analytics-mcp';
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    Client: ReportingClient,
    max: purpose === 'probes' ? 1 : options.poolMax,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    application_name: purpose === 'probes' ? `${appName}:health` : appName,
    // Session defaults even before the per-call settings: a DSN with a laxer role
    // still gets read-only transactions and bounded statements.
    options: [
      '-c default_transaction_read_only=on',
      `-c statement_timeout=${options.statementTimeoutMs}`,
      `-c idle_in_transaction_session_timeout=${Math.max(options.statementTimeoutMs * 2, 60_000)}`,
      '-c client_encoding=UTF8',
      // What the SQL guard's parser assumes; each transaction pins it again.
      '-c standard_conforming_strings=on',
    ].join(' '),
  });
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
