import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';

const MINUTE = 60_000;

function clocked(sweepPerCall?: number) {
  let t = 1_700_000_000_000;
  const storage = new MemoryThrottlerStorage({ now: () => t, sweepPerCall });
  return {
    storage,
    advance: (ms: number) => void (t += ms),
    hit: (key = 'mcp:caller:alice', limit = 3, blockDuration = MINUTE, ttl = MINUTE, name = 'mcp') => storage.incrementNow(key, ttl, limit, blockDuration, name),
  };
}

describe('MemoryThrottlerStorage', () => {
  it("answers a burst like @nestjs/throttler's own storage: the hit past the limit blocks for blockDuration", async () => {
    const ours = new MemoryThrottlerStorage();
    const theirs = new ThrottlerStorageService();
    try {
      for (let i = 0; i < 6; i++) {
        const [a, b] = await Promise.all([ours.increment('k', MINUTE, 3, MINUTE, 'mcp'), theirs.increment('k', MINUTE, 3, MINUTE, 'mcp')]);
        // Theirs reports a meaningless negative timeToBlockExpire while not blocked.
        const shown = (r: typeof a) => [r.totalHits, r.timeToExpire, r.isBlocked, r.isBlocked ? r.timeToBlockExpire : 0];
        assert.deepEqual(shown(a), shown(b), `hit ${i + 1}`);
      }
      for (let i = 0; i < 5; i++) {
        const [a, b] = await Promise.all([ours.increment('n', MINUTE, 3, 0, 'mcp'), theirs.increment('n', MINUTE, 3, 0, 'mcp')]);
        assert.deepEqual([a.totalHits, a.isBlocked], [b.totalHits, b.isBlocked], `hit ${i + 1} without a block duration`);
      }
    } finally {
      theirs.onApplicationShutdown();
    }
  });

  it('does not count hits while blocked, and starts a fresh count when the block is over', () => {
    const { hit, advance } = clocked();
    assert.deepEqual([1, 2, 3].map(() => hit().isBlocked), [false, false, false]);
    assert.deepEqual(hit(), { totalHits: 4, timeToExpire: 60, isBlocked: true, timeToBlockExpire: 60 });
    advance(20_000);
    assert.deepEqual(hit(), { totalHits: 4, timeToExpire: 40, isBlocked: true, timeToBlockExpire: 40 });
    advance(39_999);
    assert.equal(hit().timeToBlockExpire, 1);
    advance(1);
    assert.deepEqual(hit(), { totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('blocks for blockDuration, not the window, when they differ', () => {
    const { hit, advance } = clocked();
    for (let i = 0; i < 3; i++) hit('k', 3, 5 * MINUTE);
    assert.equal(hit('k', 3, 5 * MINUTE).timeToBlockExpire, 300);
    advance(2 * MINUTE);
    const r = hit('k', 3, 5 * MINUTE);
    assert.equal(r.isBlocked, true);
    assert.equal(r.timeToBlockExpire, 180);
  });

  it("slides: the previous window's hits count for the part of it still inside the last ttl", () => {
    const { hit, advance } = clocked();
    for (let i = 0; i < 8; i++) assert.equal(hit('k', 10).isBlocked, false);
    // Half-way through the next window, half of the previous 8 still count: 6 more fit.
    advance(MINUTE + MINUTE / 2);
    const next = Array.from({ length: 7 }, () => hit('k', 10));
    assert.deepEqual(next.map((r) => r.totalHits), [5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(next.map((r) => r.isBlocked), [false, false, false, false, false, false, true]);
  });

  it('forgets a window two windows old', () => {
    const { hit, advance } = clocked();
    for (let i = 0; i < 3; i++) hit('k', 3);
    advance(2 * MINUTE);
    assert.deepEqual(hit('k', 3), { totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('without a block duration, refuses uncounted until the count falls below the limit, and says when', () => {
    const { hit, advance } = clocked();
    assert.deepEqual([hit('k', 2, 0), hit('k', 2, 0)].map((r) => r.isBlocked), [false, false]);
    const refused = hit('k', 2, 0);
    assert.deepEqual([refused.totalHits, refused.isBlocked], [3, true]);
    advance(refused.timeToBlockExpire * 1000 - 1_000);
    assert.equal(hit('k', 2, 0).isBlocked, true, 'a second before the time given');
    advance(1_000);
    const later = hit('k', 2, 0);
    assert.equal(later.isBlocked, false, 'at the time given');
    // The previous window's two hits now count as one: one call fits, not two.
    assert.equal(hit('k', 2, 0).isBlocked, true);
  });

  it('keeps keys and throttler names apart', () => {
    const { hit } = clocked();
    for (let i = 0; i < 4; i++) hit('mcp:caller:alice');
    assert.equal(hit('mcp:caller:alice').isBlocked, true);
    assert.equal(hit('mcp:caller:bob').totalHits, 1);
    assert.equal(hit('mcp:caller:alice', 3, MINUTE, MINUTE, 'auth').totalHits, 1);
  });

  it('is O(1) per call: 60,000 hits in the window hold one record', () => {
    const { storage, hit } = clocked();
    for (let i = 0; i < 60_000; i++) hit('k', Number.MAX_SAFE_INTEGER);
    assert.equal(hit('k', Number.MAX_SAFE_INTEGER).totalHits, 60_001);
    assert.equal(storage.size, 1);
  });

  it('sweeps finished records as calls arrive, keeping blocked ones until their block ends', () => {
    const { storage, hit, advance } = clocked();
    for (let i = 0; i < 10_000; i++) hit(`ip:10.0.${i >> 8}.${i & 255}`);
    for (let i = 0; i < 4; i++) hit('blocked', 3, 10 * MINUTE);
    assert.equal(storage.size, 10_001);
    // Still inside two windows: nothing may go.
    advance(MINUTE);
    for (let i = 0; i < 10_000; i++) hit('busy', Number.MAX_SAFE_INTEGER);
    assert.equal(storage.size, 10_002);
    advance(MINUTE);
    for (let i = 0; i < 10_000; i++) hit('busy', Number.MAX_SAFE_INTEGER);
    assert.equal(storage.size, 2, 'the busy key and the blocked one remain');
    advance(8 * MINUTE);
    for (let i = 0; i < 10; i++) hit('busy', Number.MAX_SAFE_INTEGER);
    assert.equal(storage.size, 1);
  });

  it('starts over when a key is used with another ttl', () => {
    const { hit } = clocked();
    for (let i = 0; i < 3; i++) hit('k', 3);
    assert.equal(hit('k', 3, MINUTE, 1_000).totalHits, 1);
  });
});
