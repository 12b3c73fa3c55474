import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_DEMO_SEED } from '../apps/analytics-mcp/src/embedded/demo-seed.js';
import { spawnServer } from '../test/support/server-process.js';
import { connectClient, startTestDatabase, TOKENS } from '../test/support/stack.js';

/** The README's chart examples, drawn by the chart tool on a fresh full-size demo database. */
export const CHART_EXAMPLES = [
  {
    file: 'docs/chart-daily-mileage.png',
    prompt: 'Plot daily mileage per depot for the last week.',
    arguments: {
      sql: `SELECT m.day, d.depot, round(sum(m.km)) AS km
  FROM reporting.daily_mileage m JOIN tracksolid.devices d USING (device_id)
 WHERE m.day >= current_date - 7 AND m.day < current_date
 GROUP BY 1, 2 ORDER BY 1, 2`,
      chart: { type: 'line', x: 'day', y: 'km', series: 'depot', title: 'Daily mileage per depot, last 7 days', y_label: 'km driven' },
    },
  },
  {
    file: 'docs/chart-speed-by-hour.png',
    prompt: 'When in the day are the trucks of each depot on the road? A heatmap of average speed by hour.',
    arguments: {
      sql: `SELECT extract(hour FROM p.recorded_at AT TIME ZONE 'Africa/Nairobi')::int AS hour, d.depot,
       round(avg(p.speed_kmh)::numeric, 1) AS avg_speed
  FROM tracksolid.position_history p JOIN tracksolid.devices d USING (device_id)
 GROUP BY 1, 2 ORDER BY 1, 2`,
      chart: { type: 'heatmap', x: 'hour', y: 'avg_speed', series: 'depot', title: 'Average speed (km/h) by hour of day, Nairobi time', x_label: 'hour of day' },
    },
  },
] as const;

const db = await startTestDatabase(DEFAULT_DEMO_SEED);
const server = await spawnServer({ DATABASE_URL: db.databaseUrl });
try {
  const client = await connectClient(server.mcpUrl, TOKENS.alice);
  for (const example of CHART_EXAMPLES) {
    const res = await client.callTool({ name: 'chart', arguments: example.arguments as unknown as Record<string, unknown> });
    const content = res.content as { type: string; data?: string; text?: string }[];
    const png = content.find((c) => c.type === 'image')?.data;
    if (res.isError || !png) throw new Error(`${example.file}: ${JSON.stringify(content).slice(0, 500)}`);
    await writeFile(resolve(example.file), Buffer.from(png, 'base64'));
    process.stdout.write(`${example.file}: ${content.find((c) => c.type === 'text')?.text}\n`);
  }
  await client.close();
} finally {
  await server.stop();
  await db.dispose();
}
