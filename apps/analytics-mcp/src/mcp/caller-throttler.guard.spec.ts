import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutionContext } from '@nestjs/common';
import { ThrottlerException, ThrottlerStorageService, type ThrottlerModuleOptions, type ThrottlerStorage } from '@nestjs/throttler';
import { MemoryThrottlerStorage } from '../rate-limit/memory-throttler.storage.js';
import { CallerThrottlerGuard } from './caller-throttler.guard.js';

function contextFor(req: { caller?: string; ip?: string }) {
  const headers = new Map<string, unknown>();
  const res = { setHeader: (name: string, value: unknown) => void headers.set(name, value) };
  const context = { switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }) } as unknown as ExecutionContext;
  return { context, headers };
}

const options = (limit: number, skip = false): ThrottlerModuleOptions => ({
  throttlers: [{ name: 'mcp', ttl: 60_000, limit }],
  skipIf: () => skip,
});

async function attempt(guard: CallerThrottlerGuard, req: { caller?: string; ip?: string }) {
  const { context, headers } = contextFor(req);
  try {
    return { passed: await guard.canActivate(context), headers };
  } catch (err) {
    return { passed: false, error: err, headers };
  }
}

describe('CallerThrottlerGuard', () => {
  for (const [name, make] of [
    ['the in-memory storage (synchronous)', () => new MemoryThrottlerStorage()],
    ["another ThrottlerStorage (@nestjs/throttler's own)", () => new ThrottlerStorageService()],
  ] as const) {
    it(`answers as ThrottlerGuard does, per caller, on ${name}`, async () => {
      const storage: ThrottlerStorage = make();
      try {
        const guard = new CallerThrottlerGuard(options(2), storage);
        const first = await attempt(guard, { caller: 'alice', ip: '10.0.0.1' });
        assert.equal(first.passed, true);
        assert.deepEqual(Object.fromEntries(first.headers), { 'X-RateLimit-Limit-mcp': 2, 'X-RateLimit-Remaining-mcp': 1, 'X-RateLimit-Reset-mcp': 60 });
        assert.equal((await attempt(guard, { caller: 'alice', ip: '10.0.0.2' })).passed, true);
        const third = await attempt(guard, { caller: 'alice', ip: '10.0.0.1' });
        assert.ok(third.error instanceof ThrottlerException);
        assert.equal(third.headers.get('Retry-After-mcp'), 60);
        // Another caller behind the same address has a counter of its own.
        assert.equal((await attempt(guard, { caller: 'bob', ip: '10.0.0.1' })).passed, true);
        // The key the controller charges a batch's further calls to.
        const rec = await storage.increment('mcp:caller:bob', 60_000, 2, 60_000, 'mcp');
        assert.equal(rec.totalHits, 2);
      } finally {
        if (storage instanceof ThrottlerStorageService) storage.onApplicationShutdown();
      }
    });
  }

  it('counts nothing and sets no header when skipIf says so (MCP_RATE_LIMIT_PER_MIN=0)', async () => {
    const storage = new MemoryThrottlerStorage();
    const guard = new CallerThrottlerGuard(options(1, true), storage);
    for (let i = 0; i < 3; i++) {
      const r = await attempt(guard, { caller: 'alice' });
      assert.equal(r.passed, true);
      assert.equal(r.headers.size, 0);
    }
    assert.equal(storage.size, 0);
  });

  it('refuses a configuration it would not honour', () => {
    assert.throws(() => new CallerThrottlerGuard({ throttlers: [] }, new MemoryThrottlerStorage()), /exactly one throttler/);
    assert.throws(() => new CallerThrottlerGuard({ throttlers: [{ ttl: 60_000, limit: () => 3 }] }, new MemoryThrottlerStorage()), /numeric limit/);
  });
});
