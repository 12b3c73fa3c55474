// npm run db:budget -- <DATABASE_URL> [--replicas N --pool-max M --role R --pgbouncer-pool-size P]
// Exit 0: the role limits fit the server (and the deployment its role); 1: over budget;
// 2: usage or connection error.
import pg from 'pg';
import {
  assessConnectionBudget,
  assessDeployment,
  formatConnectionBudget,
  readConnectionSnapshot,
  type DeploymentPlan,
} from '../libs/db/src/connection-budget.js';
import { describeDatabase } from '../apps/analytics-mcp/src/config/describe-database.js';

const USAGE = `usage: npm run db:budget -- <postgresql://user:password@host:port/db> [deployment]
       DATABASE_URL=postgresql://... npm run db:budget -- [deployment]

Prints every login role's CONNECTION LIMIT and current connections against
max_connections minus the reserved slots. With --replicas, also checks that many
analytics-mcp replicas against their role's limit:
  --replicas N              replicas (Kubernetes pods) of the server
  --pool-max M              their MCP_POOL_MAX (default 8); each adds one probe connection
  --role R                  the login role in their DATABASE_URL (default analytics_ro)
  --pgbouncer-pool-size P   they connect through PgBouncer, whose pool for the role is P
Exits 0 within budget, 1 over budget, 2 on a usage or connection error.`;

const FLAGS = ['--replicas', '--pool-max', '--role', '--pgbouncer-pool-size'] as const;

/** Splits the positional URL from the deployment flags (--name value or --name=value). */
function parseArgs(argv: string[]): { positional: string[]; flags: Map<string, string> } | string {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (!(FLAGS as readonly string[]).includes(name)) return `unknown option ${name}`;
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') return `${name} needs a value`;
    flags.set(name, value);
  }
  return { positional, flags };
}

function deploymentPlan(flags: Map<string, string>): DeploymentPlan | null | string {
  if (!flags.has('--replicas')) return flags.size > 0 ? '--pool-max, --role and --pgbouncer-pool-size go with --replicas' : null;
  const count = (name: string, fallback?: number): number | string => {
    const raw = flags.get(name);
    if (raw === undefined) return fallback ?? NaN;
    return /^\d+$/.test(raw) && Number(raw) >= 1 ? Number(raw) : `${name} must be a whole number of at least 1`;
  };
  const replicas = count('--replicas');
  const poolMax = count('--pool-max', 8);
  const pool = flags.has('--pgbouncer-pool-size') ? count('--pgbouncer-pool-size') : undefined;
  for (const v of [replicas, poolMax, pool]) if (typeof v === 'string') return v;
  return {
    replicas: replicas as number,
    poolMax: poolMax as number,
    role: flags.get('--role') ?? 'analytics_ro',
    ...(pool !== undefined ? { pgbouncerPoolSize: pool as number } : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  const raw = argv.filter((a) => a !== '--');
  if (raw.includes('-h') || raw.includes('--help')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const parsed = parseArgs(raw);
  const plan = typeof parsed === 'string' ? parsed : deploymentPlan(parsed.flags);
  if (typeof parsed === 'string' || typeof plan === 'string') {
    process.stderr.write(`db:budget: ${typeof parsed === 'string' ? parsed : plan}\n${USAGE}\n`);
    return 2;
  }
  const args = parsed.positional;
  if (args.length > 1) {
    process.stderr.write(`db:budget: expected one connection URL, got ${args.length} arguments\n${USAGE}\n`);
    return 2;
  }
  const url = args[0] ?? process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write(`db:budget: no connection URL given and DATABASE_URL is not set\n${USAGE}\n`);
    return 2;
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    process.stderr.write(`db:budget: not a postgresql:// URL (the value is not shown: it may hold a password)\n`);
    return 2;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    process.stderr.write(`db:budget: cannot connect to ${describeDatabase(url, process.env)}: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const snapshot = await readConnectionSnapshot(client);
    const verdict = assessConnectionBudget(snapshot);
    process.stdout.write(formatConnectionBudget(snapshot, verdict));
    if (!plan) return verdict.withinBudget ? 0 : 1;
    let deployment: ReturnType<typeof assessDeployment>;
    try {
      deployment = assessDeployment(snapshot, plan);
    } catch (err) {
      process.stderr.write(`db:budget: ${(err as Error).message} (--role)\n`);
      return 2;
    }
    process.stdout.write(`\n${deployment.lines.join('\n')}\n`);
    return verdict.withinBudget && deployment.fits ? 0 : 1;
  } catch (err) {
    process.stderr.write(`db:budget: reading the catalog failed: ${(err as Error).message}\n`);
    return 2;
  } finally {
    await client.end().catch(() => undefined);
  }
}

process.exitCode = await main(process.argv.slice(2));
