import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startEmbeddedDemo, type EmbeddedDemo } from '../apps/analytics-mcp/src/embedded/embedded-demo.js';

/** The commit a report describes. */
export function gitRevision(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The benchmark database: ~1M positions, seeded once under bench/.work and reused. */
export function startBenchDatabase(log: (line: string) => void): Promise<EmbeddedDemo> {
  return startEmbeddedDemo({
    dataDir: resolve('bench/.work'),
    seed: { devices: 100, days: 14, intervalMinutes: 2 },
    log,
  });
}
