import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '#auth';

/** Rate limits per authenticated caller rather than per IP (analysts share NATs). */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown> & AuthenticatedRequest): Promise<string> {
    return callerTracker(req);
  }

  // A readable, stable key, so the controller can charge a batch's further
  // tools/call messages to the same counter (throttlerKey).
  protected override generateKey(_context: ExecutionContext, suffix: string, name: string): string {
    return throttlerKey(name, suffix);
  }
}

export function callerTracker(req: { caller?: string; ip?: unknown }): string {
  return req.caller ? `caller:${req.caller}` : `ip:${String(req.ip)}`;
}

export function throttlerKey(throttlerName: string, tracker: string): string {
  return `${throttlerName}:${tracker}`;
}
