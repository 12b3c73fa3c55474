import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assessConnectionBudget,
  assessDeployment,
  formatConnectionBudget,
  poolLimitWarning,
  readConnectionSnapshot,
  readOwnConnectionLimit,
  type ConnectionSnapshot,
  type Queryable,
  type RoleConnections,
} from './connection-budget.js';

function snapshot(roles: RoleConnections[], over: Partial<ConnectionSnapshot> = {}): ConnectionSnapshot {
  return {
    serverVersion: '16.4',
    maxConnections: 100,
    superuserReservedConnections: 3,
    reservedConnections: 0,
    roles,
    totalInUse: roles.reduce((n, r) => n + r.inUse, 0),
    ...over,
  };
}

const role = (name: string, limit: number | null, inUse = 0, superuser = false): RoleConnections => ({
  role: name,
  superuser,
  limit,
  inUse,
});

describe('assessConnectionBudget', () => {
  it('is within budget when the limits fit in max_connections minus the reserves', () => {
    const v = assessConnectionBudget(
      snapshot([role('tracksolid_owner', 30), role('dashboard_app', 8), role('postgres', null, 2, true)], {
        reservedConnections: 2,
      }),
    );
    assert.equal(v.available, 95);
    assert.equal(v.committed, 38);
    assert.equal(v.headroom, 57);
    assert.equal(v.withinBudget, true);
    assert.deepEqual(v.reasons, []);
    assert.deepEqual(v.superusers.map((r) => r.role), ['postgres']);
  });

  it('counts a sum equal to the available slots as within budget, one more as over', () => {
    assert.equal(assessConnectionBudget(snapshot([role('a', 90), role('b', 7)])).withinBudget, true);
    const over = assessConnectionBudget(snapshot([role('a', 90), role('b', 8)]));
    assert.equal(over.withinBudget, false);
    assert.equal(over.headroom, -1);
    assert.match(over.reasons[0]!, /add up to 98, but only 97/);
  });

  it('flags a non-superuser login without a limit as unbounded and over budget', () => {
    const v = assessConnectionBudget(snapshot([role('legacy', null, 4), role('a', 10)]));
    assert.equal(v.withinBudget, false);
    assert.deepEqual(v.unbounded.map((r) => r.role), ['legacy']);
    assert.equal(v.committed, 10);
    assert.match(v.reasons.join('\n'), /legacy can log in without a CONNECTION LIMIT/);
  });

  it('lists superusers apart and never counts their limit, set or not', () => {
    const v = assessConnectionBudget(snapshot([role('postgres', null, 5, true), role('admin', 500, 0, true)]));
    assert.equal(v.withinBudget, true);
    assert.equal(v.committed, 0);
    assert.deepEqual(v.superusers.map((r) => r.role), ['postgres', 'admin']);
  });

  it('reports roles whose connections already fill their limit', () => {
    const v = assessConnectionBudget(snapshot([role('gateway_app', 15, 15), role('cron_app', 5, 1)]));
    assert.deepEqual(v.atLimit.map((r) => r.role), ['gateway_app']);
    assert.equal(v.withinBudget, true);
  });

  it('treats a limit of 0 as a bound (the role cannot connect at all)', () => {
    const v = assessConnectionBudget(snapshot([role('disabled', 0)]));
    assert.equal(v.withinBudget, true);
    assert.deepEqual(v.unbounded, []);
  });
});

describe('formatConnectionBudget', () => {
  it('prints the settings, one line per role and the verdict', () => {
    const s = snapshot([role('analytics_ro', 10, 2), role('legacy', null, 1), role('postgres', null, 3, true)]);
    const text = formatConnectionBudget(s, assessConnectionBudget(s));
    assert.match(text, /^PostgreSQL 16\.4 connection budget/);
    assert.match(text, /max_connections\s+100/);
    assert.match(text, /available to non-superuser roles\s+97/);
    assert.match(text, /analytics_ro\s+10\s+2/);
    assert.match(text, /legacy\s+none\s+1\s+UNBOUNDED/);
    assert.match(text, /postgres\s+superuser\s+3\s+superuser: limit not enforced/);
    assert.match(text, /committed: 10 of 97 available \(headroom 87\), plus 1 unbounded role\(s\)/);
    assert.match(text, /verdict: OVER BUDGET\n {2}- role legacy can log in without a CONNECTION LIMIT\n$/);
  });

  it('says WITHIN BUDGET and aligns the numbers right', () => {
    const s = snapshot([role('a', 5), role('long_role_name', 15)]);
    const lines = formatConnectionBudget(s, assessConnectionBudget(s)).split('\n');
    const a = lines.find((l) => l.startsWith('a '))!;
    const b = lines.find((l) => l.startsWith('long_role_name'))!;
    assert.equal(a.indexOf('5'), b.indexOf('15') + 1);
    assert.ok(lines.includes('verdict: WITHIN BUDGET'));
  });
});

