import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SqlGuardService, type GuardPolicy } from '#sql-guard';
import { GuardPolicyService } from '../apps/analytics-mcp/src/guard-policy/guard-policy.service.js';
import { BACKSLASH_QUOTE_SQL, installAttackSurface } from './support/guard-policy.js';
import { ATTACKS, LEGIT } from './fixtures/sql-corpus.js';
import { call, startTestDatabase, startTestServer, textOf, type TestServer } from './support/stack.js';
import { dbState, FILES_ATTACKS_WOULD_CREATE } from './support/db-state.js';

/*
 * The whole corpus through the real server, over MCP Streamable HTTP, with the
 * server's pool on a SUPERUSER DSN: no role privilege stands between an attack and
 * the data, so what stops it is the guard (and behind it the read-only, rolled-back
 * transaction). Every attack must come back as a tool error carrying the guard's
 * reason verbatim, and a superuser's view of the database must not change.
 */

type QueryResult = { row_count: number; truncated: boolean; columns: { name: string; type: string }[]; rows: unknown[][] };

/** One pooled session's view of itself, through MCP. Heavy enough that concurrent calls spread over the pool. */
const SESSION_SQL = `SELECT current_setting('transaction_read_only') AS ro,
       current_setting('default_transaction_read_only') AS default_ro,
       current_setting('statement_timeout') AS timeout,
       current_setting('is_superuser') AS superuser,
       (SELECT count(*) FROM pg_prepared_statements)::int AS prepared,
       (SELECT count(*) FROM pg_cursors WHERE is_holdable)::int AS held_cursors,
       pg_backend_pid() AS pid,
       (SELECT count(*) FROM generate_series(1, 300000))::int AS work`;

/**
 * Twice: on a superuser DSN (no privilege helps the guard) and as the demo's
 * analytics_ro role (what a deployment runs), where the review reached pg_sleep,
 * advisory locks and other callers' backends through xpath_table().
 */
