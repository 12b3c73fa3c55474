import { Inject, Injectable, Logger } from '@nestjs/common';
// The renderer, errors and types only: '#charts' itself loads ECharts (~40 MiB of RSS),
// which only the render worker needs.
import { ChartInputError, ChartRenderError } from '#charts/errors';
import { ChartRenderer } from '#charts/renderer';
import { CHART_LIMITS, CHART_TYPES, type ChartSpec } from '#charts/types';
import { McpTool, ToolError, cancellationOf, type ToolCallContext, type ToolOutcome } from '#mcp-tools';
import { z } from 'zod';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { AppConfig } from '../../config/app-config.js';
import { GuardedQueryService } from '../guarded-query.service.js';

const column = (what: string) => z.string().min(1).max(128).describe(what);

const ChartSpecInput = z.object({
  type: z
    .enum(CHART_TYPES)
    .describe('line | bar | stacked_bar | area | scatter | pie (x = slice names, y = sizes) | heatmap (x = columns, series = rows, y = cell value).'),
  x: column('Result column for the horizontal axis. date/timestamp columns are drawn on a time axis.'),
  y: z
    .union([column('A numeric result column.'), z.array(column('A numeric result column.')).min(1).max(CHART_LIMITS.maxSeries)])
    .describe('One numeric column, or several (one series each).'),
  series: column('Optional: a column whose distinct values become separate series (one line/bar colour per value); for heatmap, the vertical axis.').optional(),
  title: z.string().max(CHART_LIMITS.maxTitleLength).optional(),
  x_label: z.string().max(100).optional().describe('Defaults to the x column name.'),
  y_label: z.string().max(100).optional().describe('Defaults to the y column name(s).'),
  width: z.number().int().min(CHART_LIMITS.minWidth).max(CHART_LIMITS.maxWidth).optional().describe(`Pixels, default ${CHART_LIMITS.defaultWidth}.`),
  height: z.number().int().min(CHART_LIMITS.minHeight).max(CHART_LIMITS.maxHeight).optional().describe(`Pixels, default ${CHART_LIMITS.defaultHeight}.`),
});

const ChartInput = z.object({
  sql: z
    .string()
    .min(1)
    .describe('Exactly one read-only statement (SELECT/WITH/VALUES/TABLE) returning the columns to draw, already aggregated to what the chart shows.'),
  chart: ChartSpecInput,
  format: z.enum(['png', 'svg']).optional().describe('png (default): an image the client can show; svg: the SVG markup as text.'),
});

const ChartOutput = z.object({
  summary: z.string().describe('What was drawn: axes, point count, min/max per series.'),
  format: z.enum(['png', 'svg']),
  chart: z
    .object({
      type: z.enum(CHART_TYPES),
      x: z.string(),
      y: z.array(z.string()),
      series: z.string().optional(),
      title: z.string().optional(),
      x_label: z.string(),
      y_label: z.string(),
      width: z.number().int(),
      height: z.number().int(),
      x_axis: z.enum(['time', 'value', 'category']),
    })
    .describe('The chart spec actually used, defaults filled in.'),
  rows: z.number().int().describe('Rows the query returned.'),
  points: z.number().int().describe('Points drawn.'),
  downsampled_from: z.number().int().optional().describe('Points before even downsampling (line/area only).'),
  skipped_rows: z.number().int().describe('Rows without a drawable x or y (NULL, infinity).'),
  series: z.array(z.object({ name: z.string(), points: z.number().int(), min: z.number().nullable(), max: z.number().nullable() })),
  render_ms: z.number().describe('Server time spent drawing (SVG and PNG), waiting for a render worker included.'),
});

/**
 * `chart`: a guarded query (the same guard, read-only transaction and caps as `query`)
 * drawn as a PNG or SVG by the render workers.
 */
@Injectable()
export class ChartTool {
  private readonly logger = new Logger('chart');

