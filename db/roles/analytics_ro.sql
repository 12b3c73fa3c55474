-- analytics_ro: the read-only login the analytics MCP server connects as.
--
-- Run as the postgres superuser, connected to the tracksolid database:
--
--   psql "postgresql://postgres@HOST:5432/tracksolid_db" -X -v ON_ERROR_STOP=1 \
--        -v analytics_ro_pw="$(cat ~/.analytics_ro.pw)" \
--        -f db/roles/analytics_ro.sql
--
-- Idempotent: run it as often as you like. Each run re-applies the password (the
-- stored SCRAM verifier gets a fresh salt; the password itself is unchanged) and
-- otherwise changes nothing once applied. Safe while apps still connect as postgres.
-- Run it after tracksolid_db.sql, and again after creating any role that connects to
-- this database or installing or updating an extension: it takes a few functions
-- (advisory locks, backend signals, large objects) from PUBLIC and grants them back
-- to the roles that exist when it runs, every one but analytics_ro.
-- Details and the cutover plan: db/roles/README.md.

\set ON_ERROR_STOP on
\set QUIET on

\if :{?analytics_ro_pw}
\else
  \warn 'analytics_ro.sql: pass the password with -v analytics_ro_pw=...'
  DO $$ BEGIN RAISE EXCEPTION 'psql variable analytics_ro_pw is not set'; END $$;
\endif

DO $pre$
DECLARE
  missing text;
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'analytics_ro.sql must run as a superuser; connected as %', current_user;
  END IF;
  IF to_regrole('postgres') IS NULL THEN
    RAISE EXCEPTION 'role postgres does not exist; its future objects are what the default privileges cover';
  END IF;
  SELECT string_agg(s, ', ') INTO missing
    FROM unnest(ARRAY['reporting', 'tracksolid', 'tickets', 'fuel']) AS s
   WHERE to_regnamespace(s) IS NULL;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'database % has no schema(s) %; connect to the tracksolid database', current_database(), missing;
  END IF;
END
$pre$;

DO $role$
BEGIN
  IF to_regrole('analytics_ro') IS NULL THEN
    CREATE ROLE analytics_ro NOLOGIN;
  END IF;
END
$role$;

-- Keep the password out of the server log even when log_statement is 'ddl' or 'all'.
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET password_encryption = 'scram-sha-256';
SELECT :'analytics_ro_pw' = '' AS analytics_ro_pw_empty \gset
\if :analytics_ro_pw_empty
  DO $$ BEGIN RAISE EXCEPTION 'psql variable analytics_ro_pw is empty'; END $$;
\endif
ALTER ROLE analytics_ro WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  CONNECTION LIMIT 10 PASSWORD :'analytics_ro_pw';
RESET log_statement;
RESET log_min_error_statement;

-- The MCP pool defaults to 8 (MCP_POOL_MAX); the other 2 are for a human with psql.
ALTER ROLE analytics_ro SET default_transaction_read_only = on;
ALTER ROLE analytics_ro SET statement_timeout = '30s';
ALTER ROLE analytics_ro SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE analytics_ro SET idle_session_timeout = '5min';

DO $connect$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO analytics_ro', current_database());
END
$connect$;

GRANT USAGE ON SCHEMA reporting, tracksolid, tickets, fuel TO analytics_ro;
-- ALL TABLES also covers views, materialized views and foreign tables.
GRANT SELECT ON ALL TABLES IN SCHEMA reporting, tracksolid, tickets, fuel TO analytics_ro;

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA reporting, tracksolid, tickets, fuel
  GRANT SELECT ON TABLES TO analytics_ro;

SELECT to_regrole('tracksolid_owner') IS NOT NULL AS tracksolid_owner_exists \gset
\if :tracksolid_owner_exists
  ALTER DEFAULT PRIVILEGES FOR ROLE tracksolid_owner IN SCHEMA reporting, tracksolid, tickets, fuel
    GRANT SELECT ON TABLES TO analytics_ro;
