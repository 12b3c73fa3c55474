/**
 * npm run bench:lean — the issue-15 targets with the lean load generator: Q1 calls/s and
 * server CPU per call at 8 callers, throttler on (at a limit that never refuses), in
 * both protocol eras, for this build and optionally an older checkout's build
 * (`--before ../wt-before`), spawned alike against the same bench database.
 *
 *   npm run bench:lean -- --seconds 5 --rounds 3 --before /work/wt-before
 *   npm run bench:lean -- --before /work/wt-main --before-eras 2025-11-25,2026-07-28
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { TOKENS } from '../test/support/stack.js';
import { COMMAND_LINE_NODE_FLAGS } from '../apps/analytics-mcp/src/runtime/node-flags.js';
import { cpuMsOf, MAIN_JS, memoryOf, spawnServer, type ServerProcess } from '../test/support/server-process.js';
import { leanLoad, leanToolCall, startBenchDatabase, whenReady, type LeanEra } from './bench-support.js';

export const LEAN_RATE_LIMIT = 1_000_000;

/** CPU ms of every process whose command is `name` (e.g. the PostgreSQL backends), from /proc. */
export async function cpuMsOfCommand(name: string): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  let ms = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== name) continue;
      const f = stat.slice(close + 2).split(' ');
      ms += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}

export interface LeanRow {
  server: string;
  era: LeanEra;
  callsPerSecond: number;
  cpuMsPerCall: number;
}

export interface LeanServer {
  name: string;
  proc: ServerProcess;
  eras: LeanEra[];
}

/** Spawns a server for the lean runs: the default throttler on, at a limit that never refuses. */
export async function spawnLeanServer(name: string, env: Record<string, string>, mainJs = MAIN_JS, eras: LeanEra[] = ['2025-11-25', '2026-07-28'], nodeArgs: string[] = [...COMMAND_LINE_NODE_FLAGS]): Promise<LeanServer & { bootRssKiB: number }> {
  const proc = await spawnServer({ ...env, MCP_RATE_LIMIT_PER_MIN: String(LEAN_RATE_LIMIT) }, { mainJs, nodeArgs });
  await whenReady(proc.baseUrl);
  await new Promise((r) => setTimeout(r, 1000));
  const boot = await memoryOf(proc.pid);
  return { name, proc, eras, bootRssKiB: boot.rssKiB };
}

