import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DbService, type PingResult } from '#db';
import { PrivilegedRoleCheck } from '../role-check/privileged-role.check.js';
import { ShutdownState } from './shutdown-state.js';

const PING_TIMEOUT_MS = 1_000;
/** How long one ping answers for every probe: a flood of probes costs one ping a second. */
const PING_REUSE_MS = 1_000;

@Injectable()
export class DatabaseHealthIndicator {
  private last: { ping: PingResult; at: number } | undefined;
  private pending: Promise<PingResult> | undefined;

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly db: DbService,
    private readonly shutdown: ShutdownState,
    private readonly roleCheck: PrivilegedRoleCheck,
  ) {}

  async isReady(key: string) {
    const check = this.indicator.check(key);
    if (this.shutdown.draining) return check.down({ reason: 'shutting down' });
    const ping = await this.recentPing();
    const { inFlight, waiting } = this.db.stats;
    if (!ping.ok) return check.down({ reason: ping.error ?? 'unreachable', latencyMs: ping.latencyMs });
    const refusal = await this.roleCheck.refusal();
    if (refusal) return check.down({ reason: refusal, latencyMs: ping.latencyMs });
    return check.up({ latencyMs: ping.latencyMs, inFlight, waiting, ...replicationOf(ping) });
  }

  /** The last ping if it settled within PING_REUSE_MS, else the one in flight, else a new one. */
  private recentPing(): Promise<PingResult> {
    if (this.last && performance.now() - this.last.at < PING_REUSE_MS) return Promise.resolve(this.last.ping);
    this.pending ??= this.db
      .ping(PING_TIMEOUT_MS)
      .then((ping) => {
        this.last = { ping, at: performance.now() };
        return ping;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }
}

/** `standby`, and on a standby its lag, when the probe could read them. */
function replicationOf(ping: PingResult): Record<string, unknown> {
  if (ping.standby === undefined) return {};
  if (!ping.standby) return { standby: false };
  return { standby: true, replicationLagSeconds: ping.replicationLagSeconds ?? null, replayLagBytes: ping.replayLagBytes ?? null };
}
