import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CallAbort } from './call-abort.js';

describe('CallAbort', () => {
  it('runs each listener once on abort, in the order added, and keeps the reason', () => {
    const abort = new CallAbort();
    const seen: string[] = [];
    const a = () => seen.push('a');
    abort.addEventListener('abort', a);
    abort.addEventListener('abort', a);
    abort.addEventListener('abort', () => seen.push('b'));
    const removed = () => seen.push('removed');
    abort.addEventListener('abort', removed);
    abort.removeEventListener('abort', removed);
    assert.equal(abort.aborted, false);
    const reason = new Error('stop');
    abort.abort(reason);
    abort.abort(new Error('again'));
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(abort.aborted, true);
    assert.equal(abort.reason, reason);
    abort.addEventListener('abort', () => seen.push('late'));
    assert.deepEqual(seen, ['a', 'b'], 'a listener added after the abort never runs, as on an AbortSignal');
  });

  it('gives a real AbortSignal on demand, aborted with it or already aborted', () => {
    const before = new CallAbort();
    const signal = before.signal;
    assert.ok(signal instanceof AbortSignal);
    assert.equal(before.signal, signal, 'one signal per call');
    const reason = new Error('gone');
    before.abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    const after = new CallAbort();
    after.abort();
    assert.equal(after.signal.aborted, true);
    assert.equal((after.signal.reason as DOMException).name, 'AbortError');
  });

  it('still runs the other listeners when one throws, and reports the error as uncaught', async () => {
    const abort = new CallAbort();
    const seen: string[] = [];
    abort.addEventListener('abort', () => {
      throw new Error('listener failed');
    });
    abort.addEventListener('abort', () => seen.push('second'));
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    try {
      const uncaught = once(process, 'uncaughtException');
      abort.abort();
      assert.deepEqual(seen, ['second']);
      const [err] = (await uncaught) as [Error];
      assert.equal(err.message, 'listener failed');
    } finally {
      for (const l of listeners) process.on('uncaughtException', l);
    }
  });
});
