import { execFile } from 'node:child_process';
import { lstat, mkdir, realpath, stat, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedPostgresError, reasonOf } from './embedded.errors.js';

const run = promisify(execFile);

/** The unprivileged account PostgreSQL runs as when this process is root. */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

const POSTGRES = 'postgres';
let cached: Promise<OsUser | null> | undefined;

/**
 * PostgreSQL refuses to run as root, so a root process runs it as the `postgres` OS
 * user, created (as a system account without a home) when missing. Null when this
 * process is not root: PostgreSQL then runs as the current user.
 */
export function postgresOsUser(): Promise<OsUser | null> {
  if (process.getuid?.() !== 0) return Promise.resolve(null);
  cached ??= lookupOrCreate().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function lookup(): Promise<OsUser | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', POSTGRES]), run('id', ['-g', POSTGRES])]);
    return { name: POSTGRES, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return null;
  }
}

async function lookupOrCreate(): Promise<OsUser> {
  const found = await lookup();
  if (found) return found;
  const attempts: string[][][] = [
    // shadow-utils (Debian, Ubuntu, Fedora, …)
    [
      ['groupadd', '--system', '-f', POSTGRES],
      ['useradd', '--system', '-g', POSTGRES, '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', POSTGRES],
    ],
    // busybox (Alpine)
    [
      ['addgroup', '-S', POSTGRES],
      ['adduser', '-S', '-D', '-H', '-G', POSTGRES, '-s', '/sbin/nologin', POSTGRES],
    ],
  ];
  const failures: string[] = [];
  for (const steps of attempts) {
    try {
      for (const [cmd, ...args] of steps) await run(cmd!, args);
    } catch (err) {
      failures.push(reasonOf(err));
    }
    const created = await lookup();
    if (created) return created;
  }
  throw new EmbeddedPostgresError(
    `running as root, the embedded PostgreSQL needs an unprivileged "${POSTGRES}" OS user, and creating one failed (${failures.join('; ')}): ` +
      `create it (useradd --system ${POSTGRES}), run as a normal user, or set DATABASE_URL`,
  );
}

/** Whether `user` can reach `path`: search permission on it and on every ancestor. */
export async function enterableBy(path: string, user: OsUser): Promise<boolean> {
  let p = await realpath(path);
  for (;;) {
    const st = await stat(p);
    // Kernel order: owner bits, else group bits, else other bits (supplementary groups
    // are dropped when a root process spawns a child with another uid).
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return false;
    const parent = dirname(p);
    if (parent === p) return true;
    p = parent;
  }
}

/**
 * A root-owned directory every user can enter (but only root can write), for the
 * PostgreSQL binaries and data directories of root-run clusters whose own location the
 * postgres user cannot reach (a clone under /root, a mkdtemp directory).
 */
export async function rootSharedDir(user: OsUser): Promise<string> {
  const candidates = [...new Set(['/var/tmp', tmpdir()])].filter((d) => existsSync(d));
  const problems: string[] = [];
  for (const parent of candidates) {
    const dir = join(parent, 'analytics-mcp');
    try {
      await mkdir(dir, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const st = await lstat(dir);
      if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
        problems.push(`${dir} is not a directory owned and only writable by root (remove it)`);
        continue;
      }
      if ((st.mode & 0o055) !== 0o055) await chmod(dir, 0o755);
      if (await enterableBy(dir, user)) return dir;
      problems.push(`the ${user.name} user cannot enter ${dir}`);
    } catch (err) {
      problems.push(`${dir}: ${reasonOf(err)}`);
    }
  }
  throw new EmbeddedPostgresError(
    `running as root, the embedded PostgreSQL needs a directory the ${user.name} user can enter, and none is usable (${problems.join('; ')}): ` +
      'run from a directory every user can enter, as a normal user, or set DATABASE_URL',
  );
}
