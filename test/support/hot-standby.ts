import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, readdir, readlink, rm, symlink, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../apps/analytics-mcp/src/embedded/embedded-cluster.js';
import { makeTempDir } from './stack.js';

export interface HotStandby {
  cluster: EmbeddedCluster;
  /** A connection URL to the standby for `user` (same passwords as the primary). */
  url(user: string, password: string, database: string): string;
  /** Waits until the standby has replayed everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

// What pg_basebackup leaves out of a base backup: per-run state, WAL (streamed from
// the slot instead) and temporary files. The directories themselves stay, empty.
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'backup_label.old', 'tablespace_map', 'tablespace_map.old', 'standby.signal', 'recovery.signal', 'current_logfiles', 'pg_internal.init']);
const EMPTY_DIRS = new Set(['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);

/**
 * A streaming hot standby of an embedded primary, built the way pg_basebackup builds
 * one, through PostgreSQL's low-level backup API: a physical replication slot keeps
 * the WAL, pg_backup_start(), a copy of the data directory, pg_backup_stop() whose
 * label becomes backup_label, then standby.signal and primary_conninfo. (The npm
 * PostgreSQL 18 package ships no pg_basebackup, and an older one refuses a newer server.)
 */
export async function startHotStandby(primary: EmbeddedCluster, settings: Record<string, string | number> = {}): Promise<HotStandby> {
  const superuserUrl = primary.url('postgres');
  const password = decodeURIComponent(new URL(superuserUrl).password);
  const slot = `amcp_standby_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client(superuserUrl);
  await admin.connect();
  const dir = await makeTempDir('amcp-standby-');
  let cluster: EmbeddedCluster;
  try {
    await admin.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    cluster = await startEmbeddedCluster({
      dataDir: join(dir, 'pg'),
      ephemeral: true,
      settings: { hot_standby: 'on', ...settings },
      populate: async (target) => {
        // Non-exclusive backup: this session must stay open until pg_backup_stop.
        await admin.query('SELECT pg_backup_start($1, true)', [slot]);
        await copyDataDir(primary.dataDir, target, true);
        const { rows } = await admin.query<{ labelfile: string; spcmapfile: string | null }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(false)');
        await writeFile(join(target, 'backup_label'), rows[0]!.labelfile);
        if (rows[0]!.spcmapfile) await writeFile(join(target, 'tablespace_map'), rows[0]!.spcmapfile);
        await writeFile(join(target, 'standby.signal'), '');
        const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres password=${password} application_name=${slot}`;
        await appendFile(join(target, 'postgresql.auto.conf'), `primary_conninfo = '${conninfo.replace(/'/g, "''")}'\nprimary_slot_name = '${slot}'\n`);
      },
    });
  } catch (err) {
    await admin.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [slot]).catch(() => undefined);
    await admin.end().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const standbyUrl = (user: string, pw: string, database: string) =>
    `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${cluster.port}/${database}`;
  return {
    cluster,
    url: standbyUrl,
    async caughtUp(timeoutMs = 30_000) {
      // The insert position: with synchronous_commit off a commit may not be written yet.
      const target = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
      const standby = new pg.Client(standbyUrl('postgres', password, 'postgres'));
      await standby.connect();
      try {
        const t0 = Date.now();
        for (;;) {
          const { rows } = await standby.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [target]);
          if (rows[0]!.done) return;
          if (Date.now() - t0 > timeoutMs) throw new Error(`the standby did not replay up to ${target} within ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await standby.end();
      }
    },
    async stop() {
      await cluster.stop().catch(() => undefined);
      await admin.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [slot]).catch(() => undefined);
      await admin.end().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Copies a live data directory, as a base backup does (files may vanish while it runs). */
async function copyDataDir(from: string, to: string, top: boolean): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o700 });
  for (const entry of await readdir(from, { withFileTypes: true }).catch(() => [])) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (SKIP_FILES.has(entry.name) || entry.name.startsWith('pgsql_tmp')) continue;
    try {
      if (entry.isDirectory()) {
        if (top && EMPTY_DIRS.has(entry.name)) {
          await mkdir(dst, { mode: 0o700 });
          if (entry.name === 'pg_wal') for (const sub of ['archive_status', 'summaries']) await mkdir(join(dst, sub), { mode: 0o700 });
        } else {
          await copyDataDir(src, dst, false);
        }
      } else if (entry.isSymbolicLink()) {
        await symlink(await readlink(src), dst);
      } else if ((await lstat(src)).isFile()) {
        await copyFile(src, dst);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
