import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { serializeJsonRpc } from './json-rpc.serializer.js';

describe('serializeJsonRpc', () => {
  const structured = { row_count: 2, truncated: false, columns: [{ name: 'a "q"', type: 'text' }], rows: [['x\ny'], [null]] };
  const toolResult = (s: unknown): JSONRPCMessage =>
    ({ result: { content: [{ type: 'text', text: JSON.stringify(s) }], structuredContent: s }, jsonrpc: '2.0', id: 7 }) as JSONRPCMessage;

  it('produces the same JSON value as JSON.stringify for tool results', () => {
    const msg = toolResult(structured);
    assert.deepEqual(JSON.parse(serializeJsonRpc(msg).join('')), JSON.parse(JSON.stringify(msg)));
  });

  it('handles batches, errors and results without structured content', () => {
    const batch = [
      toolResult(structured),
      { jsonrpc: '2.0', id: 'b', error: { code: -32601, message: 'nope' } },
      { jsonrpc: '2.0', id: 3, result: { tools: [] } },
      { jsonrpc: '2.0', id: 4, result: { isError: true, content: [{ type: 'text', text: 'refused' }] } },
    ] as JSONRPCMessage[];
    assert.deepEqual(JSON.parse(serializeJsonRpc(batch).join('')), JSON.parse(JSON.stringify(batch)));
  });
});
