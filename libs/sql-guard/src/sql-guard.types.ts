import type { VerdictCacheOptions } from './verdict-cache.js';

/** The guard's answer: either the statement may run, or why it may not. */
export type GuardVerdict = { ok: true } | { ok: false; reason: string };

export interface SqlGuardOptions {
  /** Longest accepted statement, in UTF-8 bytes. */
  maxBytes?: number;
  /** Statements longer than this (UTF-8 bytes) are parsed on a worker thread by checkAsync(). */
  inlineMaxBytes?: number;
  /** Bounds of checkAsync()'s verdict cache (DEFAULT_VERDICT_CACHE otherwise); maxEntries 0 turns it off. */
  verdictCache?: Partial<VerdictCacheOptions>;
}
