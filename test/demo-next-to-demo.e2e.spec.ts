import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { removeClusterData, runningServer } from '../apps/analytics-mcp/src/embedded/embedded-cluster.js';
import { startEmbeddedDemo } from '../apps/analytics-mcp/src/embedded/embedded-demo.js';
import { call, connectClient, makeTempDir, SMALL_SEED, textOf } from './support/stack.js';
import { MAIN_JS, spawnServer, type ServerProcess } from './support/server-process.js';

const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL)/;

describe('the demo as a newcomer runs it: npm start, then a stdio client next to it', () => {
  let dir: string;
  let positions: number;
  let server: ServerProcess;

  before(async () => {
    dir = await makeTempDir('amcp-newcomer-');
    // Seed a small demo first, so the server below finds it instead of seeding 500k rows.
    const seeded = await startEmbeddedDemo({ dataDir: dir, seed: SMALL_SEED });
    positions = seeded.positions;
    await seeded.stop();
    // As `npm start` does: no DATABASE_URL, no MCP_AUTH_TOKENS (the dev token).
    server = await spawnServer({ DATA_DIR: dir, MCP_AUTH_TOKENS: '', LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' });
  });
  after(async () => {
    await server?.stop();
    await removeClusterData(join(dir, 'pg'));
    await rm(dir, { recursive: true, force: true });
  });

  it('prints readable logs, then the banner with URL, token and client configs last', async () => {
    assert.equal((await fetch(`${server.baseUrl}/health/ready`)).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const lines = server.output().split('\n');
    const start = lines.findIndex((l) => l.startsWith('analytics-mcp is listening: '));
    assert.ok(start > 0, server.output());
    const before = lines.slice(0, start);
    const banner = lines.slice(start).filter((l) => l.trim());
    assert.ok(before.some((l) => PRETTY_LINE.test(l) && l.includes('[NestApplication] Nest application successfully started')), server.output());
    assert.ok(!lines.some((l) => l.startsWith('{')), `JSON log lines in pretty mode:\n${server.output()}`);
    assert.deepEqual(banner.filter((l) => PRETTY_LINE.test(l)), [], 'log lines after the banner');
    const token = (await readFile(join(dir, 'dev-token'), 'utf8')).trim();
    assert.ok(banner.some((l) => l.includes(`dev token`) && l.includes(token)), banner.join('\n'));
    assert.ok(banner.some((l) => l.includes('claude mcp add --transport http analytics')));
    assert.match(banner.at(-1)!, /MCP Inspector/);
  });

  it('serves the demo data to a plain MCP client with the dev token', async () => {
    const token = (await readFile(join(dir, 'dev-token'), 'utf8')).trim();
    const client = await connectClient(server.mcpUrl, token);
    try {
      const res = await call(client, 'query', { sql: 'SELECT count(*) FROM tracksolid.position_history' });
      assert.equal(res.isError, undefined, textOf(res));
      assert.deepEqual((res.structuredContent as { rows: unknown[][] }).rows, [[positions]]);
    } finally {
      await client.close();
    }
  });

  it('lets a stdio client run next to it on the same demo database, without stopping it', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN_JS, '--stdio'],
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'stdio-next-to-demo', version: '1' });
    await client.connect(transport);
    try {
      const res = (await client.callTool({
        name: 'query',
        arguments: { sql: 'SELECT count(*) FROM tracksolid.position_history' },
      })) as CallToolResult;
      assert.equal(res.isError, undefined, `${textOf(res)}\n${stderr}`);
      assert.deepEqual((res.structuredContent as { rows: unknown[][] }).rows, [[positions]]);
    } finally {
      await client.close();
    }
    assert.match(stderr, /using the demo PostgreSQL another process runs/);
    // Not a terminal, no LOG_FORMAT: JSON lines.
    assert.ok(stderr.split('\n').some((l) => l.startsWith('{"level":30')), stderr);
    // The HTTP server's database is still up.
    assert.equal((await fetch(`${server.baseUrl}/health/ready`)).status, 200);
  });

  it('stops its database with itself on SIGTERM', async () => {
    const dataDir = await realpath(join(dir, 'pg'));
    assert.ok(await runningServer(dataDir));
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    assert.equal(await runningServer(dataDir), null);
  });
});
