import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Logger, type LoggerService } from '@nestjs/common';
import { freePort } from '../embedded/free-port.js';
import { describeRedis } from './redis-target.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

describe('RedisThrottlerStorage without a reachable Redis', () => {
  const warnings: string[] = [];
  const collect = (level: string) => (message: unknown) => {
    if (level === 'warn') warnings.push(String(message));
  };
  before(() => {
    const logger: LoggerService = { log: collect('log'), error: collect('error'), warn: collect('warn'), debug: collect('debug'), verbose: collect('verbose') };
    Logger.overrideLogger(logger);
  });
  after(() => Logger.overrideLogger(false));

  it('counts in memory, still enforcing the limit, never throws, and warns once', async () => {
    // Nothing listens on this loopback port: every connection attempt is refused.
    const storage = new RedisThrottlerStorage({ url: `redis://127.0.0.1:${await freePort()}/0` });
    try {
      const hits = [];
      for (let i = 0; i < 4; i++) hits.push(await storage.increment('mcp:caller:alice', 60_000, 3, 60_000, 'mcp'));
      assert.deepEqual(hits.map((h) => [h.totalHits, h.isBlocked]), [[1, false], [2, false], [3, false], [4, true]]);
      assert.equal((await storage.increment('mcp:caller:bob', 60_000, 3, 60_000, 'mcp')).totalHits, 1);
      assert.equal(storage.shared, false);
      // Connection attempts keep failing (every 100 ms at first): still one warning.
      const t0 = Date.now();
      while (warnings.length === 0 && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, /^Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is unavailable \(.*\): rate limits are counted by this replica alone until it is back$/);
    } finally {
      await storage.onApplicationShutdown();
      await storage.onApplicationShutdown(); // Nest may call it through both tokens
    }
  });

  it('describes a REDIS_URL without its credentials', () => {
    assert.equal(describeRedis('redis://user:s3cret@cache.internal:6380/2'), 'redis://cache.internal:6380/2');
    assert.equal(describeRedis('rediss://:s3cret@cache'), 'rediss://cache:6379/0');
    assert.equal(describeRedis('not a url s3cret'), '<unparsable REDIS_URL>');
  });
});
