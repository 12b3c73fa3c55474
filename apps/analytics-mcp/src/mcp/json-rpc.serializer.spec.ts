import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { EscapedText, joinParts, serializeJsonRpc, tableAnswerParts } from './json-rpc.serializer.js';
import { JsonRows } from '#db';
import { JsonText, jsonTextBlock, jsonTextOf, markJsonOfStructured, structuredJson } from './json-text.js';
import { responseFits } from './result-size.js';

describe('serializeJsonRpc', () => {
  const structured = { row_count: 2, truncated: false, columns: [{ name: 'a "q"', type: 'text' }], rows: [['x\ny'], [null], ['😀\u2028']] };
  const toolResult = (s: unknown, marked = true): JSONRPCMessage => {
    const block = { type: 'text', text: JSON.stringify(s) };
    return { result: { content: [marked ? markJsonOfStructured(block) : block], structuredContent: s }, jsonrpc: '2.0', id: 7 } as JSONRPCMessage;
  };

  it('writes exactly JSON.stringify of a tool result, reusing the text as the structured part', () => {
    const msg = toolResult(structured);
    const parts = serializeJsonRpc(msg);
    assert.equal(joinParts(parts), JSON.stringify(msg));
    assert.ok(parts.includes((msg as unknown as { result: { content: { text: string }[] } }).result.content[0]!.text), 'the text itself is one of the parts');
  });

  it('keeps members in their order, whichever comes first', () => {
    const block = markJsonOfStructured({ type: 'text', text: JSON.stringify(structured) });
    const msg = { jsonrpc: '2.0', id: 'x', result: { structuredContent: structured, isError: false, content: [block], resultType: 'complete' } } as unknown as JSONRPCMessage;
    assert.equal(joinParts(serializeJsonRpc(msg)), JSON.stringify(msg));
  });

  it('serialises an unmarked text plainly (it need not be the JSON of structuredContent)', () => {
    const msg = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: '{not the same' }], structuredContent: { a: 1 } } } as JSONRPCMessage;
    assert.deepEqual(serializeJsonRpc(msg), [JSON.stringify(msg)]);
    assert.deepEqual(serializeJsonRpc(toolResult(structured, false)), [JSON.stringify(toolResult(structured, false))]);
  });

  it('handles batches, errors and results without structured content', () => {
    const batch = [
      toolResult(structured),
      { jsonrpc: '2.0', id: 'b', error: { code: -32601, message: 'nope' } },
      { jsonrpc: '2.0', id: 3, result: { tools: [] } },
      { jsonrpc: '2.0', id: 4, result: { isError: true, content: [{ type: 'text', text: 'refused' }] } },
    ] as JSONRPCMessage[];
    assert.equal(joinParts(serializeJsonRpc(batch)), JSON.stringify(batch));
  });

  it('escapes a large text in pieces that join to JSON.stringify, never splitting a surrogate pair', () => {
    const text = `${'a"\\\n'.repeat(3)}${'😀x'.repeat(40)}\ud800 lone`;
    for (const size of [1, 2, 3, 7, 64]) {
      const pieces = [...new EscapedText(text).pieces(size)];
      assert.ok(pieces.length > 1);
      assert.equal(pieces.join(''), JSON.stringify(text), `piece size ${size}`);
    }
  });
});

