import { createHash } from 'node:crypto';
import { findDenyFamily } from './deny-list.js';
import {
  ACTIVITY_EXTENSION,
  ACTIVITY_FUNCTIONS,
  ACTIVITY_RELATIONS,
  NEVER_EXTENSIONS,
  SAFE_VOLATILE_BUILTINS,
  VETTED_EXTENSIONS,
} from './extension-vetting.js';
import type { CatalogueFunction, GuardCatalogue, GuardPolicy, GuardPolicyOptions } from './guard-policy.types.js';

/**
 * The catalogue reads the policy is built from. The app runs them (libs/sql-guard
 * never touches a database) and hands the rows to buildGuardPolicy().
 */
export const GUARD_CATALOGUE_SQL = {
  functions: `
SELECT p.oid::int8, n.nspname, p.proname, p.provolatile, p.prokind, p.pronargs, e.extname
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  LEFT JOIN pg_catalog.pg_depend d
         ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid`,
  operators: `
SELECT n.nspname, o.oprname, o.oprcode::oid::int8
  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace`,
  // Only types whose input function or a cast into them lives outside pg_catalog.
  types: `
SELECT n.nspname, t.typname,
       array_remove(ARRAY[t.typinput::oid] || ARRAY(SELECT c.castfunc FROM pg_catalog.pg_cast c WHERE c.casttarget = t.oid), 0::oid)::int8[]
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE (SELECT pronamespace FROM pg_catalog.pg_proc WHERE oid = t.typinput) <> 'pg_catalog'::regnamespace
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_proc f ON f.oid = c.castfunc
                WHERE c.casttarget = t.oid AND f.pronamespace <> 'pg_catalog'::regnamespace)`,
  relations: `
SELECT n.nspname, c.relname, e.extname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid`,
  extensions: 'SELECT extname FROM pg_catalog.pg_extension',
} as const;

export type CatalogueRows = Record<keyof typeof GUARD_CATALOGUE_SQL, unknown[][]>;

/** The rows of GUARD_CATALOGUE_SQL's queries (arrays in select-list order) as a catalogue. */
export function catalogueFromRows(rows: CatalogueRows): GuardCatalogue {
  const str = (v: unknown) => v as string;
  const optional = (v: unknown) => (v as string | null) ?? null;
  return {
    functions: rows.functions.map(([oid, schema, name, volatility, kind, nargs, extension]) => ({
      oid: Number(oid),
      schema: str(schema),
      name: str(name),
      volatility: volatility as CatalogueFunction['volatility'],
      kind: kind as CatalogueFunction['kind'],
      nargs: Number(nargs),
      extension: optional(extension),
    })),
    operators: rows.operators.map(([schema, name, fn]) => ({ schema: str(schema), name: str(name), functionOid: Number(fn) })),
    types: rows.types.map(([schema, name, fns]) => ({
      schema: str(schema),
      name: str(name),
      functionOids: ((fns as unknown[] | null) ?? []).map(Number),
    })),
    relations: rows.relations.map(([schema, name, extension]) => ({ schema: str(schema), name: str(name), extension: optional(extension) })),
    extensions: rows.extensions.map(([name]) => str(name)),
  };
}

const BUILTIN_SCHEMAS = new Set(['pg_catalog', 'information_schema']);
const SAFE_VOLATILE = new Set(SAFE_VOLATILE_BUILTINS);
const ACTIVITY = new Set(ACTIVITY_FUNCTIONS);
const ACTIVITY_HINT = "it shows other sessions' SQL text; set MCP_ALLOW_ACTIVITY_VIEWS=true on a DBA deployment";

export interface BuiltGuardPolicy {
  policy: GuardPolicy;
  /** Things an operator should know about the options (unknown names, unvetted extensions). */
  warnings: string[];
}

