import type pg from 'pg';
import {
  DEFAULT_ALLOWED_EXTENSIONS,
  GUARD_CATALOGUE_SQL,
  buildGuardPolicy,
  catalogueFromRows,
  type CatalogueRows,
  type GuardPolicy,
  type GuardPolicyOptions,
} from '../../libs/sql-guard/src/index.js';

export const DEFAULT_POLICY_OPTIONS: GuardPolicyOptions = {
  searchPath: ['pg_catalog', 'public'],
  allowedExtensions: DEFAULT_ALLOWED_EXTENSIONS,
  allowedFunctions: [],
  allowActivityViews: false,
};

/** The guard policy the server would build from this database's catalogue. */
export async function policyFromDatabase(client: pg.Client, options: Partial<GuardPolicyOptions> = {}): Promise<GuardPolicy> {
  const rows: Partial<CatalogueRows> = {};
  for (const [key, sql] of Object.entries(GUARD_CATALOGUE_SQL) as [keyof CatalogueRows, string][]) {
    rows[key] = (await client.query({ text: sql, rowMode: 'array' })).rows;
  }
  return buildGuardPolicy(catalogueFromRows(rows as CatalogueRows), { ...DEFAULT_POLICY_OPTIONS, ...options }).policy;
}

/** Contrib extensions the attack specs install: the dangerous ones and the allowed analytics ones. */
export const ATTACK_EXTENSIONS = [
  'xml2', 'dblink', 'pg_surgery', 'pg_visibility', 'pageinspect', 'pgstattuple', 'amcheck',
  'pg_trgm', 'fuzzystrmatch', 'cube', 'earthdistance',
];

/**
 * The review's worst case: the contrib extensions an attacker would reach for, and a
 * database whose default lexes strings differently from the guard's parser.
 */
export async function installAttackSurface(su: pg.Client): Promise<void> {
  for (const e of ATTACK_EXTENSIONS) await su.query(`CREATE EXTENSION IF NOT EXISTS ${e} CASCADE`);
  const { rows } = await su.query<{ db: string }>('SELECT current_database() AS db');
  await su.query(`ALTER DATABASE ${su.escapeIdentifier(rows[0]!.db)} SET standard_conforming_strings = off`);
}

/** Finding 3 of the review: one string to the guard, a pg_read_file call to a database lexing with standard_conforming_strings off. */
export const BACKSLASH_QUOTE_SQL = "SELECT 'a\\' || ' , pg_read_file($$/etc/hostname$$) AS p -- '";
