import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startTestDatabase, startTestServer, TOKENS, type TestServer } from './support/stack.js';

const MODERN = '2026-07-28';
const CLIENT = { name: 'raw', version: '1' };

interface RpcBody {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** A raw POST /mcp (fetch cannot set Host; node:http can). */
function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  token: string | null = TOKENS.alice,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: RpcBody & RpcBody[] }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}

/** A 2026-07-28 request: the _meta envelope in the body and the standard headers. */
function modern(method: string, params: Record<string, unknown> = {}, id: number = 1) {
  return {
    body: {
      jsonrpc: '2.0',
      id,
      method,
      params: {
        ...params,
        _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': CLIENT },
      },
    },
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}) },
  };
}

const legacy = (method: string, params?: Record<string, unknown>, id: number = 1) => ({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });

/** A non-200 answer of /mcp always has a JSON-RPC error body. */
function assertRpcError(res: { status: number; body: RpcBody }, status: number, code?: number): string {
  assert.equal(res.status, status);
  assert.equal(res.body?.jsonrpc, '2.0', `status ${status} has a JSON-RPC body: ${JSON.stringify(res.body)}`);
  assert.equal(typeof res.body.error?.message, 'string');
  if (code !== undefined) assert.equal(res.body.error!.code, code);
  return res.body.error!.message;
}