  constructor(
    private readonly queries: GuardedQueryService,
    private readonly renderer: ChartRenderer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @McpTool({
    name: 'chart',
    description:
      'Draw the result of one read-only SQL statement as a chart image (PNG, or SVG text) with a short text summary (axes, point count, min/max per series). The statement runs exactly like the query tool (read-only, rolled back, time-limited). Aggregate in SQL first so the result holds what the chart shows (e.g. one row per day and depot); name result columns in chart.x / chart.y / chart.series. Line and area charts with more points than the server limit are downsampled evenly; other types are refused, so aggregate. Repeated x values (per series) in bar, pie and heatmap charts are added up.',
    input: ChartInput,
    output: ChartOutput,
    annotations: { title: 'Chart a read-only SQL query', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  })
  async chart(args: z.infer<typeof ChartInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const maxPoints = this.config.chartMaxPoints;
    const downsamples = args.chart.type === 'line' || args.chart.type === 'area';
    // Line and area read up to the row ceiling and downsample; the other types can draw
    // at most maxPoints rows, so one more row than that already settles a refusal.
    const maxRows = downsamples ? this.config.maxRows : Math.min(this.config.maxRows, maxPoints + 1);
    const result = await this.queries.run({ sql: args.sql, maxRows, caller: ctx.caller, tool: 'chart', signal: cancellationOf(ctx) });
    if (result.truncatedBy === 'bytes') {
      throw new ToolError(
        `the rows passed the result size cap (MCP_MAX_RESULT_BYTES) while being read; a chart needs only its x, y and series columns: select just those, and aggregate (GROUP BY) so that fewer rows come back`,
        'too_large',
      );
    }
    if (result.truncated) {
      throw new ToolError(
        downsamples || maxRows < maxPoints + 1
          ? `the query returned more than ${maxRows} rows (the server's row ceiling, MCP_MAX_ROWS); a chart is never drawn from part of a result: aggregate in SQL (e.g. GROUP BY date_trunc('hour', …) with avg()/sum()) or filter so that at most ${maxRows} rows come back`
          : `the query returned more than ${maxPoints} rows, and a ${args.chart.type} chart draws at most ${maxPoints} points (MCP_CHART_MAX_POINTS); aggregate in SQL (e.g. GROUP BY date_trunc('day', …) with avg()/sum(), or fewer categories) or filter; only line and area charts are downsampled`,
        'too_many_points',
      );
    }
    const format = args.format ?? 'png';
    const spec: ChartSpec = args.chart;
    let rendered;
    try {
      rendered = await this.renderer.render({
        spec,
        columns: result.columns.map((c, i) => ({ name: c.name, type: result.types[i]! })),
        rows: result.rows,
        format,
        maxPoints,
      });
    } catch (err) {
      if (err instanceof ChartInputError) throw new ToolError(err.message, 'invalid_chart');
      if (err instanceof ChartRenderError) throw new ToolError(err.message, err.kind);
      throw err;
    }
    const renderMs = Math.round(rendered.totalMs * 10) / 10;
    this.logger.log(
      {
        caller: ctx.caller,
        type: rendered.specUsed.type,
        format,
        rows: result.rows.length,
        points: rendered.summary.points,
        render_ms: renderMs,
        svg_ms: Math.round(rendered.timings.svgMs),
        ...(rendered.timings.pngMs !== undefined ? { png_ms: Math.round(rendered.timings.pngMs) } : {}),
      },
      'chart rendered',
    );
    const { text, ...facts } = rendered.summary;
    return {
      structured: { summary: text, format, chart: rendered.specUsed, ...facts, render_ms: renderMs },
      content:
        format === 'png'
          ? [
              { type: 'image', data: Buffer.from(rendered.png!.buffer, rendered.png!.byteOffset, rendered.png!.byteLength).toString('base64'), mimeType: 'image/png' },
              { type: 'text', text },
            ]
          : [
              { type: 'text', text: rendered.svg },
              { type: 'text', text },
            ],
    };
  }
}
