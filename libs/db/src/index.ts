export { DbModule, createPool } from './db.module.js';
export { DbService } from './db.service.js';
export type { ReadOnlyQuery, PingResult } from './db.service.js';
export type { AbortSignalLike } from './abort-signal-like.js';
export type { ReadOnlyResult, ResultColumn } from './read-only-batch.js';
export { JsonRows } from './json-rows.js';
export type { DbModuleOptions, DbModuleAsyncOptions } from './db-options.interface.js';
export { DB_OPTIONS, PG_POOL, PG_PROBE_POOL } from './db.constants.js';
export { DbUnavailableError, QueryCancelledError, ServerBusyError, UnsafeSessionError } from './db.errors.js';
export {
  assessConnectionBudget,
  assessDeployment,
  formatConnectionBudget,
  poolLimitWarning,
  readConnectionSnapshot,
  readOwnConnectionLimit,
} from './connection-budget.js';
export type { BudgetVerdict, ConnectionSnapshot, DeploymentPlan, DeploymentVerdict, RoleConnections } from './connection-budget.js';
export { privilegeProblems, readRolePrivileges } from './role-privileges.js';
export type { ReachableRole, RolePrivileges, WritableTable } from './role-privileges.js';
