import type { CallCancellation } from '#mcp-tools';

/**
 * One tool call's cancellation on the HTTP fast path, without an AbortSignal unless
 * somebody asks for one. Node builds an AbortSignal as an EventTarget, and creating
 * one plus adding and removing the database layer's listener cost several µs per
 * call (issue 15, bench/README.md); the database layer only needs `aborted` and a
 * listener, which this gives as an AbortSignal would: a listener added after the
 * abort never runs, each runs once, and one that throws does not stop the others.
 */
export class CallAbort implements CallCancellation {
  aborted = false;
  reason: unknown;
  private listeners: (() => void)[] = [];
  private controller: AbortController | undefined;

  /** A real AbortSignal, linked to this one (built on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted && !this.listeners.includes(listener)) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i !== -1) this.listeners.splice(i, 1);
  }

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        // As EventTarget does: the error surfaces as uncaught, the other listeners still run.
        process.nextTick(() => {
          throw err;
        });
      }
    }
    this.controller?.abort(reason);
  }
}
