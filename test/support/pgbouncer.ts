import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../apps/analytics-mcp/src/embedded/free-port.js';
import { postgresOsUser, rootSharedDir } from '../../apps/analytics-mcp/src/embedded/os-user.js';
import { waitForPort } from './service-binary.js';

export interface PgBouncerOptions {
  /** The pgbouncer executable (see serviceBinary). */
  bin: string;
  /** PostgreSQL on 127.0.0.1 it forwards every database to. */
  upstreamPort: number;
  /** Logins it accepts (and uses upstream), name → password. */
  users: Record<string, string>;
  poolMode?: 'session' | 'transaction' | 'statement';
  /** Server connections per database/user pair. */
  defaultPoolSize: number;
  /** Further pgbouncer.ini settings. */
  settings?: Record<string, string | number>;
}

export interface PgBouncer {
  port: number;
  /** A connection URL through the bouncer. */
  url(user: string, database: string): string;
  /** Everything pgbouncer logged so far. */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * A real PgBouncer on a free loopback port in front of a local PostgreSQL. It refuses
 * to run as root, so a root process runs it as the postgres OS user (as PostgreSQL).
 */
export async function startPgBouncer(opts: PgBouncerOptions): Promise<PgBouncer> {
  const runAs = await postgresOsUser();
  const dir = await mkdtemp(join(runAs ? await rootSharedDir(runAs) : tmpdir(), 'pgbouncer-'));
  const port = await freePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'scram-sha-256',
    auth_file: join(dir, 'userlist.txt'),
    pool_mode: opts.poolMode ?? 'transaction',
    default_pool_size: opts.defaultPoolSize,
    max_client_conn: 500,
    // Left empty on purpose: the server must connect without any parameter PgBouncer does not track.
    ignore_startup_parameters: '',
    log_connections: 0,
    log_disconnections: 0,
    ...opts.settings,
  };
  const ini = [
    '[databases]',
    `* = host=127.0.0.1 port=${opts.upstreamPort}`,
    '[pgbouncer]',
    ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n');
  const users = Object.entries(opts.users).map(([u, p]) => `${quote(u)} ${quote(p)}`).join('\n') + '\n';
  const iniFile = join(dir, 'pgbouncer.ini');
  await writeFile(iniFile, ini, { mode: 0o600 });
  await writeFile(join(dir, 'userlist.txt'), users, { mode: 0o600 });
  if (runAs) {
    for (const p of [dir, iniFile, join(dir, 'userlist.txt')]) await chown(p, runAs.uid, runAs.gid);
  }
  await chmod(dir, 0o700);

  const child = spawn(opts.bin, [iniFile], {
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  void exited.then(() => running.delete(child));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, { timeoutMs: 15_000, what: 'pgbouncer', alive: () => child.exitCode === null && child.signalCode === null });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${out}`);
  }
  return {
    port,
    url: (user, database) => `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(opts.users[user] ?? '')}@127.0.0.1:${port}/${database}`,
    output: () => out,
    stop,
  };
}
