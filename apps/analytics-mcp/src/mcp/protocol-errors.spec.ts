import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { shortenInvalidParams, shortMessage } from './protocol-errors.js';

describe('shortenInvalidParams', () => {
  it('turns the schema dump of an invalid-params error into one line per issue', () => {
    const dump = JSON.stringify(
      [
        { code: 'invalid_type', path: ['params', 'name'], message: 'Invalid input: expected string, received undefined' },
        { code: 'invalid_type', path: ['params', 'arguments'], message: 'Invalid input: expected record, received number' },
      ],
      null,
      2,
    );
    const out = shortenInvalidParams({ jsonrpc: '2.0', id: 3, error: { code: -32602, message: `Invalid tools/call request: ${dump}` } } as JSONRPCMessage);
    assert.deepEqual((out as { error: unknown }).error, {
      code: -32602,
      message: 'Invalid tools/call request: name: Invalid input: expected string, received undefined; arguments: Invalid input: expected record, received number',
    });
  });

  it('leaves results, other errors and already short messages alone', () => {
    const result = { jsonrpc: '2.0', id: 1, result: {} } as JSONRPCMessage;
    assert.equal(shortenInvalidParams(result), result);
    const internal = { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'x: [1]' } } as JSONRPCMessage;
    assert.equal(shortenInvalidParams(internal), internal);
    assert.equal(shortMessage('Invalid params: unknown cursor'), 'Invalid params: unknown cursor');
    assert.equal(shortMessage('y'.repeat(1000)).length, 300);
  });
});
