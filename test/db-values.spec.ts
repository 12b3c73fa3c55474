import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, DbService } from '#db';
import { startTestDatabase } from './support/stack.js';

// Every type family the mapping treats specially, plus awkward text.
const SQL = `
SELECT 1::int2 AS i2, (-2147483648)::int4 AS i4, 42::oid AS o,
       9007199254740991::int8 AS i8_safe, 9007199254740993::int8 AS i8_big, (-9223372036854775808)::int8 AS i8_min,
       1.5::float4 AS f4, 'NaN'::float8 AS nan, 'Infinity'::float8 AS inf, '-Infinity'::float4 AS ninf,
       1e300::float8 AS huge, -0::float8 AS negzero, 0.1::float8 AS tenth,
       12345678901234567890.123456789::numeric AS num, true AS t, false AS f,
       E'quote " backslash \\\\ newline \\n tab \\t unicode é ☃ \\u0001' AS txt,
       '{"a": [1, 2.5, "x"], "b": null}'::json AS js, '{"b": {"c": true}}'::jsonb AS jsb,
       ARRAY[1, NULL, 3]::int4[] AS ints, ARRAY[[1,2],[3,4]]::int8[] AS nested, ARRAY['a"b', NULL, 'c,d']::text[] AS texts,
       ARRAY['NaN', '1.25']::float8[] AS floats, ARRAY[true, false]::bool[] AS bools, ARRAY['{"k":1}']::jsonb[] AS jsons,
       ARRAY['x']::name[] AS names, '2026-01-02 03:04:05.123+00'::timestamptz AS ts, '2026-01-02'::date AS d,
       '1 day 02:03:04'::interval AS iv, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '\\xdeadbeef'::bytea AS b,
       NULL::int4 AS null_int, NULL::text AS null_text, ''::text AS empty
FROM generate_series(1, 3)`;

// Many rows across many socket chunks: random floats of every magnitude, texts of
// every length with quotes, control characters and non-ASCII, NULLs, big int8s.
const MANY_SQL = `
SELECT g AS n, (random() * 10 ^ (random() * 40 - 20))::float8 AS f8, (random() * 1000)::float4 AS f4,
       (g::int8 * 1234567891234) AS i8, g % 3 = 0 AS b,
       CASE WHEN g % 7 = 0 THEN NULL ELSE repeat(chr(32 + g % 90) || E'"\\\t' || chr(1 + g % 31) || 'é', g % 50) END AS t,
       timestamptz '2026-01-01 00:00:00.5+00' - g * interval '1 minute 0.001 second' AS ts, ('{"g": ' || g || ', "x": [1.0, "é"]}')::jsonb AS j
FROM generate_series(1, 20000) g`;

/** The rows' JSON as the values path writes it, and as the JSON path does. */
async function bothWays(service: DbService, sql: string, opts: { maxRows: number; maxBytes?: number }) {
  const values = await service.query({ sql, ...opts });
  const json = await service.query({ sql, ...opts, rowsAs: 'json' });
  assert.equal(json.rows.length, 0, 'JSON rows are not kept as values too');
  return { values, json, valuesText: JSON.stringify(values.rows), jsonText: json.jsonRows!.json() };
}

