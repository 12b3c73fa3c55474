import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchAnswerFilter, JsonRows, JsonRowsBuilder, type RowVerdict } from './json-rows.js';
import { parserFor } from './value-parsers.js';

/** A backend message: type byte, int32 length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function dataRowBody(fields: (string | Buffer | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(fields.length);
  for (const f of fields) {
    const len = Buffer.alloc(4);
    if (f === null) {
      len.writeInt32BE(-1);
      parts.push(len);
      continue;
    }
    const bytes = typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
    len.writeInt32BE(bytes.length);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
}

function rowDescriptionBody(columns: [string, number][]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(columns.length);
  for (const [name, oid] of columns) {
    const meta = Buffer.alloc(18);
    meta.writeUInt32BE(oid, 6);
    parts.push(Buffer.from(`${name}\0`, 'utf8'), meta);
  }
  return Buffer.concat(parts);
}

/** What the values path makes of the same texts: parserFor per column, then JSON.stringify. */
function expected(oids: number[], rows: (string | null)[][]): string {
  return JSON.stringify(rows.map((r) => r.map((v, i) => (v === null ? null : parserFor(oids[i]!)(v)))));
}

function built(oids: number[], rows: (string | Buffer | null)[][]): JsonRows {
  const b = new JsonRowsBuilder(oids);
  for (const r of rows) {
    const body = dataRowBody(r);
    assert.equal(b.add(body, 0, body.length), true);
  }
  return b.rows();
}

