/**
 * npm run bench — raw node-postgres vs this server (Streamable HTTP and stdio), same
 * database, same run, interleaved. Writes bench/results.md.
 *
 *   npm run bench -- --rounds 5 --calls 60 --seconds 4
 */
// First: libpg-query starts compiling its WebAssembly when imported.
import './wasm-baseline.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ThrottlerStorageService } from '@nestjs/throttler';
import type { EmbeddedDemo } from '../apps/analytics-mcp/src/embedded/embedded-demo.js';
import { MemoryThrottlerStorage } from '../apps/analytics-mcp/src/rate-limit/memory-throttler.storage.js';
import { benchThrottlerIncrement, type IncrementCost } from '../apps/analytics-mcp/src/rate-limit/throttler-storage.bench.js';
import { benchGuard, benchGuardCacheHit } from '../libs/sql-guard/src/sql-guard.bench.js';
import { connectClient, TOKENS } from '../test/support/stack.js';
import { policyFromDatabase } from '../test/support/guard-policy.js';
import { gitRevision, leanToolCall, startBenchDatabase, whenReady, type LeanEra } from './bench-support.js';
import { benchChart, chartBenchLine } from './chart.bench.js';
import { COMMAND_LINE_NODE_FLAGS } from '../apps/analytics-mcp/src/runtime/node-flags.js';
import { cpuMsOf, MAIN_JS, memoryOf, spawnServer, type ServerProcess } from '../test/support/server-process.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    calls: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    out: { type: 'string', default: 'bench/results.md' },
    /** A checkout built at an older commit, run with the lean generator next to this build (before/after in one run). */
    before: { type: 'string' },
    /**
     * Another MCP server to measure with the same SDK client: a command run with `sh -c "exec …"`,
     * `{port}` and `{dsn}` (the bench database as analytics_ro) filled in; it must serve
     * Streamable HTTP on that port.
     */
    peer: { type: 'string' },
    'peer-name': { type: 'string', default: 'peer' },
    /** The peer's path, tool, and the tool's argument that takes the SQL text. */
    'peer-path': { type: 'string', default: '/mcp' },
    'peer-tool': { type: 'string', default: 'execute_sql' },
    'peer-sql-arg': { type: 'string', default: 'sql' },
  },
});
const ROUNDS = Number(args.rounds);
const CALLS = Number(args.calls);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
/** The throttler-on server's MCP_RATE_LIMIT_PER_MIN: on, and high enough never to refuse the bench's one caller. */
const BENCH_RATE_LIMIT = 1_000_000;
const COLD_CALLS = 100;
const WARMUP_CALLS = 15_000;
const WARM_CALLS = 1_000;
/**
 * Calls that warm each lean server (and the older build) before anything is measured:
 * about as many as the CPU per call takes to settle here (V8 is still optimising for
 * the first ~10,000). They come from another caller (bob), so the measured caller's
 * throttler window starts empty on every build: the start-of-issue build's storage
 * slows down with every hit in it, and a warm-up must not count against it.
 */
const LEAN_WARMUP_CALLS = WARMUP_CALLS;
const IDLE_SETTLE_MS = 20_000;

interface Target {
  name: string;
  pid?: number;
  /** One call; resolves with the number of rows received. */
  run(sql: string, maxRows: number): Promise<number>;
  close(): Promise<void>;
}

interface Workload {
  id: string;
  label: string;
  sql: string;
  maxRows: number;
  rows: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const log = (s: string) => process.stderr.write(`${s}\n`);

interface CallingClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

function mcpTarget(name: string, clients: CallingClient[], pid?: number): Target {
  let next = 0;
  return {
    name,
    pid,
    async run(sql, maxRows) {
      const client = clients[next++ % clients.length]!;
      const res = (await client.callTool({ name: 'query', arguments: { sql, max_rows: maxRows } })) as CallToolResult;
      if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.content)}`);
      return (res.structuredContent as { row_count: number }).row_count;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    },
  };
}

/** The first array named `rows` in a JSON text (a peer's answer), or undefined. */
function rowsIn(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = rowsIn(v);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.rows)) return record.rows;
  for (const v of Object.values(record)) {
    const found = rowsIn(v);
    if (found) return found;
  }
  return undefined;
}

/** A peer server called through the same SDK client: its tool gets the SQL text (the workloads carry their own LIMITs). */
function peerTarget(name: string, clients: CallingClient[], tool: string, sqlArg: string, pid: number | undefined): Target {
  let next = 0;
  return {
    name,
    pid,
    async run(sql) {
      const client = clients[next++ % clients.length]!;
      const res = (await client.callTool({ name: tool, arguments: { [sqlArg]: sql } })) as CallToolResult;
      if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.content).slice(0, 500)}`);
      const structured = rowsIn(res.structuredContent);
      if (structured) return structured.length;
      const text = res.content.find((c) => c.type === 'text');
      const rows = text && text.type === 'text' ? rowsIn(JSON.parse(text.text)) : undefined;
      if (!rows) throw new Error(`${name}: no "rows" array in the answer to ${tool}`);
      return rows.length;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    },
  };
}

