import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createPool, DbService } from '#db';
import { createSqlGuard, type GuardPolicy, type SqlGuardService } from '#sql-guard';
import { startEmbeddedCluster, type EmbeddedCluster } from '../apps/analytics-mcp/src/embedded/embedded-cluster.js';
import { seedDemo } from '../apps/analytics-mcp/src/embedded/demo-seed.js';
import { ATTACKS, LEGIT, type Attack } from './fixtures/sql-corpus.js';
import { dbState, FILES_ATTACKS_WOULD_CREATE } from './support/db-state.js';
import { makeTempDir } from './support/stack.js';
import { BACKSLASH_QUOTE_SQL, installAttackSurface, policyFromDatabase } from './support/guard-policy.js';

/*
 * Each layer of defence on its own, against a real PostgreSQL 18 reached with a
 * SUPERUSER DSN, so that no role privilege helps: where the layer under test is
 * the database one, the guard is bypassed and the SQL goes straight to DbService.
 */

const DB = 'fleet';
type PgError = Error & { code?: string };

function openDb(url: string, poolMax: number): DbService {
  const opts = { connectionString: url, poolMax, queueMax: 256, queueTimeoutMs: 30_000, statementTimeoutMs: 1_000 };
  return new DbService(createPool(opts), opts);
}

async function outcome(p: Promise<unknown>): Promise<{ ok: true } | { ok: false; err: PgError }> {
  try {
    await p;
    return { ok: true };
  } catch (err) {
    return { ok: false, err: err as PgError };
  }
}

async function inPool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

