import { hasSqlDetails, parseSync } from 'libpg-query';
import { findDenyFamily } from './deny-list.js';
import type { GuardPolicy } from './guard-policy.types.js';
import type { GuardVerdict } from './sql-guard.types.js';

const ONE_SELECT = 'only one read-only SELECT/WITH statement is allowed';
const EMPTY = 'empty statement; send one read-only SELECT/WITH statement';
const OK: GuardVerdict = Object.freeze({ ok: true });

type Json = { [key: string]: unknown };

/**
 * The whole decision, pure: text and policy in, verdict out. The parser must have
 * been loaded (libpg-query's loadModule) in this thread.
 */
export function checkStatement(sql: string, policy: GuardPolicy, maxBytes: number): GuardVerdict {
  if (typeof sql !== 'string') return refuse('the statement must be a string');
  // Characters never outnumber UTF-8 bytes, so only long-ish text needs counting.
  if (sql.length > maxBytes || (sql.length * 3 > maxBytes && Buffer.byteLength(sql) > maxBytes)) {
    return refuse(`statement is too long: ${Buffer.byteLength(sql)} bytes, the limit is ${maxBytes} bytes`);
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
  return walk(top, policy);
}

function refuse(reason: string): GuardVerdict {
  return { ok: false, reason };
}

/**
 * Visits every object and array in the parse tree, so no clause is skipped because
 * nobody thought to list it. Iterative: deeply nested input cannot overflow the stack.
 */
function walk(root: Json, policy: GuardPolicy): GuardVerdict {
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
      const v = value as Json;
      let verdict: GuardVerdict | undefined;
      switch (key) {
        case 'SelectStmt':
          break;
        case 'FuncCall':
          verdict = checkFunction(v.funcname, policy);
          break;
        case 'RangeTableSample':
          verdict = checkFunction(v.method, policy, 'TABLESAMPLE method');
          break;
        case 'ColumnRef': {
          // `t.f` is also functional notation for `f(t)`.
          const fields = v.fields;
          if (Array.isArray(fields) && fields.length >= 2) verdict = checkColumnNotation(fields[fields.length - 1], policy);
          break;
        }
        case 'A_Indirection': {
          const ind = v.indirection;
          if (Array.isArray(ind)) for (const part of ind) verdict ??= checkColumnNotation(part, policy);
          break;
        }
        case 'A_Expr':
          verdict = checkExprOperators(v, policy);
          break;
        case 'SortBy':
          if (Array.isArray(v.useOp)) verdict = checkOperator(v.useOp, policy);
          break;
        case 'SubLink':
          if (Array.isArray(v.operName)) verdict = checkOperator(v.operName, policy);
          break;
        case 'RangeVar':
          verdict = checkRelation(v, policy);
          break;
        case 'typeName':
        case 'TypeName':
          verdict = checkType(v.names, policy);
          break;
        case 'intoClause':
        case 'IntoClause':
          verdict = refuse('SELECT … INTO is not allowed (it creates a table); only a plain read-only SELECT is allowed');
          break;
        case 'LockingClause':
          verdict = refuse(`SELECT … ${lockName(v.strength)} is not allowed (it locks rows); only a plain read-only SELECT is allowed`);
          break;
        default:
          if (key.endsWith('Stmt') && key[0] !== key[0]!.toLowerCase()) {
            verdict = refuse(`${ONE_SELECT}; found ${statementName(key, v)}${cte ? ' inside a CTE' : ' inside the statement'}`);
          }
      }
      if (verdict) return verdict;
      stack.push(value);
      inCte.push(cte || key === 'CommonTableExpr');
    }
  }
  return OK;
}

function nameParts(list: unknown): string[] | undefined {
  const parts = Array.isArray(list) ? list.map(stringValue) : [];
  return parts.length === 0 || parts.some((p) => p === undefined) ? undefined : (parts as string[]);
}

function checkFunction(funcname: unknown, policy: GuardPolicy, what = 'function'): GuardVerdict | undefined {
  const parts = nameParts(funcname);
  if (!parts) return refuse(`a ${what} whose name is not a plain identifier is not allowed`);
  const name = parts.join('.');
  // The deny families stay as a second net, whatever the catalogue says.
  const family = findDenyFamily(parts[parts.length - 1]!);
  if (family) return refuse(`${what} ${name} is not allowed (${family.reason})`);
  if (parts.length > 2) return refuse(`${what} ${name}: cross-database references are not allowed`);
  const reason = policy.functions.get(name);
  if (reason === null) return undefined;
  if (reason === undefined) {
    return refuse(`${what} ${name} is not on the server's allow-list: no such function was in the database catalogue when the server last read it`);
  }
  return refuse(`${what} ${name} is not allowed (${reason})`);
}

function checkColumnNotation(part: unknown, policy: GuardPolicy): GuardVerdict | undefined {
  const name = stringValue(part);
  if (name === undefined) return undefined;
  const reason = findDenyFamily(name)?.reason ?? policy.columnNotation.get(name);
  return reason ? refuse(`function ${name} is not allowed (${reason}); it was called in column notation`) : undefined;
}

const BETWEEN = new Set(['AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM']);

function checkExprOperators(expr: Json, policy: GuardPolicy): GuardVerdict | undefined {
  // BETWEEN's "name" is the keyword; it compares with >= and <=.
  if (BETWEEN.has(expr.kind as string)) return checkOperator(['>='], policy) ?? checkOperator(['<='], policy);
  return Array.isArray(expr.name) ? checkOperator(expr.name, policy) : undefined;
}

function checkOperator(list: unknown[], policy: GuardPolicy): GuardVerdict | undefined {
  const parts = typeof list[0] === 'string' ? (list as string[]) : nameParts(list);
  if (!parts) return refuse('an operator whose name is not a plain identifier is not allowed');
  const name = parts.join('.');
  const reason = policy.operators.get(name);
  if (reason === null) return undefined;
  if (reason === undefined) return refuse(`operator ${name} is not on the server's allow-list: no such operator was in the database catalogue`);
  return refuse(`operator ${name} is not allowed (${reason})`);
}

function checkRelation(rv: Json, policy: GuardPolicy): GuardVerdict | undefined {
  if (typeof rv.relname !== 'string') return undefined;
  if (typeof rv.catalogname === 'string') return refuse(`relation ${rv.catalogname}.${rv.schemaname}.${rv.relname}: cross-database references are not allowed`);
  const name = typeof rv.schemaname === 'string' ? `${rv.schemaname}.${rv.relname}` : rv.relname;
  const reason = policy.deniedRelations.get(name);
  return reason ? refuse(`reading ${name} is not allowed (${reason})`) : undefined;
}

function checkType(names: unknown, policy: GuardPolicy): GuardVerdict | undefined {
  const parts = nameParts(names);
  if (!parts) return undefined;
  const reason = policy.deniedTypes.get(parts.slice(-2).join('.'));
  return reason ? refuse(`type ${parts.join('.')} is not allowed (${reason})`) : undefined;
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
