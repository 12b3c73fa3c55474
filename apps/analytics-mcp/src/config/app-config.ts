import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_ALLOWED_EXTENSIONS, NEVER_EXTENSIONS } from '#sql-guard';
import { databaseTarget } from './describe-database.js';
import { isLoopback } from './loopback.js';

/**
 * One MCP_AUTH_TOKENS entry: the analyst or client the token belongs to (every query is
 * logged under it) and the token, in plain text or as the hex SHA-256 of its UTF-8 bytes.
 */
export type AuthToken = { name: string; token: string } | { name: string; sha256: string };

/** OAuth 2.1 resource server settings; absent unless MCP_OAUTH_ISSUER is set. */
export interface OAuthConfig {
  /** The authorization server's issuer identifier, exactly as in its metadata and tokens' `iss`. */
  issuer: string;
  /** Accepted `aud` values (RFC 8707 resource indicators); by default the public /mcp URL. */
  audience: string[];
  /** Claims tried in order for the caller name. */
  callerClaims: string[];
  /** The public /mcp URL: the `resource` of the protected resource metadata. */
  resource: string;
  /** The metadata document's URL, named in every 401's WWW-Authenticate. */
  resourceMetadataUrl: string;
  /** Scopes a token needs for tools that read rows (they also cover the catalog tools); empty = none. */
  queryScopes: string[];
  /** Scopes a token needs for tools that read only the catalogue; empty = none. */
  catalogScopes: string[];
  /** Least time between two JWKS downloads (jose's cooldown; a new `kid` waits this long at most). */
  jwksCooldownMs: number;
}

export interface AppConfig {
  port: number;
  host: string;
  /** Null in embedded demo mode: main.ts starts PostgreSQL and fills `effectiveDatabaseUrl`. */
  databaseUrl: string | null;
  embedded: boolean;
  dataDir: string;
  authTokens: AuthToken[];
  maxRows: number;
  defaultRows: number;
  poolMax: number;
  /** Tool calls one caller may run at once; the rest wait behind other callers'. */
  callerMaxConcurrency: number;
  queueMax: number;
  queueTimeoutMs: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  readableSchemas: string[];
  /** Host header values accepted on /mcp (DNS-rebinding protection); null = any. */
  allowedHosts: string[] | null;
  /** HOST is a loopback address: loopback Host and Origin values are accepted on /mcp. */
  loopbackBound: boolean;
  /** Origin host names (any port) accepted on /mcp besides loopback ones on a loopback bind; `scheme://*` allows a whole non-web scheme. */
  allowedOrigins: string[];
  /** Requests per minute per caller on /mcp; 0 turns the limit off. */
  rateLimitPerMinute: number;
  shutdownGraceMs: number;
  /** Schemas for unqualified names, pinned on every transaction and used by the guard. */
  searchPath: string[];
  /** Extensions whose functions callers may use (vetted lists apply). */
  allowedExtensions: string[];
  /** `schema.name` of site-specific functions callers may use. */
  allowedFunctions: string[];
  allowActivityViews: boolean;
  /** How often the guard's allow-list is rebuilt from the catalogue. */
  catalogRefreshMs: number;
  /** Cap on a tool result's encoded size, in bytes. */
  maxResultBytes: number;
  /** Points one chart may draw: line/area charts beyond it are downsampled, others refused. */
  chartMaxPoints: number;
  /** JSON-RPC messages per POST. */
  maxBatch: number;
  /** SQL text per POST, summed over its tools/call messages, in bytes. */
  maxRequestSqlBytes: number;
  /** Single tools/call and tools/list POSTs skip the SDK's per-request Server (`on`), or every message goes through it (`off`, for comparison). */
  httpFastPath: boolean;
  /** Serve even when the DATABASE_URL role could write or administer (tests of the guard's worst case). */
  allowPrivilegedRole: boolean;
  /** Send session defaults in the `options` start-up parameter (`auto`), or never (`off`, behind PgBouncer). */
  pgStartupOptions: 'auto' | 'off';
  /** Rate-limit counters shared by every replica; null keeps them in this process. */
  redisUrl: string | null;
  oauth: OAuthConfig | null;
  /** Failed authentications per minute per client address before it gets 429; 0 = no limit. */
  authFailLimitPerMinute: number;
  /** Express `trust proxy`: proxies whose X-Forwarded-For names the client; empty = none. */
  trustedProxies: string[];
  /** Where the audit trail goes: one JSON line per tool call. */
  auditLog: 'stdout' | 'stderr' | 'off' | { file: string };
  /** Bearer token /metrics requires; null = open. */
  metricsToken: string | null;
  /** Label tool-call metrics with the caller (cardinality grows with callers). */
  metricsCallerLabel: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `auto`: human-readable when the log stream is a terminal, JSON lines otherwise. */
  logFormat: 'json' | 'pretty' | 'auto';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const IDENT = /^[a-z_][a-z0-9_$]*$/;
const QUALIFIED_FUNCTION = /^[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*$/;

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }))
  .transform((s) => s === 'true' || s === '1' || s === 'yes');
