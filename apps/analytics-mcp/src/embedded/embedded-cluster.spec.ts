import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { chmod, mkdtemp, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { removeClusterData, runningServer, startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';
import { EmbeddedPostgresError } from './embedded.errors.js';
import { queryOnce, withPassword } from '../../../../test/support/pg-once.js';

const isRoot = process.getuid?.() === 0;


/** Runs an ES module in a fresh node process; resolves with its exit and output. */
function runNode(source: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('embedded PostgreSQL cluster', () => {
  let dir: string;
  let cluster: EmbeddedCluster;

  before(async () => {
    // mkdtemp makes a 0700 directory: as root, the postgres user cannot enter it.
    dir = await mkdtemp(join(tmpdir(), 'amcp-cluster-'));
    cluster = await startEmbeddedCluster({ dataDir: join(dir, 'kept'), password: 'a-kept-password-123' });
  });
  after(async () => {
    await cluster?.stop().catch(() => undefined);
    await removeClusterData(join(dir, 'kept'));
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only, with the given superuser password and no other', async () => {
    const [row] = await queryOnce<{ listen: string; sockets: string }>(
      cluster.url(),
      `SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets`,
    );
    assert.deepEqual(row, { listen: '127.0.0.1', sockets: '' });
    await assert.rejects(queryOnce(withPassword(cluster.url(), 'postgres'), 'SELECT 1'), /password authentication failed/);
  });

  it('makes a random superuser password per cluster when none is given', async () => {
    const other = await startEmbeddedCluster({ dataDir: join(dir, 'ephemeral'), ephemeral: true });
    try {
      const password = new URL(other.url()).password;
      assert.ok(password.length >= 20, password);
      assert.notEqual(password, 'postgres');
      assert.deepEqual(await queryOnce(other.url(), 'SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await other.stop();
    }
    assert.equal(existsSync(join(dir, 'ephemeral')), false, 'an ephemeral cluster leaves its data behind');
  });

  it('keeps its data across stop and start', async () => {
    await queryOnce(cluster.url(), 'CREATE TABLE IF NOT EXISTS kept (v int); INSERT INTO kept VALUES (42)');
    await cluster.stop();
    assert.equal(await runningServer(cluster.dataDir), null);
    await cluster.start();
    assert.deepEqual(await queryOnce(cluster.url(), 'SELECT v FROM kept'), [{ v: 42 }]);
  });

  it('uses a server another process runs on the same data dir when asked, and leaves it running', async () => {
    await assert.rejects(
      startEmbeddedCluster({ dataDir: join(dir, 'kept'), password: 'a-kept-password-123' }),
      (err: Error) => err instanceof EmbeddedPostgresError && /already running/.test(err.message),
    );
    const second = await startEmbeddedCluster({ dataDir: join(dir, 'kept'), password: 'a-kept-password-123', reuseRunning: true });
    assert.equal(second.borrowed, true);
    assert.equal(second.port, cluster.port);
    await second.stop();
    assert.deepEqual(await queryOnce(cluster.url(), 'SELECT v FROM kept'), [{ v: 42 }]);
  });

  it('refuses a data dir that cannot be created at once, in one line', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const t0 = performance.now();
    await assert.rejects(startEmbeddedCluster({ dataDir: join(file, 'pg') }), (err: Error) => {
      assert.ok(err instanceof EmbeddedPostgresError, String(err));
      assert.match(err.message, /^cannot create .*a-file.*(EEXIST|ENOTDIR).*: choose another DATA_DIR$/);
      assert.equal(err.message.includes('\n'), false);
      return true;
    });
    assert.ok(performance.now() - t0 < 5_000);
  });

  it('as root, keeps the data of a cluster in a 0700 directory where the postgres user can reach it', { skip: !isRoot && 'needs root' }, async () => {
    assert.equal((await stat(dir)).mode & 0o777, 0o700, 'the directory was opened up');
    const link = join(dir, 'kept');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(await readlink(link), cluster.dataDir);
    const real = await stat(cluster.dataDir);
    assert.notEqual(real.uid, 0, 'the data dir belongs to root');
    assert.equal(real.mode & 0o777, 0o700);
  });

  it('neither keeps a process alive nor turns its failure into exit code 0', async () => {
    const mod = pathToFileURL(join(import.meta.dirname, 'embedded-cluster.js')).href;
    const sub = await mkdtemp(join(tmpdir(), 'amcp-exit-'));
    try {
      await chmod(sub, 0o700);
      let n = 0;
      const start = () => `const { startEmbeddedCluster } = await import(${JSON.stringify(mod)});
        const c = await startEmbeddedCluster({ dataDir: ${JSON.stringify(join(sub, `pg${++n}`))}, ephemeral: true });
        console.log('dataDir=' + c.dataDir);`;
      // Forgotten cluster, nothing else to do: the process ends (and stops the server).
      const idle = await runNode(start());
      assert.equal(idle.code, 0, idle.out);
      // An uncaught error after start: exit code 1, not 0.
      const thrown = await runNode(`${start()} setTimeout(() => { throw new Error('boom'); }, 10);`);
      assert.equal(thrown.code, 1, thrown.out);
      // A promise that can never settle (the event loop empties): not 0 either.
      const stuck = await runNode(`${start()} await new Promise(() => {});`);
      assert.notEqual(stuck.code, 0, stuck.out);
      for (const r of [idle, thrown, stuck]) {
        const dataDir = /dataDir=(\S+)/.exec(r.out)?.[1];
        assert.ok(dataDir, r.out);
        // The exit hook asked the server to stop; give it a moment to go.
        const t0 = Date.now();
        while ((await runningServer(dataDir)) && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 100));
        assert.equal(await runningServer(dataDir), null, `a server still runs on ${dataDir}`);
        // Nobody stopped these ephemeral clusters: remove what they left (outside `sub` as root).
        await rm(dataDir, { recursive: true, force: true });
        await rm(`${dataDir}.link`, { force: true });
      }
    } finally {
      await rm(sub, { recursive: true, force: true });
    }
  });
});
