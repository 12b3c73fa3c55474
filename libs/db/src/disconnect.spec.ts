import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDisconnectError } from './disconnect.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('isDisconnectError', () => {
  for (const code of ['08000', '08003', '08006', '08001', '08004', '08P01', '57P01', '57P02', '57P03']) {
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
  for (const code of ['57014', '42601', '42P01', '25006', '42501', '53300', '40001']) {
    it(`keeps the connection for SQLSTATE ${code}`, () => assert.equal(isDisconnectError(pgError(code, 'Connection terminated? no')), false));
  }
  it('ignores non-errors', () => {
    assert.equal(isDisconnectError(undefined), false);
    assert.equal(isDisconnectError('Connection terminated'), false);
    assert.equal(isDisconnectError(new Error('syntax error')), false);
  });
});
