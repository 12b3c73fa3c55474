import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';
import { DEFAULT_DEMO_SEED, isSeeded, resetReadOnlyPassword, seedDemo, type DemoSeedOptions } from './demo-seed.js';

export const DEMO_DATABASE = 'fleet';

export interface EmbeddedDemo {
  cluster: EmbeddedCluster;
  /** analytics_ro on the demo database: what the server uses. */
  databaseUrl: string;
  superuserUrl: string;
  dataDir: string;
  devToken: string;
  /** Milliseconds spent seeding on this start; 0 when the data was already there. */
  seedMs: number;
  positions: number;
  stop(): Promise<void>;
}

export interface EmbeddedDemoOptions {
  dataDir: string;
  seed?: DemoSeedOptions;
  ephemeral?: boolean;
  log?: (line: string) => void;
}

/**
 * Starts (and on first run initialises and seeds) a real PostgreSQL under
 * `<dataDir>/pg`, then hands out a fresh password for analytics_ro each start.
 */
export async function startEmbeddedDemo(opts: EmbeddedDemoOptions): Promise<EmbeddedDemo> {
  const dataDir = resolve(opts.dataDir);
  const log = opts.log ?? (() => undefined);
  await mkdir(dataDir, { recursive: true });
  const cluster = await startEmbeddedCluster({ dataDir: join(dataDir, 'pg'), ephemeral: opts.ephemeral });
  try {
    const admin = new pg.Client(cluster.url('postgres'));
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DEMO_DATABASE]);
      if (!rowCount) await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
    } finally {
      await admin.end();
    }
    const su = new pg.Client(cluster.url(DEMO_DATABASE));
    await su.connect();
    let seedMs = 0;
    let positions = 0;
    const roPassword = randomBytes(18).toString('base64url');
    try {
      if (!(await isSeeded(su))) {
        log('seeding the demo fleet database (first run only)…');
        const started = performance.now();
        positions = await seedDemo(su, opts.seed ?? DEFAULT_DEMO_SEED);
        seedMs = Math.round(performance.now() - started);
        log(`seeded ${positions} positions in ${seedMs} ms`);
      } else {
        const { rows } = await su.query<{ positions: string }>('SELECT positions FROM public.demo_seed');
        positions = Number(rows[0]?.positions ?? 0);
      }
      await resetReadOnlyPassword(su, roPassword);
    } finally {
      await su.end();
    }
    const devToken = await loadOrCreateDevToken(dataDir);
    return {
      cluster,
      databaseUrl: `postgresql://analytics_ro:${roPassword}@127.0.0.1:${cluster.port}/${DEMO_DATABASE}`,
      superuserUrl: cluster.url(DEMO_DATABASE),
      dataDir,
      devToken,
      seedMs,
      positions,
      stop: () => cluster.stop(),
    };
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
}

/** The demo's bearer token survives restarts so a pasted client config keeps working. */
async function loadOrCreateDevToken(dataDir: string): Promise<string> {
  const file = join(dataDir, 'dev-token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 16) return token;
  } catch {
    // first run
  }
  const token = randomBytes(24).toString('base64url');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}
