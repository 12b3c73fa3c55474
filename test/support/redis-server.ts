import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../apps/analytics-mcp/src/embedded/free-port.js';
import { waitForPort } from './service-binary.js';

export interface RedisServer {
  port: number;
  url: string;
  output(): string;
  /** Stops the server (an outage); start() brings it back on the same port, empty. */
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** A real redis-server on a free loopback port, keeping nothing on disk. */
export async function startRedisServer(bin: string): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'amcp-redis-'));
  let out = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const c = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    running.add(c);
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exited = new Promise<void>((res) => c.once('exit', () => res()));
    void exited.then(() => running.delete(c));
    try {
      await waitForPort(port, { timeoutMs: 15_000, what: 'redis-server', alive: () => c.exitCode === null && c.signalCode === null });
    } catch (err) {
      c.kill('SIGKILL');
      throw new Error(`${(err as Error).message}:\n${out}`);
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    output: () => out,
    stop,
    start,
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
