export const DB_OPTIONS = Symbol('DB_OPTIONS');
export const PG_POOL = Symbol('PG_POOL');
