import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DbService } from '#db';
import { ShutdownState } from './shutdown-state.js';

const PING_TIMEOUT_MS = 1_000;

@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly db: DbService,
    private readonly shutdown: ShutdownState,
  ) {}

  async isReady(key: string) {
    const check = this.indicator.check(key);
    if (this.shutdown.draining) return check.down({ reason: 'shutting down' });
    const ping = await this.db.ping(PING_TIMEOUT_MS);
    const { inFlight, waiting } = this.db.stats;
    return ping.ok
      ? check.up({ latencyMs: ping.latencyMs, inFlight, waiting })
      : check.down({ reason: ping.error ?? 'unreachable', latencyMs: ping.latencyMs });
  }
}
