/**
 * What the role a connection logged in as could do beyond reading: the attributes of
 * every role it can reach (itself, roles it inherits from, roles it may SET ROLE to)
 * and the tables of the readable schemas any of them may write.
 */

import type { Queryable } from './connection-budget.js';

export interface ReachableRole {
  role: string;
  /** True for the login role itself (session_user); false for a role it is a member of. */
  self: boolean;
  superuser: boolean;
  bypassRls: boolean;
  createRole: boolean;
  replication: boolean;
}

export interface WritableTable {
  /** schema.table, as PostgreSQL would quote it. */
  table: string;
  /** INSERT, UPDATE, DELETE and/or TRUNCATE, in that order. */
  privileges: string[];
  /** Null when the login role holds them itself (directly, by ownership or inherited); else a role it can SET ROLE to. */
  via: string | null;
}

export interface RolePrivileges {
  role: string;
  /** The login role first, then every role it is a member of, by name. */
  roles: ReachableRole[];
  /** Up to WRITABLE_SAMPLE writable tables, the login role's own first. */
  writable: WritableTable[];
  /** How many tables in the schemas are writable in all. */
  writableCount: number;
}

export const WRITE_PRIVILEGES = ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] as const;
const WRITABLE_SAMPLE = 5;

/**
 * Predefined roles that give more than reading tables: running programs or reading and
 * writing files on the server as its OS user, signalling other roles' backends,
 * writing every table, or VACUUM/REINDEX/LOCK on every relation.
 */
export const PRIVILEGED_PREDEFINED_ROLES = [
  'pg_execute_server_program',
  'pg_write_server_files',
  'pg_read_server_files',
  'pg_signal_backend',
  'pg_write_all_data',
  'pg_maintain',
] as const;

// pg_has_role(..., 'MEMBER') counts every membership, whether its privileges are
// inherited or only reachable with SET ROLE. A superuser is a member of every role,
// which says nothing more about it: only the role itself is listed then.
const REACHABLE = `
  r.rolname = session_user
  OR (NOT (SELECT s.rolsuper FROM pg_catalog.pg_roles s WHERE s.rolname = session_user)
      AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER'))`;

const ROLES_SQL = `
  SELECT r.rolname AS role, r.rolname = session_user AS self, r.rolsuper AS superuser,
         r.rolbypassrls AS bypass_rls, r.rolcreaterole AS create_role, r.rolreplication AS replication
    FROM pg_catalog.pg_roles r
   WHERE ${REACHABLE}
   ORDER BY r.rolname <> session_user, r.rolname`;

// has_table_privilege follows ownership, inheritance and pg_write_all_data; asking it
// for every reachable role also covers privileges only reachable with SET ROLE.
const WRITABLE_SQL = `
  WITH reach AS (
    SELECT r.oid, r.rolname, r.rolname = session_user AS self
      FROM pg_catalog.pg_roles r
     WHERE ${REACHABLE}
  ), grants AS (
    SELECT format('%I.%I', n.nspname, c.relname) AS name, reach.rolname, reach.self, p.ord
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     CROSS JOIN reach
     CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS p(priv, ord)
     WHERE n.nspname = ANY ($1::text[])
       AND c.relkind IN ('r', 'p', 'v', 'f')
       AND pg_catalog.has_table_privilege(reach.oid, c.oid, p.priv)
  ), per_table AS (
    SELECT name, array_agg(DISTINCT ord) AS ords, bool_or(self) AS self,
           min(rolname) FILTER (WHERE NOT self) AS via
      FROM grants
     GROUP BY name
  )
  SELECT name AS "table", ords, self, via, count(*) OVER ()::int AS total
    FROM per_table
   ORDER BY self DESC, name
   LIMIT ${WRITABLE_SAMPLE}`;

export async function readRolePrivileges(db: Queryable, schemas: readonly string[]): Promise<RolePrivileges> {
  const roles: ReachableRole[] = (await db.query(ROLES_SQL)).rows.map((r) => ({
    role: String(r.role),
    self: r.self === true,
    superuser: r.superuser === true,
    bypassRls: r.bypass_rls === true,
    createRole: r.create_role === true,
    replication: r.replication === true,
  }));
  const self = roles.find((r) => r.self);
  if (!self) throw new Error('the login role is not visible in pg_roles');
  const rows = (await db.query(WRITABLE_SQL, [schemas, WRITE_PRIVILEGES])).rows;
  return {
    role: self.role,
    roles,
    writable: rows.map((r) => ({
      table: String(r.table),
      privileges: (r.ords as Array<number | string>)
        .map(Number)
        .sort((a, b) => a - b)
        .map((o) => WRITE_PRIVILEGES[o - 1]!),
      via: r.self === true ? null : String(r.via),
    })),
    writableCount: rows.length ? Number(rows[0].total) : 0,
  };
}

const quote = (role: string) => `"${role}"`;

/** Why this role is unfit for a read-only gateway, one phrase per problem; empty when it is fit. */
export function privilegeProblems(p: RolePrivileges): string[] {
  const problems: string[] = [];
  for (const r of p.roles) {
    const who = r.self ? 'it' : `it can SET ROLE ${quote(r.role)}, which`;
    const attributes = [
      r.superuser && 'SUPERUSER',
      r.bypassRls && 'BYPASSRLS',
      r.createRole && 'CREATEROLE',
      r.replication && 'REPLICATION',
    ].filter((a): a is string => typeof a === 'string');
    if (attributes.length) problems.push(`${who} has ${attributes.join(', ')}`);
    if (!r.self && (PRIVILEGED_PREDEFINED_ROLES as readonly string[]).includes(r.role)) {
      problems.push(`it is a member of ${r.role}`);
    }
  }
  if (p.writableCount > 0) {
    const sample = p.writable
      .map((t) => `${t.table} (${t.privileges.join(', ')}${t.via ? ` via SET ROLE ${quote(t.via)}` : ''})`)
      .join(', ');
    const more = p.writableCount > p.writable.length ? ` and ${p.writableCount - p.writable.length} more` : '';
    problems.push(`it can write ${p.writableCount} table(s) in MCP_READABLE_SCHEMAS: ${sample}${more}`);
  }
  return problems;
}
