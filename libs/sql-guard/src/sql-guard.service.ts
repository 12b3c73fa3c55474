import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import { findDenyFamily } from './deny-list.js';
import type { GuardVerdict, SqlGuardOptions } from './sql-guard.types.js';

export const SQL_GUARD_OPTIONS = Symbol('SQL_GUARD_OPTIONS');

const DEFAULT_MAX_BYTES = 100_000;
const ONE_SELECT = 'only one read-only SELECT/WITH statement is allowed';
const EMPTY = 'empty statement; send one read-only SELECT/WITH statement';
const OK: GuardVerdict = Object.freeze({ ok: true });

type Json = { [key: string]: unknown };

/**
 * Decides whether a caller's SQL may run at all, on PostgreSQL's own parser (the
 * server's grammar compiled to WASM), never on the text: exactly one statement, a
 * SELECT at the top, and nowhere in its tree a data-modifying statement, INTO, a
 * row-locking clause or a call into a deny family (deny-list.ts).
 *
 * It is one layer of several: the database layer still runs every statement alone,
 * read-only, under statement_timeout and rolled back.
 */
@Injectable()
export class SqlGuardService implements OnModuleInit {
  private ready = false;
  private readonly maxBytes: number;

  constructor(@Optional() @Inject(SQL_GUARD_OPTIONS) options?: SqlGuardOptions) {
    this.maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  async onModuleInit(): Promise<void> {
    await loadModule();
    this.ready = true;
  }

  check(sql: string): GuardVerdict {
    if (!this.ready) throw new Error('SqlGuardService.check() called before onModuleInit() loaded the parser');
    if (typeof sql !== 'string') return refuse('the statement must be a string');
    // Characters never outnumber UTF-8 bytes, so only long-ish text needs counting.
    if (sql.length > this.maxBytes || (sql.length * 3 > this.maxBytes && Buffer.byteLength(sql) > this.maxBytes)) {
      return refuse(`statement is too long: ${Buffer.byteLength(sql)} bytes, the limit is ${this.maxBytes} bytes`);
    }
    // The parser reads a C string: text after a NUL would never be checked.
    if (sql.includes('\0')) return refuse('statement contains a NUL character');
    if (sql.trim() === '') return refuse(EMPTY);

    let parsed: { stmts?: { stmt?: Json }[] };
    try {
      parsed = parseSync(sql) as typeof parsed;
    } catch (err) {
      return refuse(parseErrorMessage(err));
    }
    const stmts = parsed.stmts ?? [];
    if (stmts.length === 0) return refuse(EMPTY);
    if (stmts.length > 1) return refuse(`${ONE_SELECT}; found ${stmts.length} statements`);
    const top = stmts[0]!.stmt ?? {};
    const kind = Object.keys(top)[0] ?? 'unknown';
    if (kind !== 'SelectStmt') return refuse(`${ONE_SELECT}; found ${statementName(kind, top[kind] as Json)}`);
    return walk(top);
  }
}

/** A guard ready to use outside Nest (benchmarks, tests, scripts). */
export async function createSqlGuard(options?: SqlGuardOptions): Promise<SqlGuardService> {
  const guard = new SqlGuardService(options);
  await guard.onModuleInit();
  return guard;
}

function refuse(reason: string): GuardVerdict {
  return { ok: false, reason };
}

/**
 * Visits every object and array in the parse tree, so no clause is skipped because
 * nobody thought to list it. Iterative: deeply nested input cannot overflow the stack.
 */
function walk(root: Json): GuardVerdict {
  const stack: unknown[] = [root];
  const inCte: boolean[] = [false];
  while (stack.length > 0) {
    const node = stack.pop();
    const cte = inCte.pop()!;
    if (Array.isArray(node)) {
      for (const item of node) {
        if (item !== null && typeof item === 'object') {
          stack.push(item);
          inCte.push(cte);
        }
      }
      continue;
    }
    const obj = node as Json;
    for (const key in obj) {
      const value = obj[key];
      if (value === null || typeof value !== 'object') continue;
      let verdict: GuardVerdict | undefined;
      switch (key) {
        case 'SelectStmt':
          break;
        case 'FuncCall':
          verdict = checkCall((value as Json).funcname);
          break;
        case 'ColumnRef': {
          // `t.f` is also functional notation for `f(t)`.
          const fields = (value as Json).fields;
          if (Array.isArray(fields) && fields.length >= 2) verdict = checkColumnNotation(fields[fields.length - 1]);
          break;
        }
        case 'A_Indirection': {
          const ind = (value as Json).indirection;
          if (Array.isArray(ind)) for (const part of ind) verdict ??= checkColumnNotation(part);
          break;
        }
        case 'intoClause':
        case 'IntoClause':
          verdict = refuse('SELECT … INTO is not allowed (it creates a table); only a plain read-only SELECT is allowed');
          break;
        case 'LockingClause':
          verdict = refuse(
            `SELECT … ${lockName((value as Json).strength)} is not allowed (it locks rows); only a plain read-only SELECT is allowed`,
          );
          break;
        default:
          if (key.endsWith('Stmt') && key[0] !== key[0]!.toLowerCase()) {
            verdict = refuse(`${ONE_SELECT}; found ${statementName(key, value as Json)}${cte ? ' inside a CTE' : ' inside the statement'}`);
          }
      }
      if (verdict) return verdict;
      stack.push(value);
      inCte.push(cte || key === 'CommonTableExpr');
    }
  }
  return OK;
}

function checkCall(funcname: unknown): GuardVerdict | undefined {
  const parts = Array.isArray(funcname) ? funcname.map(stringValue) : [];
  if (parts.length === 0 || parts.some((p) => p === undefined)) {
    return refuse('a function call whose name is not a plain identifier is not allowed');
  }
  const family = findDenyFamily(parts[parts.length - 1]!);
  return family ? refuse(`function ${parts.join('.')} is not allowed (${family.reason})`) : undefined;
}

function checkColumnNotation(part: unknown): GuardVerdict | undefined {
  const name = stringValue(part);
  if (name === undefined) return undefined;
  const family = findDenyFamily(name);
  return family ? refuse(`function ${name} is not allowed (${family.reason}); it was called in column notation`) : undefined;
}

function stringValue(node: unknown): string | undefined {
  const s = (node as { String?: { sval?: unknown } } | null)?.String;
  return s && typeof s.sval === 'string' ? s.sval : undefined;
}

function parseErrorMessage(err: unknown): string {
  if (hasSqlDetails(err) && err.sqlDetails) {
    const { message, cursorPosition } = err.sqlDetails;
    // libpg-query reports a 0-based character offset; PostgreSQL shows it 1-based.
    return typeof cursorPosition === 'number' && cursorPosition >= 0
      ? `${message} (position ${cursorPosition + 1})`
      : message;
  }
  return `could not parse the statement: ${err instanceof Error ? err.message : String(err)}`;
}

function lockName(strength: unknown): string {
  switch (strength) {
    case 'LCS_FORKEYSHARE':
      return 'FOR KEY SHARE';
    case 'LCS_FORSHARE':
      return 'FOR SHARE';
    case 'LCS_FORNOKEYUPDATE':
      return 'FOR NO KEY UPDATE';
    default:
      return 'FOR UPDATE';
  }
}

const STATEMENT_NAMES: Record<string, string> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  CopyStmt: 'COPY',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  CreateStmt: 'CREATE TABLE',
  IndexStmt: 'CREATE INDEX',
  ViewStmt: 'CREATE VIEW',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  CreateSeqStmt: 'CREATE SEQUENCE',
  AlterSeqStmt: 'ALTER SEQUENCE',
  CreateTrigStmt: 'CREATE TRIGGER',
  CreatePLangStmt: 'CREATE LANGUAGE',
  RenameStmt: 'ALTER … RENAME',
  VariableShowStmt: 'SHOW',
  DeclareCursorStmt: 'DECLARE CURSOR',
  ClosePortalStmt: 'CLOSE',
  CheckPointStmt: 'CHECKPOINT',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
  ConstraintsSetStmt: 'SET CONSTRAINTS',
};

