import type { AbortSignalLike } from './abort-signal-like.js';
import { QueryCancelledError, ServerBusyError } from './db.errors.js';

export interface FairSemaphoreOptions {
  /** Work allowed in flight at once, over all callers. */
  permits: number;
  /** Work one caller may have in flight at once (1 … permits). */
  perCaller: number;
  /** Calls allowed to wait, over all callers; beyond it "busy" is answered at once. */
  queueMax: number;
  /**
   * Calls one caller may have waiting. Defaults to the caller's share of the queue
   * (`queueMax × perCaller / permits`, rounded up), so one caller cannot fill it.
   */
  perCallerQueueMax?: number;
  /** Longest wait before "busy". */
  timeoutMs: number;
}

interface Waiter {
  caller: string | undefined;
  seq: number;
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  signal?: AbortSignalLike;
  onAbort?: () => void;
}

interface CallerState {
  running: number;
  waiters: Waiter[];
}

/**
 * Counts database work in flight and shares it fairly between callers. Nobody holds
 * more than `perCaller` permits, even while others sit idle: a statement can keep its
 * connection for the whole statement timeout, so a caller allowed to borrow the idle
 * ones would make the next caller wait that long. A freed permit goes to the waiting
 * caller with the fewest calls running, among equals to the one whose oldest call has
 * waited longest; a caller at its limit is passed over, so its surplus calls wait
 * behind everyone else's. Waits are bounded in count (overall and per caller) and in
 * time; past either bound the call gets a ServerBusyError. Work that names no caller
 * (the library's own look-ups) is held only to the overall bounds.
 */
export class FairSemaphore {
  readonly permits: number;
  readonly perCaller: number;
  readonly queueMax: number;
  readonly perCallerQueueMax: number;
  readonly timeoutMs: number;
  private available: number;
  private queued = 0;
  private seq = 0;
  private readonly callers = new Map<string | undefined, CallerState>();

  constructor(options: FairSemaphoreOptions) {
    const { permits, perCaller, queueMax, timeoutMs } = options;
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError('permits must be a positive integer');
    if (!Number.isInteger(perCaller) || perCaller < 1 || perCaller > permits) {
      throw new RangeError(`perCaller must be an integer from 1 to permits (${permits})`);
    }
    if (!Number.isInteger(queueMax) || queueMax < 0) throw new RangeError('queueMax must be a non-negative integer');
    const perCallerQueueMax = options.perCallerQueueMax ?? Math.ceil((queueMax * perCaller) / permits);
    if (!Number.isInteger(perCallerQueueMax) || perCallerQueueMax < 0) {
      throw new RangeError('perCallerQueueMax must be a non-negative integer');
    }
    if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.permits = permits;
    this.perCaller = perCaller;
    this.queueMax = queueMax;
    this.perCallerQueueMax = perCallerQueueMax;
    this.timeoutMs = timeoutMs;
    this.available = permits;
  }

  get inFlight(): number {
    return this.permits - this.available;
  }

  get waiting(): number {
    return this.queued;
  }

  /** Callers with calls running or waiting. */
  get activeCallers(): number {
    return this.callers.size;
  }

  /** Calls running and waiting for one caller. */
  callerStats(caller: string | undefined): { running: number; waiting: number } {
    const s = this.callers.get(caller);
    return { running: s?.running ?? 0, waiting: s?.waiters.length ?? 0 };
  }

  /**
   * Resolves with a release function, to be called exactly once when the work is done.
   * A call whose `signal` aborts while it waits leaves the queue at once and rejects
   * with a QueryCancelledError.
   */
  acquire(caller: string | undefined, signal?: AbortSignalLike): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new QueryCancelledError('queued'));
    const state = this.stateOf(caller);
    // A free permit never coexists with a waiter that may take it (release hands permits
    // straight over), so a caller under its limit may take a free one at once.
    if (this.available > 0 && state.running < this.limitOf(caller)) {
      this.grant(state);
      return Promise.resolve(this.releaser(caller));
    }
    const callerQueueMax = caller === undefined ? this.queueMax : this.perCallerQueueMax;
    if (this.queued >= this.queueMax || state.waiters.length >= callerQueueMax) {
      const reason = this.queued >= this.queueMax ? 'queue-full' : 'caller-queue-full';
      this.forgetIfIdle(caller, state);
      return Promise.reject(new ServerBusyError(reason, { callerLimit: this.perCaller }));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        caller,
        seq: this.seq++,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(waiter), this.timeoutMs),
      };
      if (signal) {
        waiter.signal = signal;
        waiter.onAbort = () => this.withdraw(waiter, new QueryCancelledError('queued'));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      state.waiters.push(waiter);
      this.queued++;
    });
  }

  private limitOf(caller: string | undefined): number {
    return caller === undefined ? this.permits : this.perCaller;
  }

  private stateOf(caller: string | undefined): CallerState {
    let state = this.callers.get(caller);
    if (!state) {
      state = { running: 0, waiters: [] };
      this.callers.set(caller, state);
    }
    return state;
  }

  private forgetIfIdle(caller: string | undefined, state: CallerState): void {
    if (state.running === 0 && state.waiters.length === 0) this.callers.delete(caller);
  }

  private grant(state: CallerState): void {
    this.available--;
    state.running++;
  }

  private expire(waiter: Waiter): void {
    // With a connection free, only this caller's own limit held the call back.
    const reason = this.available > 0 ? 'caller-timeout' : 'queue-timeout';
    this.withdraw(waiter, new ServerBusyError(reason, { waitedMs: this.timeoutMs, callerLimit: this.perCaller }));
  }

  /** Takes a waiter out of the queue (timed out or cancelled) and rejects it. */
  private withdraw(waiter: Waiter, err: Error): void {
    const state = this.callers.get(waiter.caller);
    const i = state ? state.waiters.indexOf(waiter) : -1;
    if (!state || i < 0) return;
    state.waiters.splice(i, 1);
    this.queued--;
    clearTimeout(waiter.timer);
    this.unlisten(waiter);
    this.forgetIfIdle(waiter.caller, state);
    waiter.reject(err);
  }

  private unlisten(waiter: Waiter): void {
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private releaser(caller: string | undefined): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const state = this.callers.get(caller)!;
      state.running--;
      this.available++;
      this.forgetIfIdle(caller, state);
      this.dispatch();
    };
  }

  private dispatch(): void {
    while (this.available > 0 && this.queued > 0) {
      let next: CallerState | undefined;
      for (const [caller, state] of this.callers) {
        const head = state.waiters[0];
        if (!head || state.running >= this.limitOf(caller)) continue;
        if (!next || state.running < next.running || (state.running === next.running && head.seq < next.waiters[0]!.seq)) {
          next = state;
        }
      }
      if (!next) return;
      const waiter = next.waiters.shift()!;
      this.queued--;
      clearTimeout(waiter.timer);
      this.unlisten(waiter);
      this.grant(next);
      waiter.resolve(this.releaser(waiter.caller));
    }
  }
}
