import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Test } from '@nestjs/testing';
import { DENY_FAMILIES, findDenyFamily } from './deny-list.js';
import { buildGuardPolicy } from './guard-policy.builder.js';
import type { CatalogueFunction, GuardCatalogue } from './guard-policy.types.js';
import { SqlGuardModule } from './sql-guard.module.js';
import { SqlGuardService, createSqlGuard } from './sql-guard.service.js';
import type { GuardVerdict } from './sql-guard.types.js';

function reasonOf(v: GuardVerdict): string {
  assert.equal(v.ok, false, 'expected a refusal');
  return (v as { reason: string }).reason;
}

let nextOid = 1;
const fn = (name: string, more: Partial<CatalogueFunction> = {}): CatalogueFunction => ({
  oid: nextOid++, schema: 'pg_catalog', name, volatility: 's', kind: 'f', nargs: 1, extension: null, ...more,
});

/**
 * A small catalogue for the structural tests; the whole attack and legit corpus runs
 * against a live PostgreSQL catalogue in test/guard-policy.spec.ts.
 */
const CATALOGUE: GuardCatalogue = {
  functions: [
    ...['lower', 'length', 'count', 'rank', 'string_agg', 'percentile_cont', 'generate_series', 'int4pl', 'int4eq', 'int4ge', 'int4le', 'int4lt', 'texteq'].map((n) => fn(n, { volatility: 'i' })),
    fn('system', { volatility: 'v' }),
    fn('pg_sleep', { volatility: 'v' }),
    fn('pg_advisory_lock', { volatility: 'v' }),
    fn('nextval', { volatility: 'v' }),
    fn('now', { nargs: 0 }),
    fn('txid_current', { nargs: 0 }),
    fn('pg_stat_get_activity'),
    fn('similarity', { schema: 'public', extension: 'pg_trgm', volatility: 'i', nargs: 2 }),
    fn('set_limit', { schema: 'public', extension: 'pg_trgm', volatility: 'v' }),
    fn('xpath_table', { schema: 'public', extension: 'xml2', nargs: 7 }),
    fn('levenshtein', { schema: 'public', extension: 'fuzzystrmatch', volatility: 'i', nargs: 2 }),
    fn('my_report', { schema: 'public', volatility: 'v', nargs: 0 }),
    fn('upper', { volatility: 'i' }),
    fn('upper', { schema: 'public', volatility: 'v' }),
    fn('sneaky_in', { schema: 'public' }),
  ],
  operators: [],
  types: [],
  relations: [{ schema: 'public', name: 'pg_stat_statements', extension: 'pg_stat_statements' }],
  extensions: ['pg_trgm', 'xml2', 'fuzzystrmatch', 'pg_stat_statements'],
};
const byName = (name: string, schema = 'pg_catalog') => CATALOGUE.functions.find((f) => f.name === name && f.schema === schema)!.oid;
CATALOGUE.operators.push(
  { schema: 'pg_catalog', name: '+', functionOid: byName('int4pl') },
  { schema: 'pg_catalog', name: '=', functionOid: byName('int4eq') },
  { schema: 'pg_catalog', name: '=', functionOid: byName('texteq') },
  { schema: 'pg_catalog', name: '>=', functionOid: byName('int4ge') },
  { schema: 'pg_catalog', name: '<=', functionOid: byName('int4le') },
  { schema: 'pg_catalog', name: '<', functionOid: byName('int4lt') },
  { schema: 'public', name: '%', functionOid: byName('similarity', 'public') },
  { schema: 'public', name: '===', functionOid: byName('my_report', 'public') },
  { schema: 'public', name: '<~>', functionOid: byName('levenshtein', 'public') },
  { schema: 'public', name: '<?>', functionOid: byName('xpath_table', 'public') },
);
CATALOGUE.types.push({ schema: 'public', name: 'sneaky', functionOids: [byName('sneaky_in', 'public')] });

const OPTIONS = { searchPath: ['public'], allowedExtensions: ['pg_trgm'], allowedFunctions: [], allowActivityViews: false };
const POLICY = buildGuardPolicy(CATALOGUE, OPTIONS).policy;

