/**
 * What the guard may let a statement touch, decided once from the live catalogue
 * (guard-policy.builder.ts) and looked up per name during the tree walk. Keys are
 * names exactly as PostgreSQL's parser leaves them: `name` for an unqualified
 * reference (resolved over the pinned search_path) and `schema.name` for a
 * qualified one. A value of null means allowed; a string is the refusal reason.
 */
export interface GuardPolicy {
  /** Changes whenever the catalogue or the options behind the policy change. */
  readonly version: string;
  readonly functions: ReadonlyMap<string, string | null>;
  /** Denied functions of one argument, which `t.f` (column notation) would call. */
  readonly columnNotation: ReadonlyMap<string, string>;
  readonly operators: ReadonlyMap<string, string | null>;
  /** Types whose input or cast functions are not allowed. */
  readonly deniedTypes: ReadonlyMap<string, string>;
  /** Relations a caller may not read through this server (other sessions' SQL). */
  readonly deniedRelations: ReadonlyMap<string, string>;
}

/** One pg_proc row, as GUARD_CATALOGUE_SQL.functions returns it. */
export interface CatalogueFunction {
  oid: number;
  schema: string;
  name: string;
  /** provolatile: 'i' immutable, 's' stable, 'v' volatile. */
  volatility: 'i' | 's' | 'v';
  /** prokind: 'f' function, 'a' aggregate, 'w' window, 'p' procedure. */
  kind: 'f' | 'a' | 'w' | 'p';
  nargs: number;
  /** The extension the function belongs to, if any. */
  extension: string | null;
}

export interface CatalogueOperator {
  schema: string;
  name: string;
  /** The implementing function (oprcode); 0 for a shell operator. */
  functionOid: number;
}

export interface CatalogueType {
  schema: string;
  name: string;
  /** Functions that run when a value is cast to this type: its input function and cast functions. */
  functionOids: number[];
}

export interface CatalogueRelation {
  schema: string;
  name: string;
  extension: string | null;
}

export interface GuardCatalogue {
  functions: CatalogueFunction[];
  operators: CatalogueOperator[];
  types: CatalogueType[];
  relations: CatalogueRelation[];
  /** Installed extensions. */
  extensions: string[];
}

export interface GuardPolicyOptions {
  /** Schemas searched for unqualified names, as pinned on every transaction. */
  searchPath: readonly string[];
  /** Extensions whose members may be called (vetted lists apply where the server has one). */
  allowedExtensions: readonly string[];
  /** `schema.name` of site-specific functions to allow whatever their volatility. */
  allowedFunctions: readonly string[];
  /** Let callers read other sessions' SQL text (pg_stat_activity, pg_stat_statements). */
  allowActivityViews: boolean;
}
