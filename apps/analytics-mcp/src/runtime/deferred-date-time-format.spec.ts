import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeferredDateTimeFormat, withDeferredDateTimeFormats } from './deferred-date-time-format.js';

const OPTIONS: Intl.DateTimeFormatOptions = { year: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', day: '2-digit', month: '2-digit' };
const WHEN = Date.UTC(2026, 6, 28, 13, 5, 9);

describe('DeferredDateTimeFormat', () => {
  it('builds the real formatter on first use and answers as it does', () => {
    const real = new Intl.DateTimeFormat('en-GB', { ...OPTIONS, timeZone: 'UTC' });
    const deferred = new DeferredDateTimeFormat(Intl.DateTimeFormat, ['en-GB', { ...OPTIONS, timeZone: 'UTC' }]);
    assert.equal(deferred.built, false);
    assert.equal(deferred.format(WHEN), real.format(WHEN));
    assert.equal(deferred.built, true);
    assert.deepEqual(deferred.formatToParts(WHEN), real.formatToParts(WHEN));
    assert.equal(deferred.formatRange(WHEN, WHEN + 86_400_000), real.formatRange(WHEN, WHEN + 86_400_000));
    assert.deepEqual(deferred.formatRangeToParts(WHEN, WHEN + 3_600_000), real.formatRangeToParts(WHEN, WHEN + 3_600_000));
    assert.deepEqual(deferred.resolvedOptions(), real.resolvedOptions());
    assert.equal(Object.prototype.toString.call(deferred), '[object Intl.DateTimeFormat]');
  });

  it('throws what the real constructor throws, on first use', () => {
    const deferred = new DeferredDateTimeFormat(Intl.DateTimeFormat, ['en-US', { timeZone: 'Nowhere/Atlantis' }]);
    assert.throws(() => deferred.format(WHEN), RangeError);
  });
});

describe('withDeferredDateTimeFormats', () => {
  it('swaps the constructor while loading (with and without new) and puts it back afterwards', async () => {
    const Real = Intl.DateTimeFormat;
    const built = await withDeferredDateTimeFormats(async () => {
      assert.notEqual(Intl.DateTimeFormat, Real);
      assert.deepEqual(Intl.DateTimeFormat.supportedLocalesOf(['en-US']), ['en-US']);
      return [new Intl.DateTimeFormat('en-US', OPTIONS), (Intl.DateTimeFormat as unknown as (...a: unknown[]) => Intl.DateTimeFormat)('en-US', OPTIONS)];
    });
    assert.equal(Intl.DateTimeFormat, Real);
    for (const f of built) {
      assert.ok(f instanceof DeferredDateTimeFormat);
      assert.equal(f.built, false);
      assert.equal(f.format(WHEN), new Real('en-US', OPTIONS).format(WHEN));
    }
  });

  it('puts the constructor back when the load fails', async () => {
    const Real = Intl.DateTimeFormat;
    await assert.rejects(
      withDeferredDateTimeFormats(async () => {
        throw new Error('module failed to load');
      }),
      /module failed to load/,
    );
    assert.equal(Intl.DateTimeFormat, Real);
  });
});
