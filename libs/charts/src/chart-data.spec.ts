import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { downsample, parseTime, prepareChart, resolveSpec } from './chart-data.js';
import { ChartInputError } from './chart.errors.js';
import type { ChartColumn, ChartSpec } from './chart.types.js';

const COLUMNS: ChartColumn[] = [
  { name: 'day', type: 'date' },
  { name: 'depot', type: 'text' },
  { name: 'km', type: 'numeric' },
  { name: 'trips', type: 'bigint' },
];
const ROWS = [
  ['2026-06-10', 'Nairobi', '120.50', 4],
  ['2026-06-10', 'Mombasa', '80.25', 3],
  ['2026-06-11', 'Nairobi', '140.00', 5],
  ['2026-06-11', 'Mombasa', null, 2],
  ['2026-06-12', 'Nairobi', '99.75', 4],
];

const prepare = (spec: ChartSpec, rows: unknown[][] = ROWS, maxPoints = 5000) => prepareChart(spec, COLUMNS, rows, { maxPoints });

describe('resolveSpec', () => {
  it('fills in labels, size and the axis kind from the column types', () => {
    const { spec } = resolveSpec({ type: 'line', x: 'day', y: 'km', series: 'depot' }, COLUMNS);
    assert.deepEqual(spec, { type: 'line', x: 'day', y: ['km'], series: 'depot', x_label: 'day', y_label: 'km', width: 900, height: 500, x_axis: 'time' });
    assert.equal(resolveSpec({ type: 'bar', x: 'depot', y: ['km', 'trips'] }, COLUMNS).spec.x_axis, 'category');
    assert.equal(resolveSpec({ type: 'scatter', x: 'trips', y: 'km' }, COLUMNS).spec.x_axis, 'value');
    assert.equal(resolveSpec({ type: 'bar', x: 'trips', y: 'km' }, COLUMNS).spec.x_axis, 'category');
  });

  it('names the available columns when a column is missing, and suggests a case fix', () => {
    assert.throws(
      () => resolveSpec({ type: 'line', x: 'date', y: 'km' }, COLUMNS),
      (e: Error) => e instanceof ChartInputError && /x column "date" is not in the result; available columns: day \(date\), depot \(text\), km \(numeric\), trips \(bigint\)/.test(e.message),
    );
    assert.throws(() => resolveSpec({ type: 'line', x: 'day', y: 'KM' }, COLUMNS), /y column "KM" is not in the result \(did you mean "km"\?\)/);
    assert.throws(() => resolveSpec({ type: 'line', x: 'day', y: 'km', series: 'region' }, COLUMNS), /series column "region" is not in the result/);
  });

  it('refuses a non-numeric y, naming the numeric columns', () => {
    assert.throws(() => resolveSpec({ type: 'bar', x: 'day', y: 'depot' }, COLUMNS), /y column "depot" is text, not a number; numeric columns in the result: km \(numeric\), trips \(bigint\)/);
  });

  it('refuses ambiguous columns, a pie with series, a heatmap without one, and sizes out of bounds', () => {
    const dup = [...COLUMNS, { name: 'km', type: 'integer' }];
    assert.throws(() => resolveSpec({ type: 'line', x: 'day', y: 'km' }, dup), /appears 2 times in the result; give the columns distinct aliases/);
    assert.throws(() => resolveSpec({ type: 'pie', x: 'depot', y: 'km', series: 'day' }, COLUMNS), /a pie chart takes no series/);
    assert.throws(() => resolveSpec({ type: 'heatmap', x: 'day', y: 'km' }, COLUMNS), /a heatmap needs series/);
    assert.throws(() => resolveSpec({ type: 'line', x: 'day', y: 'km', width: 10_000 }, COLUMNS), /width must be a whole number from 300 to 2400/);
    assert.throws(() => resolveSpec({ type: 'line', x: 'day', y: 'km', height: 50 }, COLUMNS), /height must be a whole number from 200 to 1600/);
  });
});

describe('parseTime', () => {
  it('reads PostgreSQL date and timestamp text as wall-clock UTC positions', () => {
    assert.equal(parseTime('2026-06-10'), Date.UTC(2026, 5, 10));
    assert.equal(parseTime('2026-06-10 07:30:00'), Date.UTC(2026, 5, 10, 7, 30));
    assert.equal(parseTime('2026-06-10 07:30:00.25+03'), Date.UTC(2026, 5, 10, 7, 30, 0, 250));
    assert.equal(parseTime('2026-06-10 07:30:00+05:30'), Date.UTC(2026, 5, 10, 7, 30));
    assert.equal(parseTime('infinity'), null);
    assert.equal(parseTime('0044-03-15 BC'), null);
    assert.equal(parseTime(42), null);
  });
});

