import type pg from 'pg';

export interface DemoSeedOptions {
  devices: number;
  days: number;
  /** Minutes between two position fixes of one device. */
  intervalMinutes: number;
}

/** 100 devices × 7 days every 2 minutes ≈ 504k positions. */
export const DEFAULT_DEMO_SEED: DemoSeedOptions = { devices: 100, days: 7, intervalMinutes: 2 };

export const DEMO_SEED_VERSION = 1;

const SCHEMA_SQL = `
CREATE SCHEMA tracksolid;
CREATE SCHEMA reporting;
CREATE SCHEMA tickets;
CREATE SCHEMA fuel;
COMMENT ON SCHEMA tracksolid IS 'Raw GPS telemetry from the Tracksolid trackers fitted to the fleet';
COMMENT ON SCHEMA reporting IS 'Derived views for dashboards: daily mileage, trips';
COMMENT ON SCHEMA tickets IS 'Maintenance and incident tickets raised against vehicles';
COMMENT ON SCHEMA fuel IS 'Fuel purchases by vehicle';

CREATE TABLE tracksolid.devices (
  device_id    integer PRIMARY KEY,
  imei         text NOT NULL UNIQUE,
  name         text NOT NULL,
  plate        text NOT NULL,
  model        text NOT NULL,
  depot        text NOT NULL,
  installed_at timestamptz NOT NULL,
  active       boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE tracksolid.devices IS 'One GPS tracker per vehicle';
COMMENT ON COLUMN tracksolid.devices.imei IS '15-digit IMEI of the tracker';
COMMENT ON COLUMN tracksolid.devices.plate IS 'Vehicle registration plate';
COMMENT ON COLUMN tracksolid.devices.depot IS 'Home depot the vehicle is dispatched from';
COMMENT ON COLUMN tracksolid.devices.active IS 'False once the tracker is decommissioned';

CREATE TABLE tracksolid.position_history (
  device_id   integer NOT NULL REFERENCES tracksolid.devices,
  recorded_at timestamptz NOT NULL,
  lat         double precision NOT NULL,
  lon         double precision NOT NULL,
  speed_kmh   real NOT NULL,
  heading     smallint NOT NULL,
  ignition    boolean NOT NULL,
  odometer_km double precision NOT NULL
);
COMMENT ON TABLE tracksolid.position_history IS 'GPS fixes, one row per device every few minutes';
COMMENT ON COLUMN tracksolid.position_history.recorded_at IS 'Time of the fix (UTC)';
COMMENT ON COLUMN tracksolid.position_history.lat IS 'Latitude, WGS84 degrees';
COMMENT ON COLUMN tracksolid.position_history.lon IS 'Longitude, WGS84 degrees';
COMMENT ON COLUMN tracksolid.position_history.speed_kmh IS 'Ground speed in km/h (0 when parked)';
COMMENT ON COLUMN tracksolid.position_history.heading IS 'Course over ground, degrees from north';
COMMENT ON COLUMN tracksolid.position_history.ignition IS 'Engine ignition on at the time of the fix';
COMMENT ON COLUMN tracksolid.position_history.odometer_km IS 'Cumulative distance reported by the tracker';

CREATE TABLE tickets.tickets (
  ticket_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id   integer NOT NULL REFERENCES tracksolid.devices,
  opened_at   timestamptz NOT NULL,
  closed_at   timestamptz,
  status      text NOT NULL CHECK (status IN ('open', 'in_progress', 'closed')),
  priority    text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  category    text NOT NULL,
  summary     text NOT NULL
);
COMMENT ON TABLE tickets.tickets IS 'Maintenance/incident tickets per vehicle';
COMMENT ON COLUMN tickets.tickets.closed_at IS 'Null while the ticket is open';

CREATE TABLE fuel.fill_ups (
  fill_up_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id       integer NOT NULL REFERENCES tracksolid.devices,
  filled_at       timestamptz NOT NULL,
  litres          numeric(6,2) NOT NULL,
  price_per_litre numeric(6,3) NOT NULL,
  station         text NOT NULL,
  odometer_km     double precision NOT NULL
);
COMMENT ON TABLE fuel.fill_ups IS 'Fuel card transactions matched to vehicles';
COMMENT ON COLUMN fuel.fill_ups.price_per_litre IS 'KES per litre';
`;

