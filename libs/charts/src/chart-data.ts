import { ChartInputError } from './chart.errors.js';
import {
  CHART_LIMITS,
  type AxisKind,
  type ChartColumn,
  type ChartSpec,
  type ChartSummary,
  type ResolvedChartSpec,
  type SeriesSummary,
} from './chart.types.js';

const TIME_TYPES = new Set(['date', 'timestamp without time zone', 'timestamp with time zone']);
const NUMERIC_TYPES = new Set(['smallint', 'integer', 'bigint', 'real', 'double precision', 'numeric', 'oid']);

export const isTimeType = (type: string) => TIME_TYPES.has(type);
export const isNumericType = (type: string) => NUMERIC_TYPES.has(type);

/**
 * One drawn series. A point is [x, y]: x is epoch ms (time axis), a number (value axis)
 * or a category index. Heatmap points are [x index, row index, value].
 */
export interface PreparedSeries {
  name: string;
  points: number[][];
}

export interface PreparedChart {
  spec: ResolvedChartSpec;
  series: PreparedSeries[];
  /** Category-axis labels (x), in first-seen order. */
  categories?: string[];
  /** Heatmap: the vertical axis' labels (the `series` column's values). */
  rowCategories?: string[];
  summary: ChartSummary;
}

export interface PrepareOptions {
  maxPoints: number;
}

/**
 * PostgreSQL's text for date/timestamp/timestamptz as a time-axis position. Times are
 * drawn as PostgreSQL printed them (wall clock in the session's time zone): the offset
 * is not applied, and the axis is formatted in UTC, so labels match the rows' text.
 * Infinity and BC dates have no place on the axis: null.
 */
export function parseTime(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?)?(?:[+-]\d\d(?::?\d\d){0,2}|Z)?$/.exec(value);
  if (!m) return null;
  const ms = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), ms);
  return Number.isFinite(t) ? t : null;
}

/** A numeric result value (JSON number, or exact text for numeric/bigint) as a finite number. */
export function parseNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function describeColumns(columns: readonly ChartColumn[]): string {
  return columns.map((c) => `${c.name} (${c.type})`).join(', ');
}

function findColumn(columns: readonly ChartColumn[], name: string, role: string): number {
  const matches = columns.flatMap((c, i) => (c.name === name ? [i] : []));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new ChartInputError(`${role} column "${name}" appears ${matches.length} times in the result; give the columns distinct aliases (AS …)`);
  }
  const folded = columns.filter((c) => c.name.toLowerCase() === name.toLowerCase());
  const hint = folded.length === 1 ? ` (did you mean "${folded[0]!.name}"?)` : '';
  throw new ChartInputError(`${role} column "${name}" is not in the result${hint}; available columns: ${describeColumns(columns)}`);
}

function xAxisKind(type: ResolvedChartSpec['type'], columnType: string): AxisKind {
  if (type === 'pie' || type === 'heatmap') return 'category';
  if (isTimeType(columnType)) return 'time';
  if (isNumericType(columnType) && (type === 'line' || type === 'area' || type === 'scatter')) return 'value';
  return 'category';
}

/** Checks the spec against the result's columns and fills in every default. */
export function resolveSpec(spec: ChartSpec, columns: readonly ChartColumn[]): { spec: ResolvedChartSpec; x: number; y: number[]; series?: number } {
  const ys = Array.isArray(spec.y) ? spec.y : [spec.y];
  if (ys.length === 0) throw new ChartInputError(`y needs at least one column; available columns: ${describeColumns(columns)}`);
  if (ys.length > CHART_LIMITS.maxSeries) throw new ChartInputError(`y names ${ys.length} columns; at most ${CHART_LIMITS.maxSeries} can be drawn`);
  const width = spec.width ?? CHART_LIMITS.defaultWidth;
  const height = spec.height ?? CHART_LIMITS.defaultHeight;
  if (!Number.isInteger(width) || width < CHART_LIMITS.minWidth || width > CHART_LIMITS.maxWidth) {
    throw new ChartInputError(`width must be a whole number from ${CHART_LIMITS.minWidth} to ${CHART_LIMITS.maxWidth} pixels`);
  }
  if (!Number.isInteger(height) || height < CHART_LIMITS.minHeight || height > CHART_LIMITS.maxHeight) {
    throw new ChartInputError(`height must be a whole number from ${CHART_LIMITS.minHeight} to ${CHART_LIMITS.maxHeight} pixels`);
  }
  const x = findColumn(columns, spec.x, 'x');
  const y = ys.map((name) => findColumn(columns, name, 'y'));
  for (const i of y) {
    const c = columns[i]!;
    if (!isNumericType(c.type)) {
      const numeric = columns.filter((col) => isNumericType(col.type));
      throw new ChartInputError(
        `y column "${c.name}" is ${c.type}, not a number; ` +
          (numeric.length ? `numeric columns in the result: ${describeColumns(numeric)}` : 'the result has no numeric column (cast one, e.g. count(*)::int, or km::float8)'),
      );
    }
  }
  let series: number | undefined;
  if (spec.series !== undefined) {
    if (spec.type === 'pie') throw new ChartInputError('a pie chart takes no series: its slices are the x values; drop series, or use stacked_bar to split each x by series');
    series = findColumn(columns, spec.series, 'series');
  }
  if (spec.type === 'heatmap') {
    if (series === undefined) throw new ChartInputError(`a heatmap needs series: the column for its vertical axis (x is the horizontal one, y the cell value); available columns: ${describeColumns(columns)}`);
    if (y.length !== 1) throw new ChartInputError('a heatmap takes exactly one y column: the cell value');
  }
  if (spec.type === 'pie' && y.length !== 1) throw new ChartInputError('a pie chart takes exactly one y column: the slice size');
  const title = spec.title?.trim() ? spec.title.trim().slice(0, CHART_LIMITS.maxTitleLength) : undefined;
  return {
    spec: {
      type: spec.type,
      x: columns[x]!.name,
      y: y.map((i) => columns[i]!.name),
      ...(series !== undefined ? { series: columns[series]!.name } : {}),
      ...(title ? { title } : {}),
      x_label: spec.x_label ?? columns[x]!.name,
      y_label: spec.y_label ?? (spec.type === 'heatmap' ? columns[series!]!.name : ys.join(', ')),
      width,
      height,
      x_axis: xAxisKind(spec.type, columns[x]!.type),
    },
    x,
    y,
    series,
  };
}

