import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Redis } from 'ioredis';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';
import { describeRedis } from './redis-target.js';

type StorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

export interface RedisThrottlerStorageOptions {
  url: string;
  /** Longest a counter update may take before this replica counts on its own. */
  commandTimeoutMs?: number;
}

/**
 * Rate-limit counters in Redis (the kept @nest-lab adapter), so every replica charges
 * the same per-caller counter. While Redis cannot answer, the counters live in this
 * process instead (the limit then holds per replica): callers are never refused or
 * failed because the limiter's store is down. One warning per outage, one line when
 * it is over.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly redis: Redis;
  private readonly redisStorage: ThrottlerStorageRedisService;
  private readonly local = new MemoryThrottlerStorage();
  private readonly target: string;
  private outage = false;
  private closed = false;

  constructor(options: RedisThrottlerStorageOptions) {
    this.target = describeRedis(options.url);
    this.redis = new Redis(options.url, {
      // Fail a command at once while disconnected instead of queueing it behind a
      // reconnect: the caller's request must not wait for Redis.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2_000,
      // Keep trying for as long as the process runs, at most every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    });
    this.redis.on('error', (err: Error) => this.down(err.message));
    // A server that shuts down cleanly closes the connection without an error.
    this.redis.on('close', () => this.down('connection closed'));
    this.redis.on('ready', () => this.up());
    this.redisStorage = new ThrottlerStorageRedisService(this.redis);
  }

  /** True while counters are kept in Redis (connected, no failure since). */
  get shared(): boolean {
    return this.redis.status === 'ready' && !this.outage;
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<StorageRecord> {
    // Not connected: the 'error' or 'close' event has reported the outage (or the first
    // connect is still under way).
    if (this.redis.status !== 'ready') return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    try {
      const record = await this.redisStorage.increment(key, ttl, limit, blockDuration, throttlerName);
      if (this.outage) this.up();
      return record;
    } catch (err) {
      this.down((err as Error).message);
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  private down(reason: string): void {
    if (this.outage || this.closed) return;
    this.outage = true;
    this.logger.warn(`Redis at ${this.target} is unavailable (${reason}): rate limits are counted by this replica alone until it is back`);
  }

  private up(): void {
    if (!this.outage) {
      this.logger.log(`rate limits are shared through Redis at ${this.target}`);
      return;
    }
    this.outage = false;
    this.logger.log(`Redis at ${this.target} is back: rate limits are shared across replicas again`);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
