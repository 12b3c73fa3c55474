import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rejectsStartupOptions, startupClient } from './startup-params.js';

const startupConf = (c: unknown) => (c as { getStartupConf(): Record<string, string> }).getStartupConf();
const config = { user: 'analytics_ro', database: 'fleet', application_name: 'analytics-mcp', options: '-c default_transaction_read_only=on' };

describe('start-up parameters', () => {
  it('asks for UTF8 and standard_conforming_strings as parameters of their own, and for the options while allowed', () => {
    const state = { send: true };
    const Client = startupClient(state);
    assert.deepEqual(startupConf(new Client(config)), {
      user: 'analytics_ro',
      database: 'fleet',
      application_name: 'analytics-mcp',
      options: '-c default_transaction_read_only=on',
      client_encoding: 'UTF8',
      standard_conforming_strings: 'on',
    });
    state.send = false;
    const conf = startupConf(new Client(config));
    assert.equal('options' in conf, false);
    assert.equal(conf.standard_conforming_strings, 'on');
  });

  it("recognises PgBouncer's refusal, and nothing else", () => {
    const refusal = Object.assign(new Error('unsupported startup parameter: options'), { code: '08P01', severity: 'FATAL' });
    assert.equal(rejectsStartupOptions(refusal), true);
    assert.equal(rejectsStartupOptions(new Error('unsupported startup parameter in options: default_transaction_read_only')), true);
    assert.equal(rejectsStartupOptions(Object.assign(new Error('password authentication failed'), { code: '28P01' })), false);
    assert.equal(rejectsStartupOptions(Object.assign(new Error('unsupported startup parameter: x'), { code: '28000' })), false);
    assert.equal(rejectsStartupOptions('unsupported startup parameter'), false);
  });
});
