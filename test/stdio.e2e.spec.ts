import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startTestDatabase, textOf } from './support/stack.js';
import { MAIN_JS } from './support/server-process.js';

describe('MCP over stdio', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let client: Client;
  let transport: StdioClientTransport;

  before(async () => {
    db = await startTestDatabase();
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN_JS, '--stdio'],
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.databaseUrl, MCP_AUTH_TOKENS: 'unused:unused-token-0123456789', LOG_LEVEL: 'warn' },
      stderr: 'pipe',
    });
    client = new Client({ name: 'stdio-test', version: '1' });
    await client.connect(transport);
  });
  after(async () => {
    await client?.close();
    await db?.dispose();
  });

  it('lists the same tools and answers a query, attributed to the local user', async () => {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'query'));
    const res = (await client.callTool({
      name: 'query',
      arguments: { sql: "SELECT count(*), current_setting('application_name') FROM tracksolid.devices" },
    })) as CallToolResult;
    assert.equal(res.isError, undefined, textOf(res));
    const out = res.structuredContent as { rows: [number, string][] };
    assert.equal(out.rows[0]![0], 12);
    assert.match(out.rows[0]![1], /^analytics-mcp:local-/);
  });

  it('refuses writes with a tool error, keeping stdout clean for the protocol', async () => {
    const res = (await client.callTool({ name: 'query', arguments: { sql: 'DROP TABLE tracksolid.devices' } })) as CallToolResult;
    assert.equal(res.isError, true);
    assert.match(textOf(res), /DROP/);
  });
});
