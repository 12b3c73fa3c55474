import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { privilegeProblems, readRolePrivileges, type RolePrivileges } from '#db';
import { startEmbeddedCluster, type EmbeddedCluster } from '../apps/analytics-mcp/src/embedded/embedded-cluster.js';
import { makeTempDir } from './support/stack.js';

/*
 * readRolePrivileges against a real PostgreSQL 18: each login below is given one way
 * of being more than a reader, and must be reported with exactly that problem.
 */

const SCHEMAS = ['tracksolid', 'fuel'];
const PW = 'role-check-pw';

const SETUP = `
  CREATE SCHEMA tracksolid;
  CREATE SCHEMA fuel;
  CREATE SCHEMA elsewhere;
  CREATE TABLE tracksolid.devices (id int);
  CREATE TABLE tracksolid."Odd Name" (id int);
  CREATE VIEW tracksolid.v_devices AS SELECT id FROM tracksolid.devices;
  CREATE SEQUENCE tracksolid.some_seq;
  CREATE TABLE fuel.fill_ups (id int);
  CREATE TABLE elsewhere.scratch (id int);
  CREATE ROLE writers NOLOGIN;
  CREATE ROLE su2 NOLOGIN SUPERUSER;
  GRANT DELETE ON fuel.fill_ups TO writers;
  GRANT UPDATE ON tracksolid.devices TO writers;
`;

// login -> how it is made more than a reader (nothing for "reader")
const LOGINS: Record<string, string> = {
  reader: 'GRANT USAGE ON SCHEMA tracksolid, fuel TO reader; GRANT SELECT ON ALL TABLES IN SCHEMA tracksolid, fuel TO reader; GRANT USAGE, SELECT ON SEQUENCE tracksolid.some_seq TO reader; GRANT ALL ON elsewhere.scratch TO reader',
  inserter: 'GRANT SELECT, INSERT ON tracksolid.devices TO inserter',
  truncater: 'GRANT TRUNCATE ON tracksolid."Odd Name" TO truncater',
  view_writer: 'GRANT UPDATE ON tracksolid.v_devices TO view_writer',
  owner: 'ALTER TABLE fuel.fill_ups OWNER TO owner',
  inheritor: 'GRANT writers TO inheritor',
  set_roler: 'GRANT writers TO set_roler WITH INHERIT FALSE',
  su_member: 'GRANT su2 TO su_member WITH INHERIT FALSE',
  all_writer: 'GRANT pg_write_all_data TO all_writer',
  programmer: 'GRANT pg_execute_server_program TO programmer',
  rls_bypasser: 'ALTER ROLE rls_bypasser BYPASSRLS',
  role_maker: 'ALTER ROLE role_maker CREATEROLE',
  replicator: 'ALTER ROLE replicator REPLICATION',
};

