import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sessionProblem } from './session-params.js';

describe('sessionProblem', () => {
  it('accepts a session with standard_conforming_strings on', () => {
    assert.equal(sessionProblem(new Map([['standard_conforming_strings', 'on']])), undefined);
  });

  it('refuses a session that reports it off or not at all, naming the setting', () => {
    assert.match(sessionProblem(new Map([['standard_conforming_strings', 'off']]))!, /standard_conforming_strings=off/);
    assert.match(sessionProblem(new Map())!, /standard_conforming_strings=\(not reported\)/);
  });
});
