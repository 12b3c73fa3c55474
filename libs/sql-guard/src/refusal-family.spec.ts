import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DENY_FAMILIES } from './deny-list.js';
import { buildGuardPolicy } from './guard-policy.builder.js';
import type { GuardCatalogue } from './guard-policy.types.js';
import { refusalFamily } from './refusal-family.js';
import { SqlGuardService, createSqlGuard } from './sql-guard.service.js';

const f = (oid: number, name: string, volatility: 'i' | 's' | 'v' = 'i', schema = 'pg_catalog') => ({ oid, schema, name, volatility, kind: 'f' as const, nargs: 1, extension: null });
const CATALOGUE: GuardCatalogue = {
  functions: [f(1, 'lower'), f(2, 'int4pl'), f(3, 'pg_read_file', 'v'), f(4, 'my_report', 'v', 'public'), f(5, 'random', 'v')],
  operators: [],
  types: [],
  relations: [],
  extensions: [],
};
const POLICY = buildGuardPolicy(CATALOGUE, { searchPath: ['public'], allowedExtensions: [], allowedFunctions: [], allowActivityViews: false }).policy;

describe('refusalFamily', () => {
  let guard: SqlGuardService;
  before(async () => {
    guard = await createSqlGuard({ maxBytes: 1_000 });
  });
  after(() => guard.onModuleDestroy());

  const familyOf = (sql: string) => {
    const v = guard.check(sql, POLICY);
    assert.equal(v.ok, false, sql);
    return refusalFamily((v as { reason: string }).reason);
  };

  it("names the deny family of a refusal the deny list made, from the guard's real reasons", () => {
    assert.equal(familyOf('SELECT pg_sleep(1)'), 'sleeps');
    assert.equal(familyOf("SELECT pg_read_file('/etc/passwd')"), 'server-files');
    assert.equal(familyOf("SELECT set_config('a', 'b', false)"), 'settings');
    assert.equal(familyOf('SELECT pg_advisory_lock(1)'), 'advisory-locks');
    assert.equal(familyOf("SELECT nextval('s')"), 'sequences');
    assert.equal(familyOf('SELECT pg_terminate_backend(1)'), 'server-control');
  });

  it('classifies the other refusals in a few bounded families', () => {
    assert.equal(familyOf('DELETE FROM t'), 'statement');
    assert.equal(familyOf('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d'), 'statement');
    assert.equal(familyOf('SELECT 1; SELECT 2'), 'statement');
    assert.equal(familyOf('SELECT * INTO t2 FROM t'), 'statement');
    assert.equal(familyOf('SELECT * FROM t FOR UPDATE'), 'statement');
    assert.equal(familyOf('SELECT public.my_report()'), 'function');
    assert.equal(familyOf('SELECT no_such_function(1)'), 'function');
    assert.equal(familyOf('   '), 'input');
    assert.equal(familyOf(`SELECT '${'x'.repeat(1_000)}'`), 'input');
    assert.equal(familyOf('SELECT * FORM t'), 'syntax');
  });

  it('knows every deny family by its reason', () => {
    for (const fam of DENY_FAMILIES) assert.equal(refusalFamily(`function x is not allowed (${fam.reason})`), fam.family);
  });
});
