// The container image's HEALTHCHECK: exit 0 when GET /health/live answers 200 within
// 3 s, else 1. Liveness never touches the database (see README, "Running in production").
const port = process.env.PORT || '8892';
const bound = process.env.HOST;
const host = !bound || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/health/live`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  await res.arrayBuffer();
  if (!res.ok) process.stderr.write(`healthcheck: ${url} answered ${res.status}\n`);
  process.exitCode = res.ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`healthcheck: ${url}: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
