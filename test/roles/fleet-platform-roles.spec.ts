import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
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

const DB = 'fleet_platform';
const SCHEMAS = ['auth', 'domain', 'events', 'geo', 'ops', 'serve', 'slo', 'state'];
const ROLES = ['fp_app_rw', 'gateway_app', 'cron_app', 'postgres'];
const PW = { gateway_pw: 'gw pw', cron_pw: "cr'on" };
const SCRIPT = join(ROLES_DIR, 'fleet_platform.sql');

const APPS = [
  { role: 'gateway_app', pw: PW.gateway_pw, limit: 15, statement: '15s', lock: '3s', idleTx: '30s', idle: '5min' },
  { role: 'cron_app', pw: PW.cron_pw, limit: 5, statement: '2min', lock: '5s', idleTx: '2min', idle: '10min' },
];

describe('fleet_platform roles on a real PostgreSQL', () => {
  let cluster: RolesCluster;
  let superUrl: string;
  let firstState: unknown;
  let secondState: unknown;

  before(async () => {
    cluster = await startRolesCluster();
    await withClient(cluster.pg.url('postgres'), (c) => c.query(`CREATE DATABASE ${DB}`));
    superUrl = cluster.pg.url(DB);
    await runSqlFile(superUrl, join(FIXTURES_DIR, 'fleet_platform.sql'));
    await runSqlFile(superUrl, SCRIPT, PW);
    firstState = await withClient(superUrl, (c) => catalogState(c, SCHEMAS, ROLES));
    await runSqlFile(superUrl, SCRIPT, PW);
    secondState = await withClient(superUrl, (c) => catalogState(c, SCHEMAS, ROLES));
    // Objects an admin adds after the script ran, in every schema.
    await withClient(superUrl, async (c) => {
      for (const s of SCHEMAS) {
        await c.query(`CREATE TABLE ${s}.later (id serial PRIMARY KEY, note text)`);
        await c.query(`CREATE SEQUENCE ${s}.later_seq`);
        await c.query(`CREATE FUNCTION ${s}.later_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
        await c.query(`REVOKE EXECUTE ON FUNCTION ${s}.later_fn() FROM PUBLIC`);
      }
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('a second run changes no ACL, default ACL, membership, role setting or limit', () => {
    assert.deepEqual(secondState, firstState);
  });

  it('refuses to run without its password variables', async () => {
    const res = await psql(superUrl, ['-v', `gateway_pw=${PW.gateway_pw}`, '-f', SCRIPT]);
    assert.equal(res.code, 3);
    assert.match(res.stderr, /psql variable cron_pw is not set/);
  });

  it('creates a NOLOGIN group and NOSUPERUSER logins with the planned limits', async () => {
    const { rows } = await withClient(superUrl, (c) =>
      c.query(
        `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin, rolconnlimit,
                pg_has_role(rolname, 'fp_app_rw', 'USAGE') AS in_group
           FROM pg_roles WHERE rolname IN ('fp_app_rw', 'gateway_app', 'cron_app') ORDER BY 1`,
      ),
    );
    assert.deepEqual(
      rows.map((r) => [r.rolname, r.rolcanlogin, r.rolconnlimit, r.in_group]),
      [
        ['cron_app', true, 5, true],
        ['fp_app_rw', false, -1, true],
        ['gateway_app', true, 15, true],
      ],
    );
    for (const r of rows) assert.deepEqual([r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls], [false, false, false, false]);
  });

  for (const app of APPS) {
    describe(app.role, () => {
      const url = () => cluster.loginUrl(app.role, app.pw, DB);

      it('has its own timeouts', async () => {
        await withClient(url(), async (c) => {
          assert.equal(await show(c, 'statement_timeout'), app.statement);
          assert.equal(await show(c, 'lock_timeout'), app.lock);
          assert.equal(await show(c, 'idle_in_transaction_session_timeout'), app.idleTx);
          assert.equal(await show(c, 'idle_session_timeout'), app.idle);
          assert.equal(await show(c, 'is_superuser'), 'off');
        });
      });

      it('reads and writes existing data, uses sequences and runs routines', async () => {
        await withClient(url(), async (c) => {
          await c.query(`INSERT INTO auth.api_keys (label) VALUES ('k')`);
          await c.query(`INSERT INTO domain.vehicles (plate) VALUES ('KDB 002B')`);
          await c.query(`INSERT INTO events.log (body) VALUES ('{}')`);
          await c.query(`INSERT INTO geo.zones (name) VALUES ('depot')`);
          await c.query(`UPDATE ops.jobs SET name = name`);
          await c.query(`INSERT INTO serve.cache VALUES ('${app.role}', '{}')`);
          await c.query(`INSERT INTO slo.samples (ok) VALUES (true)`);
          await c.query(`DELETE FROM slo.samples`);
          await c.query(`SELECT nextval('state.batch_seq')`);
          await c.query(`SELECT setval('state.batch_seq', 10)`);
          await c.query(`SELECT state.advance('${app.role}', 1)`);
          await c.query(`CALL ops.touch('nightly')`);
          await c.query('SELECT * FROM serve.v_vehicles');
        });
      });

      it('can use tables, sequences and functions created later by postgres in all eight schemas', async () => {
        await withClient(url(), async (c) => {
          for (const s of SCHEMAS) {
            await c.query(`INSERT INTO ${s}.later (note) VALUES ('x')`);
            await c.query(`UPDATE ${s}.later SET note = 'y'`);
            await c.query(`DELETE FROM ${s}.later`);
            await c.query(`SELECT nextval('${s}.later_seq')`);
            await c.query(`SELECT ${s}.later_fn()`);
          }
        });
      });

      it('cannot run DDL: no CREATE, DROP, ALTER or TRUNCATE', async () => {
        await withClient(url(), async (c) => {
          for (const s of SCHEMAS) {
            await assertFails(c, `CREATE TABLE ${s}.sneaky (id int)`);
            await assertFails(c, `DROP TABLE ${s}.later`);
          }
          await assertFails(c, 'ALTER TABLE ops.jobs ADD COLUMN x int');
          await assertFails(c, 'TRUNCATE events.log');
          await assertFails(c, 'CREATE SCHEMA sneaky');
          await assertFails(c, 'DROP FUNCTION state.advance(text, bigint)');
        });
      });
    });
  }
});
