import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { removeClusterData } from '../apps/analytics-mcp/src/embedded/embedded-cluster.js';
import { startEmbeddedDemo, type EmbeddedDemo } from '../apps/analytics-mcp/src/embedded/embedded-demo.js';
import { call, connectClient, makeTempDir, SMALL_SEED, textOf, TOKENS } from './support/stack.js';
import { spawnServer, type ServerProcess } from './support/server-process.js';

// Runs until the statement timeout stops it: ~1.2 billion joined rows on the small seed.
const SLOW_SQL = 'SELECT count(*) FROM tracksolid.position_history a, tracksolid.position_history b, generate_series(1, 100) g';
// Work the killer can find running: sized on the machine in the kill test (≥ 300 ms alone).
const busySql = (n: number) => `SELECT count(*) FROM tracksolid.position_history a CROSS JOIN generate_series(1, ${n}) g`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a state instead of guessing how long it takes (the machine may be loaded). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what} (waited ${timeoutMs} ms)`);
    await sleep(20);
  }
}

/** Calls running and waiting for a connection, from the readiness probe's details. */
async function dbStats(server: ServerProcess): Promise<{ inFlight: number; waiting: number }> {
  const body = (await (await fetch(`${server.baseUrl}/health/ready`)).json()) as { details?: { database?: { inFlight?: number; waiting?: number } } };
  return { inFlight: body.details?.database?.inFlight ?? -1, waiting: body.details?.database?.waiting ?? -1 };
}

describe('fault injection against the server process', () => {
  let dir: string;
  let demo: EmbeddedDemo;

  before(async () => {
    dir = await makeTempDir('amcp-faults-');
    // Not ephemeral: the database is stopped and started again below.
    demo = await startEmbeddedDemo({ dataDir: dir, seed: SMALL_SEED });
  });
  after(async () => {
    await demo?.stop().catch(() => undefined);
    await removeClusterData(join(dir, 'pg'));
    await rm(dir, { recursive: true, force: true });
  });

  async function withServer<T>(env: Record<string, string>, fn: (s: ServerProcess, c: Client) => Promise<T>): Promise<T> {
    const server = await spawnServer({ DATABASE_URL: demo.databaseUrl, ...env });
    const client = await connectClient(server.mcpUrl, TOKENS.alice);
    try {
      return await fn(server, client);
    } finally {
      await client.close().catch(() => undefined);
      await server.stop();
    }
  }

  // Retry-once promises that a call survives losing one connection (idle in the pool or
  // mid-statement), not that it survives any number of kills. So each round kills every
  // idle pooled connection, starts 8 calls, then kills whatever is running exactly once:
  // every call loses at most one connection per round, and none may fail.
  it('hides terminated backends from 8 concurrent callers: idle and mid-statement kills, one per call', async (t) => {
    // One token for all eight clients: let that caller fill the pool, as the test intends.
    await withServer({ MCP_POOL_MAX: '8', MCP_CALLER_MAX_CONCURRENCY: '8' }, async (server) => {
      const clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(server.mcpUrl, TOKENS.alice)));
      const killer = new pg.Client(demo.superuserUrl);
      await killer.connect();
      // Long enough on this machine for a sweep to find the calls running: alone, at least
      // 300 ms (a fast host finished the fixed statement between two polls).
      let n = 200;
      for (let t0 = performance.now(); ; t0 = performance.now()) {
        await killer.query(busySql(n));
        const ms = performance.now() - t0;
        if (ms >= 300 || n >= 100_000) break;
        n = Math.min(100_000, Math.ceil((n * 400) / Math.max(ms, 1)));
      }
      const BUSY_SQL = busySql(n);
      const terminate = async (condition: string) =>
        Number(
          (
            await killer.query(
              `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                WHERE usename = 'analytics_ro' AND pid <> pg_backend_pid() AND ${condition}`,
            )
          ).rows[0].n,
        );
      const ROUNDS = 6;
      let calls = 0;
      let idleKills = 0;
      let busyKills = 0;
      const errors: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        idleKills += await terminate(`state = 'idle'`);
        let done = 0;
        const inflight = Promise.all(
          clients.map(async (c) => {
            const res = await call(c, 'query', { sql: BUSY_SQL });
            calls++;
            done++;
            if (res.isError) errors.push(textOf(res));
          }),
        );
        // Wait for all 8 to run, or for at least one after 3 s (a loaded machine may never
        // run all 8 at once); then one sweep.
        const until = Date.now() + 3_000;
        while (done < clients.length) {
          const { rows } = await killer.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'analytics_ro' AND state = 'active' AND query LIKE '%generate_series%'`,
          );
          if (rows[0].n >= clients.length || (rows[0].n > 0 && Date.now() > until)) break;
          await sleep(10);
        }
        busyKills += await terminate(`state <> 'idle'`);
        await inflight;
      }
      await killer.end();
      await Promise.all(clients.map((c) => c.close()));
      t.diagnostic(`${calls} calls of generate_series(1, ${n}), ${idleKills} idle and ${busyKills} mid-call backends terminated, ${errors.length} errors`);
      assert.equal(calls, ROUNDS * clients.length);
      assert.deepEqual(errors, [], `${errors.length} of ${calls} calls failed: ${errors.join(" | ")}`);
      assert.ok(busyKills >= ROUNDS, `only ${busyKills} backends were terminated mid-call`);
      assert.ok(idleKills > 0, 'no idle pooled backend was terminated');
      assert.equal(server.child.exitCode, null, 'server process died');
      const ready = await fetch(`${server.baseUrl}/health/ready`);
      assert.equal(ready.status, 200);
    });
  });

  it('fails fast with "database unavailable" while PostgreSQL is down, and recovers in the same process', async () => {
    await withServer({}, async (server, client) => {
      assert.equal((await call(client, 'query', { sql: 'SELECT 1' })).isError, undefined);
      await demo.cluster.stop();
      try {
        const t0 = performance.now();
        const res = await call(client, 'query', { sql: 'SELECT 1' });
        const ms = performance.now() - t0;
        assert.equal(res.isError, true);
        assert.match(textOf(res), /database unavailable/);
        assert.ok(ms < 2_000, `took ${ms} ms`);
        assert.equal((await fetch(`${server.baseUrl}/health/ready`)).status, 503);
        assert.equal((await fetch(`${server.baseUrl}/health/live`)).status, 200);
      } finally {
        await demo.cluster.start();
      }
      const t0 = Date.now();
      let ok = false;
      while (!ok && Date.now() - t0 < 5_000) {
        const ready = (await fetch(`${server.baseUrl}/health/ready`)).status === 200;
        const res = await call(client, 'query', { sql: 'SELECT count(*) FROM tracksolid.devices' });
        ok = ready && !res.isError;
        if (!ok) await sleep(100);
      }
      assert.ok(ok, 'not ready and answering within 5 s of PostgreSQL coming back');
      assert.equal(server.child.exitCode, null);
    });
  });

  it('reports a statement timeout clearly and reuses the connection', async () => {
    await withServer({ MCP_POOL_MAX: '1', MCP_STATEMENT_TIMEOUT_MS: '300' }, async (_server, client) => {
      const pid1 = (await call(client, 'query', { sql: 'SELECT pg_backend_pid()' })).structuredContent as { rows: number[][] };
      const res = await call(client, 'query', { sql: SLOW_SQL });
      assert.equal(res.isError, true);
      assert.match(textOf(res), /57014/);
      assert.match(textOf(res), /statement timeout/);
      const pid2 = (await call(client, 'query', { sql: 'SELECT pg_backend_pid()' })).structuredContent as { rows: number[][] };
      assert.equal(pid2.rows[0]![0], pid1.rows[0]![0], 'the connection was replaced after a timeout');
    });
  });

  it('queues callers beyond the pool, then answers "busy" past the queue bounds', async () => {
    await withServer(
      { MCP_POOL_MAX: '1', MCP_QUEUE_MAX: '1', MCP_QUEUE_TIMEOUT_MS: '1500', MCP_STATEMENT_TIMEOUT_MS: '4000' },
      async (server) => {
        const clients = await Promise.all(Array.from({ length: 3 }, () => connectClient(server.mcpUrl, TOKENS.alice)));
        const first = call(clients[0]!, 'query', { sql: SLOW_SQL });
        await until(async () => (await dbStats(server)).inFlight === 1, 'the slow call never took the connection');
        const queued = call(clients[1]!, 'query', { sql: 'SELECT 1' });
        await until(async () => (await dbStats(server)).waiting === 1, 'the second call never queued');
        // The queue is full: refused at once, without waiting for a connection.
        const overflow = await call(clients[2]!, 'query', { sql: 'SELECT 1' });
        assert.match(textOf(overflow), /server busy: too many queries are already waiting/);
        const timedOut = await queued;
        assert.match(textOf(timedOut), /server busy: no database connection became free within 1500 ms/);
        assert.match(textOf(await first), /57014/);
        // Once the slow call is gone, the pool serves again.
        assert.equal((await call(clients[1]!, 'query', { sql: 'SELECT 1' })).isError, undefined);
        await Promise.all(clients.map((c) => c.close()));
      },
    );
  });

  it("warns at boot when MCP_POOL_MAX does not fit the role's CONNECTION LIMIT", async () => {
    const admin = new pg.Client(demo.superuserUrl);
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS tiny_ro; CREATE ROLE tiny_ro LOGIN PASSWORD 'tiny-password' CONNECTION LIMIT 3`);
    await admin.end();
    const url = new URL(demo.databaseUrl);
    url.username = 'tiny_ro';
    url.password = 'tiny-password';
    const server = await spawnServer({ DATABASE_URL: url.toString(), MCP_POOL_MAX: '8' });
    try {
      const t0 = Date.now();
      while (!/CONNECTION LIMIT/.test(server.output()) && Date.now() - t0 < 5_000) await sleep(50);
      assert.match(server.output(), /MCP_POOL_MAX=8 plus the health-probe connection does not fit: pool size 9 exceeds the CONNECTION LIMIT 3/);
    } finally {
      await server.stop();
    }
  });

  it('on SIGTERM fails readiness, finishes the in-flight call, then exits 0', async () => {
    const server = await spawnServer({ DATABASE_URL: demo.databaseUrl, MCP_SHUTDOWN_GRACE_MS: '3000' });
    const client = await connectClient(server.mcpUrl, TOKENS.alice);
    const inflight = call(client, 'query', {
      sql: 'SELECT count(*) FROM tracksolid.position_history a CROSS JOIN generate_series(1, 2000) g',
    });
    await until(async () => (await dbStats(server)).inFlight === 1, 'the call never started');
    server.child.kill('SIGTERM');
    await until(async () => (await fetch(`${server.baseUrl}/health/ready`)).status === 503, 'readiness still passes after SIGTERM');
    const res = await inflight;
    assert.equal(res.isError, undefined, textOf(res));
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, server.output());
    await client.close().catch(() => undefined);
  });
});
