// Charts from query results, drawn server-side: a spec and the rows in, SVG/PNG and a summary out.
export { ChartRenderer, type ChartRendererOptions, type RenderResult } from './chart-renderer.js';
export { renderChart, renderSvg } from './render-chart.js';
export { prepareChart, downsample, parseTime, parseNumber, isNumericType, isTimeType, type PreparedChart, type PreparedSeries } from './chart-data.js';
export { ChartInputError, ChartRenderError } from './chart.errors.js';
export {
  CHART_LIMITS,
  CHART_TYPES,
  type AxisKind,
  type ChartColumn,
  type ChartRequest,
  type ChartSpec,
  type ChartSummary,
  type ChartType,
  type RenderedChart,
  type ResolvedChartSpec,
  type SeriesSummary,
} from './chart.types.js';
