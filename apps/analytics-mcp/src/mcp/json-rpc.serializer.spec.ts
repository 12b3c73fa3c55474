import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { EscapedText, joinParts, serializeJsonRpc } from './json-rpc.serializer.js';
import { markJsonOfStructured } from './json-text.js';

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