const labelOf = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Evenly spaced picks that keep the first and the last point. */
export function downsample<T>(points: readonly T[], target: number): T[] {
  if (points.length <= target) return [...points];
  if (target <= 1) return [points[0]!];
  const out: T[] = [];
  const step = (points.length - 1) / (target - 1);
  for (let i = 0; i < target; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

/**
 * The rows as drawable series: values parsed, rows pivoted on `series`, category axes
 * aligned, the point budget applied (line and area are downsampled evenly, other
 * types refused), and the summary the model reads.
 */
export function prepareChart(spec: ChartSpec, columns: readonly ChartColumn[], rows: readonly (readonly unknown[])[], opts: PrepareOptions): PreparedChart {
  const r = resolveSpec(spec, columns);
  const used = r.spec;
  const xKind = used.x_axis;
  const xType = columns[r.x]!.type;
  const categories: string[] = [];
  const categoryIndex = new Map<string, number>();
  const rowCategories: string[] = [];
  const rowIndex = new Map<string, number>();
  const groups = new Map<string, PreparedSeries>();
  const heatmap = used.type === 'heatmap';
  const vi = heatmap ? 2 : 1;
  let skipped = 0;
  let merged = false;

  const indexOf = (list: string[], index: Map<string, number>, label: string) => {
    let i = index.get(label);
    if (i === undefined) {
      i = list.length;
      list.push(label);
      index.set(label, i);
    }
    return i;
  };

  for (const row of rows) {
    let xv: number | null;
    if (xKind === 'time') xv = parseTime(row[r.x]);
    else if (xKind === 'value') xv = parseNumber(row[r.x]);
    else xv = row[r.x] === null || row[r.x] === undefined ? null : indexOf(categories, categoryIndex, labelOf(row[r.x]));
    if (xv === null) {
      skipped++;
      continue;
    }
    const seriesLabel = r.series !== undefined ? labelOf(row[r.series]) : undefined;
    let any = false;
    for (let k = 0; k < r.y.length; k++) {
      const yv = parseNumber(row[r.y[k]!]);
      if (yv === null) continue;
      any = true;
      let name: string;
      if (heatmap) name = used.y[0]!;
      else if (seriesLabel === undefined) name = used.y[k]!;
      else name = r.y.length > 1 ? `${seriesLabel} · ${used.y[k]}` : seriesLabel;
      let g = groups.get(name);
      if (!g) {
        g = { name, points: [] };
        groups.set(name, g);
      }
      g.points.push(heatmap ? [xv, indexOf(rowCategories, rowIndex, seriesLabel!), yv] : [xv, yv]);
    }
    if (!any) skipped++;
  }

  let series = [...groups.values()];
  if (!heatmap && series.length > CHART_LIMITS.maxSeries) {
    throw new ChartInputError(
      `the chart would have ${series.length} series (${used.series ? `distinct values of ${used.series}` : 'y columns'}${used.series && used.y.length > 1 ? ` × ${used.y.length} y columns` : ''}); at most ${CHART_LIMITS.maxSeries} can be drawn: filter, or group the rest in SQL (e.g. CASE WHEN rank <= 10 THEN name ELSE 'other' END)`,
    );
  }

  // Category axes and pie/heatmap cells: one value per (series, x); repeated rows add up.
  if (xKind === 'category') {
    series = series.map((s) => {
      const byKey = new Map<string, number[]>();
      for (const p of s.points) {
        const k = heatmap ? `${p[0]},${p[1]}` : String(p[0]);
        const prev = byKey.get(k);
        if (prev) {
          merged = true;
          prev[vi]! += p[vi]!;
        } else {
          byKey.set(k, [...p]);
        }
      }
      return { name: s.name, points: [...byKey.values()] };
    });
  } else if (used.type === 'line' || used.type === 'area') {
    // A line follows x, whatever order the rows came in.
    for (const s of series) s.points.sort((a, b) => a[0]! - b[0]!);
  }

  const summaries: SeriesSummary[] = series.map((s) => {
    let min = Infinity;
    let max = -Infinity;
    for (const p of s.points) {
      const v = p[vi]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { name: s.name, points: s.points.length, min: s.points.length ? min : null, max: s.points.length ? max : null };
  });

  const total = series.reduce((n, s) => n + s.points.length, 0);
  let downsampledFrom: number | undefined;
  if (total > opts.maxPoints) {
    if (used.type !== 'line' && used.type !== 'area') {
      throw new ChartInputError(
        `a ${used.type} chart of this result would draw ${total} points, more than the ${opts.maxPoints} allowed; aggregate in SQL so that fewer rows come back (e.g. GROUP BY date_trunc('day', …) with avg()/sum(), or fewer categories), or filter`,
      );
    }
    downsampledFrom = total;
    series = series.map((s) => ({ name: s.name, points: downsample(s.points, Math.max(2, Math.floor((s.points.length * opts.maxPoints) / total))) }));
    summaries.forEach((sum, i) => (sum.points = series[i]!.points.length));
  }
  const points = series.reduce((n, s) => n + s.points.length, 0);
  if (points === 0) {
    throw new ChartInputError(
      rows.length === 0
        ? 'the query returned no rows: nothing to draw; check its WHERE clause (the query tool shows the rows)'
        : `none of the ${rows.length} rows has both an x value (${used.x}, ${xType}) and a numeric y value (${used.y.join(', ')}): nothing to draw`,
    );
  }

  const summary: ChartSummary = {
    text: summaryText(used, series, summaries, { rows: rows.length, points, downsampledFrom, skipped, merged, categories }),
    rows: rows.length,
    points,
    ...(downsampledFrom !== undefined ? { downsampled_from: downsampledFrom } : {}),
    skipped_rows: skipped,
    series: summaries,
  };
  return {
    spec: used,
    series,
    ...(xKind === 'category' ? { categories } : {}),
    ...(heatmap ? { rowCategories } : {}),
    summary,
  };
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1000 || Number.isInteger(v)) return String(Math.round(v));
  return String(Number(v.toPrecision(abs >= 1 ? 4 : 3)));
}

function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ');
}

function summaryText(
  spec: ResolvedChartSpec,
  series: PreparedSeries[],
  summaries: SeriesSummary[],
  facts: { rows: number; points: number; downsampledFrom?: number; skipped: number; merged: boolean; categories: string[] },
): string {
  const parts: string[] = [];
  const what = `${spec.type.replace('_', ' ')} chart${spec.title ? ` "${spec.title}"` : ''}`;
  let xDesc = `x = ${spec.x}`;
  if (spec.x_axis !== 'category') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      for (const p of s.points) {
        lo = Math.min(lo, p[0]!);
        hi = Math.max(hi, p[0]!);
      }
    }
    const fmt = spec.x_axis === 'time' ? formatTime : formatNumber;
    xDesc += ` (${spec.x_axis} axis, ${fmt(lo)} … ${fmt(hi)})`;
  } else {
    xDesc += ` (${facts.categories.length} ${spec.type === 'pie' ? 'slices' : 'categories'})`;
  }
  const yDesc = spec.type === 'heatmap' ? `rows = ${spec.series}, cell value = ${spec.y[0]}` : `y = ${spec.y.join(', ')}${spec.series ? `, one series per ${spec.series}` : ''}`;
  parts.push(`${what}: ${xDesc}, ${yDesc}.`);
  let counts = `${facts.points} points from ${facts.rows} rows`;
  if (facts.downsampledFrom !== undefined) counts += ` (downsampled evenly from ${facts.downsampledFrom})`;
  if (facts.skipped) counts += `; ${facts.skipped} rows skipped (NULL or non-finite x/y)`;
  if (facts.merged) counts += '; rows with the same x (and series) were added up';
  parts.push(`${counts}.`);
  if (spec.type === 'heatmap') {
    const s = summaries[0]!;
    parts.push(`${spec.y[0]} ranges ${formatNumber(s.min!)} to ${formatNumber(s.max!)}.`);
  } else {
    const shown = summaries.slice(0, 12).map((s) => (s.points ? `${s.name}: ${s.points} pts, min ${formatNumber(s.min!)}, max ${formatNumber(s.max!)}` : `${s.name}: no points`));
    if (summaries.length > 12) shown.push(`… ${summaries.length - 12} more series`);
    parts.push(`${shown.join('; ')}.`);
  }
  return parts.join(' ');
}
