import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { JsonExchangeTransport, REQUEST_TIMEOUT } from './json-exchange.transport.js';

const auth = { token: '', clientId: 'alice', scopes: [] };

describe('JsonExchangeTransport', () => {
  it('answers requests in order and ignores notifications and server-initiated messages', async () => {
    const t = new JsonExchangeTransport();
    t.onmessage = (m) => {
      const msg = m as { id?: number; method: string };
      if (msg.id === undefined) return;
      // Reply out of order, after a server notification the JSON body cannot carry.
      void t.send({ jsonrpc: '2.0', method: 'notifications/message', params: {} } as JSONRPCMessage);
      setTimeout(() => void t.send({ jsonrpc: '2.0', id: msg.id!, result: { echo: msg.method } }), msg.id === 1 ? 20 : 0);
    };
    const replies = await t.exchange(
      [
        { jsonrpc: '2.0', id: 1, method: 'a' },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 2, method: 'b' },
      ] as JSONRPCMessage[],
      auth,
    );
    assert.deepEqual(replies, [
      { jsonrpc: '2.0', id: 1, result: { echo: 'a' } },
      { jsonrpc: '2.0', id: 2, result: { echo: 'b' } },
    ]);
  });

  it('settles pending requests when closed, so an aborted HTTP request does not hang', async () => {
    const t = new JsonExchangeTransport();
    let closed = false;
    t.onclose = () => (closed = true);
    t.onmessage = () => undefined; // never answers
    const pending = t.exchange([{ jsonrpc: '2.0', id: 7, method: 'slow' }] as JSONRPCMessage[], auth);
    await t.close();
    const [reply] = await pending;
    assert.equal(closed, true);
    assert.deepEqual(reply, { jsonrpc: '2.0', id: 7, error: { code: -32000, message: 'Connection closed' } });
  });

  it('answers what is still pending once the deadline passes, and closes the server side', async () => {
    const t = new JsonExchangeTransport();
    let closed = false;
    t.onclose = () => (closed = true);
    t.onmessage = (m) => {
      const msg = m as { id?: number };
      if (msg.id === 1) void t.send({ jsonrpc: '2.0', id: 1, result: {} });
    };
    const replies = await t.exchange(
      [
        { jsonrpc: '2.0', id: 1, method: 'fast' },
        { jsonrpc: '2.0', id: 2, method: 'never' },
      ] as JSONRPCMessage[],
      auth,
      30,
    );
    assert.equal(closed, true);
    assert.deepEqual(replies[0], { jsonrpc: '2.0', id: 1, result: {} });
    assert.equal((replies[1] as { error: { code: number } }).error.code, REQUEST_TIMEOUT);
  });
});