describe('Streamable HTTP transport rules', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;

  before(async () => {
    db = await startTestDatabase();
    server = await startTestServer(db.databaseUrl);
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  it('validates Origin on every request: foreign origins get 403, loopback ones pass on a loopback bind, none passes', async () => {
    const evil = await post(server.mcpUrl, legacy('tools/list'), { origin: 'http://evil.example' });
    assert.match(assertRpcError(evil, 403), /evil\.example/);
    assertRpcError(await post(server.mcpUrl, legacy('tools/list'), { origin: 'null' }), 403);
    // A foreign origin is refused before authentication, with or without a token.
    assertRpcError(await post(server.mcpUrl, legacy('tools/list'), { origin: 'https://evil.example' }, null), 403);
    for (const origin of ['http://localhost:6274', 'http://127.0.0.1:3000', 'http://[::1]:8080']) {
      const ok = await post(server.mcpUrl, legacy('tools/list'), { origin });
      assert.equal(ok.status, 200, origin);
      assert.ok(Array.isArray(ok.body.result?.tools));
    }
    assert.equal((await post(server.mcpUrl, legacy('tools/list'))).status, 200);
  });

  it('accepts the origins of MCP_ALLOWED_ORIGINS, and no other browser origin off loopback', async () => {
    const open = await startTestServer(db.databaseUrl, { HOST: '0.0.0.0', MCP_ALLOWED_HOSTS: '127.0.0.1', MCP_ALLOWED_ORIGINS: 'https://bi.example.com' });
    try {
      assert.equal((await post(open.mcpUrl, legacy('tools/list'), { origin: 'https://bi.example.com' })).status, 200);
      assertRpcError(await post(open.mcpUrl, legacy('tools/list'), { origin: 'http://localhost:6274' }), 403);
      assertRpcError(await post(open.mcpUrl, legacy('tools/list'), { origin: 'https://evil.example' }), 403);
      assert.equal((await post(open.mcpUrl, legacy('tools/list'))).status, 200);
    } finally {
      await open.close();
    }
  });

  it('keeps the loopback Host and Origin protections when HOST spells loopback differently', async () => {
    const mapped = await startTestServer(db.databaseUrl, { HOST: '::ffff:127.0.0.1' });
    try {
      assertRpcError(await post(mapped.mcpUrl, legacy('tools/list'), { host: 'evil.example' }), 403);
      assertRpcError(await post(mapped.mcpUrl, legacy('tools/list'), { origin: 'http://evil.example' }), 403);
      assert.equal((await post(mapped.mcpUrl, legacy('tools/list'), { host: 'localhost' })).status, 200);
      assert.equal((await post(mapped.mcpUrl, legacy('tools/list'), { host: '127.0.0.2:9' })).status, 200);
    } finally {
      await mapped.close();
    }
  });

  it('answers malformed params with -32602 and a short message in both eras', async () => {
    const old = await post(server.mcpUrl, legacy('tools/call', { arguments: {} }));
    const m = modern('tools/call', { arguments: {} });
    const now = await post(server.mcpUrl, m.body, m.headers);
    for (const res of [old, now]) {
      assert.equal(res.body.error?.code, -32602, JSON.stringify(res.body));
      assert.match(res.body.error!.message, /name/);
      assert.ok(res.body.error!.message.length <= 300 && !res.body.error!.message.includes('\n'), res.body.error!.message);
    }
  });

  it('answers an invalid cursor on tools/list with -32602 in both eras', async () => {
    const old = await post(server.mcpUrl, legacy('tools/list', { cursor: 'bogus' }));
    assert.equal(old.body.error?.code, -32602);
    const m = modern('tools/list', { cursor: 'bogus' });
    const now = await post(server.mcpUrl, m.body, m.headers);
    assert.equal(now.body.error?.code, -32602, JSON.stringify(now.body));
    assert.match(now.body.error!.message, /cursor/);
  });

  it('serves 2026-07-28 requests statelessly: server/discover, resultType, and header checks', async () => {
    const d = modern('server/discover');
    const discover = await post(server.mcpUrl, d.body, d.headers);
    assert.equal(discover.status, 200);
    assert.ok((discover.body.result?.supportedVersions as string[]).includes(MODERN), JSON.stringify(discover.body));
    assert.ok(discover.body.result?.capabilities);
    const c = modern('tools/call', { name: 'query', arguments: { sql: 'SELECT 41 + 1 AS answer' } });
    const call = await post(server.mcpUrl, c.body, c.headers);
    assert.equal(call.status, 200);
    assert.equal(call.body.result?.resultType, 'complete');
    assert.deepEqual((call.body.result?.structuredContent as { rows: unknown[][] }).rows, [[42]]);
    // The Mcp-Method header must agree with the body, and MCP-Protocol-Version must be present.
    assertRpcError(await post(server.mcpUrl, c.body, { ...c.headers, 'mcp-method': 'tools/list' }), 400);
    const { 'mcp-protocol-version': _v, ...noVersion } = c.headers;
    assertRpcError(await post(server.mcpUrl, c.body, noVersion), 400);
    // A modern version header on a request without the envelope is refused, not served as 2025.
    assertRpcError(await post(server.mcpUrl, legacy('tools/list'), { 'mcp-protocol-version': MODERN }), 400);
  });

  it('negotiates each 2025 revision it supports with handshake clients', async () => {
    for (const protocolVersion of ['2025-11-25', '2025-06-18', '2025-03-26']) {
      const init = await post(server.mcpUrl, legacy('initialize', { protocolVersion, capabilities: {}, clientInfo: CLIENT }));
      assert.equal(init.body.result?.protocolVersion, protocolVersion);
    }
  });

  it('answers every request of a batch: duplicate ids are refused, a request cancelled in its own batch is still answered', async () => {
    const dup = await post(server.mcpUrl, [legacy('ping', undefined, 1), legacy('ping', undefined, 1)]);
    assert.match(assertRpcError(dup, 400, -32600), /id 1/);
    const cancelled = await post(server.mcpUrl, [
      legacy('ping', undefined, 8),
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 8 } },
    ]);
    assert.equal(cancelled.status, 200);
    assert.deepEqual(cancelled.body.map((r) => r.id), [8]);
    const mixed = await post(server.mcpUrl, [legacy('ping', undefined, 'a' as never), legacy('tools/list', undefined, 'b' as never)]);
    assert.deepEqual(mixed.body.map((r) => r.id), ['a', 'b']);
  });

  it('gives every non-200 answer a JSON-RPC error body', async () => {
    const none = await post(server.mcpUrl, legacy('tools/list'), {}, null);
    assert.match(assertRpcError(none, 401), /Authorization/);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    const wrong = await post(server.mcpUrl, legacy('tools/list'), {}, 'not-a-known-token-0000');
    assertRpcError(wrong, 401);
    assert.match(String(wrong.headers['www-authenticate']), /^Bearer error="invalid_token"/);
    assertRpcError(await post(server.mcpUrl, legacy('tools/list'), { accept: 'text/html' }), 406);
    assertRpcError(await post(server.mcpUrl, legacy('tools/list'), { 'content-type': 'text/plain' }), 415);
    assertRpcError(await post(server.mcpUrl, 'x'.repeat(5 * 1024 * 1024)), 413);
    assertRpcError(await post(server.mcpUrl, '{"jsonrpc":'), 400, -32700);
    const limited = await startTestServer(db.databaseUrl, { MCP_RATE_LIMIT_PER_MIN: '1' });
    try {
      assert.equal((await post(limited.mcpUrl, legacy('tools/list'))).status, 200);
      const throttled = await post(limited.mcpUrl, legacy('tools/list'));
      assert.match(assertRpcError(throttled, 429), /at most 1 tool calls per minute per caller/);
      assert.ok(Number(throttled.headers['retry-after']) > 0);
    } finally {
      await limited.close();
    }
  });
});
