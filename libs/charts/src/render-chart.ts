import { BarChart, HeatmapChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { prepareChart } from './chart-data.js';
import { chartFontFiles } from './chart-font.js';
import { buildOption, CHART_FONT_FAMILY } from './chart-option.js';
import type { ChartRequest, RenderedChart } from './chart.types.js';

echarts.use([LineChart, BarChart, ScatterChart, PieChart, HeatmapChart, GridComponent, LegendComponent, TitleComponent, VisualMapComponent, SVGRenderer]);

type ResvgModule = typeof import('@resvg/resvg-js');
let resvg: ResvgModule | undefined;
let fontFiles: string[] | undefined;

// The native rasteriser loads on first PNG: a platform without its binary still draws SVG.
async function loadResvg(): Promise<ResvgModule> {
  resvg ??= await import('@resvg/resvg-js');
  fontFiles ??= chartFontFiles();
  return resvg;
}

/** SVG markup for the request's chart (synchronous, CPU-bound: call it off the main thread). */
export function renderSvg(req: ChartRequest): Omit<RenderedChart, 'png' | 'timings'> {
  const prepared = prepareChart(req.spec, req.columns, req.rows, { maxPoints: req.maxPoints });
  const { width, height } = prepared.spec;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(buildOption(prepared));
    return { svg: chart.renderToSVGString(), summary: prepared.summary, specUsed: prepared.spec };
  } finally {
    chart.dispose();
  }
}

/** The chart as SVG, and as PNG when asked, with the time each step took. */
export async function renderChart(req: ChartRequest): Promise<RenderedChart> {
  const t0 = performance.now();
  const drawn = renderSvg(req);
  const svgMs = performance.now() - t0;
  if (req.format === 'svg') return { ...drawn, timings: { svgMs } };
  const { Resvg } = await loadResvg();
  const t1 = performance.now();
  const png = new Resvg(drawn.svg, {
    font: { fontFiles, loadSystemFonts: false, defaultFontFamily: CHART_FONT_FAMILY, sansSerifFamily: CHART_FONT_FAMILY },
    fitTo: { mode: 'original' },
    background: '#ffffff',
  })
    .render()
    .asPng();
  return { ...drawn, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), timings: { svgMs, pngMs: performance.now() - t1 } };
}
