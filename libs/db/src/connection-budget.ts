/**
 * How the per-role CONNECTION LIMITs on a server add up against what it can give.
 * Superusers ignore role limits and may take the reserved slots, so they are listed
 * apart; a non-superuser login without a limit makes the budget unbounded.
 */

export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

export interface RoleConnections {
  role: string;
  superuser: boolean;
  /** rolconnlimit, or null when the role has none (-1). */
  limit: number | null;
  /** Client backends of this role right now, across all databases. */
  inUse: number;
}

export interface ConnectionSnapshot {
  serverVersion: string;
  maxConnections: number;
  superuserReservedConnections: number;
  /** reserved_connections (PostgreSQL 16+); 0 on older servers. */
  reservedConnections: number;
  /** Every role that can log in, sorted by name. */
  roles: RoleConnections[];
  /** All client backends right now. */
  totalInUse: number;
}

export interface BudgetVerdict {
  /** Slots an ordinary role can get: max_connections minus both reserves. */
  available: number;
  /** Sum of the limits of non-superuser login roles that have one. */
  committed: number;
  /** available - committed; negative when over-committed. */
  headroom: number;
  /** Non-superuser logins without a CONNECTION LIMIT: each can take every slot. */
  unbounded: RoleConnections[];
  superusers: RoleConnections[];
  /** Roles currently using their whole limit: the next connect attempt fails. */
  atLimit: RoleConnections[];
  withinBudget: boolean;
  reasons: string[];
}

const SETTINGS_SQL = `
  SELECT name, setting
    FROM pg_catalog.pg_settings
   WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections',
                  'server_version')`;

const ROLES_SQL = `
  SELECT r.rolname AS role, r.rolsuper AS superuser, r.rolconnlimit AS limit,
         coalesce(a.in_use, 0)::int AS in_use
    FROM pg_catalog.pg_roles r
    LEFT JOIN (SELECT usesysid, count(*) AS in_use
                 FROM pg_catalog.pg_stat_activity
                WHERE backend_type = 'client backend'
                GROUP BY usesysid) a ON a.usesysid = r.oid
   WHERE r.rolcanlogin
   ORDER BY r.rolname`;

const TOTAL_SQL = `
  SELECT count(*)::int AS total FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'`;

function toInt(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : Number.parseInt(String(value), 10);
  if (!Number.isFinite(n)) throw new Error(`unexpected value for ${what}: ${String(value)}`);
  return n;
}

export async function readConnectionSnapshot(db: Queryable): Promise<ConnectionSnapshot> {
  const settings = new Map<string, string>();
  for (const row of (await db.query(SETTINGS_SQL)).rows) settings.set(String(row.name), String(row.setting));
  const setting = (name: string): string => {
    const v = settings.get(name);
    if (v === undefined) throw new Error(`server setting ${name} is not visible`);
    return v;
  };
  const roles: RoleConnections[] = (await db.query(ROLES_SQL)).rows.map((row) => {
    const limit = toInt(row.limit, `rolconnlimit of ${row.role}`);
    return {
      role: String(row.role),
      superuser: row.superuser === true,
      limit: limit < 0 ? null : limit,
      inUse: toInt(row.in_use, `connections of ${row.role}`),
    };
  });
  const total = (await db.query(TOTAL_SQL)).rows[0]?.total ?? 0;
  return {
    serverVersion: setting('server_version'),
    maxConnections: toInt(setting('max_connections'), 'max_connections'),
    superuserReservedConnections: toInt(setting('superuser_reserved_connections'), 'superuser_reserved_connections'),
    reservedConnections: settings.has('reserved_connections')
      ? toInt(settings.get('reserved_connections'), 'reserved_connections')
      : 0,
    roles,
    totalInUse: toInt(total, 'total connections'),
  };
}

