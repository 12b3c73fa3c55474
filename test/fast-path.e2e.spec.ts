import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { McpFastPath } from '../apps/analytics-mcp/src/mcp/mcp-fast-path.js';
import { startTestDatabase, startTestServer, TOKENS, type TestServer } from './support/stack.js';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const ENVELOPE = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'fast-path-spec', version: '1' } };

interface Post {
  what: string;
  /** Whether the fast path answers it (otherwise the SDK does, on both servers). */
  fast: boolean;
  body: unknown;
  headers?: Record<string, string>;
}

const legacy = (what: string, fast: boolean, method: string, params?: unknown): Post => ({
  what: `2025: ${what}`,
  fast,
  body: { jsonrpc: '2.0', id: `l-${what}`, method, ...(params === undefined ? {} : { params }) },
  headers: { 'mcp-protocol-version': LEGACY },
});

const modern = (what: string, fast: boolean, method: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}): Post => ({
  what: `2026-07-28: ${what}`,
  fast,
  body: { jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: ENVELOPE } },
  headers: { 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}), ...headers },
});

const QUERY = { name: 'query', arguments: { sql: 'SELECT device_id, count(*) AS n FROM tracksolid.position_history GROUP BY 1 ORDER BY 1' } };
// Larger than one written slice, with characters outside the BMP across slice boundaries: streamed.
const LARGE = { name: 'query', arguments: { sql: `SELECT p.*, repeat('😀"é\\', 40) AS pad FROM tracksolid.position_history p ORDER BY 1, 2`, max_rows: 2000 } };

const CASES: Post[] = [];
for (const [era, make] of [['legacy', legacy], ['modern', modern]] as const) {
  const m = make as (what: string, fast: boolean, method: string, params?: Record<string, unknown>, headers?: Record<string, string>) => Post;
  CASES.push(
    m('tools/list', true, 'tools/list'),
    m('tools/call query', true, 'tools/call', QUERY),
    m('tools/call, a large result', true, 'tools/call', LARGE),
    m('tools/call list_tables', true, 'tools/call', { name: 'list_tables', arguments: { schema: 'reporting' } }),
    m('tools/call without arguments', true, 'tools/call', { name: 'list_schemas' }),
    m('tools/call, invalid arguments (isError)', true, 'tools/call', { name: 'query', arguments: { sql: 42 } }),
    m('tools/call, refused by the guard', true, 'tools/call', { name: 'query', arguments: { sql: 'DELETE FROM tracksolid.devices' } }),
    m('tools/call, unknown tool', true, 'tools/call', { name: 'nope', arguments: {} }),
    m('tools/list with a cursor (invalid params)', false, 'tools/list', { cursor: 'x' }),
    m('tools/call without a name (invalid params)', false, 'tools/call', { arguments: {} }),
    m('tools/call, arguments not an object', false, 'tools/call', { name: 'query', arguments: [1] }),
    m('ping (always the SDK)', false, 'ping'),
  );
  if (era === 'modern') {
    CASES.push(
      m('Mcp-Name disagrees with the body', false, 'tools/call', QUERY, { 'mcp-name': 'list_schemas' }),
      m('Mcp-Name missing', false, 'tools/call', QUERY, { 'mcp-name': '' }),
      m('Mcp-Method missing', false, 'tools/list', {}, { 'mcp-method': '' }),
      m('MCP-Protocol-Version missing', false, 'tools/list', {}, { 'mcp-protocol-version': '' }),
    );
  }
}

async function post(server: TestServer, p: Post): Promise<{ status: number; type: string | null; body: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  for (const [k, v] of Object.entries(p.headers ?? {})) if (v !== '') headers[k] = v;
  const res = await fetch(server.mcpUrl, { method: 'POST', headers, body: JSON.stringify(p.body) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('tools/call and tools/list without the per-request SDK Server answer exactly as the SDK does', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let fast: TestServer;
  let sdk: TestServer;

  before(async () => {
    db = await startTestDatabase();
    fast = await startTestServer(db.databaseUrl);
    sdk = await startTestServer(db.databaseUrl, { MCP_HTTP_FAST_PATH: 'off' });
  });
  after(async () => {
    await fast?.close();
    await sdk?.close();
    await db?.dispose();
  });

  for (const p of CASES) {
    it(`${p.what}: same status, content type and bytes${p.fast ? '' : ' (served by the SDK on both)'}`, async () => {
      const counter = fast.app.get(McpFastPath);
      const before = counter.served;
      const viaSdk = await post(sdk, p);
      const viaFast = await post(fast, p);
      assert.equal(counter.served - before, p.fast ? 1 : 0, p.fast ? 'the fast path answered' : 'the SDK answered');
      assert.equal(sdk.app.get(McpFastPath).served, 0);
      assert.deepEqual(viaFast, viaSdk);
      if (p.what.includes('large')) assert.ok(viaFast.body.length > 256 * 1024, `a large body (${viaFast.body.length} characters)`);
    });
  }
});
