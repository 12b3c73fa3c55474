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
-- Order relative to tracksolid_db.sql does not matter: whichever runs second adds
-- the default privileges that cover tables tracksolid_owner creates later.
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

\echo 'analytics_ro.sql: done.'