/** Decides, once per catalogue, every name a statement could call or read. */
export function buildGuardPolicy(catalogue: GuardCatalogue, options: GuardPolicyOptions): BuiltGuardPolicy {
  const warnings: string[] = [];
  const installed = new Set(catalogue.extensions);
  const allowedExtensions = new Set(options.allowedExtensions);
  for (const ext of allowedExtensions) {
    if (NEVER_EXTENSIONS[ext]) throw new Error(`extension ${ext} can never be allowed: ${NEVER_EXTENSIONS[ext]}`);
    if (installed.has(ext) && !VETTED_EXTENSIONS[ext]) {
      warnings.push(`extension ${ext} has no vetted list in this server: its IMMUTABLE/STABLE functions are allowed, its VOLATILE ones are not`);
    }
  }
  const allowedFunctions = new Set(options.allowedFunctions);
  const known = new Set(catalogue.functions.map((f) => `${f.schema}.${f.name}`));
  for (const f of allowedFunctions) if (!known.has(f)) warnings.push(`MCP_ALLOWED_FUNCTIONS names ${f}, which does not exist in this database`);

  const reasonByOid = new Map<number, string | null>();
  for (const f of catalogue.functions) reasonByOid.set(f.oid, functionVerdict(f, options, allowedExtensions, allowedFunctions));

  const onPath = new Set(effectivePath(options.searchPath));
  const functions = resolve(
    catalogue.functions.map((f) => ({ schema: f.schema, name: f.name, reason: reasonByOid.get(f.oid)! })),
    onPath,
  );
  const columnNotation = new Map<string, string>();
  for (const f of catalogue.functions) {
    const reason = reasonByOid.get(f.oid)!;
    if (reason === null || f.nargs !== 1) continue;
    columnNotation.set(`${f.schema}.${f.name}`, reason);
    if (onPath.has(f.schema)) columnNotation.set(f.name, reason);
  }
  // Operators dispatch on operand types, so an installed extension's operators only
  // ever run on its own types' values: they are judged by their function's safety
  // (never-allowed extension, VOLATILE, deny family), not by MCP_ALLOWED_EXTENSIONS,
  // or citext's or PostGIS's `=` would refuse `=` everywhere.
  const byOid = new Map(catalogue.functions.map((f) => [f.oid, f]));
  const operators = resolve(
    catalogue.operators
      .filter((o) => o.functionOid !== 0)
      .map((o) => {
        const fn = byOid.get(o.functionOid);
        const fnReason = reasonByOid.get(o.functionOid);
        let reason: string | null;
        if (!fn || fnReason === undefined) reason = 'its implementing function is unknown';
        else if (fnReason === null || isHarmlessExtensionMember(fn)) reason = null;
        else reason = `it runs ${fn.schema}.${fn.name}, which is not allowed (${fnReason})`;
        return { schema: o.schema, name: o.name, reason };
      }),
    onPath,
  );

  const deniedTypes = new Map<string, string>();
  for (const t of catalogue.types) {
    for (const oid of t.functionOids) {
      const fn = byOid.get(oid);
      const reason = reasonByOid.get(oid);
      // Cast functions of an ordinary extension only run on values of its own types,
      // which a statement can only get from a table column; user-defined functions
      // and never-allowed extensions are refused wherever they hide.
      if (!fn || reason === null || reason === undefined || isHarmlessExtensionMember(fn)) continue;
      const why = `casting to ${t.schema}.${t.name} runs ${fn.schema}.${fn.name}, which is not allowed (${reason})`;
      deniedTypes.set(`${t.schema}.${t.name}`, why);
      if (onPath.has(t.schema)) deniedTypes.set(t.name, why);
      break;
    }
  }

  const deniedRelations = new Map<string, string>();
  const denyRelation = (schema: string, name: string, reason: string) => {
    deniedRelations.set(`${schema}.${name}`, reason);
    if (onPath.has(schema)) deniedRelations.set(name, reason);
  };
  if (!options.allowActivityViews) for (const r of ACTIVITY_RELATIONS) denyRelation('pg_catalog', r, ACTIVITY_HINT);
  for (const r of catalogue.relations) {
    if (r.extension && NEVER_EXTENSIONS[r.extension]) {
      denyRelation(r.schema, r.name, `it belongs to extension ${r.extension}, which is never allowed (${NEVER_EXTENSIONS[r.extension]})`);
    } else if (r.extension === ACTIVITY_EXTENSION && !options.allowActivityViews) {
      denyRelation(r.schema, r.name, ACTIVITY_HINT);
    }
  }

  const version = contentVersion(options, { functions, columnNotation, operators, deniedTypes, deniedRelations });
  return { policy: { version, functions, columnNotation, operators, deniedTypes, deniedRelations }, warnings };
}

/**
 * Verdicts by `schema.name` and, for schemas on the path, by bare name. A name is
 * allowed only if every object it could resolve to is: PostgreSQL picks among all
 * overloads on the path by argument types, which the guard cannot see.
 */
