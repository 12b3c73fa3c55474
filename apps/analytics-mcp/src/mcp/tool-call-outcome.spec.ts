import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DbUnavailableError, ServerBusyError, UnsafeSessionError } from '#db';
import { ToolError } from '#mcp-tools';
import { outcomeOf } from './tool-call-outcome.js';

const pgError = (code: string) => Object.assign(new Error('x'), { code, severity: 'ERROR' });

describe('outcomeOf', () => {
  it('names each way a call can end in a bounded label', () => {
    assert.equal(outcomeOf(new ToolError('no', 'refused:sleeps')), 'refused:sleeps');
    assert.equal(outcomeOf(new ToolError('no', 'refused')), 'refused');
    assert.equal(outcomeOf(new ToolError('gone', 'cancelled')), 'cancelled');
    assert.equal(outcomeOf(new ToolError('policy not loaded', 'unavailable')), 'unavailable');
    assert.equal(outcomeOf(new ToolError('bad schema')), 'error:tool');
    assert.equal(outcomeOf(new ToolError('bad chart', 'invalid_chart')), 'error:invalid_chart');
    assert.equal(outcomeOf(pgError('57014')), 'timeout');
    assert.equal(outcomeOf(pgError('25006')), 'error:25006');
    assert.equal(outcomeOf(pgError('42501')), 'error:42501');
    assert.equal(outcomeOf(new ServerBusyError('queue-full')), 'busy');
    assert.equal(outcomeOf(new DbUnavailableError('ECONNREFUSED')), 'unavailable');
    assert.equal(outcomeOf(new UnsafeSessionError('x')), 'error:unsafe_session');
    assert.equal(outcomeOf(Object.assign(new Error('pipe'), { code: 'EPIPE' })), 'error:internal', 'a Node error code is not a SQLSTATE');
    assert.equal(outcomeOf(new Error('boom')), 'error:internal');
  });

  it('calls a call whose signal was aborted cancelled, whatever it threw', () => {
    const ac = new AbortController();
    ac.abort();
    assert.equal(outcomeOf(pgError('57014'), ac.signal), 'cancelled');
    assert.equal(outcomeOf(new ToolError('cancelled', 'cancelled'), ac.signal), 'cancelled');
  });
});
