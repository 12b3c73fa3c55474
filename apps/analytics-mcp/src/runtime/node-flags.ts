/**
 * How the server's V8 heap is sized. Measured with `npm run bench:lean -- --query Q1|Q3
 * --compare-node-args=…` (bench/README.md "Memory"); every launch path gets them.
 *
 * Set at run time by main.ts before the application's modules are parsed, so no
 * launcher has to pass them (a desktop client starting `main.js --stdio` included):
 * - `--no-wasm-dynamic-tiering --no-wasm-tier-up` (together: WebAssembly stays on its
 *   baseline compiler, Liftoff): libpg-query's parser is a WebAssembly module with a
 *   very large generated parser function. V8's optimising tier recompiles its hot
 *   functions in background threads, and that compiler memory (~45 MiB) stays with
 *   glibc after the fact. Uncached guard checks parse ~10% slower; cached ones do not parse.
 * - `--heap-growing-percent=30`: after each full collection the old generation may grow
 *   30% beyond what survived, instead of up to 4×. A burst of large results then
 *   costs a few more collections, not 100 MiB of garbage kept resident.
 */
export const WASM_BASELINE_FLAGS: readonly string[] = ['--no-wasm-dynamic-tiering', '--no-wasm-tier-up'];
export const RUNTIME_V8_FLAGS: readonly string[] = [...WASM_BASELINE_FLAGS, '--heap-growing-percent=30'];

/**
 * Flags read only when the heap or the platform is created, so they must be on node's
 * command line: `npm start`, `start:stdio` and the image's CMD pass them (a test checks each).
 * - `--max-semi-space-size=4`: the young generation stops at 2 × 4 MiB instead of
 *   2 × 16 MiB, which start-up fills and then keeps (RSS after boot 133 → 109 MiB).
 * - `--v8-pool-size=2`: two V8 helper threads (GC, background compiles), not four; each
 *   keeps a stack and a malloc arena (RSS after boot ~2 MiB lower). Parallel GC phases then
 *   use at most three threads, the main one included: all a 2-core machine has anyway.
 */
export const COMMAND_LINE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--v8-pool-size=2'];

/** The runtime flags to set: all but those whose name the command line already sets (an operator's choice wins). */
export function runtimeFlagsToSet(execArgv: readonly string[]): string[] {
  const given = new Set(execArgv.map(flagName));
  return RUNTIME_V8_FLAGS.filter((f) => !given.has(flagName(f)));
}

/** `--heap-growing-percent=30` → `heap-growing-percent`; V8 treats `_` and `-` alike, and `--no-x` sets x. */
function flagName(arg: string): string {
  return arg.replace(/^--?/, '').split('=')[0]!.replace(/_/g, '-').replace(/^no-/, '');
}
