export { SqlGuardModule } from './sql-guard.module.js';
export { SqlGuardService, SQL_GUARD_OPTIONS, createSqlGuard } from './sql-guard.service.js';
export type { GuardVerdict, SqlGuardOptions } from './sql-guard.types.js';
export { DENY_FAMILIES, findDenyFamily } from './deny-list.js';
export type { DenyFamily } from './deny-list.js';
export { benchGuard } from './sql-guard.bench.js';
