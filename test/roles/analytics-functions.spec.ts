import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { FIXTURES_DIR, ROLES_DIR, assertFails, psql, runSqlFile, startRolesCluster, withClient, type RolesCluster } from './roles-harness.js';

/*
 * analytics_ro.sql's function revocations on a real PostgreSQL 18 with contrib
 * extensions installed: the role must be refused (42501) every function that runs SQL
 * text, touches storage, takes advisory locks, signals backends or writes large
 * objects, even on a plain psql session that has switched itself to read-write, while
 * the other apps' roles keep what PostgreSQL gives them and analysts keep the
 * functions they use.
 */

const DB = 'tracksolid_db';
const PW = { analytics_ro_pw: 'ro-pw', owner_pw: 'owner-pw', dash_pw: 'dash-pw' };
const ANALYTICS = join(ROLES_DIR, 'analytics_ro.sql');
const TRACKSOLID = join(ROLES_DIR, 'tracksolid_db.sql');

// Installed before the scripts run; tablefunc comes later, to show a rerun covers it.
const EXTENSIONS = [
  'xml2', 'dblink', 'pageinspect', 'pgstattuple', 'amcheck', 'pg_buffercache', 'pg_prewarm', 'pg_walinspect',
  'pg_surgery', 'pg_visibility', 'pg_freespacemap', 'pgrowlocks', 'pg_stat_statements',
  'pg_trgm', 'fuzzystrmatch', 'cube', 'earthdistance',
];

/** xml2's xpath_table pastes its third and fifth arguments into a query it runs itself. */
const xpathTableRunning = (expr: string) =>
  `SELECT * FROM xpath_table('id', 'doc', '(SELECT 1 AS id, ''<a>'' || (${expr.replace(/'/g, "''")})::text || ''</a>'' AS doc) AS s', '/a', 'true') AS t(id int, a text)`;

/** Every statement analytics_ro must be refused, on its EXECUTE privilege, on a read-write session. */
const REFUSED = (victimPid: number) => [
  // SQL text run by a function: the guard cannot see inside the string.
  xpathTableRunning('pg_sleep(0)'),
  `SELECT xpath_string('<a>1</a>', '/a')`,
  `SELECT dblink_exec('dbname=${DB}', 'CREATE TABLE public.pwned ()')`,
  `SELECT * FROM dblink('dbname=${DB}', 'SELECT 1') AS t(x int)`,
  `SELECT dblink_connect('dbname=${DB}')`,
  `SELECT query_to_xml('SELECT pg_advisory_lock(1)', true, false, '')`,
  `SELECT query_to_xmlschema('SELECT 1', true, false, '')`,
  `SELECT table_to_xml('tracksolid.devices', true, false, '')`,
  `SELECT schema_to_xml('tracksolid', true, false, '')`,
  `SELECT database_to_xml(true, false, '')`,
  `SELECT cursor_to_xml('c', 1, true, false, '')`,
  `SELECT * FROM ts_stat('SELECT to_tsvector(''simple'', imei) FROM tracksolid.devices')`,
  `SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')`,
  // Storage beneath SQL.
  `SELECT heap_force_kill('tracksolid.devices', ARRAY['(0,1)'::tid])`,
  `SELECT heap_force_freeze('tracksolid.devices', ARRAY['(0,1)'::tid])`,
  `SELECT pg_truncate_visibility_map('tracksolid.devices')`,
  `SELECT * FROM pg_visibility('tracksolid.devices')`,
  `SELECT get_raw_page('tracksolid.devices', 0)`,
  `SELECT * FROM pgstattuple('tracksolid.devices')`,
  `SELECT bt_index_check('tracksolid.devices_pkey')`,
  `SELECT * FROM pg_buffercache_summary()`,
  `SELECT pg_buffercache_evict_relation('tracksolid.devices')`,
  `SELECT pg_prewarm('tracksolid.positions')`,
  `SELECT * FROM pg_freespace('tracksolid.devices')`,
  `SELECT * FROM pgrowlocks('tracksolid.devices')`,
  `SELECT * FROM pg_get_wal_stats('0/0', '0/1')`,
  `SELECT pg_stat_statements_reset()`,
  // Large objects: a read-only role must not be able to store data.
  `SELECT lo_create(0)`,
  `SELECT lo_creat(-1)`,
  `SELECT lo_from_bytea(0, '\\x00')`,
  `SELECT lo_open(1, 131072)`,
  `SELECT lo_unlink(1)`,
  `SELECT lo_import('/etc/hostname')`,
  // Session state that outlives the transaction, and other analysts' backends.
  `SELECT pg_advisory_lock(1)`,
  `SELECT pg_try_advisory_lock(1, 2)`,
  `SELECT pg_advisory_lock_shared(1)`,
  `SELECT pg_advisory_xact_lock(1)`,
  `SELECT pg_advisory_unlock_all()`,
  `SELECT pg_terminate_backend(${victimPid})`,
  `SELECT pg_cancel_backend(${victimPid})`,
  // Shipped superuser-only; still refused.
  `SELECT pg_read_file('/etc/hostname')`,
  `SELECT pg_reload_conf()`,
];

