import type { ModuleMetadata } from '@nestjs/common';

export interface DbModuleOptions {
  connectionString: string;
  /** Connections used for tool calls; the pool keeps one more for health probes. */
  poolMax: number;
  /** Callers allowed to wait for a connection before "busy" is answered. */
  queueMax: number;
  /**
   * Tool calls one caller may run at once (1 … poolMax; default half the pool, at
   * least 1). Its further calls wait behind other callers' and use only its share
   * of the queue. Queries that name no caller are held only to the pool and queue.
   */
  callerMaxConcurrency?: number;
  queueTimeoutMs: number;
  statementTimeoutMs: number;
  /** Time allowed to open a connection before the database counts as unavailable. */
  connectTimeoutMs?: number;
  /** Shown in pg_stat_activity.application_name, suffixed with the caller per call. */
  applicationName?: string;
  /** search_path pinned on every transaction (the guard resolves names over it). */
  searchPath?: string[];
  /**
   * `auto` (default): connections send session defaults in the `options` start-up
   * parameter, and stop once a pooler (PgBouncer) refuses it. `off`: never send it.
   */
  startupOptions?: 'auto' | 'off';
}

export interface DbModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => DbModuleOptions | Promise<DbModuleOptions>;
  inject?: any[];
}
