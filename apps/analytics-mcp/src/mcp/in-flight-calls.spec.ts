import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallAbort } from './call-abort.js';
import { InFlightCalls } from './in-flight-calls.js';

describe('InFlightCalls', () => {
  it('aborts only the named caller’s call with that id', () => {
    const calls = new InFlightCalls();
    const a1 = calls.begin('alice', 1);
    const a2 = calls.begin('alice', 2);
    const b1 = calls.begin('bob', 1);
    assert.equal(calls.cancel('alice', 1, 'user pressed stop'), 1);
    assert.equal(a1.signal.aborted, true);
    assert.equal((a1.signal.reason as Error).message, 'user pressed stop');
    assert.equal(a2.signal.aborted, false);
    assert.equal(b1.signal.aborted, false);
  });

  it('tells a string id from the same number, and ignores ids that are neither', () => {
    const calls = new InFlightCalls();
    const n = calls.begin('alice', 7);
    assert.equal(calls.cancel('alice', '7'), 0);
    assert.equal(calls.cancel('alice', null), 0);
    assert.equal(n.signal.aborted, false);
    assert.equal(calls.cancel('alice', 7), 1);
    assert.equal(n.signal.aborted, true);
  });

  it('forgets a call once it ends, so a late cancel finds nothing', () => {
    const calls = new InFlightCalls();
    const c = calls.begin('alice', 'x');
    const twin = calls.begin('alice', 'x');
    c.end();
    c.end();
    assert.equal(calls.size, 1);
    twin.end();
    assert.equal(calls.size, 0);
    assert.equal(calls.cancel('alice', 'x'), 0);
    assert.equal(c.signal.aborted, false);
  });

  it('aborts the fast path\'s CallAbort, whose listeners the database layer added', () => {
    const calls = new InFlightCalls();
    const abort = new CallAbort();
    const seen: string[] = [];
    abort.addEventListener('abort', () => seen.push('cancel the statement'));
    const call = calls.begin('alice', 3, abort);
    assert.equal(calls.cancel('alice', 3, 'stop'), 1);
    assert.deepEqual(seen, ['cancel the statement']);
    assert.equal((abort.reason as Error).message, 'stop');
    assert.equal(call.signal.aborted, true, 'the AbortSignal asked for afterwards is aborted too');
    call.end();
    assert.equal(calls.size, 0);
  });
});
