import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { COMMAND_LINE_NODE_FLAGS } from '../apps/analytics-mcp/src/runtime/node-flags.js';
import { memoryOf, spawnServer, MAIN_JS } from '../test/support/server-process.js';
import { startBenchDatabase, whenReady } from './bench-support.js';

/**
 * RSS after boot, as `npm run bench` judges it (VmRSS once `/health/ready` answers 200,
 * DATABASE_URL set, LOG_LEVEL=warn), over fresh starts: one server at a time, the
 * variants interleaved round by round so that a busy spell of the machine hits each alike.
 * Starts only; no load.
 *
 *   npm run bench:boot -- --runs 10 [--before ../checkout] [--compare-node-args="…"]
 */
interface Variant {
  name: string;
  mainJs: string;
  nodeArgs: string[];
  rssMiB: number[];
}

/** The node flags a checkout's `npm start` passes (`node <flags> dist/…/main.js`). */
async function startFlagsOf(dir: string): Promise<string[]> {
  const { scripts } = JSON.parse(await readFile(resolve(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = scripts.start!.split(' ');
  return words.slice(words.indexOf('node') + 1, words.findIndex((w) => w.endsWith('main.js')));
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      /** Another checkout, built, started as its own `npm start` does (its dist/, its flags). */
      before: { type: 'string' },
      /** Node flags for this build instead of COMMAND_LINE_NODE_FLAGS; `--node-args=` for none. */
      'node-args': { type: 'string' },
      /** Also start this build with these node flags. */
      'compare-node-args': { type: 'string' },
    },
  });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const flags = (s: string | undefined) => (s === undefined ? [...COMMAND_LINE_NODE_FLAGS] : s.split(' ').filter(Boolean));
  const variants: Variant[] = [{ name: 'this build', mainJs: MAIN_JS, nodeArgs: flags(args['node-args']), rssMiB: [] }];
  if (args['compare-node-args'] !== undefined) variants.push({ name: 'this build', mainJs: MAIN_JS, nodeArgs: flags(args['compare-node-args']), rssMiB: [] });
  if (args.before) variants.push({ name: `before (${args.before})`, mainJs: resolve(args.before, 'dist/apps/analytics-mcp/src/main.js'), nodeArgs: await startFlagsOf(args.before), rssMiB: [] });

  const demo = await startBenchDatabase(log);
  const env = { DATABASE_URL: demo.databaseUrl, LOG_LEVEL: 'warn' };
  try {
    const runs = Number(args.runs);
    for (let round = 0; round < runs; round++) {
      // Alternate which variant starts first, so neither always follows the other's exit.
      const order = round % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        const server = await spawnServer(env, { nodeArgs: v.nodeArgs, mainJs: v.mainJs });
        try {
          await whenReady(server.baseUrl);
          v.rssMiB.push((await memoryOf(server.pid)).rssKiB / 1024);
        } finally {
          await server.stop();
        }
      }
      log(`round ${round + 1}/${runs}: ${variants.map((v) => v.rssMiB.at(-1)!.toFixed(1)).join(' / ')} MiB`);
    }
  } finally {
    await demo.stop();
  }
  for (const v of variants) {
    const sorted = [...v.rssMiB].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    console.log(`${v.name}, node ${v.nodeArgs.join(' ') || '(no flags)'}: median ${median.toFixed(1)} MiB, range ${sorted[0]!.toFixed(1)}–${sorted.at(-1)!.toFixed(1)} MiB (${sorted.length} starts)`);
  }
}

if (process.argv[1]?.endsWith('boot-rss.bench.js')) {
  main().catch((err) => {
    process.stderr.write(`boot RSS bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