function dataSql(now: string, o: DemoSeedOptions): string {
  const [$1, $2, $3, $4] = [`'${now}'`, o.devices, o.days, o.intervalMinutes];
  return `
INSERT INTO tracksolid.devices
SELECT d,
       lpad((860000000000000 + d * 7919)::text, 15, '0'),
       'Truck ' || lpad(d::text, 3, '0'),
       'K' || chr(65 + d % 26) || chr(65 + (d * 7) % 26) || ' ' || (100 + d * 37 % 900) || chr(65 + (d * 3) % 26),
       (ARRAY['Isuzu FRR', 'Isuzu NQR', 'Mitsubishi Canter', 'Toyota Hilux', 'Hino 300'])[1 + d % 5],
       (ARRAY['Nairobi', 'Mombasa', 'Nakuru', 'Kisumu', 'Eldoret'])[1 + d % 5],
       ${$1}::timestamptz - (d || ' days')::interval - interval '30 days',
       d % 23 <> 0
FROM generate_series(1, ${$2}::int) d;

WITH depots(idx, lat, lon) AS (
  VALUES (0, -1.2921, 36.8219), (1, -4.0435, 39.6682), (2, -0.3031, 36.0800), (3, -0.0917, 34.7680), (4, 0.5143, 35.2698)
),
fixes AS (
  SELECT d.device_id, t AS recorded_at, dp.lat AS lat0, dp.lon AS lon0,
         extract(epoch FROM t - (${$1}::timestamptz - make_interval(days => ${$3}::int))) / 3600.0 AS h,
         (extract(hour FROM t) BETWEEN 6 AND 18) AND ((d.device_id + extract(doy FROM t)::int) % 7 <> 0)
           AND random() > 0.08 AS ignition
  FROM tracksolid.devices d
  JOIN depots dp ON dp.idx = d.device_id % 5
  CROSS JOIN generate_series(${$1}::timestamptz - make_interval(days => ${$3}::int), ${$1}::timestamptz, make_interval(mins => ${$4}::int)) t
)
INSERT INTO tracksolid.position_history
SELECT device_id, recorded_at,
       round((lat0 + 0.08 * sin(h / (3 + device_id % 4) + device_id) + 0.002 * (random() - 0.5))::numeric, 6)::float8,
       round((lon0 + 0.08 * cos(h / (4 + device_id % 3) + device_id) + 0.002 * (random() - 0.5))::numeric, 6)::float8,
       speed,
       ((h * 37 + device_id * 11)::int % 360)::smallint,
       ignition,
       round((1000 * device_id + sum(speed * ${$4}::int / 60.0) OVER (PARTITION BY device_id ORDER BY recorded_at))::numeric, 2)::float8
FROM (SELECT *, CASE WHEN ignition THEN round((15 + random() * 70)::numeric, 1)::real ELSE 0::real END AS speed FROM fixes) f;

ALTER TABLE tracksolid.position_history ADD PRIMARY KEY (device_id, recorded_at);
CREATE INDEX position_history_recorded_at_idx ON tracksolid.position_history (recorded_at);

INSERT INTO tickets.tickets (device_id, opened_at, closed_at, status, priority, category, summary)
SELECT 1 + (i * 7) % ${$2}::int,
       ${$1}::timestamptz - (i % 60 || ' days')::interval - (i % 24 || ' hours')::interval,
       CASE WHEN i % 4 = 0 THEN NULL ELSE ${$1}::timestamptz - (i % 60 || ' days')::interval + interval '2 days' END,
       CASE WHEN i % 4 = 0 THEN 'open' WHEN i % 9 = 0 THEN 'in_progress' ELSE 'closed' END,
       (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + i % 5],
       (ARRAY['brakes', 'tyres', 'engine', 'tracker', 'bodywork', 'electrical'])[1 + i % 6],
       (ARRAY['Brake pads worn, please replace', 'Tracker offline since morning', 'Flat tyre on the highway',
              'Engine warning light', 'Please delete duplicate trip from the report', 'Side mirror broken'])[1 + i % 6]
FROM generate_series(1, ${$2}::int * 6) i;

INSERT INTO fuel.fill_ups (device_id, filled_at, litres, price_per_litre, station, odometer_km)
SELECT p.device_id, p.recorded_at, round((40 + random() * 80)::numeric, 2), round((178 + random() * 12)::numeric, 3),
       (ARRAY['Shell Westlands', 'Total Mombasa Rd', 'Rubis Nakuru', 'Kenol Kisumu', 'Shell Eldoret'])[1 + p.device_id % 5],
       p.odometer_km
FROM tracksolid.position_history p
WHERE extract(hour FROM p.recorded_at) = 7 AND extract(minute FROM p.recorded_at) < ${$4}::int AND p.ignition;

CREATE MATERIALIZED VIEW reporting.daily_mileage AS
SELECT device_id,
       (recorded_at AT TIME ZONE 'Africa/Nairobi')::date AS day,
       round((max(odometer_km) - min(odometer_km))::numeric, 2) AS km,
       max(speed_kmh) AS max_speed_kmh,
       count(*) FILTER (WHERE speed_kmh > 0) * ${$4}::int AS moving_minutes,
       count(*) AS fixes
FROM tracksolid.position_history
GROUP BY 1, 2;
CREATE UNIQUE INDEX daily_mileage_pk ON reporting.daily_mileage (device_id, day);
COMMENT ON MATERIALIZED VIEW reporting.daily_mileage IS 'Distance driven per device per local (Nairobi) day; refreshed nightly';
COMMENT ON COLUMN reporting.daily_mileage.km IS 'Odometer difference over the day';

CREATE VIEW reporting.v_trips AS
WITH marked AS (
  SELECT device_id, recorded_at, odometer_km, ignition,
         sum(CASE WHEN ignition THEN 0 ELSE 1 END) OVER (PARTITION BY device_id ORDER BY recorded_at) AS grp
  FROM tracksolid.position_history
)
SELECT device_id,
       min(recorded_at) AS started_at,
       max(recorded_at) AS ended_at,
       round((max(odometer_km) - min(odometer_km))::numeric, 2) AS distance_km
FROM marked
WHERE ignition
GROUP BY device_id, grp;
COMMENT ON VIEW reporting.v_trips IS 'Trips: uninterrupted runs of ignition-on fixes per device';

CREATE TABLE public.demo_seed (version integer NOT NULL, seeded_at timestamptz NOT NULL, positions bigint NOT NULL);
INSERT INTO public.demo_seed SELECT ${DEMO_SEED_VERSION}, now(), count(*) FROM tracksolid.position_history;
ANALYZE;
`;
}

