import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { connect } from 'node:net';

/** Where a Debian package puts a daemon that may not be on a normal user's PATH. */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

/** The path of an executable on PATH or in the system directories, or null. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * A real service binary the spec needs: its path, or a skip reason when it is missing.
 * CI (.ci/run) installs the packages and sets TEST_REQUIRE_SERVICES=1, so a missing
 * binary fails there instead of skipping.
 */
export function serviceBinary(name: string, debianPackage: string): { path: string; skip: false } | { path: null; skip: string } {
  const path = findBinary(name);
  if (path) return { path, skip: false };
  const reason = `${name} is not installed (Debian/Ubuntu: apt-get install ${debianPackage}; .ci/run installs it)`;
  if (process.env.TEST_REQUIRE_SERVICES === '1') throw new Error(`TEST_REQUIRE_SERVICES=1 but ${reason}`);
  return { path: null, skip: reason };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, opts: { timeoutMs: number; alive?: () => boolean; what: string }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.alive && !opts.alive()) throw new Error(`${opts.what} exited before accepting connections`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${opts.what} did not accept connections on port ${port} within ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
