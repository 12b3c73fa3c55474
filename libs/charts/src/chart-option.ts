import type { PreparedChart } from './chart-data.js';
import { formatNumber } from './chart-data.js';

/** The family name inside the shipped font file; the SVG names it and resvg resolves it. */
export const CHART_FONT_FAMILY = 'Inter';

const TEXT = '#333';
const MUTED = '#666';
// Beyond this many points per series, line symbols only add noise (and render time).
const SYMBOL_LIMIT = 60;

/** The ECharts option for a prepared chart: static (no animation), white background, the shipped font. */
export function buildOption(chart: PreparedChart): Record<string, unknown> {
  const { spec, series } = chart;
  const multi = spec.type === 'heatmap' ? false : spec.type === 'pie' ? (chart.categories?.length ?? 0) <= 24 : series.length > 1;
  const legendRows = multi ? Math.ceil(legendWidth(spec.type === 'pie' ? chart.categories! : series.map((s) => s.name)) / (spec.width - 80)) : 0;
  const top = spec.title ? 56 : 28;
  const bottom = 30 + (multi ? 8 + legendRows * 22 : 0);
  const base: Record<string, unknown> = {
    animation: false,
    useUTC: true,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: CHART_FONT_FAMILY, color: TEXT },
    ...(spec.title ? { title: { text: spec.title, left: 'center', top: 12, textStyle: { fontFamily: CHART_FONT_FAMILY, fontSize: 17, fontWeight: 600, color: TEXT } } } : {}),
    ...(multi ? { legend: { type: 'plain', bottom: 10, left: 'center', itemGap: 14, textStyle: { fontFamily: CHART_FONT_FAMILY, fontSize: 12, color: TEXT } } } : {}),
  };

  if (spec.type === 'pie') {
    const cats = chart.categories!;
    return {
      ...base,
      series: [
        {
          type: 'pie',
          name: spec.y[0],
          radius: ['0%', '62%'],
          center: ['50%', spec.title ? '52%' : '48%'],
          label: { fontFamily: CHART_FONT_FAMILY, color: TEXT, formatter: '{b}: {d}%' },
          data: series[0]!.points.map((p) => ({ name: cats[p[0]!], value: p[1] })),
        },
      ],
    };
  }

  const grid = { left: 24, right: 48, top, bottom, outerBoundsMode: 'same', outerBoundsContain: 'all' };
  const axisName = { fontFamily: CHART_FONT_FAMILY, fontSize: 13, color: TEXT };
  const axisLabel = { fontFamily: CHART_FONT_FAMILY, fontSize: 12, color: MUTED, hideOverlap: true };
  const xAxis: Record<string, unknown> = {
    type: spec.x_axis,
    name: spec.x_label,
    nameLocation: 'middle',
    nameGap: 30,
    nameTextStyle: axisName,
    axisLabel,
    ...(spec.x_axis === 'category' ? { data: chart.categories } : { scale: spec.x_axis === 'value' }),
  };
  // A bare day number ("10") says too little on its own: name the month with it, and
  // over a few weeks keep month and year boundaries as dates too ("Dec 1", not "Dec 2026").
  if (spec.x_axis === 'time') {
    const short = timeSpanMs(chart) <= 62 * DAY_MS;
    xAxis.axisLabel = {
      ...axisLabel,
      formatter: {
        year: short ? '{MMM} {d}' : '{yyyy}',
        month: short ? '{MMM} {d}' : '{MMM} {yyyy}',
        day: '{MMM} {d}',
        hour: '{HH}:{mm}',
        minute: '{HH}:{mm}',
        second: '{HH}:{mm}:{ss}',
      },
    };
  }
  const yAxis: Record<string, unknown> = {
    type: spec.type === 'heatmap' ? 'category' : 'value',
    name: spec.y_label,
    nameLocation: 'middle',
    nameGap: 52,
    nameTextStyle: axisName,
    axisLabel: { ...axisLabel, ...(spec.type === 'heatmap' ? {} : { formatter: (v: number) => formatNumber(v) }) },
    // Lines and dots read differences, so their axis fits the data; bars and areas show amounts from zero.
    ...(spec.type === 'heatmap' ? { data: chart.rowCategories } : { scale: spec.type === 'scatter' || spec.type === 'line' }),
  };

  if (spec.type === 'heatmap') {
    const s = chart.summary.series[0]!;
    return {
      ...base,
      grid: { ...grid, right: 110 },
      xAxis: { ...xAxis, splitArea: { show: true } },
      yAxis: { ...yAxis, splitArea: { show: true } },
      visualMap: {
        type: 'continuous',
        min: s.min,
        max: s.max === s.min ? s.min! + 1 : s.max,
        calculable: false,
        orient: 'vertical',
        right: 10,
        top: 'middle',
        text: [formatNumber(s.max!), formatNumber(s.min!)],
        textStyle: { fontFamily: CHART_FONT_FAMILY, color: TEXT },
        inRange: { color: ['#f0f9e8', '#7bccc4', '#0868ac'] },
      },
      series: [{ type: 'heatmap', name: spec.y[0], data: series[0]!.points, label: { show: false } }],
    };
  }

  const category = spec.x_axis === 'category';
  const drawn = series.map((s) => {
    // On a category axis every series is aligned to the category list (gaps stay empty).
    let data: unknown[] = s.points;
    if (category) {
      const aligned: (number | null)[] = new Array(chart.categories!.length).fill(null);
      for (const p of s.points) aligned[p[0]!] = p[1]!;
      data = aligned;
    }
    const common = { name: s.name, data };
    switch (spec.type) {
      case 'line':
      case 'area':
        return {
          ...common,
          type: 'line',
          showSymbol: s.points.length <= SYMBOL_LIMIT,
          symbolSize: 5,
          connectNulls: false,
          lineStyle: { width: 2 },
          ...(spec.type === 'area' ? { areaStyle: { opacity: 0.25 } } : {}),
        };
      case 'bar':
        return { ...common, type: 'bar', barMaxWidth: 48 };
      case 'stacked_bar':
        return { ...common, type: 'bar', stack: 'total', barMaxWidth: 48 };
      case 'scatter':
        return { ...common, type: 'scatter', symbolSize: 6 };
      default:
        throw new Error(`unhandled chart type ${spec.type}`);
    }
  });
  return { ...base, grid, xAxis, yAxis, series: drawn };
}

const DAY_MS = 86_400_000;

function timeSpanMs(chart: PreparedChart): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of chart.series) {
    for (const p of s.points) {
      lo = Math.min(lo, p[0]!);
      hi = Math.max(hi, p[0]!);
    }
  }
  return hi - lo;
}

// Rough legend width: ~7 px per character at 12 px plus the icon and gap.
function legendWidth(names: string[]): number {
  return names.reduce((w, n) => w + 7 * Math.min(n.length, 40) + 25 + 14, 0);
}
