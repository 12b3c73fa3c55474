import { execFileSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { startEmbeddedDemo, type EmbeddedDemo } from '../apps/analytics-mcp/src/embedded/embedded-demo.js';

/** The commit a report describes. */
export function gitRevision(dir?: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', ...(dir ? { cwd: dir } : {}) }).trim();
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

export type LeanEra = '2025-11-25' | '2026-07-28';

/** A fixed tools/call POST (body and headers) for the lean generator, in either protocol era. */
export function leanToolCall(era: LeanEra, token: string, name: string, args: Record<string, unknown>): { body: string; headers: Record<string, string> } {
  const modern = era === '2026-07-28';
  const params = modern
    ? { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': era, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' } } }
    : { name, arguments: args };
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params });
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'content-length': String(Buffer.byteLength(body)),
    'mcp-protocol-version': era,
    ...(modern ? { 'mcp-method': 'tools/call', 'mcp-name': name } : {}),
  };
  return { body, headers };
}

/**
 * The lean load generator: `callers` loops posting one fixed JSON-RPC request over
 * keep-alive connections for `seconds`, reading each answer whole. It costs the client
 * a few microseconds a call where the SDK client costs ~0.9 ms, so on a shared 2-core
 * machine the server, not the client, sets the pace. Every answer must be 200 and
 * carry no error (`"isError":true` or a JSON-RPC error), or the run fails.
 */
export async function leanLoad(url: string, post: { body: string; headers: Record<string, string> }, callers: number, seconds: number): Promise<{ calls: number; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: callers });
  const target = new URL(url);
  const once = () =>
    new Promise<void>((resolvePost, reject) => {
      const req = request({ agent, hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: post.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200 || text.includes('"isError":true') || text.startsWith('{"jsonrpc":"2.0","id":1,"error"')) {
            reject(new Error(`lean call failed: ${res.statusCode} ${text.slice(0, 300)}`));
          } else resolvePost();
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(post.body);
    });
  let calls = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() < until) {
          await once();
          calls++;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return { calls, seconds: (performance.now() - started) / 1000 };
}

/** One lean call at a time, `calls` times; each answer is read whole and parsed (as pg parses its rows). Returns ms per call. */
export async function leanLatency(url: string, post: { body: string; headers: Record<string, string> }, calls: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(url);
  const times: number[] = [];
  try {
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      const text = await new Promise<string>((resolvePost, reject) => {
        const req = request({ agent, hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: post.headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolvePost(Buffer.concat(chunks).toString()) : reject(new Error(`lean call: ${res.statusCode}`))));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(post.body);
      });
      const answer = JSON.parse(text) as { result?: { isError?: boolean; structuredContent?: unknown } };
      if (!answer.result || answer.result.isError || !answer.result.structuredContent) throw new Error(`lean call failed: ${text.slice(0, 300)}`);
      times.push(performance.now() - t0);
    }
  } finally {
    agent.destroy();
  }
  return times;
}
