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

describe('result values: how PostgreSQL types reach JSON', () => {
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
});
