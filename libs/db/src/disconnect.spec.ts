import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDisconnectError } from './disconnect.js';

const pgError = (code: string, message = 'x', severity = 'FATAL') => Object.assign(new Error(message), { code, severity });

describe('isDisconnectError', () => {
  for (const code of ['08000', '08003', '08006', '08001', '08004', '57P01', '57P02', '57P03']) {
    it(`treats SQLSTATE ${code} as a lost connection`, () => assert.equal(isDisconnectError(pgError(code)), true));
  }
  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']) {
    it(`treats socket error ${code} as a lost connection`, () => assert.equal(isDisconnectError(pgError(code)), true));
  }
  it('recognises node-postgres "Connection terminated" errors', () => {
    assert.equal(isDisconnectError(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isDisconnectError(new Error('Connection terminated due to connection timeout')), true);
    assert.equal(isDisconnectError(new Error('Client has encountered a connection error and is not queryable')), true);
  });
  for (const code of ['57014', '42601', '42P01', '25006', '42501', '40001', '08P01']) {
    it(`keeps the connection for SQLSTATE ${code} at severity ERROR`, () =>
      assert.equal(isDisconnectError(pgError(code, 'Connection terminated? no', 'ERROR')), false));
  }
  it('treats any FATAL server error as the end of the session (auth, too many clients, idle timeouts)', () => {
    for (const code of ['28P01', '53300', '25P03', '57P05']) assert.equal(isDisconnectError(pgError(code)), true, code);
  });
  it('ignores non-errors', () => {
    assert.equal(isDisconnectError(undefined), false);
    assert.equal(isDisconnectError('Connection terminated'), false);
    assert.equal(isDisconnectError(new Error('syntax error')), false);
  });
});
