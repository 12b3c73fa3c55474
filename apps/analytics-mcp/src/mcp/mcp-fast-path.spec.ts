import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cancellationOf } from '#mcp-tools';
import { CallAbort } from './call-abort.js';
import { FastCallContext } from './mcp-fast-path.js';

describe('FastCallContext', () => {
  it('gives tools the caller, the CallAbort for the database layer, and an AbortSignal built on first use', () => {
    const abort = new CallAbort();
    const ctx = new FastCallContext('alice', abort);
    assert.equal(ctx.caller, 'alice');
    assert.equal(cancellationOf(ctx), abort);
    const signal = ctx.signal;
    assert.ok(signal instanceof AbortSignal);
    assert.equal(ctx.signal, signal, 'one signal per call');
    abort.abort(new Error('stop'));
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as Error).message, 'stop');
  });

  it('keeps its getter on the prototype: a getter per call would hold the call\'s frame through young collections', () => {
    const a = new FastCallContext('alice', new CallAbort());
    const b = new FastCallContext('bob', new CallAbort());
    assert.equal(Object.getOwnPropertyDescriptor(a, 'signal'), undefined);
    assert.equal(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(a), 'signal')?.get, Object.getOwnPropertyDescriptor(Object.getPrototypeOf(b), 'signal')?.get);
  });
});
