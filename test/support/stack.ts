import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type AppConfig } from '../../apps/analytics-mcp/src/config/app-config.js';
import type { DemoSeedOptions } from '../../apps/analytics-mcp/src/embedded/demo-seed.js';
import { startEmbeddedDemo, type EmbeddedDemo } from '../../apps/analytics-mcp/src/embedded/embedded-demo.js';
import { createHttpApp } from '../../apps/analytics-mcp/src/http-app.js';

export const SMALL_SEED: DemoSeedOptions = { devices: 12, days: 2, intervalMinutes: 10 };

export const TOKENS = {
  alice: 'alice-test-token-0123456789',
  bob: 'bob-test-token-0123456789ab',
} as const;

export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A real PostgreSQL with the demo schema, in a temp dir removed on stop. */
export async function startTestDatabase(seed: DemoSeedOptions = SMALL_SEED): Promise<EmbeddedDemo & { dispose(): Promise<void> }> {
  const dir = await makeTempDir('amcp-test-');
  const demo = await startEmbeddedDemo({ dataDir: dir, seed, ephemeral: true });
  return {
    ...demo,
    dispose: async () => {
      await demo.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestServer {
  app: NestExpressApplication;
  config: AppConfig;
  baseUrl: string;
  mcpUrl: string;
  connect(token?: string): Promise<Client>;
  close(): Promise<void>;
}

/** Boots the real HTTP app in this process on a free loopback port. */
export async function startTestServer(databaseUrl: string, env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    MCP_AUTH_TOKENS: Object.entries(TOKENS).map(([n, t]) => `${n}:${t}`).join(','),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    MCP_RATE_LIMIT_PER_MIN: '0',
    // One line per call on the test runner's stdout is noise; the audit specs turn it on.
    MCP_AUDIT_LOG: 'off',
    ...env,
  });
  const app = await createHttpApp(config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  const mcpUrl = `${baseUrl}/mcp`;
  const clients: Client[] = [];
  return {
    app,
    config,
    baseUrl,
    mcpUrl,
    async connect(token: string = TOKENS.alice) {
      const client = await connectClient(mcpUrl, token);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await app.close();
    },
  };
}

export async function connectClient(mcpUrl: string, token: string): Promise<Client> {
  const client = new Client({ name: 'analytics-mcp-tests', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

/** callTool, typed as the tools/call result this server returns. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}