describe('readRolePrivileges + privilegeProblems on a real PostgreSQL', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  const seen = new Map<string, RolePrivileges>();

  before(async () => {
    dir = await makeTempDir('role-privileges-');
    cluster = await startEmbeddedCluster({ dataDir: join(dir, 'data'), ephemeral: true });
    const su = new pg.Client({ connectionString: cluster.url('postgres') });
    await su.connect();
    try {
      await su.query(SETUP);
      for (const [login, grant] of Object.entries(LOGINS)) {
        await su.query(`CREATE ROLE ${login} LOGIN PASSWORD '${PW}'`);
        await su.query(grant);
      }
    } finally {
      await su.end();
    }
    const url = new URL(cluster.url('postgres'));
    for (const login of ['postgres', ...Object.keys(LOGINS)]) {
      if (login !== 'postgres') {
        url.username = login;
        url.password = PW;
      }
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        seen.set(login, await readRolePrivileges(c, SCHEMAS));
      } finally {
        await c.end();
      }
    }
  });

  after(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const problems = (login: string) => privilegeProblems(seen.get(login)!);

  it('finds nothing wrong with a login that only reads (other schemas and sequences do not count)', () => {
    assert.equal(seen.get('reader')!.role, 'reader');
    assert.deepEqual(problems('reader'), []);
  });

  it('reports a superuser, and every table it could write', () => {
    assert.deepEqual(problems('postgres'), [
      'it has SUPERUSER, BYPASSRLS, CREATEROLE, REPLICATION',
      'it can write 4 table(s) in MCP_READABLE_SCHEMAS: fuel.fill_ups (INSERT, UPDATE, DELETE, TRUNCATE), tracksolid."Odd Name" (INSERT, UPDATE, DELETE, TRUNCATE), tracksolid.devices (INSERT, UPDATE, DELETE, TRUNCATE), tracksolid.v_devices (INSERT, UPDATE, DELETE, TRUNCATE)',
    ]);
  });

  it('names a table the login may write, whether by grant, on a view, or as its owner', () => {
    assert.deepEqual(problems('inserter'), ['it can write 1 table(s) in MCP_READABLE_SCHEMAS: tracksolid.devices (INSERT)']);
    assert.deepEqual(problems('truncater'), ['it can write 1 table(s) in MCP_READABLE_SCHEMAS: tracksolid."Odd Name" (TRUNCATE)']);
    assert.deepEqual(problems('view_writer'), ['it can write 1 table(s) in MCP_READABLE_SCHEMAS: tracksolid.v_devices (UPDATE)']);
    assert.deepEqual(problems('owner'), [
      'it can write 1 table(s) in MCP_READABLE_SCHEMAS: fuel.fill_ups (INSERT, UPDATE, DELETE, TRUNCATE)',
    ]);
  });

  it('counts what a group gives, inherited or only through SET ROLE', () => {
    assert.deepEqual(problems('inheritor'), [
      'it can write 2 table(s) in MCP_READABLE_SCHEMAS: fuel.fill_ups (DELETE), tracksolid.devices (UPDATE)',
    ]);
    assert.deepEqual(problems('set_roler'), [
      'it can write 2 table(s) in MCP_READABLE_SCHEMAS: fuel.fill_ups (DELETE via SET ROLE "writers"), tracksolid.devices (UPDATE via SET ROLE "writers")',
    ]);
    assert.deepEqual(problems('su_member'), [
      'it can SET ROLE "su2", which has SUPERUSER',
      'it can write 4 table(s) in MCP_READABLE_SCHEMAS: fuel.fill_ups (INSERT, UPDATE, DELETE, TRUNCATE via SET ROLE "su2"), tracksolid."Odd Name" (INSERT, UPDATE, DELETE, TRUNCATE via SET ROLE "su2"), tracksolid.devices (INSERT, UPDATE, DELETE, TRUNCATE via SET ROLE "su2"), tracksolid.v_devices (INSERT, UPDATE, DELETE, TRUNCATE via SET ROLE "su2")',
    ]);
  });

  it('reports the predefined roles that reach beyond reading tables', () => {
    assert.deepEqual(problems('all_writer'), [
      'it is a member of pg_write_all_data',
      'it can write 4 table(s) in MCP_READABLE_SCHEMAS: fuel.fill_ups (INSERT, UPDATE, DELETE), tracksolid."Odd Name" (INSERT, UPDATE, DELETE), tracksolid.devices (INSERT, UPDATE, DELETE), tracksolid.v_devices (INSERT, UPDATE, DELETE)',
    ]);
    assert.deepEqual(problems('programmer'), ['it is a member of pg_execute_server_program']);
  });

  it('reports BYPASSRLS, CREATEROLE and REPLICATION', () => {
    assert.deepEqual(problems('rls_bypasser'), ['it has BYPASSRLS']);
    assert.deepEqual(problems('role_maker'), ['it has CREATEROLE']);
    assert.deepEqual(problems('replicator'), ['it has REPLICATION']);
  });
});