function attackOverMcp(role: 'superuser' | 'analytics_ro') {
  describe(`every corpus attack over MCP, as ${role === 'superuser' ? 'a superuser' : 'analytics_ro'}`, () => {
    let db: Awaited<ReturnType<typeof startTestDatabase>>;
    let server: TestServer;
    let client: Client;
    let guard: SqlGuardService;
    let policy: GuardPolicy;
    let su: pg.Client;
    let bystander: pg.Client;
    let bystanderPid: number;
    const notifications: string[] = [];
    let baseline: Record<string, unknown>;
    let absentFiles: string[];

    before(async () => {
      db = await startTestDatabase();
      su = new pg.Client({ connectionString: db.superuserUrl });
      await su.connect();
      await installAttackSurface(su);
      const dsn = role === 'superuser' ? db.superuserUrl : db.databaseUrl;
      server = await startTestServer(dsn, role === 'superuser' ? { MCP_ALLOW_PRIVILEGED_ROLE: 'true' } : {});
      client = await server.connect();
      guard = server.app.get(SqlGuardService, { strict: false });
      policy = await server.app.get(GuardPolicyService, { strict: false }).current();
      // Another caller's backend: same role as the server's pool.
      bystander = new pg.Client({ connectionString: dsn });
      await bystander.connect();
      bystander.on('notification', (n) => notifications.push(`${n.channel}:${n.payload}`));
      await bystander.query('LISTEN fleet_events');
      bystanderPid = (await bystander.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      absentFiles = FILES_ATTACKS_WOULD_CREATE.filter((f) => !existsSync(f));
      baseline = await dbState(su);
    });

    after(async () => {
      await server?.close();
      await bystander?.end().catch(() => undefined);
      await su?.end().catch(() => undefined);
      await db?.dispose();
    });

    const query = (sql: string) => call(client, 'query', { sql });

    /** Calls SESSION_SQL `n` times at once and checks every pooled session it lands on. */
    async function checkPooledSessions(n: number): Promise<Set<number>> {
      const results = await Promise.all(Array.from({ length: n }, () => query(SESSION_SQL)));
      const pids = new Set<number>();
      for (const res of results) {
        assert.equal(res.isError, undefined, textOf(res));
        const [ro, defaultRo, timeout, superuser, prepared, heldCursors, pid] = (res.structuredContent as QueryResult).rows[0]!;
        assert.equal(ro, 'on', `transaction_read_only on pid ${pid}`);
        assert.equal(defaultRo, 'on', `default_transaction_read_only on pid ${pid}`);
        assert.notEqual(timeout, '0', `statement_timeout on pid ${pid}`);
        assert.equal(superuser, role === 'superuser' ? 'on' : 'off', `the pool's role on pid ${pid}`);
        assert.equal(prepared, 0, `prepared statements left in pid ${pid}`);
        assert.equal(heldCursors, 0, `WITH HOLD cursors left in pid ${pid}`);
        pids.add(pid as number);
      }
      return pids;
    }

    it(`the server really is on a ${role} connection, its sessions read-only`, async (t) => {
      const pids = await checkPooledSessions(server.config.poolMax * 2);
      t.diagnostic(`pooled sessions seen before the attacks: ${pids.size} (MCP_POOL_MAX ${server.config.poolMax})`);
    });

    describe('attacks are refused with the guard reason, verbatim', () => {
      for (const a of ATTACKS) {
        it(`${a.technique}: ${a.name}`, async () => {
          const res = await query(a.sql);
          const text = textOf(res);
          assert.equal(res.isError, true, `${a.name} was not refused over MCP: ${text.slice(0, 300)}`);
          assert.ok(text.includes(a.expect), `${a.name}: refusal "${text}" lacks "${a.expect}"`);
          const direct = guard.check(a.sql, policy);
          const reason = direct.ok ? '(the guard allows it)' : direct.reason;
          assert.equal(text, reason, `${a.name}: over MCP "${text}" differs from the guard's own "${reason}"`);
        });
      }
    });

    it('after every attack the database is untouched as a superuser sees it', async () => {
      assert.deepEqual(await dbState(su), baseline);
      for (const f of absentFiles) assert.equal(existsSync(f), false, `${f} was created`);
    });

    it('the bystander session survived and heard nothing', async () => {
      const alive = await su.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [bystanderPid]);
      assert.equal(alive.rows[0].n, 1, 'the bystander backend was terminated');
      assert.equal((await bystander.query('SELECT 1 AS x')).rows[0].x, 1);
      assert.deepEqual(notifications, [], 'a notification reached the bystander');
    });

    it('every pooled session is still read-only, with a statement timeout, and holds nothing', async (t) => {
      const pids = await checkPooledSessions(server.config.poolMax * 2);
      t.diagnostic(`pooled sessions seen after the attacks: ${pids.size}`);
    });

    describe('legitimate analytical queries run', () => {
      for (const l of LEGIT) {
        it(l.name, async () => {
          const res = await query(l.sql);
          assert.equal(res.isError, undefined, `${l.name} failed over MCP: ${textOf(res)}`);
          const out = res.structuredContent as QueryResult;
          assert.ok(Array.isArray(out.rows) && out.columns.length > 0, `${l.name}: no result shape`);
        });
      }
    });

    it('a backslash before a quote is one string to the guard and to the database (database default off)', async () => {
      const res = await query(BACKSLASH_QUOTE_SQL);
      assert.equal(res.isError, undefined, textOf(res));
      const out = res.structuredContent as QueryResult;
      assert.equal(out.columns.length, 1, 'the database saw a second column: the sessions are not pinned');
      assert.deepEqual(out.rows, [['a\\ , pg_read_file($$/etc/hostname$$) AS p -- ']]);
    });

    it('a function created after the server read the catalogue is refused until it is allowed', async () => {
      await su.query("CREATE FUNCTION public.wipe_tickets() RETURNS int LANGUAGE sql AS 'SELECT 1'");
      try {
        const res = await query('SELECT public.wipe_tickets()');
        assert.equal(res.isError, true);
        assert.match(textOf(res), /wipe_tickets is not on the server's allow-list/);
        await server.app.get(GuardPolicyService, { strict: false }).refresh();
        const again = await query('SELECT public.wipe_tickets()');
        assert.match(textOf(again), /wipe_tickets is not allowed \(it is a user-defined function; add public\.wipe_tickets to MCP_ALLOWED_FUNCTIONS/);
      } finally {
        await su.query('DROP FUNCTION public.wipe_tickets()');
        await server.app.get(GuardPolicyService, { strict: false }).refresh();
      }
    });

    it('a huge result is cut at the byte cap, with the reason, and the server stays responsive', async () => {
      const res = await query("SELECT repeat('x', 5000000) FROM generate_series(1, 40)");
      assert.equal(res.isError, undefined, textOf(res));
      const out = res.structuredContent as QueryResult & { truncated_reason?: string };
      assert.equal(out.truncated, true);
      assert.equal(out.truncated_reason, 'bytes');
      assert.ok(textOf(res).length < server.config.maxResultBytes);
      const live = await fetch(`${server.baseUrl}/health/live`);
      assert.equal(live.status, 200);
    });

    it('and the legitimate queries left the database as it was too', async () => {
      assert.deepEqual(await dbState(su), baseline);
    });
  });
}

attackOverMcp('superuser');
attackOverMcp('analytics_ro');
