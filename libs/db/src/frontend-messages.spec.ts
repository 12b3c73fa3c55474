import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from 'pg-protocol';
import { bindSize, describePortalSize, executeSize, MessageWriter, parseSize, syncSize, type WireValue } from './frontend-messages.js';

// node-postgres' own encoder is the reference: the batch must say to PostgreSQL exactly
// what pg's Connection.parse/bind/describe/execute/sync said before it.
const texts = ['', 'BEGIN READ ONLY', 'SELECT 1', "SELECT 'é', '日本', '😀' -- x", 'SELECT $1::text, $2::bytea', 'x'.repeat(70_000), 'SELECT \ud800 AS lone'];
const valueSets: WireValue[][] = [
  [],
  ['30000ms', 'analytics-mcp:alice', '"tracksolid", public'],
  [null, '', 'é😀', Buffer.from([0, 1, 2, 255]), Buffer.alloc(0)],
  ['y'.repeat(100_000), null],
];

function encoded(size: number, fill: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter(Buffer.alloc(size));
  fill(w);
  assert.equal(w.length, size, 'the writer fills exactly the size given');
  return w.buffer;
}

describe('MessageWriter', () => {
  it('encodes Parse as node-postgres does', () => {
    for (const text of texts) {
      const bytes = Buffer.byteLength(text);
      assert.deepEqual(encoded(parseSize(bytes), (w) => w.parse(text)), serialize.parse({ text }), text.slice(0, 30));
    }
  });

  it('encodes Bind as node-postgres does, text and binary parameters and NULLs', () => {
    for (const values of valueSets) {
      assert.deepEqual(encoded(bindSize(values), (w) => w.bind(values)), serialize.bind({ values }), JSON.stringify(values).slice(0, 60));
    }
  });

  it('encodes Describe (portal), Execute and Sync as node-postgres does', () => {
    assert.deepEqual(encoded(describePortalSize, (w) => w.describePortal()), serialize.describe({ type: 'P' }));
    assert.deepEqual(encoded(executeSize, (w) => w.execute()), serialize.execute({}));
    for (const rows of [1, 11, 10_001, 2 ** 31 - 1]) {
      assert.deepEqual(encoded(executeSize, (w) => w.execute(rows)), serialize.execute({ rows }));
    }
    assert.deepEqual(encoded(syncSize, (w) => w.sync()), serialize.sync());
  });

  it('writes a train of messages back to back, constant parts included', () => {
    const head = encoded(parseSize(8) + bindSize([]), (w) => w.parse('ROLLBACK').bind([]));
    const values: WireValue[] = ['a', null];
    const train = encoded(head.length + parseSize(8) + bindSize(values) + executeSize + syncSize, (w) =>
      w.raw(head).parse('SELECT 1').bind(values).execute(5).sync(),
    );
    const expected = Buffer.concat([
      serialize.parse({ text: 'ROLLBACK' }),
      serialize.bind({}),
      serialize.parse({ text: 'SELECT 1' }),
      serialize.bind({ values }),
      serialize.execute({ rows: 5 }),
      serialize.sync(),
    ]);
    assert.deepEqual(train, expected);
  });
});
