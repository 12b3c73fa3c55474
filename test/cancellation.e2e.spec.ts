import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { DbService } from '#db';
import { MAIN_JS } from './support/server-process.js';
import { startTestDatabase, startTestServer, TOKENS, type TestServer } from './support/stack.js';

// No join condition: a nested loop over ~40 billion rows, which runs until cancelled
// (or the 20 s statement timeout below), and uses nothing the guard refuses.
const slowSql = (marker: string) =>
  `SELECT count(*) AS n /* ${marker} */ FROM tracksolid.position_history a, tracksolid.position_history b, tracksolid.position_history c`;

/** The bound: the statement is gone from pg_stat_activity within 1 s of the cancel. */
const GONE_WITHIN_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cancellation: a cancelled call, or one whose client went away, stops in PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let server: TestServer;
  let su: pg.Client;
  let seq = 0;

  before(async () => {
    db = await startTestDatabase();
    su = new pg.Client(db.superuserUrl);
    await su.connect();
    server = await startTestServer(db.databaseUrl, { MCP_STATEMENT_TIMEOUT_MS: '20000', MCP_POOL_MAX: '4', MCP_CALLER_MAX_CONCURRENCY: '1' });
  });
  after(async () => {
    await server?.close();
    await su?.end().catch(() => undefined);
    await db?.dispose();
  });

  const active = async (marker: string): Promise<{ pid: number }[]> =>
    (
      await su.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%' AND query NOT LIKE '%pg_stat_activity%'`,
        [marker],
      )
    ).rows;

  /** Waits (up to 10 s) until the statement runs, and returns its backend's pid. */
  async function running(marker: string): Promise<number> {
    const deadline = performance.now() + 10_000;
    for (;;) {
      const rows = await active(marker);
      if (rows.length === 1) return rows[0]!.pid;
      if (performance.now() > deadline) assert.fail(`statement ${marker} never started`);
      await sleep(20);
    }
  }

  /** Polls pg_stat_activity from `since` until the statement is gone; fails past GONE_WITHIN_MS. */
  async function goneWithinBound(marker: string, since: number): Promise<number> {
    for (;;) {
      if ((await active(marker)).length === 0) return Math.round(performance.now() - since);
      if (performance.now() - since > GONE_WITHIN_MS) assert.fail(`statement ${marker} still active ${Math.round(performance.now() - since)} ms after the cancel`);
      await sleep(10);
    }
  }

  /** The backend survived and is idle outside a transaction: the connection went back to the pool clean. */
  async function backInPoolClean(pid: number): Promise<void> {
    const deadline = performance.now() + 5_000;
    for (;;) {
      const { rows } = await su.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [pid]);
      assert.equal(rows.length, 1, `backend ${pid} was closed instead of returned to the pool`);
      if (rows[0]!.state === 'idle') return;
      if (performance.now() > deadline) assert.fail(`backend ${pid} is "${rows[0]!.state}", not idle`);
      await sleep(20);
    }
  }

  const rawPost = (body: unknown, token: string = TOKENS.alice, signal?: AbortSignal) =>
    fetch(server.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal,
    });
  const callBody = (id: number | string, sql: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'query', arguments: { sql } } });
  const cancelBody = (requestId: number | string) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'test cancels' } });

  it('2025 revisions: the official client’s notifications/cancelled (another POST) cancels the statement; the connection is reused', async (t) => {
    const marker = `cancel-notification-${++seq}`;
    const client = await server.connect();
    const abort = new AbortController();
    const pending = client.callTool({ name: 'query', arguments: { sql: slowSql(marker) } }, undefined, { signal: abort.signal });
    pending.catch(() => undefined);
    const pid = await running(marker);
    const since = performance.now();
    abort.abort('user pressed stop');
    await assert.rejects(pending);
    t.diagnostic(`gone ${await goneWithinBound(marker, since)} ms after the cancel`);
    await backInPoolClean(pid);
    const after = await client.callTool({ name: 'query', arguments: { sql: 'SELECT 1 AS one' } });
    assert.notEqual(after.isError, true);
  });

  it('the cancelled call is answered as cancelled, and only its own caller can cancel it', async (t) => {
    const marker = `cancel-own-${++seq}`;
    const answer = rawPost(callBody(41, slowSql(marker))).then((r) => r.json() as Promise<{ result: { isError?: boolean; content: { text: string }[] } }>);
    await running(marker);
    // bob names alice's request id: nothing happens to alice's statement.
    assert.equal((await rawPost(cancelBody(41), TOKENS.bob)).status, 202);
    assert.equal((await rawPost(cancelBody('41'))).status, 202, 'a string id is another request');
    await sleep(200);
    assert.equal((await active(marker)).length, 1, "another caller's cancel, or another id, reached the call");
    const since = performance.now();
    assert.equal((await rawPost(cancelBody(41))).status, 202);
    t.diagnostic(`gone ${await goneWithinBound(marker, since)} ms after the cancel`);
    const body = await answer;
    assert.equal(body.result.isError, true);
    assert.equal(body.result.content[0]!.text, 'query was cancelled by the client');
  });

  it('2025 revisions: a client that drops its connection cancels the statement', async (t) => {
    const marker = `cancel-drop-legacy-${++seq}`;
    const abort = new AbortController();
    const pending = rawPost(callBody(7, slowSql(marker)), TOKENS.alice, abort.signal);
    pending.catch(() => undefined);
    const pid = await running(marker);
    const since = performance.now();
    abort.abort();
    t.diagnostic(`gone ${await goneWithinBound(marker, since)} ms after the cancel`);
    await backInPoolClean(pid);
  });

  it('2026-07-28: the v2 client aborting its request (it closes the stream, as the revision says) cancels the statement', async (t) => {
    const marker = `cancel-drop-modern-${++seq}`;
    const client = new ModernClient({ name: 'cancel-modern', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new ModernHttpTransport(new URL(server.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${TOKENS.alice}` } } }));
    try {
      const abort = new AbortController();
      const pending = client.callTool({ name: 'query', arguments: { sql: slowSql(marker) } }, { signal: abort.signal });
      pending.catch(() => undefined);
      const pid = await running(marker);
      const since = performance.now();
      abort.abort('user pressed stop');
      await assert.rejects(pending);
      t.diagnostic(`gone ${await goneWithinBound(marker, since)} ms after the cancel`);
      await backInPoolClean(pid);
    } finally {
      await client.close();
    }
  });

  it('a call cancelled while it waits for a connection leaves the queue', async (t) => {
    const stats = () => server.app.get(DbService).stats;
    const marker = `cancel-queue-${++seq}`;
    // alice may run one statement at a time here, so her second call waits in the queue.
    const first = rawPost(callBody(100, slowSql(marker)));
    first.catch(() => undefined);
    await running(marker);
    const queued = new AbortController();
    const second = rawPost(callBody(101, 'SELECT 2 AS two'), TOKENS.alice, queued.signal);
    second.catch(() => undefined);
    const deadline = performance.now() + 10_000;
    while (stats().waiting !== 1) {
      if (performance.now() > deadline) assert.fail('the second call never queued');
      await sleep(10);
    }
    queued.abort();
    while (stats().waiting !== 0) {
      if (performance.now() > deadline) assert.fail('the cancelled call stayed in the queue');
      await sleep(10);
    }
    assert.equal(stats().inFlight, 1);
    const since = performance.now();
    assert.equal((await rawPost(cancelBody(100))).status, 202);
    t.diagnostic(`gone ${await goneWithinBound(marker, since)} ms after the cancel`);
    await first;
  });

  it('stdio: the notifications/cancelled the client writes cancels the statement', async (t) => {
    const marker = `cancel-stdio-${++seq}`;
    const client = new LegacyClient({ name: 'cancel-stdio', version: '1' });
    const env = { PATH: process.env.PATH ?? '', DATABASE_URL: db.databaseUrl, MCP_AUTH_TOKENS: 'unused:unused-token-0123456789', LOG_LEVEL: 'warn' };
    await client.connect(new LegacyStdioTransport({ command: process.execPath, args: [MAIN_JS, '--stdio'], env, stderr: 'pipe' }));
    try {
      const abort = new AbortController();
      const pending = client.callTool({ name: 'query', arguments: { sql: slowSql(marker) } }, undefined, { signal: abort.signal });
      pending.catch(() => undefined);
      const pid = await running(marker);
      const since = performance.now();
      abort.abort('user pressed stop');
      await assert.rejects(pending);
      t.diagnostic(`gone ${await goneWithinBound(marker, since)} ms after the cancel`);
      await backInPoolClean(pid);
    } finally {
      await client.close();
    }
  });
});
