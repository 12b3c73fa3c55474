import { z } from 'zod';
import { DEFAULT_ALLOWED_EXTENSIONS, NEVER_EXTENSIONS } from '#sql-guard';
import { databaseTarget } from './describe-database.js';
import { isLoopback } from './loopback.js';

export interface AuthToken {
  /** The analyst or client the token belongs to; every query is logged under it. */
  name: string;
  token: string;
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
  /** Serve even when the DATABASE_URL role could write or administer (tests of the guard's worst case). */
  allowPrivilegedRole: boolean;
  /** Send session defaults in the `options` start-up parameter (`auto`), or never (`off`, behind PgBouncer). */
  pgStartupOptions: 'auto' | 'off';
  /** Rate-limit counters shared by every replica; null keeps them in this process. */
  redisUrl: string | null;
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

const tokens = z.string().transform((s, ctx) => {
  const out: AuthToken[] = [];
  for (const entry of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const i = entry.indexOf(':');
    const name = i > 0 ? entry.slice(0, i) : '';
    const token = i > 0 ? entry.slice(i + 1) : '';
    if (!CALLER.test(name)) {
      ctx.addIssue({ code: 'custom', message: `entry "${redact(entry)}": name must match ${CALLER} (format name:token,name2:token2)` });
    } else if (token.length < 16) {
      ctx.addIssue({ code: 'custom', message: `token for "${name}" is shorter than 16 characters` });
    } else if (out.some((t) => t.name === name)) {
      ctx.addIssue({ code: 'custom', message: `name "${name}" appears twice` });
    } else if (out.some((t) => t.token === token)) {
      ctx.addIssue({ code: 'custom', message: `token for "${name}" is also used by another name` });
    } else {
      out.push({ name, token });
    }
  }
  return out;
});

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
  REDIS_URL: z
    .string()
    .trim()
    .optional()
    .transform((s) => (s ? s : null))
    // Never quoted back: it may hold a password.
    .refine((s) => s === null || isRedisUrl(s), 'must be a redis:// or rediss:// URL (value not shown)'),
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
  if (!embedded && (!e.MCP_AUTH_TOKENS || e.MCP_AUTH_TOKENS.length === 0)) {
    problems.push('MCP_AUTH_TOKENS: required when DATABASE_URL is set (format name:token,name2:token2)');
  }
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
    allowPrivilegedRole: e.MCP_ALLOW_PRIVILEGED_ROLE,
    pgStartupOptions: e.MCP_PG_STARTUP_OPTIONS,
    redisUrl: e.REDIS_URL,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'auto'),
  };
}

function redact(entry: string): string {
  const i = entry.indexOf(':');
  return i > 0 ? `${entry.slice(0, i)}:***` : '***';
}