function fakeDb(answers: Record<string, any[]>): Queryable & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    async query(text: string) {
      seen.push(text);
      const key = Object.keys(answers).find((k) => text.includes(k));
      if (!key) throw new Error(`unexpected query: ${text}`);
      return { rows: answers[key]! };
    },
  };
}

describe('readConnectionSnapshot', () => {
  it('parses settings and roles, with -1 meaning no limit', async () => {
    const db = fakeDb({
      pg_settings: [
        { name: 'max_connections', setting: '120' },
        { name: 'superuser_reserved_connections', setting: '3' },
        { name: 'reserved_connections', setting: '2' },
        { name: 'server_version', setting: '18.4' },
      ],
      'FROM pg_catalog.pg_roles': [
        { role: 'gateway_app', superuser: false, limit: 15, in_use: 3 },
        { role: 'postgres', superuser: true, limit: -1, in_use: '1' },
      ],
      'count(*)::int AS total': [{ total: 4 }],
    });
    const s = await readConnectionSnapshot(db);
    assert.deepEqual(s, {
      serverVersion: '18.4',
      maxConnections: 120,
      superuserReservedConnections: 3,
      reservedConnections: 2,
      roles: [
        { role: 'gateway_app', superuser: false, limit: 15, inUse: 3 },
        { role: 'postgres', superuser: true, limit: null, inUse: 1 },
      ],
      totalInUse: 4,
    });
  });

  it('takes reserved_connections as 0 on servers before PostgreSQL 16', async () => {
    const db = fakeDb({
      pg_settings: [
        { name: 'max_connections', setting: '100' },
        { name: 'superuser_reserved_connections', setting: '3' },
        { name: 'server_version', setting: '15.8' },
      ],
      'FROM pg_catalog.pg_roles': [],
      'count(*)::int AS total': [{ total: 0 }],
    });
    assert.equal((await readConnectionSnapshot(db)).reservedConnections, 0);
  });
});

describe('readOwnConnectionLimit', () => {
  it('returns the limit of the login role', async () => {
    assert.equal(await readOwnConnectionLimit(fakeDb({ pg_roles: [{ rolconnlimit: 10, rolsuper: false }] })), 10);
  });

  it('returns null when the role has no limit or is a superuser', async () => {
    assert.equal(await readOwnConnectionLimit(fakeDb({ pg_roles: [{ rolconnlimit: -1, rolsuper: false }] })), null);
    assert.equal(await readOwnConnectionLimit(fakeDb({ pg_roles: [{ rolconnlimit: 5, rolsuper: true }] })), null);
  });
});

describe('poolLimitWarning', () => {
  it('warns only when the pool is larger than the limit', () => {
    assert.equal(poolLimitWarning(8, 10), null);
    assert.equal(poolLimitWarning(10, 10), null);
    assert.equal(poolLimitWarning(20, null), null);
    assert.match(poolLimitWarning(12, 10, 'analytics_ro')!, /pool size 12 exceeds the CONNECTION LIMIT 10 of analytics_ro/);
  });
});

describe('assessDeployment', () => {
  const server = snapshot([role('analytics_ro', 30), role('loose', null), role('postgres', null, 1, true)]);

  it('counts replicas × (MCP_POOL_MAX + 1), with one surge replica during a rolling update', () => {
    const v = assessDeployment(server, { replicas: 2, poolMax: 8, role: 'analytics_ro' });
    assert.deepEqual([v.clientConnections, v.peakClientConnections, v.serverConnections, v.roleLimit, v.fits], [18, 27, 27, 30, true]);
    assert.match(v.lines.join('\n'), /27 connections fit the CONNECTION LIMIT 30 of analytics_ro \(3 to spare\)/);
    const over = assessDeployment(server, { replicas: 3, poolMax: 8, role: 'analytics_ro' });
    assert.equal(over.fits, false);
    assert.match(over.lines.join('\n'), /36 connections exceed the CONNECTION LIMIT 30 of analytics_ro: lower MCP_POOL_MAX or the replicas, put PgBouncer in front/);
  });

  it("through PgBouncer, holds the role to PgBouncer's pool whatever the replicas", () => {
    const v = assessDeployment(server, { replicas: 10, poolMax: 8, role: 'analytics_ro', pgbouncerPoolSize: 20 });
    assert.deepEqual([v.serverConnections, v.peakClientConnections, v.fits], [20, 99, true]);
    assert.match(v.lines.join('\n'), /max_client_conn must also admit the 99 client connections/);
    assert.equal(assessDeployment(server, { replicas: 1, poolMax: 2, role: 'analytics_ro', pgbouncerPoolSize: 31 }).fits, false);
  });

  it('does not fit an unbounded role or a superuser, and names a missing role', () => {
    assert.match(assessDeployment(server, { replicas: 1, poolMax: 1, role: 'loose' }).lines.join('\n'), /loose has no CONNECTION LIMIT: set one of at least 4/);
    assert.equal(assessDeployment(server, { replicas: 1, poolMax: 1, role: 'postgres' }).fits, false);
    assert.throws(() => assessDeployment(server, { replicas: 1, poolMax: 1, role: 'nobody' }), /login role nobody does not exist/);
  });
});
