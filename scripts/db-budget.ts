// npm run db:budget -- <DATABASE_URL>   (or DATABASE_URL in the environment)
// Exit 0: the role limits fit the server; 1: over budget; 2: usage or connection error.
import pg from 'pg';
import {
  assessConnectionBudget,
  formatConnectionBudget,
  readConnectionSnapshot,
} from '../libs/db/src/connection-budget.js';
import { describeDatabase } from '../apps/analytics-mcp/src/config/describe-database.js';

const USAGE = `usage: npm run db:budget -- <postgresql://user:password@host:port/db>
       DATABASE_URL=postgresql://... npm run db:budget

Prints every login role's CONNECTION LIMIT and current connections against
max_connections minus the reserved slots. Exits 0 within budget, 1 over budget,
2 on a usage or connection error.`;

async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--');
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
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
    return verdict.withinBudget ? 0 : 1;
  } catch (err) {
    process.stderr.write(`db:budget: reading the catalog failed: ${(err as Error).message}\n`);
    return 2;
  } finally {
    await client.end().catch(() => undefined);
  }
}

process.exitCode = await main(process.argv.slice(2));
