import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { pngSize } from './support/png.js';
import { call, startTestDatabase, startTestServer, textOf, type TestServer } from './support/stack.js';

const MILEAGE = `SELECT m.day, d.depot, sum(m.km) AS km
  FROM reporting.daily_mileage m JOIN tracksolid.devices d USING (device_id)
  GROUP BY 1, 2 ORDER BY 1, 2`;
const VEHICLES = 'SELECT depot, count(*)::int AS vehicles FROM tracksolid.devices GROUP BY 1 ORDER BY 1';
const SPEED_BY_HOUR = `SELECT extract(hour FROM p.recorded_at)::int AS hour, d.depot, avg(p.speed_kmh)::float8 AS avg_speed
  FROM tracksolid.position_history p JOIN tracksolid.devices d USING (device_id)
  GROUP BY 1, 2 ORDER BY 1, 2`;

interface ChartResult {
  summary: string;
  format: string;
  chart: { type: string; x: string; y: string[]; series?: string; width: number; height: number; x_axis: string };
  rows: number;
  points: number;
  downsampled_from?: number;
  series: { name: string; points: number; min: number | null; max: number | null }[];
  render_ms: number;
}

function image(res: CallToolResult): Buffer {
  const img = res.content.find((c) => c.type === 'image');
  assert.ok(img && img.type === 'image', `an image block in ${JSON.stringify(res.content).slice(0, 300)}`);
  assert.equal(img.mimeType, 'image/png');
  return Buffer.from(img.data, 'base64');
}

