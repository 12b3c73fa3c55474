import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './app-config.js';

const prod = { DATABASE_URL: 'postgresql://analytics_ro:pw@db:5432/fleet', MCP_AUTH_TOKENS: 'alice:alice-token-0123456789' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(prod);
    assert.equal(c.port, 8892);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.embedded, false);
    assert.equal(c.maxRows, 10_000);
    assert.equal(c.defaultRows, 1_000);
    assert.equal(c.poolMax, 8);
    assert.equal(c.queueMax, 64);
    assert.equal(c.queueTimeoutMs, 10_000);
    assert.equal(c.statementTimeoutMs, 30_000);
    assert.deepEqual(c.readableSchemas, ['reporting', 'tracksolid', 'tickets', 'fuel']);
    assert.equal(c.allowedHosts, null);
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.authTokens, [{ name: 'alice', token: 'alice-token-0123456789' }]);
  });

  it('switches to the embedded demo on loopback when DATABASE_URL is unset or empty', () => {
    for (const env of [{}, { DATABASE_URL: '' }, { DATABASE_URL: '   ' }]) {
      const c = loadConfig(env);
      assert.equal(c.embedded, true);
      assert.equal(c.databaseUrl, null);
      assert.equal(c.host, '127.0.0.1');
      assert.ok(c.allowedHosts?.includes('localhost'));
    }
  });

  it('names every bad variable at once', () => {
    const p = problems({ ...prod, PORT: 'eighty', MCP_MAX_ROWS: '0', MCP_POOL_MAX: '-1', LOG_LEVEL: 'loud' });
    assert.ok(p.some((x) => x.startsWith('PORT:')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('MCP_MAX_ROWS:')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('MCP_POOL_MAX:')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('LOG_LEVEL:')), p.join('\n'));
  });

  it('refuses a privileged role unless MCP_ALLOW_PRIVILEGED_ROLE is true', () => {
    assert.equal(loadConfig(prod).allowPrivilegedRole, false);
    assert.equal(loadConfig({ ...prod, MCP_ALLOW_PRIVILEGED_ROLE: 'true' }).allowPrivilegedRole, true);
    assert.equal(loadConfig({ ...prod, MCP_ALLOW_PRIVILEGED_ROLE: 'false' }).allowPrivilegedRole, false);
    for (const bad of ['maybe', '2', '']) {
      assert.deepEqual(problems({ ...prod, MCP_ALLOW_PRIVILEGED_ROLE: bad }), ['MCP_ALLOW_PRIVILEGED_ROLE: must be true or false'], bad);
    }
  });

  it('rejects a non-postgres DATABASE_URL', () => {
    assert.match(problems({ ...prod, DATABASE_URL: 'mysql://x' })[0]!, /^DATABASE_URL: must be a postgres/);
  });

  it('rejects a DATABASE_URL node-postgres could not read, without echoing it', () => {
    for (const url of ['postgresql://u:pa/ss-secret@h/db', 'postgresql://u:notaport-secret@h:x/db', 'mysql://u:pa-secret@h/db']) {
      const p = problems({ ...prod, DATABASE_URL: url });
      assert.equal(p.length, 1, p.join('\n'));
      assert.match(p[0]!, /^DATABASE_URL: /);
      assert.ok(!p[0]!.includes('secret'), p[0]);
    }
    assert.match(problems({ ...prod, DATABASE_URL: 'postgresql://u:pa/ss-secret@h/db' })[0]!, /cannot be parsed .*value not shown.*percent-encode/);
    assert.equal(loadConfig({ ...prod, DATABASE_URL: 'postgresql://u:p%2Fss@h/db?password=x' }).databaseUrl, 'postgresql://u:p%2Fss@h/db?password=x');
  });

  it('requires tokens outside the demo and validates their format without echoing secrets', () => {
    assert.match(problems({ DATABASE_URL: prod.DATABASE_URL })[0]!, /^MCP_AUTH_TOKENS: required/);
    const p = problems({ ...prod, MCP_AUTH_TOKENS: 'justasecretvalue123456,bob:short,al ice:aaaaaaaaaaaaaaaaaaaa' });
    assert.equal(p.length, 3, p.join('\n'));
    assert.ok(p.every((x) => x.startsWith('MCP_AUTH_TOKENS:')));
    assert.ok(!p.join('').includes('justasecretvalue'), 'secret echoed in the error');
  });

  it('refuses duplicate names and shared tokens', () => {
    const p = problems({ ...prod, MCP_AUTH_TOKENS: 'a:aaaaaaaaaaaaaaaaaaaa,a:bbbbbbbbbbbbbbbbbbbb,b:aaaaaaaaaaaaaaaaaaaa' });
    assert.equal(p.length, 2, p.join('\n'));
  });

  it('clamps the implicit MCP_DEFAULT_ROWS to a lower MCP_MAX_ROWS', () => {
    const c = loadConfig({ ...prod, MCP_MAX_ROWS: '500' });
    assert.equal(c.maxRows, 500);
    assert.equal(c.defaultRows, 500);
    assert.equal(loadConfig({ ...prod, MCP_MAX_ROWS: '5000' }).defaultRows, 1_000);
    assert.equal(loadConfig({ ...prod, MCP_MAX_ROWS: '500', MCP_DEFAULT_ROWS: '500' }).defaultRows, 500);
  });

  it('refuses an explicit MCP_DEFAULT_ROWS above MCP_MAX_ROWS, naming both', () => {
    const p = problems({ ...prod, MCP_MAX_ROWS: '100', MCP_DEFAULT_ROWS: '500' });
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0]!, /^MCP_DEFAULT_ROWS: 500 exceeds MCP_MAX_ROWS \(100\)/);
  });

  it('picks the log format: LOG_FORMAT, else JSON in production, else by terminal', () => {
    assert.equal(loadConfig(prod).logFormat, 'auto');
    assert.equal(loadConfig({ ...prod, NODE_ENV: 'production' }).logFormat, 'json');
    assert.equal(loadConfig({ ...prod, NODE_ENV: 'production', LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.equal(loadConfig({ ...prod, LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.match(problems({ ...prod, LOG_FORMAT: 'yaml' })[0]!, /^LOG_FORMAT:/);
  });

  it('gives each caller half the pool by default and keeps MCP_CALLER_MAX_CONCURRENCY within MCP_POOL_MAX', () => {
    assert.equal(loadConfig(prod).callerMaxConcurrency, 4);
    assert.equal(loadConfig({ ...prod, MCP_POOL_MAX: '3' }).callerMaxConcurrency, 1);
    assert.equal(loadConfig({ ...prod, MCP_POOL_MAX: '1' }).callerMaxConcurrency, 1);
    assert.equal(loadConfig({ ...prod, MCP_POOL_MAX: '4', MCP_CALLER_MAX_CONCURRENCY: '4' }).callerMaxConcurrency, 4);
    // stdio has one caller: the whole pool unless set.
    assert.equal(loadConfig(prod, { singleCaller: true }).callerMaxConcurrency, 8);
    assert.equal(loadConfig({ ...prod, MCP_CALLER_MAX_CONCURRENCY: '2' }, { singleCaller: true }).callerMaxConcurrency, 2);
    assert.deepEqual(problems({ ...prod, MCP_POOL_MAX: '4', MCP_CALLER_MAX_CONCURRENCY: '5' }), [
      'MCP_CALLER_MAX_CONCURRENCY: 5 exceeds MCP_POOL_MAX (4)',
    ]);
    assert.match(problems({ ...prod, MCP_CALLER_MAX_CONCURRENCY: '0' })[0]!, /^MCP_CALLER_MAX_CONCURRENCY: must be at least 1/);
  });

  it('parses lists', () => {
    const c = loadConfig({ ...prod, MCP_READABLE_SCHEMAS: ' reporting , fuel ', MCP_ALLOWED_HOSTS: 'MCP.example.com, localhost' });
    assert.deepEqual(c.readableSchemas, ['reporting', 'fuel']);
    assert.deepEqual(c.allowedHosts, ['mcp.example.com', 'localhost']);
    assert.match(problems({ ...prod, MCP_READABLE_SCHEMAS: 'Reporting;drop' })[0]!, /^MCP_READABLE_SCHEMAS/);
  });

  it('reads REDIS_URL (redis:// or rediss://) without echoing it, and MCP_PG_STARTUP_OPTIONS', () => {
    assert.equal(loadConfig(prod).redisUrl, null);
    assert.equal(loadConfig({ ...prod, REDIS_URL: '' }).redisUrl, null);
    assert.equal(loadConfig({ ...prod, REDIS_URL: ' redis://:pw@redis:6379/0 ' }).redisUrl, 'redis://:pw@redis:6379/0');
    assert.equal(loadConfig({ ...prod, REDIS_URL: 'rediss://cache.internal' }).redisUrl, 'rediss://cache.internal');
    for (const bad of ['http://redis-secret:6379', 'redis-secret:6379', 'redis://']) {
      const p = problems({ ...prod, REDIS_URL: bad });
      assert.deepEqual(p, ['REDIS_URL: must be a redis:// or rediss:// URL (value not shown)'], bad);
    }
    assert.equal(loadConfig(prod).pgStartupOptions, 'auto');
    assert.equal(loadConfig({ ...prod, MCP_PG_STARTUP_OPTIONS: 'off' }).pgStartupOptions, 'off');
    assert.match(problems({ ...prod, MCP_PG_STARTUP_OPTIONS: 'no' })[0]!, /^MCP_PG_STARTUP_OPTIONS:/);
  });

  it('reads MCP_CHART_MAX_POINTS, bounded, naming it when bad', () => {
    assert.equal(loadConfig(prod).chartMaxPoints, 5000);
    assert.equal(loadConfig({ ...prod, MCP_CHART_MAX_POINTS: '20000' }).chartMaxPoints, 20_000);
    assert.deepEqual(problems({ ...prod, MCP_CHART_MAX_POINTS: '5' }), ['MCP_CHART_MAX_POINTS: must be at least 10']);
    assert.deepEqual(problems({ ...prod, MCP_CHART_MAX_POINTS: 'lots' }), ['MCP_CHART_MAX_POINTS: must be a whole number']);
  });

  it('lists every variable it reads', () => {
    for (const v of ['DATABASE_URL', 'MCP_AUTH_TOKENS', 'PORT', 'REDIS_URL', 'MCP_SHUTDOWN_GRACE_MS', 'MCP_PG_STARTUP_OPTIONS']) {
      assert.ok(CONFIG_VARIABLES.includes(v), v);
    }
    assert.ok(!CONFIG_VARIABLES.includes('NODE_ENV'));
  });

  it('detects a loopback bind by address, not by spelling', () => {
    for (const HOST of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', 'localhost']) {
      const c = loadConfig({ ...prod, HOST });
      assert.equal(c.loopbackBound, true, HOST);
      assert.ok(c.allowedHosts?.includes('localhost'), HOST);
    }
    for (const HOST of ['0.0.0.0', '::', '10.1.2.3']) {
      const c = loadConfig({ ...prod, HOST });
      assert.equal(c.loopbackBound, false, HOST);
      assert.equal(c.allowedHosts, null, HOST);
    }
  });

  it('reads MCP_ALLOWED_ORIGINS as host names, origins or scheme wildcards', () => {
    const c = loadConfig({ ...prod, MCP_ALLOWED_ORIGINS: 'https://App.example.com:8443, tools.example.org, moz-extension://*' });
    assert.deepEqual(c.allowedOrigins, ['app.example.com', 'tools.example.org', 'moz-extension://*']);
    assert.deepEqual(loadConfig(prod).allowedOrigins, []);
    assert.match(problems({ ...prod, MCP_ALLOWED_ORIGINS: 'https://' })[0]!, /^MCP_ALLOWED_ORIGINS/);
  });

  describe('identity and oversight settings', () => {
    const hex = 'a'.repeat(64);

    it('reads name:sha256:<hex> entries beside plain ones, and finds a token shared between the two forms', () => {
      const c = loadConfig({ ...prod, MCP_AUTH_TOKENS: `alice:alice-token-0123456789,carol:sha256:${hex.toUpperCase()}` });
      assert.deepEqual(c.authTokens, [{ name: 'alice', token: 'alice-token-0123456789' }, { name: 'carol', sha256: hex }]);
      const aliceDigest = createHash('sha256').update('alice-token-0123456789').digest('hex');
      const p = problems({ ...prod, MCP_AUTH_TOKENS: `alice:alice-token-0123456789,bob:sha256:${aliceDigest}` });
      assert.deepEqual(p, ['MCP_AUTH_TOKENS: entry 2 ("bob"): the token is also used by "alice"']);
    });

    it('names a bad entry by position and never echoes a token, even a reversed token:name entry', () => {
      const p = problems({ ...prod, MCP_AUTH_TOKENS: 'bob:sha256:abc123,s3cretTokenValue9876:alice,:nameless-secret-0123456789' });
      assert.equal(p.length, 3, p.join('\n'));
      assert.match(p[0]!, /^MCP_AUTH_TOKENS: entry 1 \("bob"\): sha256: must be followed by the 64 hex digits/);
      assert.match(p[1]!, /^MCP_AUTH_TOKENS: entry 2: the token is shorter than 16 characters/);
      assert.match(p[2]!, /^MCP_AUTH_TOKENS: entry 3: the name must match/);
      for (const secret of ['abc123', 's3cretTokenValue9876', 'nameless-secret']) assert.ok(!p.join('').includes(secret), secret);
    });

    it('turns OAuth on with MCP_OAUTH_ISSUER, deriving the resource, its metadata URL and the audience from MCP_PUBLIC_URL', () => {
      assert.equal(loadConfig(prod).oauth, null);
      const c = loadConfig({ DATABASE_URL: prod.DATABASE_URL, MCP_OAUTH_ISSUER: 'https://id.example.com/realms/fleet', MCP_PUBLIC_URL: 'https://mcp.example.com/', MCP_OAUTH_SCOPES_QUERY: 'analytics:query', MCP_OAUTH_SCOPES_CATALOG: 'analytics:catalog' });
      assert.deepEqual(c.authTokens, [], 'static tokens are optional with OAuth');
      assert.deepEqual(c.oauth, {
        issuer: 'https://id.example.com/realms/fleet',
        audience: ['https://mcp.example.com/mcp'],
        callerClaims: ['preferred_username', 'email', 'sub'],
        resource: 'https://mcp.example.com/mcp',
        resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
        queryScopes: ['analytics:query'],
        catalogScopes: ['analytics:catalog'],
        jwksCooldownMs: 30_000,
      });
      const custom = loadConfig({ ...prod, MCP_OAUTH_ISSUER: 'http://127.0.0.1:9000', MCP_PUBLIC_URL: 'http://localhost:8892/mcp', MCP_OAUTH_AUDIENCE: 'api://analytics,https://x', MCP_OAUTH_CALLER_CLAIM: 'email' });
      assert.deepEqual(custom.oauth?.audience, ['api://analytics', 'https://x']);
      assert.deepEqual(custom.oauth?.callerClaims, ['email']);
      assert.equal(custom.oauth?.resource, 'http://localhost:8892/mcp');
    });

    it('requires https issuers and public URLs except on loopback, and MCP_PUBLIC_URL with an issuer', () => {
      assert.match(problems({ ...prod, MCP_OAUTH_ISSUER: 'http://id.example.com', MCP_PUBLIC_URL: 'https://m.example.com' })[0]!, /^MCP_OAUTH_ISSUER: must be an https:\/\/ URL/);
      assert.match(problems({ ...prod, MCP_OAUTH_ISSUER: 'https://id.example.com' })[0]!, /^MCP_PUBLIC_URL: required with MCP_OAUTH_ISSUER/);
      assert.match(problems({ ...prod, MCP_OAUTH_ISSUER: 'https://id.example.com', MCP_PUBLIC_URL: 'http://10.0.0.5' })[0]!, /^MCP_PUBLIC_URL: must be an https/);
      assert.match(problems({ ...prod, MCP_OAUTH_ISSUER: 'not a url', MCP_PUBLIC_URL: 'https://m.example.com' })[0]!, /^MCP_OAUTH_ISSUER: must be an absolute/);
      assert.match(problems({ ...prod, MCP_OAUTH_SCOPES_QUERY: 'a' })[0]!, /set MCP_OAUTH_ISSUER too/);
      assert.match(problems({ DATABASE_URL: prod.DATABASE_URL })[0]!, /^MCP_AUTH_TOKENS: required when DATABASE_URL is set and MCP_OAUTH_ISSUER is not/);
    });

    it('reads the limits, proxies, audit destination and metrics settings', () => {
      const d = loadConfig(prod);
      assert.equal(d.authFailLimitPerMinute, 30);
      assert.deepEqual(d.trustedProxies, []);
      assert.equal(d.auditLog, 'stdout');
      assert.equal(d.metricsToken, null);
      assert.equal(d.metricsCallerLabel, false);
      const c = loadConfig({ ...prod, MCP_AUTH_FAIL_LIMIT_PER_MIN: '0', MCP_TRUSTED_PROXIES: '10.0.0.0/8, ::1, loopback', MCP_AUDIT_LOG: '/var/log/mcp-audit.jsonl', MCP_METRICS_TOKEN: 'metrics-token-0123456789', MCP_METRICS_CALLER_LABEL: 'true' });
      assert.equal(c.authFailLimitPerMinute, 0);
      assert.deepEqual(c.trustedProxies, ['10.0.0.0/8', '::1', 'loopback']);
      assert.deepEqual(c.auditLog, { file: '/var/log/mcp-audit.jsonl' });
      assert.equal(c.metricsCallerLabel, true);
      assert.match(problems({ ...prod, MCP_TRUSTED_PROXIES: '10.0.0.0/33' })[0]!, /^MCP_TRUSTED_PROXIES: "10.0.0.0\/33" is not/);
      const short = problems({ ...prod, MCP_METRICS_TOKEN: 'shortsecret' });
      assert.match(short[0]!, /^MCP_METRICS_TOKEN: must be at least 16/);
      assert.ok(!short[0]!.includes('shortsecret'));
    });
  });
});
