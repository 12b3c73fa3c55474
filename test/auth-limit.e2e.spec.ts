import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call, connectClient, startTestDatabase, startTestServer, textOf, TOKENS, type TestServer } from './support/stack.js';

const listTools = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });

describe('failed authentications are limited per client address, before the token is checked', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;

  before(async () => {
    db = await startTestDatabase();
    // Loopback is the trusted proxy here, so X-Forwarded-For stands for distinct clients.
    server = await startTestServer(db.databaseUrl, { MCP_AUTH_FAIL_LIMIT_PER_MIN: '30', MCP_TRUSTED_PROXIES: 'loopback' });
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  const post = (token: string, clientIp: string) =>
    fetch(server.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}`, 'x-forwarded-for': clientIp },
      body: listTools,
    });

  it('100 bad tokens from one address: 401 for the first 30, then 429 with Retry-After and a JSON-RPC body; a valid caller elsewhere is unaffected', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 100; i++) {
      last = await post(`wrong-token-${i}-0123456789`, '203.0.113.7');
      statuses.push(last.status);
      if (last.status === 429 && i < 99) await last.body?.cancel();
    }
    assert.deepEqual(statuses.slice(0, 30), Array(30).fill(401));
    assert.deepEqual(statuses.slice(30), Array(70).fill(429));
    const retryAfter = Number(last!.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const body = (await last!.json()) as { jsonrpc: string; error: { code: number; message: string } };
    assert.equal(body.jsonrpc, '2.0');
    assert.match(body.error.message, /too many failed authentications from this address \(MCP_AUTH_FAIL_LIMIT_PER_MIN\)/);

    // Another address with a valid token: served as usual, over MCP.
    const other = await post(TOKENS.bob, '198.51.100.20');
    assert.equal(other.status, 200);
    // The blocked address is refused before its token is looked at: a valid one too.
    assert.equal((await post(TOKENS.alice, '203.0.113.7')).status, 429);
  });

  it('health probes and /metrics are never limited', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await fetch(`${server.baseUrl}/health/live`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
      assert.equal((await fetch(`${server.baseUrl}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
    }
  });

  it('counts failures per address, not per caller: a valid caller behind another address keeps working through an MCP client', async () => {
    for (let i = 0; i < 40; i++) await (await post(`other-wrong-${i}-0123456789`, '203.0.113.8')).body?.cancel();
    const client = await connectClient(server.mcpUrl, TOKENS.alice);
    const r = await call(client, 'query', { sql: 'SELECT 1 AS one' });
    assert.equal(r.isError, undefined, textOf(r));
    await client.close();
  });
});

describe('without MCP_TRUSTED_PROXIES, X-Forwarded-For is ignored', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;

  before(async () => {
    db = await startTestDatabase();
    server = await startTestServer(db.databaseUrl, { MCP_AUTH_FAIL_LIMIT_PER_MIN: '5' });
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  it('a flood cannot escape its budget by inventing client addresses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(server.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer nope-${i}-0123456789abcdef`, 'x-forwarded-for': `192.0.2.${i}` },
        body: listTools,
      });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
  });
});