describe('tableAnswerParts', () => {
  const structured = { row_count: 1, truncated: false, columns: [{ name: 'a "q"', type: 'text' }], rows: [['x\ny😀\u2028']] };
  const table = () => ({ content: [markJsonOfStructured({ type: 'text' as const, text: JSON.stringify(structured) })], structuredContent: structured });
  const meta = { 'io.modelcontextprotocol/serverInfo': { name: 'analytics-mcp', version: '1' } };

  it('gives the bytes serializeJsonRpc gives for the same envelope, in both eras and for either kind of id', () => {
    for (const id of [7, 'abc"\\']) {
      const legacy = { result: table(), jsonrpc: '2.0', id } as JSONRPCMessage;
      assert.equal(joinParts(tableAnswerParts(table(), '', id)!), joinParts(serializeJsonRpc(legacy)));
      assert.equal(joinParts(tableAnswerParts(table(), '', id)!), JSON.stringify(legacy));
      const { content, structuredContent } = table();
      const modern = { result: { content, resultType: 'complete', _meta: meta, structuredContent }, jsonrpc: '2.0', id } as JSONRPCMessage;
      assert.equal(joinParts(tableAnswerParts(table(), `,"resultType":"complete","_meta":${JSON.stringify(meta)}`, id)!), JSON.stringify(modern));
    }
  });

  it('leaves every other result to serializeJsonRpc', () => {
    const plain = { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
    assert.equal(tableAnswerParts(plain, '', 1), undefined, 'a text not marked as the JSON of structuredContent');
    assert.equal(tableAnswerParts({ ...table(), isError: true }, '', 1), undefined, 'a member besides content and structuredContent');
    assert.equal(tableAnswerParts({ content: [] }, '', 1), undefined);
    const two = table();
    two.content.push(two.content[0]!);
    assert.equal(tableAnswerParts(two, '', 1), undefined, 'two blocks');
    const extra = { content: [markJsonOfStructured({ type: 'text' as const, text: '{}', annotations: {} })], structuredContent: {} };
    assert.equal(tableAnswerParts(extra, '', 1), undefined, 'a block with more than type and text');
  });
});

describe('a table result whose rows are still bytes (JsonText)', () => {
  // Rows as JsonRows in chunks of a few rows, as the builder leaves them; with a text of
  // every kind JSON escapes (and the escaping escapes again) and more than 64 KiB in all.
  const values: unknown[][] = Array.from({ length: 600 }, (_, i) => [i, `x\ny "q" \\ é 😀 \u2028 \u0001 ${'z'.repeat(i % 200)}`, i % 4 ? null : 1.5]);
  const jsonRows = () => {
    const chunks: Buffer[] = [];
    const ends: number[] = [];
    let at = 0;
    values.forEach((row, i) => {
      const bytes = Buffer.from(`${i ? ',' : ''}${JSON.stringify(row)}`);
      chunks.push(i % 3 === 0 ? bytes : Buffer.concat([chunks.pop()!, bytes]));
      ends.push((at += bytes.length));
    });
    return JsonRows.of(chunks, ends);
  };
  const columns = [{ name: 'n', type: 'int4' }, { name: 'note "é"', type: 'text' }, { name: 'v', type: 'float8' }];
  const plain = { row_count: values.length, truncated: false, columns, rows: values };
  const bytes = () => ({ row_count: values.length, truncated: false, columns, rows: jsonRows() });
  const result = () => {
    const structured = bytes();
    return { content: [jsonTextBlock(structuredJson(structured))], structuredContent: structured };
  };

  it('is kept as bytes, and made into the same string only when read', () => {
    const text = structuredJson(bytes());
    assert.ok(text instanceof JsonText);
    assert.equal(text.byteLength, Buffer.byteLength(JSON.stringify(plain)));
    assert.equal(Buffer.concat([...text.bytes()].map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString(), JSON.stringify(plain));
    const block = jsonTextBlock(text);
    assert.equal(jsonTextOf(block), text);
    assert.equal(block.text, JSON.stringify(plain));
    assert.equal(JSON.stringify(block), JSON.stringify({ type: 'text', text: JSON.stringify(plain) }));
    assert.deepEqual({ ...block }, { type: 'text', text: JSON.stringify(plain) });
    assert.equal(typeof structuredJson({ ...plain, rows: jsonRows().slice(3) }), 'string', 'a few rows stay a string');
  });

  it('escapes the bytes to exactly JSON.stringify of the text, whatever the piece size', () => {
    const text = structuredJson(bytes()) as JsonText;
    for (const size of [1, 2, 3, 5, 7, 1000, 64 * 1024]) {
      const pieces = [...new EscapedText(text).pieces(size)].map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
      assert.equal(Buffer.concat(pieces).toString(), JSON.stringify(JSON.stringify(plain)), `piece size ${size}`);
    }
  });

  it('serialises to JSON.stringify of the same answer with the values, on both serialisers, without making the string', () => {
    const message = { result: { content: [{ type: 'text', text: JSON.stringify(plain) }], structuredContent: plain }, jsonrpc: '2.0', id: 3 };
    const fromTemplate = result();
    const block = fromTemplate.content[0]!;
    const made = Object.getOwnPropertyDescriptor(block, 'text')!;
    let reads = 0;
    Object.defineProperty(block, 'text', { ...made, get: () => (reads++, made.get!()) });
    assert.equal(joinParts(tableAnswerParts(fromTemplate, '', 3)!), JSON.stringify(message));
    assert.equal(joinParts(serializeJsonRpc({ result: fromTemplate, jsonrpc: '2.0', id: 3 } as JSONRPCMessage)), JSON.stringify(message));
    assert.equal(reads, 0);
  });

  it('measures a response against the cap exactly as for the string', () => {
    const text = structuredJson(bytes()) as JsonText;
    const string = text.toString();
    const exact = Buffer.byteLength(string) + Buffer.byteLength(JSON.stringify(string)) + 512;
    for (const cap of [exact - 1, exact, 2 * exact, Buffer.byteLength(string) * 2 + 511]) {
      assert.equal(responseFits(text, cap), responseFits(string, cap), `cap ${cap}`);
    }
    assert.equal(responseFits(text, exact), true);
    assert.equal(responseFits(text, exact - 1), false);
  });
});
