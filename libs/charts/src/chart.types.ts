export const CHART_TYPES = ['line', 'bar', 'stacked_bar', 'area', 'scatter', 'pie', 'heatmap'] as const;
export type ChartType = (typeof CHART_TYPES)[number];

/** Bounds and defaults every renderer call is held to. */
export const CHART_LIMITS = {
  minWidth: 300,
  maxWidth: 2400,
  minHeight: 200,
  maxHeight: 1600,
  defaultWidth: 900,
  defaultHeight: 500,
  /** Distinct `series` values (and pie slices in the legend): more is unreadable. */
  maxSeries: 24,
  maxTitleLength: 200,
} as const;

/** What the caller asks for; column names refer to the result's columns. */
export interface ChartSpec {
  type: ChartType;
  x: string;
  /** One value column, or several (one series each). */
  y: string | string[];
  /** A column whose distinct values become separate series (for heatmap: the vertical axis). */
  series?: string;
  title?: string;
  x_label?: string;
  y_label?: string;
  width?: number;
  height?: number;
}

/** A result column as the database described it. */
export interface ChartColumn {
  name: string;
  /** PostgreSQL type name, e.g. `date`, `numeric`, `timestamp with time zone`. */
  type: string;
}

export type AxisKind = 'time' | 'value' | 'category';

/** The spec with every default filled in and the axis kinds chosen. */
export interface ResolvedChartSpec {
  type: ChartType;
  x: string;
  y: string[];
  series?: string;
  title?: string;
  x_label: string;
  y_label: string;
  width: number;
  height: number;
  x_axis: AxisKind;
}

export interface SeriesSummary {
  name: string;
  points: number;
  min: number | null;
  max: number | null;
}

export interface ChartSummary {
  /** One or two sentences for the model: what was drawn, how many points, min/max per series. */
  text: string;
  rows: number;
  /** Points drawn (after downsampling). */
  points: number;
  /** Points the rows held before downsampling, when it happened. */
  downsampled_from?: number;
  /** Rows left out because x or every y was NULL or not a finite value. */
  skipped_rows: number;
  series: SeriesSummary[];
}

export interface ChartRequest {
  spec: ChartSpec;
  columns: ChartColumn[];
  /** Rows as arrays in column order, values as the database layer returns them. */
  rows: readonly (readonly unknown[])[];
  format: 'png' | 'svg';
  /** Above this many points, line/area charts are downsampled and other types refused. */
  maxPoints: number;
}

export interface RenderedChart {
  svg: string;
  /** Present when the request asked for PNG. */
  png?: Uint8Array;
  summary: ChartSummary;
  specUsed: ResolvedChartSpec;
  /** Time spent drawing the SVG and rasterising it, in milliseconds. */
  timings: { svgMs: number; pngMs?: number };
}
