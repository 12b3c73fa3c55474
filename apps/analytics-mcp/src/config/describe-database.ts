import { parse } from 'pg-connection-string';

export const UNPARSABLE_DATABASE_URL = '<unparsable DATABASE_URL>';

export interface DatabaseTarget {
  host: string;
  port: string;
  database: string;
  role: string;
}

type Env = Record<string, string | undefined>;

/**
 * Where a connection URL leads, as node-postgres will read it (the same parser, the
 * same PG* environment fallbacks), with nothing that could be a secret. Null when
 * node-postgres could not parse it either.
 */
export function databaseTarget(url: string, env: Env = {}): DatabaseTarget | null {
  const parts = /^postgres(?:ql)?:\/\/([^/?#]*)(.*)$/is.exec(url);
  if (!parts) return null;
  const [, authority, rest] = parts as unknown as [string, string, string];
  // No "@" where the user:password part belongs, but one further on: a password
  // holding an unencoded "/", "?" or "#" (postgresql://u:1234?x@host/db), which turns
  // its first characters into "host:port" and the rest into path or query.
  if (!authority.includes('@') && rest.includes('@') && !/[?&]user=/i.test(rest)) return null;
  let parsed: ReturnType<typeof parse>;
  try {
    // TLS settings don't change where we connect, and parsing them reads certificate
    // files and may warn: leave them out.
    parsed = parse(`postgresql://${authority}${rest.replace(/([?&])(?:ssl[a-z]*|uselibpqcompat)=[^&#]*/gi, '$1')}`);
  } catch {
    return null;
  }
  const role = text(parsed.user) || env.PGUSER || env.USER || '';
  const target = {
    host: text(parsed.host) || env.PGHOST || 'localhost',
    port: text(parsed.port) || env.PGPORT || '5432',
    database: text(parsed.database) || env.PGDATABASE || role || '?',
    role,
  };
  return target;
}

/** `host:port/database (role)` for the banner and logs; never any part of a password. */
export function describeDatabase(url: string, env: Env = {}): string {
  const t = databaseTarget(url, env);
  if (!t) return UNPARSABLE_DATABASE_URL;
  const host = t.host.includes(':') && !t.host.startsWith('/') ? `[${t.host}]` : t.host;
  return printable(`${host}:${t.port}/${t.database} (${t.role || 'no role given'})`);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** One log line stays one line: control characters become "?". */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
