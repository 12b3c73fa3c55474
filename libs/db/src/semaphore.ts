import { ServerBusyError } from './db.errors.js';

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Counts database work in flight. Callers beyond `permits` wait in FIFO order, at most
 * `queueMax` of them and for at most `timeoutMs`; past either bound they get a
 * ServerBusyError instead of piling up inside the pg pool.
 */
export class Semaphore {
  private available: number;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly permits: number,
    private readonly queueMax: number,
    private readonly timeoutMs: number,
  ) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError('permits must be a positive integer');
    this.available = permits;
  }

  get inFlight(): number {
    return this.permits - this.available;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(): Promise<() => void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.queueMax) {
      return Promise.reject(new ServerBusyError('queue-full'));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new ServerBusyError('queue-timeout', this.timeoutMs));
        }, this.timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(this.releaser());
      } else {
        this.available++;
      }
    };
  }
}
