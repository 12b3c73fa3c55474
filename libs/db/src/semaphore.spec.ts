import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from './semaphore.js';
import { ServerBusyError } from './db.errors.js';

describe('Semaphore', () => {
  it('grants up to `permits` at once and queues the rest in FIFO order', async () => {
    const sem = new Semaphore(2, 10, 1_000);
    const r1 = await sem.acquire();
    const r2 = await sem.acquire();
    assert.equal(sem.inFlight, 2);
    const order: number[] = [];
    const p3 = sem.acquire().then((r) => (order.push(3), r));
    const p4 = sem.acquire().then((r) => (order.push(4), r));
    assert.equal(sem.waiting, 2);
    r1();
    const r3 = await p3;
    r2();
    const r4 = await p4;
    assert.deepEqual(order, [3, 4]);
    r3();
    r4();
    assert.equal(sem.inFlight, 0);
    assert.equal(sem.waiting, 0);
  });

  it('answers "busy" at once when the queue is full', async () => {
    const sem = new Semaphore(1, 1, 1_000);
    const r1 = await sem.acquire();
    const waiting = sem.acquire();
    await assert.rejects(sem.acquire(), (e: unknown) => e instanceof ServerBusyError && /too many queries/.test(e.message));
    r1();
    (await waiting)();
  });

  it('answers "busy" when the wait runs out, and forgets the waiter', async () => {
    const sem = new Semaphore(1, 5, 30);
    const r1 = await sem.acquire();
    await assert.rejects(sem.acquire(), (e: unknown) => e instanceof ServerBusyError && /within 30 ms/.test(e.message));
    assert.equal(sem.waiting, 0);
    r1();
    assert.equal(sem.inFlight, 0);
  });

  it('ignores a second release of the same permit', async () => {
    const sem = new Semaphore(1, 5, 1_000);
    const r1 = await sem.acquire();
    r1();
    r1();
    assert.equal(sem.inFlight, 0);
    const a = await sem.acquire();
    assert.equal(sem.inFlight, 1);
    a();
  });

  it('queue size 0 means no waiting at all', async () => {
    const sem = new Semaphore(1, 0, 1_000);
    const r = await sem.acquire();
    await assert.rejects(sem.acquire(), ServerBusyError);
    r();
  });
});
