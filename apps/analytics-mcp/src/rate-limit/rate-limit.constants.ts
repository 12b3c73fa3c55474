/** The shared (Redis) ThrottlerStorage, or null when REDIS_URL is unset. */
export const RATE_LIMIT_STORAGE = Symbol('RATE_LIMIT_STORAGE');