/** Interleaved rounds of `seconds` per server and era; warms each first. */
export async function runLean(servers: LeanServer[], sql: string, maxRows: number, { callers, seconds, rounds, warmSeconds = 10 }: { callers: number; seconds: number; rounds: number; warmSeconds?: number }): Promise<LeanRow[]> {
  const acc = new Map<string, { calls: number; secs: number; cpu: number }>();
  const posts = (era: LeanEra, token: string = TOKENS.alice) => leanToolCall(era, token, 'query', { sql, max_rows: maxRows });
  // Warm until V8 has settled (~10,000 calls here), as another caller: the measured
  // caller's throttler window starts empty (an older build's storage slows with its hits).
  for (const s of servers) for (const era of s.eras) await leanLoad(s.proc.mcpUrl, posts(era, TOKENS.bob), callers, warmSeconds);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      for (const era of s.eras) {
        const c0 = await cpuMsOf(s.proc.pid);
        const pg0 = await cpuMsOfCommand('postgres');
        const me0 = process.cpuUsage();
        const { calls, seconds: secs } = await leanLoad(s.proc.mcpUrl, posts(era), callers, seconds);
        const cpu = (await cpuMsOf(s.proc.pid)) - c0;
        const me = process.cpuUsage(me0);
        const mem = await memoryOf(s.proc.pid);
        process.stderr.write(`  ${s.name} ${era}: RSS ${(mem.rssKiB / 1024).toFixed(0)} MiB (peak ${(mem.hwmKiB / 1024).toFixed(0)}); ${(calls / secs).toFixed(0)} calls/s; per call: server ${(cpu / calls).toFixed(3)} ms, postgres ${(((await cpuMsOfCommand('postgres')) - pg0) / calls).toFixed(3)} ms, load generator ${((me.user + me.system) / 1000 / calls).toFixed(3)} ms\n`);
        const key = `${s.name}|${era}`;
        const a = acc.get(key) ?? { calls: 0, secs: 0, cpu: 0 };
        acc.set(key, { calls: a.calls + calls, secs: a.secs + secs, cpu: a.cpu + cpu });
      }
    }
  }
  return servers.flatMap((s) =>
    s.eras.map((era) => {
      const a = acc.get(`${s.name}|${era}`)!;
      return { server: s.name, era, callsPerSecond: a.calls / a.secs, cpuMsPerCall: a.cpu / a.calls };
    }),
  );
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '8' },
      before: { type: 'string' },
      /** The eras the older build is measured in (comma-separated); dce3457 predates 2026-07-28. */
      'before-eras': { type: 'string', default: '2025-11-25' },
      /** Node flags for the older build (default none: dce3457 shipped without any). */
      'before-node-args': { type: 'string', default: '' },
      /** Node flags for this build instead of the production ones (COMMAND_LINE_NODE_FLAGS); `--node-args=` for none. */
      'node-args': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      /** Also run this build with these node flags, interleaved with the plain one. */
      'compare-node-args': { type: 'string' },
      /** Q1 (point lookup), Q2 (1,000 rows) or Q3 (10,000 rows: the memory peak). */
      query: { type: 'string', default: 'Q1' },
    },
  });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const demo = await startBenchDatabase(log);
  const admin = new pg.Client(demo.superuserUrl);
  await admin.connect();
  await admin.query(`ALTER ROLE analytics_ro CONNECTION LIMIT 100`);
  const probe = (await admin.query(`SELECT device_id, recorded_at::text AS t FROM tracksolid.position_history WHERE device_id = 42 ORDER BY recorded_at DESC OFFSET 100 LIMIT 1`)).rows[0];
  await admin.end();
  const callers = Number(args.concurrency);
  const extra = Object.fromEntries((args.env as string[]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const env = { ...extra, DATABASE_URL: demo.databaseUrl, MCP_POOL_MAX: String(callers), MCP_CALLER_MAX_CONCURRENCY: String(callers), LOG_LEVEL: 'warn' };
  const nodeArgs = args['node-args'] === undefined ? [...COMMAND_LINE_NODE_FLAGS] : args['node-args'].split(' ').filter(Boolean);
  const servers = [await spawnLeanServer('this build', env, MAIN_JS, undefined, nodeArgs)];
  if (args['compare-node-args'] !== undefined) servers.push(await spawnLeanServer(`this build, node ${args['compare-node-args'] || '(no flags)'}`, env, MAIN_JS, undefined, args['compare-node-args'].split(' ').filter(Boolean)));
  if (args.before) servers.push(await spawnLeanServer(`before (${args.before})`, env, resolve(args.before, 'dist/apps/analytics-mcp/src/main.js'), args['before-eras'].split(',') as LeanEra[], args['before-node-args'].split(' ').filter(Boolean)));
  for (const s of servers) log(`${s.name}: RSS after boot ${(s.bootRssKiB / 1024).toFixed(1)} MiB`);
  const sql = `SELECT * FROM tracksolid.position_history WHERE device_id = ${probe.device_id} AND recorded_at = '${probe.t}'`;
  const queries: Record<string, [string, number]> = {
    Q1: [sql, 10],
    Q2: ['SELECT * FROM tracksolid.position_history WHERE device_id = 7 ORDER BY recorded_at LIMIT 1000', 1000],
    Q3: ['SELECT * FROM tracksolid.position_history WHERE device_id = 9 ORDER BY recorded_at LIMIT 10000', 10_000],
  };
  const query = queries[args.query];
  if (!query) throw new Error(`--query: Q1, Q2 or Q3, not ${args.query}`);
  const rows = await runLean(servers, query[0], query[1], { callers, seconds: Number(args.seconds), rounds: Number(args.rounds) });
  for (const r of rows) log(`${r.server} ${r.era}: ${r.callsPerSecond.toFixed(0)} calls/s, ${r.cpuMsPerCall.toFixed(3)} ms CPU/call`);
  for (const s of servers) log(`${s.name}: peak RSS ${((await memoryOf(s.proc.pid)).hwmKiB / 1024).toFixed(1)} MiB`);
  for (const s of servers) await s.proc.stop();
  await demo.stop();
}

if (process.argv[1]?.endsWith('lean.bench.js')) {
  main().catch((err) => {
    process.stderr.write(`lean bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
