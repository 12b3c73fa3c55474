import type { ThrottlerStorage } from '@nestjs/throttler';

export interface IncrementCost {
  /** Hits already in the caller's window when each measured increment() ran. */
  hits: number;
  /** Mean cost of one increment() (awaited), in microseconds. */
  microseconds: number;
}

const WINDOW_MS = 60_000;
const MEASURED = 2_000;

/**
 * The cost of one increment() with `hits` hits already in the window (the limit set high
 * enough never to block). Small fills spread the measured calls over many keys, so every
 * call sees about `hits` hits; large fills take them on one key (a few percent of drift).
 */
export async function benchThrottlerIncrement(storage: ThrottlerStorage, hits: number): Promise<IncrementCost> {
  const keys = Array.from({ length: hits < MEASURED ? MEASURED : 1 }, (_, i) => `bench:caller:k${hits}-${i}`);
  const limit = Number.MAX_SAFE_INTEGER;
  for (const key of keys) for (let i = 0; i < hits; i++) await storage.increment(key, WINDOW_MS, limit, WINDOW_MS, 'bench');
  const t0 = performance.now();
  for (let i = 0; i < MEASURED; i++) await storage.increment(keys[i % keys.length]!, WINDOW_MS, limit, WINDOW_MS, 'bench');
  return { hits, microseconds: ((performance.now() - t0) * 1000) / MEASURED };
}
