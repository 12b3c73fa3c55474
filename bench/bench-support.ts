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

/** Resolves once the server's readiness probe answers 200 (the database reachable, boot checks done). */
export async function whenReady(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${baseUrl}/health/ready`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) return;
    if (Date.now() > until) throw new Error(`${baseUrl} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
