/**
 * Limits failed authentications per client address. The guard asks `blockedFor` before
 * it looks at the token, so an address over its budget costs no verification at all.
 */
export interface AuthFailureLimiter {
  /** Seconds until `ip` may try again, 0 when it may now. Answered from memory. */
  blockedFor(ip: string): number;
  /** Counts one failure; resolves with the seconds to wait when it used up the budget, else 0. */
  recordFailure(ip: string): Promise<number>;
}
