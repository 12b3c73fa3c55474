-- fleet_platform roles: the fp_app_rw group (read/write data, no DDL) and the two
-- logins gateway_app (request-facing API) and cron_app (scheduled jobs).
--
-- Run as the postgres superuser, connected to the fleet_platform database:
--
--   psql "postgresql://postgres@HOST:5432/fleet_platform" -X -v ON_ERROR_STOP=1 \
--        -v gateway_pw="$(cat ~/.gateway_app.pw)" \
--        -v cron_pw="$(cat ~/.cron_app.pw)" \
--        -f db/roles/fleet_platform.sql
--
-- Idempotent and safe while the apps still connect as postgres. Ownership is not
-- touched: objects stay with postgres, so these roles cannot run migrations (see
-- README.md before cutting over an app that does).

\set ON_ERROR_STOP on
\set QUIET on

\if :{?gateway_pw}
\else
  \warn 'fleet_platform.sql: pass the gateway_app password with -v gateway_pw=...'
  DO $$ BEGIN RAISE EXCEPTION 'psql variable gateway_pw is not set'; END $$;
\endif
\if :{?cron_pw}
\else
  \warn 'fleet_platform.sql: pass the cron_app password with -v cron_pw=...'
  DO $$ BEGIN RAISE EXCEPTION 'psql variable cron_pw is not set'; END $$;
\endif

DO $pre$
DECLARE
  missing text;
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'fleet_platform.sql must run as a superuser; connected as %', current_user;
  END IF;
  IF to_regrole('postgres') IS NULL THEN
    RAISE EXCEPTION 'role postgres does not exist; its future objects are what the default privileges cover';
  END IF;
  SELECT string_agg(s, ', ') INTO missing
    FROM unnest(ARRAY['auth', 'domain', 'events', 'geo', 'ops', 'serve', 'slo', 'state']) AS s
   WHERE to_regnamespace(s) IS NULL;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'database % has no schema(s) %; connect to the fleet_platform database', current_database(), missing;
  END IF;
END
$pre$;

DO $roles$
BEGIN
  IF to_regrole('fp_app_rw') IS NULL THEN
    CREATE ROLE fp_app_rw NOLOGIN;
  END IF;
  IF to_regrole('gateway_app') IS NULL THEN
    CREATE ROLE gateway_app NOLOGIN;
  END IF;
  IF to_regrole('cron_app') IS NULL THEN
    CREATE ROLE cron_app NOLOGIN;
  END IF;
END
$roles$;

ALTER ROLE fp_app_rw WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Keep the passwords out of the server log even when log_statement is 'ddl' or 'all'.
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET password_encryption = 'scram-sha-256';
SELECT :'gateway_pw' = '' AS gateway_pw_empty, :'cron_pw' = '' AS cron_pw_empty \gset
\if :gateway_pw_empty
  DO $$ BEGIN RAISE EXCEPTION 'psql variable gateway_pw is empty'; END $$;
\endif
\if :cron_pw_empty
  DO $$ BEGIN RAISE EXCEPTION 'psql variable cron_pw is empty'; END $$;
\endif
ALTER ROLE gateway_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  CONNECTION LIMIT 15 PASSWORD :'gateway_pw';
ALTER ROLE cron_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  CONNECTION LIMIT 5 PASSWORD :'cron_pw';
RESET log_statement;
RESET log_min_error_statement;

-- The API answers users: fail a slow query or a lock wait fast.
ALTER ROLE gateway_app SET statement_timeout = '15s';
ALTER ROLE gateway_app SET lock_timeout = '3s';
ALTER ROLE gateway_app SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE gateway_app SET idle_session_timeout = '5min';

-- Batch jobs: long statements are expected, abandoned transactions are not.
ALTER ROLE cron_app SET statement_timeout = '120s';
ALTER ROLE cron_app SET lock_timeout = '5s';
ALTER ROLE cron_app SET idle_in_transaction_session_timeout = '120s';
ALTER ROLE cron_app SET idle_session_timeout = '10min';

DO $members$
DECLARE
  login text;
BEGIN
  FOREACH login IN ARRAY ARRAY['gateway_app', 'cron_app'] LOOP
    IF NOT pg_has_role(login, 'fp_app_rw', 'MEMBER') THEN
      EXECUTE format('GRANT fp_app_rw TO %I', login);
    END IF;
  END LOOP;
END
$members$;

DO $connect$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO gateway_app, cron_app', current_database());
END
$connect$;

GRANT USAGE ON SCHEMA auth, domain, events, geo, ops, serve, slo, state TO fp_app_rw;
GRANT SELECT, INSERT, UPDATE, DELETE
  ON ALL TABLES IN SCHEMA auth, domain, events, geo, ops, serve, slo, state TO fp_app_rw;
GRANT USAGE, SELECT, UPDATE
  ON ALL SEQUENCES IN SCHEMA auth, domain, events, geo, ops, serve, slo, state TO fp_app_rw;
-- ROUTINES, unlike FUNCTIONS, includes procedures.
GRANT EXECUTE
  ON ALL ROUTINES IN SCHEMA auth, domain, events, geo, ops, serve, slo, state TO fp_app_rw;

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA auth, domain, events, geo, ops, serve, slo, state
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fp_app_rw;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA auth, domain, events, geo, ops, serve, slo, state
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO fp_app_rw;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA auth, domain, events, geo, ops, serve, slo, state
  GRANT EXECUTE ON ROUTINES TO fp_app_rw;

\echo 'fleet_platform.sql: done.'
