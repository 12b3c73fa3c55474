import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const RUN_TESTS = resolve('scripts/run-tests.mjs');
const CLUSTER = pathToFileURL(resolve('dist/apps/analytics-mcp/src/embedded/embedded-cluster.js')).href;

/** Runs scripts/run-tests.mjs in a directory whose dist/test holds the given spec files. */
async function runTests(specs: Record<string, string>): Promise<{ code: number | null; out: string; last: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'run-tests-spec-'));
  try {
    await mkdir(join(dir, 'dist/test'), { recursive: true });
    await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
    for (const [name, body] of Object.entries(specs)) await writeFile(join(dir, 'dist/test', name), body);
    return await new Promise((res) => {
      // Without this variable, node --test in the child would see itself nested in this test and skip the files.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const child = spawn(process.execPath, [RUN_TESTS], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => res({ code, out, last: out.trimEnd().split('\n').at(-1)! }));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const GOOD = `import { describe, it } from 'node:test';
describe('good', () => { it('a', () => {}); it('b', async (t) => { await t.test('b1', () => {}); }); it.skip('c', () => {}); });`;

describe('scripts/run-tests.mjs: never a silent green', () => {
  let good: Awaited<ReturnType<typeof runTests>>;
  before(async () => {
    good = await runTests({ 'good.spec.js': GOOD });
  });

  it('passes a good file and prints the totals last', () => {
    assert.equal(good.code, 0, good.out);
    assert.equal(good.last, 'tests: 3 passed, 0 failed, 1 skipped');
  });

  it('fails a file that registers no test', async () => {
    const r = await runTests({ 'good.spec.js': GOOD, 'empty.spec.js': '// nothing here\n' });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /dist\/test\/empty\.spec\.js: ran no test/);
    assert.equal(r.last, 'tests: 3 passed, 1 failed, 1 skipped');
  });

  it("fails a file whose before hook fails", async () => {
    const r = await runTests({
      'hook.spec.js': `import { before, describe, it } from 'node:test';
        describe('s', () => { before(() => { throw new Error('no database'); }); it('a', () => {}); });`,
    });
    assert.equal(r.code, 1, r.out);
    assert.match(r.last, /^tests: 0 passed, [1-9]\d* failed, 0 skipped$/);
  });

  it('fails a file whose process exits 0 before its tests ran (an exit hook on beforeExit)', async () => {
    const r = await runTests({
      'exit0.spec.js': `import { before, describe, it } from 'node:test';
        process.on('beforeExit', () => process.exit(0));
        describe('s', () => { before(() => new Promise(() => {})); it('a', () => {}); });`,
      'exit0-later.spec.js': `import { describe, it } from 'node:test';
        describe('s', () => { it('a', () => {}); it('b', () => new Promise(() => setTimeout(() => process.exit(0), 20))); it('c', () => {}); });`,
    });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /exit0\.spec\.js: ran no test/);
    assert.match(r.out, /exit0-later\.spec\.js: \d registered test\(s\) never finished/);
    assert.match(r.last, /^tests: 1 passed, 2 failed, 0 skipped$/);
  });

  it('fails when the embedded database cannot start (a data dir that cannot be created)', async () => {
    const r = await runTests({
      'db.spec.js': `import { before, describe, it } from 'node:test';
        import { startEmbeddedCluster } from ${JSON.stringify(CLUSTER)};
        describe('needs a database', () => {
          let cluster;
          before(async () => { cluster = await startEmbeddedCluster({ dataDir: '/dev/null/cannot/pg', ephemeral: true }); });
          it('queries it', () => { if (!cluster) throw new Error('no cluster'); });
        });`,
    });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /cannot create the data directory's parent \/dev\/null\/cannot/);
    assert.match(r.last, /^tests: 0 passed, [1-9]\d* failed, 0 skipped$/);
  });
});