\else
  \echo 'analytics_ro.sql: tracksolid_owner does not exist yet; tracksolid_db.sql adds its default privileges for analytics_ro.'
\endif

-- Functions analytics_ro must not run, so that the role is safe without the MCP's
-- SQL guard as well (a psql session on a leaked DSN, a gap in the guard). Driven by
-- the catalogue, so it also covers extensions installed since the last run: rerun
-- this script after every CREATE EXTENSION or ALTER EXTENSION ... UPDATE, and after
-- creating a role that connects to this database. What is revoked from PUBLIC, what
-- is only kept from analytics_ro, and what is left alone (and why): README.md,
-- "Functions analytics_ro cannot run".
DO $functions$
DECLARE
  -- Every member function of these extensions runs SQL text or opens connections
  -- (xml2's xpath_table, dblink, tablefunc's crosstab/connectby) or reads or changes
  -- storage beneath SQL (pages, buffers, visibility map, WAL, heap surgery). Revoked
  -- from PUBLIC outright: an app that needs one gets an explicit GRANT to its own
  -- role, which reruns leave alone.
  sql_or_storage_extensions constant text[] := ARRAY[
    'xml2', 'dblink', 'tablefunc',
    'pageinspect', 'pg_surgery', 'pg_visibility', 'pgstattuple', 'amcheck', 'pg_buffercache',
    'pg_prewarm', 'pg_freespacemap', 'pgrowlocks', 'pg_walinspect', 'pg_logicalinspect', 'adminpack'];
  -- Single members of extensions that are otherwise fine to use: extension.function.
  extension_members constant text[] := ARRAY['pg_stat_statements.pg_stat_statements_reset'];
  -- Built-ins that run SQL text (or whole-table queries) handed to them as a string.
  sql_text_builtins constant text[] := ARRAY[
    'query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema',
    'cursor_to_xml', 'cursor_to_xmlschema',
    'table_to_xml', 'table_to_xmlschema', 'table_to_xml_and_xmlschema',
    'schema_to_xml', 'schema_to_xmlschema', 'schema_to_xml_and_xmlschema',
    'database_to_xml', 'database_to_xmlschema', 'database_to_xml_and_xmlschema',
    'ts_stat'];
  -- Only this overload of ts_rewrite runs a query; the three-tsquery one does not.
  sql_text_signatures constant text[] := ARRAY['ts_rewrite(tsquery,text)'];
  -- Built-ins the other apps of this database may well use (migration and job locks,
  -- cancelling their own queries, large objects), but analytics_ro must not: session
  -- advisory locks outlive its transactions and can stall another app's lock users;
  -- it could signal the other analysts' backends (same role); large objects would let
  -- a "read-only" role store data. PostgreSQL has no per-role REVOKE of a PUBLIC
  -- grant, so these are revoked from PUBLIC and granted back to every other role.
  others_keep_prefixes constant text[] := ARRAY['pg_advisory_', 'pg_try_advisory_', 'lo_'];
  others_keep_names constant text[] := ARRAY['pg_terminate_backend', 'pg_cancel_backend', 'loread', 'lowrite'];
  others text;
  fn record;
  denied oid[] := '{}';
  kept integer := 0;
  still text;
  still_count bigint;
  groups text;
