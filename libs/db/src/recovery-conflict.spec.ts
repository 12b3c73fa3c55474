import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isRetryableConflict, withConflictHint } from './recovery-conflict.js';

const pgError = (code: string, message: string, severity = 'ERROR') => Object.assign(new Error(message), { code, severity });

describe('recovery conflicts', () => {
  it('retries serialization failures and deadlocks reported as ERROR only', () => {
    assert.equal(isRetryableConflict(pgError('40001', 'canceling statement due to conflict with recovery')), true);
    assert.equal(isRetryableConflict(pgError('40P01', 'canceling statement due to conflict with recovery')), true);
    assert.equal(isRetryableConflict(pgError('40001', 'terminating connection due to conflict with recovery', 'FATAL')), false);
    assert.equal(isRetryableConflict(pgError('57014', 'canceling statement due to statement timeout')), false);
    assert.equal(isRetryableConflict(new Error('no code')), false);
  });

  it('adds a hint naming the standby, and says when the server already ran it twice', () => {
    const first = withConflictHint(pgError('40001', 'canceling statement due to conflict with recovery'), false) as Error & { hint: string };
    assert.match(first.hint, /hot standby canceled the statement/);
    assert.doesNotMatch(first.hint, /second time/);
    const again = withConflictHint(Object.assign(pgError('40001', 'canceling statement due to conflict with recovery'), { hint: 'theirs' }), true) as Error & { hint: string };
    assert.match(again.hint, /^theirs; a hot standby .*already ran it a second time.*retry it/);
    const deadlock = withConflictHint(pgError('40P01', 'deadlock detected'), false) as Error & { hint: string };
    assert.match(deadlock.hint, /rolled the transaction back .*; retry it$/);
  });
});
