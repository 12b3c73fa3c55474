import { Inject, Injectable } from '@nestjs/common';
import { DbService, type ReadOnlyResult } from '#db';
import { McpTool, TOOL_LIMITS, ToolError, cancellationOf, type ToolCallContext, type ToolLimits, type ToolOutcome } from '#mcp-tools';
import { z } from 'zod';

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

/** Longest range device_daily_mileage answers in one call. */
const MAX_DAYS = 366;

const MILEAGE_SQL = `
SELECT m.day::text AS day, m.km::float8 AS km, m.max_speed_kmh::float8 AS max_speed_kmh, m.moving_minutes::int AS moving_minutes, m.fixes::int AS fixes
FROM reporting.daily_mileage m
WHERE m.device_id = $1 AND m.day BETWEEN $2::date AND $3::date
ORDER BY m.day`;

const DEVICE_SQL = `SELECT d.name, d.plate, d.depot FROM tracksolid.devices d WHERE d.device_id = $1`;

// One index probe per device on position_history's (device_id, recorded_at) key.
const LATEST_POSITIONS_SQL = `
SELECT d.device_id, d.name, d.plate, d.depot, p.recorded_at, p.lat, p.lon, p.speed_kmh::float8 AS speed_kmh, p.ignition
FROM tracksolid.devices d
CROSS JOIN LATERAL (
  SELECT h.recorded_at, h.lat, h.lon, h.speed_kmh, h.ignition
  FROM tracksolid.position_history h
  WHERE h.device_id = d.device_id
  ORDER BY h.recorded_at DESC
  LIMIT 1
) p
WHERE d.active AND ($1::text IS NULL OR d.depot = $1)
ORDER BY d.depot, d.device_id`;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');

const MileageInput = z.object({
  device_id: z.number().int().positive().describe('The device (vehicle tracker) id, as in tracksolid.devices.'),
  from: isoDate.describe('First day, YYYY-MM-DD (Nairobi local days).'),
  to: isoDate.describe('Last day, inclusive, YYYY-MM-DD.'),
});

const MileageOutput = z.object({
  device: z.object({ device_id: z.number(), name: z.string(), plate: z.string(), depot: z.string() }),
  total_km: z.number(),
  days: z.array(
    z.object({ day: z.string(), km: z.number(), max_speed_kmh: z.number(), moving_minutes: z.number(), fixes: z.number() }),
  ),
});

const LatestInput = z.object({
  depot: z.string().min(1).optional().describe('Only vehicles of this home depot (e.g. Nairobi); all depots when omitted.'),
});

const LatestOutput = z.object({
  vehicle_count: z.number().int(),
  truncated: z.boolean(),
  vehicles: z.array(
    z.object({
      device_id: z.number(),
      name: z.string(),
      plate: z.string(),
      depot: z.string(),
      recorded_at: z.string().describe('Time of the last fix (UTC).'),
      lat: z.number(),
      lon: z.number(),
      speed_kmh: z.number(),
      ignition: z.boolean(),
    }),
  ),
});

/** Fleet questions answered by server-written, parameterised SQL. */
@Injectable()
export class FleetTools {
  constructor(
    private readonly db: DbService,
    @Inject(TOOL_LIMITS) private readonly limits: ToolLimits,
  ) {}

  @McpTool({
    name: 'device_daily_mileage',
    description: `Kilometres driven per day by one vehicle between two dates (inclusive, at most ${MAX_DAYS} days), with top speed, moving minutes and GPS fix count, plus the total. Days without data are absent.`,
    input: MileageInput,
    output: MileageOutput,
    annotations: { title: 'Daily mileage of a vehicle', ...READ_ONLY },
  })
  async dailyMileage(args: z.infer<typeof MileageInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const from = Date.parse(`${args.from}T00:00:00Z`);
    const to = Date.parse(`${args.to}T00:00:00Z`);
    if (Number.isNaN(from) || Number.isNaN(to)) throw new ToolError('from and to must be real dates (YYYY-MM-DD)');
    if (to < from) throw new ToolError(`"to" (${args.to}) is before "from" (${args.from})`);
    const days = (to - from) / 86_400_000 + 1;
    if (days > MAX_DAYS) throw new ToolError(`at most ${MAX_DAYS} days per call; this range has ${days}. Split it, or use query for longer aggregates`);

    const [device] = objects(await this.read(DEVICE_SQL, [args.device_id], 1, ctx));
    if (!device) throw new ToolError(`no device ${args.device_id}; latest_positions or list_tables/sample_table on tracksolid.devices show the ids`);
    const rows = objects(await this.read(MILEAGE_SQL, [args.device_id, args.from, args.to], MAX_DAYS, ctx));
    const total = rows.reduce((sum, r) => sum + (r.km as number), 0);
    return {
      structured: { device: { device_id: args.device_id, ...device }, total_km: Math.round(total * 100) / 100, days: rows },
    };
  }

  @McpTool({
    name: 'latest_positions',
    description: 'Where every active vehicle is now: its last GPS fix (time, position, speed, ignition), optionally for one depot.',
    input: LatestInput,
    output: LatestOutput,
    annotations: { title: 'Latest vehicle positions', ...READ_ONLY },
  })
  async latestPositions(args: z.infer<typeof LatestInput>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const result = await this.read(LATEST_POSITIONS_SQL, [args.depot ?? null], this.limits.maxRows, ctx);
    const vehicles = objects(result);
    return { structured: { vehicle_count: vehicles.length, truncated: result.truncated, vehicles } };
  }

  private read(sql: string, values: unknown[], maxRows: number, ctx: ToolCallContext): Promise<ReadOnlyResult> {
    return this.db.query({ sql, values, maxRows, maxBytes: this.limits.rowBytes, caller: ctx.caller, signal: cancellationOf(ctx) });
  }
}

function objects(result: ReadOnlyResult): Record<string, unknown>[] {
  return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
}
