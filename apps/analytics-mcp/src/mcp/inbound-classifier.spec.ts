import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyInboundRequest, type InboundHttpRequest } from '@modelcontextprotocol/server';
import { InboundClassifier, type InboundRoute } from './inbound-classifier.js';

const PV = 'io.modelcontextprotocol/protocolVersion';
const CAPS = 'io.modelcontextprotocol/clientCapabilities';
const INFO = 'io.modelcontextprotocol/clientInfo';
const modernMeta = { [PV]: '2026-07-28', [CAPS]: {}, [INFO]: { name: 'spec', version: '1.0.0' } };

const headerSets: Partial<InboundHttpRequest>[] = [
  {},
  { protocolVersionHeader: '2025-11-25' },
  { protocolVersionHeader: '2025-06-18' },
  { protocolVersionHeader: '2026-07-28' },
  { protocolVersionHeader: ' 2026-07-28 ', mcpMethodHeader: 'tools/call' },
  { protocolVersionHeader: '2026-07-28', mcpMethodHeader: 'tools/list' },
  { protocolVersionHeader: '2026-07-28', mcpMethodHeader: 'tools/call', mcpNameHeader: 'query' },
  { protocolVersionHeader: '2026-07-28', mcpMethodHeader: 'tools/call', mcpNameHeader: 'other' },
  { protocolVersionHeader: '1999-01-01' },
];
const ids: unknown[] = ['', 'abc', 0, 7, -3, 2 ** 53 - 1];
const paramSets: unknown[] = [
  undefined,
  {},
  { name: 'query' },
  { name: 'query', arguments: { sql: 'SELECT 1', max_rows: 5 } },
  { name: 'query', arguments: {}, _meta: modernMeta },
  { _meta: modernMeta },
  { name: 'query', _meta: { progressToken: 't' } },
  { name: 'query', _meta: { progressToken: {} } },
  { name: 'query', _meta: { [PV]: '2025-11-25' } },
  { name: 'query', _meta: { [PV]: '2026-07-28' } },
  { name: 'query', _meta: { [PV]: 123, [CAPS]: {} } },
  { name: 'query', arguments: { sql: 'SELECT 1' }, _meta: { ...modernMeta, [CAPS]: 'not an object' } },
];

function direct(request: InboundHttpRequest): InboundRoute {
  const outcome = classifyInboundRequest(request);
  if (outcome.kind !== 'modern') return outcome;
  const { message: _message, ...route } = outcome;
  return route;
}

describe('InboundClassifier', () => {
  it("gives the SDK's own verdict for every tools/call and tools/list, remembered or not", () => {
    const classifier = new InboundClassifier();
    let compared = 0;
    for (let round = 0; round < 2; round++) {
      for (const headers of headerSets) {
        for (const method of ['tools/call', 'tools/list']) {
          for (const id of ids) {
            for (const params of paramSets) {
              const body = { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) };
              const request: InboundHttpRequest = { httpMethod: 'POST', ...headers, body };
              assert.deepEqual(classifier.classify(request), direct(request), JSON.stringify(request));
              compared++;
            }
          }
        }
      }
    }
    assert.ok(compared > 2_000);
    assert.ok(classifier.size > 0 && classifier.size <= 256, 'verdicts were remembered, within the bound');
  });

  it('classifies anything else as it is, every time', () => {
    const classifier = new InboundClassifier();
    const bodies: unknown[] = [
      [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }],
      { jsonrpc: '2.0', id: 1.5, method: 'tools/list' },
      { jsonrpc: '2.0', id: null, method: 'tools/list' },
      { jsonrpc: '2.0', id: 1, method: 'tools/list', extra: true },
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { cursor: 'x' } },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 5 } },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'query', arguments: [] } },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: [] },
      { jsonrpc: '1.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      { jsonrpc: '2.0', id: 1, result: {} },
      'not an object',
    ];
    for (const headers of headerSets) {
      for (const body of bodies) {
        const request: InboundHttpRequest = { httpMethod: 'POST', ...headers, body };
        assert.deepEqual(classifier.classify(request), direct(request), JSON.stringify(request));
      }
    }
    assert.equal(classifier.size, 0, 'none of them is remembered');
  });

  it('starts over past 256 kinds of request', () => {
    const classifier = new InboundClassifier();
    for (let i = 0; i < 600; i++) {
      classifier.classify({ httpMethod: 'POST', body: { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: `tool_${i}` } } });
      assert.ok(classifier.size <= 256);
    }
  });
});
