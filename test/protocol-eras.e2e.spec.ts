import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport as LegacyStdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import { startTestDatabase, startTestServer, TOKENS, type TestServer } from './support/stack.js';
import { MAIN_JS } from './support/server-process.js';

const MODERN = '2026-07-28';
const LEGACY = '2025-06-18';
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';

/** One call per tool, covering every tool the server offers. */
const CALLS: [string, Record<string, unknown>][] = [
  ['chart', { sql: 'SELECT depot, count(*)::int AS n FROM tracksolid.devices GROUP BY 1 ORDER BY 1', chart: { type: 'bar', x: 'depot', y: 'n' } }],
  ['describe_table', { schema: 'tracksolid', table: 'devices' }],
  ['device_daily_mileage', { device_id: 1, from: '2026-01-01', to: '2026-01-31' }],
  ['explain', { sql: 'SELECT count(*) FROM tracksolid.devices' }],
  ['latest_positions', { depot: 'Mombasa' }],
  ['list_schemas', {}],
  ['list_tables', { schema: 'reporting' }],
  ['query', { sql: 'SELECT device_id, count(*) AS n FROM tracksolid.position_history GROUP BY 1 ORDER BY 1 LIMIT 3' }],
  ['sample_table', { schema: 'reporting', table: 'v_trips', n: 2 }],
];

interface ToolResult {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { type: string; text?: string }[];
}

interface AnyClient {
  listTools(): Promise<{ tools: { name: string; outputSchema?: unknown; inputSchema: unknown }[] }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
}

const validator = new AjvJsonSchemaValidator();

/** Lists and calls every tool; checks each result against the tool's published outputSchema. */
async function exerciseEveryTool(client: AnyClient): Promise<Record<string, unknown>> {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), CALLS.map(([n]) => n));
  const out: Record<string, unknown> = {};
  for (const [name, args] of CALLS) {
    const tool = tools.find((t) => t.name === name)!;
    assert.ok(tool.outputSchema, `${name} declares an outputSchema`);
    const res = (await client.callTool({ name, arguments: args })) as ToolResult;
    assert.notEqual(res.isError, true, `${name}: ${JSON.stringify(res.content)}`);
    assert.ok(res.structuredContent, `${name} returns structuredContent`);
    const verdict = validator.getValidator(tool.outputSchema as never)(res.structuredContent);
    assert.equal(verdict.valid, true, `${name}: structuredContent does not match outputSchema: ${JSON.stringify(verdict)}`);
    assert.ok(res.content.some((c) => c.type === 'text' && c.text), `${name} also returns a text block`);
    // Timings differ from call to call; everything else must be the same in both eras.
    const { render_ms: _ms, ...stable } = res.structuredContent;
    out[name] = stable;
  }
  return out;
}

/** A fetch that records every JSON-RPC message and its MCP headers, optionally rewriting what is sent. */
function recordingFetch(sent: { message: Record<string, unknown>; headers: Headers }[], rewrite?: (m: Record<string, unknown>) => void) {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    if (typeof init?.body === 'string') {
      const message = JSON.parse(init.body) as Record<string, unknown>;
      rewrite?.(message);
      init = { ...init, body: JSON.stringify(message) };
      sent.push({ message, headers: new Headers(init.headers) });
    }
    return fetch(url, init);
  };
}

/** The v1 client always offers the latest 2025 revision; this makes it ask for 2025-06-18 instead. */
function askFor2025_06_18(m: Record<string, unknown>): void {
  if (m.method === 'initialize') (m.params as { protocolVersion: string }).protocolVersion = LEGACY;
}

