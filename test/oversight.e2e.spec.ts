import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { call, connectClient, makeTempDir, startTestDatabase, startTestServer, textOf, TOKENS, type TestServer } from './support/stack.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/** A sample's value from the Prometheus text format, or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('audit trail and /metrics', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;
  let dir: string;
  let auditFile: string;

  before(async () => {
    db = await startTestDatabase();
    dir = await makeTempDir('amcp-audit-');
    auditFile = join(dir, 'audit.jsonl');
    server = await startTestServer(db.databaseUrl, {
      MCP_AUDIT_LOG: auditFile,
      MCP_METRICS_TOKEN: METRICS_TOKEN,
      MCP_STATEMENT_TIMEOUT_MS: '300',
    });
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const res = await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return res.text();
  };

  it('/metrics needs MCP_METRICS_TOKEN when it is set', async () => {
    assert.equal((await fetch(`${server.baseUrl}/metrics`)).status, 401);
    assert.equal((await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong-metrics-token-0123' } })).status, 401);
  });

  it('counts tool calls by tool and outcome, latency, rows, guard refusals by family and auth failures by kind', async () => {
    const before = await scrape();
    const alice = await connectClient(server.mcpUrl, TOKENS.alice);
    try {
      assert.equal((await call(alice, 'query', { sql: 'SELECT device_id FROM tracksolid.devices ORDER BY device_id LIMIT 5' })).isError, undefined);
      assert.equal((await call(alice, 'query', { sql: 'SELECT pg_sleep(1)' })).isError, true);
      assert.equal((await call(alice, 'query', { sql: 'DELETE FROM fuel.fill_ups' })).isError, true);
      assert.equal((await call(alice, 'query', { sql: 'SELECT * FROM no_such_table' })).isError, true);
      const slow = await call(alice, 'query', { sql: 'SELECT count(*) FROM generate_series(1, 200000000)' });
      assert.match(textOf(slow), /57014/);
      assert.equal((await call(alice, 'list_schemas')).isError, undefined);
    } finally {
      await alice.close();
    }
    await fetch(server.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-known-token-0123456789' }, body: '{}' });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    assert.equal(delta('analytics_mcp_tool_calls_total', { tool: 'query', outcome: 'ok' }), 1);
    assert.equal(delta('analytics_mcp_tool_calls_total', { tool: 'query', outcome: 'refused:sleeps' }), 1);
    assert.equal(delta('analytics_mcp_tool_calls_total', { tool: 'query', outcome: 'refused:statement' }), 1);
    assert.equal(delta('analytics_mcp_tool_calls_total', { tool: 'query', outcome: 'error:42P01' }), 1);
    assert.equal(delta('analytics_mcp_tool_calls_total', { tool: 'query', outcome: 'timeout' }), 1);
    assert.equal(delta('analytics_mcp_tool_calls_total', { tool: 'list_schemas', outcome: 'ok' }), 1);
    assert.equal(delta('analytics_mcp_tool_call_duration_seconds_count', { tool: 'query' }), 5);
    assert.equal(delta('analytics_mcp_tool_rows_returned_total', { tool: 'query' }), 5, 'five device ids');
    assert.equal(delta('analytics_mcp_guard_refusals_total', { family: 'sleeps' }), 1);
    assert.equal(delta('analytics_mcp_guard_refusals_total', { family: 'statement' }), 1);
    assert.equal(delta('analytics_mcp_auth_failures_total', { kind: 'unknown_token' }), 1);
    // No caller label unless MCP_METRICS_CALLER_LABEL=true.
    assert.doesNotMatch(after, /caller="/);
    for (const gauge of ['analytics_mcp_db_pool_connections', 'analytics_mcp_db_pool_idle_connections', 'analytics_mcp_db_pool_waiting', 'analytics_mcp_db_calls_in_flight', 'analytics_mcp_db_calls_queued']) {
      assert.match(after, new RegExp(`^${gauge} \\d+$`, 'm'), gauge);
    }
    assert.ok(sample(after, 'analytics_mcp_db_pool_connections') >= 1);
    assert.match(after, /^process_cpu_user_seconds_total /m);
    assert.match(after, /^nodejs_eventloop_lag_seconds /m);
  });

  it('writes one audit line per tool call with caller, outcome, rows, time and a SQL fingerprint; never row data or a token', async () => {
    const bob = await connectClient(server.mcpUrl, TOKENS.bob);
    const devices = await call(bob, 'query', { sql: 'SELECT name FROM tracksolid.devices ORDER BY name LIMIT 3' });
    const names = (devices.structuredContent as { rows: string[][] }).rows.map((r) => r[0]!);
    assert.equal(names.length, 3);
    await call(bob, 'query', { sql: "WITH d AS (DELETE FROM tickets.tickets RETURNING *) SELECT * FROM d -- " + 'x'.repeat(300) });
    await call(bob, 'describe_table', { schema: 'tracksolid', table: 'devices' });
    await call(bob, 'no_such_tool', {});
    await bob.close();
    // Written without blocking the call: wait for the lines to land.
    let lines: Record<string, unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const text = await readFile(auditFile, 'utf8').catch(() => '');
      lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.caller === 'bob');
      if (lines.length >= 4) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(lines.length, 4, JSON.stringify(lines));
    const [ok, refused, described, unknown] = lines as [Record<string, any>, Record<string, any>, Record<string, any>, Record<string, any>];
    assert.deepEqual(
      { audit: ok.audit, caller: ok.caller, tool: ok.tool, outcome: ok.outcome, rows: ok.rows, truncated: ok.truncated, sql: ok.sql },
      { audit: 'tool_call', caller: 'bob', tool: 'query', outcome: 'ok', rows: 3, truncated: false, sql: 'SELECT name FROM tracksolid.devices ORDER BY name LIMIT 3' },
    );
    assert.equal(ok.sql_fingerprint, createHash('sha256').update(ok.sql, 'utf8').digest('hex').slice(0, 16), 'the first 16 hex digits of the SQL text\'s SHA-256');
    assert.equal(typeof ok.ms, 'number');
    assert.equal(typeof ok.time, 'string');
    assert.equal(refused.outcome, 'refused:statement');
    assert.equal(refused.sql.length, 200, 'the first 200 characters of the SQL');
    assert.notEqual(refused.sql_fingerprint, ok.sql_fingerprint);
    assert.deepEqual([described.tool, described.outcome, described.sql, described.sql_fingerprint], ['describe_table', 'ok', undefined, undefined]);
    assert.deepEqual([unknown.tool, unknown.outcome], ['(unknown)', 'error:unknown_tool']);
    const all = await readFile(auditFile, 'utf8');
    for (const name of names) assert.ok(!all.includes(name), `row value ${name} in the audit log`);
    for (const token of [...Object.values(TOKENS), METRICS_TOKEN]) assert.ok(!all.includes(token), 'a token in the audit log');
  });
});

describe('/metrics with MCP_METRICS_CALLER_LABEL=true and no token', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;

  before(async () => {
    db = await startTestDatabase();
    server = await startTestServer(db.databaseUrl, { MCP_METRICS_CALLER_LABEL: 'true' });
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  it('labels tool calls with the caller', async () => {
    const client = await connectClient(server.mcpUrl, TOKENS.bob);
    await call(client, 'query', { sql: 'SELECT 1' });
    await client.close();
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    assert.equal(sample(text, 'analytics_mcp_tool_calls_total', { tool: 'query', outcome: 'ok', caller: 'bob' }), 1);
  });
});
