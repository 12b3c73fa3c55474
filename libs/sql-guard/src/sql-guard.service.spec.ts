import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Test } from '@nestjs/testing';
import { ATTACKS, LEGIT } from '../../../test/fixtures/sql-corpus.js';
import { DENY_FAMILIES, findDenyFamily } from './deny-list.js';
import { SqlGuardModule } from './sql-guard.module.js';
import { SqlGuardService, createSqlGuard } from './sql-guard.service.js';
import type { GuardVerdict } from './sql-guard.types.js';

function reasonOf(v: GuardVerdict): string {
  assert.equal(v.ok, false, 'expected a refusal');
  return (v as { reason: string }).reason;
}

describe('SqlGuardService', () => {
  let guard: SqlGuardService;
  const refused = (sql: string) => reasonOf(guard.check(sql));
  const allowed = (sql: string) => assert.deepEqual(guard.check(sql), { ok: true }, sql);

  before(async () => {
    guard = await createSqlGuard();
  });

  describe('corpus', () => {
    it('has at least 70 attacks and 70 legitimate statements with unique names', () => {
      assert.ok(ATTACKS.length >= 70, `${ATTACKS.length} attacks`);
      assert.ok(LEGIT.length >= 70, `${LEGIT.length} legit`);
      assert.equal(new Set(ATTACKS.map((a) => a.name)).size, ATTACKS.length);
      assert.equal(new Set(LEGIT.map((l) => l.name)).size, LEGIT.length);
    });

    it('covers every technique from the issue', () => {
      const techniques = new Set(ATTACKS.map((a) => a.technique));
      for (const t of [
        'stacking', 'comment prefix', 'data-modifying CTE', 'function in FROM', 'SQL in a string', 'dblink',
        'U& identifier', 'schema-qualified', 'advisory lock', 'settings', 'SELECT INTO', 'FOR UPDATE', 'sequence',
        'large objects', 'server control', 'COPY', 'DO', 'CALL', 'CREATE FUNCTION', 'ALTER SYSTEM', 'SET/RESET',
        'LISTEN/NOTIFY', 'PREPARE/EXECUTE', 'DECLARE', 'LOCK', 'VACUUM', 'TRUNCATE', 'GRANT', 'CREATE ROLE',
        'EXPLAIN ANALYZE', 'BEGIN/COMMIT', 'nested function',
      ]) {
        assert.ok(techniques.has(t), `no attack for technique "${t}"`);
      }
    });

    for (const a of ATTACKS) {
      it(`refuses ${a.name}`, () => {
        const reason = refused(a.sql);
        assert.ok(reason.includes(a.expect), `reason "${reason}" lacks "${a.expect}"`);
      });
    }

    for (const l of LEGIT) {
      it(`allows ${l.name}`, () => allowed(l.sql));
    }
  });

  describe('messages', () => {
    it('names the statement kind and what is allowed', () => {
      assert.equal(
        refused('WITH d AS (DELETE FROM fuel.fill_ups RETURNING *) SELECT * FROM d'),
        'only one read-only SELECT/WITH statement is allowed; found DELETE inside a CTE',
      );
      assert.equal(refused('SELECT 1; SELECT 2'), 'only one read-only SELECT/WITH statement is allowed; found 2 statements');
      assert.equal(refused('COPY t TO STDOUT'), 'only one read-only SELECT/WITH statement is allowed; found COPY');
      assert.equal(refused('SELECT pg_sleep(1)'), 'function pg_sleep is not allowed (sleeps hold a connection)');
      assert.equal(refused('DROP MATERIALIZED VIEW reporting.daily_mileage'), 'only one read-only SELECT/WITH statement is allowed; found DROP MATERIALIZED VIEW');
      assert.equal(refused('EXPLAIN SELECT 1'), 'only one read-only SELECT/WITH statement is allowed; found EXPLAIN');
      assert.match(refused('SHOW work_mem'), /found SHOW$/);
      assert.match(refused('ROLLBACK'), /found ROLLBACK$/);
      assert.match(refused('CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$'), /found CREATE PROCEDURE$/);
    });

    it('reports parse errors with PostgreSQL message and 1-based position', () => {
      assert.equal(refused('SELECT * FORM x'), 'syntax error at or near "FORM" (position 10)');
      // Characters, not bytes: "é" is one position.
      assert.equal(refused("SELECT 'é' FORM x"), 'syntax error at or near "x" (position 17)');
      assert.match(refused('SELECT 1 /* never closed'), /unterminated \/\* comment/);
      assert.match(refused("SELECT 'abc"), /unterminated quoted string/);
    });
  });

  describe('shape of the text', () => {
    it('accepts trailing semicolons, leading and nested comments', () => {
      allowed('SELECT 1;');
      allowed('SELECT 1;;');
      allowed('  -- note\n/* a /* nested */ b */ SELECT 1 ; -- trailing');
      allowed('\n\n\tSELECT 1\n');
    });

    it('refuses empty, whitespace-only, comment-only and semicolon-only input', () => {
      for (const sql of ['', '   \n\t', '-- just a comment', '/* a /* b */ c */', ';', ' ; ; ']) {
        assert.equal(refused(sql), 'empty statement; send one read-only SELECT/WITH statement', JSON.stringify(sql));
      }
    });

    it('refuses input over the byte limit, counting UTF-8 bytes', async () => {
      const pad = (n: number, ch = ' ') => `SELECT 1${ch.repeat(n)}`;
      allowed(pad(100_000 - 8));
      assert.match(refused(pad(100_000 - 7)), /statement is too long: 100001 bytes, the limit is 100000 bytes/);
      // 50 000 "é" are 100 000 bytes: over the limit in bytes, though half of it in characters.
      const multi = `SELECT 1 -- ${'é'.repeat(50_000)}`;
      assert.ok(multi.length < 100_000);
      assert.match(refused(multi), /too long/);
      const small = await createSqlGuard({ maxBytes: 20 });
      assert.match(reasonOf(small.check('SELECT 1 + 1 + 1 + 1 + 1')), /limit is 20 bytes/);
    });

    it('refuses a NUL character, which would hide the rest of the text from the parser', () => {
      assert.equal(refused('SELECT 1\0; DELETE FROM fuel.fill_ups'), 'statement contains a NUL character');
    });

    it('survives deeply nested input without throwing', () => {
      const deep = `SELECT ${'('.repeat(3000)}1${')'.repeat(3000)}`;
      const v = guard.check(deep);
      assert.equal(typeof v.ok, 'boolean');
      const deepSub = `SELECT ${'(SELECT '.repeat(300)}pg_sleep(1)${')'.repeat(300)}`;
      const v2 = guard.check(deepSub);
      if (!v2.ok) assert.ok(/pg_sleep|stack depth|parse/.test(v2.reason), v2.reason);
    });

    it('throws (a programming error, not a refusal) when used before the parser is loaded', () => {
      assert.throws(() => new SqlGuardService().check('SELECT 1'), /before onModuleInit/);
    });
  });

  describe('the whole tree is walked', () => {
    const places: [string, string][] = [
      ['select list', 'SELECT f() FROM t'],
      ['FROM function', 'SELECT * FROM f()'],
      ['LATERAL', 'SELECT * FROM t, LATERAL f() x'],
      ['ROWS FROM', 'SELECT * FROM ROWS FROM (generate_series(1,2), f())'],
      ['JOIN ON', 'SELECT * FROM a JOIN b ON f() IS NULL'],
      ['WHERE', 'SELECT 1 FROM t WHERE f() IS NULL'],
      ['GROUP BY', 'SELECT 1 FROM t GROUP BY f()'],
      ['HAVING', 'SELECT 1 FROM t GROUP BY a HAVING f() IS NULL'],
      ['ORDER BY', 'SELECT 1 FROM t ORDER BY f()'],
      ['window PARTITION', 'SELECT rank() OVER (PARTITION BY f()) FROM t'],
      ['named window', 'SELECT rank() OVER w FROM t WINDOW w AS (ORDER BY f())'],
      ['FILTER', 'SELECT count(*) FILTER (WHERE f() IS NULL) FROM t'],
      ['aggregate ORDER BY', 'SELECT string_agg(a, \',\' ORDER BY f()) FROM t'],
      ['WITHIN GROUP', 'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY f()) FROM t'],
      ['LIMIT', 'SELECT 1 LIMIT f()'],
      ['OFFSET', 'SELECT 1 OFFSET f()'],
      ['VALUES', 'VALUES (1, f())'],
      ['CTE', 'WITH x AS (SELECT f()) SELECT * FROM x'],
      ['recursive CTE', 'WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL SELECT n FROM x WHERE f() IS NULL) SELECT * FROM x'],
      ['set operation arm', 'SELECT 1 UNION SELECT f()'],
      ['scalar subquery', 'SELECT (SELECT f())'],
      ['EXISTS', 'SELECT EXISTS (SELECT f())'],
      ['IN subquery', 'SELECT 1 WHERE 1 IN (SELECT f())'],
      ['CASE', 'SELECT CASE WHEN f() IS NULL THEN 1 ELSE 2 END'],
      ['COALESCE', 'SELECT coalesce(NULL, f())'],
      ['cast', 'SELECT f()::text'],
      ['array', 'SELECT ARRAY[f()]'],
      ['row', 'SELECT ROW(1, f())'],
      ['function argument', 'SELECT length(f()::text)'],
      ['TABLESAMPLE argument', 'SELECT * FROM t TABLESAMPLE SYSTEM (f())'],
      ['JSON_TABLE', "SELECT * FROM JSON_TABLE(f()::jsonb, '$[*]' COLUMNS (a int PATH '$.a')) j"],
      ['XMLTABLE', "SELECT * FROM XMLTABLE('/r' PASSING f() COLUMNS a int) x"],
      ['DISTINCT ON', 'SELECT DISTINCT ON (f()) a FROM t'],
      ['GROUPING SETS', 'SELECT 1 FROM t GROUP BY GROUPING SETS ((a), (f()))'],
      ['parenthesised select', '(SELECT f())'],
      ['derived table', 'SELECT * FROM (SELECT f()) s'],
    ];
    for (const [place, template] of places) {
      it(`finds a denied call in ${place}`, () => {
        allowed(template.replaceAll('f()', 'lower(\'x\')'));
        assert.match(refused(template.replaceAll('f()', 'pg_sleep(1)')), /function pg_sleep is not allowed/);
      });
    }

    it('finds DML nested in CTEs and locking clauses in subqueries', () => {
      assert.match(refused('WITH a AS (SELECT 1), b AS (WITH c AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT * FROM c) SELECT 1'), /found INSERT inside a CTE/);
      assert.match(refused('SELECT * FROM (SELECT * FROM (SELECT * FROM t FOR SHARE) a) b'), /FOR SHARE is not allowed/);
      assert.match(refused('SELECT 1 UNION ALL (SELECT 2 FROM t FOR UPDATE)'), /FOR UPDATE is not allowed/);
    });
  });

  describe('function names', () => {
    it('matches case-insensitively, schema-qualified or not, after U& decoding', () => {
      for (const sql of [
        'SELECT pg_sleep(1)',
        'SELECT PG_SLEEP(1)',
        'SELECT "pg_sleep"(1)',
        'SELECT "PG_SLEEP"(1)',
        'SELECT pg_catalog.pg_sleep(1)',
        'SELECT "pg_catalog"."pg_sleep"(1)',
        'SELECT public.pg_sleep(1)',
        'SELECT mydb.pg_catalog.pg_sleep(1)',
        'SELECT U&"\\0070g_sleep"(1)',
        'SELECT U&"\\+000070g_sleep"(1)',
        "SELECT U&\"#0070g#005fsleep\" UESCAPE '#'(1)",
      ]) {
        assert.match(refused(sql), /pg_sleep is not allowed \(sleeps hold a connection\)/i, sql);
      }
    });

    it('refuses every exact name and a name under every prefix of every family', () => {
      for (const family of DENY_FAMILIES) {
        assert.ok(family.reason.length > 10 && !family.reason.includes('\n'), family.family);
        for (const n of family.names) assert.match(refused(`SELECT ${n}()`), new RegExp(`function ${n} is not allowed`));
        for (const p of family.prefixes) assert.match(refused(`SELECT ${p}x()`), /is not allowed/);
      }
    });

    it('covers the functions the issue names', () => {
      for (const n of [
        'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir',
        'pg_ls_archive_statusdir', 'pg_ls_summariesdir', 'pg_stat_file', 'lo_import', 'lo_export', 'lo_put',
        'lo_from_bytea', 'loread', 'lowrite', 'pg_file_write', 'pg_file_unlink', 'query_to_xml',
        'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema',
        'table_to_xml', 'table_to_xmlschema', 'schema_to_xml', 'database_to_xml_and_xmlschema', 'dblink',
        'dblink_exec', 'dblink_connect', 'postgres_fdw_disconnect_all', 'set_config', 'pg_advisory_lock',
        'pg_advisory_xact_lock_shared', 'pg_try_advisory_lock', 'pg_advisory_unlock_all', 'pg_terminate_backend',
        'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_stat_reset', 'pg_stat_reset_shared',
        'pg_stat_reset_backend_stats', 'pg_switch_wal', 'pg_backup_start', 'pg_backup_stop', 'pg_start_backup',
        'pg_stop_backup', 'pg_create_restore_point', 'pg_promote', 'pg_log_backend_memory_contexts',
        'pg_import_system_collations', 'pg_wal_replay_pause', 'pg_wal_replay_resume',
        'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot', 'pg_drop_replication_slot',
        'pg_replication_slot_advance', 'pg_logical_emit_message', 'pg_copy_logical_replication_slot',
        'pg_logical_slot_get_changes', 'pg_logical_slot_peek_changes', 'pg_sync_replication_slots',
        'pg_export_snapshot', 'binary_upgrade_set_next_pg_type_oid', 'pg_nextoid', 'pg_stat_statements_reset',
        'pg_notify', 'nextval', 'setval', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'setseed',
        'pg_restore_relation_stats', 'pg_clear_attribute_stats', 'pg_replication_origin_create', 'ts_stat',
      ]) {
        assert.ok(findDenyFamily(n), `${n} is not denied`);
        assert.ok(findDenyFamily(n.toUpperCase()), `${n.toUpperCase()} is not denied`);
      }
    });

    it('allows harmless look-alikes and documented decisions', () => {
      for (const sql of [
        "SELECT current_setting('work_mem')",
        "SELECT currval('tickets.tickets_ticket_id_seq')",
        'SELECT lastval()',
        'SELECT txid_current(), pg_current_xact_id()',
        'SELECT gen_random_uuid(), random()',
        "SELECT * FROM pg_partition_tree('tracksolid.devices')",
        "SELECT make_interval(days => 2), make_date(2024, 1, 1)",
        "SELECT pg_sequence_last_value('tickets.tickets_ticket_id_seq')",
        'SELECT pg_stat_get_numscans(1), pg_backend_pid(), pg_postmaster_start_time()',
        "SELECT pg_size_pretty(pg_database_size(current_database()))",
        'SELECT slot_name FROM pg_replication_slots',
        'SELECT * FROM pg_locks',
        'SELECT logo_url, lo, "lo_x" FROM t',
        'SELECT sleep_minutes FROM t',
      ]) {
        allowed(sql);
      }
    });

    it('refuses column notation, which calls f(t) when t has no column f', () => {
      assert.match(refused('SELECT d.pg_advisory_lock FROM tracksolid.devices d'), /pg_advisory_lock is not allowed .*column notation/);
      assert.match(refused('SELECT (d).nextval FROM tracksolid.devices d'), /nextval is not allowed/);
      // The cost: a qualified column that shares a denied function's name is refused too.
      assert.match(refused('SELECT s.pg_sleep FROM (SELECT 1 AS pg_sleep) s'), /pg_sleep is not allowed/);
      allowed('SELECT pg_sleep FROM (SELECT 1 AS pg_sleep) s');
    });
  });

  describe('Nest wiring', () => {
    it('SqlGuardModule provides a ready SqlGuardService after init', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [SqlGuardModule] }).compile();
      await moduleRef.init();
      const svc = moduleRef.get(SqlGuardService);
      assert.deepEqual(svc.check('SELECT 1'), { ok: true });
      assert.equal(svc.check('DELETE FROM t').ok, false);
      await moduleRef.close();
    });
  });
});
