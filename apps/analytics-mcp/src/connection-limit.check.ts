import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PG_POOL, poolLimitWarning, readOwnConnectionLimit } from '#db';
import type pg from 'pg';
import { APP_CONFIG } from './config/config.constants.js';
import type { AppConfig } from './config/app-config.js';

/**
 * Warns when MCP_POOL_MAX (+1 for health probes) exceeds the role's CONNECTION LIMIT.
 * Runs in the background: boot must not wait for, or fail on, a database that is
 * briefly down at deploy time.
 */
@Injectable()
export class ConnectionLimitCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ConnectionBudget');
  private done: Promise<void> = Promise.resolve();

  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.done = this.run();
  }

  /** Settles once the check has run (and warned, if it had to). */
  whenDone(): Promise<void> {
    return this.done;
  }

  private async run(): Promise<void> {
    try {
      const client = await this.pool.connect();
      let limit: number | null;
      try {
        limit = await readOwnConnectionLimit(client);
      } finally {
        // Closed, not pooled (as the role check does): DbService treats a connection it has
        // not used before as fresh, and would count this one's death while idle as the
        // call's one retry.
        client.release(true);
      }
      const warning = poolLimitWarning(this.config.poolMax + 1, limit);
      if (warning) this.logger.warn(`MCP_POOL_MAX=${this.config.poolMax} plus the health-probe connection does not fit: ${warning}`);
    } catch (err) {
      this.logger.warn(`could not read this role's connection limit: ${(err as Error).message}`);
    }
  }
}
