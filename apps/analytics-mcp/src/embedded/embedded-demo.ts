import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';
import { EmbeddedPostgresError, reasonOf } from './embedded.errors.js';
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
  /** True when another process runs this demo's PostgreSQL and this one only uses it. */
  shared: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedDemoOptions {
  dataDir: string;
  seed?: DemoSeedOptions;
  ephemeral?: boolean;
  log?: (line: string) => void;
}

/** Passwords of the demo cluster, kept in `<dataDir>/credentials.json` (mode 0600). */
interface DemoCredentials {
  superuserPassword?: string;
  /** analytics_ro's password, set anew by the process that starts the server. */
  readOnlyPassword?: string;
}

/** The password of clusters created before the superuser had a random one. */
const LEGACY_SUPERUSER_PASSWORD = 'postgres';
const SHARED_READY_TIMEOUT_MS = 120_000;

/**
 * Starts (and on first run initialises and seeds) a real PostgreSQL under
 * `<dataDir>/pg`, then hands out a fresh password for analytics_ro each start. When
 * another process (a running `npm start`) already serves this data directory, its
 * server is used as it is.
 */
export async function startEmbeddedDemo(opts: EmbeddedDemoOptions): Promise<EmbeddedDemo> {
  const dataDir = resolve(opts.dataDir);
  const log = opts.log ?? (() => undefined);
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new EmbeddedPostgresError(`cannot create the demo data directory ${dataDir} (${reasonOf(err)}): choose another DATA_DIR`);
  }
  const credentials = await readCredentials(dataDir);
  const legacy = !credentials.superuserPassword && existsSync(join(dataDir, 'pg', 'PG_VERSION'));
  const superuserPassword = credentials.superuserPassword ?? randomBytes(18).toString('base64url');
  if (!credentials.superuserPassword) await writeCredentials(dataDir, { ...credentials, superuserPassword });

  const cluster = await startEmbeddedCluster({
    dataDir: join(dataDir, 'pg'),
    password: legacy ? LEGACY_SUPERUSER_PASSWORD : superuserPassword,
    ephemeral: opts.ephemeral,
    reuseRunning: !opts.ephemeral,
  });
  try {
    if (legacy) await cluster.changePassword(superuserPassword);
    const devToken = await loadOrCreateDevToken(dataDir);
    if (cluster.borrowed) {
      log(`using the demo PostgreSQL another process runs on port ${cluster.port}`);
      const { readOnlyPassword, positions } = await waitForSharedDemo(dataDir, cluster);
      return demo(cluster, dataDir, devToken, readOnlyPassword, 0, positions, true);
    }
    const { seedMs, positions } = await ensureSeeded(cluster, opts.seed ?? DEFAULT_DEMO_SEED, log);
    const readOnlyPassword = randomBytes(18).toString('base64url');
    await withClient(cluster.url(DEMO_DATABASE), (su) => resetReadOnlyPassword(su, readOnlyPassword));
    await writeCredentials(dataDir, { superuserPassword, readOnlyPassword });
    return demo(cluster, dataDir, devToken, readOnlyPassword, seedMs, positions, false);
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
}

function demo(
  cluster: EmbeddedCluster,
  dataDir: string,
  devToken: string,
  readOnlyPassword: string,
  seedMs: number,
  positions: number,
  shared: boolean,
): EmbeddedDemo {
  return {
    cluster,
    databaseUrl: `postgresql://analytics_ro:${encodeURIComponent(readOnlyPassword)}@127.0.0.1:${cluster.port}/${DEMO_DATABASE}`,
    superuserUrl: cluster.url(DEMO_DATABASE),
    dataDir,
    devToken,
    seedMs,
    positions,
    shared,
    stop: () => cluster.stop(),
  };
}

async function ensureSeeded(
  cluster: EmbeddedCluster,
  seed: DemoSeedOptions,
  log: (line: string) => void,
): Promise<{ seedMs: number; positions: number }> {
  await withClient(cluster.url('postgres'), async (admin) => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DEMO_DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
  });
  return withClient(cluster.url(DEMO_DATABASE), async (su) => {
    if (await isSeeded(su)) {
      const { rows } = await su.query<{ positions: string }>('SELECT positions FROM public.demo_seed');
      return { seedMs: 0, positions: Number(rows[0]?.positions ?? 0) };
    }
    log('seeding the demo fleet database (first run only)…');
    const started = performance.now();
    const positions = await seedDemo(su, seed);
    const seedMs = Math.round(performance.now() - started);
    log(`seeded ${positions} positions in ${seedMs} ms`);
    return { seedMs, positions };
  });
}

/**
 * The process that started the server may still be seeding: wait until analytics_ro
 * can log in with the password it wrote and the seed is complete.
 */
async function waitForSharedDemo(dataDir: string, cluster: EmbeddedCluster): Promise<{ readOnlyPassword: string; positions: number }> {
  const deadline = Date.now() + SHARED_READY_TIMEOUT_MS;
  let last = '';
  for (;;) {
    const { readOnlyPassword } = await readCredentials(dataDir);
    try {
      if (!readOnlyPassword) throw new Error('its analytics_ro password is not written yet');
      const url = `postgresql://analytics_ro:${encodeURIComponent(readOnlyPassword)}@127.0.0.1:${cluster.port}/${DEMO_DATABASE}`;
      await withClient(url, (c) => c.query('SELECT 1'));
      const positions = await withClient(cluster.url(DEMO_DATABASE), async (su) => {
        if (!(await isSeeded(su))) throw new Error('it is still seeding');
        const { rows } = await su.query<{ positions: string }>('SELECT positions FROM public.demo_seed');
        return Number(rows[0]?.positions ?? 0);
      });
      return { readOnlyPassword, positions };
    } catch (err) {
      last = reasonOf(err);
    }
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(
        `the demo PostgreSQL that another process runs on port ${cluster.port} is not usable (${last}): stop that process, or set DATA_DIR to a separate directory`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function readCredentials(dataDir: string): Promise<DemoCredentials> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as DemoCredentials;
  } catch {
    return {};
  }
}

async function writeCredentials(dataDir: string, credentials: DemoCredentials): Promise<void> {
  const file = join(dataDir, 'credentials.json');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
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
