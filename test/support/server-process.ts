import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { COMMAND_LINE_NODE_FLAGS } from '../../apps/analytics-mcp/src/runtime/node-flags.js';
import { TOKENS } from './stack.js';

export const MAIN_JS = resolve('dist/apps/analytics-mcp/src/main.js');

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  baseUrl: string;
  mcpUrl: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the built server as a child process on a free port, started as in production
 * (`node --max-semi-space-size=4 --v8-pool-size=2 dist/.../main.js`) unless `nodeArgs` says otherwise.
 */
export async function spawnServer(
  env: Record<string, string>,
  { timeoutMs = 60_000, nodeArgs = [...COMMAND_LINE_NODE_FLAGS] as string[], mainJs = MAIN_JS } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, mainJs], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      MCP_AUTH_TOKENS: Object.entries(TOKENS).map(([n, t]) => `${n}:${t}`).join(','),
      MCP_RATE_LIMIT_PER_MIN: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = () => {
      const m = /listening: http:\/\/[^\s]+:(\d+)\/mcp/.exec(out);
      if (m) {
        clearTimeout(timer);
        // Matched once: scanning the whole output again on every later line (one audit
        // line per tool call) costs the parent O(n²) CPU, stolen from the server it measures.
        child.stdout!.off('data', onData);
        res(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`server exited early (code ${code}, signal ${signal}):\n${out}`));
    });
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    child,
    pid: child.pid!,
    port,
    baseUrl,
    mcpUrl: `${baseUrl}/mcp`,
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Resident set and its high-water mark of a process, from /proc (Linux). */
export async function memoryOf(pid: number): Promise<{ rssKiB: number; hwmKiB: number }> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
}

/** User+system CPU time a process has used so far, in milliseconds. */
export async function cpuMsOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

export async function openFdsOf(pid: number): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(`/proc/${pid}/fd`)).length;
}
