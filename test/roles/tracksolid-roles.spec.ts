import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import {
  FIXTURES_DIR,
  ROLES_DIR,
  assertFails,
  catalogState,
  psql,
  runSqlFile,
  show,
  startRolesCluster,
  withClient,
  type RolesCluster,
} from './roles-harness.js';

const DB = 'tracksolid_db';
const SCHEMAS = ['reporting', 'tracksolid', 'tickets', 'fuel'];
const ROLES = ['analytics_ro', 'tracksolid_owner', 'dashboard_app', 'reporting_refresher', 'postgres'];
const PW = { analytics_ro_pw: 'ro pw with spaces', owner_pw: "owner'pw", dash_pw: 'dash-pw' };
const ANALYTICS = join(ROLES_DIR, 'analytics_ro.sql');
const TRACKSOLID = join(ROLES_DIR, 'tracksolid_db.sql');

// Every readable relation of the fixture, views and the materialized view included.
const READABLE = [
  'tracksolid.devices',
  'tracksolid.positions',
  'tracksolid.trips',
  'tracksolid.v_active_devices',
  'reporting.mv_daily_km',
  'reporting.v_trips',
  'tickets.tickets',
  'fuel.fills',
];

describe('tracksolid_db roles on a real PostgreSQL', () => {
  let cluster: RolesCluster;
  let superUrl: string;
  let firstState: unknown;
  let secondState: unknown;
  const as = (role: string, pw: string) => cluster.loginUrl(role, pw, DB);

  const applyAll = async () => {
    await runSqlFile(superUrl, ANALYTICS, { analytics_ro_pw: PW.analytics_ro_pw });
    return runSqlFile(superUrl, TRACKSOLID, { owner_pw: PW.owner_pw, dash_pw: PW.dash_pw });
  };

  before(async () => {
    cluster = await startRolesCluster();
    await withClient(cluster.pg.url('postgres'), (c) => c.query(`CREATE DATABASE ${DB}`));
    superUrl = cluster.pg.url(DB);
    await runSqlFile(superUrl, join(FIXTURES_DIR, 'tracksolid_db.sql'), {});
    await applyAll();
    firstState = await withClient(superUrl, (c) => catalogState(c, SCHEMAS, ROLES));
    await applyAll();
    secondState = await withClient(superUrl, (c) => catalogState(c, SCHEMAS, ROLES));
  });

  after(async () => {
    await cluster?.stop();
  });

  describe('applying', () => {
    it('a second run of both scripts changes no owner, ACL, default ACL, role setting or limit', () => {
      assert.deepEqual(secondState, firstState);
    });

    it('refuses to run without a password variable, with a message naming it', async () => {
      const res = await psql(superUrl, ['-v', `owner_pw=${PW.owner_pw}`, '-f', TRACKSOLID]);
      assert.equal(res.code, 3);
      assert.match(res.stderr, /dash_pw/);
      const ro = await psql(superUrl, ['-f', ANALYTICS]);
      assert.equal(ro.code, 3);
      assert.match(ro.stderr, /psql variable analytics_ro_pw is not set/);
    });

    it('refuses an empty password', async () => {
      const res = await psql(superUrl, ['-v', 'owner_pw=', '-v', 'dash_pw=x', '-f', TRACKSOLID]);
      assert.equal(res.code, 3);
      assert.match(res.stderr, /owner_pw is empty/);
    });

    it('refuses to run on a database without the app schemas', async () => {
      const res = await psql(cluster.pg.url('postgres'), ['-v', 'analytics_ro_pw=x', '-f', ANALYTICS]);
      assert.equal(res.code, 3);
      assert.match(res.stderr, /database postgres has no schema\(s\) reporting, tracksolid, tickets, fuel/);
    });

    it('creates NOSUPERUSER logins with the planned connection limits', async () => {
      const { rows } = await withClient(superUrl, (c) =>
        c.query(
          `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin, rolconnlimit
             FROM pg_roles WHERE rolname IN ('analytics_ro', 'tracksolid_owner', 'dashboard_app') ORDER BY 1`,
        ),
      );
      assert.deepEqual(
        rows.map((r) => [r.rolname, r.rolconnlimit]),
        [
          ['analytics_ro', 10],
          ['dashboard_app', 8],
          ['tracksolid_owner', 30],
        ],
      );
      for (const r of rows) {
        assert.deepEqual(
          [r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls, r.rolcanlogin],
          [false, false, false, false, false, true],
          r.rolname,
        );
      }
    });
  });

  describe('tracksolid_owner', () => {
    it('owns the app objects, including serial sequences through their tables, but not v_trips', async () => {
      const { rows } = await withClient(superUrl, (c) =>
        c.query(
          `SELECT n.nspname || '.' || c.relname AS name, pg_get_userbyid(c.relowner) AS owner
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'v', 'm', 'S')`,
          [SCHEMAS],
        ),
      );
      const owners = new Map(rows.map((r) => [r.name, r.owner]));
      assert.equal(owners.get('reporting.v_trips'), 'reporting_refresher');
      for (const name of [
        'tracksolid.devices',
        'tracksolid.devices_id_seq',
        'tracksolid.positions_id_seq',
        'tickets.ticket_number_seq',
        'reporting.mv_daily_km',
        'tracksolid.v_active_devices',
      ]) {
        assert.equal(owners.get(name), 'tracksolid_owner', name);
      }
      assert.deepEqual(
        [...owners].filter(([, o]) => o !== 'tracksolid_owner').map(([n]) => n),
        ['reporting.v_trips'],
      );
      const other = await withClient(superUrl, (c) =>
        c.query(
          `SELECT p.proname AS name, pg_get_userbyid(p.proowner) AS owner FROM pg_proc p
             WHERE p.pronamespace::regnamespace::text = ANY ($1)
           UNION ALL
           SELECT t.typname, pg_get_userbyid(t.typowner) FROM pg_type t
             WHERE t.typname IN ('device_status', 'litres') ORDER BY 1`,
          [SCHEMAS],
        ),
      );
      assert.deepEqual(
        other.rows.map((r) => [r.name, r.owner]),
        [
          ['close_all', 'tracksolid_owner'],
          ['device_status', 'tracksolid_owner'],
          ['km_for', 'tracksolid_owner'],
          ['litres', 'tracksolid_owner'],
        ],
      );
    });

    it('runs migrations from its own login: ALTER, CREATE and DROP in its schemas', async () => {
      await withClient(as('tracksolid_owner', PW.owner_pw), async (c) => {
        await c.query('ALTER TABLE tracksolid.devices ADD COLUMN label text');
        await c.query(`ALTER TYPE tracksolid.device_status ADD VALUE IF NOT EXISTS 'retired'`);
        await c.query('CREATE INDEX ON tracksolid.trips (started_at)');
        await c.query('REFRESH MATERIALIZED VIEW reporting.mv_daily_km');
        for (const s of SCHEMAS) {
          await c.query(`CREATE TABLE ${s}.migration_probe (id serial PRIMARY KEY)`);
          await c.query(`DROP TABLE ${s}.migration_probe`);
        }
        await c.query(`INSERT INTO tracksolid.trips (device_id, started_at, km) VALUES (1, now(), 1)`);
        await c.query(`SELECT nextval('tickets.ticket_number_seq')`);
        await c.query('CALL tickets.close_all()');
        await assertFails(c, 'DROP VIEW reporting.v_trips');
        await assertFails(c, 'CREATE SCHEMA elsewhere');
      });
    });

    it('has lock and idle timeouts but no statement timeout', async () => {
      await withClient(as('tracksolid_owner', PW.owner_pw), async (c) => {
        assert.equal(await show(c, 'statement_timeout'), '0');
        assert.equal(await show(c, 'lock_timeout'), '10s');
        assert.equal(await show(c, 'idle_in_transaction_session_timeout'), '5min');
        assert.equal(await show(c, 'idle_session_timeout'), '10min');
        assert.equal(await show(c, 'is_superuser'), 'off');
      });
    });
  });

  describe('analytics_ro', () => {
    it('reads every app schema, views and materialized views included', async () => {
      await withClient(as('analytics_ro', PW.analytics_ro_pw), async (c) => {
        for (const rel of READABLE) await c.query(`SELECT * FROM ${rel} LIMIT 1`);
        const { rows } = await c.query('SELECT reporting.km_for(1) AS km');
        assert.ok(Number(rows[0].km) > 0);
      });
    });

    it('has a read-only session with the planned timeouts', async () => {
      await withClient(as('analytics_ro', PW.analytics_ro_pw), async (c) => {
        assert.equal(await show(c, 'default_transaction_read_only'), 'on');
        assert.equal(await show(c, 'transaction_read_only'), 'on');
        assert.equal(await show(c, 'statement_timeout'), '30s');
        assert.equal(await show(c, 'idle_in_transaction_session_timeout'), '1min');
        assert.equal(await show(c, 'idle_session_timeout'), '5min');
        assert.equal(await show(c, 'is_superuser'), 'off');
      });
    });

    it('cannot write or change anything, even after switching the session to read-write', async () => {
      await withClient(as('analytics_ro', PW.analytics_ro_pw), async (c) => {
        await assertFails(c, `INSERT INTO tracksolid.devices (imei) VALUES ('x')`, '25006');
        await c.query('SET default_transaction_read_only = off');
        await assertFails(c, `INSERT INTO tracksolid.devices (imei) VALUES ('x')`);
        await assertFails(c, `UPDATE tickets.tickets SET summary = 'x'`);
        await assertFails(c, 'DELETE FROM fuel.fills');
        await assertFails(c, 'TRUNCATE tracksolid.trips');
        await assertFails(c, 'REFRESH MATERIALIZED VIEW reporting.mv_daily_km');
        for (const s of SCHEMAS) await assertFails(c, `CREATE TABLE ${s}.x (id int)`);
        await assertFails(c, 'DROP TABLE tracksolid.trips');
        await assertFails(c, 'ALTER TABLE tracksolid.trips ADD COLUMN y int');
      });
    });
  });

  describe('dashboard_app', () => {
    it('reads every app schema but cannot write or create', async () => {
      await withClient(as('dashboard_app', PW.dash_pw), async (c) => {
        for (const rel of READABLE) await c.query(`SELECT * FROM ${rel} LIMIT 1`);
        await assertFails(c, `INSERT INTO tracksolid.devices (imei) VALUES ('x')`);
        await assertFails(c, `UPDATE tickets.tickets SET summary = 'x'`);
        await assertFails(c, 'DELETE FROM fuel.fills');
        await assertFails(c, `SELECT nextval('tickets.ticket_number_seq')`);
        for (const s of SCHEMAS) await assertFails(c, `CREATE TABLE ${s}.x (id int)`);
        await assertFails(c, 'DROP TABLE tracksolid.trips');
        assert.equal(await show(c, 'statement_timeout'), '30s');
        assert.equal(await show(c, 'lock_timeout'), '5s');
        assert.equal(await show(c, 'idle_session_timeout'), '5min');
      });
    });

    it('is held to its CONNECTION LIMIT of 8', async () => {
      const clients: pg.Client[] = [];
      try {
        for (let i = 0; i < 8; i++) {
          const c = new pg.Client({ connectionString: as('dashboard_app', PW.dash_pw) });
          await c.connect();
          clients.push(c);
        }
        const ninth = new pg.Client({ connectionString: as('dashboard_app', PW.dash_pw) });
        await assert.rejects(ninth.connect(), /too many connections for role "dashboard_app"/);
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    });
  });

  describe('tables created after the scripts ran', () => {
    it('stay readable by analytics_ro and dashboard_app, whether tracksolid_owner or postgres created them', async () => {
      await withClient(as('tracksolid_owner', PW.owner_pw), async (c) => {
        await c.query('CREATE TABLE tracksolid.later_by_owner (id int)');
        await c.query('CREATE VIEW reporting.later_view_by_owner AS SELECT 1 AS one');
        await c.query('INSERT INTO tracksolid.later_by_owner VALUES (1)');
      });
      await withClient(superUrl, async (c) => {
        await c.query('CREATE TABLE fuel.later_by_postgres (id int)');
        await c.query('CREATE MATERIALIZED VIEW tickets.later_mv_by_postgres AS SELECT 1 AS one');
      });
      const later = [
        'tracksolid.later_by_owner',
        'reporting.later_view_by_owner',
        'fuel.later_by_postgres',
        'tickets.later_mv_by_postgres',
      ];
      for (const [role, pw] of [
        ['analytics_ro', PW.analytics_ro_pw],
        ['dashboard_app', PW.dash_pw],
      ] as const) {
        await withClient(as(role, pw), async (c) => {
          for (const rel of later) await c.query(`SELECT * FROM ${rel}`);
        });
      }
    });
  });
});

describe('tracksolid_db.sql and TimescaleDB (stubbed catalog, no real extension)', () => {
  // TimescaleDB is not available to this test run. The script keys on a timescaledb
  // row in pg_extension and then reads timescaledb_information.continuous_aggregates;
  // both are stubbed here in a throwaway database. A real continuous aggregate is a
  // plain view in pg_class, and plain PostgreSQL rejects ALTER MATERIALIZED VIEW on a
  // plain view, so that rejection proves which statement the script chose.
  const TS_DB = 'tracksolid_ts';
  let cluster: RolesCluster;
  let url: string;
  const vars = { owner_pw: 'o', dash_pw: 'd' };

  before(async () => {
    cluster = await startRolesCluster();
    await withClient(cluster.pg.url('postgres'), (c) => c.query(`CREATE DATABASE ${TS_DB}`));
    url = cluster.pg.url(TS_DB);
    await runSqlFile(url, join(FIXTURES_DIR, 'tracksolid_db.sql'));
    await withClient(url, async (c) => {
      await c.query(`CREATE VIEW reporting.v_mileage_daily_cagg AS SELECT device_id, sum(km) AS km
                       FROM tracksolid.trips GROUP BY device_id`);
      await c.query('CREATE SCHEMA timescaledb_information');
      await c.query(`CREATE VIEW timescaledb_information.continuous_aggregates AS
                       SELECT 'reporting'::name AS view_schema, 'v_mileage_daily_cagg'::name AS view_name`);
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('does not read the TimescaleDB catalog while the extension is not installed', async () => {
    const noExt = await psql(url, ['-v', `owner_pw=${vars.owner_pw}`, '-v', `dash_pw=${vars.dash_pw}`, '-f', join(ROLES_DIR, 'tracksolid_db.sql')]);
    assert.equal(noExt.code, 0, noExt.stderr);
    assert.doesNotMatch(noExt.stderr, /TimescaleDB present/);
    const { rows } = await withClient(url, (c) =>
      c.query(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'reporting.v_mileage_daily_cagg'::regclass`),
    );
    assert.equal(rows[0].owner, 'tracksolid_owner', 'moved with ALTER VIEW, as a plain view');
  });

  it('routes a continuous aggregate to ALTER MATERIALIZED VIEW when the extension is present', async () => {
    await withClient(url, async (c) => {
      await c.query('ALTER VIEW reporting.v_mileage_daily_cagg OWNER TO postgres');
      await c.query('ALTER TABLE fuel.fills OWNER TO postgres');
      await c.query(`INSERT INTO pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)
                     VALUES ((SELECT max(oid)::int + 1 FROM pg_extension)::oid, 'timescaledb',
                             'postgres'::regrole, 'public'::regnamespace, false, 'stub')`);
    });
    const res = await psql(url, ['-v', `owner_pw=${vars.owner_pw}`, '-v', `dash_pw=${vars.dash_pw}`, '-f', join(ROLES_DIR, 'tracksolid_db.sql')]);
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /TimescaleDB present: 1 continuous aggregate\(s\) found/);
    assert.match(res.stderr, /"v_mileage_daily_cagg" is not a materialized view/);
    // Objects before it in the run were committed one by one, so a rerun resumes.
    const { rows } = await withClient(url, (c) =>
      c.query(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'fuel.fills'::regclass`),
    );
    assert.equal(rows[0].owner, 'tracksolid_owner');
  });
});
