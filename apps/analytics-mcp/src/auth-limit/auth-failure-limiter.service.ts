import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { AuthFailureLimiter } from '#auth';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';

const WINDOW_MS = 60_000;
const THROTTLER = 'auth-fail';
/** Addresses remembered as blocked; past this the oldest are forgotten (they are counted in the storage anyway). */
const MAX_BLOCKED = 10_000;

/**
 * Failed authentications per client address, counted in the throttler's storage (shared
 * through Redis when REDIS_URL is set). An address that used up its budget is remembered
 * here until its block ends, so the guard refuses it before looking at its token; another
 * replica learns of the block from the shared counter at that address's next failure.
 */
@Injectable()
export class ThrottlerAuthFailureLimiter implements AuthFailureLimiter {
  private readonly blocked = new Map<string, number>();
  private readonly limit: number;

  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = config.authFailLimitPerMinute;
  }

  blockedFor(ip: string): number {
    const until = this.blocked.get(ip);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left > 0) return Math.ceil(left / 1000);
    this.blocked.delete(ip);
    return 0;
  }

  async recordFailure(ip: string): Promise<number> {
    const rec = await this.storage.increment(`${THROTTLER}:ip:${ip}`, WINDOW_MS, this.limit, WINDOW_MS, THROTTLER);
    if (!rec.isBlocked && rec.totalHits <= this.limit) return 0;
    const wait = Math.max(1, rec.timeToBlockExpire || rec.timeToExpire);
    this.remember(ip, Date.now() + wait * 1000);
    return wait;
  }

  private remember(ip: string, until: number): void {
    this.blocked.delete(ip);
    if (this.blocked.size >= MAX_BLOCKED) {
      const now = Date.now();
      for (const [k, t] of this.blocked) if (t <= now) this.blocked.delete(k);
      if (this.blocked.size >= MAX_BLOCKED) this.blocked.delete(this.blocked.keys().next().value!);
    }
    this.blocked.set(ip, until);
  }
}
