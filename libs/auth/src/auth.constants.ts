export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');
/** Optional: an AuthFailureLimiter consulted before any token is checked. */
export const AUTH_FAILURE_LIMITER = Symbol('AUTH_FAILURE_LIMITER');
