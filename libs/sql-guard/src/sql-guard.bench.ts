import type { GuardPolicy } from './guard-policy.types.js';
import { createSqlGuard } from './sql-guard.service.js';

const SAMPLE_SQL = `
SELECT d.depot,
       d.plate,
       date_trunc('day', p.recorded_at) AS day,
       count(*) AS fixes,
       max(p.speed_kmh) AS max_speed,
       rank() OVER (PARTITION BY d.depot ORDER BY max(p.speed_kmh) DESC) AS speed_rank
FROM tracksolid.position_history p
JOIN tracksolid.devices d ON d.device_id = p.device_id
WHERE p.recorded_at >= now() - interval '2 days' AND d.active
GROUP BY d.depot, d.plate, date_trunc('day', p.recorded_at)
ORDER BY d.depot, speed_rank
LIMIT 50`;

/** The guard's cost per check() on a typical analytical query (join, group by, window). */
export async function benchGuard(policy: GuardPolicy, iterations = 20_000): Promise<{ p50Ms: number; p95Ms: number; sampleSql: string }> {
  const guard = await createSqlGuard();
  const warmup = Math.min(1_000, iterations);
  for (let i = 0; i < warmup; i++) guard.check(SAMPLE_SQL, policy);
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const verdict = guard.check(SAMPLE_SQL, policy);
    samples[i] = performance.now() - t0;
    if (!verdict.ok) throw new Error(`benchmark query refused: ${verdict.reason}`);
  }
  samples.sort();
  const at = (q: number) => samples[Math.min(iterations - 1, Math.floor(q * iterations))]!;
  return { p50Ms: at(0.5), p95Ms: at(0.95), sampleSql: SAMPLE_SQL.trim() };
}

/** checkAsync() on a statement whose verdict is cached (the same text and policy again). */
export async function benchGuardCacheHit(policy: GuardPolicy, iterations = 20_000): Promise<{ p50Ms: number; p95Ms: number }> {
  const guard = await createSqlGuard();
  try {
    await guard.checkAsync(SAMPLE_SQL, policy);
    const samples = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await guard.checkAsync(SAMPLE_SQL, policy);
      samples[i] = performance.now() - t0;
    }
    samples.sort();
    const at = (q: number) => samples[Math.min(iterations - 1, Math.floor(q * iterations))]!;
    return { p50Ms: at(0.5), p95Ms: at(0.95) };
  } finally {
    await guard.onModuleDestroy();
  }
}
