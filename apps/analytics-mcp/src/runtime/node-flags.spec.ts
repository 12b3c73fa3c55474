import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RUNTIME_V8_FLAGS, runtimeFlagsToSet } from './node-flags.js';

describe('runtimeFlagsToSet', () => {
  it('sets every runtime flag when the command line has none of them', () => {
    assert.deepEqual(runtimeFlagsToSet(['--max-semi-space-size=4']), [...RUNTIME_V8_FLAGS]);
  });

  it("leaves a flag the operator set on the command line, in any spelling", () => {
    assert.deepEqual(runtimeFlagsToSet(['--heap-growing-percent=80']), ['--no-wasm-dynamic-tiering', '--no-wasm-tier-up']);
    assert.deepEqual(runtimeFlagsToSet(['--heap_growing_percent=80', '--wasm-tier-up', '--wasm_dynamic_tiering']), []);
  });
});
