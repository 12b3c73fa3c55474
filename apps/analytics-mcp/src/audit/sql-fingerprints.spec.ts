import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DEFAULT_SQL_FINGERPRINTS, SqlFingerprints, sqlFingerprint } from './sql-fingerprints.js';

const sha16 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 16);

describe('sqlFingerprint', () => {
  it('is the first 16 hex digits of the text’s sha256 (UTF-8)', () => {
    assert.equal(sqlFingerprint('SELECT 1'), sha16('SELECT 1'));
    assert.equal(sqlFingerprint("SELECT 'é'"), sha16("SELECT 'é'"));
    assert.notEqual(sqlFingerprint('SELECT 1'), sqlFingerprint('SELECT 1 '));
  });
});

describe('SqlFingerprints', () => {
  it('gives the same fingerprint as sqlFingerprint, from memory the second time', () => {
    const fp = new SqlFingerprints();
    const text = 'SELECT * FROM tracksolid.devices LIMIT 5';
    assert.equal(fp.of(text), sqlFingerprint(text));
    assert.equal(fp.size, 1);
    // A different string object with the same text finds the same entry.
    assert.equal(fp.of([text].join('')), sqlFingerprint(text));
    assert.equal(fp.size, 1);
    assert.equal(fp.heldLength, text.length);
  });

  it('keeps at most maxEntries, evicting the least recently used', () => {
    const fp = new SqlFingerprints({ ...DEFAULT_SQL_FINGERPRINTS, maxEntries: 3 });
    for (const t of ['SELECT 1', 'SELECT 2', 'SELECT 3']) fp.of(t);
    fp.of('SELECT 1'); // now the most recent; SELECT 2 is the oldest
    fp.of('SELECT 4');
    assert.equal(fp.size, 3);
    assert.deepEqual(['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4'].map((t) => fp.has(t)), [true, false, true, true]);
    fp.of('SELECT 5'); // SELECT 3 is now the oldest
    assert.deepEqual(['SELECT 1', 'SELECT 3', 'SELECT 4', 'SELECT 5'].map((t) => fp.has(t)), [true, false, true, true]);
    assert.equal(fp.heldLength, 3 * 'SELECT 1'.length);
    for (const t of ['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4', 'SELECT 5']) assert.equal(fp.of(t), sqlFingerprint(t));
    assert.equal(fp.size, 3);
  });

  it('stays within 1,000 entries by default', () => {
    const fp = new SqlFingerprints();
    for (let i = 0; i < 2_500; i++) fp.of(`SELECT ${i}`);
    assert.equal(fp.size, 1_000);
    assert.deepEqual([fp.has('SELECT 1499'), fp.has('SELECT 1500'), fp.has('SELECT 2499')], [false, true, true]);
  });

  it('never keeps a text longer than maxTextLength, and stays within maxTotalLength', () => {
    const fp = new SqlFingerprints({ maxEntries: 100, maxTextLength: 50, maxTotalLength: 100 });
    const long = `SELECT '${'x'.repeat(60)}'`;
    assert.equal(fp.of(long), sqlFingerprint(long));
    assert.equal(fp.size, 0);
    const texts = ['a', 'b', 'c'].map((c) => `SELECT '${c.repeat(30)}'`); // 39 code units each
    for (const t of texts) fp.of(t);
    assert.deepEqual(texts.map((t) => fp.has(t)), [false, true, true]);
    assert.equal(fp.heldLength, 78);
  });

  it('keeps nothing with maxEntries 0', () => {
    const fp = new SqlFingerprints({ ...DEFAULT_SQL_FINGERPRINTS, maxEntries: 0 });
    assert.equal(fp.of('SELECT 1'), sqlFingerprint('SELECT 1'));
    assert.equal(fp.size, 0);
  });

  it('skips texts past 8 KiB by default', () => {
    const fp = new SqlFingerprints();
    fp.of(`SELECT '${'x'.repeat(8_200)}'`);
    assert.equal(fp.size, 0);
  });
});