describe('prepareChart', () => {
  it('pivots rows on the series column, one series per value in first-seen order, skipping NULL values', () => {
    const c = prepare({ type: 'line', x: 'day', y: 'km', series: 'depot' });
    assert.deepEqual(
      c.series.map((s) => [s.name, s.points]),
      [
        ['Nairobi', [[Date.UTC(2026, 5, 10), 120.5], [Date.UTC(2026, 5, 11), 140], [Date.UTC(2026, 5, 12), 99.75]]],
        ['Mombasa', [[Date.UTC(2026, 5, 10), 80.25]]],
      ],
    );
    assert.equal(c.summary.points, 4);
    assert.equal(c.summary.skipped_rows, 1);
    assert.deepEqual(c.summary.series[0], { name: 'Nairobi', points: 3, min: 99.75, max: 140 });
    assert.match(c.summary.text, /^line chart: x = day \(time axis, 2026-06-10 … 2026-06-12\), y = km, one series per depot\. 4 points from 5 rows; 1 rows skipped/);
    assert.match(c.summary.text, /Nairobi: 3 pts, min 99\.75, max 140; Mombasa: 1 pts, min 80\.25, max 80\.25/);
  });

  it('draws several y columns as one series each, and crosses them with series', () => {
    assert.deepEqual(prepare({ type: 'bar', x: 'depot', y: ['km', 'trips'] }).series.map((s) => s.name), ['km', 'trips']);
    assert.deepEqual(prepare({ type: 'line', x: 'day', y: ['km', 'trips'], series: 'depot' }).series.map((s) => s.name), ['Nairobi · km', 'Nairobi · trips', 'Mombasa · km', 'Mombasa · trips']);
  });

  it('adds up repeated categories (pie slices) and says so', () => {
    const c = prepare({ type: 'pie', x: 'depot', y: 'trips' });
    assert.deepEqual(c.categories, ['Nairobi', 'Mombasa']);
    assert.deepEqual(c.series[0]!.points, [[0, 13], [1, 5]]);
    assert.match(c.summary.text, /rows with the same x \(and series\) were added up/);
  });

  it('lays out heatmap cells as [x, row, value] with the series values as rows', () => {
    const c = prepare({ type: 'heatmap', x: 'day', y: 'trips', series: 'depot' });
    assert.deepEqual(c.categories, ['2026-06-10', '2026-06-11', '2026-06-12']);
    assert.deepEqual(c.rowCategories, ['Nairobi', 'Mombasa']);
    assert.deepEqual(c.series[0]!.points, [[0, 0, 4], [0, 1, 3], [1, 0, 5], [1, 1, 2], [2, 0, 4]]);
  });

  it('sorts a line by x whatever the row order', () => {
    const c = prepare({ type: 'line', x: 'day', y: 'km' }, [...ROWS].reverse());
    const xs = c.series[0]!.points.map((p) => p[0]!);
    assert.deepEqual(xs, [...xs].sort((a, b) => a - b));
  });

  it('downsamples line and area charts evenly to the point budget, keeping both ends', () => {
    const rows = Array.from({ length: 12_000 }, (_, i) => [new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().slice(0, 19).replace('T', ' '), i % 2 ? 'a' : 'b', String(i), i]);
    const columns: ChartColumn[] = [{ name: 'ts', type: 'timestamp without time zone' }, ...COLUMNS.slice(1)];
    const c = prepareChart({ type: 'area', x: 'ts', y: 'km', series: 'depot' }, columns, rows, { maxPoints: 5000 });
    assert.equal(c.summary.downsampled_from, 12_000);
    assert.ok(c.summary.points <= 5000 && c.summary.points >= 4990, String(c.summary.points));
    for (const s of c.series) assert.equal(s.points.length, 2500);
    assert.deepEqual(c.series[0]!.points[0], [Date.UTC(2026, 0, 1), 0]);
    assert.deepEqual(c.series[1]!.points.at(-1), [Date.UTC(2026, 0, 1) + 11_999 * 60_000, 11_999]);
    assert.match(c.summary.text, /\(downsampled evenly from 12000\)/);
    assert.equal(c.summary.series[1]!.max, 11_999, 'min/max describe every row, not only the drawn ones');
  });

  it('refuses other chart types past the point budget, with a hint to aggregate', () => {
    const rows = Array.from({ length: 30 }, (_, i) => [`2026-06-${String(1 + (i % 28)).padStart(2, '0')}`, `d${i}`, '1', i]);
    assert.throws(() => prepare({ type: 'scatter', x: 'day', y: 'km' }, rows, 20), /a scatter chart of this result would draw 30 points, more than the 20 allowed; aggregate in SQL .*GROUP BY date_trunc/);
  });

  it('refuses more series than can be told apart, and results with nothing to draw', () => {
    const rows = Array.from({ length: 30 }, (_, i) => ['2026-06-10', `depot ${i}`, '1', i]);
    assert.throws(() => prepare({ type: 'line', x: 'day', y: 'km', series: 'depot' }, rows), /30 series \(distinct values of depot\); at most 24 can be drawn/);
    assert.throws(() => prepare({ type: 'line', x: 'day', y: 'km' }, []), /the query returned no rows/);
    assert.throws(() => prepare({ type: 'line', x: 'day', y: 'km' }, [['2026-06-10', 'x', null, 1]]), /none of the 1 rows has both an x value/);
  });
});

describe('downsample', () => {
  it('picks evenly spaced points including the first and last', () => {
    assert.deepEqual(downsample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3), [0, 5, 10]);
    assert.deepEqual(downsample([1, 2], 5), [1, 2]);
  });
});
