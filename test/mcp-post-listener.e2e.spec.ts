import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import { McpPostListener } from '../apps/analytics-mcp/src/mcp/mcp-post.listener.js';
import { MAX_BODY_BYTES } from '../apps/analytics-mcp/src/mcp/mcp-http-body.js';
import { spawnServer, type ServerProcess } from './support/server-process.js';
import { startTestDatabase, startTestServer, type TestServer } from './support/stack.js';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const ENVELOPE = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'listener-spec', version: '1' } };

// One caller per case, so each case's rate-limit count starts at zero on both servers.
const CALLERS = ['c01', 'c02', 'c03', 'c04', 'c05', 'c06', 'c07', 'c08', 'c09', 'c10', 'c11', 'c12', 'c13'];
const token = (caller: string) => `${caller}-listener-token-0123456789`;
const ENV = {
  MCP_AUTH_TOKENS: CALLERS.map((c) => `${c}:${token(c)}`).join(','),
  MCP_RATE_LIMIT_PER_MIN: '3',
  MCP_AUTH_FAIL_LIMIT_PER_MIN: '2',
  // X-Forwarded-For stands for distinct clients (the failed-auth limit counts per address).
  MCP_TRUSTED_PROXIES: 'loopback',
  MCP_ALLOWED_HOSTS: `127.0.0.1,localhost,mcp.example.com`,
  MCP_ALLOWED_ORIGINS: 'https://app.example.com',
};

interface Req {
  method?: string;
  path?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
}
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const legacyCall = (id: string, name: string, args: unknown) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const modernCall = (name: string, args: unknown) => JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name, arguments: args, _meta: ENVELOPE } });
const LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const Q1 = { sql: `SELECT device_id, imei FROM tracksolid.devices WHERE device_id = (SELECT min(device_id) FROM tracksolid.devices)` };

function base(caller: string | undefined, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': LEGACY,
    ...(caller ? { authorization: `Bearer ${token(caller)}` } : {}),
    ...extra,
  };
}

function send(port: number, r: Req): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) headers[k] = v;
    const req = request({ host: '127.0.0.1', port, method: r.method ?? 'POST', path: r.path ?? '/mcp', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const { date: _d, connection: _c, 'keep-alive': _k, ...rest } = res.headers;
        resolve({ status: res.statusCode!, headers: rest, body: Buffer.concat(chunks).toString() });
      });
    });
    // The server may answer (413) and close before it read the whole body.
    req.on('error', reject);
    req.end(r.body);
  });
}

// Seconds left in a rate-limit window depend on when each server saw the request. With
// MCP_HTTP_FAST_PATH=off the SDK answers a 2026-07-28 tools/call chunked where McpFastPath
// sends Content-Length (fast-path.e2e.spec.ts): the framing of a 200 is not compared.
function timeless(a: Answer): Answer {
  const headers = { ...a.headers };
  if (a.status === 200) {
    delete headers['content-length'];
    delete headers['transfer-encoding'];
  }
  for (const h of ['retry-after', 'retry-after-mcp', 'x-ratelimit-reset-mcp']) if (headers[h] !== undefined) headers[h] = '<s>';
  return { ...a, headers, body: a.body.replace(/retry in \d+ s/, 'retry in <s> s') };
}

interface Case {
  what: string;
  /** Requests sent in order to each server; every answer is compared. */
  requests: Req[];
  /** Whether the listener (not Express) serves them on the default server. */
  bypass: boolean;
  expect: number[];
}

