import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { DbService, PG_POOL, PG_PROBE_POOL } from '#db';
import { call, startTestDatabase, startTestServer, textOf, TOKENS } from './support/stack.js';

// ~1.5 s on the small seed (12 million joined rows), and no function the guard refuses.
const SLOW_SQL = 'SELECT count(*) FROM tracksolid.position_history a, tracksolid.position_history b';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('limits under load: fair share of connections, readiness probes', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let su: pg.Client;

  before(async () => {
    db = await startTestDatabase();
    su = new pg.Client(db.superuserUrl);
    // The last test stops the database under this idle client: its error is expected.
    su.on('error', () => undefined);
    await su.connect();
  });
  after(async () => {
    await su?.end().catch(() => undefined);
    await db?.dispose();
  });

  it("one caller's eight slow calls leave room for another caller's SELECT 1", async (t) => {
    const server = await startTestServer(db.databaseUrl, {
      MCP_POOL_MAX: '4',
      MCP_STATEMENT_TIMEOUT_MS: '120000',
      MCP_QUEUE_TIMEOUT_MS: '120000',
    });
    try {
      assert.equal(server.config.callerMaxConcurrency, 2);
      const stats = () => server.app.get(DbService).stats;
      const alice = await Promise.all(Array.from({ length: 8 }, () => server.connect(TOKENS.alice)));
      const bob = await server.connect(TOKENS.bob);
      let aliceDone = 0;
      const batch = Promise.all(
        alice.map((c) =>
          call(c, 'query', { sql: SLOW_SQL }).finally(() => {
            aliceDone++;
          }),
        ),
      );
      // Every one of alice's calls has reached the gate (running or queued) before bob asks.
      await until("alice's calls to reach the connection gate", () => stats().inFlight + stats().waiting === 8);
      assert.equal(aliceDone, 0);
      assert.deepEqual({ inFlight: stats().inFlight, waiting: stats().waiting }, { inFlight: 2, waiting: 6 });

      let maxAliceActive = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const { rows } = await su.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'analytics-mcp:alice' AND state = 'active'",
          );
          maxAliceActive = Math.max(maxAliceActive, rows[0]!.n);
          await sleep(50);
        }
      })();

      const bobResult = await call(bob, 'query', { sql: 'SELECT 1 AS one' });
      const aliceDoneWhenBobAnswered = aliceDone;
      const aliceResults = await batch;
      sampling = false;
      await sampler;

      t.diagnostic(`alice calls finished when bob's SELECT 1 answered: ${aliceDoneWhenBobAnswered} of 8; alice's most active backends: ${maxAliceActive}`);
      assert.equal(bobResult.isError, undefined, textOf(bobResult));
      assert.deepEqual((bobResult.structuredContent as { rows: unknown[][] }).rows, [[1]]);
      // A single FIFO queue would have served bob only after five of alice's calls.
      assert.ok(aliceDoneWhenBobAnswered <= 1, `bob waited for ${aliceDoneWhenBobAnswered} of alice's calls`);
      for (const r of aliceResults) assert.equal(r.isError, undefined, textOf(r));
      assert.ok(maxAliceActive >= 1 && maxAliceActive <= 2, `alice had ${maxAliceActive} statements running at once`);
    } finally {
      await server.close();
    }
  });

  it('a caller past its share of the queue is told so, while another caller still gets in', async () => {
    const server = await startTestServer(db.databaseUrl, {
      MCP_POOL_MAX: '2',
      MCP_CALLER_MAX_CONCURRENCY: '1',
      MCP_QUEUE_MAX: '2', // one waiting call per caller
      MCP_STATEMENT_TIMEOUT_MS: '120000',
      MCP_QUEUE_TIMEOUT_MS: '120000',
    });
    try {
      const stats = () => server.app.get(DbService).stats;
      const alice = await Promise.all(Array.from({ length: 3 }, () => server.connect(TOKENS.alice)));
      const bob = await server.connect(TOKENS.bob);
      const running = call(alice[0]!, 'query', { sql: SLOW_SQL });
      await until('the first call to run', () => stats().inFlight === 1);
      const queued = call(alice[1]!, 'query', { sql: 'SELECT 2' });
      await until('the second call to queue', () => stats().waiting === 1);
      const refused = await call(alice[2]!, 'query', { sql: 'SELECT 3' });
      assert.equal(refused.isError, true);
      assert.match(textOf(refused), /server busy: too many of your queries are already running or waiting \(at most 1 run at once per caller\)/);
      const bobResult = await call(bob, 'query', { sql: 'SELECT 1' });
      assert.equal(bobResult.isError, undefined, textOf(bobResult));
      for (const r of await Promise.all([running, queued])) assert.equal(r.isError, undefined, textOf(r));
    } finally {
      await server.close();
    }
  });

  it('2,000 readiness probes, 500 at a time, share a ping a second: no 503, no probe waiting for a connection, tool calls unharmed', async (t) => {
    const server = await startTestServer(db.databaseUrl, { MCP_POOL_MAX: '1' });
    try {
      const pools = { queries: server.app.get<pg.Pool>(PG_POOL), probes: server.app.get<pg.Pool>(PG_PROBE_POOL) };
      assert.notEqual(pools.queries, pools.probes);
      const bob = await server.connect(TOKENS.bob);
      let pings = 0;
      let maxProbeWaiting = 0;
      let maxQueryWaiting = 0;
      let maxProbeConnections = 0;
      const observe = () => {
        maxProbeWaiting = Math.max(maxProbeWaiting, pools.probes.waitingCount);
        // Boot-time checks read the query pool directly and may briefly hold a tool call up.
        maxQueryWaiting = Math.max(maxQueryWaiting, pools.queries.waitingCount);
        maxProbeConnections = Math.max(maxProbeConnections, pools.probes.totalCount);
      };
      const onPing = () => {
        pings++;
        observe();
      };
      pools.probes.on('acquire', onPing);
      pools.queries.on('acquire', observe);
      const watcher = setInterval(observe, 5);

      const statuses = new Map<number, number>();
      let sent = 0;
      let calls = 0;
      let callErrors = 0;
      let probing = true;
      const t0 = performance.now();
      const probes = Promise.all(
        Array.from({ length: 500 }, async () => {
          while (sent < 2_000) {
            sent++;
            const res = await fetch(`${server.baseUrl}/health/ready`);
            await res.arrayBuffer();
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }),
      ).finally(() => (probing = false));
      const analyst = (async () => {
        while (probing) {
          const r = await call(bob, 'query', { sql: 'SELECT 1' });
          calls++;
          if (r.isError) callErrors++;
        }
      })();
      await Promise.all([probes, analyst]);
      const elapsedMs = performance.now() - t0;
      clearInterval(watcher);
      pools.probes.off('acquire', onPing);
      pools.queries.off('acquire', observe);

      t.diagnostic(
        `${sent} probes in ${Math.round(elapsedMs)} ms: ${[...statuses].map(([s, n]) => `${n}×${s}`).join(', ')}; ` +
          `${pings} pings; ${calls} tool calls alongside; waiting for a connection at most: ${maxProbeWaiting} probes, ${maxQueryWaiting} tool calls; probe connections at most ${maxProbeConnections}`,
      );
      assert.deepEqual([...statuses], [[200, 2_000]]);
      assert.equal(maxProbeWaiting, 0, 'a probe waited for a connection');
      assert.equal(maxProbeConnections, 1);
      // One ping per second of reuse, plus the one in flight at either end.
      assert.ok(pings >= 1 && pings <= Math.ceil(elapsedMs / 1_000) + 1, `${pings} pings in ${Math.round(elapsedMs)} ms`);
      assert.ok(calls >= 1 && callErrors === 0, `${callErrors} of ${calls} tool calls failed during the flood`);
    } finally {
      await server.close();
    }
  });

  // Stops the database: keep it last.
  it('readiness turns 503 within about two seconds of the database stopping', async (t) => {
    const server = await startTestServer(db.databaseUrl);
    try {
      const ready = async () => {
        const res = await fetch(`${server.baseUrl}/health/ready`);
        return { status: res.status, body: (await res.json()) as { error?: { database?: { reason?: string } } } };
      };
      assert.equal((await ready()).status, 200); // a fresh "up" is now being reused
      await db.cluster.stop();
      const t0 = performance.now();
      let last = await ready();
      while (last.status === 200 && performance.now() - t0 < 10_000) {
        await sleep(50);
        last = await ready();
      }
      const ms = Math.round(performance.now() - t0);
      t.diagnostic(`503 after ${ms} ms: ${last.body.error?.database?.reason}`);
      assert.equal(last.status, 503);
      // One second of reuse plus at most one one-second ping, with room for a loaded machine.
      assert.ok(ms < 3_000, `readiness still passed ${ms} ms after the database stopped`);
      assert.equal((await fetch(`${server.baseUrl}/health/live`)).status, 200);
    } finally {
      await server.close();
    }
  });
});