const CASES: { oid: number; name: string; texts: string[] }[] = [
  { oid: 16, name: 'bool', texts: ['t', 'f'] },
  { oid: 21, name: 'int2', texts: ['0', '-32768', '32767', '7'] },
  { oid: 23, name: 'int4', texts: ['0', '-2147483648', '2147483647', '120'] },
  { oid: 26, name: 'oid', texts: ['4294967295', '0'] },
  {
    oid: 20,
    name: 'int8',
    texts: ['0', '-1', '999999999999999', '-999999999999999', '9007199254740991', '9007199254740992', '-9223372036854775808', '9223372036854775807'],
  },
  {
    oid: 701,
    name: 'float8',
    texts: [
      '0', '-0', '1', '-1.5', '0.5481', '35.197179', '0.1', '0.30000000000000004', '123456789012345', '1e+15', '1.5e+300',
      '1e-05', '0.0001', '0.00001', '0.000001', '1e-07', '-1.7976931348623157e+308', '5e-324', 'NaN', 'Infinity', '-Infinity',
      '100000000000000000000', '1000000000000000000000', '0.10', '00.5', '1.', '.5', '0.1000000000000000055511151231257827',
      '12345678901234567', '1234567890.1234567',
    ],
  },
  { oid: 700, name: 'float4', texts: ['0', '-0', '0.1', '3.4028235e+38', '1.1754944e-38', '1.5', 'NaN', '-Infinity', '16777217'] },
  { oid: 1700, name: 'numeric', texts: ['0', '-0.0001', '12345678901234567890.123456789', 'NaN'] },
  {
    oid: 25,
    name: 'text',
    texts: [
      '', 'plain', 'quote " and backslash \\', 'tab\tnew\nline\rret', '\b\f', '\u0001\u001f\u007f', 'é ß 漢字 🚀', '\u2028\u2029',
      '"', '\\', '\\u0041', '</script>',
    ],
  },
  { oid: 1184, name: 'timestamptz', texts: ['2026-11-18 02:27:00+00', 'infinity', '2026-11-18 02:27:00.123456+05:30'] },
  { oid: 1082, name: 'date', texts: ['2026-11-18', '-infinity'] },
  { oid: 1186, name: 'interval', texts: ['1 day 02:00:00', '-00:00:01'] },
  { oid: 17, name: 'bytea', texts: ['\\x00ff', '\\x'] },
  { oid: 2950, name: 'uuid', texts: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'] },
  { oid: 114, name: 'json', texts: ['{"a": 1, "b": [1.0, 2e3]}', '"x"', 'null', '[ ]', '{"é":"\\u00e9"}', '12345678901234567890'] },
  { oid: 3802, name: 'jsonb', texts: ['{"a": 1, "b": {"c": null}}', '[1, "two", false]'] },
  { oid: 1007, name: 'int4[]', texts: ['{1,2,NULL}', '{}', '{{1,2},{3,4}}'] },
  { oid: 1009, name: 'text[]', texts: ['{a,"b c","d\\"e",NULL}'] },
  { oid: 1022, name: 'float8[]', texts: ['{0.5,NaN,-0,1e+20}'] },
  { oid: 1000, name: 'bool[]', texts: ['{t,f}'] },
];

describe('JsonRowsBuilder', () => {
  for (const { oid, name, texts } of CASES) {
    it(`writes ${name} exactly as the values path does`, () => {
      const rows = [...texts.map((t) => [t]), [null]];
      assert.equal(built([oid], rows).json(), expected([oid], rows));
    });
  }

  it('writes a row of every kind, NULLs included, and several rows', () => {
    const oids = CASES.map((c) => c.oid);
    const rows = [CASES.map((c) => c.texts[0]!), CASES.map((c) => c.texts.at(-1)!), CASES.map(() => null)];
    const json = built(oids, rows);
    assert.equal(json.length, 3);
    assert.equal(json.json(), expected(oids, rows));
    assert.deepEqual(json.toJSON(), JSON.parse(expected(oids, rows)));
  });

  it('copies a number only when JavaScript prints it back unchanged (20,000 generated texts)', () => {
    let seed = 42;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const digits = (n: number) => Array.from({ length: n }, () => String(next(10))).join('');
    const texts: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const sign = next(4) === 0 ? '-' : '';
      const int = next(5) === 0 ? '0' : digits(1 + next(22));
      const frac = next(2) === 0 ? '' : `.${'0'.repeat(next(3) === 0 ? next(9) : 0)}${digits(1 + next(18))}`;
      const exp = next(6) === 0 ? `e${next(2) ? '+' : '-'}${next(320)}` : '';
      texts.push(`${sign}${int}${frac}${exp}`, String((next(2 ** 30) / 2 ** 30) * 10 ** (next(40) - 20)));
    }
    for (const oid of [20, 23, 700, 701]) {
      const rows = texts.map((t) => [t]);
      assert.equal(built([oid], rows).json(), expected([oid], rows), `type ${oid}`);
    }
  });

  it('decodes invalid UTF-8 as pg does (U+FFFD), on the slow path', () => {
    const bad = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0x62]);
    assert.equal(built([25], [[bad]]).json(), JSON.stringify([[bad.toString('utf8')]]));
  });

  it('escapes long texts of control characters without running out of room', () => {
    const text = '\u0001"\\'.repeat(5000);
    assert.equal(built([25], [[text]]).json(), expected([25], [[text]]));
  });

  it('reserves room for wide rows of short values (booleans, NULLs) and after slow fields', () => {
    const oids = [...Array(500).fill(16), ...Array(500).fill(25), 701, 114, ...Array(300).fill(16)];
    const row = oids.map((oid, i) => (oid === 16 ? (i % 3 ? 'f' : 't') : oid === 25 ? (i % 2 ? null : '') : oid === 701 ? '1e+300' : '{"a": [1, 2]}'));
    assert.equal(built(oids, [row, row.map(() => null)]).json(), expected(oids, [row, row.map(() => null)]));
  });

  it('splits many rows into 64 KiB chunks between rows, and gives the same JSON and bytes', () => {
    const oids = [23, 25, 701];
    const rows = Array.from({ length: 20_000 }, (_, i) => [String(i), `device ${i} "${'x'.repeat(i % 37)}"`, i % 5 ? `${i}.25` : null]);
    const json = built(oids, rows);
    const pieces = [...json.bytes()];
    assert.ok(pieces.length > 10, `${pieces.length} pieces`);
    assert.ok(pieces.every((p) => p.length <= 64 * 1024));
    assert.equal(json.json(), expected(oids, rows));
    assert.equal(Buffer.concat(pieces).toString('utf8'), expected(oids, rows));
    assert.equal(json.byteLength, Buffer.byteLength(expected(oids, rows)));
    // Every piece but the brackets ends a row.
    for (const p of pieces.slice(1, -1)) assert.equal(p.at(-1), 0x5d);
    for (const n of [0, 1, 4_999, 20_000]) {
      const part = json.slice(n);
      assert.equal(Buffer.concat([...part.bytes()]).toString('utf8'), expected(oids, rows.slice(0, n)), `slice ${n}`);
      assert.equal(part.byteLength, Buffer.byteLength(expected(oids, rows.slice(0, n))), `slice ${n}`);
    }
  });

  it('carries a row that outgrows its chunk to the next one, also when it is given up', () => {
    const b = new JsonRowsBuilder([25, 23]);
    const filler = dataRowBody(['y'.repeat(60_000), '1']);
    assert.equal(b.add(filler, 0, filler.length), true);
    const cut = dataRowBody(['z'.repeat(10_000), '2']);
    assert.equal(b.add(cut, 0, cut.length - 1), false);
    const big = dataRowBody(['w'.repeat(200_000), '3']);
    assert.equal(b.add(big, 0, big.length), true);
    assert.equal(b.rows().json(), JSON.stringify([['y'.repeat(60_000), 1], ['w'.repeat(200_000), 3]]));
  });

  it('goes back to the start of a text field that turns out non-ASCII after an escape moved its row', () => {
    // Escapes near the end of a chunk make room mid-field; the é after them sends the
    // field down the decoding path, which must start where the field started.
    const rows = Array.from({ length: 4_000 }, (_, i) => [`${'a'.repeat(i % 50)}${'"\\\u0001'.repeat(i % 7)}é${'b'.repeat(i % 11)}`]);
    assert.equal(built([25], rows).json(), expected([25], rows));
  });

  it('keeps nothing of a DataRow that runs past its message', () => {
    const b = new JsonRowsBuilder([23, 23]);
    const good = dataRowBody(['1', '2']);
    assert.equal(b.add(good, 0, good.length), true);
    const cut = dataRowBody(['3', '44444']);
    assert.equal(b.add(cut, 0, cut.length - 2), false);
    assert.equal(b.add(cut, 0, 3), false);
    assert.equal(b.rows().json(), '[[1,2]]');
    assert.equal(b.add(good, 0, good.length), true);
    assert.equal(b.rows().json(), '[[1,2],[1,2]]');
  });

  it('refuses a DataRow whose field count is not the columns\'', () => {
    const b = new JsonRowsBuilder([23, 23]);
    const body = dataRowBody(['1']);
    assert.equal(b.add(body, 0, body.length), false);
    assert.equal(b.length, 0);
  });

  it('slices without copying and says how many rows it holds', () => {
    const rows = built([23], [['1'], ['2'], ['3']]);
    assert.equal(rows.slice(2).json(), '[[1],[2]]');
    assert.equal(rows.slice(0).json(), '[]');
    assert.equal(rows.slice(9).length, 3);
    assert.equal(JSON.stringify({ rows: rows.slice(1) }), '{"rows":[[1]]}');
  });
});

