import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPool, DbService } from '#db';
import { startTestDatabase } from './support/stack.js';

const SLOW_SQL = 'SELECT count(*) FROM tracksolid.position_history a CROSS JOIN generate_series(1, 3000) g';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DbService retry', () => {
  let db: Awaited<ReturnType<typeof startTestDatabase>>;
  let killer: pg.Client;

  before(async () => {
    db = await startTestDatabase();
    killer = new pg.Client({ connectionString: db.superuserUrl });
    await killer.connect();
  });
  after(async () => {
    await killer?.end();
    await db?.dispose();
  });

  /** Terminates the next backend running SLOW_SQL that is not in `seen`, once; returns its pid. */
  async function killNextSlow(seen: Set<number>): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const { rows } = await killer.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE usename = 'analytics_ro' AND state = 'active' AND query LIKE '%generate_series(1, 3000)%'`,
      );
      const pid = rows.map((r) => r.pid).find((p) => !seen.has(p));
      if (pid !== undefined) {
        await killer.query('SELECT pg_terminate_backend($1)', [pid]);
        seen.add(pid);
        return pid;
      }
      if (Date.now() - t0 > 20_000) throw new Error('no new backend ran the slow statement');
      await sleep(10);
    }
  }

  it('hides one lost connection: the call is retried once on a fresh one and answers', async () => {
    const opts = { connectionString: db.databaseUrl, poolMax: 1, queueMax: 1, queueTimeoutMs: 20_000, statementTimeoutMs: 60_000 };
    const service = new DbService(createPool(opts), opts);
    try {
      const call = service.query({ sql: SLOW_SQL, maxRows: 1 });
      await killNextSlow(new Set());
      assert.equal((await call).rows.length, 1);
    } finally {
      await service.onApplicationShutdown();
    }
  });

  it('gives a fresh connection exactly one retry', async () => {
    const opts = { connectionString: db.databaseUrl, poolMax: 1, queueMax: 1, queueTimeoutMs: 20_000, statementTimeoutMs: 60_000 };
    const service = new DbService(createPool(opts), opts);
    try {
      const call = service.query({ sql: SLOW_SQL, maxRows: 1 });
      const outcome = call.then(
        () => 'answered',
        (err: Error) => err.message,
      );
      const seen = new Set<number>();
      await killNextSlow(seen);
      await killNextSlow(seen);
      assert.match(await outcome, /database unavailable/);
    } finally {
      await service.onApplicationShutdown();
    }
  });
});
