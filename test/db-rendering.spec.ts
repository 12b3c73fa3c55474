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

describe('result rendering: JSON text mode equals the JS value mode', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let service: DbService;

  before(async () => {
    db = await startTestDatabase();
    const opts = { connectionString: db.superuserUrl, poolMax: 2, queueMax: 4, queueTimeoutMs: 5_000, statementTimeoutMs: 5_000 };
    service = new DbService(createPool(opts), opts);
  });
  after(async () => {
    await service?.onApplicationShutdown();
    await db?.dispose();
  });

  it('renders every type to the same JSON value', async () => {
    const values = await service.query({ sql: SQL, maxRows: 10 });
    const json = await service.queryJson({ sql: SQL, maxRows: 10 });
    assert.equal(json.rowCount, 3);
    assert.deepEqual(json.columns, values.columns);
    const rendered = JSON.parse(`[${json.rowsJson}]`) as unknown[][];
    // Compared as JSON values (the text mode keeps PostgreSQL's "-0", which is JSON's 0 too).
    assert.deepEqual(JSON.parse(JSON.stringify(rendered)), JSON.parse(JSON.stringify(values.rows)));
    const row = Object.fromEntries(values.columns.map((c, i) => [c.name, rendered[0]![i]]));
    assert.equal(row.i8_safe, 9007199254740991);
    assert.equal(row.i8_big, '9007199254740993');
    assert.equal(row.nan, 'NaN');
    assert.equal(row.inf, 'Infinity');
    assert.equal(row.num, '12345678901234567890.123456789');
    assert.deepEqual(row.js, { a: [1, 2.5, 'x'], b: null });
    assert.deepEqual(row.nested, [[1, 2], [3, 4]]);
    assert.deepEqual(row.texts, ['a"b', null, 'c,d']);
    assert.deepEqual(row.floats, ['NaN', 1.25]);
    assert.equal(row.ts, '2026-01-02 03:04:05.123+00');
    assert.equal(row.null_int, null);
  });

  it('agrees on row limits and truncation', async () => {
    const sql = 'SELECT g, g::text AS s FROM generate_series(1, 50) g';
    for (const maxRows of [1, 49, 50, 51]) {
      const v = await service.query({ sql, maxRows });
      const j = await service.queryJson({ sql, maxRows });
      assert.equal(j.rowCount, v.rows.length);
      assert.equal(j.truncated, v.truncated, `maxRows ${maxRows}`);
      assert.deepEqual(JSON.parse(`[${j.rowsJson}]`), v.rows);
    }
    const empty = await service.queryJson({ sql: 'SELECT 1 WHERE false', maxRows: 5 });
    assert.deepEqual([empty.rowCount, empty.rowsJson, empty.truncated], [0, '', false]);
  });
});
