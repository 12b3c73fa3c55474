import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPool, DbService } from '#db';
import { call, startTestDatabase, startTestServer, textOf, TOKENS, type TestServer } from './support/stack.js';
import { startPgBouncer, type PgBouncer } from './support/pgbouncer.js';
import { serviceBinary } from './support/service-binary.js';

const pgbouncer = serviceBinary('pgbouncer', 'pgbouncer');
const SERVER_CONNECTIONS = 4;
// Tens of milliseconds of work each, so the 40 calls overlap.
const WORK = '(SELECT count(*) FROM (SELECT generate_series(1, 300000)) g)';
// Streams rows without end (ProjectSet, no tuplestore): only the statement timeout stops it.
const ENDLESS = 'SELECT count(*) FROM (SELECT generate_series(1, 1e12::int8)) g';
const BUSY = 'SELECT count(*) FROM (SELECT generate_series(1, 20000000)) g';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Rows = { rows: unknown[][] };

describe(`the server through a real PgBouncer in transaction mode (${SERVER_CONNECTIONS} server connections)`, { skip: pgbouncer.skip }, () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let bouncer: PgBouncer;
  let su: pg.Client;
  let server: TestServer;

  before(async () => {
    db = await startTestDatabase();
    const ro = new URL(db.databaseUrl);
    const admin = new URL(db.superuserUrl);
    bouncer = await startPgBouncer({
      bin: pgbouncer.path!,
      upstreamPort: db.cluster.port,
      users: { analytics_ro: decodeURIComponent(ro.password), postgres: decodeURIComponent(admin.password) },
      defaultPoolSize: SERVER_CONNECTIONS,
    });
    su = new pg.Client(db.superuserUrl);
    await su.connect();
    server = await startTestServer(bouncer.url('analytics_ro', 'fleet'), {
      MCP_POOL_MAX: '16',
      MCP_CALLER_MAX_CONCURRENCY: '16',
      MCP_QUEUE_MAX: '64',
      MCP_QUEUE_TIMEOUT_MS: '60000',
      MCP_STATEMENT_TIMEOUT_MS: '20000',
    });
  });
  after(async () => {
    await server?.close();
    await su?.end().catch(() => undefined);
    await bouncer?.stop();
    await db?.dispose();
  });

  /** analytics_ro's backends on PostgreSQL: the bouncer's server connections. */
  const serverBackends = async () =>
    (await su.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE usename = 'analytics_ro'")).rows.map((r) => r.pid);

  it('40 concurrent tool calls from two callers: right answers, each under its own name, read only, on at most 4 server connections', async (t) => {
    const clients = { alice: await server.connect(TOKENS.alice), bob: await server.connect(TOKENS.bob) };
    const stats = () => server.app.get(DbService).stats;
    let maxInFlight = 0;
    let maxBackends = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxInFlight = Math.max(maxInFlight, stats().inFlight);
        maxBackends = Math.max(maxBackends, (await serverBackends()).length);
        await sleep(10);
      }
    })();
    const calls = Array.from({ length: 40 }, (_, i) => {
      const caller = i % 2 === 0 ? 'alice' : 'bob';
      const sql =
        `SELECT ${i} AS i, current_setting('application_name') AS app, current_setting('transaction_read_only') AS ro, ` +
        `current_setting('statement_timeout') AS timeout, current_setting('standard_conforming_strings') AS scs, ` +
        `pg_backend_pid() AS pid, (SELECT count(*) FROM tracksolid.devices) AS devices, ${WORK} AS work`;
      return call(clients[caller], 'query', { sql }).then((r) => ({ caller, i, r }));
    });
    const results = await Promise.all(calls);
    sampling = false;
    await sampler;

    const pids = new Set<number>();
    for (const { caller, i, r } of results) {
      assert.equal(r.isError, undefined, textOf(r));
      const [row] = (r.structuredContent as Rows).rows as [number, string, string, string, string, number, number, number][];
      assert.deepEqual(row.slice(0, 5), [i, `analytics-mcp:${caller}`, 'on', '20s', 'on']);
      assert.equal(row[6], 12);
      assert.equal(row[7], 300000);
      pids.add(row[5]);
    }
    t.diagnostic(`server calls in flight at most ${maxInFlight}; PostgreSQL backends at most ${maxBackends}; distinct backends used ${pids.size}`);
    assert.ok(pids.size <= SERVER_CONNECTIONS, `${pids.size} backends served the calls`);
    assert.ok(maxBackends <= SERVER_CONNECTIONS, `${maxBackends} backends at once`);
    assert.ok(maxInFlight > SERVER_CONNECTIONS, `only ${maxInFlight} calls were in flight at once: the bouncer was never the narrower pool`);
    // The options start-up parameter was refused once, then dropped.
    assert.match(bouncer.output(), /unsupported startup parameter: options/);
  });

  it('writes are refused: by the guard over MCP, and by PostgreSQL (read-only transaction) below it', async () => {
    const alice = await server.connect(TOKENS.alice);
    const before = (await su.query('SELECT count(*)::int AS n FROM tickets.tickets')).rows[0].n as number;
    const viaMcp = await call(alice, 'query', { sql: 'WITH d AS (DELETE FROM tickets.tickets RETURNING 1) SELECT count(*) FROM d' });
    assert.equal(viaMcp.isError, true);
    assert.match(textOf(viaMcp), /DELETE/);

    // The superuser through the same bouncer, with no guard in front: the transaction stops it.
    const opts = {
      connectionString: bouncer.url('postgres', 'fleet'),
      poolMax: 2,
      queueMax: 4,
      queueTimeoutMs: 10_000,
      statementTimeoutMs: 10_000,
    };
    const raw = new DbService(createPool(opts), opts);
    try {
      for (const sql of ['DELETE FROM tickets.tickets', "SELECT set_config('default_transaction_read_only', 'off', false)", 'CREATE TABLE public.bounced (i int)']) {
        const outcome = await raw.query({ sql, maxRows: 10 }).then(
          () => 'ran',
          (err: Error & { code?: string }) => err.code,
        );
        if (sql.startsWith('SELECT')) assert.equal(outcome, 'ran');
        else assert.equal(outcome, '25006', `${sql}: ${outcome}`);
      }
      // The session setting of the rolled-back transaction did not survive into the next one.
      const { rows } = await raw.query({ sql: "SELECT current_setting('transaction_read_only')", maxRows: 1 });
      assert.deepEqual(rows, [['on']]);
    } finally {
      await raw.onApplicationShutdown();
    }
    assert.equal((await su.query('SELECT count(*)::int AS n FROM tickets.tickets')).rows[0].n, before);
    assert.equal((await su.query("SELECT to_regclass('public.bounced') AS t")).rows[0].t, null);
  });

  it('the per-call statement timeout holds without the session defaults PgBouncer refuses', async () => {
    const refusals = () => bouncer.output().match(/unsupported startup parameter/g)?.length ?? 0;
    const refusedBefore = refusals();
    const quick = await startTestServer(bouncer.url('analytics_ro', 'fleet'), { MCP_STATEMENT_TIMEOUT_MS: '500', MCP_PG_STARTUP_OPTIONS: 'off' });
    try {
      const alice = await quick.connect(TOKENS.alice);
      const r = await call(alice, 'query', { sql: ENDLESS });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /PostgreSQL error 57014: canceling statement due to statement timeout/);
      const next = await call(alice, 'query', { sql: "SELECT current_setting('statement_timeout')" });
      assert.deepEqual((next.structuredContent as Rows).rows, [['500ms']]);
      // MCP_PG_STARTUP_OPTIONS=off: not even a first attempt with the options.
      assert.equal(refusals(), refusedBefore);
    } finally {
      await quick.close();
    }
  });

  it('recovers when every server connection is terminated, idle or mid-call', async () => {
    const alice = await server.connect(TOKENS.alice);
    const bob = await server.connect(TOKENS.bob);
    const terminateAll = async () =>
      (await su.query<{ n: number }>("SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = 'analytics_ro'")).rows[0]!.n;

    // Idle: the bouncer's pooled server connections die between calls.
    assert.ok((await serverBackends()).length >= 1);
    await terminateAll();
    const afterIdle = await Promise.all(Array.from({ length: 12 }, (_, i) => call(i % 2 ? bob : alice, 'query', { sql: `SELECT ${i}` })));
    for (const [i, r] of afterIdle.entries()) {
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual((r.structuredContent as Rows).rows, [[i]]);
    }

    // Mid-call: a one-time kill of every running statement; each call gets one retry.
    const busy = Array.from({ length: 6 }, (_, i) => call(i % 2 ? bob : alice, 'query', { sql: BUSY }));
    const t0 = Date.now();
    while ((await su.query("SELECT 1 FROM pg_stat_activity WHERE usename = 'analytics_ro' AND state = 'active'")).rowCount === 0) {
      if (Date.now() - t0 > 20_000) assert.fail('no call reached PostgreSQL');
      await sleep(10);
    }
    const killed = await terminateAll();
    const outcomes = await Promise.all(busy);
    const failures = outcomes.filter((r) => r.isError).map(textOf);
    assert.ok(killed >= 1);
    // A call whose retry was killed too reports the database unavailable, never anything else.
    for (const f of failures) assert.match(f, /^database unavailable/);
    assert.ok(failures.length < outcomes.length, `every call failed: ${failures.join(' | ')}`);

    const after = await Promise.all(Array.from({ length: 8 }, (_, i) => call(i % 2 ? bob : alice, 'query', { sql: 'SELECT count(*) FROM tracksolid.devices' })));
    for (const r of after) assert.deepEqual((r.structuredContent as Rows).rows, [[12]], textOf(r));
    const ready = await fetch(`${server.baseUrl}/health/ready`);
    assert.equal(ready.status, 200);
  });
});