/** Refused on the function's EXECUTE privilege (not on a check inside the function). */
async function assertNoExecute(c: pg.Client, sql: string): Promise<void> {
  await assert.rejects(c.query(sql), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, '42501', `${sql}: ${err.message}`);
    assert.match(err.message ?? '', /^permission denied for function /, sql);
    return true;
  }, `${sql} succeeded`);
}

const pidOf = async (c: pg.Client): Promise<number> => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;

/** Every function's ACL, default ACLs and memberships: what the scripts may change. */
async function functionAcls(c: pg.Client): Promise<unknown> {
  return {
    routines: (await c.query(`SELECT p.oid::regprocedure::text AS sig, p.proacl::text[] AS acl FROM pg_proc p ORDER BY 1`)).rows,
    defaultAcls: (await c.query(`SELECT defaclrole, defaclnamespace, defaclobjtype, defaclacl::text[] FROM pg_default_acl ORDER BY 1, 2, 3`)).rows,
    members: (await c.query(`SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members ORDER BY 1, 2`)).rows,
  };
}

describe('analytics_ro.sql: functions the role cannot run', () => {
  let cluster: RolesCluster;
  let superUrl: string;
  let roUrl: string;
  let firstState: unknown;
  let secondState: unknown;
  const as = (role: string, pw: string) => cluster.loginUrl(role, pw, DB);
  const applyAll = async () => {
    await runSqlFile(superUrl, TRACKSOLID, { owner_pw: PW.owner_pw, dash_pw: PW.dash_pw });
    return runSqlFile(superUrl, ANALYTICS, { analytics_ro_pw: PW.analytics_ro_pw });
  };

  before(async () => {
    cluster = await startRolesCluster();
    await withClient(cluster.pg.url('postgres'), (c) => c.query(`CREATE DATABASE ${DB}`));
    superUrl = cluster.pg.url(DB);
    roUrl = as('analytics_ro', PW.analytics_ro_pw);
    await runSqlFile(superUrl, join(FIXTURES_DIR, 'tracksolid_db.sql'));
    await withClient(superUrl, async (c) => {
      for (const ext of EXTENSIONS) await c.query(`CREATE EXTENSION ${ext}`);
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('(control) before the script, a plain SELECT-only login runs SQL through xpath_table: a session lock, a kill', async () => {
    await withClient(superUrl, async (c) => {
      await c.query(`CREATE ROLE analytics_ro LOGIN PASSWORD '${PW.analytics_ro_pw}'`);
      await c.query('GRANT USAGE ON SCHEMA tracksolid TO analytics_ro');
      await c.query('GRANT SELECT ON ALL TABLES IN SCHEMA tracksolid TO analytics_ro');
    });
    const victim = new pg.Client({ connectionString: roUrl });
    victim.on('error', () => undefined);
    await victim.connect();
    const victimPid = await pidOf(victim);
    await withClient(roUrl, async (c) => {
      await c.query('BEGIN READ ONLY');
      await c.query(xpathTableRunning('pg_advisory_lock(4242)'));
      await c.query('ROLLBACK');
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND pid = pg_backend_pid()`,
      );
      assert.equal(rows[0].n, 1, 'the session advisory lock survived the rolled-back read-only transaction');
      await c.query(xpathTableRunning(`pg_terminate_backend(${victimPid})`));
    });
    await assert.rejects(victim.query('SELECT 1'), 'the other analytics_ro backend was terminated');
    await victim.end().catch(() => undefined);
  });

  describe('after tracksolid_db.sql and analytics_ro.sql', () => {
    before(async () => {
      await applyAll();
      firstState = await withClient(superUrl, functionAcls);
      await applyAll();
      secondState = await withClient(superUrl, functionAcls);
    });

    it('a second run changes no function ACL, default ACL or membership', () => {
      assert.deepEqual(secondState, firstState);
    });

    it('refuses analytics_ro every dangerous function with 42501, even on a read-write session', async () => {
      const victim = new pg.Client({ connectionString: roUrl });
      await victim.connect();
      try {
        const victimPid = await pidOf(victim);
        await withClient(roUrl, async (c) => {
          await c.query('SET default_transaction_read_only = off');
          for (const sql of REFUSED(victimPid)) await assertNoExecute(c, sql);
          // Sequences were never granted, so nextval is refused on the sequence itself.
          await assertFails(c, `SELECT nextval('tickets.ticket_number_seq')`);
          const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`);
          assert.equal(rows[0].n, 0);
        });
        assert.equal((await victim.query('SELECT 1 AS one')).rows[0].one, 1, 'the other backend survived');
      } finally {
        await victim.end();
      }
      const { rows } = await withClient(superUrl, (c) => c.query(`SELECT to_regclass('public.pwned') AS t`));
      assert.equal(rows[0].t, null);
    });

    it('leaves analytics_ro the functions analysts use', async () => {
      await withClient(roUrl, async (c) => {
        const { rows } = await c.query(`
          SELECT similarity('nairobi depot', 'nairobi dept') > 0.5 AS trgm,
                 levenshtein('kitten', 'sitting') AS lev,
                 round(earth_distance(ll_to_earth(-1.2864, 36.8172), ll_to_earth(-4.0435, 39.6682)) / 1000) AS km,
                 (xpath('/a/text()', '<a>7</a>'::xml))[1]::text AS xp,
                 reporting.km_for(1) AS km_for,
                 (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY km) FROM tracksolid.trips) AS median,
                 (SELECT count(*) FROM tracksolid.devices WHERE imei ~ '^359') AS devices,
                 jsonb_path_query_first('{"a": [1, 2]}', '$.a[1]') AS jp,
                 date_trunc('day', timestamptz '2024-05-01 13:00+00') IS NOT NULL AS day,
                 current_setting('statement_timeout') AS timeout,
                 (SELECT count(*) > 0 FROM pg_stat_activity) AS activity`);
        assert.deepEqual(rows[0], {
          trgm: true,
          lev: 3,
          km: 441,
          xp: '7',
          km_for: '12.5',
          median: 7.75,
          devices: '2',
          jp: 2,
          day: true,
          timeout: '30s',
          activity: true,
        });
      });
    });

    it('leaves the other apps their everyday functions, but not the SQL-running ones', async () => {
      for (const [role, pw] of [
        ['tracksolid_owner', PW.owner_pw],
        ['dashboard_app', PW.dash_pw],
      ] as const) {
        const other = new pg.Client({ connectionString: as(role, pw) });
        await other.connect();
        try {
          await withClient(as(role, pw), async (c) => {
            await c.query('SELECT pg_advisory_lock(7), pg_advisory_unlock(7), pg_try_advisory_xact_lock(8)');
            const lo = await c.query(`SELECT lo_unlink(lo_from_bytea(0, '\\x01')) AS n`);
            assert.equal(lo.rows[0].n, 1, role);
            const { rows } = await c.query('SELECT pg_cancel_backend($1) AS ok', [await pidOf(other)]);
            assert.equal(rows[0].ok, true, role);
            await assertFails(c, xpathTableRunning('1'));
            await assertFails(c, `SELECT query_to_xml('SELECT 1', true, false, '')`);
            await assertFails(c, `SELECT dblink_connect('dbname=${DB}')`);
            await assertFails(c, `SELECT lo_import('/etc/hostname')`);
          });
        } finally {
          await other.end();
        }
      }
    });

    it('keeps an explicit grant to another role across reruns', async () => {
      await withClient(superUrl, (c) => c.query('GRANT EXECUTE ON FUNCTION query_to_xml(text, boolean, boolean, text) TO dashboard_app'));
      await runSqlFile(superUrl, ANALYTICS, { analytics_ro_pw: PW.analytics_ro_pw });
      await withClient(as('dashboard_app', PW.dash_pw), (c) => c.query(`SELECT query_to_xml('SELECT 1 AS one', true, false, '')`));
      await withClient(roUrl, (c) => assertFails(c, `SELECT query_to_xml('SELECT 1 AS one', true, false, '')`));
      await withClient(superUrl, (c) => c.query('REVOKE EXECUTE ON FUNCTION query_to_xml(text, boolean, boolean, text) FROM dashboard_app'));
    });

    it('covers an extension installed after the script once the script is rerun', async () => {
      await withClient(superUrl, (c) => c.query('CREATE EXTENSION tablefunc'));
      const crosstab = `SELECT * FROM crosstab('SELECT 1, ''a'', current_user::text') AS t(k int, a text)`;
      await withClient(roUrl, (c) => c.query(crosstab));
      await runSqlFile(superUrl, ANALYTICS, { analytics_ro_pw: PW.analytics_ro_pw });
      await withClient(roUrl, async (c) => {
        await assertFails(c, crosstab);
        await assertFails(c, `SELECT * FROM connectby('tracksolid.devices', 'id', 'id', '1', 0) AS t(id int, parent int, level int)`);
      });
    });

    it('gives a role created after the script the everyday functions when the script is rerun', async () => {
      await withClient(superUrl, (c) => c.query(`CREATE ROLE late_app LOGIN PASSWORD 'late-pw'`));
      await withClient(as('late_app', 'late-pw'), (c) => assertFails(c, 'SELECT pg_advisory_lock(3)'));
      await runSqlFile(superUrl, ANALYTICS, { analytics_ro_pw: PW.analytics_ro_pw });
      await withClient(as('late_app', 'late-pw'), (c) => c.query('SELECT pg_advisory_lock(3), pg_advisory_unlock(3)'));
      await withClient(roUrl, (c) => assertFails(c, 'SELECT pg_advisory_lock(3)'));
    });

    it('stops with the membership named when a role analytics_ro belongs to gives the functions back', async () => {
      await withClient(superUrl, (c) => c.query('GRANT pg_stat_scan_tables TO analytics_ro'));
      try {
        const res = await psql(superUrl, ['-v', `analytics_ro_pw=${PW.analytics_ro_pw}`, '-f', ANALYTICS]);
        assert.equal(res.code, 3, res.stderr);
        assert.match(res.stderr, /analytics_ro can still execute \d+ restricted function\(s\): pg_check_frozen\(regclass\)/);
        assert.match(res.stderr, /analytics_ro is a member of: pg_stat_scan_tables/);
      } finally {
        await withClient(superUrl, (c) => c.query('REVOKE pg_stat_scan_tables FROM analytics_ro'));
      }
      await runSqlFile(superUrl, ANALYTICS, { analytics_ro_pw: PW.analytics_ro_pw });
    });
  });
});
