import type { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** One key's counters: the hits of its current and previous windows, and its block. */
interface WindowCounter {
  ttl: number;
  windowStart: number;
  current: number;
  previous: number;
  /** 0 when not blocked; else when the block ends (ms since epoch). */
  blockedUntil: number;
}

/** One throttler's records, and where its sweep stopped. */
interface Counters {
  byKey: Map<string, WindowCounter>;
  cursor: MapIterator<[string, WindowCounter]> | undefined;
}

export interface MemoryThrottlerStorageOptions {
  /** The clock, in ms since epoch (specs move it by hand). */
  now?: () => number;
  /** Records looked at for expiry per increment(): the sweep's share of each call. */
  sweepPerCall?: number;
}

const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * The throttler's in-process counters: a sliding-window counter per key, O(1) per call
 * whatever the number of hits in the window. @nestjs/throttler's own storage keeps one
 * timestamp per hit and filters them on every call, so a busy caller (or a generous
 * limit) made each call slower as the minute went on.
 *
 * A key's window starts with its first hit and rolls forward by whole windows. The hits
 * counted are the current window's plus the previous window's share that still overlaps
 * the last `ttl` ms, as if its hits had been spread evenly: the sliding log's verdict
 * without its list, and no burst of twice the limit at a window boundary.
 *
 * Blocking keeps @nestjs/throttler's semantics: a hit past the limit blocks the key for
 * `blockDuration` ms, hits are not counted while it lasts, and the first hit after it
 * starts a fresh count. With `blockDuration` ≤ 0 the call over the limit is refused
 * without being counted, and `timeToBlockExpire` says when the count falls below it.
 *
 * Memory: every increment() looks at a few records (a cursor over the map, resumed where
 * it stopped) and drops those whose windows and block are over, so records live at most
 * about two windows past their last hit plus one pass of the cursor; no timer.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage {
  private readonly byName = new Map<string, Counters>();
  private readonly now: () => number;
  private readonly sweepPerCall: number;

  constructor(options: MemoryThrottlerStorageOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweepPerCall = options.sweepPerCall ?? 2;
  }

  /** Keys held, over every throttler name. */
  get size(): number {
    let n = 0;
    for (const counters of this.byName.values()) n += counters.byKey.size;
    return n;
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    return this.incrementNow(key, ttl, limit, blockDuration, throttlerName);
  }

  /** increment() without the promise, for callers on the hot path. */
  incrementNow(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): ThrottlerStorageRecord {
    const now = this.now();
    let counters = this.byName.get(throttlerName);
    if (!counters) this.byName.set(throttlerName, (counters = { byKey: new Map(), cursor: undefined }));
    this.sweep(counters, now);
    const byKey = counters.byKey;

    let c = byKey.get(key);
    if (!c || c.ttl !== ttl) {
      c = { ttl, windowStart: now, current: 0, previous: 0, blockedUntil: 0 };
      byKey.set(key, c);
    } else {
      roll(c, now);
    }

    if (blockDuration <= 0) return this.countWithoutBlock(c, now, limit);

    if (c.blockedUntil !== 0) {
      if (now < c.blockedUntil) return { totalHits: hitsIn(c, now), timeToExpire: seconds(c.windowStart + ttl - now), isBlocked: true, timeToBlockExpire: seconds(c.blockedUntil - now) };
      // The block is over: a fresh count, this hit its first.
      c.windowStart = now;
      c.previous = 0;
      c.current = 0;
      c.blockedUntil = 0;
    }
    c.current++;
    const totalHits = hitsIn(c, now);
    const timeToExpire = seconds(c.windowStart + ttl - now);
    if (totalHits <= limit) return { totalHits, timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
    c.blockedUntil = now + blockDuration;
    return { totalHits, timeToExpire, isBlocked: true, timeToBlockExpire: seconds(blockDuration) };
  }

  private countWithoutBlock(c: WindowCounter, now: number, limit: number): ThrottlerStorageRecord {
    const timeToExpire = seconds(c.windowStart + c.ttl - now);
    const before = hitsIn(c, now);
    if (before < limit) {
      c.current++;
      return { totalHits: before + 1, timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
    }
    return { totalHits: before + 1, timeToExpire, isBlocked: true, timeToBlockExpire: Math.max(1, seconds(msUntilBelow(c, now, limit))) };
  }

  /** Drops a few finished records per call, resuming where the last call stopped. */
  private sweep(counters: Counters, now: number): void {
    const byKey = counters.byKey;
    for (let i = 0; i < this.sweepPerCall; i++) {
      counters.cursor ??= byKey.entries();
      const next = counters.cursor.next();
      if (next.done) {
        counters.cursor = undefined;
        // A whole pass per call at most: a small map is not walked over and over.
        return;
      }
      const [key, c] = next.value;
      if (now >= c.windowStart + 2 * c.ttl && now >= c.blockedUntil) byKey.delete(key);
    }
  }
}

/** Moves the window forward to the one holding `now`. */
function roll(c: WindowCounter, now: number): void {
  const elapsed = now - c.windowStart;
  if (elapsed < c.ttl) return;
  const windows = Math.floor(elapsed / c.ttl);
  c.previous = windows === 1 ? c.current : 0;
  c.current = 0;
  c.windowStart += windows * c.ttl;
}

/** Hits in the last `ttl` ms: the current window's and the overlapping share of the previous one's. */
function hitsIn(c: WindowCounter, now: number): number {
  if (c.previous === 0) return c.current;
  return c.current + Math.floor(c.previous * (1 - (now - c.windowStart) / c.ttl));
}

/** How long until the count drops below `limit`, with no further hits. */
function msUntilBelow(c: WindowCounter, now: number, limit: number): number {
  const windowEnd = c.windowStart + c.ttl;
  if (c.current < limit) {
    // The previous window's share shrinks over this window: hits fall below the limit once
    // floor(previous × (1 − f)) ≤ limit − 1 − current, f the fraction of this window gone.
    const f = 1 - (limit - c.current) / c.previous;
    return Math.max(0, c.windowStart + f * c.ttl - now) + 1;
  }
  // Only once this window is the previous one, and enough of it has slid out.
  const f = 1 - limit / c.current;
  return windowEnd - now + f * c.ttl + 1;
}