describe('chart tool over MCP (HTTP)', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;
  let client: Client;

  before(async () => {
    db = await startTestDatabase();
    server = await startTestServer(db.databaseUrl);
    client = await server.connect();
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  const chart = (args: Record<string, unknown>) => call(client, 'chart', args);

  it('is listed with its input and output schemas', async () => {
    const { tools } = await client.listTools();
    const t = tools.find((x) => x.name === 'chart');
    assert.ok(t);
    assert.deepEqual(t.inputSchema.required?.sort(), ['chart', 'sql']);
    assert.equal(t.annotations?.readOnlyHint, true);
    assert.ok(t.outputSchema);
  });

  const cases: [string, string, Record<string, unknown>][] = [
    ['line', MILEAGE, { x: 'day', y: 'km', series: 'depot' }],
    ['bar', MILEAGE, { x: 'day', y: 'km', series: 'depot' }],
    ['stacked_bar', MILEAGE, { x: 'day', y: 'km', series: 'depot' }],
    ['area', MILEAGE, { x: 'day', y: 'km', series: 'depot' }],
    ['scatter', SPEED_BY_HOUR, { x: 'hour', y: 'avg_speed', series: 'depot' }],
    ['pie', VEHICLES, { x: 'depot', y: 'vehicles' }],
    ['heatmap', SPEED_BY_HOUR, { x: 'hour', y: 'avg_speed', series: 'depot' }],
  ];
  for (const [type, sql, spec] of cases) {
    it(`draws a ${type} chart of the demo data as a PNG of the asked size, with a summary`, async () => {
      const res = await chart({ sql, chart: { type, ...spec, title: `${type} of the demo`, width: 700, height: 420 } });
      assert.equal(res.isError, undefined, textOf(res));
      assert.deepEqual(pngSize(image(res)), { width: 700, height: 420 });
      const out = res.structuredContent as unknown as ChartResult;
      assert.equal(out.format, 'png');
      assert.equal(out.chart.type, type);
      assert.ok(out.points > 0 && out.rows > 0);
      assert.ok(out.render_ms > 0);
      assert.equal(textOf(res), out.summary);
      assert.match(out.summary, new RegExp(`^${type.replace('_', ' ')} chart "${type} of the demo"`));
    });
  }

  it('draws one line per depot on a time axis, with min and max per depot in the summary', async () => {
    const res = await chart({ sql: MILEAGE, chart: { type: 'line', x: 'day', y: 'km', series: 'depot' } });
    const out = res.structuredContent as unknown as ChartResult;
    assert.equal(out.chart.x_axis, 'time');
    assert.deepEqual(out.series.map((s) => s.name).sort(), ['Eldoret', 'Kisumu', 'Mombasa', 'Nairobi', 'Nakuru']);
    for (const s of out.series) assert.ok(s.min !== null && s.max !== null && s.min <= s.max);
    assert.match(out.summary, /Nairobi: \d+ pts, min [\d.]+, max [\d.]+/);
    assert.deepEqual(pngSize(image(res)), { width: 900, height: 500 });
  });

  it('returns SVG as text with the title and axis labels as text elements', async () => {
    const res = await chart({
      sql: MILEAGE,
      format: 'svg',
      chart: { type: 'line', x: 'day', y: 'km', series: 'depot', title: 'Daily mileage per depot', x_label: 'Day (Nairobi time)', y_label: 'Distance driven (km)' },
    });
    assert.equal(res.isError, undefined, textOf(res));
    assert.equal(res.content.some((c) => c.type === 'image'), false);
    const svg = res.content[0]!.type === 'text' ? res.content[0]!.text : '';
    assert.match(svg, /^<svg[^>]*width="900" height="500"/);
    for (const label of ['Daily mileage per depot', 'Day (Nairobi time)', 'Distance driven (km)', 'Nakuru']) {
      assert.ok(svg.includes(`>${label}</text>`), `SVG has the text "${label}"`);
    }
    assert.equal((res.structuredContent as unknown as ChartResult).format, 'svg');
  });

  it('names the available columns when a column is not in the result', async () => {
    const res = await chart({ sql: MILEAGE, chart: { type: 'line', x: 'date', y: 'km' } });
    assert.equal(res.isError, true);
    assert.equal(textOf(res), 'x column "date" is not in the result; available columns: day (date), depot (text), km (numeric)');
    const notNumeric = await chart({ sql: MILEAGE, chart: { type: 'bar', x: 'day', y: 'depot' } });
    assert.equal(notNumeric.isError, true);
    assert.match(textOf(notNumeric), /y column "depot" is text, not a number; numeric columns in the result: km \(numeric\)/);
  });

  it('refuses too many points for a scatter chart with a hint to aggregate, and downsamples a line', async () => {
    const sql = 'SELECT g AS n, (g % 97)::float8 AS v FROM generate_series(1, 6000) g';
    const scatter = await chart({ sql, chart: { type: 'scatter', x: 'n', y: 'v' } });
    assert.equal(scatter.isError, true);
    assert.match(textOf(scatter), /more than 5000 rows, and a scatter chart draws at most 5000 points \(MCP_CHART_MAX_POINTS\); aggregate in SQL/);
    const line = await chart({ sql, chart: { type: 'line', x: 'n', y: 'v' } });
    assert.equal(line.isError, undefined, textOf(line));
    const out = line.structuredContent as unknown as ChartResult;
    assert.equal(out.downsampled_from, 6000);
    assert.equal(out.points, 5000);
    assert.match(out.summary, /downsampled evenly from 6000/);
  });

  it('never draws part of a result: past the row ceiling a line chart is refused', async () => {
    const res = await chart({ sql: 'SELECT g AS n, g AS v FROM generate_series(1, 10001) g', chart: { type: 'line', x: 'n', y: 'v' } });
    assert.equal(res.isError, true);
    assert.match(textOf(res), /more than 10000 rows \(the server's row ceiling, MCP_MAX_ROWS\); a chart is never drawn from part of a result: aggregate/);
  });

  it('refuses a statement exactly as the query tool does', async () => {
    for (const sql of ['DELETE FROM tickets.tickets', "SELECT pg_read_file('/etc/passwd') AS x, 1 AS y", 'SELECT 1 AS x, 1 AS y; SELECT 2']) {
      const viaQuery = await call(client, 'query', { sql });
      const viaChart = await chart({ sql, chart: { type: 'bar', x: 'x', y: 'y' } });
      assert.equal(viaQuery.isError, true, sql);
      assert.equal(viaChart.isError, true, sql);
      assert.equal(textOf(viaChart), textOf(viaQuery), sql);
    }
    const count = await call(client, 'query', { sql: 'SELECT count(*) AS n FROM tickets.tickets' });
    assert.ok(((count.structuredContent as { rows: number[][] }).rows[0]![0] ?? 0) > 0, 'the tickets are still there');
  });

  it('reports database errors with their SQLSTATE, like query', async () => {
    const res = await chart({ sql: 'SELECT day, km FROM reporting.no_such_view', chart: { type: 'line', x: 'day', y: 'km' } });
    assert.equal(res.isError, true);
    assert.match(textOf(res), /^PostgreSQL error 42P01: relation "reporting.no_such_view" does not exist/);
  });
});