describe('both protocol eras, over HTTP and stdio, with the official clients', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;
  const stdioEnv = () => ({
    PATH: process.env.PATH ?? '',
    DATABASE_URL: db.databaseUrl,
    MCP_AUTH_TOKENS: 'unused:unused-token-0123456789',
    LOG_LEVEL: 'warn',
  });

  before(async () => {
    db = await startTestDatabase();
    server = await startTestServer(db.databaseUrl);
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  let modernHttp: Record<string, unknown>;
  let legacyHttp: Record<string, unknown>;

  it('HTTP, 2026-07-28: a v2 client pinned to the modern revision discovers, lists and calls every tool without initialize', async () => {
    const sent: { message: Record<string, unknown>; headers: Headers }[] = [];
    const client = new ModernClient({ name: 'eras-modern', version: '1' }, { versionNegotiation: { mode: { pin: MODERN } } });
    await client.connect(
      new ModernHttpTransport(new URL(server.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${TOKENS.alice}` } },
        fetch: recordingFetch(sent),
      }),
    );
    try {
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      assert.match(client.getDiscoverResult()?.instructions ?? '', /Read-only SQL/);
      modernHttp = await exerciseEveryTool(client);
    } finally {
      await client.close();
    }
    const methods = sent.map((s) => s.message.method);
    assert.equal(methods[0], 'server/discover');
    assert.ok(!methods.includes('initialize'), methods.join(', '));
    for (const { message, headers } of sent.filter((s) => 'id' in s.message)) {
      const meta = (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta ?? {};
      assert.equal(meta[PROTOCOL_VERSION_KEY], MODERN, `${String(message.method)} carries the protocol version in _meta`);
      assert.ok(meta[CLIENT_CAPABILITIES_KEY], `${String(message.method)} carries the client capabilities in _meta`);
      assert.equal(headers.get('mcp-protocol-version'), MODERN);
      assert.equal(headers.get('mcp-method'), message.method);
    }
  });

  it('HTTP, 2025-06-18: the v1 SDK client initializes, lists and calls every tool with the same results', async () => {
    const sent: { message: Record<string, unknown>; headers: Headers }[] = [];
    const client = new LegacyClient({ name: 'eras-legacy', version: '1' });
    await client.connect(
      new LegacyHttpTransport(new URL(server.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${TOKENS.alice}` } },
        fetch: recordingFetch(sent, askFor2025_06_18),
      }),
    );
    try {
      legacyHttp = await exerciseEveryTool(client);
    } finally {
      await client.close();
    }
    assert.equal(sent[0]!.message.method, 'initialize');
    const later = sent.filter((s) => s.message.method === 'tools/call');
    assert.ok(later.length === CALLS.length && later.every((s) => s.headers.get('mcp-protocol-version') === LEGACY));
    assert.deepEqual(legacyHttp, modernHttp, 'the tools answer the same in both eras');
  });

  it('HTTP: a v2 client in auto mode lands on the modern era at the first probe', async () => {
    const sent: { message: Record<string, unknown>; headers: Headers }[] = [];
    const client = new ModernClient({ name: 'eras-auto', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(
      new ModernHttpTransport(new URL(server.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${TOKENS.bob}` } },
        fetch: recordingFetch(sent),
      }),
    );
    try {
      assert.equal(client.getProtocolEra(), 'modern');
      assert.deepEqual(sent.map((s) => s.message.method), ['server/discover']);
    } finally {
      await client.close();
    }
  });

  it('stdio, 2026-07-28: a v2 client pinned to the modern revision lists and calls every tool', async () => {
    const client = new ModernClient({ name: 'eras-modern-stdio', version: '1' }, { versionNegotiation: { mode: { pin: MODERN } } });
    await client.connect(new ModernStdioTransport({ command: process.execPath, args: [MAIN_JS, '--stdio'], env: stdioEnv(), stderr: 'pipe' }));
    try {
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      assert.deepEqual(await exerciseEveryTool(client), modernHttp);
    } finally {
      await client.close();
    }
  });

  it('stdio, 2025-06-18: the v1 SDK client initializes, lists and calls every tool', async () => {
    const transport = new LegacyStdioTransport({ command: process.execPath, args: [MAIN_JS, '--stdio'], env: stdioEnv(), stderr: 'pipe' });
    const received: JSONRPCMessage[] = [];
    const send = transport.send.bind(transport);
    transport.send = (message: JSONRPCMessage) => {
      askFor2025_06_18(message as unknown as Record<string, unknown>);
      return send(message);
    };
    const start = transport.start.bind(transport);
    transport.start = async () => {
      await start();
      const deliver = transport.onmessage;
      transport.onmessage = (m) => (received.push(m), deliver?.(m));
    };
    const client = new LegacyClient({ name: 'eras-legacy-stdio', version: '1' });
    await client.connect(transport);
    try {
      const init = received.find((m) => 'result' in m && (m.result as { protocolVersion?: string }).protocolVersion);
      assert.equal((init as unknown as { result: { protocolVersion: string } }).result.protocolVersion, LEGACY);
      assert.deepEqual(await exerciseEveryTool(client), modernHttp);
    } finally {
      await client.close();
    }
  });
});
