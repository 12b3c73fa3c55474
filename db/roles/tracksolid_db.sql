-- tracksolid_db roles: tracksolid_owner (shared owner + migrator login for the three
-- ingestion apps) and dashboard_app (read-only login for the dashboard backend), and
-- the move of the app objects from postgres to tracksolid_owner.
--
-- Run as the postgres superuser, connected to the tracksolid database, NOT inside a
-- single transaction (no psql -1: the ownership move commits object by object):
--
--   psql "postgresql://postgres@HOST:5432/tracksolid_db" -X -v ON_ERROR_STOP=1 \
--        -v owner_pw="$(cat ~/.tracksolid_owner.pw)" \
--        -v dash_pw="$(cat ~/.dashboard_app.pw)" \
--        -f db/roles/tracksolid_db.sql
--
-- Idempotent and safe while the apps still connect as postgres (a superuser ignores
-- ownership). Ownership moves only objects in reporting, tracksolid, tickets and fuel
-- that postgres owns; objects of any other role (reporting_refresher's v_trips, ...)
-- are left alone and listed. Works with and without TimescaleDB. See README.md.

\set ON_ERROR_STOP on
\set QUIET on

\if :{?owner_pw}
\else
  \warn 'tracksolid_db.sql: pass the tracksolid_owner password with -v owner_pw=...'
  DO $$ BEGIN RAISE EXCEPTION 'psql variable owner_pw is not set'; END $$;
\endif
\if :{?dash_pw}
\else
  \warn 'tracksolid_db.sql: pass the dashboard_app password with -v dash_pw=...'
  DO $$ BEGIN RAISE EXCEPTION 'psql variable dash_pw is not set'; END $$;
\endif

DO $pre$
DECLARE
  missing text;
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'tracksolid_db.sql must run as a superuser; connected as %', current_user;
  END IF;
  IF to_regrole('postgres') IS NULL THEN
    RAISE EXCEPTION 'role postgres does not exist; this script moves objects away from it';
  END IF;
  SELECT string_agg(s, ', ') INTO missing
    FROM unnest(ARRAY['reporting', 'tracksolid', 'tickets', 'fuel']) AS s
   WHERE to_regnamespace(s) IS NULL;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'database % has no schema(s) %; connect to the tracksolid database', current_database(), missing;
  END IF;
END
$pre$;

DO $roles$
BEGIN
  IF to_regrole('tracksolid_owner') IS NULL THEN
    CREATE ROLE tracksolid_owner NOLOGIN;
  END IF;
  IF to_regrole('dashboard_app') IS NULL THEN
    CREATE ROLE dashboard_app NOLOGIN;
  END IF;
END
$roles$;

-- Keep the passwords out of the server log even when log_statement is 'ddl' or 'all'.
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET password_encryption = 'scram-sha-256';
SELECT :'owner_pw' = '' AS owner_pw_empty, :'dash_pw' = '' AS dash_pw_empty \gset
\if :owner_pw_empty
  DO $$ BEGIN RAISE EXCEPTION 'psql variable owner_pw is empty'; END $$;
\endif
\if :dash_pw_empty
  DO $$ BEGIN RAISE EXCEPTION 'psql variable dash_pw is empty'; END $$;
\endif
ALTER ROLE tracksolid_owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  CONNECTION LIMIT 30 PASSWORD :'owner_pw';
ALTER ROLE dashboard_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  CONNECTION LIMIT 8 PASSWORD :'dash_pw';
RESET log_statement;
RESET log_min_error_statement;

-- Migrations (index builds on big tables) may run long, so statement_timeout is
-- pinned to 0 here rather than inherited from a server or database default; a stuck
-- lock or an abandoned transaction is what must not hold up ingestion.
ALTER ROLE tracksolid_owner SET statement_timeout = 0;
ALTER ROLE tracksolid_owner SET lock_timeout = '10s';
ALTER ROLE tracksolid_owner SET idle_in_transaction_session_timeout = '5min';
ALTER ROLE tracksolid_owner SET idle_session_timeout = '10min';

ALTER ROLE dashboard_app SET statement_timeout = '30s';
ALTER ROLE dashboard_app SET lock_timeout = '5s';
ALTER ROLE dashboard_app SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE dashboard_app SET idle_session_timeout = '5min';

DO $connect$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO tracksolid_owner, dashboard_app', current_database());
END
$connect$;

GRANT USAGE, CREATE ON SCHEMA reporting, tracksolid, tickets, fuel TO tracksolid_owner;

-- ALTER ... OWNER takes an ACCESS EXCLUSIVE lock. Give up quickly instead of queueing
-- behind a long query while ingestion piles up behind us; a rerun resumes.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DO $ownership$
DECLARE
  app_schemas constant text[] := ARRAY['reporting', 'tracksolid', 'tickets', 'fuel'];
  -- Never moved, whoever owns them: the refresher rebuilds v_trips as itself.
  keep_owner constant text[] := ARRAY['reporting.v_trips'];
  from_role constant regrole := 'postgres'::regrole;
  caggs text[] := '{}';
  obj record;
  kind text;
  moved integer := 0;
BEGIN
  -- TimescaleDB catalogs are only read when the extension is installed, so this block
  -- compiles and runs on a plain PostgreSQL. A continuous aggregate shows up in
  -- pg_class as a plain view; only ALTER MATERIALIZED VIEW makes TimescaleDB re-own
  -- its hidden materialization hypertable too. Hypertables need nothing special:
  -- ALTER TABLE on a hypertable is propagated to its chunks by the extension.
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    EXECUTE $q$
      SELECT coalesce(array_agg(format('%I.%I', view_schema, view_name)), '{}')
        FROM timescaledb_information.continuous_aggregates
    $q$ INTO caggs;
    RAISE NOTICE 'TimescaleDB present: % continuous aggregate(s) found', cardinality(caggs);
  END IF;

  FOR obj IN
    SELECT format('%I.%I', n.nspname, c.relname) AS ident, c.relkind
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY (app_schemas)
       AND c.relowner = from_role
       AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       -- serial/identity sequences follow their table and cannot be re-owned alone
       AND NOT (c.relkind = 'S' AND EXISTS (
             SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
       AND NOT EXISTS (
             SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY n.nspname, c.relname
  LOOP
    CONTINUE WHEN obj.ident = ANY (keep_owner);
    kind := CASE
      WHEN obj.ident = ANY (caggs) THEN 'MATERIALIZED VIEW'
      WHEN obj.relkind = 'm' THEN 'MATERIALIZED VIEW'
      WHEN obj.relkind = 'v' THEN 'VIEW'
      WHEN obj.relkind = 'S' THEN 'SEQUENCE'
      WHEN obj.relkind = 'f' THEN 'FOREIGN TABLE'
      ELSE 'TABLE'
    END;
    EXECUTE format('ALTER %s %s OWNER TO tracksolid_owner', kind, obj.ident);
    moved := moved + 1;
    COMMIT;
  END LOOP;

  FOR obj IN
    SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS ident,
           p.prokind
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = ANY (app_schemas)
       AND p.proowner = from_role
       AND NOT EXISTS (
             SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ORDER BY 1
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO tracksolid_owner',
                   CASE obj.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END, obj.ident);
    moved := moved + 1;
    COMMIT;
  END LOOP;

  -- Enums, domains, ranges and free-standing composite types: migrations ALTER them
  -- (ALTER TYPE ... ADD VALUE), which needs ownership. Row types follow their table.
  FOR obj IN
    SELECT format('%I.%I', n.nspname, t.typname) AS ident, t.typtype
      FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
      LEFT JOIN pg_class c ON c.oid = t.typrelid
     WHERE n.nspname = ANY (app_schemas)
       AND t.typowner = from_role
       AND t.typtype IN ('e', 'd', 'r', 'c')
       AND (t.typtype <> 'c' OR c.relkind = 'c')
       AND NOT EXISTS (
             SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
     ORDER BY 1
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO tracksolid_owner',
                   CASE obj.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, obj.ident);
    moved := moved + 1;
    COMMIT;
  END LOOP;

  RAISE NOTICE 'ownership: % object(s) moved from postgres to tracksolid_owner', moved;
END
$ownership$;

RESET lock_timeout;
RESET statement_timeout;

-- Report what is deliberately not owned by tracksolid_owner, so nobody is surprised
-- when a migration cannot ALTER it.
DO $report$
DECLARE
  obj record;
BEGIN
  FOR obj IN
    SELECT format('%I.%I', n.nspname, c.relname) AS ident, pg_get_userbyid(c.relowner) AS owner
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('reporting', 'tracksolid', 'tickets', 'fuel')
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND c.relowner <> 'tracksolid_owner'::regrole
     ORDER BY 1
  LOOP
    RAISE NOTICE 'left as is: % (owner %)', obj.ident, obj.owner;
  END LOOP;
  IF to_regclass('reporting.v_trips') IS NULL THEN
    RAISE NOTICE 'reporting.v_trips does not exist; nothing to keep with reporting_refresher';
  END IF;
END
$report$;

GRANT USAGE ON SCHEMA reporting, tracksolid, tickets, fuel TO dashboard_app;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting, tracksolid, tickets, fuel TO dashboard_app;

-- Tables created from now on, by the migrators or by an admin, stay readable.
ALTER DEFAULT PRIVILEGES FOR ROLE tracksolid_owner IN SCHEMA reporting, tracksolid, tickets, fuel
  GRANT SELECT ON TABLES TO dashboard_app;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA reporting, tracksolid, tickets, fuel
  GRANT SELECT ON TABLES TO dashboard_app;

SELECT to_regrole('analytics_ro') IS NOT NULL AS analytics_ro_exists \gset
\if :analytics_ro_exists
  ALTER DEFAULT PRIVILEGES FOR ROLE tracksolid_owner IN SCHEMA reporting, tracksolid, tickets, fuel
    GRANT SELECT ON TABLES TO analytics_ro;
\else
  \echo 'tracksolid_db.sql: analytics_ro does not exist yet; analytics_ro.sql adds its default privileges for tracksolid_owner.'
\endif

\echo 'tracksolid_db.sql: done.'