describe('SqlGuardService', () => {
  let guard: SqlGuardService;
  let policy = POLICY;
  const refused = (sql: string) => reasonOf(guard.check(sql, policy));
  const allowed = (sql: string) => assert.deepEqual(guard.check(sql, policy), { ok: true }, sql);

  before(async () => {
    guard = await createSqlGuard();
  });
  after(() => guard.onModuleDestroy());

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
      assert.match(reasonOf(small.check('SELECT 1 + 1 + 1 + 1 + 1', POLICY)), /limit is 20 bytes/);
    });

    it('refuses a NUL character, which would hide the rest of the text from the parser', () => {
      assert.equal(refused('SELECT 1\0; DELETE FROM fuel.fill_ups'), 'statement contains a NUL character');
    });

    it('survives deeply nested input without throwing', () => {
      const deep = `SELECT ${'('.repeat(3000)}1${')'.repeat(3000)}`;
      const v = guard.check(deep, policy);
      assert.equal(typeof v.ok, 'boolean');
      const deepSub = `SELECT ${'(SELECT '.repeat(300)}pg_sleep(1)${')'.repeat(300)}`;
      const v2 = guard.check(deepSub, policy);
      if (!v2.ok) assert.ok(/pg_sleep|stack depth|parse/.test(v2.reason), v2.reason);
    });

    it('throws (a programming error, not a refusal) when used before the parser is loaded', () => {
      assert.throws(() => new SqlGuardService().check('SELECT 1', POLICY), /before onModuleInit/);
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

    it('refuses column notation, which calls f(t) when t has no column f', () => {
      assert.match(refused('SELECT d.pg_advisory_lock FROM tracksolid.devices d'), /pg_advisory_lock is not allowed .*column notation/);
      assert.match(refused('SELECT (d).nextval FROM tracksolid.devices d'), /nextval is not allowed/);
      // The cost: a qualified column that shares a denied function's name is refused too.
      assert.match(refused('SELECT s.pg_sleep FROM (SELECT 1 AS pg_sleep) s'), /pg_sleep is not allowed/);
      allowed('SELECT pg_sleep FROM (SELECT 1 AS pg_sleep) s');
    });
  });

  describe('allow-list from the catalogue', () => {
    it('allows stable and immutable built-ins, refuses volatile ones naming the variable', () => {
      allowed('SELECT now(), txid_current(), lower(\'A\')');
      policy = buildGuardPolicy({ ...CATALOGUE, functions: [...CATALOGUE.functions, fn('pg_stat_clear_snapshot', { volatility: 'v', nargs: 0 })] }, OPTIONS).policy;
      assert.equal(
        refused('SELECT pg_stat_clear_snapshot()'),
        'function pg_stat_clear_snapshot is not allowed (it is VOLATILE (it may change state); if it is safe, add pg_catalog.pg_stat_clear_snapshot to MCP_ALLOWED_FUNCTIONS)',
      );
      policy = POLICY;
    });

    it('refuses user-defined functions unless MCP_ALLOWED_FUNCTIONS names them', () => {
      assert.match(refused('SELECT my_report()'), /function my_report is not allowed \(it is a user-defined function; add public\.my_report to MCP_ALLOWED_FUNCTIONS/);
      assert.match(refused('SELECT public.my_report()'), /add public\.my_report to MCP_ALLOWED_FUNCTIONS/);
      policy = buildGuardPolicy(CATALOGUE, { ...OPTIONS, allowedFunctions: ['public.my_report'] }).policy;
      allowed('SELECT my_report()');
      allowed('SELECT public.my_report()');
      policy = POLICY;
    });

    it('refuses members of never-allowed extensions (xpath_table is STABLE, yet runs SQL text)', () => {
      assert.match(refused("SELECT * FROM xpath_table('id', 'x', 't', '/a', 'true') AS t(id int)"), /xpath_table is not allowed \(it belongs to extension xml2, which is never allowed: xpath_table\(\) runs the SQL text/);
      assert.throws(() => buildGuardPolicy(CATALOGUE, { ...OPTIONS, allowedExtensions: ['xml2'] }), /extension xml2 can never be allowed/);
    });

    it('allows members of allowed extensions minus their vetted denials; names the variable for others', () => {
      allowed("SELECT similarity('a', 'b'), 'a' % 'b'");
      assert.match(refused('SELECT set_limit(0.5)'), /set_limit is not allowed \(it changes pg_trgm\.similarity_threshold/);
      assert.match(refused("SELECT levenshtein('a', 'b')"), /it belongs to extension fuzzystrmatch; add fuzzystrmatch to MCP_ALLOWED_EXTENSIONS/);
    });

    it('refuses a name that could resolve to a function that is not allowed, and unknown names', () => {
      assert.match(refused("SELECT upper('a')"), /function upper is not allowed \(it can resolve to public\.upper: it is a user-defined function/);
      allowed("SELECT pg_catalog.upper('a')");
      assert.match(refused('SELECT no_such_fn(1)'), /function no_such_fn is not on the server's allow-list/);
      assert.match(refused('SELECT otherdb.pg_catalog.lower(1)'), /cross-database references are not allowed/);
    });

    it('checks operators, TABLESAMPLE methods and casts through their functions', () => {
      allowed('SELECT 1 + 1 WHERE 1 BETWEEN 0 AND 2 ORDER BY 1 USING <');
      assert.match(refused('SELECT 1 === 2'), /operator === is not allowed \(it runs public\.my_report, which is not allowed \(it is a user-defined function/);
      // An installed extension's operator runs only on its own types: judged by its function's safety.
      allowed("SELECT 'a' <~> 'b'");
      assert.match(refused("SELECT 'a' <?> 'b'"), /operator <\?> is not allowed \(it runs public\.xpath_table, which is not allowed \(it belongs to extension xml2/);
      assert.match(refused('SELECT 1 OPERATOR(public.===) 2'), /operator public\.=== is not allowed/);
      assert.match(refused('SELECT 1 #-# 2'), /operator #-# is not on the server's allow-list/);
      allowed('SELECT * FROM t TABLESAMPLE SYSTEM (1)');
      assert.match(refused('SELECT * FROM t TABLESAMPLE bernoulli (1)'), /TABLESAMPLE method bernoulli is not on the server's allow-list/);
      assert.match(refused("SELECT 'x'::sneaky"), /type sneaky is not allowed \(casting to public\.sneaky runs public\.sneaky_in/);
      assert.match(refused('SELECT * FROM f() AS t(a public.sneaky)'), /type public\.sneaky is not allowed/);
    });

    it("refuses other sessions' SQL text unless MCP_ALLOW_ACTIVITY_VIEWS", () => {
      assert.match(refused('SELECT query FROM pg_stat_activity'), /reading pg_stat_activity is not allowed \(it shows other sessions' SQL text; set MCP_ALLOW_ACTIVITY_VIEWS=true/);
      assert.match(refused('SELECT query FROM pg_catalog.pg_stat_activity'), /reading pg_catalog\.pg_stat_activity is not allowed/);
      assert.match(refused('SELECT * FROM pg_stat_get_activity(NULL)'), /pg_stat_get_activity is not allowed .*MCP_ALLOW_ACTIVITY_VIEWS/);
      assert.match(refused('SELECT query FROM pg_stat_statements'), /reading pg_stat_statements is not allowed/);
      policy = buildGuardPolicy(CATALOGUE, { ...OPTIONS, allowActivityViews: true }).policy;
      allowed('SELECT query FROM pg_stat_activity');
      allowed('SELECT * FROM pg_stat_get_activity(NULL)');
      allowed('SELECT query FROM pg_stat_statements');
      policy = POLICY;
    });

    it('refuses a denied one-argument function in column notation', () => {
      assert.match(refused('SELECT t.set_limit FROM t'), /set_limit is not allowed .*column notation/);
      allowed('SELECT t.similarity FROM t');
    });

    it('checkAsync gives the same verdicts, long statements on a worker thread', async () => {
      const long = `SELECT 1${' '.repeat(20_000)}`;
      assert.deepEqual(await guard.checkAsync(long, policy), { ok: true });
      assert.match(reasonOf(await guard.checkAsync(`SELECT pg_sleep(1)${' '.repeat(20_000)}`, policy)), /pg_sleep is not allowed/);
      assert.match(reasonOf(await guard.checkAsync(`SELECT my_report()${' '.repeat(20_000)}`, policy)), /user-defined/);
      const other = buildGuardPolicy(CATALOGUE, { ...OPTIONS, allowedFunctions: ['public.my_report'] }).policy;
      assert.notEqual(other.version, policy.version);
      assert.deepEqual(await guard.checkAsync(`SELECT my_report()${' '.repeat(20_000)}`, other), { ok: true });
      assert.deepEqual(await guard.checkAsync('SELECT 1', policy), { ok: true });
    });
  });

  describe('Nest wiring', () => {
    it('SqlGuardModule provides a ready SqlGuardService after init', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [SqlGuardModule] }).compile();
      await moduleRef.init();
      const svc = moduleRef.get(SqlGuardService);
      assert.deepEqual(svc.check('SELECT 1', POLICY), { ok: true });
      assert.equal(svc.check('DELETE FROM t', POLICY).ok, false);
      await moduleRef.close();
    });
  });
});
