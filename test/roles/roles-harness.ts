import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../apps/analytics-mcp/src/embedded/embedded-cluster.js';
import { makeTempDir } from '../support/stack.js';

export const ROLES_DIR = resolve(process.cwd(), 'db/roles');
export const FIXTURES_DIR = resolve(process.cwd(), 'test/roles/fixtures');

export interface RolesCluster {
  pg: EmbeddedCluster;
  /** A URL for `role` logging in with `password` to `database`. */
  loginUrl(role: string, password: string, database: string): string;
  stop(): Promise<void>;
}

export async function startRolesCluster(): Promise<RolesCluster> {
  const dir = await makeTempDir('roles-');
  const cluster = await startEmbeddedCluster({ dataDir: join(dir, 'data'), ephemeral: true });
  return {
    pg: cluster,
    loginUrl: (role, password, database) =>
      `postgresql://${encodeURIComponent(role)}:${encodeURIComponent(password)}@127.0.0.1:${cluster.port}/${database}`,
    stop: async () => {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PsqlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function psql(url: string, args: string[]): Promise<PsqlResult> {
  return new Promise((done) => {
    execFile('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** Runs a file with psql and fails the test with psql's stderr when it does not exit 0. */
export async function runSqlFile(url: string, file: string, vars: Record<string, string> = {}): Promise<PsqlResult> {
  const args = Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
  const res = await psql(url, [...args, '-f', file]);
  assert.equal(res.code, 0, `psql -f ${file} exited ${res.code}:\n${res.stderr}`);
  return res;
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Asserts that `sql` fails with SQLSTATE `code` (42501 = insufficient privilege). */
export async function assertFails(c: pg.Client, sql: string, code = '42501'): Promise<void> {
  await assert.rejects(
    c.query(sql),
    (err: { code?: string; message?: string }) => {
      assert.equal(err.code, code, `${sql} failed with ${err.code} (${err.message}), expected ${code}`);
      return true;
    },
    `${sql} succeeded, expected SQLSTATE ${code}`,
  );
}

export async function show(c: pg.Client, setting: string): Promise<string> {
  const { rows } = await c.query(`SELECT current_setting($1) AS v`, [setting]);
  return rows[0].v;
}

/**
 * Everything the role scripts can change, as plain data: role attributes and
 * settings, memberships, database/schema/object owners and ACLs, default ACLs.
 * Password verifiers are left out: they are re-salted on every run by design.
 */
export async function catalogState(c: pg.Client, schemas: string[], roles: string[]): Promise<unknown> {
  const q = async (sql: string, values: unknown[] = []) => (await c.query(sql, values)).rows;
  return {
    roles: await q(
      `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
              rolbypassrls, rolconnlimit
         FROM pg_roles WHERE rolname = ANY ($1) ORDER BY rolname`,
      [roles],
    ),
    settings: await q(
      `SELECT coalesce(d.datname, '*') AS db, r.rolname, s.setconfig
         FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
         LEFT JOIN pg_database d ON d.oid = s.setdatabase
        WHERE r.rolname = ANY ($1) ORDER BY 1, 2`,
      [roles],
    ),
    members: await q(
      `SELECT m.roleid::regrole::text AS role, m.member::regrole::text AS member,
              m.grantor::regrole::text AS grantor, m.admin_option
         FROM pg_auth_members m
        WHERE m.roleid::regrole::text = ANY ($1) OR m.member::regrole::text = ANY ($1)
        ORDER BY 1, 2, 3`,
      [roles],
    ),
    database: await q(
      `SELECT datname, pg_get_userbyid(datdba) AS owner, datacl::text[] AS acl
         FROM pg_database WHERE datname = current_database()`,
    ),
    schemas: await q(
      `SELECT nspname, pg_get_userbyid(nspowner) AS owner, nspacl::text[] AS acl
         FROM pg_namespace WHERE nspname = ANY ($1) ORDER BY 1`,
      [schemas],
    ),
    relations: await q(
      `SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY ($1) ORDER BY 1, 2`,
      [schemas],
    ),
    routines: await q(
      `SELECT n.nspname, p.oid::regprocedure::text AS sig, pg_get_userbyid(p.proowner) AS owner,
              p.proacl::text[] AS acl
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY ($1) ORDER BY 1, 2`,
      [schemas],
    ),
    types: await q(
      `SELECT n.nspname, t.typname, pg_get_userbyid(t.typowner) AS owner, t.typacl::text[] AS acl
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = ANY ($1) ORDER BY 1, 2`,
      [schemas],
    ),
    defaultAcls: await q(
      `SELECT pg_get_userbyid(d.defaclrole) AS creator, coalesce(n.nspname, '*') AS schema,
              d.defaclobjtype, d.defaclacl::text[] AS acl
         FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        ORDER BY 1, 2, 3`,
    ),
  };
}