function resolve(
  entries: { schema: string; name: string; reason: string | null }[],
  onPath: ReadonlySet<string>,
): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const schemasOf = new Map<string, Set<string>>();
  const firstDenial = new Map<string, [string, string]>();
  for (const { schema, name, reason } of entries) {
    const qualified = `${schema}.${name}`;
    if (out.get(qualified) !== undefined && reason === null) continue;
    if (!out.get(qualified)) out.set(qualified, reason);
    if (!onPath.has(schema)) continue;
    let schemas = schemasOf.get(name);
    if (!schemas) schemasOf.set(name, (schemas = new Set()));
    schemas.add(schema);
    if (reason !== null && !firstDenial.has(name)) firstDenial.set(name, [qualified, reason]);
  }
  for (const [name, schemas] of schemasOf) {
    const denial = firstDenial.get(name);
    if (!denial) out.set(name, null);
    else out.set(name, schemas.size > 1 ? `it can resolve to ${denial[0]}: ${denial[1]}` : denial[1]);
  }
  return out;
}

/**
 * A member of an installed, not never-allowed extension that is not VOLATILE and
 * in no deny family: safe to run where only a value of its extension's types can
 * reach it (operators and casts), even if the extension's functions may not be
 * called by name.
 */
function isHarmlessExtensionMember(f: CatalogueFunction): boolean {
  return !!f.extension && !NEVER_EXTENSIONS[f.extension] && f.volatility !== 'v' && !findDenyFamily(f.name);
}

/** pg_catalog is searched first unless the path names it somewhere else. */
export function effectivePath(searchPath: readonly string[]): string[] {
  const path = searchPath.filter((s) => s !== '$user' && s !== 'pg_temp');
  return path.includes('pg_catalog') ? path : ['pg_catalog', ...path];
}

function functionVerdict(
  f: CatalogueFunction,
  options: GuardPolicyOptions,
  allowedExtensions: ReadonlySet<string>,
  allowedFunctions: ReadonlySet<string>,
): string | null {
  const qualified = `${f.schema}.${f.name}`;
  const family = findDenyFamily(f.name);
  if (family) return family.reason;
  if (f.kind === 'p') return 'it is a procedure';
  if (allowedFunctions.has(qualified)) return null;
  const volatileHint = `it is VOLATILE (it may change state); if it is safe, add ${qualified} to MCP_ALLOWED_FUNCTIONS`;
  if (f.extension) {
    const never = NEVER_EXTENSIONS[f.extension];
    if (never) return `it belongs to extension ${f.extension}, which is never allowed: ${never}`;
    if (f.extension === ACTIVITY_EXTENSION) return options.allowActivityViews ? null : ACTIVITY_HINT;
    if (!allowedExtensions.has(f.extension)) {
      return `it belongs to extension ${f.extension}; add ${f.extension} to MCP_ALLOWED_EXTENSIONS to allow its functions`;
    }
    const vetted = VETTED_EXTENSIONS[f.extension];
    const denied = vetted?.deny?.[f.name];
    if (denied) return denied;
    if (f.volatility === 'v' && !vetted?.volatile?.includes(f.name)) return volatileHint;
    return null;
  }
  if (BUILTIN_SCHEMAS.has(f.schema)) {
    if (ACTIVITY.has(f.name) && !options.allowActivityViews) return ACTIVITY_HINT;
    if (f.volatility === 'v' && !SAFE_VOLATILE.has(f.name)) return volatileHint;
    return null;
  }
  return `it is a user-defined function; add ${qualified} to MCP_ALLOWED_FUNCTIONS to allow it`;
}

/**
 * A digest of everything a verdict can depend on: the options and every name → verdict
 * entry, in a fixed order (the catalogue reads have none). Verdicts are cached and the
 * worker thread keeps its policy by this version, so any change in what is allowed or
 * why (a function renamed, re-owned by an extension, …) must change it, and a refresh
 * that reads the same catalogue must not.
 */
function contentVersion(options: GuardPolicyOptions, maps: Record<string, ReadonlyMap<string, string | null>>): string {
  const hash = createHash('sha256').update(JSON.stringify(options));
  for (const [name, map] of Object.entries(maps)) {
    hash.update(`\u0000${name}\u0000`);
    for (const key of [...map.keys()].sort()) {
      const verdict = map.get(key);
      hash.update(`${key}\u0001${verdict === null || verdict === undefined ? '\u0003' : verdict}\u0002`);
    }
  }
  return hash.digest('hex').slice(0, 32);
}
