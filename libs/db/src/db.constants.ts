export const DB_OPTIONS = Symbol('DB_OPTIONS');
export const PG_POOL = Symbol('PG_POOL');
/** The health probes' own one-connection pool. */
export const PG_PROBE_POOL = Symbol('PG_PROBE_POOL');
