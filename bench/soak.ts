/**
 * npm run soak -- --minutes 10 — 8 callers with a mix of tools against the server
 * process; prints errors, p99, RSS and open file descriptors over time and writes
 * bench/soak.md.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { setMaxListeners } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connectClient, TOKENS } from '../test/support/stack.js';
import { gitRevision, startBenchDatabase } from './bench-support.js';
import { memoryOf, openFdsOf, spawnServer } from '../test/support/server-process.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    callers: { type: 'string', default: '8' },
    'sample-seconds': { type: 'string', default: '30' },
    out: { type: 'string', default: 'bench/soak.md' },
  },
});
const MINUTES = Number(args.minutes);
const CALLERS = Number(args.callers);
const SAMPLE_MS = Number(args['sample-seconds']) * 1000;

const MIX: { name: string; args: Record<string, unknown> }[] = [
  { name: 'query', args: { sql: 'SELECT device_id, count(*) AS fixes, max(speed_kmh) FROM tracksolid.position_history WHERE recorded_at > now() - interval \'1 day\' AND device_id < 10 GROUP BY 1 ORDER BY 1' } },
  { name: 'query', args: { sql: 'SELECT * FROM tracksolid.position_history WHERE device_id = 17 ORDER BY recorded_at DESC', max_rows: 500 } },
  { name: 'query', args: { sql: 'SELECT d.plate, m.day, m.km FROM reporting.daily_mileage m JOIN tracksolid.devices d USING (device_id) ORDER BY m.km DESC LIMIT 20' } },
  { name: 'query', args: { sql: "SELECT status, priority, count(*) FROM tickets.tickets GROUP BY ROLLUP (status, priority)" } },
  { name: 'query', args: { sql: 'SELECT station, sum(litres * price_per_litre) AS kes FROM fuel.fill_ups GROUP BY 1 ORDER BY 2 DESC' } },
  { name: 'list_tables', args: { schema: 'tracksolid' } },
  { name: 'describe_table', args: { schema: 'reporting', table: 'daily_mileage' } },
  { name: 'list_schemas', args: {} },
];

const p99 = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.99 * s.length))]!;
};

async function main() {
  setMaxListeners(0); // see bench.ts: the SDK HTTP client's per-request abort listeners
  const demo = await startBenchDatabase((l) => process.stderr.write(`${l}\n`));
  // All soak clients share one token: let that caller use the whole pool, as recorded before.
  const server = await spawnServer({ DATABASE_URL: demo.databaseUrl, MCP_CALLER_MAX_CONCURRENCY: '8', LOG_LEVEL: 'warn' });
  const clients: Client[] = await Promise.all(Array.from({ length: CALLERS }, () => connectClient(server.mcpUrl, TOKENS.alice)));
  const rows: string[] = [];
  const header = '| minute | calls | errors | p99 ms | RSS MiB | open fds |';
  rows.push(header, '| ---: | ---: | ---: | ---: | ---: | ---: |');
  process.stdout.write(`soak: ${CALLERS} callers for ${MINUTES} min against pid ${server.pid}\n${header}\n`);

  const started = Date.now();
  const until = started + MINUTES * 60_000;
  let window: number[] = [];
  let calls = 0;
  let errors = 0;
  let totalCalls = 0;
  let totalErrors = 0;
  const firstErrors: string[] = [];
  const samples: { rss: number; fds: number }[] = [];

  const sampler = setInterval(async () => {
    const mem = await memoryOf(server.pid);
    const fds = await openFdsOf(server.pid);
    samples.push({ rss: mem.rssKiB / 1024, fds });
    const line = `| ${((Date.now() - started) / 60_000).toFixed(1)} | ${calls} | ${errors} | ${p99(window).toFixed(1)} | ${(mem.rssKiB / 1024).toFixed(1)} | ${fds} |`;
    rows.push(line);
    process.stdout.write(`${line}\n`);
    window = [];
    calls = 0;
    errors = 0;
  }, SAMPLE_MS);

  await Promise.all(
    clients.map(async (client, i) => {
      let k = i;
      while (Date.now() < until) {
        const step = MIX[k++ % MIX.length]!;
        const t0 = performance.now();
        const res = (await client.callTool({ name: step.name, arguments: step.args }).catch((e: Error) => ({
          isError: true,
          content: [{ type: 'text', text: `transport: ${e.message}` }],
        }))) as CallToolResult;
        window.push(performance.now() - t0);
        calls++;
        totalCalls++;
        if (res.isError) {
          errors++;
          totalErrors++;
          if (firstErrors.length < 5) firstErrors.push(JSON.stringify(res.content));
        }
      }
    }),
  );
  clearInterval(sampler);
  await Promise.all(clients.map((c) => c.close()));
  const exit = await server.stop();
  await demo.stop();

  const first = samples[1] ?? samples[0];
  const last = samples.at(-1);
  const summary = [
    `# Soak run`,
    '',
    `${new Date(started).toISOString()} at commit ${gitRevision()}: ${CALLERS} callers, ${MINUTES} minutes, mixed tools (${MIX.length} steps: 5 queries, list_tables, describe_table, list_schemas) against the server process over Streamable HTTP on the embedded 1M-row demo.`,
    '',
    `- calls: ${totalCalls} (${(totalCalls / (MINUTES * 60)).toFixed(0)}/s), errors: **${totalErrors}**${firstErrors.length ? ` — first: ${firstErrors.join(' | ')}` : ''}`,
    `- RSS: ${first ? first.rss.toFixed(1) : '?'} MiB after the first sample → ${last ? last.rss.toFixed(1) : '?'} MiB at the end (min ${Math.min(...samples.map((s) => s.rss)).toFixed(1)}, max ${Math.max(...samples.map((s) => s.rss)).toFixed(1)})`,
    `- open fds: ${first?.fds ?? '?'} → ${last?.fds ?? '?'} (max ${Math.max(...samples.map((s) => s.fds))})`,
    `- server exit on SIGTERM: code ${exit.code}`,
    '',
    ...rows,
    '',
    `Reproduce: \`npm run soak -- --minutes ${MINUTES}\``,
    '',
  ].join('\n');
  await writeFile(args.out!, summary);
  process.stdout.write(`\n${summary}`);
  if (totalErrors > 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
