import pg from 'pg';

export type ValueParser = (text: string) => unknown;

const identity: ValueParser = (text) => text;
const toNumber: ValueParser = (text) => Number(text);
// NaN and ±Infinity have no JSON number form: they stay text.
const toFloat: ValueParser = (text) => {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
};
const toBoolean: ValueParser = (text) => text === 't';
const toJson: ValueParser = (text) => JSON.parse(text);
// int8 stays exact: a number while it fits, its decimal text beyond 2^53.
const toInt8: ValueParser = (text) => {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
};

/**
 * How result values reach the model: numbers and booleans as JSON numbers/booleans,
 * json/jsonb as JSON, numeric as exact text, and dates, times and everything else as
 * PostgreSQL's own text (no Date objects, no time-zone reinterpretation).
 */
const PARSERS = new Map<number, ValueParser>([
  [16, toBoolean], // bool
  [20, toInt8], // int8
  [21, toNumber], // int2
  [23, toNumber], // int4
  [26, toNumber], // oid
  [700, toFloat], // float4
  [701, toFloat], // float8
  [114, toJson], // json
  [3802, toJson], // jsonb
]);

const ARRAY_ELEMENT = new Map<number, number>([
  [1000, 16],
  [1016, 20],
  [1005, 21],
  [1007, 23],
  [1021, 700],
  [1022, 701],
  [199, 114],
  [3807, 3802],
]);

export function parserFor(typeOid: number): ValueParser {
  const direct = PARSERS.get(typeOid);
  if (direct) return direct;
  if (ARRAY_ELEMENT.has(typeOid) || typeOid === 1009 /* text[] */ || typeOid === 1015 /* varchar[] */ || typeOid === 1003 /* name[] */) {
    // pg's array parser, then our scalar rules per element.
    const parseArray = (pg.types.getTypeParser as (oid: number, format: string) => (t: string) => unknown)(1009, 'text');
    const element = PARSERS.get(ARRAY_ELEMENT.get(typeOid) ?? 25) ?? identity;
    const mapDeep = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(mapDeep) : v === null ? null : element(v as string);
    return (text) => mapDeep(parseArray(text));
  }
  return identity;
}

/** True when results of this type reach the model as PostgreSQL's own text. */
export function keepsText(typeOid: number): boolean {
  return parserFor(typeOid) === identity;
}

/** Names for the common built-in types, so most results need no catalog lookup. */
const BUILTIN_TYPE_NAMES: Record<number, string> = {
  16: 'boolean', 17: 'bytea', 18: 'char', 19: 'name', 20: 'bigint', 21: 'smallint', 23: 'integer',
  25: 'text', 26: 'oid', 114: 'json', 142: 'xml', 199: 'json[]', 650: 'cidr', 700: 'real',
  701: 'double precision', 790: 'money', 829: 'macaddr', 869: 'inet', 1000: 'boolean[]', 1005: 'smallint[]',
  1007: 'integer[]', 1009: 'text[]', 1003: 'name[]', 1015: 'character varying[]', 1016: 'bigint[]', 1021: 'real[]',
  1022: 'double precision[]', 1042: 'character', 1043: 'character varying', 1082: 'date',
  1083: 'time without time zone', 1114: 'timestamp without time zone', 1184: 'timestamp with time zone',
  1186: 'interval', 1266: 'time with time zone', 1560: 'bit', 1562: 'bit varying', 1700: 'numeric',
  2950: 'uuid', 3802: 'jsonb', 3807: 'jsonb[]', 3904: 'int4range', 3906: 'numrange', 3908: 'tsrange',
  3910: 'tstzrange', 3912: 'daterange', 3926: 'int8range', 2249: 'record', 2278: 'void', 705: 'unknown',
  4072: 'jsonpath', 3614: 'tsvector', 3615: 'tsquery', 1115: 'timestamp without time zone[]',
  1185: 'timestamp with time zone[]', 1182: 'date[]', 1231: 'numeric[]', 2951: 'uuid[]',
};

export function builtinTypeName(typeOid: number): string | undefined {
  return BUILTIN_TYPE_NAMES[typeOid];
}
