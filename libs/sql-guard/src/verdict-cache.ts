import type { GuardVerdict } from './sql-guard.types.js';

export interface VerdictCacheOptions {
  /** Verdicts kept at most; 0 turns the cache off. */
  maxEntries: number;
  /** Longer statements (UTF-16 code units) are never cached. */
  maxTextLength: number;
  /** Sum of the cached statements' lengths at most (UTF-16 code units). */
  maxTotalLength: number;
}

export const DEFAULT_VERDICT_CACHE: VerdictCacheOptions = {
  maxEntries: 1_000,
  maxTextLength: 16_384,
  maxTotalLength: 4 * 1024 * 1024,
};

/**
 * Least-recently-used guard verdicts by exact SQL text, for one policy version at a time:
 * a verdict is a pure function of the text and the policy (the policy's version is a
 * digest of its content), so the same statement from an agent that repeats itself is
 * parsed and walked once. A new version empties the cache. Bounded by entries and by the
 * total length of the texts kept; long texts are never kept.
 */
export class VerdictCache {
  private readonly entries = new Map<string, GuardVerdict>();
  private version: string | undefined;
  private totalLength = 0;

  constructor(private readonly options: VerdictCacheOptions = DEFAULT_VERDICT_CACHE) {}

  get size(): number {
    return this.entries.size;
  }

  /** Sum of the lengths of the texts held. */
  get heldLength(): number {
    return this.totalLength;
  }

  get(sql: string, version: string): GuardVerdict | undefined {
    if (version !== this.version) return undefined;
    const verdict = this.entries.get(sql);
    if (verdict === undefined) return undefined;
    // Most recently used goes last; eviction takes from the front.
    this.entries.delete(sql);
    this.entries.set(sql, verdict);
    return verdict;
  }

  set(sql: string, version: string, verdict: GuardVerdict): void {
    const { maxEntries, maxTextLength, maxTotalLength } = this.options;
    if (maxEntries <= 0 || sql.length > maxTextLength || sql.length > maxTotalLength) return;
    if (version !== this.version) {
      this.clear();
      this.version = version;
    }
    const held = this.entries.get(sql);
    if (held !== undefined) {
      this.entries.delete(sql);
      this.totalLength -= sql.length;
    }
    this.entries.set(sql, Object.freeze(verdict));
    this.totalLength += sql.length;
    while (this.entries.size > maxEntries || this.totalLength > maxTotalLength) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.totalLength -= oldest.length;
    }
  }

  clear(): void {
    this.entries.clear();
    this.totalLength = 0;
    this.version = undefined;
  }
}
