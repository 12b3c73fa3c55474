import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { base64url, SignJWT } from 'jose';
import pg from 'pg';
import { loadConfig, type AppConfig } from '../apps/analytics-mcp/src/config/app-config.js';
import { freePort } from '../apps/analytics-mcp/src/embedded/free-port.js';
import { createHttpApp } from '../apps/analytics-mcp/src/http-app.js';
import { makeSigningKey, SCOPES, SERVICE_CLIENT, startIdentityProvider, type IdentityProvider, type SigningKey } from './support/identity-provider.js';
import { call, connectClient, startTestDatabase, textOf, TOKENS } from './support/stack.js';

type QueryResult = { rows: unknown[][] };

const HASHED_TOKEN = 'dave-hashed-token-0123456789';

describe('OAuth 2.1 resource server against a real OpenID provider', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let idp: IdentityProvider;
  let k1: SigningKey;
  let app: NestExpressApplication;
  let config: AppConfig;
  let baseUrl: string;
  let mcpUrl: string;

  before(async () => {
    db = await startTestDatabase();
    k1 = await makeSigningKey('k1');
    idp = await startIdentityProvider([k1]);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    mcpUrl = `${baseUrl}/mcp`;
    const loaded = loadConfig({
      DATABASE_URL: db.databaseUrl,
      MCP_AUTH_TOKENS: `alice:${TOKENS.alice},dave:sha256:${createHash('sha256').update(HASHED_TOKEN).digest('hex')}`,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      MCP_RATE_LIMIT_PER_MIN: '0',
      MCP_AUDIT_LOG: 'off',
      // The attack cases below all come from this one address.
      MCP_AUTH_FAIL_LIMIT_PER_MIN: '0',
      MCP_OAUTH_ISSUER: idp.issuer,
      MCP_PUBLIC_URL: baseUrl,
      MCP_OAUTH_SCOPES_QUERY: SCOPES.query,
      MCP_OAUTH_SCOPES_CATALOG: SCOPES.catalog,
    });
    // No cooldown between JWKS downloads, so the key-rotation case needs no waiting.
    config = { ...loaded, oauth: { ...loaded.oauth!, jwksCooldownMs: 0 } };
    app = await createHttpApp(config);
    await app.listen(port, '127.0.0.1');
  });
  after(async () => {
    await app?.close();
    await idp?.close();
    await db?.dispose();
  });

  const post = (token: string | undefined, body: unknown) =>
    fetch(mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const listTools = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
  const toolCall = (name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } });

  it('publishes RFC 9728 metadata naming the issuer, at the path-suffixed and the root well-known URL', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await fetch(`${baseUrl}${path}`);
      assert.equal(res.status, 200, path);
      assert.deepEqual(await res.json(), {
        resource: mcpUrl,
        authorization_servers: [idp.issuer],
        bearer_methods_supported: ['header'],
        scopes_supported: [SCOPES.query, SCOPES.catalog],
        resource_name: 'analytics-mcp',
      });
    }
  });

  it('answers a request without a token with 401, the metadata URL and the scopes in WWW-Authenticate, and a JSON-RPC body', async () => {
    const res = await post(undefined, listTools);
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer resource_metadata="${baseUrl}/.well-known/oauth-protected-resource/mcp", scope="${SCOPES.query} ${SCOPES.catalog}"`,
    );
    const body = (await res.json()) as { jsonrpc: string; error: { message: string } };
    assert.equal(body.jsonrpc, '2.0');
    assert.match(body.error.message, /Authorization: Bearer/);
  });

  it('accepts a client-credentials token: tools list and run, attributed to the client', async () => {
    const token = await idp.clientCredentials(mcpUrl);
    const client = await connectClient(mcpUrl, token);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'query'));
      const r = await call(client, 'query', { sql: "SELECT current_setting('application_name')" });
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual((r.structuredContent as QueryResult).rows, [[`analytics-mcp:${SERVICE_CLIENT.id}`]]);
    } finally {
      await client.close();
    }
  });

  it('accepts an authorization code + PKCE token: the signed-in user is the caller PostgreSQL sees in pg_stat_activity', async () => {
    idp.signInAs('carol.analyst');
    const token = await idp.authorizationCode(mcpUrl);
    const client = await connectClient(mcpUrl, token);
    const su = new pg.Client(db.superuserUrl);
    await su.connect();
    try {
      // A statement long enough to be seen running; the poll ends when it is seen or done.
      const running = call(client, 'query', { sql: 'SELECT count(*) FROM generate_series(1, 40000000)' });
      let done = false;
      void running.finally(() => (done = true));
      const seen = new Set<string>();
      while (!done && !seen.has('analytics-mcp:carol.analyst')) {
        const { rows } = await su.query<{ application_name: string }>("SELECT application_name FROM pg_stat_activity WHERE usename = 'analytics_ro' AND state = 'active'");
        for (const r of rows) seen.add(r.application_name);
        await new Promise((r) => setTimeout(r, 10));
      }
      const r = await running;
      assert.equal(r.isError, undefined, textOf(r));
      assert.ok(seen.has('analytics-mcp:carol.analyst'), `seen: ${[...seen].join(', ')}`);
    } finally {
      await su.end();
      await client.close();
    }
  });

  it('keeps static tokens working beside OAuth, plain and sha256-hashed', async () => {
    for (const [token, name] of [[TOKENS.alice, 'alice'], [HASHED_TOKEN, 'dave']] as const) {
      const client = await connectClient(mcpUrl, token);
      const r = await call(client, 'query', { sql: "SELECT current_setting('application_name')" });
      assert.deepEqual((r.structuredContent as QueryResult).rows, [[`analytics-mcp:${name}`]]);
      await client.close();
    }
  });

  describe('refuses tokens that are not for this server, with 401 invalid_token', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const claims = () => ({ sub: 'mallory', preferred_username: 'mallory', scope: `${SCOPES.query} ${SCOPES.catalog}`, client_id: SERVICE_CLIENT.id });
    const sign = (key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
    const forged = (overrides: Record<string, unknown> = {}) =>
      sign(k1, { ...claims(), iss: idp.issuer, aud: mcpUrl, iat: now(), exp: now() + 300, ...overrides });

    async function assertRefused(token: string, why: string) {
      const res = await post(token, listTools);
      assert.equal(res.status, 401, `${why}: ${res.status}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer resource_metadata="[^"]+", scope="[^"]+", error="invalid_token", error_description="[^"]+"$/, why);
      const body = (await res.json()) as { error: { message: string } };
      return body.error.message;
    }

    it('a token signed with the issuer key and right claims passes (so the refusals below are about the one thing changed)', async () => {
      const res = await post(await forged(), listTools);
      assert.equal(res.status, 200);
    });

    it('wrong audience: a real token the provider issued for another resource', async () => {
      const token = await idp.clientCredentials('https://other.example.com/mcp');
      assert.match(await assertRefused(token, 'audience'), /not meant for this server/);
    });

    it('expired', async () => {
      assert.match(await assertRefused(await forged({ iat: now() - 3600, exp: now() - 120 }), 'expired'), /expired/);
    });

    it('wrong issuer', async () => {
      assert.match(await assertRefused(await forged({ iss: 'http://127.0.0.1:1' }), 'issuer'), /another authorization server/);
    });

    it("unknown kid: signed by a key the issuer never published", async () => {
      const stranger = await makeSigningKey('stranger');
      const token = await sign(stranger, { ...claims(), iss: idp.issuer, aud: mcpUrl, iat: now(), exp: now() + 300 });
      assert.match(await assertRefused(token, 'kid'), /not signed by one of the issuer's keys/);
    });

    it('alg none', async () => {
      const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
      const token = `${enc({ alg: 'none', typ: 'at+jwt' })}.${enc({ ...claims(), iss: idp.issuer, aud: mcpUrl, exp: now() + 300 })}.`;
      await assertRefused(token, 'none');
    });

    it('HS256 signed with the public key as the secret', async () => {
      const secret = new TextEncoder().encode(JSON.stringify(k1.publicJwk));
      const token = await new SignJWT({ ...claims(), iss: idp.issuer, aud: mcpUrl, exp: now() + 300 }).setProtectedHeader({ alg: 'HS256', kid: k1.kid }).sign(secret);
      assert.match(await assertRefused(token, 'hs256'), /algorithm/);
    });

    it('a token without any caller claim', async () => {
      const payload: Record<string, unknown> = { iss: idp.issuer, aud: mcpUrl, iat: now(), exp: now() + 300, scope: SCOPES.query };
      assert.match(await assertRefused(await sign(k1, payload), 'no caller'), /none of the claims/);
    });
  });

  it('answers a token without the scope for a tool with 403 insufficient_scope naming it; catalog tools still work', async () => {
    const token = await idp.clientCredentials(mcpUrl, SCOPES.catalog);
    const res = await post(token, toolCall('query', { sql: 'SELECT 1' }));
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer resource_metadata="${baseUrl}/.well-known/oauth-protected-resource/mcp", scope="${SCOPES.query}", error="insufficient_scope", error_description="this request needs the OAuth scope ${SCOPES.query}"`,
    );
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /insufficient_scope/);
    const client = await connectClient(mcpUrl, token);
    try {
      const r = await call(client, 'list_schemas');
      assert.equal(r.isError, undefined, textOf(r));
      // The query scope covers the catalog tools too.
      const queryOnly = await connectClient(mcpUrl, await idp.clientCredentials(mcpUrl, SCOPES.query));
      assert.equal((await call(queryOnly, 'list_schemas')).isError, undefined);
      await queryOnly.close();
    } finally {
      await client.close();
    }
  });

  it('fetches the JWKS again when a token names a key it has not seen (key rotation)', async () => {
    // Same issuer, new key set: k2 signs, k1 stays published.
    const port = idp.port;
    await idp.close();
    const k2 = await makeSigningKey('k2');
    idp = await startIdentityProvider([k2, k1], port);
    const token = await idp.clientCredentials(mcpUrl);
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid, 'k2');
    const res = await post(token, listTools);
    assert.equal(res.status, 200);
  });
});
