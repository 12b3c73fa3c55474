import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pngSize } from '../../../test/support/png.js';
import { ChartRenderer } from './chart-renderer.js';
import { ChartInputError, ChartRenderError } from './chart.errors.js';
import { CHART_TYPES, type ChartRequest } from './chart.types.js';
import { renderChart } from './render-chart.js';

const DEPOTS = ['Eldoret', 'Kisumu', 'Mombasa', 'Nairobi', 'Nakuru'];
const rows = DEPOTS.flatMap((depot, i) => Array.from({ length: 7 }, (_, d) => [`2026-06-1${d}`, depot, String(100 + i * 40 + d * 3)]));
const request = (over: Partial<ChartRequest['spec']> = {}, format: 'png' | 'svg' = 'png'): ChartRequest => ({
  spec: { type: 'line', x: 'day', y: 'km', series: 'depot', title: 'Daily mileage per depot', x_label: 'Day (Nairobi)', y_label: 'Distance (km)', ...over },
  columns: [
    { name: 'day', type: 'date' },
    { name: 'depot', type: 'text' },
    { name: 'km', type: 'numeric' },
  ],
  rows,
  format,
  maxPoints: 5000,
});

describe('renderChart', () => {
  it('draws the title, axis names, labels and legend as SVG text in the shipped font', async () => {
    const { svg, png, specUsed } = await renderChart(request({}, 'svg'));
    assert.equal(png, undefined);
    assert.match(svg, /^<svg[^>]* width="900" height="500"/);
    for (const text of ['Daily mileage per depot', 'Day (Nairobi)', 'Distance (km)', 'Nairobi', 'Eldoret', 'Jun 12']) {
      assert.ok(svg.includes(`>${text}</text>`), `SVG has the text "${text}"`);
    }
    assert.match(svg, /font-family[:=]"?[^;"]*Inter/);
    assert.equal(specUsed.x_axis, 'time');
  });

  for (const type of CHART_TYPES) {
    it(`rasterises a ${type} chart to a PNG of the asked size`, async () => {
      const { png, timings } = await renderChart(request({ type, ...(type === 'pie' ? { x: 'depot', series: undefined } : {}), width: 640, height: 360 }));
      assert.ok(png);
      assert.deepEqual(pngSize(png), { width: 640, height: 360 });
      assert.ok(timings.pngMs !== undefined && timings.svgMs > 0);
    });
  }
});

describe('ChartRenderer (worker threads)', () => {
  const renderer = new ChartRenderer({ workers: 1, maxQueue: 1 });
  after(() => renderer.close());

  it('renders in a worker and reports the time taken', async () => {
    const r = await renderer.render(request());
    assert.deepEqual(pngSize(r.png!), { width: 900, height: 500 });
    assert.equal(r.summary.points, 35);
    assert.ok(r.totalMs >= r.timings.svgMs);
  });

  it('passes the spec errors through as ChartInputError', async () => {
    await assert.rejects(renderer.render(request({ y: 'distance' })), (e: Error) => e instanceof ChartInputError && /available columns: day \(date\), depot \(text\), km \(numeric\)/.test(e.message));
  });

  it('refuses at once when its queue is full, and keeps serving', async () => {
    const first = renderer.render(request());
    const second = renderer.render(request());
    await assert.rejects(renderer.render(request()), (e: Error) => e instanceof ChartRenderError && e.kind === 'busy' && /retry shortly/.test(e.message));
    await Promise.all([first, second]);
    assert.equal(renderer.queued, 0);
  });
});