/** Starts the peer's command and connects CONCURRENCY clients once it answers (60 s at most). */
async function startPeer(command: string, dsn: string): Promise<{ target: Target; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const line = command.replaceAll('{port}', String(port)).replaceAll('{dsn}', dsn);
  const child = spawn('sh', ['-c', `exec ${line}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-2000)));
  const url = `http://127.0.0.1:${port}${args['peer-path']}`;
  const deadline = Date.now() + 60_000;
  let clients: CallingClient[] | undefined;
  while (!clients) {
    if (child.exitCode !== null) throw new Error(`--peer exited (${child.exitCode}): ${stderr}`);
    try {
      clients = await Promise.all(Array.from({ length: CONCURRENCY }, () => connectClient(url, TOKENS.alice)));
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`--peer did not answer at ${url} within 60 s (${err instanceof Error ? err.message : String(err)}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const stop = async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  };
  return { target: peerTarget(args['peer-name']!, clients, args['peer-tool']!, args['peer-sql-arg']!, child.pid), pid: child.pid!, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * The lean load generator's target: fixed JSON-RPC posts over keep-alive node:http, no
 * SDK client (which alone costs ~0.9 ms a call here). Each answer is read whole and
 * parsed, as pg parses its rows.
 */
function leanTarget(name: string, url: string, era: LeanEra, pid: number, token: string = TOKENS.alice): Target {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  return {
    name,
    pid,
    async run(sql, maxRows) {
      const post = leanToolCall(era, token, 'query', { sql, max_rows: maxRows });
      const text = await new Promise<string>((done, fail) => {
        const req = request({ agent, hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: post.headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? done(Buffer.concat(chunks).toString()) : fail(new Error(`${name}: HTTP ${res.statusCode}`))));
          res.on('error', fail);
        });
        req.on('error', fail);
        req.end(post.body);
      });
      const answer = JSON.parse(text) as { result?: CallToolResult };
      if (!answer.result || answer.result.isError) throw new Error(`${name}: ${text.slice(0, 300)}`);
      return (answer.result.structuredContent as { row_count: number }).row_count;
    },
    async close() {
      agent.destroy();
    },
  };
}

/**
 * The client's own floor: the same MCP SDK client against a bare node:http server that
 * answers every call with a canned one-row result (no Nest, no SDK server, no database).
 */
async function startCannedServer(): Promise<{ url: string; close(): void }> {
  const result = { content: [{ type: 'text', text: '{"row_count":1,"truncated":false,"columns":[],"rows":[[1]]}' }], structuredContent: { row_count: 1, truncated: false, columns: [], rows: [[1]] } };
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const msg = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
      if (msg.id === undefined) return void res.writeHead(202).end();
      const r = msg.method === 'initialize'
        ? { protocolVersion: msg.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'canned', version: '1' } }
        : result;
      const out = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: r });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/mcp`, close: () => srv.close() };
}

async function main() {
  // The SDK's HTTP client transport adds an abort listener per request to one shared
  // signal (a client-side leak, not the server's); silence the warning flood here.
  setMaxListeners(0);
  const started = Date.now();
  log('starting embedded PostgreSQL (first run seeds ~1M positions, about 20 s)…');
  const demo: EmbeddedDemo = await startBenchDatabase(log);
  const admin = new pg.Client(demo.superuserUrl);
  await admin.connect();
  // Up to six HTTP servers (SDK clients per era, throttler on, lean per era, before), the
  // stdio server and the raw pool each hold up to CONCURRENCY + 1 connections; the demo
  // role's limit (20) is sized for one server.
  await admin.query(`ALTER ROLE analytics_ro CONNECTION LIMIT ${9 * (CONCURRENCY + 1)}`);
  const positions = Number((await admin.query('SELECT count(*) FROM tracksolid.position_history')).rows[0].count);
  const probe = (await admin.query(`SELECT device_id, recorded_at::text AS t FROM tracksolid.position_history WHERE device_id = 42 ORDER BY recorded_at DESC OFFSET 100 LIMIT 1`)).rows[0];
  const guardPolicy = await policyFromDatabase(admin);
  await admin.end();

  const workloads: Workload[] = [
    { id: 'Q1', label: 'point lookup (1 row)', sql: `SELECT * FROM tracksolid.position_history WHERE device_id = ${probe.device_id} AND recorded_at = '${probe.t}'`, maxRows: 10, rows: 1 },
    { id: 'Q2', label: '1,000 rows', sql: 'SELECT * FROM tracksolid.position_history WHERE device_id = 7 ORDER BY recorded_at LIMIT 1000', maxRows: 1000, rows: 1000 },
    { id: 'Q3', label: '10,000 rows', sql: 'SELECT * FROM tracksolid.position_history WHERE device_id = 9 ORDER BY recorded_at LIMIT 10000', maxRows: 10000, rows: 10000 },
  ];

  const rawPool = new pg.Pool({ connectionString: demo.databaseUrl, max: CONCURRENCY });
  const raw: Target = {
    name: 'raw pg',
    async run(sql) {
      return (await rawPool.query(sql)).rowCount ?? 0;
    },
    close: () => rawPool.end(),
  };

  // Every bench client is one caller; like raw pg, it may use the whole pool.
  const serverEnv = {
    DATABASE_URL: demo.databaseUrl,
    MCP_POOL_MAX: String(CONCURRENCY),
    MCP_CALLER_MAX_CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'warn',
  };
  // RSS after boot, on a server no client talks to: once ready, and again once it has
  // sat idle for IDLE_SETTLE_MS (V8's memory reducer returns start-up's young generation
  // and garbage some 10-15 s after the last collection).
  const idle: ServerProcess = await spawnServer(serverEnv);
  await whenReady(idle.baseUrl);
  const idleReadyAt = Date.now();
  const bootMem = await memoryOf(idle.pid);
  const http: ServerProcess = await spawnServer(serverEnv);
  await whenReady(http.baseUrl);
  const httpClients = await Promise.all(Array.from({ length: CONCURRENCY }, () => connectClient(http.mcpUrl, TOKENS.alice)));
  const httpTarget = mcpTarget('MCP HTTP', httpClients, http.pid);
  // The 2026-07-28 revision (no initialize, _meta on every request) with the SDK's v2
  // client pinned to it, on a server process of its own so that neither era's garbage
  // is charged to the other's CPU and latency.
  const modern: ServerProcess = await spawnServer(serverEnv);
  const modernClients = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const c = new ModernClient({ name: 'bench', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await c.connect(new ModernHttpTransport(new URL(modern.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${TOKENS.alice}` } } }));
      return c;
    }),
  );
  const modernTarget = mcpTarget('MCP HTTP 2026-07-28', modernClients, modern.pid);

  const stdioTransport = new StdioClientTransport({
    command: process.execPath,
    args: [...COMMAND_LINE_NODE_FLAGS, MAIN_JS, '--stdio'],
    env: { PATH: process.env.PATH ?? '', ...serverEnv, MCP_AUTH_TOKENS: `bench:${TOKENS.alice}` },
    stderr: 'ignore',
  });
  const stdioClient = new Client({ name: 'bench', version: '1' });
  await stdioClient.connect(stdioTransport);
  const stdioTarget = mcpTarget('MCP stdio', [stdioClient], stdioTransport.pid ?? undefined);

  const canned = await startCannedServer();
  const floorClient = await connectClient(canned.url, 'unused');
  const floorTarget: Target = {
    name: 'client floor',
    async run() {
      await floorClient.callTool({ name: 'query', arguments: {} });
      return 1;
    },
    async close() {
      await floorClient.close();
      canned.close();
    },
  };

  // The rate limiter on (as by default), its limit high enough never to refuse: what it costs.
  const throttled: ServerProcess = await spawnServer({ ...serverEnv, MCP_RATE_LIMIT_PER_MIN: String(BENCH_RATE_LIMIT) });
  await whenReady(throttled.baseUrl);
  const throttledClients = await Promise.all(Array.from({ length: CONCURRENCY }, () => connectClient(throttled.mcpUrl, TOKENS.alice)));
  const throttledTarget = mcpTarget(`MCP HTTP, rate limit on (${BENCH_RATE_LIMIT.toLocaleString('en-US')}/min)`, throttledClients, throttled.pid);

  // The issue's targets, measured with the lean generator against servers with the
  // throttler on (as by default) at a limit that never refuses; one process per era.
  const leanEnv = { ...serverEnv, MCP_RATE_LIMIT_PER_MIN: String(BENCH_RATE_LIMIT) };
  const leanProcs: ServerProcess[] = [];
  const leanTargets: Target[] = [];
  const warmUpTargets = new Map<Target, Target>();
  for (const era of ['2025-11-25', '2026-07-28'] as const) {
    const proc = await spawnServer(leanEnv);
    await whenReady(proc.baseUrl);
    leanProcs.push(proc);
    const target = leanTarget(`MCP HTTP lean ${era}`, proc.mcpUrl, era, proc.pid);
    leanTargets.push(target);
    warmUpTargets.set(target, leanTarget(`${target.name} (warm-up)`, proc.mcpUrl, era, proc.pid, TOKENS.bob));
  }
  // The same generator against the build of an older commit (2025 era, which every build serves).
  let beforeTarget: Target | undefined;
  let beforeRev = '';
  if (args.before) {
    // As that build shipped: started without this build's node flags.
    const proc = await spawnServer(leanEnv, { mainJs: resolve(args.before, 'dist/apps/analytics-mcp/src/main.js'), nodeArgs: [] });
    await whenReady(proc.baseUrl);
    leanProcs.push(proc);
    beforeRev = gitRevision(args.before);
    beforeTarget = leanTarget(`MCP HTTP lean 2025-11-25, before (${beforeRev})`, proc.mcpUrl, '2025-11-25', proc.pid);
    warmUpTargets.set(beforeTarget, leanTarget(`${beforeTarget.name} (warm-up)`, proc.mcpUrl, '2025-11-25', proc.pid, TOKENS.bob));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, idleReadyAt + IDLE_SETTLE_MS - Date.now())));
  const settledMem = await memoryOf(idle.pid);
  await idle.stop();

  const peer = args.peer ? await startPeer(args.peer, demo.databaseUrl) : undefined;
  const targets = [raw, httpTarget, modernTarget, ...leanTargets, stdioTarget, ...(peer ? [peer.target] : [])];
  for (const t of targets) for (const w of workloads) for (let i = 0; i < 5; i++) {
    const n = await t.run(w.sql, w.maxRows);
    if (n !== w.rows) throw new Error(`${t.name} ${w.id}: expected ${w.rows} rows, got ${n}`);
  }

  // Cold vs warm server CPU on a fresh process (the throttled one, unused so far): its
  // first calls, then the same calls after WARMUP_CALLS more at CONCURRENCY callers.
  const q1 = workloads[0]!;
  const cpuPerCall = async (t: Target, calls: number) => {
    const c0 = await cpuMsOf(t.pid!);
    for (let i = 0; i < calls; i++) await t.run(q1.sql, q1.maxRows);
    return ((await cpuMsOf(t.pid!)) - c0) / calls;
  };
  const coldCpu = await cpuPerCall(throttledTarget, COLD_CALLS);
  let warmed = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (warmed++ < WARMUP_CALLS) await throttledTarget.run(q1.sql, q1.maxRows);
  }));
  const warmCpu = await cpuPerCall(throttledTarget, WARM_CALLS);
  log('cold/warm CPU done');
  // The lean servers (and the older build) warmed alike, so both sides are measured warm.
  for (const t of [...leanTargets, ...(beforeTarget ? [beforeTarget] : [])]) {
    const warm = warmUpTargets.get(t)!;
    let n = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (n++ < LEAN_WARMUP_CALLS) await warm.run(q1.sql, q1.maxRows);
    }));
    await warm.close();
  }

  // Latency: one caller, rounds interleave targets so drift hits all of them alike.
  const lat = new Map<string, number[]>();
  const cpu = new Map<string, { ms: number; calls: number }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const w of workloads) {
      const all = w.id === 'Q1' ? [...targets, floorTarget] : targets;
      const order = r % 2 === 0 ? all : [...all].reverse();
      for (const t of order) {
        const key = `${t.name}|${w.id}`;
        const cpu0 = t.pid ? await cpuMsOf(t.pid) : 0;
        for (let i = 0; i < CALLS; i++) {
          const t0 = performance.now();
          await t.run(w.sql, w.maxRows);
          (lat.get(key) ?? lat.set(key, []).get(key)!).push(performance.now() - t0);
        }
        if (t.pid) {
          const c = cpu.get(key) ?? { ms: 0, calls: 0 };
          c.ms += (await cpuMsOf(t.pid)) - cpu0;
          c.calls += CALLS;
          cpu.set(key, c);
        }
      }
    }
    log(`latency round ${r + 1}/${ROUNDS} done`);
  }

  // Throughput: CONCURRENCY callers for SECONDS per target and query, interleaved.
  const tput = new Map<string, number[]>();
  const tputCpu = new Map<string, { ms: number; calls: number }>();
  const thRounds = Math.max(1, Math.min(ROUNDS, 2));
  for (let r = 0; r < thRounds; r++) {
    for (const w of workloads) {
      const all = w.id === 'Q1' ? [...targets, throttledTarget, ...(beforeTarget ? [beforeTarget] : [])] : targets;
      for (const t of r % 2 === 0 ? all : [...all].reverse()) {
        if (t === stdioTarget) continue; // one stdio client is one pipe: not a concurrency target
        const cpu0 = t.pid ? await cpuMsOf(t.pid) : 0;
        let calls = 0;
        const until = performance.now() + SECONDS * 1000;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (performance.now() < until) {
              await t.run(w.sql, w.maxRows);
              calls++;
            }
          }),
        );
        const key = `${t.name}|${w.id}`;
        (tput.get(key) ?? tput.set(key, []).get(key)!).push(calls / SECONDS);
        if (t.pid) {
          const c = tputCpu.get(key) ?? { ms: 0, calls: 0 };
          c.ms += (await cpuMsOf(t.pid)) - cpu0;
          c.calls += calls;
          tputCpu.set(key, c);
        }
      }
    }
    log(`throughput round ${r + 1}/${thRounds} done`);
  }

  // Huge result: the statement itself asks for 2M wide rows; the server must stop at 10.
  const huge = 'SELECT p.*, repeat(\'x\', 200) AS pad FROM tracksolid.position_history p LIMIT 2000000';
  const memBefore = await memoryOf(http.pid);
  const hugeTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const n = await httpTarget.run(huge, 10);
    hugeTimes.push(performance.now() - t0);
    if (n !== 10) throw new Error(`huge probe returned ${n} rows`);
  }
  const memAfter = await memoryOf(http.pid);
  const httpMem = await memoryOf(http.pid);
  const stdioMem = stdioTarget.pid ? await memoryOf(stdioTarget.pid) : undefined;

  const guard = await benchGuard(guardPolicy);
  const chart = await benchChart(http.mcpUrl);
  const guardHit = await benchGuardCacheHit(guardPolicy);
  const throttlerCosts: { storage: string; costs: IncrementCost[] }[] = [];
  for (const [storage, make] of [
    ['@nestjs/throttler ThrottlerStorageService (before)', () => new ThrottlerStorageService()],
    ['MemoryThrottlerStorage (now)', () => new MemoryThrottlerStorage()],
  ] as const) {
    const costs: IncrementCost[] = [];
    for (const hits of [60, 60_000]) {
      const s = make();
      costs.push(await benchThrottlerIncrement(s, hits));
      if (s instanceof ThrottlerStorageService) s.onApplicationShutdown();
    }
    throttlerCosts.push({ storage, costs });
  }

  const leanMem = await Promise.all(leanProcs.map((p) => memoryOf(p.pid)));
  const peerMem = peer ? await memoryOf(peer.pid) : undefined;
  await peer?.stop();
  for (const t of [...targets, floorTarget, throttledTarget, ...(beforeTarget ? [beforeTarget] : [])]) await t.close();
  for (const p of leanProcs) await p.stop();
  await throttled.stop();
  await http.stop();
  await modern.stop();
  await demo.stop();

  // Report.
  const lines: string[] = [];
  const rawP50 = (w: Workload) => pct(lat.get(`raw pg|${w.id}`)!, 50);
  const targetsRatio: Record<string, number> = { Q1: 2.5, Q2: 1.6, Q3: 1.3 };
  lines.push('# Benchmark results', '');
  lines.push(`Run ${new Date().toISOString()} at commit ${gitRevision()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, PostgreSQL 18 (embedded), ${positions.toLocaleString('en-US')} rows in tracksolid.position_history.`);
  lines.push(`Latency: one caller, ${ROUNDS} interleaved rounds × ${CALLS} calls per target and query. Throughput: ${CONCURRENCY} concurrent callers, ${SECONDS} s per target and query, ${thRounds} rounds. Raw pg is \`pg.Pool.query\` as the same analytics_ro role; the server targets use the official MCP SDK clients (v1 for MCP HTTP and stdio, which speak 2025-11-25; v2 pinned to 2026-07-28 for the row so named), the query tool, and its full path (auth, guard, read-only transaction, row-limited Execute on a server-side portal, JSON result as structuredContent + text).`, '');
  lines.push('| query | target | p50 ms | p95 ms | p99 ms | p50 ÷ raw pg | target ratio | calls/s (8 callers) | server CPU ms/call (1 caller) |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const verdicts: string[] = [];
  for (const w of workloads) {
    for (const t of targets) {
      const xs = lat.get(`${t.name}|${w.id}`)!;
      const ratio = pct(xs, 50) / rawP50(w);
      const th = tput.get(`${t.name}|${w.id}`);
      const c = cpu.get(`${t.name}|${w.id}`);
      const goal = t === raw ? '' : t === httpTarget ? `≤ ${targetsRatio[w.id]}×` : '';
      if (t === httpTarget) verdicts.push(`${w.id} HTTP ${fmt(ratio)}× (target ≤ ${targetsRatio[w.id]}×): ${ratio <= targetsRatio[w.id]! ? 'met' : 'NOT met'}`);
      lines.push(`| ${w.id} ${w.label} | ${t.name} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 95))} | ${fmt(pct(xs, 99))} | ${t === raw ? '1.00' : fmt(ratio)}× | ${goal} | ${th ? fmt(th.reduce((a, b) => a + b, 0) / th.length, 0) : '—'} | ${c ? fmt(c.ms / c.calls) : '—'} |`);
    }
  }
  const mib = (k: number) => fmt(k / 1024, 1);
  const floor = lat.get('client floor|Q1')!;
  lines.push('', `## Q1 with the rate limiter on`, '');
  lines.push(`${CONCURRENCY} callers, ${SECONDS} s per run, ${thRounds} rounds, interleaved with the rows above; both servers count the same way (one caller, \`alice\`), server CPU from /proc over the throughput runs.`, '');
  lines.push('| server | calls/s (8 callers) | server CPU ms/call |', '| --- | ---: | ---: |');
  for (const t of [httpTarget, throttledTarget]) {
    const key = `${t.name}|Q1`;
    const th = tput.get(key)!;
    const c = tputCpu.get(key)!;
    lines.push(`| ${t === httpTarget ? 'MCP HTTP, rate limit off (MCP_RATE_LIMIT_PER_MIN=0)' : `MCP HTTP, rate limit on (MCP_RATE_LIMIT_PER_MIN=${BENCH_RATE_LIMIT})`} | ${fmt(th.reduce((a, b) => a + b, 0) / th.length, 0)} | ${fmt(c.ms / c.calls)} |`);
  }
  lines.push('', `Cold vs warm (the rate-limited server, fresh, Q1, one caller): server CPU **${fmt(coldCpu)} ms/call** over its first ${COLD_CALLS} calls, **${fmt(warmCpu)} ms/call** over ${WARM_CALLS.toLocaleString('en-US')} calls after ${WARMUP_CALLS.toLocaleString('en-US')} more at ${CONCURRENCY} callers. The table above measures a server already warmed by ${ROUNDS} × ${CALLS} calls per query and target.`);
  lines.push('', '## Issue 15 targets: the lean load generator', '');
  lines.push(`Fixed JSON-RPC \`tools/call\` posts over keep-alive \`node:http\` (no SDK client), each answer read whole and parsed; one server process per era, the rate limiter on (MCP_RATE_LIMIT_PER_MIN=${BENCH_RATE_LIMIT}, never refusing), ${CONCURRENCY} callers for the calls/s and CPU columns (${thRounds} rounds × ${SECONDS} s, interleaved with the rows above), one caller for the latency columns. Server CPU from /proc over the throughput runs.${beforeTarget ? ` "before" is commit ${beforeRev} (the start of issue 15) built in its own checkout and spawned the same way.` : ''}`, '');
  lines.push('| server | Q1 calls/s (8 callers) | Q1 server CPU ms/call (8 callers) | Q1 p50 ms | Q2 p50 ÷ raw pg | Q3 p50 ÷ raw pg | peak RSS MiB |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const leanRows = [...leanTargets, ...(beforeTarget ? [beforeTarget] : [])];
  const callsPerSecond = (t: Target) => { const th = tput.get(`${t.name}|Q1`)!; return th.reduce((a, b) => a + b, 0) / th.length; };
  const cpuPerCallQ1 = (t: Target) => { const c = tputCpu.get(`${t.name}|Q1`)!; return c.ms / c.calls; };
  const leanRatio = (t: Target, w: Workload) => { const xs = lat.get(`${t.name}|${w.id}`); return xs ? pct(xs, 50) / rawP50(w) : NaN; };
  leanRows.forEach((t, i) => {
    const q1 = lat.get(`${t.name}|Q1`);
    lines.push(`| ${t.name} | ${fmt(callsPerSecond(t), 0)} | ${fmt(cpuPerCallQ1(t), 3)} | ${q1 ? fmt(pct(q1, 50)) : '—'} | ${t === beforeTarget ? '—' : `${fmt(leanRatio(t, workloads[1]!))}×`} | ${t === beforeTarget ? '—' : `${fmt(leanRatio(t, workloads[2]!))}×`} | ${fmt(leanMem[i]!.hwmKiB / 1024, 1)} |`);
  });
  const lean25 = leanTargets[0]!;
  const worstCpu = Math.max(...leanTargets.map(cpuPerCallQ1));
  verdicts.push(`Q1 server CPU with the throttler on, lean generator: ${leanTargets.map((t) => `${fmt(cpuPerCallQ1(t), 3)} ms (${t.name.replace('MCP HTTP lean ', '')})`).join(', ')} (target ≤ 0.45): ${worstCpu <= 0.45 ? 'met' : 'NOT met'}`);
  if (beforeTarget) {
    const gain = callsPerSecond(lean25) / callsPerSecond(beforeTarget);
    verdicts.push(`Q1 calls/s at ${CONCURRENCY} callers, 2025 era, lean generator: ${fmt(callsPerSecond(lean25), 0)} vs ${fmt(callsPerSecond(beforeTarget), 0)} before (${beforeRev}) = ${fmt(gain)}× (target ≥ 2.5×): ${gain >= 2.5 ? 'met' : 'NOT met'}`);
  }
  for (const [w, goal] of [[workloads[1]!, 1.6], [workloads[2]!, 1.3]] as const) {
    const worst = Math.max(...leanTargets.map((t) => leanRatio(t, w)));
    verdicts.push(`${w.id} p50 ÷ raw pg, lean generator: ${leanTargets.map((t) => `${fmt(leanRatio(t, w))}×`).join(', ')} (target ≤ ${goal}×): ${worst <= goal ? 'met' : 'NOT met'}`);
  }
  if (peer) {
    const name = peer.target.name;
    lines.push('', `## Same client, against ${name}`, '');
    lines.push(`\`${args.peer}\` (tool \`${args['peer-tool']}\`), measured in the rows above with the same SDK client (v1, 2025 era) as "MCP HTTP", interleaved with it. Ratios are this server's number over ${name}'s: for p50 and CPU below 1 is better, for calls/s above 1.`, '');
    lines.push(`| query | p50: MCP HTTP / ${name} | calls/s: MCP HTTP / ${name} | server CPU per call (1 caller): MCP HTTP / ${name} |`, '| --- | ---: | ---: | ---: |');
    for (const w of workloads) {
      const p50 = (t: Target) => pct(lat.get(`${t.name}|${w.id}`)!, 50);
      const cps = (t: Target) => { const th = tput.get(`${t.name}|${w.id}`)!; return th.reduce((a, b) => a + b, 0) / th.length; };
      const cpuOf = (t: Target) => { const c = cpu.get(`${t.name}|${w.id}`)!; return c.ms / c.calls; };
      lines.push(`| ${w.id} | ${fmt(p50(httpTarget) / p50(peer.target))} (${fmt(p50(httpTarget))} / ${fmt(p50(peer.target))} ms) | ${fmt(cps(httpTarget) / cps(peer.target))} | ${fmt(cpuOf(httpTarget) / cpuOf(peer.target))} (${fmt(cpuOf(httpTarget))} / ${fmt(cpuOf(peer.target))} ms) |`);
    }
    lines.push('', `Peak RSS over the run: MCP HTTP ${mib(httpMem.hwmKiB)} MiB, ${name} ${peerMem ? mib(peerMem.hwmKiB) : 'n/a'} MiB.`);
  }
  lines.push('', '## Parts', '');
  lines.push('| part | cost |', '| --- | ---: |');
  for (const { storage, costs } of throttlerCosts) {
    for (const c of costs) lines.push(`| rate limiter: one \`increment()\`, ${storage}, ${c.hits.toLocaleString('en-US')} hits in the window | ${fmt(c.microseconds)} µs |`);
  }
  lines.push(`| SQL guard, verdict not cached (\`check()\`, p50 / p95) | ${fmt(guard.p50Ms * 1000, 1)} / ${fmt(guard.p95Ms * 1000, 1)} µs |`);
  lines.push(`| SQL guard, verdict cached (\`checkAsync()\` on a repeated statement, p50 / p95) | ${fmt(guardHit.p50Ms * 1000, 1)} / ${fmt(guardHit.p95Ms * 1000, 1)} µs |`);
  lines.push('', `Client floor: the same MCP SDK client against a canned-response node:http server (no Nest, no database) takes p50 **${fmt(pct(floor, 50))} ms** per call here, ${fmt(pct(floor, 50) / rawP50(workloads[0]!))}× raw pg's Q1 before the server does any work.`);
  lines.push('', '## Memory and the huge-result probe', '');
  lines.push(`- HTTP server RSS after boot (VmRSS once \`/health/ready\` answers 200, \`DATABASE_URL\` set, JSON logs, started as \`npm start\` does with \`${COMMAND_LINE_NODE_FLAGS.join(' ')}\`): **${mib(bootMem.rssKiB)} MiB**; the same process after ${IDLE_SETTLE_MS / 1000} s idle: **${mib(settledMem.rssKiB)} MiB**.`);
  lines.push(`- HTTP server peak RSS (VmHWM, whole run, including ${CONCURRENCY} concurrent 10,000-row results): **${mib(httpMem.hwmKiB)} MiB** (target ≤ 150 MiB); the lean servers' peaks are in the table above; stdio server: ${stdioMem ? mib(stdioMem.hwmKiB) : 'n/a'} MiB.`);
  lines.push(`- Huge-result probe (\`${huge}\`, max_rows 10, 5 calls over HTTP): p50 ${fmt(pct(hugeTimes, 50))} ms, max ${fmt(Math.max(...hugeTimes))} ms (target < 1000 ms); RSS ${mib(memBefore.rssKiB)} → ${mib(memAfter.rssKiB)} MiB (growth ${fmt((memAfter.rssKiB - memBefore.rssKiB) / 1024, 1)} MiB).`);
  lines.push(`- SQL guard (libpg-query parse + tree walk) on a typical analytical query: p50 ${fmt(guard.p50Ms, 3)} ms, p95 ${fmt(guard.p95Ms, 3)} ms (target p50 ≤ 0.2 ms).`);
  lines.push(chartBenchLine(chart));
  const peakKiB = Math.max(httpMem.hwmKiB, ...leanMem.slice(0, leanTargets.length).map((m) => m.hwmKiB));
  verdicts.push(`peak RSS, worst HTTP server of this build ${mib(peakKiB)} MiB (target ≤ 150): ${peakKiB / 1024 <= 150 ? 'met' : 'NOT met'}`);
  verdicts.push(`RSS after boot ${mib(bootMem.rssKiB)} MiB once ready, ${mib(settledMem.rssKiB)} MiB ${IDLE_SETTLE_MS / 1000} s later (target ≤ 110, judged once ready): ${bootMem.rssKiB / 1024 <= 110 ? 'met' : 'NOT met'}`);
  verdicts.push(`huge probe max ${fmt(Math.max(...hugeTimes))} ms (target < 1000): ${Math.max(...hugeTimes) < 1000 ? 'met' : 'NOT met'}`);
  verdicts.push(`guard p50 ${fmt(guard.p50Ms, 3)} ms (target ≤ 0.2): ${guard.p50Ms <= 0.2 ? 'met' : 'NOT met'}`);
  lines.push('', '## Verdicts', '', ...verdicts.map((v) => `- ${v}`));
  lines.push('', 'Where the time goes, what was removed, and memory: [bench/README.md](README.md).');
  lines.push('', `Reproduce: \`npm run bench -- --rounds ${ROUNDS} --calls ${CALLS} --seconds ${SECONDS} --concurrency ${CONCURRENCY}${args.before ? ' --before <the older commit, checked out and built>' : ''}${peer ? ` --peer "<the command above>" --peer-name "${peer.target.name}"` : ''}\` (this run: ${Math.round((Date.now() - started) / 1000)} s; plain \`npm run bench\` uses 5 rounds × 60 calls).`, '');
  const report = lines.join('\n');
  await writeFile(args.out!, report);
  process.stdout.write(report);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