const CASES: Case[] = [
  { what: 'no token: 401 with a WWW-Authenticate challenge', bypass: true, expect: [401], requests: [{ headers: base(undefined), body: LIST }] },
  { what: 'an unknown token: 401 invalid_token', bypass: true, expect: [401], requests: [{ headers: { ...base(undefined), authorization: 'Bearer nope-0123456789abcdef', 'x-forwarded-for': '198.51.100.1' }, body: LIST }] },
  {
    what: 'the failed-auth limit per X-Forwarded-For address: 429 with Retry-After, then refused before the token is looked at',
    bypass: true,
    expect: [401, 401, 429, 429, 200],
    requests: [
      ...[1, 2, 3].map((i) => ({ headers: { ...base(undefined), authorization: `Bearer wrong-${i}-0123456789`, 'x-forwarded-for': '203.0.113.9' }, body: LIST })),
      { headers: base('c01', { 'x-forwarded-for': '203.0.113.9' }), body: LIST },
      { headers: base('c01', { 'x-forwarded-for': '203.0.113.10' }), body: LIST },
    ],
  },
  { what: 'a Host not allowed: 403 before authentication', bypass: true, expect: [403], requests: [{ headers: base(undefined, { host: 'evil.example.net' }), body: LIST }] },
  { what: 'an allowed Host name', bypass: true, expect: [200], requests: [{ headers: base('c02', { host: 'mcp.example.com' }), body: LIST }] },
  { what: 'an Origin not allowed: 403 before authentication', bypass: true, expect: [403], requests: [{ headers: base(undefined, { origin: 'https://evil.example.net' }), body: LIST }] },
  { what: 'an allowed Origin', bypass: true, expect: [200], requests: [{ headers: base('c03', { origin: 'https://app.example.com' }), body: LIST }] },
  {
    what: 'the caller rate limit: 429 with Retry-After past 3 calls a minute',
    bypass: true,
    expect: [200, 200, 200, 429],
    requests: [1, 2, 3, 4].map((i) => ({ headers: base('c04'), body: legacyCall(`r${i}`, 'list_schemas', {}) })),
  },
  { what: 'Accept without JSON: 406', bypass: true, expect: [406], requests: [{ headers: base('c05', { accept: 'text/html' }), body: LIST }] },
  { what: 'a Content-Type other than JSON: 415', bypass: true, expect: [415], requests: [{ headers: base('c05', { 'content-type': 'text/plain' }), body: LIST }] },
  { what: 'a body over the limit: 413', bypass: true, expect: [413], requests: [{ headers: base('c06'), body: `{"x":"${'a'.repeat(MAX_BODY_BYTES)}"}` }] },
  { what: 'GET /mcp: 405 (Express)', bypass: false, expect: [405], requests: [{ method: 'GET', headers: base('c07') }] },
  { what: 'DELETE /mcp: 405 (Express)', bypass: false, expect: [405], requests: [{ method: 'DELETE', headers: base('c07') }] },
  { what: 'POST /mcp/ (trailing slash)', bypass: true, expect: [200, 403], requests: [{ path: '/mcp/', headers: base('c08'), body: LIST }, { path: '/mcp/', headers: base('c08', { host: 'evil.example.net' }), body: LIST }] },
  { what: 'POST /mcp?x=1 (query string)', bypass: true, expect: [200, 401], requests: [{ path: '/mcp?x=1&y', headers: base('c09'), body: LIST }, { path: '/mcp/?x=1', headers: base(undefined), body: LIST }] },
  { what: 'POST /MCP (Express routes it, case-insensitively)', bypass: false, expect: [200], requests: [{ path: '/MCP', headers: base('c10'), body: LIST }] },
  {
    what: 'a tools/call in both protocol eras',
    bypass: true,
    expect: [200, 200],
    requests: [
      { headers: base('c11'), body: legacyCall('q1', 'query', Q1) },
      { headers: base('c11', { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'query' }), body: modernCall('query', Q1) },
    ],
  },
  {
    what: 'the caller in PostgreSQL application_name',
    bypass: true,
    expect: [200],
    requests: [{ headers: base('c12'), body: legacyCall('a', 'query', { sql: `SELECT current_setting('application_name') AS app` }) }],
  },
];

