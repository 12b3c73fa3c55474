import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RATE_LIMIT_STORAGE } from '../apps/analytics-mcp/src/rate-limit/rate-limit.constants.js';
import type { RedisThrottlerStorage } from '../apps/analytics-mcp/src/rate-limit/redis-throttler.storage.js';
import { startTestDatabase, startTestServer, type TestServer } from './support/stack.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { serviceBinary } from './support/service-binary.js';

const redisServer = serviceBinary('redis-server', 'redis-server');
const LIMIT = 6;
const CALLERS = {
  alice: 'alice-rl-token-0123456789',
  bob: 'bob-rl-token-0123456789ab',
  carol: 'carol-rl-token-0123456789',
  dave: 'dave-rl-token-0123456789a',
} as const;
type Caller = keyof typeof CALLERS;
const ENV = { MCP_AUTH_TOKENS: Object.entries(CALLERS).map(([n, t]) => `${n}:${t}`).join(','), MCP_RATE_LIMIT_PER_MIN: String(LIMIT) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const toolCall = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'query', arguments: { sql: 'SELECT 1' } } });

/** One POST of `calls` tools/call messages (a batch when more than one); the HTTP status. */
async function post(server: TestServer, caller: Caller, calls = 1): Promise<number> {
  const body = calls === 1 ? toolCall(1) : Array.from({ length: calls }, (_, i) => toolCall(i + 1));
  const res = await fetch(server.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${CALLERS[caller]}` },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('rate limits shared by two app instances through a real Redis', { skip: redisServer.skip }, () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let redis: RedisServer;
  let a: TestServer;
  let b: TestServer;

  const storageOf = (s: TestServer) => s.app.get<RedisThrottlerStorage>(RATE_LIMIT_STORAGE);
  async function allShared(...servers: TestServer[]): Promise<void> {
    const t0 = Date.now();
    while (!servers.every((s) => storageOf(s).shared)) {
      if (Date.now() - t0 > 15_000) assert.fail('the instances did not (re)connect to Redis');
      await sleep(20);
    }
  }

  before(async () => {
    [db, redis] = await Promise.all([startTestDatabase(), startRedisServer(redisServer.path!)]);
    a = await startTestServer(db.databaseUrl, { ...ENV, REDIS_URL: redis.url });
    b = await startTestServer(db.databaseUrl, { ...ENV, REDIS_URL: redis.url });
    await allShared(a, b);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.dispose();
    await db?.dispose();
  });

  it(`one caller gets ${LIMIT} tool calls a minute in all, whichever instance serves them; batches count per call`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) statuses.push(await post(i % 2 === 0 ? a : b, 'alice'));
    assert.deepEqual(statuses, [...Array(LIMIT).fill(200), 429, 429]);
    // Another caller has a counter of its own.
    assert.equal(await post(b, 'bob'), 200);
    // A batch of three on one instance (charged by the guard and the controller through the
    // same storage) leaves bob two more calls on the other.
    assert.equal(await post(a, 'bob', 3), 200);
    assert.deepEqual([await post(b, 'bob'), await post(b, 'bob'), await post(b, 'bob')], [200, 200, 429]);

    const inspect = new Redis(redis.url);
    try {
      const hits = Number(await inspect.get('{mcp:caller:alice:mcp}:hits'));
      assert.ok(hits >= LIMIT + 1, `Redis holds ${hits} hits for alice`);
    } finally {
      inspect.disconnect();
    }
  });

  it('without REDIS_URL each instance counts alone, as before', async () => {
    const [c, d] = await Promise.all([startTestServer(db.databaseUrl, ENV), startTestServer(db.databaseUrl, ENV)]);
    try {
      assert.equal(c.app.get(RATE_LIMIT_STORAGE), null);
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT; i++) statuses.push(await post(c, 'carol'), await post(d, 'carol'));
      assert.deepEqual(statuses, Array(2 * LIMIT).fill(200));
      assert.equal(await post(c, 'carol'), 429);
    } finally {
      await Promise.all([c.close(), d.close()]);
    }
  });

  // Stops Redis: keep it last.
  it('a Redis outage falls back to per-instance counting with no failed call, and sharing resumes when it is back', async () => {
    await redis.stop();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push(await post(a, 'dave'));
    // Never a 500: the limit still holds, counted by this instance alone.
    assert.deepEqual(statuses, [...Array(LIMIT).fill(200), 429]);
    assert.equal(storageOf(a).shared, false);
    assert.equal(await post(b, 'dave'), 200, 'the other instance counts on its own meanwhile');

    await redis.start(); // empty: the counts of before the outage are gone
    await allShared(a, b);
    const after: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) after.push(await post(i % 2 === 0 ? b : a, 'carol'));
    assert.deepEqual(after, [...Array(LIMIT).fill(200), 429]);
  });
});
