import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerException,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '#auth';
import { MemoryThrottlerStorage } from '../rate-limit/memory-throttler.storage.js';

/**
 * Rate limits per authenticated caller rather than per IP (analysts share NATs), on the
 * one throttler configured in ThrottlerModule. It answers as @nestjs/throttler's
 * ThrottlerGuard does (X-RateLimit-*-<name> headers, Retry-After-<name> and a
 * ThrottlerException past the limit), without its per-request generic work: no metadata
 * lookups (no @Throttle/@SkipThrottle overrides here), no async tracker, and no promise
 * at all on the in-memory storage.
 */
@Injectable()
export class CallerThrottlerGuard implements CanActivate {
  private readonly name: string;
  private readonly limit: number;
  private readonly ttl: number;
  private readonly blockDuration: number;
  private readonly skipIf: ((context: ExecutionContext) => boolean) | undefined;
  private readonly memory: MemoryThrottlerStorage | undefined;
  private readonly headers: { limit: string; remaining: string; reset: string; retryAfter: string };

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
  ) {
    const throttlers = Array.isArray(options) ? options : options.throttlers;
    if (throttlers.length !== 1) throw new Error(`CallerThrottlerGuard expects exactly one throttler, got ${throttlers.length}`);
    const t = throttlers[0]!;
    if (typeof t.limit !== 'number' || typeof t.ttl !== 'number' || (t.blockDuration !== undefined && typeof t.blockDuration !== 'number')) {
      throw new Error('CallerThrottlerGuard expects a numeric limit, ttl and blockDuration');
    }
    this.name = t.name ?? 'default';
    this.limit = t.limit;
    this.ttl = t.ttl;
    this.blockDuration = t.blockDuration ?? t.ttl;
    this.skipIf = t.skipIf ?? (Array.isArray(options) ? undefined : options.skipIf);
    this.memory = storage instanceof MemoryThrottlerStorage ? storage : undefined;
    const suffix = this.name === 'default' ? '' : `-${this.name}`;
    this.headers = {
      limit: `X-RateLimit-Limit${suffix}`,
      remaining: `X-RateLimit-Remaining${suffix}`,
      reset: `X-RateLimit-Reset${suffix}`,
      retryAfter: `Retry-After${suffix}`,
    };
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.skipIf?.(context)) return true;
    const http = context.switchToHttp();
    const key = throttlerKey(this.name, callerTracker(http.getRequest<AuthenticatedRequest & { ip?: string }>()));
    const res = http.getResponse<Response>();
    if (this.memory) return this.decide(this.memory.incrementNow(key, this.ttl, this.limit, this.blockDuration, this.name), res);
    return this.storage.increment(key, this.ttl, this.limit, this.blockDuration, this.name).then((rec) => this.decide(rec, res));
  }

  private decide(rec: Awaited<ReturnType<ThrottlerStorage['increment']>>, res: Response): boolean {
    if (rec.isBlocked) {
      res.setHeader(this.headers.retryAfter, rec.timeToBlockExpire);
      throw new ThrottlerException();
    }
    res.setHeader(this.headers.limit, this.limit);
    res.setHeader(this.headers.remaining, Math.max(0, this.limit - rec.totalHits));
    res.setHeader(this.headers.reset, rec.timeToExpire);
    return true;
  }
}

export function callerTracker(req: { caller?: string; ip?: unknown }): string {
  return req.caller ? `caller:${req.caller}` : `ip:${String(req.ip)}`;
}

/** A readable, stable key, so the controller charges a batch's further tools/call messages to the same counter. */
export function throttlerKey(throttlerName: string, tracker: string): string {
  return `${throttlerName}:${tracker}`;
}
