import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenStore } from './token-store.js';

describe('TokenStore', () => {
  const store = new TokenStore([
    { name: 'alice', token: 'alice-token-0123456789' },
    { name: 'bob', token: 'bob-token-0123456789ab' },
  ]);

  it('maps a known token to its caller', () => {
    assert.equal(store.lookup('alice-token-0123456789'), 'alice');
    assert.equal(store.lookup('bob-token-0123456789ab'), 'bob');
  });

  it('rejects unknown, empty, prefix and extended tokens', () => {
    assert.equal(store.lookup(''), null);
    assert.equal(store.lookup('alice-token-012345678'), null);
    assert.equal(store.lookup('alice-token-0123456789x'), null);
    assert.equal(store.lookup('ALICE-TOKEN-0123456789'), null);
  });

  it('does not keep the raw tokens', () => {
    assert.doesNotMatch(JSON.stringify(store), /alice-token/);
  });
});