BEGIN
  -- Every role except analytics_ro, the superusers (they need no grant), the
  -- predefined pg_* roles, and any role analytics_ro is a member of (a grant there
  -- would reach analytics_ro again; the check below names such a membership).
  SELECT string_agg(quote_ident(r.rolname), ', ' ORDER BY r.rolname) INTO others
    FROM pg_roles r
   WHERE r.rolname <> 'analytics_ro'
     AND NOT r.rolsuper
     AND r.rolname !~ '^pg_'
     AND NOT pg_has_role('analytics_ro', r.oid, 'MEMBER');

  FOR fn IN
    WITH ext_member AS (
      SELECT d.objid AS oid, e.extname
        FROM pg_depend d
        JOIN pg_extension e ON e.oid = d.refobjid
       WHERE d.classid = 'pg_proc'::regclass
         AND d.refclassid = 'pg_extension'::regclass
         AND d.deptype = 'e'
    ), candidate AS (
      SELECT p.oid, m.extname,
             m.extname IS NULL AND p.pronamespace = 'pg_catalog'::regnamespace AS builtin
        FROM pg_proc p
        LEFT JOIN ext_member m ON m.oid = p.oid
    )
    SELECT c.oid::regprocedure AS sig,
           c.builtin
             AND (p.proname = ANY (others_keep_names)
                  OR EXISTS (SELECT 1 FROM unnest(others_keep_prefixes) x WHERE starts_with(p.proname, x)))
             AS others_keep,
           -- PostgreSQL shipped it executable by PUBLIC: initdb recorded no initial
           -- ACL (the default grants PUBLIC EXECUTE) or one that includes PUBLIC.
           coalesce((SELECT bool_or(a.grantee = 0)
                       FROM pg_init_privs i, aclexplode(i.initprivs) a
                      WHERE i.objoid = c.oid AND i.classoid = 'pg_proc'::regclass AND i.objsubid = 0),
                    true) AS shipped_public
      FROM candidate c
      JOIN pg_proc p ON p.oid = c.oid
     WHERE c.extname = ANY (sql_or_storage_extensions)
        OR c.extname || '.' || p.proname = ANY (extension_members)
        OR (c.builtin AND (p.proname = ANY (sql_text_builtins)
                           OR c.oid::regprocedure::text = ANY (sql_text_signatures)
                           OR p.proname = ANY (others_keep_names)
                           OR EXISTS (SELECT 1 FROM unnest(others_keep_prefixes) x WHERE starts_with(p.proname, x))))
     ORDER BY 1
  LOOP
    EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC, analytics_ro', fn.sig);
    denied := denied || fn.sig::oid;
    -- Only what PUBLIC had is given back: lo_import/lo_export stay superuser-only.
    IF fn.others_keep AND fn.shipped_public AND others IS NOT NULL THEN
      EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %s', fn.sig, others);
      kept := kept + 1;
    END IF;
  END LOOP;
  RAISE NOTICE 'functions: % revoked from PUBLIC and analytics_ro; % of them granted back to the other roles (%)',
    cardinality(denied), kept, coalesce(others, 'none');

  -- analytics_ro must end up unable to run any of them, nor anything PostgreSQL or an
  -- extension ships restricted (pg_read_file, pg_stat_statements_reset, ...): a
  -- membership in pg_monitor, pg_read_server_files or an app role would undo this.
  SELECT count(*), string_agg(sig, ', ' ORDER BY sig) FILTER (WHERE n <= 5) INTO still_count, still
    FROM (SELECT p.oid::regprocedure::text AS sig, row_number() OVER (ORDER BY p.oid::regprocedure::text) AS n
            FROM pg_proc p
           WHERE has_function_privilege('analytics_ro', p.oid, 'EXECUTE')
             AND (p.oid = ANY (denied)
                  OR EXISTS (SELECT 1 FROM pg_init_privs i
                              WHERE i.objoid = p.oid AND i.classoid = 'pg_proc'::regclass AND i.objsubid = 0
                                AND NOT EXISTS (SELECT 1 FROM aclexplode(i.initprivs) a WHERE a.grantee = 0)))) f;
  IF still_count > 0 THEN
    SELECT string_agg(r.rolname, ', ' ORDER BY r.rolname) INTO groups
      FROM pg_roles r WHERE r.rolname <> 'analytics_ro' AND pg_has_role('analytics_ro', r.oid, 'MEMBER');
    RAISE EXCEPTION 'analytics_ro can still execute % restricted function(s): %', still_count,
      still || CASE WHEN still_count > 5 THEN ', ...' ELSE '' END
      USING DETAIL = format('analytics_ro is a member of: %s', coalesce(groups, 'no role')),
            HINT = 'revoke that membership (REVOKE <role> FROM analytics_ro) or the grant to analytics_ro, then rerun';
  END IF;
END
$functions$;

\echo 'analytics_ro.sql: done.'