/** A minimal read-only login for the demo; db/roles/analytics_ro.sql is the production version. */
const ROLE_SQL = `
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analytics_ro') THEN
    CREATE ROLE analytics_ro LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT 20;
  END IF;
END $$;
GRANT USAGE ON SCHEMA tracksolid, reporting, tickets, fuel TO analytics_ro;
GRANT SELECT ON ALL TABLES IN SCHEMA tracksolid, reporting, tickets, fuel TO analytics_ro;
ALTER DEFAULT PRIVILEGES IN SCHEMA tracksolid, reporting, tickets, fuel GRANT SELECT ON TABLES TO analytics_ro;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER ROLE analytics_ro SET default_transaction_read_only = on;
ALTER ROLE analytics_ro SET statement_timeout = '30s';
ALTER ROLE analytics_ro SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE analytics_ro SET idle_session_timeout = '5min';
`;

/** Creates the demo schemas and data in an empty database (superuser connection). */
export async function seedDemo(client: pg.Client, opts: DemoSeedOptions = DEFAULT_DEMO_SEED): Promise<number> {
  for (const [k, v] of Object.entries(opts)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`demo seed option ${k} must be a positive integer`);
  }
  const now = new Date();
  now.setUTCSeconds(0, 0);
  await client.query('BEGIN');
  try {
    await client.query(SCHEMA_SQL);
    await client.query(dataSql(now.toISOString(), opts));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  await client.query(ROLE_SQL);
  const { rows } = await client.query<{ positions: string }>('SELECT positions FROM public.demo_seed');
  return Number(rows[0]!.positions);
}

/** Sets a fresh password on the demo's analytics_ro role (ensured by seedDemo). */
export async function resetReadOnlyPassword(client: pg.Client, password: string): Promise<void> {
  await client.query(ROLE_SQL);
  await client.query(`ALTER ROLE analytics_ro PASSWORD ${client.escapeLiteral(password)}`);
}

export async function isSeeded(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT to_regclass('public.demo_seed') IS NOT NULL AS ok`,
  );
  return rows[0]!.ok;
}
