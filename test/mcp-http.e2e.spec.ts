import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { call, startTestDatabase, startTestServer, textOf, TOKENS, type TestServer } from './support/stack.js';

type QueryResult = { row_count: number; truncated: boolean; columns: { name: string; type: string }[]; rows: unknown[][] };

describe('MCP over Streamable HTTP on a real PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;
  let client: Client;

  before(async () => {
    db = await startTestDatabase();
    server = await startTestServer(db.databaseUrl);
    client = await server.connect();
  });
  after(async () => {
    await server?.close();
    await db?.dispose();
  });

  const query = async (sql: string, max_rows?: number) => {
    const res = await call(client, 'query', max_rows === undefined ? { sql } : { sql, max_rows });
    return res;
  };

  it('lists the tools with JSON Schemas', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['chart', 'describe_table', 'device_daily_mileage', 'explain', 'latest_positions', 'list_schemas', 'list_tables', 'query', 'sample_table']);
    const q = tools.find((t) => t.name === 'query')!;
    assert.deepEqual(q.inputSchema.required, ['sql']);
    assert.equal(q.annotations?.readOnlyHint, true);
  });

  it('runs a count over the positions and returns structured content plus the same JSON as text', async () => {
    const res = await query('SELECT count(*) AS n FROM tracksolid.position_history');
    assert.equal(res.isError, undefined, textOf(res));
    const out = res.structuredContent as QueryResult;
    assert.equal(out.row_count, 1);
    assert.equal(out.truncated, false);
    assert.deepEqual(out.columns, [{ name: 'n', type: 'bigint' }]);
    assert.ok((out.rows[0]![0] as number) > 1000);
    assert.deepEqual(JSON.parse(textOf(res)), out);
  });

  it('stops at max_rows without rewriting the SQL, even when the statement asks for millions', async () => {
    const res = await query('SELECT * FROM tracksolid.position_history CROSS JOIN generate_series(1, 1000) LIMIT 5000000', 10);
    const out = res.structuredContent as QueryResult;
    assert.equal(out.row_count, 10);
    assert.equal(out.rows.length, 10);
    assert.equal(out.truncated, true);
  });

  it('reports truncated=false when the result fits exactly', async () => {
    const out = (await query('SELECT g FROM generate_series(1, 5) g', 5)).structuredContent as QueryResult;
    assert.equal(out.row_count, 5);
    assert.equal(out.truncated, false);
    const six = (await query('SELECT g FROM generate_series(1, 6) g', 5)).structuredContent as QueryResult;
    assert.equal(six.truncated, true);
  });

  it('uses the default row count and caps max_rows at the ceiling', async () => {
    const def = (await query('SELECT g FROM generate_series(1, 5000) g')).structuredContent as QueryResult;
    assert.equal(def.row_count, server.config.defaultRows);
    const capped = (await query('SELECT g FROM generate_series(1, 20000) g', 50_000)).structuredContent as QueryResult;
    assert.equal(capped.row_count, server.config.maxRows);
    assert.equal(capped.truncated, true);
  });

  it('maps PostgreSQL types to JSON sensibly', async () => {
    const out = (
      await query(
        `SELECT 1::int AS i, 9007199254740993::int8 AS big, 1.50::numeric AS num, true AS b, '{"a":[1]}'::jsonb AS j,
                ARRAY[1,2] AS arr, '2026-01-02 03:04:05+00'::timestamptz AS ts, NULL::text AS nothing`,
      )
    ).structuredContent as QueryResult;
    assert.deepEqual(out.rows[0], [1, '9007199254740993', '1.50', true, { a: [1] }, [1, 2], '2026-01-02 03:04:05+00', null]);
    assert.deepEqual(
      out.columns.map((c) => c.type),
      ['integer', 'bigint', 'numeric', 'boolean', 'jsonb', 'integer[]', 'timestamp with time zone', 'text'],
    );
  });

  it('attributes the statement to the caller in pg_stat_activity', async () => {
    const out = (await query(`SELECT current_setting('application_name')`)).structuredContent as QueryResult;
    assert.equal(out.rows[0]![0], 'analytics-mcp:alice');
    const bob = await server.connect(TOKENS.bob);
    const res = (await call(bob, 'query', { sql: `SELECT current_setting('application_name')` })).structuredContent as QueryResult;
    assert.equal(res.rows[0]![0], 'analytics-mcp:bob');
  });

  it('returns PostgreSQL errors as tool errors with the SQLSTATE', async () => {
    const missing = await query('SELECT * FROM tracksolid.nope');
    assert.equal(missing.isError, true);
    assert.match(textOf(missing), /42P01/);
    assert.match(textOf(missing), /does not exist/);
    const syntax = await query('SELECT FROM WHERE');
    assert.equal(syntax.isError, true);
    const param = await query('SELECT * FROM tracksolid.devices WHERE device_id = $1');
    assert.equal(param.isError, true);
    assert.match(textOf(param), /08P01.*write the values into the SQL/);
    assert.doesNotMatch(textOf(param), /unavailable/);
    const div = await query('SELECT 1/0');
    assert.match(textOf(div), /22012.*division by zero/);
  });

  it('refuses writes and statement batches as tool errors', async () => {
    for (const sql of ['DELETE FROM fuel.fill_ups', 'SELECT 1; DROP TABLE fuel.fill_ups']) {
      const res = await query(sql);
      assert.equal(res.isError, true, sql);
    }
    const still = (await query('SELECT count(*) FROM fuel.fill_ups')).structuredContent as QueryResult;
    assert.ok((still.rows[0]![0] as number) > 0);
  });

  it('answers bad arguments and unknown tools with an error result', async () => {
    const noSql = await call(client, 'query', {});
    assert.equal(noSql.isError, true);
    assert.match(textOf(noSql), /invalid arguments for query: sql/);
    const badRows = await call(client, 'query', { sql: 'SELECT 1', max_rows: 'ten' });
    assert.match(textOf(badRows), /max_rows/);
    const unknown = await call(client, 'drop_everything');
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /unknown tool "drop_everything"/);
  });

  it('lists schemas and tables, and describes a table with its comments', async () => {
    const schemas = (await call(client, 'list_schemas')).structuredContent as { schemas: { schema: string }[] };
    assert.deepEqual(schemas.schemas.map((s) => s.schema), ['fuel', 'reporting', 'tickets', 'tracksolid']);
    const tables = (await call(client, 'list_tables', { schema: 'reporting' })).structuredContent as { tables: { name: string; kind: string }[] };
    assert.deepEqual(tables.tables.map((t) => [t.name, t.kind]), [['daily_mileage', 'materialized view'], ['v_trips', 'view']]);
    const desc = (await call(client, 'describe_table', { schema: 'tracksolid', table: 'position_history' })).structuredContent as {
      primary_key: string[];
      columns: { name: string; type: string; comment: string | null }[];
    };
    assert.deepEqual(desc.primary_key, ['device_id', 'recorded_at']);
    assert.equal(desc.columns.find((c) => c.name === 'lat')?.type, 'double precision');
    assert.match(desc.columns.find((c) => c.name === 'lat')?.comment ?? '', /Latitude/);
    const hidden = await call(client, 'list_tables', { schema: 'pg_catalog' });
    assert.equal(hidden.isError, true);
    assert.match(textOf(hidden), /not readable/);
    const none = await call(client, 'describe_table', { schema: 'tracksolid', table: 'nope' });
    assert.match(textOf(none), /list_tables/);
  });

  it('requires a bearer token on /mcp only', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(server.mcpUrl, { method: 'POST', headers, body });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    const wrong = await fetch(server.mcpUrl, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope-nope-nope-nope' }, body });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${server.baseUrl}/health/live`)).status, 200);
  });

  it('answers GET and DELETE on /mcp with 405 and a JSON body', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(server.mcpUrl, { method, headers: { authorization: `Bearer ${TOKENS.alice}` } });
      assert.equal(res.status, 405, method);
      assert.equal(((await res.json()) as { jsonrpc: string }).jsonrpc, '2.0');
    }
  });

  it('rejects foreign Host headers (DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(server.mcpUrl, { method: 'POST', headers: { host: 'evil.example:80', authorization: `Bearer ${TOKENS.alice}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(status, 403);
  });

  it('answers bad HTTP input with HTTP errors and JSON-RPC bodies, never a 500', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKENS.alice}` };
    const malformed = await fetch(server.mcpUrl, { method: 'POST', headers, body: '{"jsonrpc": "2.0", "id": 1, ' });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { error: { code: number } }).error.code, -32700);
    const huge = await fetch(server.mcpUrl, { method: 'POST', headers, body: 'x'.repeat(6 * 1024 * 1024) });
    assert.equal(huge.status, 413);
  });

  it('reads a body that arrives in pieces after the headers, with a length or chunked', async () => {
    const message = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'query', arguments: { sql: 'SELECT 41 + 1 AS answer' } } });
    const cut = message.indexOf('SELECT');
    for (const framing of ['content-length', 'chunked'] as const) {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${TOKENS.alice}` };
      if (framing === 'content-length') headers['content-length'] = Buffer.byteLength(message);
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(server.mcpUrl, { method: 'POST', headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        });
        req.on('error', reject);
        req.flushHeaders();
        // The server has the headers (and runs its guards) long before the body is complete.
        setTimeout(() => req.write(message.slice(0, cut)), 50);
        setTimeout(() => req.end(message.slice(cut)), 150);
      });
      assert.equal(answer.status, 200, framing);
      const reply = JSON.parse(answer.body) as { id: number; result: { structuredContent: { rows: unknown[][] } } };
      assert.equal(reply.id, 7);
      assert.deepEqual(reply.result.structuredContent.rows, [[42]], framing);
    }
  });

  it('rate-limits per caller with 429, leaving other callers alone', async () => {
    const limited = await startTestServer(db.databaseUrl, { MCP_RATE_LIMIT_PER_MIN: '3' });
    try {
      const post = (token: string) =>
        fetch(limited.mcpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(TOKENS.alice)).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.equal((await post(TOKENS.bob)).status, 200);
    } finally {
      await limited.close();
    }
  });

  describe('bounded work per POST', () => {
    const rpc = (url: string, body: unknown, token: string = TOKENS.alice) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const callQuery = (id: number, sql: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'query', arguments: { sql } } });

    it('refuses a batch over MCP_MAX_BATCH and SQL over MCP_MAX_REQUEST_SQL_BYTES, with JSON-RPC bodies', async () => {
      const tooMany = await rpc(server.mcpUrl, Array.from({ length: 17 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
      assert.equal(tooMany.status, 400);
      assert.match(((await tooMany.json()) as { error: { message: string } }).error.message, /a batch holds 1 to 16 messages \(MCP_MAX_BATCH\)/);
      const sql = `SELECT 1 -- ${'x'.repeat(90_000)}`;
      const tooMuchSql = await rpc(server.mcpUrl, [1, 2, 3].map((i) => callQuery(i, sql)));
      assert.equal(tooMuchSql.status, 413);
      assert.match(((await tooMuchSql.json()) as { error: { message: string } }).error.message, /at most 262144 bytes per request are accepted \(MCP_MAX_REQUEST_SQL_BYTES\)/);
      const fine = await rpc(server.mcpUrl, [1, 2].map((i) => callQuery(i, sql)));
      assert.equal(fine.status, 200);
      const replies = (await fine.json()) as { result: { structuredContent: { rows: unknown[][] } } }[];
      assert.deepEqual(replies.map((r) => r.result.structuredContent.rows), [[[1]], [[1]]]);
    });

    it('long statements are parsed off the event loop: liveness answers while they are checked', async (t) => {
      const sql = `SELECT ${Array.from({ length: 2_500 }, (_, i) => `coalesce(${i}, 0)`).join(' + ')} AS total`;
      const batches = Array.from({ length: 4 }, (_, b) => rpc(server.mcpUrl, [1, 2, 3].map((i) => callQuery(b * 10 + i, sql))));
      const probes: number[] = [];
      const probing = (async () => {
        for (let i = 0; i < 20; i++) {
          const t0 = performance.now();
          assert.equal((await fetch(`${server.baseUrl}/health/live`)).status, 200);
          probes.push(performance.now() - t0);
        }
      })();
      for (const res of await Promise.all(batches)) assert.equal(res.status, 200);
      await probing;
      probes.sort((a, b) => a - b);
      // Diagnostic only: timing assertions are flaky on a loaded machine; the bench measures it.
      t.diagnostic(`/health/live during guard work: p50 ${probes[10]!.toFixed(1)} ms, max ${probes[19]!.toFixed(1)} ms`);
    });

    it('the rate limit counts every tools/call in a batch, not the POST', async () => {
      const limited = await startTestServer(db.databaseUrl, { MCP_RATE_LIMIT_PER_MIN: '3' });
      try {
        const batch = await rpc(limited.mcpUrl, [1, 2, 3, 4].map((i) => callQuery(i, 'SELECT 1')));
        assert.equal(batch.status, 429);
        assert.ok(Number(batch.headers.get('retry-after')) >= 1);
        assert.match(((await batch.json()) as { error: { message: string } }).error.message, /at most 3 tool calls per minute per caller/);
        assert.equal((await rpc(limited.mcpUrl, callQuery(9, 'SELECT 1'))).status, 429, 'the batch used up the minute');
        assert.equal((await rpc(limited.mcpUrl, [1, 2, 3].map((i) => callQuery(i, 'SELECT 1')), TOKENS.bob)).status, 200);
      } finally {
        await limited.close();
      }
    });
  });

  it('reports readiness with the database and liveness without it', async () => {
    const ready = await fetch(`${server.baseUrl}/health/ready`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; info: { database: { status: string } } };
    assert.equal(body.status, 'ok');
    assert.equal(body.info.database.status, 'up');
    assert.doesNotMatch(JSON.stringify(body), /token|password/i);
  });
});
