import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildGuardPolicy } from './guard-policy.builder.js';
import type { CatalogueFunction, GuardCatalogue, GuardPolicyOptions } from './guard-policy.types.js';
import { SqlGuardService, createSqlGuard } from './sql-guard.service.js';
import { VerdictCache } from './verdict-cache.js';

const OK = { ok: true } as const;
const NO = (reason: string) => ({ ok: false, reason }) as const;

describe('VerdictCache', () => {
  it('hits on the same text and version, misses on another version and drops the old ones', () => {
    const cache = new VerdictCache({ maxEntries: 10, maxTextLength: 100, maxTotalLength: 1_000 });
    cache.set('SELECT 1', 'v1', OK);
    cache.set('SELECT pg_sleep(1)', 'v1', NO('pg_sleep is not allowed'));
    assert.deepEqual(cache.get('SELECT 1', 'v1'), OK);
    assert.deepEqual(cache.get('SELECT pg_sleep(1)', 'v1'), NO('pg_sleep is not allowed'));
    assert.equal(cache.get('SELECT 1 ', 'v1'), undefined, 'exact text only');
    assert.equal(cache.get('SELECT 1', 'v2'), undefined);
    cache.set('SELECT 2', 'v2', OK);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('SELECT 1', 'v1'), undefined, 'a new version empties the cache');
  });

  it('evicts the least recently used past maxEntries', () => {
    const cache = new VerdictCache({ maxEntries: 3, maxTextLength: 100, maxTotalLength: 1_000 });
    for (const sql of ['a', 'b', 'c']) cache.set(sql, 'v', OK);
    cache.get('a', 'v');
    cache.set('d', 'v', OK);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((s) => cache.get(s, 'v') !== undefined), [true, false, true, true]);
    assert.equal(cache.size, 3);
  });

  it('keeps the total length of the texts under maxTotalLength and never keeps a long text', () => {
    const cache = new VerdictCache({ maxEntries: 100, maxTextLength: 40, maxTotalLength: 100 });
    for (let i = 0; i < 10; i++) cache.set(`${i}`.padEnd(30, 'x'), 'v', OK);
    assert.equal(cache.size, 3);
    assert.equal(cache.heldLength, 90);
    assert.ok(cache.get('9'.padEnd(30, 'x'), 'v'));
    cache.set('y'.repeat(41), 'v', OK);
    assert.equal(cache.get('y'.repeat(41), 'v'), undefined);
    assert.equal(cache.size, 3);
    // Setting the same text again does not count it twice.
    cache.set('9'.padEnd(30, 'x'), 'v', OK);
    assert.equal(cache.heldLength, 90);
  });

  it('holds nothing with maxEntries 0', () => {
    const cache = new VerdictCache({ maxEntries: 0, maxTextLength: 100, maxTotalLength: 1_000 });
    cache.set('SELECT 1', 'v', OK);
    assert.equal(cache.get('SELECT 1', 'v'), undefined);
  });
});

describe('SqlGuardService.checkAsync with the verdict cache', () => {
  const options: GuardPolicyOptions = { searchPath: ['public'], allowedExtensions: [], allowedFunctions: [], allowActivityViews: false };
  const fn = (oid: number, name: string, more: Partial<CatalogueFunction> = {}): CatalogueFunction => ({
    oid, schema: 'pg_catalog', name, volatility: 'i', kind: 'f', nargs: 1, extension: null, ...more,
  });
  const catalogue = (functions: CatalogueFunction[]): GuardCatalogue => ({ functions, operators: [], types: [], relations: [], extensions: [] });
  let guard: SqlGuardService;

  before(async () => {
    guard = await createSqlGuard();
  });
  after(() => guard.onModuleDestroy());

  it('answers a repeated statement from the cache, refusals included', async () => {
    const policy = buildGuardPolicy(catalogue([fn(1, 'lower')]), options).policy;
    assert.deepEqual(await guard.checkAsync('SELECT lower(1)', policy), { ok: true });
    // A refusal is built afresh by every check: the same object again is a cache hit.
    const refusal = await guard.checkAsync('SELECT upper(1)', policy);
    assert.equal(refusal.ok, false);
    assert.equal(await guard.checkAsync('SELECT upper(1)', policy), refusal);
    // check() stays the pure guard, uncached.
    assert.notEqual(guard.check('SELECT upper(1)', policy), guard.check('SELECT upper(1)', policy));
  });

  it('misses when the catalogue behind the policy changed, even by a rename alone', async () => {
    const before = buildGuardPolicy(catalogue([fn(1, 'lower'), fn(2, 'shady')]), options).policy;
    // Same oids, volatility and counts: only the name of function 2 differs.
    const renamed = buildGuardPolicy(catalogue([fn(1, 'lower'), fn(2, 'shady', { name: 'shady_v2', volatility: 'i' })]), options).policy;
    assert.notEqual(renamed.version, before.version);
    assert.deepEqual(await guard.checkAsync('SELECT shady(1)', before), { ok: true });
    assert.equal((await guard.checkAsync('SELECT shady(1)', renamed)).ok, false);
    // The same catalogue read again, in another order, is the same policy: still cached.
    const again = buildGuardPolicy(catalogue([fn(2, 'shady'), fn(1, 'lower')]), options).policy;
    assert.equal(again.version, before.version);
    const hit = await guard.checkAsync('SELECT upper(1)', before);
    assert.equal(await guard.checkAsync('SELECT upper(1)', again), hit);
  });

  it('caches statements checked on the worker thread, but not past the cacheable length', async () => {
    const policy = buildGuardPolicy(catalogue([fn(1, 'lower')]), options).policy;
    const worker = `SELECT upper(1)${' '.repeat(10_000)}`;
    const first = await guard.checkAsync(worker, policy);
    assert.equal(first.ok, false);
    assert.equal(await guard.checkAsync(worker, policy), first);
    const long = `SELECT upper(1)${' '.repeat(20_000)}`;
    const a = await guard.checkAsync(long, policy);
    const b = await guard.checkAsync(long, policy);
    assert.deepEqual(a, b);
    assert.notEqual(a, b, 'a text over 16,384 characters is checked every time');
  });

  it('can be turned off', async () => {
    const uncached = new SqlGuardService({ verdictCache: { maxEntries: 0 } });
    await uncached.onModuleInit();
    try {
      const policy = buildGuardPolicy(catalogue([fn(1, 'lower')]), options).policy;
      assert.notEqual(await uncached.checkAsync('SELECT upper(1)', policy), await uncached.checkAsync('SELECT upper(1)', policy));
    } finally {
      await uncached.onModuleDestroy();
    }
  });
});
