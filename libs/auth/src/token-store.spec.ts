import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

describe('TokenStore with hashed entries', () => {
  const hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

  it('matches a token against its SHA-256 digest, mixed with plain entries', () => {
    const store = new TokenStore([
      { name: 'carol', sha256: hex('carol-token-0123456789') },
      { name: 'dave', token: 'dave-token-0123456789ab' },
      { name: 'erin', sha256: hex('erin-token-0123456789').toUpperCase() },
    ]);
    assert.equal(store.lookup('carol-token-0123456789'), 'carol');
    assert.equal(store.lookup('dave-token-0123456789ab'), 'dave');
    assert.equal(store.lookup('erin-token-0123456789'), 'erin');
    // The digest itself is not a token.
    assert.equal(store.lookup(hex('carol-token-0123456789')), null);
  });

  it('refuses a digest of the wrong length', () => {
    assert.throws(() => new TokenStore([{ name: 'x', sha256: 'abcd' }]), /64 hex digits/);
  });
});
