import { pathToFileURL } from 'node:url';
import { startTestDatabase, connectClient, TOKENS } from '../test/support/stack.js';
import { spawnServer } from '../test/support/server-process.js';

/** 1,000 points: 200 fixes for each of five vehicles, one line per vehicle on a time axis. */
export const CHART_BENCH_SQL = `SELECT p.recorded_at, 'Truck ' || p.device_id AS vehicle, p.speed_kmh
  FROM tracksolid.position_history p WHERE p.device_id BETWEEN 1 AND 5
  ORDER BY p.recorded_at, p.device_id LIMIT 1000`;

export interface ChartBenchResult {
  points: number;
  calls: number;
  /** render_ms as the server reports it: queue wait, SVG and PNG on the render worker. */
  serverP50Ms: number;
  serverP95Ms: number;
  /** The whole tools/call as the client sees it (query included). */
  callP50Ms: number;
  pngBytes: number;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** The chart tool drawing a 1,000-point line chart as PNG, one caller, after a warm-up. */
export async function benchChart(mcpUrl: string, { calls = 30, warmup = 5 } = {}): Promise<ChartBenchResult> {
  const client = await connectClient(mcpUrl, TOKENS.alice);
  try {
    const server: number[] = [];
    const total: number[] = [];
    let points = 0;
    let pngBytes = 0;
    for (let i = 0; i < warmup + calls; i++) {
      const t0 = performance.now();
      const res = await client.callTool({ name: 'chart', arguments: { sql: CHART_BENCH_SQL, chart: { type: 'line', x: 'recorded_at', y: 'speed_kmh', series: 'vehicle', title: 'Speed, five vehicles' } } });
      const ms = performance.now() - t0;
      const out = res.structuredContent as { points?: number; render_ms?: number } | undefined;
      if (res.isError || !out?.render_ms) throw new Error(`chart bench call failed: ${JSON.stringify(res.content).slice(0, 300)}`);
      if (i < warmup) continue;
      points = out.points ?? 0;
      pngBytes = Buffer.from((res.content as { type: string; data?: string }[]).find((c) => c.type === 'image')?.data ?? '', 'base64').length;
      server.push(out.render_ms);
      total.push(ms);
    }
    if (points !== 1000) throw new Error(`chart bench drew ${points} points, expected 1000`);
    return { points, calls, serverP50Ms: pct(server, 50), serverP95Ms: pct(server, 95), callP50Ms: pct(total, 50), pngBytes };
  } finally {
    await client.close();
  }
}

export function chartBenchLine(r: ChartBenchResult): string {
  const f = (n: number) => n.toFixed(1);
  return `- Chart tool, ${r.points.toLocaleString('en-US')}-point line chart as PNG (${Math.round(r.pngBytes / 1024)} KiB), ${r.calls} calls: server render time p50 **${f(r.serverP50Ms)} ms**, p95 ${f(r.serverP95Ms)} ms (target < 300 ms: ${r.serverP50Ms < 300 ? 'met' : 'NOT met'}); whole call p50 ${f(r.callP50Ms)} ms.`;
}

// `node dist/bench/chart.bench.js`: this part alone, on a small demo database.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const db = await startTestDatabase({ devices: 10, days: 2, intervalMinutes: 5 });
  const server = await spawnServer({ DATABASE_URL: db.databaseUrl });
  try {
    process.stdout.write(`${chartBenchLine(await benchChart(server.mcpUrl))}\n`);
  } finally {
    await server.stop();
    await db.dispose();
  }
}
