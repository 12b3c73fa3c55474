import { Controller, Get, Inject, Optional, Req, Res } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AUTH_FAILURE_LIMITER, type AuthFailureLimiter } from '#auth';
import type { Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { MetricsService } from './metrics.service.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** GET /metrics in the Prometheus text format; never rate limited; MCP_METRICS_TOKEN protects it when set. */
@Controller('metrics')
@SkipThrottle()
export class MetricsController {
  private readonly tokenDigest: Buffer | null;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() @Inject(AUTH_FAILURE_LIMITER) private readonly limiter?: AuthFailureLimiter,
  ) {
    this.tokenDigest = config.metricsToken ? digest(config.metricsToken) : null;
  }

  @Get()
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (this.tokenDigest && !(await this.authorized(req, res))) return;
    const body = await this.metrics.registry.metrics();
    res.status(200).type(this.metrics.registry.contentType).send(body);
  }

  private async authorized(req: Request, res: Response): Promise<boolean> {
    const ip = req.ip ?? 'unknown';
    const blocked = this.limiter?.blockedFor(ip) ?? 0;
    if (blocked > 0) {
      res.status(429).setHeader('Retry-After', String(blocked)).json({ error: 'too many failed authentications from this address; retry later' });
      return false;
    }
    const header = req.headers.authorization ?? '';
    const token = /^bearer /i.test(header) ? header.slice(7).trim() : '';
    if (token && timingSafeEqual(digest(token), this.tokenDigest!)) return true;
    const wait = token && this.limiter ? await this.limiter.recordFailure(ip) : 0;
    if (wait > 0) {
      res.status(429).setHeader('Retry-After', String(wait)).json({ error: 'too many failed authentications from this address; retry later' });
    } else {
      res.status(401).setHeader('WWW-Authenticate', 'Bearer').json({ error: 'GET /metrics needs Authorization: Bearer <MCP_METRICS_TOKEN>' });
    }
    return false;
  }
}