describe('result values: how PostgreSQL types reach JSON', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let service: DbService;
  let pool: ReturnType<typeof createPool>;

  before(async () => {
    db = await startTestDatabase();
    const opts = { connectionString: db.superuserUrl, poolMax: 1, queueMax: 4, queueTimeoutMs: 5_000, statementTimeoutMs: 5_000 };
    pool = createPool(opts);
    service = new DbService(pool, opts);
  });
  after(async () => {
    await service?.onApplicationShutdown();
    await db?.dispose();
  });

  it('maps every type family to the documented JSON value', async () => {
    const values = await service.query({ sql: SQL, maxRows: 10 });
    assert.equal(values.rows.length, 3);
    const rendered = JSON.parse(JSON.stringify(values.rows)) as unknown[][];
    const row = Object.fromEntries(values.columns.map((c, i) => [c.name, rendered[0]![i]]));
    assert.deepEqual(
      [row.i2, row.i4, row.o, row.f4, row.huge, row.tenth, row.t, row.f],
      [1, -2147483648, 42, 1.5, 1e300, 0.1, true, false],
    );
    assert.equal(row.i8_safe, 9007199254740991);
    assert.equal(row.i8_big, '9007199254740993');
    assert.equal(row.i8_min, '-9223372036854775808');
    assert.deepEqual([row.nan, row.inf, row.ninf], ['NaN', 'Infinity', '-Infinity']);
    assert.equal(row.num, '12345678901234567890.123456789');
    assert.equal(row.txt, 'quote " backslash \\ newline \n tab \t unicode é ☃ \u0001');
    assert.deepEqual(row.js, { a: [1, 2.5, 'x'], b: null });
    assert.deepEqual(row.jsb, { b: { c: true } });
    assert.deepEqual(row.ints, [1, null, 3]);
    assert.deepEqual(row.nested, [[1, 2], [3, 4]]);
    assert.deepEqual(row.texts, ['a"b', null, 'c,d']);
    assert.deepEqual(row.floats, ['NaN', 1.25]);
    assert.deepEqual(row.bools, [true, false]);
    assert.deepEqual(row.jsons, [{ k: 1 }]);
    assert.deepEqual(row.names, ['x']);
    assert.equal(row.ts, '2026-01-02 03:04:05.123+00');
    assert.equal(row.d, '2026-01-02');
    assert.equal(row.iv, '1 day 02:03:04');
    assert.equal(row.u, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    assert.equal(row.b, '\\xdeadbeef');
    assert.deepEqual([row.null_int, row.null_text, row.empty], [null, null, '']);
  });

  it('stops at maxRows and reports truncation exactly', async () => {
    const sql = 'SELECT g FROM generate_series(1, 50) g';
    for (const [maxRows, truncated] of [[1, true], [49, true], [50, false], [51, false]] as const) {
      const r = await service.query({ sql, maxRows });
      assert.equal(r.rows.length, Math.min(maxRows, 50));
      assert.equal(r.truncated, truncated, `maxRows ${maxRows}`);
    }
    const empty = await service.query({ sql: 'SELECT 1 WHERE false', maxRows: 5 });
    assert.deepEqual([empty.rows.length, empty.truncated], [0, false]);
});

  it('writes rows as JSON from the wire exactly as the values path serialises them', async () => {
    const zoo = await bothWays(service, SQL, { maxRows: 10 });
    assert.equal(zoo.jsonText, zoo.valuesText);
    assert.deepEqual(zoo.json.columns, zoo.values.columns);
    // One seed for both runs, so random() gives both paths the same rows.
    const seeded = `SELECT * FROM (SELECT setseed(0.5)) s, LATERAL (${MANY_SQL}) m`;
    const many = await bothWays(service, seeded, { maxRows: 25_000 });
    assert.equal(many.json.jsonRows!.length, 20_000);
    assert.equal(many.jsonText, many.valuesText);
    assert.deepEqual(many.json.jsonRows!.toJSON(), JSON.parse(many.valuesText));
  });

  it('stops the JSON rows at maxRows and at the byte cap exactly where the values path stops', async () => {
    const sql = 'SELECT g, repeat(\'x\', 100) AS pad FROM generate_series(1, 5000) g';
    for (const opts of [{ maxRows: 1 }, { maxRows: 4999 }, { maxRows: 5000 }, { maxRows: 6000 }, { maxRows: 5000, maxBytes: 40_000 }]) {
      const r = await bothWays(service, sql, opts);
      assert.equal(r.json.jsonRows!.length, r.values.rows.length, JSON.stringify(opts));
      assert.deepEqual([r.json.truncated, r.json.truncatedBy], [r.values.truncated, r.values.truncatedBy], JSON.stringify(opts));
      assert.equal(r.jsonText, r.valuesText, JSON.stringify(opts));
    }
    const noColumns = await bothWays(service, 'SELECT FROM generate_series(1, 3)', { maxRows: 5 });
    assert.deepEqual([noColumns.jsonText, noColumns.valuesText], ['[[],[],[]]', '[[],[],[]]']);
    const empty = await service.query({ sql: 'SELECT 1 AS one WHERE false', maxRows: 5, rowsAs: 'json' });
    assert.deepEqual([empty.jsonRows!.json(), empty.truncated, empty.columns.length], ['[]', false, 1]);
  });

  it('leaves the pooled connection as it found it, after rows, a failed statement and the byte cap', async () => {
    const listeners = async () => {
      const client = await pool.connect();
      const n = (client as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection.stream.listenerCount('data');
      client.release();
      return n;
    };
    await service.query({ sql: 'SELECT 1', maxRows: 1 });
    const before = await listeners();
    await service.query({ sql: 'SELECT g FROM generate_series(1, 3000) g', maxRows: 100, rowsAs: 'json' });
    await assert.rejects(service.query({ sql: 'SELECT 1 / (g - 3) FROM generate_series(1, 5) g', maxRows: 10, rowsAs: 'json' }), /division by zero/);
    const capped = await service.query({ sql: 'SELECT repeat(\'y\', 1000) FROM generate_series(1, 5000)', maxRows: 5000, maxBytes: 10_000, rowsAs: 'json' });
    assert.equal(capped.truncatedBy, 'bytes');
    assert.equal(await listeners(), before);
    const after = await service.query({ sql: 'SELECT 41 + 1 AS x', maxRows: 1, rowsAs: 'json' });
    assert.equal(after.jsonRows!.json(), '[[42]]');
  });
});
