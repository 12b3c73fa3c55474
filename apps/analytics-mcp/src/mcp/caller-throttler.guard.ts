import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '#auth';

/** Rate limits per authenticated caller rather than per IP (analysts share NATs). */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown> & AuthenticatedRequest): Promise<string> {
    return req.caller ? `caller:${req.caller}` : `ip:${String(req.ip)}`;
  }
}