describe('POST /mcp served in front of Express answers exactly as the Nest pipeline does', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let on: TestServer;
  let off: TestServer;
  const portOf = (s: TestServer) => Number(new URL(s.baseUrl).port);

  before(async () => {
    db = await startTestDatabase();
    on = await startTestServer(db.databaseUrl, ENV);
    off = await startTestServer(db.databaseUrl, { ...ENV, MCP_HTTP_FAST_PATH: 'off' });
  });
  after(async () => {
    await on?.close();
    await off?.close();
    await db?.dispose();
  });

  it('is installed by default and not with MCP_HTTP_FAST_PATH=off', () => {
    assert.ok(McpPostListener.of(on.app.getHttpServer() as Server));
    assert.equal(McpPostListener.of(off.app.getHttpServer() as Server), undefined);
  });

  for (const c of CASES) {
    it(`${c.what}: same status, headers and body`, async () => {
      const listener = McpPostListener.of(on.app.getHttpServer() as Server)!;
      const viaNest: Answer[] = [];
      const viaListener: Answer[] = [];
      for (const r of c.requests) viaNest.push(await send(portOf(off), r));
      const served = listener.served;
      for (const r of c.requests) viaListener.push(await send(portOf(on), r));
      assert.equal(listener.served - served, c.bypass ? c.requests.length : 0, c.bypass ? 'the listener served them' : 'Express served them');
      assert.deepEqual(viaNest.map((a) => a.status), c.expect);
      assert.deepEqual(viaListener.map(timeless), viaNest.map(timeless));
      if (c.expect.includes(401)) assert.match(String(viaListener.find((a) => a.status === 401)!.headers['www-authenticate']), /^Bearer/);
      if (c.expect.includes(429)) assert.ok(Number(viaListener.find((a) => a.status === 429)!.headers['retry-after']) >= 1);
      if (c.what.includes('application_name')) assert.match(viaListener[0]!.body, /analytics-mcp:c12/);
    });
  }
});

describe('the access log and warnings are the same with the listener in front of Express', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  const servers: ServerProcess[] = [];

  before(async () => {
    db = await startTestDatabase();
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await db?.dispose();
  });

  // pino JSON lines without what differs between two processes and two runs.
  const linesOf = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        const { time: _t, pid: _p, hostname: _h, responseTime: _r, req, res: _s, ...rest } = JSON.parse(l) as Record<string, unknown> & { req?: { url?: string } };
        return JSON.stringify({ ...rest, url: req?.url });
      });

  it('debug level: no access line for POST /mcp, the same warning for a refused token, an access line for other paths', async () => {
    const outputs: string[][] = [];
    for (const fast of ['off', 'on']) {
      const server = await spawnServer({ ...ENV, DATABASE_URL: db.databaseUrl, LOG_LEVEL: 'debug', LOG_FORMAT: 'json', MCP_AUDIT_LOG: 'off', MCP_HTTP_FAST_PATH: fast });
      servers.push(server);
      const mark = server.output().length;
      assert.equal((await send(server.port, { headers: base('c13'), body: legacyCall('x', 'list_schemas', {}) })).status, 200);
      assert.equal((await send(server.port, { headers: base(undefined, { 'x-forwarded-for': '192.0.2.5' }), body: LIST })).status, 401);
      assert.equal((await send(server.port, { method: 'GET', path: '/nope-sentinel' })).status, 404);
      // The sentinel's access line comes last; wait until it is printed.
      while (!server.output().slice(mark).includes('/nope-sentinel')) await new Promise((r) => setTimeout(r, 20));
      outputs.push(linesOf(server.output().slice(mark)));
    }
    const [nest, listener] = outputs;
    assert.deepEqual(listener, nest);
    assert.equal(nest!.filter((l) => l.includes('"url":"/mcp')).length, 0, 'no access line for /mcp');
    assert.ok(nest!.some((l) => l.includes('unauthorized request') && l.includes('192.0.2.5')), nest!.join('\n'));
    assert.ok(nest!.some((l) => l.includes('/nope-sentinel')));
  });
});
