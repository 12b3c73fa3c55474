import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { removeClusterData, runningServer, startEmbeddedCluster } from '../apps/analytics-mcp/src/embedded/embedded-cluster.js';
import { startEmbeddedDemo, type EmbeddedDemo } from '../apps/analytics-mcp/src/embedded/embedded-demo.js';
import { makeTempDir, SMALL_SEED } from './support/stack.js';
import { queryOnce, withPassword } from './support/pg-once.js';

async function one<T>(url: string, sql: string): Promise<T> {
  return Object.values((await queryOnce(url, sql))[0] as object)[0] as T;
}


describe('embedded demo database', () => {
  let dir: string;
  let demo: EmbeddedDemo;

  before(async () => {
    dir = await makeTempDir('amcp-demo-');
    demo = await startEmbeddedDemo({ dataDir: dir, seed: SMALL_SEED });
  });
  after(async () => {
    await demo?.stop().catch(() => undefined);
    await removeClusterData(join(dir, 'pg'));
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a random superuser password in credentials.json (0600), never "postgres", and listens on 127.0.0.1 only', async () => {
    const file = join(dir, 'credentials.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const credentials = JSON.parse(await readFile(file, 'utf8')) as { superuserPassword: string; readOnlyPassword: string };
    assert.ok(credentials.superuserPassword.length >= 20);
    assert.equal(new URL(demo.superuserUrl).password, credentials.superuserPassword);
    assert.equal(new URL(demo.databaseUrl).password, credentials.readOnlyPassword);
    await assert.rejects(one(withPassword(demo.superuserUrl, 'postgres'), 'SELECT 1'), /password authentication failed/);
    assert.equal(await one(demo.superuserUrl, `SELECT current_setting('listen_addresses')`), '127.0.0.1');
    assert.equal((await stat(join(dir, 'dev-token'))).mode & 0o777, 0o600);
  });

  it('lets a second process use the running demo (its data, its analytics_ro password) and leaves it running', async () => {
    const second = await startEmbeddedDemo({ dataDir: dir });
    try {
      assert.equal(second.shared, true);
      assert.equal(second.cluster.port, demo.cluster.port);
      assert.equal(second.positions, demo.positions);
      assert.equal(second.devToken, demo.devToken);
      assert.equal(await one<string>(second.databaseUrl, 'SELECT count(*) FROM tracksolid.position_history'), String(demo.positions));
    } finally {
      await second.stop();
    }
    assert.ok(await runningServer(demo.cluster.dataDir), 'the shared server was stopped');
    assert.equal(await one<string>(demo.databaseUrl, 'SELECT count(*) FROM tracksolid.devices'), String(SMALL_SEED.devices));
  });

  it('moves a demo made with the old postgres/postgres superuser to a random password', async () => {
    const old = await makeTempDir('amcp-demo-old-');
    try {
      const cluster = await startEmbeddedCluster({ dataDir: join(old, 'pg'), password: 'postgres' });
      await cluster.stop();
      const migrated = await startEmbeddedDemo({ dataDir: old, seed: { devices: 2, days: 1, intervalMinutes: 60 } });
      try {
        const { superuserPassword } = JSON.parse(await readFile(join(old, 'credentials.json'), 'utf8')) as { superuserPassword: string };
        assert.notEqual(superuserPassword, 'postgres');
        assert.equal(await one(migrated.superuserUrl, 'SELECT 1'), 1);
        await assert.rejects(one(withPassword(migrated.superuserUrl, 'postgres'), 'SELECT 1'), /password authentication failed/);
      } finally {
        await migrated.stop();
      }
    } finally {
      await removeClusterData(join(old, 'pg'));
      await rm(old, { recursive: true, force: true });
    }
  });
});
