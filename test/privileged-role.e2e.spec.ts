import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startEmbeddedDemo, type EmbeddedDemo } from '../apps/analytics-mcp/src/embedded/embedded-demo.js';
import { call, connectClient, makeTempDir, SMALL_SEED, textOf, TOKENS } from './support/stack.js';
import { MAIN_JS, spawnServer, type ServerProcess } from './support/server-process.js';
import { spawn } from 'node:child_process';

/*
 * The built server as a child process, on DATABASE_URL roles that are and are not
 * fit for a read-only gateway: what the operator sees at boot, and what callers and
 * the readiness probe see when the database was down at boot.
 */

const WRITER_PW = 'writer-password';

/** Logs are written asynchronously: wait (boundedly) for a line to appear. */
async function waitForLog(server: ServerProcess, re: RegExp): Promise<void> {
  const until = Date.now() + 5_000;
  while (!re.test(server.output()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.match(server.output(), re);
}

/** Calls the tool until its result satisfies `done` (a failed check answers for up to a second). */
async function callUntil(client: Client, done: (r: CallToolResult) => boolean, sql = 'SELECT 1'): Promise<CallToolResult> {
  const until = Date.now() + 5_000;
  for (;;) {
    const res = await call(client, 'query', { sql });
    if (done(res) || Date.now() > until) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function refusedAtBoot(env: Record<string, string>): Promise<string> {
  let message = '';
  await assert.rejects(spawnServer(env), (err: Error) => {
    message = err.message;
    return true;
  });
  assert.match(message, /^server exited early \(code 1, signal null\)/, message);
  const lines = message.split('\n').filter((l) => l.trim() !== '');
  const failed = lines.filter((l) => l.startsWith('analytics-mcp failed to start: '));
  assert.equal(failed.length, 1, message);
  assert.doesNotMatch(message, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(message, /listening/);
  return failed[0]!;
}

describe('the DATABASE_URL role check, on the server process', () => {
  let dir: string;
  let demo: EmbeddedDemo;
  let writerUrl: string;

  const admin = async (sql: string) => {
    const c = new pg.Client(demo.superuserUrl);
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };

  before(async () => {
    dir = await makeTempDir('amcp-rolecheck-');
    // Not ephemeral: the database is stopped and started again below.
    demo = await startEmbeddedDemo({ dataDir: dir, seed: SMALL_SEED });
    await admin(`CREATE ROLE writer_ro LOGIN PASSWORD '${WRITER_PW}';
                 GRANT USAGE ON SCHEMA tracksolid TO writer_ro;
                 GRANT SELECT, INSERT ON tracksolid.devices TO writer_ro`);
    const url = new URL(demo.databaseUrl);
    url.username = 'writer_ro';
    url.password = WRITER_PW;
    writerUrl = url.toString();
  });

  after(async () => {
    await demo?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function answers(server: ServerProcess): Promise<void> {
    const client = await connectClient(server.mcpUrl, TOKENS.alice);
    try {
      const res = await call(client, 'query', { sql: 'SELECT count(*) AS n FROM tracksolid.devices' });
      assert.equal(res.isError, undefined, textOf(res));
    } finally {
      await client.close();
    }
    assert.equal((await fetch(`${server.baseUrl}/health/ready`)).status, 200);
  }

  it('refuses to start on a superuser DSN, in one line naming the problem, the flag and the role script', async () => {
    const line = await refusedAtBoot({ DATABASE_URL: demo.superuserUrl });
    assert.match(line, /the DATABASE_URL role "postgres" is privileged: it has SUPERUSER/);
    assert.match(line, /it can write \d+ table\(s\) in MCP_READABLE_SCHEMAS: /);
    assert.match(line, /db\/roles\/analytics_ro\.sql/);
    assert.match(line, /MCP_ALLOW_PRIVILEGED_ROLE=true/);
  });

  it('refuses in stdio mode too, with the one line alone on stderr', async () => {
    const child = spawn(process.execPath, [MAIN_JS, '--stdio'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: demo.superuserUrl, MCP_AUTH_TOKENS: 'x:unused-token-0123456789', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    assert.equal(code, 1, stderr);
    assert.equal(stdout, '', 'nothing on the protocol channel');
    assert.match(stderr, /^analytics-mcp failed to start: the DATABASE_URL role "postgres" is privileged: [^\n]*\n$/);
  });

  it('starts on a superuser DSN with MCP_ALLOW_PRIVILEGED_ROLE=true, with a loud warning', async () => {
    const server = await spawnServer({ DATABASE_URL: demo.superuserUrl, MCP_ALLOW_PRIVILEGED_ROLE: 'true' });
    try {
      await answers(server);
      await waitForLog(server, /SERVING ON A PRIVILEGED ROLE/);
      const warning = server
        .output()
        .split('\n')
        .find((l) => l.includes('SERVING ON A PRIVILEGED ROLE'));
      assert.ok(warning, server.output());
      const logged = JSON.parse(warning) as { level: number; msg: string };
      assert.equal(logged.level, 40, 'logged at warn level');
      assert.match(logged.msg, /^MCP_ALLOW_PRIVILEGED_ROLE=true: .*"postgres" is privileged: it has SUPERUSER/);
    } finally {
      await server.stop();
    }
  });

  it('refuses a role that may INSERT into a readable table, naming the table', async () => {
    const line = await refusedAtBoot({ DATABASE_URL: writerUrl });
    assert.match(
      line,
      /the DATABASE_URL role "writer_ro" is privileged: it can write 1 table\(s\) in MCP_READABLE_SCHEMAS: tracksolid\.devices \(INSERT\)\./,
    );
  });

  it("starts on the demo's analytics_ro role without a word about it", async () => {
    const server = await spawnServer({ DATABASE_URL: demo.databaseUrl });
    try {
      await answers(server);
      assert.doesNotMatch(server.output(), /RoleCheck|privileged/);
    } finally {
      await server.stop();
    }
  });

  it('with the database down at boot: starts, then refuses tool calls and readiness until the role is fit', async () => {
    await demo.cluster.stop();
    let down = true;
    let server: ServerProcess | undefined;
    try {
      server = await spawnServer({ DATABASE_URL: writerUrl, LOG_LEVEL: 'info' });
      await waitForLog(server, /could not check the DATABASE_URL role's privileges/);
      const client = await connectClient(server.mcpUrl, TOKENS.alice);
      try {
        const unavailable = await call(client, 'query', { sql: 'SELECT 1' });
        assert.equal(unavailable.isError, true);
        assert.match(textOf(unavailable), /^database unavailable: could not check the database role's privileges/);

        await demo.cluster.start();
        down = false;
        const refused = await callUntil(client, (r) => !/^database unavailable/.test(textOf(r)));
        assert.equal(refused.isError, true);
        assert.match(textOf(refused), /"writer_ro" is privileged: .*tracksolid\.devices \(INSERT\).*db\/roles\/analytics_ro\.sql/);
        const catalog = await call(client, 'list_schemas');
        assert.equal(catalog.isError, true, 'every tool is refused, not only query');
        const ready = await fetch(`${server.baseUrl}/health/ready`);
        assert.equal(ready.status, 503);
        assert.match(await ready.text(), /writer_ro.*is privileged/);
        await waitForLog(server, /"level":50.*"writer_ro\\" is privileged/);

        await admin('REVOKE INSERT ON tracksolid.devices FROM writer_ro');
        const ok = await callUntil(client, (r) => r.isError === undefined, 'SELECT count(*) FROM tracksolid.devices');
        assert.equal(ok.isError, undefined, textOf(ok));
        assert.equal((await fetch(`${server.baseUrl}/health/ready`)).status, 200);
        await waitForLog(server, /"writer_ro\\" is no longer privileged/);
      } finally {
        await client.close();
      }
    } finally {
      await server?.stop();
      if (down) await demo.cluster.start();
    }
  });
});
