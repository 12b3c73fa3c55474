import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMMAND_LINE_NODE_FLAGS, RUNTIME_V8_FLAGS } from '../apps/analytics-mcp/src/runtime/node-flags.js';

const ROOT = resolve('.');
const MAIN = 'dist/apps/analytics-mcp/src/main.js';

describe('node and V8 flags', () => {
  it('npm start and start:stdio pass the command-line flags', async () => {
    const { scripts } = JSON.parse(await readFile(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['start', 'start:stdio']) {
      assert.ok(scripts[name]!.includes(`node ${COMMAND_LINE_NODE_FLAGS.join(' ')} ${MAIN}`), `${name}: ${scripts[name]}`);
    }
  });

  it('main.js sets the runtime flags before it loads the server, whose modules come after', async () => {
    const main = await readFile(resolve(ROOT, MAIN), 'utf8');
    const statements = main.split('\n').filter((l) => /\bimport\b/.test(l) && !l.trimStart().startsWith('//'));
    assert.deepEqual(statements, [
      "import './runtime/apply-runtime-flags.js';",
      "import { withDeferredDateTimeFormats } from './runtime/deferred-date-time-format.js';",
      "await withDeferredDateTimeFormats(() => import('./start.js'));",
    ]);
  });

  it("Nest's import-time date formatters are built only when its console logger prints", async () => {
    // Counts real formatters; the deferral (as main.js runs it) must leave Nest's two unbuilt.
    const script = `
      let built = 0;
      const Real = Intl.DateTimeFormat;
      Intl.DateTimeFormat = Object.assign(function (...a) { built++; return new Real(...a); }, { supportedLocalesOf: Real.supportedLocalesOf });
      const { withDeferredDateTimeFormats } = await import(${JSON.stringify(pathToFileURL(resolve(ROOT, 'dist/apps/analytics-mcp/src/runtime/deferred-date-time-format.js')).href)});
      const { Logger } = await withDeferredDateTimeFormats(async () => { await import('reflect-metadata'); await import('@nestjs/core'); return import('@nestjs/common'); });
      const afterImport = built;
      new Logger('Probe').log('hello');
      console.error(JSON.stringify({ afterImport, afterLog: built }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', LC_ALL: 'en_US.UTF-8', TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    assert.equal(await new Promise<number | null>((r) => child.once('exit', r)), 0, err);
    assert.deepEqual(JSON.parse(err.trim().split('\n').at(-1)!), { afterImport: 0, afterLog: 1 });
    // The line still carries the timestamp Nest formats (date and time).
    assert.match(out, /^\[Nest\] \d+  - \d{2}\/\d{2}\/\d{4}, \d{1,2}:\d{2}:\d{2} [AP]M +LOG \[Probe\] hello\n$/);
  });

  it('the runtime flags are ones this node accepts', async () => {
    // V8 ignores an unknown flag with a warning on stderr; a renamed flag would go unnoticed.
    const script = `import { setFlagsFromString } from 'node:v8'; for (const f of ${JSON.stringify(RUNTIME_V8_FLAGS)}) setFlagsFromString(f);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 0);
    assert.equal(out, '', 'no warning from V8');
    const known = await new Promise<string>((r) => {
      const c = spawn(process.execPath, ['--v8-options'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      c.stdout.on('data', (d: Buffer) => (text += d.toString()));
      c.once('exit', () => r(text));
    });
    for (const f of RUNTIME_V8_FLAGS) {
      const name = f.split('=')[0]!.replace(/^--no-/, '--');
      assert.ok(known.includes(`  ${name} `), `${f} is a V8 option of node ${process.version}`);
    }
  });

  it('the command-line flags are ones this node accepts', async () => {
    // node refuses an unknown option ("bad option") before running anything.
    const child = spawn(process.execPath, [...COMMAND_LINE_NODE_FLAGS, '-e', 'process.stdout.write("ran")'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    assert.equal(await new Promise<number | null>((r) => child.once('exit', r)), 0, err);
    assert.deepEqual([out, err], ['ran', '']);
  });
});
