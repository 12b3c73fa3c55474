import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopback } from './loopback.js';

describe('isLoopback', () => {
  it('recognises loopback by address in every spelling', () => {
    for (const h of ['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.0.0.2', '127.255.0.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '[::ffff:127.0.0.1]', '::ffff:7f00:1', '::ffff:127.1.2.3']) {
      assert.equal(isLoopback(h), true, h);
    }
  });

  it('does not take other addresses or names for loopback', () => {
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', '::ffff:10.0.0.1', '::ffff:8.8.8.8', 'example.com', 'localhost.example.com', '1::1']) {
      assert.equal(isLoopback(h), false, h);
    }
  });
});
