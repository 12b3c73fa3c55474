import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { RATE_LIMIT_STORAGE } from './rate-limit.constants.js';

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
          // ioredis and the Redis adapter are loaded only when used (about 10 MiB at boot).
          useFactory: async () => {
            if (!config.redisUrl) return null;
            const { RedisThrottlerStorage } = await import('./redis-throttler.storage.js');
            return new RedisThrottlerStorage({ url: config.redisUrl });
          },
        },
      ],
      exports: [RATE_LIMIT_STORAGE],
    };
  }
}