describe('BatchAnswerFilter', () => {
  const oids = [23, 25, 701];
  const rows = [
    ['1', 'a "quoted" text', '0.5'],
    ['2', null, 'NaN'],
    ['3', 'x'.repeat(300), '-1.25'],
  ];
  const empty = Buffer.alloc(0);
  const ack = (t: '1' | '2') => message(t, empty);
  const complete = (tag: string) => message('C', Buffer.from(`${tag}\0`));
  const notice = message('N', Buffer.from('SNOTICE\0Mhello\0\0'));
  const parameter = message('S', Buffer.from('TimeZone\0UTC\0'));
  const ready = message('Z', Buffer.from('T'));
  // A batch's answer, as PostgreSQL sends it: BEGIN, set_config (one row, no
  // RowDescription), the statement (suspended at its row limit), ROLLBACK, Sync.
  const before = Buffer.concat([
    ack('1'), ack('2'), complete('BEGIN'),
    ack('1'), ack('2'), message('D', dataRowBody(['30000ms'])), complete('SELECT 1'),
    notice,
    ack('1'), ack('2'),
    message('T', rowDescriptionBody([['id', 23], ['label', 25], ['é x', 701]])),
  ]);
  const statementRows = rows.map((r) => message('D', dataRowBody(r)));
  const after = Buffer.concat([message('s', empty), parameter, ack('1'), ack('2'), complete('ROLLBACK'), ready]);
  const stream = Buffer.concat([before, ...statementRows, after]);

  function run(chunkSize: number, verdicts: (i: number) => RowVerdict = () => 'write', input = stream) {
    const handed: Buffer[] = [];
    const events: string[] = [];
    let seen = 0;
    const broken: Error[] = [];
    const filter = new BatchAnswerFilter((c) => handed.push(Buffer.from(c)), {
      columns: (cols) => events.push(`columns ${cols.map((c) => `${c.name}:${c.typeOid}`).join(',')}`),
      row: (length) => {
        events.push(`row ${length}`);
        return verdicts(seen++);
      },
      commandComplete: () => events.push('C'),
      portalSuspended: () => events.push('s'),
      emptyQuery: () => events.push('I'),
      broken: (e) => broken.push(e),
    });
    for (let at = 0; at < input.length; at += chunkSize) filter.onData(input.subarray(at, at + chunkSize));
    return { filter, handed: Buffer.concat(handed), events, broken };
  }

  const rowEvents = statementRows.map((r) => `row ${r.length - 1}`);

  it('reads the batch\'s answer itself and hands pg only the rest, in order, however the bytes are cut', () => {
    for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 64, 4096]) {
      const { filter, handed, events, broken } = run(size);
      assert.deepEqual(broken, []);
      assert.equal(filter.passthrough, true, `chunks of ${size}`);
      assert.deepEqual(events, ['C', 'C', 'columns id:23,label:25,é x:701', ...rowEvents, 's', 'C'], `chunks of ${size}`);
      assert.equal(filter.builder?.rows().json(), expected(oids, rows), `chunks of ${size}`);
      assert.ok(handed.equals(Buffer.concat([notice, parameter, ready])), `chunks of ${size}`);
    }
  });

  it('hands on every byte from the ReadyForQuery on, and reads no row after the statement\'s end', () => {
    const late = Buffer.concat([ready, message('D', dataRowBody(['9', '9', '9'])), complete('SELECT 1')]);
    const lateRow = message('D', dataRowBody(['999', '', '0']));
    const input = Buffer.concat([before, statementRows[0]!, complete('SELECT 1'), lateRow, late]);
    const r = run(7, () => 'write', input);
    assert.deepEqual(r.events, ['C', 'C', 'columns id:23,label:25,é x:701', rowEvents[0], 'C']);
    assert.equal(r.filter.builder?.length, 1);
    assert.ok(r.handed.equals(Buffer.concat([notice, late])));
  });

  it('skips rows the batch does not want, and stops handing on when it stops reading', () => {
    const skipped = run(5, (i) => (i === 1 ? 'skip' : 'write'));
    assert.equal(skipped.filter.builder?.rows().json(), expected(oids, [rows[0]!, rows[2]!]));
    assert.ok(skipped.handed.equals(Buffer.concat([notice, parameter, ready])));
    const stopped = run(4096, (i) => (i === 1 ? 'stop' : 'write'));
    assert.equal(stopped.filter.builder?.rows().json(), expected(oids, [rows[0]!]));
    assert.ok(stopped.handed.equals(notice), 'nothing after the stop is handed on');
    assert.deepEqual(stopped.events.at(-1), rowEvents[1]);
  });

  it('hands on everything from where pg takes the socket back', () => {
    const handed: Buffer[] = [];
    const events: string[] = [];
    const filter: BatchAnswerFilter = new BatchAnswerFilter(
      (c) => {
        handed.push(Buffer.from(c));
        if (c.includes(notice)) filter.drop();
      },
      {
        columns: () => assert.fail('the RowDescription goes to pg'),
        row: () => assert.fail('no row is taken once dropped'),
        commandComplete: () => events.push('C'),
        portalSuspended: () => assert.fail('goes to pg'),
        emptyQuery: () => assert.fail('goes to pg'),
        broken: () => assert.fail('not broken'),
      },
    );
    filter.onData(stream);
    const at = stream.indexOf(notice);
    assert.ok(Buffer.concat(handed).equals(stream.subarray(at)));
    assert.deepEqual(events, ['C', 'C']);
    assert.equal(filter.builder, undefined);
  });

  it('hands on an error and what follows it, and bytes it cannot frame, as they are', () => {
    const error = message('E', Buffer.from('SERROR\0\0'));
    const failed = Buffer.concat([ack('1'), ack('2'), complete('BEGIN'), ack('1'), error, message('Z', Buffer.from('E'))]);
    const r = run(3, () => assert.fail('no rows'), failed);
    assert.ok(r.handed.equals(failed.subarray(failed.indexOf(error))));
    assert.deepEqual(r.events, ['C']);
    assert.equal(r.filter.passthrough, true);
    const garbage = Buffer.from('not a backend message at all');
    const g = run(1024, () => assert.fail('no rows'), garbage);
    assert.ok(g.handed.equals(garbage));
    assert.deepEqual(g.events, []);
    // Framed, but not how a batch's answer opens: pg reads it all.
    const odd = Buffer.concat([complete('SELECT 1'), ready]);
    const o = run(2, () => assert.fail('no rows'), odd);
    assert.ok(o.handed.equals(odd));
    assert.deepEqual(o.events, []);
  });

  it('hands on bytes it cannot frame also when their header is cut across chunks', () => {
    const bogus = Buffer.from([0x43, 0, 0, 0, 2, 0x41, 0x42]); // a CommandComplete with a length below 4
    const answer = Buffer.concat([ack('1'), bogus]);
    for (let size = 1; size <= answer.length; size++) {
      const r = run(size, () => assert.fail('no rows'), answer);
      assert.ok(r.handed.equals(bogus), `chunks of ${size}`);
    }
  });

  it('reports a DataRow that does not fit the RowDescription and stops', () => {
    const bad = Buffer.concat([ack('1'), message('T', rowDescriptionBody([['id', 23]])), message('D', dataRowBody(['1', '2'])), ready]);
    const r = run(4096, () => 'write', bad);
    assert.equal(r.broken.length, 1);
    assert.match(r.broken[0]!.message, /does not match/);
    assert.ok(r.handed.equals(empty), 'nothing is handed on after it');
  });
});
