import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { NestFactory } from '@nestjs/core';
import type { DynamicModule } from '@nestjs/common';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { AppModule } from '../apps/analytics-mcp/src/app.module.js';
import { FleetModule } from '../apps/analytics-mcp/src/fleet/fleet.module.js';
import { McpToolRegistry } from '../apps/analytics-mcp/src/mcp/mcp-tool.registry.js';
import { call, startTestDatabase, startTestServer, textOf, type TestServer } from './support/stack.js';

const FLEET_TOOLS = ['device_daily_mileage', 'latest_positions'];

describe('FleetModule: a domain module built on the public tool API', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;
  let client: Client;
  let su: pg.Client;

  before(async () => {
    db = await startTestDatabase();
    su = new pg.Client(db.superuserUrl);
    await su.connect();
    server = await startTestServer(db.databaseUrl);
    client = await server.connect();
  });
  after(async () => {
    await server?.close();
    await su?.end().catch(() => undefined);
    await db?.dispose();
  });

  it('device_daily_mileage returns the days of one vehicle, matching the materialized view', async () => {
    const { rows: expected } = await su.query<{ day: string; km: number }>(
      `SELECT day::text AS day, km::float8 AS km FROM reporting.daily_mileage WHERE device_id = 3 ORDER BY day`,
    );
    assert.ok(expected.length >= 2);
    const res = await call(client, 'device_daily_mileage', { device_id: 3, from: expected[0]!.day, to: expected.at(-1)!.day });
    assert.notEqual(res.isError, true, textOf(res));
    const out = res.structuredContent as { device: { device_id: number; depot: string }; total_km: number; days: { day: string; km: number }[] };
    assert.deepEqual(out.days.map((d) => [d.day, d.km]), expected.map((e) => [e.day, e.km]));
    assert.equal(out.device.device_id, 3);
    assert.equal(out.device.depot, 'Kisumu');
    assert.equal(out.total_km, Math.round(expected.reduce((s, e) => s + e.km, 0) * 100) / 100);
  });

  it('device_daily_mileage refuses reversed and over-long ranges and unknown devices with a reason', async () => {
    assert.match(textOf(await call(client, 'device_daily_mileage', { device_id: 3, from: '2026-02-02', to: '2026-02-01' })), /"to" \(2026-02-01\) is before "from"/);
    assert.match(textOf(await call(client, 'device_daily_mileage', { device_id: 3, from: '2020-01-01', to: '2026-01-01' })), /at most 366 days per call/);
    assert.match(textOf(await call(client, 'device_daily_mileage', { device_id: 999, from: '2026-01-01', to: '2026-01-02' })), /no device 999/);
    assert.match(textOf(await call(client, 'device_daily_mileage', { device_id: 3, from: 'yesterday', to: '2026-01-02' })), /from: a date as YYYY-MM-DD/);
  });

  it('latest_positions gives each active vehicle of a depot its last fix', async () => {
    const { rows: expected } = await su.query<{ device_id: number; recorded_at: string }>(
      `SELECT d.device_id, max(p.recorded_at)::text AS recorded_at
         FROM tracksolid.devices d JOIN tracksolid.position_history p USING (device_id)
        WHERE d.active AND d.depot = 'Nairobi' GROUP BY 1 ORDER BY 1`,
    );
    const res = await call(client, 'latest_positions', { depot: 'Nairobi' });
    assert.notEqual(res.isError, true, textOf(res));
    const out = res.structuredContent as { vehicle_count: number; vehicles: { device_id: number; depot: string; recorded_at: string }[] };
    assert.equal(out.vehicle_count, expected.length);
    assert.deepEqual(
      out.vehicles.map((v) => [v.device_id, new Date(v.recorded_at).getTime()]),
      expected.map((e) => [e.device_id, new Date(e.recorded_at).getTime()]),
    );
    assert.ok(out.vehicles.every((v) => v.depot === 'Nairobi'));
    const all = (await call(client, 'latest_positions', {})).structuredContent as { vehicle_count: number };
    assert.ok(all.vehicle_count > out.vehicle_count);
  });

  it('is added by its one import line: without it the app has the same tools minus the fleet tools', async () => {
    const full = server.app.get(McpToolRegistry).list().map((t) => t.name).sort();
    const module = AppModule.forRoot({ config: server.config });
    const without: DynamicModule = { ...module, imports: module.imports!.filter((m) => m !== FleetModule) };
    assert.equal(without.imports!.length, module.imports!.length - 1);
    const app = await NestFactory.createApplicationContext(without, { logger: false });
    try {
      const names = app.get(McpToolRegistry).list().map((t) => t.name).sort();
      assert.deepEqual(names, full.filter((n) => !FLEET_TOOLS.includes(n)));
      assert.deepEqual(full.filter((n) => FLEET_TOOLS.includes(n)), FLEET_TOOLS);
    } finally {
      await app.close();
    }
  });

  it('imports only the public tool API, the database library, zod and Nest itself', () => {
    const dir = join(process.cwd(), 'apps/analytics-mcp/src/fleet');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      for (const [, spec] of source.matchAll(/from '([^']+)'/g)) {
        assert.ok(['#mcp-tools', '#db', 'zod', '@nestjs/common'].includes(spec!) || /^\.\/[\w.-]+\.js$/.test(spec!), `${file} imports ${spec}`);
      }
    }
  });
});
