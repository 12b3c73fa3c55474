import { DENY_FAMILIES } from './deny-list.js';

/**
 * A short, bounded name for why the guard refused a statement, read from its reason:
 * a deny family (`server-files`, `sleeps`, …), or `statement` (not one plain SELECT),
 * `function`, `operator`, `relation`, `type`, `input` (empty, too long, NUL) and
 * `syntax` (the parser's error). For logs and metrics labels; the reason stays the
 * message callers read.
 */
export function refusalFamily(reason: string): string {
  for (const f of DENY_FAMILIES) if (reason.includes(`(${f.reason})`)) return f.family;
  if (/^(only one read-only SELECT|SELECT … INTO|SELECT … (FOR|FOR NO|FOR KEY) )/.test(reason)) return 'statement';
  if (/^(empty statement|statement is too long|statement contains a NUL|the statement must be a string)/.test(reason)) return 'input';
  if (/^(function |a function |TABLESAMPLE method |a TABLESAMPLE method )/.test(reason)) return 'function';
  if (/^operator /.test(reason)) return 'operator';
  if (/^reading /.test(reason)) return 'relation';
  if (/^type /.test(reason)) return 'type';
  return 'syntax';
}
