import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { call, connectClient, startTestDatabase, textOf, TOKENS } from './support/stack.js';
import { spawnServer } from './support/server-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function assertNowhere(haystack: string, secret: string, where: string): void {
  for (const form of [secret, encodeURIComponent(secret)]) {
    assert.ok(!haystack.includes(form), `${where} shows the password (${form.length} chars)`);
  }
}

describe('no database password in what the server prints', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let password: string;
  let port: string;

  /** The analytics_ro URL with its password moved into `?password=`. */
  const urlWithPasswordParam = (pw: string) => {
    const u = new URL(db.databaseUrl);
    u.password = '';
    u.searchParams.set('password', pw);
    return u.toString();
  };

  before(async () => {
    db = await startTestDatabase();
    const u = new URL(db.databaseUrl);
    password = decodeURIComponent(u.password);
    port = u.port;
    assert.ok(password.length >= 16);
  });
  after(async () => {
    await db?.dispose();
  });

  it('a server given its password in ?password= works and never prints it, even at LOG_LEVEL=trace', async () => {
    const url = urlWithPasswordParam(password);
    assert.ok(url.includes(`?password=${encodeURIComponent(password)}`));
    const server = await spawnServer({ DATABASE_URL: url, LOG_LEVEL: 'trace' });
    let output = '';
    try {
      const client = await connectClient(server.mcpUrl, TOKENS.alice);
      const ok = await call(client, 'query', { sql: 'SELECT current_user::text AS who' });
      assert.equal(ok.isError, undefined, textOf(ok));
      assert.deepEqual((ok.structuredContent as { rows: unknown[][] }).rows, [['analytics_ro']]);
      assert.equal((await call(client, 'query', { sql: 'SELECT * FROM no_such_table' })).isError, true);
      assert.equal((await call(client, 'query', { sql: 'DELETE FROM tracksolid.devices' })).isError, true);
      assert.equal((await fetch(`${server.baseUrl}/health/ready`)).status, 200);
      // Connections dropped under the server: its warnings and the retry path log too.
      const su = new pg.Client(db.superuserUrl);
      await su.connect();
      await su.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'analytics_ro'");
      await su.end();
      await sleep(100);
      assert.equal((await call(client, 'query', { sql: 'SELECT 1' })).isError, undefined);
      await client.close();
    } finally {
      await server.stop();
      output = server.output();
    }
    assert.ok(output.includes(`database: 127.0.0.1:${port}/fleet (analytics_ro)`), output);
    assertNowhere(output, password, 'the server output');
  });

  it('a wrong password in ?password= shows neither in the output nor in tool results or readiness', async () => {
    const wrong = `Wrong-${password.slice(0, 10)}-pw`;
    const server = await spawnServer({ DATABASE_URL: urlWithPasswordParam(wrong), LOG_LEVEL: 'trace' });
    let seen = '';
    try {
      const client = await connectClient(server.mcpUrl, TOKENS.alice);
      const res = await call(client, 'query', { sql: 'SELECT 1' });
      assert.equal(res.isError, true);
      assert.match(textOf(res), /password authentication failed/);
      seen += textOf(res);
      const ready = await fetch(`${server.baseUrl}/health/ready`);
      assert.equal(ready.status, 503);
      seen += await ready.text();
      await client.close();
    } finally {
      await server.stop();
      seen += server.output();
    }
    assert.ok(seen.includes(`database: 127.0.0.1:${port}/fleet (analytics_ro)`), seen);
    assertNowhere(seen, wrong, 'output, tool result or readiness');
  });

  it('a DATABASE_URL that cannot be parsed stops the boot (exit 78) without echoing it', async () => {
    const secret = 'Unencoded/Slash-Secret-pw';
    const err = await spawnServer({ DATABASE_URL: `postgresql://analytics_ro:${secret}@127.0.0.1:${port}/fleet` }).then(
      async (s) => {
        await s.stop();
        return new Error(`started: ${s.output()}`);
      },
      (e: Error) => e,
    );
    assert.match(err.message, /server exited early \(code 78/);
    assert.match(err.message, /DATABASE_URL: cannot be parsed/);
    assertNowhere(err.message, secret, 'the boot error');
    assertNowhere(err.message, 'Slash-Secret', 'the boot error');
  });
});
