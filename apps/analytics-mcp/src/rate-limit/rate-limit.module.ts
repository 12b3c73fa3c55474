import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { RATE_LIMIT_STORAGE } from './rate-limit.constants.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/**
 * Where the throttler keeps its counters: Redis when REDIS_URL is set (shared by every
 * replica), else nothing here and the throttler's own in-memory storage.
 */
@Module({})
export class RateLimitModule {
  static forRoot(config: Pick<AppConfig, 'redisUrl'>): DynamicModule {
    return {
      module: RateLimitModule,
      providers: [
        {
          provide: RATE_LIMIT_STORAGE,
          useFactory: () => (config.redisUrl ? new RedisThrottlerStorage({ url: config.redisUrl }) : null),
        },
      ],
      exports: [RATE_LIMIT_STORAGE],
    };
  }
}
