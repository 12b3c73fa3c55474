import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { readOwnConnectionLimit } from '../../libs/db/src/connection-budget.js';
import { startRolesCluster, withClient, type RolesCluster } from './roles-harness.js';

const CLI = resolve(process.cwd(), 'dist/scripts/db-budget.js');

function budget(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv = { ...process.env, ...env };
  if (!('DATABASE_URL' in env)) delete childEnv.DATABASE_URL;
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', env: childEnv }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

// The embedded cluster runs with max_connections 120 and 3 superuser-reserved slots,
// so ordinary roles can be promised 117 connections between them.
describe('npm run db:budget against a real PostgreSQL', () => {
  let cluster: RolesCluster;
  let url: string;

  before(async () => {
    cluster = await startRolesCluster();
    url = cluster.pg.url('postgres');
    await withClient(url, async (c) => {
      await c.query(`CREATE ROLE app_a LOGIN PASSWORD 'a' CONNECTION LIMIT 60`);
      await c.query(`CREATE ROLE app_b LOGIN PASSWORD 'b' CONNECTION LIMIT 57`);
      await c.query(`CREATE ROLE group_only NOLOGIN`);
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('exits 0 and prints the table when the limits fit exactly', async () => {
    const res = await budget([url]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /max_connections\s+120/);
    assert.match(res.stdout, /available to non-superuser roles\s+117/);
    assert.match(res.stdout, /app_a\s+60\s+0/);
    assert.match(res.stdout, /postgres\s+superuser\s+\d+\s+superuser/);
    assert.doesNotMatch(res.stdout, /group_only/);
    assert.match(res.stdout, /committed: 117 of 117 available \(headroom 0\)/);
    assert.match(res.stdout, /verdict: WITHIN BUDGET/);
  });

  it('reads DATABASE_URL when no argument is given', async () => {
    const res = await budget([], { DATABASE_URL: url });
    assert.equal(res.code, 0, res.stderr);
  });

  it('exits 1 once a role limit pushes the sum past the available slots', async () => {
    await withClient(url, (c) => c.query(`CREATE ROLE app_c LOGIN PASSWORD 'c' CONNECTION LIMIT 1`));
    const res = await budget([url]);
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stdout, /verdict: OVER BUDGET/);
    assert.match(res.stdout, /role limits add up to 118, but only 117 connections are available/);
    await withClient(url, (c) => c.query('DROP ROLE app_c'));
  });

  it('exits 1 when a login role has no limit at all', async () => {
    await withClient(url, (c) => c.query(`CREATE ROLE loose LOGIN PASSWORD 'l'`));
    try {
      const res = await budget([url]);
      assert.equal(res.code, 1, res.stdout);
      assert.match(res.stdout, /loose\s+none\s+0\s+UNBOUNDED/);
    } finally {
      await withClient(url, (c) => c.query('DROP ROLE loose'));
    }
  });

  it('exits 2 with a usage message when no URL is given', async () => {
    const res = await budget([]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no connection URL given and DATABASE_URL is not set/);
  });

  it('exits 2 on a connection error without printing the password', async () => {
    for (const bad of [
      `postgresql://postgres:s3cret-pw@127.0.0.1:${cluster.pg.port}/postgres`,
      `postgresql://postgres@127.0.0.1:${cluster.pg.port}/postgres?password=s3cret-pw`,
    ]) {
      const res = await budget([bad]);
      assert.equal(res.code, 2);
      assert.ok(res.stderr.includes(`cannot connect to 127.0.0.1:${cluster.pg.port}/postgres (postgres)`), res.stderr);
      assert.doesNotMatch(res.stderr, /s3cret-pw/);
    }
  });

  it('checks a deployment of replicas against its role: directly, and through PgBouncer', async () => {
    // app_a: CONNECTION LIMIT 60. 5 replicas × (8 + 1) = 45, 54 with a surge replica.
    const fits = await budget([url, '--replicas', '5', '--role', 'app_a']);
    assert.equal(fits.code, 0, fits.stdout + fits.stderr);
    assert.match(fits.stdout, /5 replica\(s\) × \(MCP_POOL_MAX 8 \+ 1 probe connection\) = 45 connections, 54 during a rolling update/);
    assert.match(fits.stdout, /54 connections fit the CONNECTION LIMIT 60 of app_a \(6 to spare\)\ndeployment verdict: FITS/);
    const over = await budget([url, '--replicas=6', '--role=app_a']);
    assert.equal(over.code, 1);
    assert.match(over.stdout, /63 connections exceed the CONNECTION LIMIT 60 of app_a/);
    const bounced = await budget([url, '--replicas', '20', '--pool-max', '4', '--role', 'app_a', '--pgbouncer-pool-size', '40']);
    assert.equal(bounced.code, 0, bounced.stdout);
    assert.match(bounced.stdout, /through PgBouncer: app_a holds at most 40 server connections .* admit the 105 client connections/);
  });

  it('exits 2 on bad deployment options or an unknown role', async () => {
    for (const args of [['--replicas', 'two'], ['--pool-max', '4'], ['--replicas'], ['--replica', '2']]) {
      const res = await budget([url, ...args]);
      assert.equal(res.code, 2, args.join(' '));
    }
    const unknown = await budget([url, '--replicas', '2', '--role', 'ghost']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /login role ghost does not exist on this server/);
  });

  it('readOwnConnectionLimit gives the login role limit, null for a superuser', async () => {
    assert.equal(await withClient(cluster.loginUrl('app_a', 'a', 'postgres'), readOwnConnectionLimit), 60);
    assert.equal(await withClient(url, readOwnConnectionLimit), null);
  });
});
