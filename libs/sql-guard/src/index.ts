export { SqlGuardModule } from './sql-guard.module.js';
export { SqlGuardService, SQL_GUARD_OPTIONS, createSqlGuard } from './sql-guard.service.js';
export type { GuardVerdict, SqlGuardOptions } from './sql-guard.types.js';
export { DENY_FAMILIES, findDenyFamily } from './deny-list.js';
export { refusalFamily } from './refusal-family.js';
export type { DenyFamily } from './deny-list.js';
export { GUARD_CATALOGUE_SQL, buildGuardPolicy, catalogueFromRows, effectivePath } from './guard-policy.builder.js';
export type { BuiltGuardPolicy, CatalogueRows } from './guard-policy.builder.js';
export type {
  CatalogueFunction,
  CatalogueOperator,
  CatalogueRelation,
  CatalogueType,
  GuardCatalogue,
  GuardPolicy,
  GuardPolicyOptions,
} from './guard-policy.types.js';
export { DEFAULT_ALLOWED_EXTENSIONS, NEVER_EXTENSIONS, VETTED_EXTENSIONS } from './extension-vetting.js';
export { VerdictCache, DEFAULT_VERDICT_CACHE } from './verdict-cache.js';
export type { VerdictCacheOptions } from './verdict-cache.js';
export { benchGuard, benchGuardCacheHit } from './sql-guard.bench.js';
