import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { freePort } from '../apps/analytics-mcp/src/embedded/free-port.js';
import { makeSigningKey, SERVICE_CLIENT, startIdentityProvider, type IdentityProvider } from './support/identity-provider.js';
import { spawnServer } from './support/server-process.js';
import { call, connectClient, startTestDatabase, textOf, TOKENS } from './support/stack.js';

const HASHED = 'erin-hashed-token-0123456789abc';

describe('no token or secret in what the server prints (static, hashed and OAuth callers, LOG_LEVEL=trace)', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let idp: IdentityProvider;

  before(async () => {
    db = await startTestDatabase();
    idp = await startIdentityProvider([await makeSigningKey('k1')]);
  });
  after(async () => {
    await idp?.close();
    await db?.dispose();
  });

  it('serves every kind of caller, audits them, and prints none of their credentials', async () => {
    const port = await freePort();
    const mcpUrl = `http://127.0.0.1:${port}/mcp`;
    const server = await spawnServer({
      DATABASE_URL: db.databaseUrl,
      PORT: String(port),
      LOG_LEVEL: 'trace',
      MCP_AUDIT_LOG: 'stdout',
      MCP_AUTH_TOKENS: `alice:${TOKENS.alice},erin:sha256:${createHash('sha256').update(HASHED).digest('hex')}`,
      MCP_OAUTH_ISSUER: idp.issuer,
      MCP_PUBLIC_URL: `http://127.0.0.1:${port}`,
    });
    const jwt = await idp.clientCredentials(mcpUrl);
    const wrong = ['alice-test-token-0123456780', `${jwt.slice(0, -4)}AAAA`];
    try {
      for (const [token, caller] of [[TOKENS.alice, 'alice'], [HASHED, 'erin'], [jwt, SERVICE_CLIENT.id]] as const) {
        const client = await connectClient(mcpUrl, token);
        const r = await call(client, 'query', { sql: "SELECT current_setting('application_name')" });
        assert.deepEqual((r.structuredContent as { rows: string[][] }).rows, [[`analytics-mcp:${caller}`]], textOf(r));
        await client.close();
      }
      for (const token of wrong) {
        const res = await fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
        assert.equal(res.status, 401);
      }
    } finally {
      await server.stop();
    }
    const out = server.output();
    for (const caller of ['alice', 'erin', SERVICE_CLIENT.id]) {
      assert.match(out, new RegExp(`"audit":"tool_call","caller":"${caller}","tool":"query","outcome":"ok"`), caller);
    }
    for (const secret of [TOKENS.alice, HASHED, jwt, jwt.split('.')[2]!, SERVICE_CLIENT.secret, ...wrong]) {
      assert.ok(!out.includes(secret), `a credential (${secret.length} chars) is in the output`);
    }
  });
});