export function assessConnectionBudget(snapshot: ConnectionSnapshot): BudgetVerdict {
  const available = Math.max(
    0,
    snapshot.maxConnections - snapshot.superuserReservedConnections - snapshot.reservedConnections,
  );
  const ordinary = snapshot.roles.filter((r) => !r.superuser);
  const superusers = snapshot.roles.filter((r) => r.superuser);
  const unbounded = ordinary.filter((r) => r.limit === null);
  const committed = ordinary.reduce((sum, r) => sum + (r.limit ?? 0), 0);
  const atLimit = ordinary.filter((r) => r.limit !== null && r.inUse >= r.limit);
  const reasons: string[] = [];
  if (committed > available) {
    reasons.push(`role limits add up to ${committed}, but only ${available} connections are available`);
  }
  for (const r of unbounded) {
    reasons.push(`role ${r.role} can log in without a CONNECTION LIMIT`);
  }
  return {
    available,
    committed,
    headroom: available - committed,
    unbounded,
    superusers,
    atLimit,
    withinBudget: reasons.length === 0,
    reasons,
  };
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export function formatConnectionBudget(snapshot: ConnectionSnapshot, verdict: BudgetVerdict): string {
  const out: string[] = [];
  out.push(`PostgreSQL ${snapshot.serverVersion} connection budget`);
  out.push(
    ...table(
      ['setting', 'value'],
      [
        ['max_connections', String(snapshot.maxConnections)],
        ['superuser_reserved_connections', String(snapshot.superuserReservedConnections)],
        ['reserved_connections', String(snapshot.reservedConnections)],
        ['available to non-superuser roles', String(verdict.available)],
        ['client connections now', String(snapshot.totalInUse)],
      ],
      new Set([1]),
    ),
  );
  out.push('');
  const rows = snapshot.roles.map((r) => {
    let note = '';
    if (r.superuser) note = 'superuser: limit not enforced, may use reserved slots';
    else if (r.limit === null) note = 'UNBOUNDED: set a CONNECTION LIMIT';
    else if (r.inUse >= r.limit) note = 'at its limit';
    return [r.role, r.superuser ? 'superuser' : r.limit === null ? 'none' : String(r.limit), String(r.inUse), note];
  });
  out.push(...table(['login role', 'limit', 'in use', 'note'], rows, new Set([1, 2])));
  out.push('');
  out.push(
    `committed: ${verdict.committed} of ${verdict.available} available (headroom ${verdict.headroom})` +
      (verdict.unbounded.length > 0 ? `, plus ${verdict.unbounded.length} unbounded role(s)` : ''),
  );
  if (verdict.withinBudget) {
    out.push('verdict: WITHIN BUDGET');
  } else {
    out.push('verdict: OVER BUDGET');
    for (const reason of verdict.reasons) out.push(`  - ${reason}`);
  }
  return out.join('\n') + '\n';
}

/**
 * The CONNECTION LIMIT of the role this connection logged in as, or null when there
 * is none that the server enforces (no limit set, or a superuser).
 */
export async function readOwnConnectionLimit(db: Queryable): Promise<number | null> {
  const { rows } = await db.query(
    'SELECT rolconnlimit, rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user',
  );
  const row = rows[0];
  if (!row || row.rolsuper === true) return null;
  const limit = toInt(row.rolconnlimit, 'rolconnlimit');
  return limit < 0 ? null : limit;
}

/** A warning when a pool of `poolMax` connections cannot fit in the role's limit. */
export function poolLimitWarning(poolMax: number, roleLimit: number | null, role = 'this role'): string | null {
  if (roleLimit === null || poolMax <= roleLimit) return null;
  return (
    `pool size ${poolMax} exceeds the CONNECTION LIMIT ${roleLimit} of ${role}; ` +
    `connections beyond ${roleLimit} will fail with "too many connections for role"`
  );
}

export interface DeploymentPlan {
  /** Server processes (Kubernetes replicas) using the role. */
  replicas: number;
  /** MCP_POOL_MAX of each; each also keeps one connection for health probes. */
  poolMax: number;
  /** The login role in DATABASE_URL. */
  role: string;
  /**
   * PgBouncer's pool size for this role and database (default_pool_size, plus
   * reserve_pool_size if set) when the replicas connect through it in transaction mode.
   */
  pgbouncerPoolSize?: number;
}

export interface DeploymentVerdict {
  /** Client connections the replicas open at most: replicas × (MCP_POOL_MAX + 1). */
  clientConnections: number;
  /** The same during a rolling update, with one surge replica. */
  peakClientConnections: number;
  /** Connections the role holds on PostgreSQL at most: the peak, or PgBouncer's pool. */
  serverConnections: number;
  /** The role's CONNECTION LIMIT (null: none, or a superuser). */
  roleLimit: number | null;
  fits: boolean;
  lines: string[];
}

/**
 * Whether `plan` fits the role's CONNECTION LIMIT. Every replica opens at most
 * MCP_POOL_MAX + 1 connections, and a rolling update runs one replica more for a
 * while. Through PgBouncer the role holds only PgBouncer's pool on PostgreSQL; the
 * replicas' connections count against PgBouncer's max_client_conn instead.
 */
export function assessDeployment(snapshot: ConnectionSnapshot, plan: DeploymentPlan): DeploymentVerdict {
  const role = snapshot.roles.find((r) => r.role === plan.role);
  if (!role) throw new Error(`login role ${plan.role} does not exist on this server`);
  const perReplica = plan.poolMax + 1;
  const clientConnections = plan.replicas * perReplica;
  const peakClientConnections = (plan.replicas + 1) * perReplica;
  const bouncer = plan.pgbouncerPoolSize !== undefined;
  const serverConnections = bouncer ? plan.pgbouncerPoolSize! : peakClientConnections;
  const roleLimit = role.superuser ? null : role.limit;
  const lines = [
    `analytics-mcp: ${plan.replicas} replica(s) × (MCP_POOL_MAX ${plan.poolMax} + 1 probe connection) = ${clientConnections} connections, ` +
      `${peakClientConnections} during a rolling update (one surge replica)`,
  ];
  if (bouncer) {
    lines.push(
      `through PgBouncer: ${plan.role} holds at most ${serverConnections} server connections (its pool size); ` +
        `PgBouncer's max_client_conn must also admit the ${peakClientConnections} client connections`,
    );
  }
  let fits = false;
  if (role.superuser) {
    lines.push(`${plan.role} is a superuser: the server refuses it (db/roles/analytics_ro.sql creates a fitting role)`);
  } else if (roleLimit === null) {
    lines.push(`${plan.role} has no CONNECTION LIMIT: set one of at least ${serverConnections}`);
  } else if (serverConnections > roleLimit) {
    lines.push(
      `${serverConnections} connections exceed the CONNECTION LIMIT ${roleLimit} of ${plan.role}: ` +
        (bouncer ? "lower PgBouncer's pool size for it, or raise the limit" : 'lower MCP_POOL_MAX or the replicas, put PgBouncer in front, or raise the limit'),
    );
  } else {
    fits = true;
    lines.push(`${serverConnections} connections fit the CONNECTION LIMIT ${roleLimit} of ${plan.role} (${roleLimit - serverConnections} to spare)`);
  }
  lines.push(`deployment verdict: ${fits ? 'FITS' : 'DOES NOT FIT'}`);
  return { clientConnections, peakClientConnections, serverConnections, roleLimit, fits, lines };
}
