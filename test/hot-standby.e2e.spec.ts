import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { call, startTestDatabase, startTestServer, textOf, TOKENS, type TestServer } from './support/stack.js';
import { startHotStandby, type HotStandby } from './support/hot-standby.js';

type Rows = { rows: unknown[][] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Streams generate_series(1, n) for the probe row's n: endless while n is huge, instant once it is 3.
const PROBE_SQL = 'SELECT count(*) AS c FROM (SELECT generate_series(1, n) FROM tracksolid.replica_probe WHERE id = 1) g';
const HUGE = '1000000000000';

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('the server on a real streaming hot standby', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let primary: pg.Client;
  let standby: HotStandby;
  let standbySu: pg.Client;
  let server: TestServer;

  before(async () => {
    db = await startTestDatabase();
    primary = new pg.Client(db.superuserUrl);
    await primary.connect();
    // Autovacuum's cleanup on the primary could cancel a standby query at any moment.
    await primary.query('ALTER SYSTEM SET autovacuum = off');
    await primary.query('SELECT pg_reload_conf()');
    await primary.query(`CREATE TABLE tracksolid.replica_probe (id int PRIMARY KEY, n int8 NOT NULL)`);
    await primary.query(`INSERT INTO tracksolid.replica_probe VALUES (1, 3)`);
    await primary.query('GRANT SELECT ON tracksolid.replica_probe TO analytics_ro');
    standby = await startHotStandby(db.cluster, { max_standby_streaming_delay: '200ms' });
    const ro = new URL(db.databaseUrl);
    const su = new URL(db.superuserUrl);
    standbySu = new pg.Client(standby.url('postgres', decodeURIComponent(su.password), 'fleet'));
    await standbySu.connect();
    server = await startTestServer(standby.url('analytics_ro', decodeURIComponent(ro.password), 'fleet'), {
      MCP_STATEMENT_TIMEOUT_MS: '60000',
    });
  });
  after(async () => {
    await server?.close();
    await standbySu?.end().catch(() => undefined);
    await standby?.stop();
    await primary?.end().catch(() => undefined);
    await db?.dispose();
  });

  /** Sets the probe row on the primary and waits for the standby to have it. */
  async function setProbe(n: string): Promise<void> {
    await primary.query('UPDATE tracksolid.replica_probe SET n = $1 WHERE id = 1', [n]);
    await standby.caughtUp();
  }

  /** The analytics_ro statement running the probe on the standby (its transaction start tells attempts apart). */
  async function runningProbe(notStartedAt?: string): Promise<string | undefined> {
    const { rows } = await standbySu.query<{ xact_start: string }>(
      `SELECT xact_start::text FROM pg_stat_activity WHERE usename = 'analytics_ro' AND state = 'active' AND query LIKE '%replica_probe%'`,
    );
    return rows.map((r) => r.xact_start).find((x) => x !== notStartedAt);
  }

  async function lockConflicts(): Promise<number> {
    const { rows } = await standbySu.query<{ n: number }>(`SELECT confl_lock::int AS n FROM pg_stat_database_conflicts WHERE datname = 'fleet'`);
    return rows[0]!.n;
  }

  /**
   * A canceled backend that then sits idle may hold its statistics back for PostgreSQL's idle
   * interval (10 s). A statement through the server (the pool lends the connection released last)
   * makes it report them within a second; the timeout outlasts the idle interval either way.
   */
  async function lockConflictsReach(n: number, via: Awaited<ReturnType<TestServer['connect']>>): Promise<void> {
    await until(`${n} lock conflicts on the standby`, async () => {
      await call(via, 'query', { sql: 'SELECT 1' });
      return (await lockConflicts()) >= n;
    }, 25_000);
    assert.equal(await lockConflicts(), n);
  }

  /** A lock on the primary that the standby must replay: it cancels readers of the table. */
  async function lockOnPrimary(thenSet?: string): Promise<void> {
    await primary.query('BEGIN');
    await primary.query('LOCK TABLE tracksolid.replica_probe IN ACCESS EXCLUSIVE MODE');
    if (thenSet) await primary.query('UPDATE tracksolid.replica_probe SET n = $1 WHERE id = 1', [thenSet]);
    await primary.query('COMMIT');
  }

  it('is a standby in recovery, streaming from the primary', async () => {
    const { rows } = await standbySu.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    assert.equal(rows[0]!.r, true);
    const { rows: senders } = await primary.query<{ state: string }>('SELECT state FROM pg_stat_replication');
    assert.deepEqual(senders.map((s) => s.state), ['streaming']);
  });

  it('serves every tool, and sees what the primary writes', async () => {
    const alice = await server.connect(TOKENS.alice);
    const devices = await call(alice, 'query', { sql: 'SELECT count(*) FROM tracksolid.devices' });
    assert.deepEqual((devices.structuredContent as Rows).rows, [[12]], textOf(devices));
    const schemas = await call(alice, 'list_schemas');
    assert.equal(schemas.isError, undefined, textOf(schemas));
    assert.match(textOf(schemas), /tracksolid/);
    const tables = await call(alice, 'list_tables', { schema: 'tracksolid' });
    assert.equal(tables.isError, undefined, textOf(tables));
    assert.match(textOf(tables), /replica_probe/);
    const described = await call(alice, 'describe_table', { schema: 'tracksolid', table: 'devices' });
    assert.equal(described.isError, undefined, textOf(described));

    await primary.query('INSERT INTO tracksolid.replica_probe VALUES (2, 42)');
    await standby.caughtUp();
    const replicated = await call(alice, 'query', { sql: 'SELECT n FROM tracksolid.replica_probe WHERE id = 2' });
    assert.deepEqual((replicated.structuredContent as Rows).rows, [[42]], textOf(replicated));
    // Whatever reached it, the standby refuses writes itself, even a superuser's.
    await assert.rejects(standbySu.query('CREATE TABLE public.on_standby (i int)'), { code: '25006' });
  });

  it('readiness says standby: true with the replication lag; on the primary, standby: false', async () => {
    type Ready = { status: string; details: { database: { status: string; standby?: boolean; replicationLagSeconds?: number | null; replayLagBytes?: number | null } } };
    const res = await fetch(`${server.baseUrl}/health/ready`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Ready;
    assert.equal(body.details.database.standby, true);
    assert.equal(typeof body.details.database.replicationLagSeconds, 'number');
    assert.ok(body.details.database.replicationLagSeconds! >= 0);
    assert.equal(typeof body.details.database.replayLagBytes, 'number');

    const onPrimary = await startTestServer(db.databaseUrl);
    try {
      const p = (await (await fetch(`${onPrimary.baseUrl}/health/ready`)).json()) as Ready;
      assert.equal(p.details.database.standby, false);
      assert.equal('replicationLagSeconds' in p.details.database, false);
    } finally {
      await onPrimary.close();
    }
  });

  it('a recovery conflict before any row arrived is retried once, and the retry answers', async () => {
    const alice = await server.connect(TOKENS.alice);
    await setProbe(HUGE);
    const conflictsBefore = await lockConflicts();
    const pending = call(alice, 'query', { sql: PROBE_SQL });
    await until('the probe statement to run on the standby', () => runningProbe());
    // Cancels the running attempt; by the time the retry reads, n is 3.
    await lockOnPrimary('3');
    const r = await pending;
    assert.equal(r.isError, undefined, textOf(r));
    assert.deepEqual((r.structuredContent as Rows).rows, [[3]]);
    await lockConflictsReach(conflictsBefore + 1, alice);
  });

  it('a second conflict comes back as a tool error with SQLSTATE 40001 and a hint', async () => {
    const alice = await server.connect(TOKENS.alice);
    await setProbe(HUGE);
    const conflictsBefore = await lockConflicts();
    const pending = call(alice, 'query', { sql: PROBE_SQL });
    const first = await until('the first attempt to run', () => runningProbe());
    await lockOnPrimary();
    await until('the retry to run', () => runningProbe(first));
    await lockOnPrimary();
    const r = await pending;
    assert.equal(r.isError, true);
    assert.match(textOf(r), /^PostgreSQL error 40001: canceling statement due to conflict with recovery; /);
    assert.match(textOf(r), /hint: a hot standby canceled the statement .* \(the server already ran it a second time\); retry it/);
    await lockConflictsReach(conflictsBefore + 2, alice);
  });

  it('a conflict after rows arrived is not retried: the error comes back with its hint at once', async () => {
    const alice = await server.connect(TOKENS.alice);
    await setProbe(HUGE);
    const conflictsBefore = await lockConflicts();
    // The first row (g = 1) is larger than PostgreSQL's 8 kB output buffer, so it reaches the
    // server at once; the statement then runs on without another row for a long while.
    const sql = "SELECT repeat('x', 9000) AS filler FROM (SELECT generate_series(1, n) AS g FROM tracksolid.replica_probe WHERE id = 1) s WHERE g % 1000000000 = 1";
    const pending = call(alice, 'query', { sql, max_rows: 10 });
    const started = await until('the statement to run', () => runningProbe());
    await lockOnPrimary();
    const r = await pending;
    assert.equal(r.isError, true);
    assert.match(textOf(r), /^PostgreSQL error 40001: canceling statement due to conflict with recovery; /);
    assert.match(textOf(r), /hint: a hot standby canceled the statement .*; retry it/);
    assert.doesNotMatch(textOf(r), /second time/);
    await lockConflictsReach(conflictsBefore + 1, alice);
    assert.equal(await runningProbe(started), undefined, 'no second attempt');
  });
});