const CALLER = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,47}$/;

const SHA256_PREFIX = 'sha256:';

/**
 * `name:token` or `name:sha256:<64 hex>`, comma-separated. Problems name the entry by
 * its position (and its name where the entry is otherwise well-formed), never a token:
 * a reversed `token:name` entry must not put the token in the message.
 */
const tokens = z.string().transform((s, ctx) => {
  const out: AuthToken[] = [];
  const digests = new Map<string, string>();
  const entries = s.split(',').map((x) => x.trim()).filter(Boolean);
  entries.forEach((entry, index) => {
    const at = `entry ${index + 1}`;
    const i = entry.indexOf(':');
    const name = i > 0 ? entry.slice(0, i) : '';
    const secret = i > 0 ? entry.slice(i + 1) : '';
    const hashed = secret.startsWith(SHA256_PREFIX);
    const hex = hashed ? secret.slice(SHA256_PREFIX.length) : '';
    if (!CALLER.test(name)) {
      ctx.addIssue({ code: 'custom', message: `${at}: the name must match ${CALLER} (format name:token or name:sha256:<64 hex>, comma-separated)` });
    } else if (hashed && !/^[0-9a-fA-F]{64}$/.test(hex)) {
      ctx.addIssue({ code: 'custom', message: `${at} ("${name}"): sha256: must be followed by the 64 hex digits of the token's SHA-256` });
    } else if (!hashed && secret.length < 16) {
      ctx.addIssue({ code: 'custom', message: `${at}: the token is shorter than 16 characters (format name:token, the name first)` });
    } else if (out.some((t) => t.name === name)) {
      ctx.addIssue({ code: 'custom', message: `${at}: name "${name}" appears twice` });
    } else {
      const digest = hashed ? hex.toLowerCase() : createHash('sha256').update(secret, 'utf8').digest('hex');
      const other = digests.get(digest);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${at} ("${name}"): the token is also used by "${other}"` });
        return;
      }
      digests.set(digest, name);
      out.push(hashed ? { name, sha256: digest } : { name, token: secret });
    }
  });
  return out;
});

/** An http(s) URL; https unless its host is loopback (local identity providers, tests). */
const secureUrl = z
  .string()
  .trim()
  .superRefine((s, ctx) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute https:// URL' });
      return;
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopback(u.hostname))) {
      ctx.addIssue({ code: 'custom', message: 'must be an https:// URL (http:// only for a loopback host)' });
    } else if (u.search || u.hash || u.username || u.password) {
      ctx.addIssue({ code: 'custom', message: 'must not carry a query, a fragment or user info' });
    }
  });

/** Space- or comma-separated OAuth scope names. */
const scopeList = z
  .string()
  .transform((s) => s.split(/[\s,]+/).filter(Boolean))
  .refine((l) => l.every((x) => /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(x)), 'scopes are printable ASCII without quotes or backslashes (RFC 6749 scope-token)');

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address or CIDR block (or one of Express's names), as `trust proxy` reads them. */
function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [addr, bits, ...rest] = entry.split('/');
  const kind = isIP(addr ?? '');
  if (!kind || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (kind === 4 ? 32 : 128);
}

const envSchema = z.object({
  PORT: int(0, 65535).default(8892),
  HOST: z.string().trim().min(1).optional(),
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((s) => (s ? s : null))
    // The messages never quote the value: it holds a password.
    .superRefine((s, ctx) => {
      if (s === null) return;
      if (!/^postgres(ql)?:\/\//.test(s)) {
        ctx.addIssue({ code: 'custom', message: 'must be a postgres:// or postgresql:// URL' });
      } else if (!databaseTarget(s)) {
        ctx.addIssue({
          code: 'custom',
          message:
            'cannot be parsed as a connection URL (value not shown); percent-encode special characters in the user name, password and parameters ("@" as %40, "/" as %2F, "?" as %3F, "#" as %23) and write one host',
        });
      }
    }),
  DATA_DIR: z.string().trim().min(1).default('.data'),
  MCP_AUTH_TOKENS: tokens.optional(),
  MCP_MAX_ROWS: int(1, 1_000_000).default(10_000),
  MCP_DEFAULT_ROWS: int(1, 1_000_000).optional(),
  MCP_POOL_MAX: int(1, 200).default(8),
  MCP_CALLER_MAX_CONCURRENCY: int(1, 200).optional(),
  MCP_QUEUE_MAX: int(0, 10_000).default(64),
  MCP_QUEUE_TIMEOUT_MS: int(1, 600_000).default(10_000),
  MCP_STATEMENT_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  MCP_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5_000),
  MCP_READABLE_SCHEMAS: list
    .default(['reporting', 'tracksolid', 'tickets', 'fuel'])
    .refine((l) => l.length > 0, 'must name at least one schema')
    .refine((l) => l.every((s) => IDENT.test(s)), 'schema names must be lower-case SQL identifiers'),
  MCP_ALLOWED_HOSTS: list.optional(),
  MCP_ALLOWED_ORIGINS: list.pipe(z.array(z.string()).transform((l, ctx) => l.map((o) => originHostname(o, ctx)))).optional(),
  MCP_RATE_LIMIT_PER_MIN: int(0, 1_000_000).default(600),
  MCP_SHUTDOWN_GRACE_MS: int(0, 600_000).default(0),
  MCP_SEARCH_PATH: list
    .default(['pg_catalog', 'public'])
    .refine((l) => l.length > 0, 'must name at least one schema')
    .refine((l) => l.every((s) => IDENT.test(s)), 'schema names must be lower-case SQL identifiers'),
  MCP_ALLOWED_EXTENSIONS: list
    .default([...DEFAULT_ALLOWED_EXTENSIONS])
    .superRefine((l, ctx) => {
      for (const e of l) {
        if (NEVER_EXTENSIONS[e]) ctx.addIssue({ code: 'custom', message: `extension ${e} can never be allowed: ${NEVER_EXTENSIONS[e]}` });
        else if (!/^[a-z0-9_-]+$/.test(e)) ctx.addIssue({ code: 'custom', message: `"${e}" is not an extension name` });
      }
    }),
  MCP_ALLOWED_FUNCTIONS: list
    .default([])
    .refine((l) => l.every((f) => QUALIFIED_FUNCTION.test(f)), 'entries must be schema.function (lower-case SQL identifiers)'),
  MCP_ALLOW_ACTIVITY_VIEWS: bool.default(false),
  MCP_CATALOG_REFRESH_MS: int(1_000, 86_400_000).default(300_000),
  MCP_MAX_RESULT_BYTES: int(65_536, 1_073_741_824).default(8 * 1024 * 1024),
  MCP_CHART_MAX_POINTS: int(10, 100_000).default(5_000),
  MCP_MAX_BATCH: int(1, 1_000).default(16),
  MCP_MAX_REQUEST_SQL_BYTES: int(1_024, 16 * 1024 * 1024).default(256 * 1024),
  MCP_ALLOW_PRIVILEGED_ROLE: bool.default(false),
  MCP_PG_STARTUP_OPTIONS: z.enum(['auto', 'off']).default('auto'),
  MCP_HTTP_FAST_PATH: z.enum(['on', 'off']).default('on'),
  REDIS_URL: z
    .string()
    .trim()
    .optional()
    .transform((s) => (s ? s : null))
    // Never quoted back: it may hold a password.
    .refine((s) => s === null || isRedisUrl(s), 'must be a redis:// or rediss:// URL (value not shown)'),
  MCP_OAUTH_ISSUER: secureUrl.optional(),
  MCP_OAUTH_AUDIENCE: list.optional(),
  MCP_OAUTH_CALLER_CLAIM: list
    .default(['preferred_username', 'email', 'sub'])
    .refine((l) => l.length > 0, 'must name at least one claim'),
  MCP_OAUTH_SCOPES_QUERY: scopeList.default([]),
  MCP_OAUTH_SCOPES_CATALOG: scopeList.default([]),
  MCP_PUBLIC_URL: secureUrl.optional(),
  MCP_AUTH_FAIL_LIMIT_PER_MIN: int(0, 1_000_000).default(30),
  MCP_TRUSTED_PROXIES: list
    .default([])
    .superRefine((l, ctx) => {
      for (const p of l) {
        if (!isProxyEntry(p)) ctx.addIssue({ code: 'custom', message: `"${p}" is not an IP address, a CIDR block (10.0.0.0/8) or loopback/linklocal/uniquelocal` });
      }
    }),
  MCP_AUDIT_LOG: z
    .string()
    .trim()
    .default('stdout')
    .refine((s) => s !== '', 'must be stdout, stderr, off or a file path'),
  MCP_METRICS_TOKEN: z
    .string()
    .optional()
    .transform((s) => (s ? s : null))
    // Never quoted back.
    .refine((s) => s === null || s.length >= 16, 'must be at least 16 characters (value not shown)'),
  MCP_METRICS_CALLER_LABEL: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
});

/** Every environment variable loadConfig reads (NODE_ENV aside). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

function isRedisUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const DEFAULT_ROWS = 1_000;

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** `https://app.example.com`, `app.example.com` and `moz-extension://*` are all accepted. */
function originHostname(entry: string, ctx: z.RefinementCtx): string {
  const e = entry.toLowerCase();
  if (/^[a-z][a-z0-9+.-]*:\/\/\*$/.test(e)) return e;
  try {
    const host = new URL(e.includes('://') ? e : `http://${e}`).hostname;
    if (host) return host;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: `"${entry}" is not an origin (https://host[:port]) or a host name` });
  return e;
}

/** Reads and validates the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, { singleCaller = false } = {}): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  // The implicit default follows a lower MCP_MAX_ROWS; only an explicit pair can conflict.
  const defaultRows = e.MCP_DEFAULT_ROWS ?? Math.min(DEFAULT_ROWS, e.MCP_MAX_ROWS);
  if (e.MCP_DEFAULT_ROWS !== undefined && e.MCP_DEFAULT_ROWS > e.MCP_MAX_ROWS) {
    problems.push(`MCP_DEFAULT_ROWS: ${e.MCP_DEFAULT_ROWS} exceeds MCP_MAX_ROWS (${e.MCP_MAX_ROWS})`);
  }
  // stdio serves one caller: there is nobody to share the pool with.
  const callerMaxConcurrency =
    e.MCP_CALLER_MAX_CONCURRENCY ?? (singleCaller ? e.MCP_POOL_MAX : Math.max(1, Math.floor(e.MCP_POOL_MAX / 2)));
  if (callerMaxConcurrency > e.MCP_POOL_MAX) {
    problems.push(`MCP_CALLER_MAX_CONCURRENCY: ${callerMaxConcurrency} exceeds MCP_POOL_MAX (${e.MCP_POOL_MAX})`);
  }
  const embedded = e.DATABASE_URL === null;
  if (!embedded && (!e.MCP_AUTH_TOKENS || e.MCP_AUTH_TOKENS.length === 0) && !e.MCP_OAUTH_ISSUER) {
    problems.push('MCP_AUTH_TOKENS: required when DATABASE_URL is set and MCP_OAUTH_ISSUER is not (format name:token,name2:sha256:<hex>)');
  }
  const oauth = oauthConfig(e, problems);
  if (problems.length) throw new ConfigError(problems);
  const host = e.HOST ?? (embedded ? '127.0.0.1' : '0.0.0.0');
  const loopbackBound = isLoopback(host);
  const allowedHosts = e.MCP_ALLOWED_HOSTS?.map((h) => h.toLowerCase()) ?? (loopbackBound ? LOOPBACK : null);
  return {
    port: e.PORT,
    host,
    databaseUrl: e.DATABASE_URL,
    embedded,
    dataDir: e.DATA_DIR,
    authTokens: e.MCP_AUTH_TOKENS ?? [],
    maxRows: e.MCP_MAX_ROWS,
    defaultRows,
    poolMax: e.MCP_POOL_MAX,
    callerMaxConcurrency,
    queueMax: e.MCP_QUEUE_MAX,
    queueTimeoutMs: e.MCP_QUEUE_TIMEOUT_MS,
    statementTimeoutMs: e.MCP_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: e.MCP_CONNECT_TIMEOUT_MS,
    readableSchemas: e.MCP_READABLE_SCHEMAS,
    allowedHosts,
    loopbackBound,
    allowedOrigins: e.MCP_ALLOWED_ORIGINS ?? [],
    rateLimitPerMinute: e.MCP_RATE_LIMIT_PER_MIN,
    shutdownGraceMs: e.MCP_SHUTDOWN_GRACE_MS,
    searchPath: e.MCP_SEARCH_PATH,
    allowedExtensions: e.MCP_ALLOWED_EXTENSIONS,
    allowedFunctions: e.MCP_ALLOWED_FUNCTIONS,
    allowActivityViews: e.MCP_ALLOW_ACTIVITY_VIEWS,
    catalogRefreshMs: e.MCP_CATALOG_REFRESH_MS,
    maxResultBytes: e.MCP_MAX_RESULT_BYTES,
    chartMaxPoints: e.MCP_CHART_MAX_POINTS,
    maxBatch: e.MCP_MAX_BATCH,
    maxRequestSqlBytes: e.MCP_MAX_REQUEST_SQL_BYTES,
    httpFastPath: e.MCP_HTTP_FAST_PATH === 'on',
    allowPrivilegedRole: e.MCP_ALLOW_PRIVILEGED_ROLE,
    pgStartupOptions: e.MCP_PG_STARTUP_OPTIONS,
    redisUrl: e.REDIS_URL,
    oauth,
    authFailLimitPerMinute: e.MCP_AUTH_FAIL_LIMIT_PER_MIN,
    trustedProxies: e.MCP_TRUSTED_PROXIES,
    auditLog: ['stdout', 'stderr', 'off'].includes(e.MCP_AUDIT_LOG) ? (e.MCP_AUDIT_LOG as 'stdout' | 'stderr' | 'off') : { file: e.MCP_AUDIT_LOG },
    metricsToken: e.MCP_METRICS_TOKEN,
    metricsCallerLabel: e.MCP_METRICS_CALLER_LABEL,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'auto'),
  };
}

const JWKS_COOLDOWN_MS = 30_000;

function oauthConfig(e: z.infer<typeof envSchema>, problems: string[]): OAuthConfig | null {
  if (!e.MCP_OAUTH_ISSUER) {
    if (e.MCP_OAUTH_AUDIENCE) problems.push('MCP_OAUTH_AUDIENCE: set MCP_OAUTH_ISSUER too (OAuth is off without it)');
    if (e.MCP_OAUTH_SCOPES_QUERY.length || e.MCP_OAUTH_SCOPES_CATALOG.length) {
      problems.push('MCP_OAUTH_SCOPES_QUERY / MCP_OAUTH_SCOPES_CATALOG: set MCP_OAUTH_ISSUER too (scopes apply to OAuth tokens)');
    }
    return null;
  }
  if (!e.MCP_PUBLIC_URL) {
    problems.push('MCP_PUBLIC_URL: required with MCP_OAUTH_ISSUER (the URL clients reach this server at, e.g. https://mcp.example.com); it names this resource in the OAuth metadata and token audience');
    return null;
  }
  // The base URL; `…/mcp` is accepted too.
  const base = e.MCP_PUBLIC_URL.replace(/\/+$/, '').replace(/\/mcp$/, '');
  const origin = new URL(base);
  const path = origin.pathname === '/' ? '' : origin.pathname;
  const resource = `${base}/mcp`;
  return {
    issuer: e.MCP_OAUTH_ISSUER,
    audience: e.MCP_OAUTH_AUDIENCE?.length ? e.MCP_OAUTH_AUDIENCE : [resource],
    callerClaims: e.MCP_OAUTH_CALLER_CLAIM,
    resource,
    // RFC 9728 §3.1: the well-known segment goes between the host and the resource's path.
    resourceMetadataUrl: `${origin.origin}/.well-known/oauth-protected-resource${path}/mcp`,
    queryScopes: e.MCP_OAUTH_SCOPES_QUERY,
    catalogScopes: e.MCP_OAUTH_SCOPES_CATALOG,
    jwksCooldownMs: JWKS_COOLDOWN_MS,
  };
}
