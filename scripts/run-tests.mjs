#!/usr/bin/env node
// Runs every compiled spec (unit specs beside the code, e2e specs in test/) with
// Node's own test runner. `npm test -- sql-guard` runs only files whose path
// contains "sql-guard".
//
// Node's exit code alone can be green when it should not: a spec file whose process
// exits 0 before its tests ran (or that registers none) counts as one passing "test".
// So a second reporter records every test per file, and this script fails the run
// when a file ran no test or left registered tests unfinished. Its last line is the
// total: "tests: N passed, N failed, N skipped".
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const roots = ['dist/apps', 'dist/libs', 'dist/test', 'dist/scripts'];
const filters = process.argv.slice(2);
// A hung spec file (a handle left open) would otherwise keep the run waiting forever.
const timeoutMin = Number(process.env.TEST_RUN_TIMEOUT_MIN ?? 30);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.spec.js')) out.push(p);
  }
  return out;
}

function sourceOf(jsFile) {
  try {
    const map = JSON.parse(readFileSync(`${jsFile}.map`, 'utf8'));
    return map.sources?.length === 1 ? resolve(dirname(jsFile), map.sourceRoot ?? '', map.sources[0]) : null;
  } catch {
    return null;
  }
}

const compiled = roots
  .flatMap((r) => walk(r, []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => resolve(f));
// tsc never deletes outputs: a spec compiled from a source since removed is not run.
const stale = compiled.filter((f) => {
  const source = sourceOf(f);
  return source !== null && !existsSync(source);
});
if (stale.length) console.error(`run-tests: skipping ${stale.length} compiled spec(s) whose source is gone: ${stale.map((f) => relative(process.cwd(), f)).join(', ')}`);
const files = compiled.filter((f) => !stale.includes(f));
if (files.length === 0) {
  console.error(`no spec files found${filters.length ? ` matching ${filters.join(', ')}` : ''}; did the build run?`);
  process.exit(1);
}

const work = mkdtempSync(join(resolve('dist'), '.run-tests-'));
const tallyFile = join(work, 'tally.jsonl');
const reporter = join(dirname(fileURLToPath(import.meta.url)), 'test-tally.mjs');
const runner = spawn(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=240000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    `--test-reporter-destination=${tallyFile}`,
    ...files,
  ],
  // Its own process group, so a timeout can end the spec processes and their servers too.
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' }, detached: true },
);
const forward = (signal) => () => {
  try {
    process.kill(-runner.pid, signal);
  } catch {
    // already gone
  }
};
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));
process.on('SIGHUP', forward('SIGHUP'));
let timedOut = false;
const timer = setTimeout(() => {
  timedOut = true;
  console.error(`\nrun-tests: the test run did not finish within ${timeoutMin} min; stopping it`);
  forward('SIGTERM')();
  setTimeout(forward('SIGKILL'), 10_000).unref();
}, timeoutMin * 60_000);

const { code, signal } = await new Promise((res) => runner.on('exit', (code, signal) => res({ code, signal })));
clearTimeout(timer);

let events = [];
try {
  events = readFileSync(tallyFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
} catch {
  // no tally: every file is reported as not run below
}
rmSync(work, { recursive: true, force: true });

const perFile = new Map(files.map((f) => [f, { passed: 0, failed: 0, skipped: 0, fileLevel: null, open: new Map() }]));
// With --enable-source-maps the events of a file's tests name its TypeScript source.
const byPath = new Map(files.map((f) => [f, f]));
for (const f of files) {
  const source = sourceOf(f);
  if (source) byPath.set(source, f);
}
for (const e of events) {
  const file = e.file && byPath.get(e.file);
  const s = file && perFile.get(file);
  if (!s) continue;
  const key = `${e.nesting}\u0000${e.name}`;
  if (e.type === 'test:enqueue') {
    if (e.name !== file) s.open.set(key, (s.open.get(key) ?? 0) + 1);
    continue;
  }
  const left = s.open.get(key);
  if (left) left > 1 ? s.open.set(key, left - 1) : s.open.delete(key);
  // The runner reports the file itself as a test only when the file reported nothing
  // of its own (no test registered, or the process ended before reporting).
  if (e.name === file) s.fileLevel = e;
  else if (e.suite) continue;
  else if (e.type === 'test:fail') s.failed++;
  else if (e.skip) s.skipped++;
  else s.passed++;
}

const problems = [];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const [file, s] of perFile) {
  const name = relative(process.cwd(), file);
  passed += s.passed;
  failed += s.failed;
  skipped += s.skipped;
  const ran = s.passed + s.failed + s.skipped;
  if (s.fileLevel?.type === 'test:fail') {
    problems.push(`${name}: the file failed (${s.fileLevel.error || 'its process exited with an error'})`);
  } else if (ran === 0) {
    problems.push(`${name}: ran no test (none registered, or its process exited before they ran)`);
  } else if (s.open.size > 0) {
    const names = [...s.open.keys()].map((k) => k.split('\u0000')[1]);
    problems.push(`${name}: ${names.length} registered test(s) never finished (${names.slice(0, 3).join(', ')}): its process exited early`);
  }
}
failed += problems.length;

if (problems.length) {
  console.error('\nrun-tests: these spec files did not run as declared:');
  for (const p of problems) console.error(`  - ${p}`);
}
const ok = !timedOut && code === 0 && signal === null && problems.length === 0 && failed === 0;
if (!ok && !problems.length && failed === 0) {
  console.error(`\nrun-tests: the test runner exited with ${signal ?? `code ${code}`}${timedOut ? ' (timed out)' : ''}`);
  failed++;
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok ? 0 : 1);
