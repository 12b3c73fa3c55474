import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { call, startTestDatabase, startTestServer, textOf, type TestServer } from './support/stack.js';

interface Described {
  foreign_keys: { name: string; columns: string[]; references: { schema: string; table: string; columns: string[] }; on_delete: string }[];
  referenced_by: { name: string; from: { schema: string; table: string; columns: string[] }; columns: string[] }[];
  indexes: { name: string; columns: string[]; unique: boolean; primary: boolean; method: string; predicate: string | null; definition: string }[];
  check_constraints: { name: string; definition: string }[];
  timescaledb?: unknown;
}

interface Sampled {
  method: string;
  estimated_rows: number | null;
  row_count: number;
  truncated: boolean;
  truncated_reason?: string;
  columns: { name: string; type: string }[];
  rows: unknown[][];
}

const ESCAPES_SQL = `SELECT * FROM (VALUES (1, 'a,b', 'say "hi"', E'two\\nlines', 'x|y', NULL::text, '', E'back\\\\slash'))
  AS t(id, comma, quote, nl, pipe, nothing, empty, backslash)`;

describe('analyst tools over MCP: relationships, sample_table, explain, csv/markdown', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;
  let client: Client;

  before(async () => {
    db = await startTestDatabase();
    // Tables the guard's catalogue snapshot must know, so they exist before the server starts.
    const su = new pg.Client(db.superuserUrl);
    await su.connect();
    try {
      await su.query(`
        CREATE TABLE tracksolid.sample_big AS SELECT g AS id, md5(g::text) AS tag FROM generate_series(1, 300000) g;
        CREATE TABLE tracksolid.wide_notes AS SELECT g AS id, repeat('n', 5000) AS note FROM generate_series(1, 100) g;
        ANALYZE tracksolid.sample_big, tracksolid.wide_notes;
        GRANT SELECT ON tracksolid.sample_big, tracksolid.wide_notes TO analytics_ro;`);
    } finally {
      await su.end();
    }
    server = await startTestServer(db.databaseUrl);
    client = await server.connect();
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  const ok = async (name: string, args: Record<string, unknown>) => {
    const res = await call(client, name, args);
    assert.notEqual(res.isError, true, textOf(res));
    return res;
  };

  describe('describe_table', () => {
    it('shows the foreign key to devices and the indexes of position_history', async () => {
      const d = (await ok('describe_table', { schema: 'tracksolid', table: 'position_history' })).structuredContent as unknown as Described;
      assert.deepEqual(
        d.foreign_keys.map(({ name: _n, ...fk }) => fk),
        [{ columns: ['device_id'], references: { schema: 'tracksolid', table: 'devices', columns: ['device_id'] }, on_delete: 'no action' }],
      );
      assert.deepEqual(d.referenced_by, []);
      const pk = d.indexes.find((i) => i.primary)!;
      assert.deepEqual({ columns: pk.columns, unique: pk.unique, method: pk.method }, { columns: ['device_id', 'recorded_at'], unique: true, method: 'btree' });
      const byTime = d.indexes.find((i) => i.name === 'position_history_recorded_at_idx')!;
      assert.deepEqual({ columns: byTime.columns, unique: byTime.unique, primary: byTime.primary, predicate: byTime.predicate }, { columns: ['recorded_at'], unique: false, primary: false, predicate: null });
      assert.match(byTime.definition, /^CREATE INDEX position_history_recorded_at_idx ON tracksolid\.position_history USING btree \(recorded_at\)$/);
      assert.equal(d.timescaledb, undefined, 'no timescaledb facts without the extension');
    });

    it('shows every table that references devices, with the join columns, and its unique imei index', async () => {
      const d = (await ok('describe_table', { schema: 'tracksolid', table: 'devices' })).structuredContent as unknown as Described;
      assert.deepEqual(
        d.referenced_by.map((r) => [`${r.from.schema}.${r.from.table}`, r.from.columns, r.columns]),
        [
          ['fuel.fill_ups', ['device_id'], ['device_id']],
          ['tickets.tickets', ['device_id'], ['device_id']],
          ['tracksolid.position_history', ['device_id'], ['device_id']],
        ],
      );
      assert.deepEqual(d.foreign_keys, []);
      const imei = d.indexes.find((i) => i.columns.join() === 'imei')!;
      assert.equal(imei.unique, true);
      assert.equal(imei.primary, false);
    });

    it('shows check constraints', async () => {
      const d = (await ok('describe_table', { schema: 'tickets', table: 'tickets' })).structuredContent as unknown as Described;
      const defs = d.check_constraints.map((c) => c.definition).join('\n');
      assert.match(defs, /status = ANY \(ARRAY\['open'::text, 'in_progress'::text, 'closed'::text\]\)/);
      assert.match(defs, /priority = ANY/);
      assert.equal(d.check_constraints.length, 2);
    });

    it('shows the unique index of a materialized view', async () => {
      const d = (await ok('describe_table', { schema: 'reporting', table: 'daily_mileage' })).structuredContent as unknown as Described;
      assert.deepEqual(d.indexes.map((i) => [i.name, i.columns, i.unique]), [['daily_mileage_pk', ['device_id', 'day'], true]]);
    });
  });

  describe('sample_table', () => {
    it('returns a few rows of a view', async () => {
      const s = (await ok('sample_table', { schema: 'reporting', table: 'v_trips', n: 3 })).structuredContent as unknown as Sampled;
      assert.equal(s.method, 'first rows');
      assert.equal(s.row_count, 3);
      assert.equal(s.rows.length, 3);
      assert.deepEqual(s.columns.map((c) => c.name), ['device_id', 'started_at', 'ended_at', 'distance_km']);
    });

    it('defaults to 10 rows and refuses more than 100', async () => {
      const s = (await ok('sample_table', { schema: 'tracksolid', table: 'devices' })).structuredContent as unknown as Sampled;
      assert.equal(s.row_count, 10);
      const res = await call(client, 'sample_table', { schema: 'tracksolid', table: 'devices', n: 101 });
      assert.equal(res.isError, true);
      assert.match(textOf(res), /invalid arguments for sample_table: n: /);
    });

    it('samples random blocks of a large table', async () => {
      const s = (await ok('sample_table', { schema: 'tracksolid', table: 'sample_big', n: 20 })).structuredContent as unknown as Sampled;
      assert.equal(s.method, 'block sample');
      assert.ok(s.estimated_rows! > 250_000, String(s.estimated_rows));
      assert.equal(s.row_count, 20);
    });

    it('never splices the name into SQL: quotes, odd names and other schemas are refused by the catalogue check', async () => {
      for (const table of ['devices; DELETE FROM tracksolid.devices', 'devices"', 'Devices']) {
        const res = await call(client, 'sample_table', { schema: 'tracksolid', table });
        assert.equal(res.isError, true);
        assert.match(textOf(res), /no table or view .* in schema "tracksolid"; call list_tables/);
      }
      const res = await call(client, 'sample_table', { schema: 'pg_catalog', table: 'pg_authid' });
      assert.match(textOf(res), /schema "pg_catalog" is not readable here/);
    });

    it('stops at the result byte cap', async () => {
      const small = await startTestServer(db.databaseUrl, { MCP_MAX_RESULT_BYTES: '65536' });
      try {
        const c = await small.connect();
        const res = await call(c, 'sample_table', { schema: 'tracksolid', table: 'wide_notes', n: 100 });
        assert.notEqual(res.isError, true, textOf(res));
        const s = res.structuredContent as unknown as Sampled;
        assert.equal(s.truncated, true);
        assert.equal(s.truncated_reason, 'bytes');
        assert.ok(s.row_count > 0 && s.row_count < 100, String(s.row_count));
        assert.ok(Buffer.byteLength(JSON.stringify(res)) <= 65_536);
      } finally {
        await small.close();
      }
    });
  });

  describe('explain', () => {
    it('returns the JSON plan and a summary without running the statement', async () => {
      const res = await ok('explain', { sql: 'SELECT * FROM tracksolid.position_history WHERE device_id = 3 ORDER BY recorded_at' });
      const e = res.structuredContent as { analyzed: boolean; summary: string; top_node: string; estimated_rows: number; actual_rows?: number; plan: unknown[] };
      assert.equal(e.analyzed, false);
      assert.ok(Array.isArray(e.plan) && (e.plan[0] as { Plan?: unknown }).Plan);
      assert.equal(e.actual_rows, undefined);
      assert.ok(e.estimated_rows > 0);
      assert.match(e.summary, /estimated [\d,]+ rows \(not run; pass analyze: true/);
    });

    it('with analyze, runs it and reports actual rows and time', async () => {
      const res = await ok('explain', { sql: 'SELECT device_id, count(*) FROM tracksolid.position_history GROUP BY device_id', analyze: true });
      const e = res.structuredContent as { analyzed: boolean; summary: string; actual_rows: number; execution_ms: number; seq_scans: string[] };
      assert.equal(e.analyzed, true);
      assert.equal(e.actual_rows, 12);
      assert.equal(typeof e.execution_ms, 'number');
      assert.match(e.summary, /actual 12 rows in [\d.,]+ ms\. Planning [\d.,]+ ms, execution [\d.,]+ ms\./);
    });

    it('refuses what query refuses: a DELETE, a data-modifying CTE, a second statement', async () => {
      const su = new pg.Client(db.superuserUrl);
      await su.connect();
      try {
        const before = (await su.query('SELECT count(*)::int AS n FROM tracksolid.devices')).rows[0].n as number;
        for (const [sql, reason] of [
          ['DELETE FROM tracksolid.devices', /only one read-only SELECT\/WITH statement is allowed; found DELETE/],
          ['WITH d AS (DELETE FROM tracksolid.devices RETURNING *) SELECT * FROM d', /found DELETE inside a CTE/],
          ['SELECT 1; DELETE FROM tracksolid.devices', /found 2 statements/],
        ] as const) {
          for (const analyze of [false, true]) {
            const res = await call(client, 'explain', { sql, analyze });
            assert.equal(res.isError, true, sql);
            assert.match(textOf(res), reason);
          }
        }
        assert.equal((await su.query('SELECT count(*)::int AS n FROM tracksolid.devices')).rows[0].n, before);
      } finally {
        await su.end();
      }
    });

    it('refuses a plan larger than the result cap with a message saying so', async () => {
      const small = await startTestServer(db.databaseUrl, { MCP_MAX_RESULT_BYTES: '65536' });
      try {
        const c = await small.connect();
        const sql = Array.from({ length: 300 }, (_, i) => `SELECT device_id + ${i} FROM tracksolid.devices`).join(' UNION ALL ');
        const res = await call(c, 'explain', { sql });
        assert.equal(res.isError, true);
        assert.match(textOf(res), /the plan is larger than the server's result cap \(65536 bytes, MCP_MAX_RESULT_BYTES\)/);
      } finally {
        await small.close();
      }
    });
  });

  describe('query formats', () => {
    it('csv: RFC 4180 quoting, CRLF, a header row; NULL empty and the empty string ""', async () => {
      const res = await ok('query', { sql: ESCAPES_SQL, format: 'csv' });
      assert.equal(res.content.length, 1);
      assert.equal(textOf(res), 'id,comma,quote,nl,pipe,nothing,empty,backslash\r\n1,"a,b","say ""hi""","two\nlines",x|y,,"",back\\slash\r\n');
      const s = res.structuredContent as Record<string, unknown>;
      assert.deepEqual(
        { row_count: s.row_count, truncated: s.truncated, format: s.format, rows: s.rows },
        { row_count: 1, truncated: false, format: 'csv', rows: undefined },
      );
      assert.deepEqual((s.columns as { name: string }[]).map((c) => c.name), ['id', 'comma', 'quote', 'nl', 'pipe', 'nothing', 'empty', 'backslash']);
    });

    it('markdown: pipes and backslashes escaped, line breaks as <br>, NULL an empty cell', async () => {
      const res = await ok('query', { sql: ESCAPES_SQL, format: 'markdown' });
      assert.equal(
        textOf(res),
        '| id | comma | quote | nl | pipe | nothing | empty | backslash |\n' +
          '| --- | --- | --- | --- | --- | --- | --- | --- |\n' +
          '| 1 | a,b | say "hi" | two<br>lines | x\\|y |  |  | back\\\\slash |\n',
      );
    });

    it('says in a second block when rows were cut, keeping the table block pure', async () => {
      const res = await ok('query', { sql: 'SELECT g FROM generate_series(1, 10) g', max_rows: 3, format: 'csv' });
      assert.equal(res.content.length, 2);
      assert.equal((res.content[0] as { text: string }).text, 'g\r\n1\r\n2\r\n3\r\n');
      assert.match((res.content[1] as { text: string }).text, /^3 rows shown; more exist \(stopped at max_rows/);
      assert.deepEqual((res.structuredContent as Record<string, unknown>).truncated_reason, 'rows');
    });

    it('keeps csv and markdown within the result byte cap', async () => {
      const small = await startTestServer(db.databaseUrl, { MCP_MAX_RESULT_BYTES: '65536' });
      try {
        const c = await small.connect();
        for (const format of ['csv', 'markdown']) {
          const res = await call(c, 'query', { sql: 'SELECT * FROM tracksolid.position_history', max_rows: 5000, format });
          assert.notEqual(res.isError, true, textOf(res));
          const s = res.structuredContent as { row_count: number; truncated: boolean; truncated_reason: string };
          assert.equal(s.truncated, true);
          assert.equal(s.truncated_reason, 'bytes');
          assert.ok(s.row_count > 100 && s.row_count < 5000, String(s.row_count));
          const table = (res.content[0] as { text: string }).text;
          assert.equal(table.split(format === 'csv' ? '\r\n' : '\n').length - 1, s.row_count + (format === 'csv' ? 1 : 2));
          assert.ok(Buffer.byteLength(JSON.stringify(res)) <= 65_536, `${format}: ${Buffer.byteLength(JSON.stringify(res))}`);
        }
      } finally {
        await small.close();
      }
    });

    it('json stays the default', async () => {
      const res = await ok('query', { sql: 'SELECT 1 AS one' });
      assert.deepEqual((res.structuredContent as { rows: unknown[][] }).rows, [[1]]);
      assert.deepEqual(JSON.parse(textOf(res)), res.structuredContent);
    });
  });
});
