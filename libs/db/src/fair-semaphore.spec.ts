import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as flush } from 'node:timers/promises';
import { FairSemaphore, type FairSemaphoreOptions } from './fair-semaphore.js';
import { QueryCancelledError, ServerBusyError } from './db.errors.js';

const LONG = 60_000;

function make(o: Partial<FairSemaphoreOptions> = {}): FairSemaphore {
  return new FairSemaphore({ permits: 4, perCaller: 2, queueMax: 100, timeoutMs: LONG, ...o });
}

/** Acquires for `caller` and records the label in `granted` once the permit arrives. */
function take(sem: FairSemaphore, caller: string | undefined, label: string, granted: string[], releases: Map<string, () => void>) {
  const p = sem.acquire(caller).then((release) => {
    granted.push(label);
    releases.set(label, release);
    return release;
  });
  p.catch(() => undefined);
  return p;
}

const busy = (pattern: RegExp) => (e: unknown) => e instanceof ServerBusyError && pattern.test(e.message);

describe('FairSemaphore', () => {
  it('grants up to `permits` at once over all callers, and queues the rest', async () => {
    const sem = make({ permits: 2, perCaller: 2 });
    const a = await sem.acquire('alice');
    const b = await sem.acquire('bob');
    assert.equal(sem.inFlight, 2);
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    void take(sem, 'carol', 'c1', granted, releases);
    await flush();
    assert.deepEqual(granted, []);
    assert.equal(sem.waiting, 1);
    a();
    await flush();
    assert.deepEqual(granted, ['c1']);
    b();
    releases.get('c1')!();
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.waiting, 0);
  });

  it('holds one caller to `perCaller` even while permits sit idle', async () => {
    const sem = make({ permits: 4, perCaller: 2 });
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    for (let i = 1; i <= 5; i++) void take(sem, 'alice', `a${i}`, granted, releases);
    await flush();
    assert.deepEqual(granted, ['a1', 'a2']);
    assert.equal(sem.inFlight, 2);
    assert.deepEqual(sem.callerStats('alice'), { running: 2, waiting: 3 });
    // The caller's own calls follow each other in arrival order.
    releases.get('a1')!();
    await flush();
    assert.deepEqual(granted, ['a1', 'a2', 'a3']);
    for (const l of ['a2', 'a3']) releases.get(l)!();
    await flush();
    releases.get('a4')!();
    releases.get('a5')!();
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.waiting, 0);
    assert.equal(sem.activeCallers, 0);
  });

  it('serves a second caller at once while the first has many calls waiting (the runaway-agent case)', async () => {
    const sem = make({ permits: 4, perCaller: 2 });
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    for (let i = 1; i <= 8; i++) void take(sem, 'alice', `a${i}`, granted, releases);
    await flush();
    const bob = await sem.acquire('bob');
    assert.deepEqual(sem.callerStats('bob'), { running: 1, waiting: 0 });
    assert.deepEqual(sem.callerStats('alice'), { running: 2, waiting: 6 });
    bob();
    // Draining alice's calls two at a time ends with all of them served in order.
    for (let i = 1; i <= 8; i++) {
      await flush();
      releases.get(`a${i}`)!();
    }
    await flush();
    assert.deepEqual(granted, ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8']);
    assert.equal(sem.inFlight, 0);
  });

  it('hands a freed permit to the waiting caller with the fewest calls running, passing over callers at their limit', async () => {
    const sem = make({ permits: 3, perCaller: 2 });
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    void take(sem, 'alice', 'a1', granted, releases);
    void take(sem, 'alice', 'a2', granted, releases);
    void take(sem, 'carol', 'c1', granted, releases);
    await flush();
    void take(sem, 'alice', 'a3', granted, releases); // oldest waiter
    void take(sem, 'carol', 'c2', granted, releases);
    void take(sem, 'bob', 'b1', granted, releases); // newest, but runs nothing
    await flush();
    assert.deepEqual(granted, ['a1', 'a2', 'c1']);
    releases.get('a1')!(); // alice 1, carol 1, bob 0 running
    await flush();
    assert.equal(granted.at(-1), 'b1');
    releases.get('c1')!(); // alice 1, carol 0, bob 1
    await flush();
    assert.equal(granted.at(-1), 'c2');
    releases.get('b1')!(); // alice 1, carol 1, bob 0 - only alice still waits
    await flush();
    assert.equal(granted.at(-1), 'a3');
    for (const l of ['a2', 'a3', 'c2']) releases.get(l)!();
    assert.equal(sem.inFlight, 0);
  });

  it('among callers running as many calls, serves the one waiting longest, so two busy callers alternate', async () => {
    const sem = make({ permits: 2, perCaller: 2 });
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    for (let i = 1; i <= 5; i++) void take(sem, 'alice', `a${i}`, granted, releases);
    await flush();
    for (let i = 1; i <= 3; i++) void take(sem, 'bob', `b${i}`, granted, releases);
    await flush();
    assert.deepEqual(granted, ['a1', 'a2']);
    // Finish the oldest running call each time and watch who comes next.
    for (let done = 0; done < granted.length && done < 8; done++) {
      releases.get(granted[done]!)!();
      await flush();
    }
    assert.deepEqual(granted, ['a1', 'a2', 'b1', 'a3', 'b2', 'a4', 'b3', 'a5']);
    assert.equal(sem.inFlight, 0);
  });

  it('answers "busy" at once when the whole queue is full, for every caller', async () => {
    const sem = make({ permits: 1, perCaller: 1, queueMax: 2, perCallerQueueMax: 2 });
    const r = await sem.acquire('alice');
    const w1 = sem.acquire('alice');
    const w2 = sem.acquire('bob');
    await assert.rejects(sem.acquire('carol'), busy(/too many queries are already waiting/));
    r();
    (await w1)();
    (await w2)();
    assert.equal(sem.inFlight, 0);
  });

  it("answers that caller alone \"busy\" once its share of the queue is taken; others still queue", async () => {
    const sem = make({ permits: 4, perCaller: 2, queueMax: 8 }); // per-caller queue defaults to 8 × 2/4 = 4
    assert.equal(sem.perCallerQueueMax, 4);
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    for (let i = 1; i <= 6; i++) void take(sem, 'alice', `a${i}`, granted, releases);
    await flush();
    assert.deepEqual(sem.callerStats('alice'), { running: 2, waiting: 4 });
    await assert.rejects(sem.acquire('alice'), busy(/too many of your queries are already running or waiting \(at most 2 run at once per caller\)/));
    // Bob runs on the idle permits, then queues behind them as usual.
    const bob1 = await sem.acquire('bob');
    const bob2 = await sem.acquire('bob');
    const bob3 = sem.acquire('bob');
    assert.deepEqual(sem.callerStats('bob'), { running: 2, waiting: 1 });
    bob1();
    (await bob3)();
    bob2();
    for (let i = 1; i <= 6; i++) {
      await flush();
      releases.get(`a${i}`)!();
    }
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.activeCallers, 0);
  });

  it('answers "busy" when the wait for a connection runs out, and forgets the waiter', async () => {
    const sem = make({ permits: 1, perCaller: 1, timeoutMs: 30 });
    const r = await sem.acquire('alice');
    await assert.rejects(sem.acquire('bob'), busy(/no database connection became free within 30 ms/));
    assert.equal(sem.waiting, 0);
    assert.deepEqual(sem.callerStats('bob'), { running: 0, waiting: 0 });
    r();
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.activeCallers, 0);
  });

  it("says it was the caller's own limit when permits were free all along", async () => {
    const sem = make({ permits: 4, perCaller: 1, timeoutMs: 30 });
    const r = await sem.acquire('alice');
    await assert.rejects(
      sem.acquire('alice'),
      busy(/your other queries kept your share of database connections \(1 at once per caller\) busy for 30 ms/),
    );
    assert.equal(sem.waiting, 0);
    r();
    assert.equal(sem.activeCallers, 0);
  });

  it('a timed-out waiter is skipped when permits are handed out later', async () => {
    const sem = make({ permits: 1, perCaller: 1, timeoutMs: 40 });
    const r = await sem.acquire('alice');
    const late = sem.acquire('bob');
    late.catch(() => undefined);
    await assert.rejects(late, ServerBusyError);
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    void take(sem, 'carol', 'c1', granted, releases);
    r();
    await flush();
    assert.deepEqual(granted, ['c1']);
    releases.get('c1')!();
    assert.equal(sem.inFlight, 0);
  });

  it('ignores a second release of the same permit', async () => {
    const sem = make({ permits: 1, perCaller: 1 });
    const r1 = await sem.acquire('alice');
    r1();
    r1();
    assert.equal(sem.inFlight, 0);
    const a = await sem.acquire('alice');
    assert.equal(sem.inFlight, 1);
    a();
    assert.equal(sem.inFlight, 0);
  });

  it('queue size 0 means no waiting at all', async () => {
    const sem = make({ permits: 1, perCaller: 1, queueMax: 0 });
    assert.equal(sem.perCallerQueueMax, 0);
    const r = await sem.acquire('alice');
    await assert.rejects(sem.acquire('bob'), ServerBusyError);
    r();
  });

  it('perCaller = permits behaves like one plain FIFO semaphore', async () => {
    const sem = make({ permits: 2, perCaller: 2, queueMax: 10 });
    assert.equal(sem.perCallerQueueMax, 10);
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    for (let i = 1; i <= 4; i++) void take(sem, 'alice', `a${i}`, granted, releases);
    await flush();
    assert.deepEqual(granted, ['a1', 'a2']);
    releases.get('a1')!();
    releases.get('a2')!();
    await flush();
    assert.deepEqual(granted, ['a1', 'a2', 'a3', 'a4']);
    releases.get('a3')!();
    releases.get('a4')!();
    assert.equal(sem.inFlight, 0);
  });

  it('holds work that names no caller only to the overall bounds', async () => {
    const sem = make({ permits: 3, perCaller: 1, queueMax: 4 });
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    for (let i = 1; i <= 5; i++) void take(sem, undefined, `x${i}`, granted, releases);
    await flush();
    assert.deepEqual(granted, ['x1', 'x2', 'x3']);
    assert.deepEqual(sem.callerStats(undefined), { running: 3, waiting: 2 });
    // A named caller queues beside it and, running nothing, is served first.
    void take(sem, 'alice', 'a1', granted, releases);
    releases.get('x1')!();
    await flush();
    assert.equal(granted.at(-1), 'a1');
    for (const l of ['x2', 'x3', 'a1']) releases.get(l)!();
    await flush();
    assert.deepEqual(granted.slice(-2), ['x4', 'x5']);
    releases.get('x4')!();
    releases.get('x5')!();
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.activeCallers, 0);
  });

  it('refuses impossible limits', () => {
    assert.throws(() => make({ permits: 0 }), RangeError);
    assert.throws(() => make({ permits: 2, perCaller: 3 }), /perCaller must be an integer from 1 to permits \(2\)/);
    assert.throws(() => make({ perCaller: 0 }), RangeError);
    assert.throws(() => make({ queueMax: -1 }), RangeError);
    assert.throws(() => make({ perCallerQueueMax: 1.5 }), RangeError);
    assert.throws(() => make({ timeoutMs: 0 }), RangeError);
  });

  it('keeps its invariants under a random mix of callers, acquires and releases', async () => {
    // Deterministic pseudo-random sequence so a failure can be replayed.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor(seed / 65_536) % n;
    };
    const permits = 5;
    const perCaller = 2;
    const queueMax = 12;
    const sem = make({ permits, perCaller, queueMax, perCallerQueueMax: 5 });
    const callers = ['alice', 'bob', 'carol', 'dave'];
    const held: { caller: string; release: () => void }[] = [];
    let refused = 0;
    let served = 0;
    for (let step = 0; step < 2_000; step++) {
      if (rand(2) === 0 || held.length === 0) {
        const caller = callers[rand(callers.length)]!;
        sem.acquire(caller).then(
          (release) => {
            served++;
            held.push({ caller, release });
          },
          () => refused++,
        );
      } else {
        held.splice(rand(held.length), 1)[0]!.release();
      }
      await flush();
      assert.ok(sem.inFlight <= permits);
      assert.equal(sem.inFlight, held.length);
      assert.ok(sem.waiting <= queueMax);
      let eligibleWaiting = false;
      for (const c of callers) {
        const s = sem.callerStats(c);
        assert.ok(s.running <= perCaller, `${c} runs ${s.running}`);
        assert.ok(s.waiting <= 5);
        assert.equal(s.running, held.filter((h) => h.caller === c).length);
        if (s.waiting > 0 && s.running < perCaller) eligibleWaiting = true;
      }
      // Never a free permit while someone allowed to take it waits.
      assert.ok(!(eligibleWaiting && sem.inFlight < permits), `step ${step}: idle permit with an eligible waiter`);
    }
    while (held.length) {
      held.pop()!.release();
      await flush();
    }
    assert.equal(sem.waiting, 0);
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.activeCallers, 0);
    assert.ok(served > 500 && refused > 0, `served ${served}, refused ${refused}`);
  });

  it('takes a cancelled waiter out of the queue at once, and hands its turn to the next', async () => {
    const sem = make({ permits: 1, perCaller: 1 });
    const held = await sem.acquire('alice');
    const abort = new AbortController();
    const cancelled = sem.acquire('bob', abort.signal);
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    void take(sem, 'carol', 'c1', granted, releases);
    await flush();
    assert.equal(sem.waiting, 2);
    abort.abort();
    await assert.rejects(cancelled, (e) => e instanceof QueryCancelledError && /waiting for a database connection/.test(e.message));
    assert.equal(sem.waiting, 1);
    assert.deepEqual(sem.callerStats('bob'), { running: 0, waiting: 0 });
    held();
    await flush();
    assert.deepEqual(granted, ['c1']);
    releases.get('c1')!();
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.activeCallers, 0);
  });

  it('refuses at once a call whose signal has already aborted, and ignores an abort after the grant', async () => {
    const sem = make({ permits: 1, perCaller: 1 });
    await assert.rejects(sem.acquire('alice', AbortSignal.abort()), QueryCancelledError);
    assert.equal(sem.inFlight, 0);
    const abort = new AbortController();
    const release = await sem.acquire('alice', abort.signal);
    abort.abort();
    assert.equal(sem.inFlight, 1);
    release();
    assert.equal(sem.inFlight, 0);
  });
});