/** A statement node's SQL name, as the caller would write it. */
function statementName(kind: string, body: Json | undefined): string {
  const b = body ?? {};
  switch (kind) {
    case 'TransactionStmt':
      return String(b.kind ?? 'TRANSACTION').replace('TRANS_STMT_', '').replace('ROLLBACK_TO', 'ROLLBACK TO SAVEPOINT')
        .replace('PREPARE', 'PREPARE TRANSACTION').replace('START', 'START TRANSACTION').replaceAll('_', ' ');
    case 'VariableSetStmt':
      return String(b.kind ?? '').startsWith('VAR_RESET') ? 'RESET' : 'SET';
    case 'ExplainStmt': {
      const analyze = Array.isArray(b.options) && b.options.some((o) => (o as { DefElem?: { defname?: string } }).DefElem?.defname === 'analyze');
      return analyze ? 'EXPLAIN ANALYZE' : 'EXPLAIN';
    }
    case 'VacuumStmt':
      return b.is_vacuumcmd ? 'VACUUM' : 'ANALYZE';
    case 'GrantStmt':
    case 'GrantRoleStmt':
      return b.is_grant ? 'GRANT' : 'REVOKE';
    case 'CreateFunctionStmt':
      return b.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
    case 'FetchStmt':
      return b.ismove ? 'MOVE' : 'FETCH';
    case 'CreateTableAsStmt':
      return b.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS';
    case 'DropStmt':
      return `DROP ${objectName(b.removeType)}`.trimEnd();
  }
  return (
    STATEMENT_NAMES[kind] ??
    kind.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()
  );
}

function objectName(objtype: unknown): string {
  if (typeof objtype !== 'string') return '';
  return objtype.replace('OBJECT_', '').replace('MATVIEW', 'MATERIALIZED VIEW').replaceAll('_', ' ');
}