describe('defence layers on a superuser connection', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let url: string;
  let su: pg.Client;
  let observer: pg.Client;
  let observerPid: number;
  const notifications: string[] = [];
  let guard: SqlGuardService;
  let policy: GuardPolicy;
  let db: DbService;
  let baseline: Record<string, unknown>;

  before(async () => {
    guard = await createSqlGuard();
    dir = await makeTempDir('defence-');
    cluster = await startEmbeddedCluster({ dataDir: join(dir, 'data'), ephemeral: true });
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.end();
    url = cluster.url(DB);
    su = new pg.Client({ connectionString: url });
    await su.connect();
    await seedDemo(su, { devices: 10, days: 2, intervalMinutes: 10 });
    await installAttackSurface(su);
    policy = await policyFromDatabase(su);
    observer = new pg.Client({ connectionString: url });
    await observer.connect();
    observer.on('notification', (n) => notifications.push(`${n.channel}:${n.payload}`));
    await observer.query('LISTEN fleet_events');
    observerPid = (await observer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    db = openDb(url, 4);
    baseline = await dbState(su);
    for (const f of FILES_ATTACKS_WOULD_CREATE) assert.equal(existsSync(f), false, `${f} exists before the test`);
  });

  after(async () => {
    await db?.onApplicationShutdown();
    await observer?.end().catch(() => undefined);
    await su?.end().catch(() => undefined);
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('(1) the guard alone refuses every attack', () => {
    for (const a of ATTACKS) {
      const v = guard.check(a.sql, policy);
      assert.equal(v.ok, false, `guard let through ${a.name}: ${a.sql}`);
      assert.ok(!v.ok && v.reason.includes(a.expect), `${a.name}: "${!v.ok && v.reason}" lacks "${a.expect}"`);
    }
  });

  it('(2) every legitimate statement passes the guard and runs on the demo data', async () => {
    const failures: string[] = [];
    await inPool(LEGIT, 4, async (l) => {
      const v = guard.check(l.sql, policy);
      if (!v.ok) {
        failures.push(`${l.name}: refused by the guard: ${v.reason}`);
        return;
      }
      const r = await outcome(db.query({ sql: l.sql, maxRows: 100, caller: 'legit' }));
      if (!r.ok) failures.push(`${l.name}: ${r.err.message} (${r.err.code})`);
    });
    assert.deepEqual(failures, []);
  });

  it('(3) guard bypassed: the extended protocol refuses stacked statements', async () => {
    await assert.rejects(db.query({ sql: 'SELECT 1; DROP TABLE fuel.fill_ups', maxRows: 10 }), (err: PgError) => {
      assert.match(err.message, /cannot insert multiple commands into a prepared statement/);
      assert.equal(err.code, '42601');
      return true;
    });
    const { rows } = await su.query(`SELECT to_regclass('fuel.fill_ups') IS NOT NULL AS present`);
    assert.equal(rows[0].present, true);
  });

  it('(4) guard bypassed: the read-only transaction refuses writes even as superuser', async () => {
    const before = (await su.query('SELECT count(*)::int AS n FROM fuel.fill_ups')).rows[0].n;
    assert.ok(before > 0);
    const sql = 'WITH d AS (DELETE FROM fuel.fill_ups RETURNING *) SELECT count(*) FROM d';
    assert.equal(guard.check(sql, policy).ok, false);
    await assert.rejects(db.query({ sql, maxRows: 10 }), (err: PgError) => err.code === '25006');
    const afterCount = (await su.query('SELECT count(*)::int AS n FROM fuel.fill_ups')).rows[0].n;
    assert.equal(afterCount, before);
  });

  describe('(5) guard bypassed: session state does not survive the call', () => {
    it('a session-level set_config is rolled back with the transaction', async () => {
      const one = openDb(url, 1);
      try {
        const first = await one.query({ sql: "SELECT set_config('work_mem', '77MB', false) AS v, pg_backend_pid() AS pid", maxRows: 1 });
        assert.equal(first.rows[0]![0], '77MB');
        const second = await one.query({ sql: "SELECT current_setting('work_mem') AS v, pg_backend_pid() AS pid", maxRows: 1 });
        assert.equal(second.rows[0]![1], first.rows[0]![1], 'expected the same pooled connection');
        assert.equal(second.rows[0]![0], '4MB');
      } finally {
        await one.onApplicationShutdown();
      }
    });

    it('nextval: increments are never rolled back, but the read-only transaction refuses them, and so does the guard', async () => {
      // A sequence increment survives ROLLBACK (shown on a throwaway temp sequence)...
      await su.query('CREATE TEMP SEQUENCE rollback_demo');
      await su.query('BEGIN');
      await su.query("SELECT nextval('rollback_demo')");
      await su.query('ROLLBACK');
      assert.equal((await su.query("SELECT nextval('rollback_demo') AS v")).rows[0].v, '2');
      await su.query('DROP SEQUENCE rollback_demo');
      // ...so the layers that stop it are the guard and the read-only transaction.
      const sql = "SELECT nextval('tickets.tickets_ticket_id_seq')";
      assert.match((guard.check(sql, policy) as { reason: string }).reason, /function nextval is not allowed/);
      const before = (await su.query('SELECT last_value FROM tickets.tickets_ticket_id_seq')).rows[0].last_value;
      await assert.rejects(db.query({ sql, maxRows: 1 }), (err: PgError) => err.code === '25006');
      const afterValue = (await su.query('SELECT last_value FROM tickets.tickets_ticket_id_seq')).rows[0].last_value;
      assert.equal(afterValue, before);
    });
  });

  it('(6) guard bypassed: statement_timeout stops pg_sleep quickly and the connection is reused', async () => {
    const one = openDb(url, 1);
    try {
      const pid = async () => (await one.query({ sql: 'SELECT pg_backend_pid()', maxRows: 1 })).rows[0]![0];
      const pidBefore = await pid();
      const started = performance.now();
      await assert.rejects(one.query({ sql: 'SELECT pg_sleep(5)', maxRows: 1 }), (err: PgError) => err.code === '57014');
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 3_000, `took ${Math.round(elapsed)} ms`);
      assert.equal(await pid(), pidBefore, 'the pooled connection was not reused');
    } finally {
      await one.onApplicationShutdown();
    }
  });

  describe('only the guard stops these (they succeed at the database level)', () => {
    const guardOnly = ATTACKS.filter((a) => a.db === 'guard-only');

    it('the corpus names them and the guard refuses each', () => {
      assert.ok(guardOnly.length >= 20, `${guardOnly.length} guard-only attacks`);
      for (const a of guardOnly) assert.equal(guard.check(a.sql, policy).ok, false, a.name);
    });

    it('demonstration: a session advisory lock survives the ROLLBACK on a pooled connection', async () => {
      const one = openDb(url, 1);
      try {
        const pid = (await one.query({ sql: 'SELECT pg_backend_pid()', maxRows: 1 })).rows[0]![0];
        await one.query({ sql: 'SELECT pg_advisory_lock(4242)', maxRows: 1 });
        const held = await su.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted AND pid = $1`,
          [pid],
        );
        assert.equal(held.rows[0].n, 1, 'the lock should still be held after the batch rolled back');
      } finally {
        await one.onApplicationShutdown();
      }
      // Closing the session is what releases it.
      for (let i = 0; i < 50; i++) {
        const { rows } = await su.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`);
        if (rows[0].n === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail('advisory lock still held after the pool closed');
    });

    it('demonstration: PREPARE leaves a statement in the pooled session; EXECUTE is still read-only', async () => {
      const one = openDb(url, 1);
      try {
        await one.query({ sql: 'PREPARE p1 AS DELETE FROM fuel.fill_ups', maxRows: 1 });
        const left = await one.query({ sql: 'SELECT name FROM pg_prepared_statements', maxRows: 10 });
        assert.deepEqual(left.rows, [['p1']]);
        await assert.rejects(one.query({ sql: 'EXECUTE p1', maxRows: 1 }), (err: PgError) => err.code === '25006');
      } finally {
        await one.onApplicationShutdown();
      }
    });
  });

  it('(8) guard bypassed: sessions lex with standard_conforming_strings on, whatever the database default', async () => {
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      // A plain session takes the database default (off): the text hides a second column.
      assert.equal((await raw.query('SHOW standard_conforming_strings')).rows[0].standard_conforming_strings, 'off');
      const unpinned = await raw.query({ text: BACKSLASH_QUOTE_SQL, rowMode: 'array' }).catch((err: PgError) => err);
      assert.ok(unpinned instanceof Error || unpinned.fields.length === 2, 'with the setting off the database sees a pg_read_file column');
    } finally {
      await raw.end();
    }
    const r = await db.query({ sql: BACKSLASH_QUOTE_SQL, maxRows: 1 });
    assert.equal(r.columns.length, 1);
    assert.deepEqual(r.rows, [['a\\ , pg_read_file($$/etc/hostname$$) AS p -- ']]);
    const s = await db.query({ sql: "SELECT current_setting('standard_conforming_strings'), current_setting('search_path')", maxRows: 1 });
    assert.deepEqual(s.rows, [['on', 'pg_catalog, public']]);
  });

  it('(9) the byte cap stops reading: a huge result ends early, truncated by bytes, and the pool recovers', async () => {
    const one = openDb(url, 1);
    try {
      const big = await one.query({ sql: "SELECT repeat('x', 5000000) FROM generate_series(1, 40)", maxRows: 100, maxBytes: 1_000_000 });
      assert.equal(big.truncated, true);
      assert.equal(big.truncatedBy, 'bytes');
      assert.equal(big.rows.length, 0);
      const some = await one.query({ sql: "SELECT repeat('y', 1000) FROM generate_series(1, 5000)", maxRows: 10_000, maxBytes: 100_000 });
      assert.equal(some.truncatedBy, 'bytes');
      assert.ok(some.rows.length > 50 && some.rows.length < 100, `${some.rows.length} rows of ~1 kB under a 100 kB cap`);
      const rows = await one.query({ sql: 'SELECT g FROM generate_series(1, 50) g', maxRows: 10, maxBytes: 100_000 });
      assert.equal(rows.truncatedBy, 'rows');
      assert.equal(rows.rows.length, 10);
      assert.deepEqual((await one.query({ sql: 'SELECT 1', maxRows: 1 })).rows, [[1]]);
    } finally {
      await one.onApplicationShutdown();
    }
  });

  it('(7) every other attack, sent unguarded through DbService, leaves the database untouched', async (t) => {
    const runnable = ATTACKS.filter((a) => a.db !== 'guard-only');
    assert.ok(runnable.length >= 60, `${runnable.length} runnable attacks`);
    const surprises: string[] = [];
    const codes = new Map<string, string[]>();
    await inPool<Attack>(runnable, 4, async (a) => {
      const r = await outcome(db.query({ sql: a.sql, maxRows: 10, caller: 'attack' }));
      if (a.db === 'refused' && r.ok) surprises.push(`${a.name}: expected PostgreSQL to refuse it, but it ran`);
      const key = r.ok ? 'ran' : (r.err.code ?? r.err.message);
      codes.set(key, [...(codes.get(key) ?? []), a.name]);
    });
    t.diagnostic(`unguarded outcomes: ${[...codes].map(([k, v]) => `${k}×${v.length}`).join(', ')}`);
    t.diagnostic(`ran without error: ${(codes.get('ran') ?? []).join('; ')}`);
    assert.deepEqual(surprises, []);

    assert.deepEqual(await dbState(su), baseline);
    for (const f of FILES_ATTACKS_WOULD_CREATE) assert.equal(existsSync(f), false, `${f} was created`);
    const alive = await su.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [observerPid]);
    assert.equal(alive.rows[0].n, 1, 'the other session was terminated');
    assert.equal((await observer.query('SELECT 1 AS x')).rows[0].x, 1);
    assert.deepEqual(notifications, [], 'a notification escaped the rolled-back transaction');

    // Every pooled session is still read-only, with default settings.
    const checks = await Promise.all(
      Array.from({ length: 8 }, () =>
        db.query({
          sql: "SELECT current_setting('transaction_read_only'), current_setting('default_transaction_read_only'), current_setting('work_mem'), current_setting('statement_timeout'), current_user::text",
          maxRows: 1,
        }),
      ),
    );
    for (const c of checks) assert.deepEqual(c.rows[0], ['on', 'on', '4MB', '1s', 'postgres']);
    const show = await db.query({ sql: 'SHOW transaction_read_only', maxRows: 1 });
    assert.deepEqual(show.rows, [['on']]);
  });
});
