import { setFlagsFromString } from 'node:v8';
import { WASM_BASELINE_FLAGS } from '../apps/analytics-mcp/src/runtime/node-flags.js';

// The bench's SQL guard parts parse in the bench process: on the server's WebAssembly tier
// (apps/analytics-mcp/src/runtime/node-flags.ts), but not with its heap growth setting,
// which would slow the load generators and the raw pg client measured here.
for (const flag of WASM_BASELINE_FLAGS) setFlagsFromString(flag);
