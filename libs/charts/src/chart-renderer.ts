import { Worker } from 'node:worker_threads';
import { ChartInputError, ChartRenderError } from './chart.errors.js';
import type { ChartRequest, RenderedChart } from './chart.types.js';
import type { ChartWorkerReply, ChartWorkerRequest } from './chart-worker.thread.js';

export interface ChartRendererOptions {
  /** Worker threads drawing charts; renders beyond them wait in the queue. */
  workers?: number;
  /** Renders allowed to wait; past that a render fails at once as busy. */
  maxQueue?: number;
  /** A render still running after this is abandoned and its worker replaced. */
  timeoutMs?: number;
}

export interface RenderResult extends RenderedChart {
  /** From the call to the answer: waiting for a worker, drawing, rasterising. */
  totalMs: number;
}

interface Job {
  id: number;
  request: ChartRequest;
  started: number;
  resolve: (r: RenderResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job?: Job;
  timer?: NodeJS.Timeout;
}

/**
 * Draws charts on a small pool of worker threads, so a render (about 100 ms for a
 * thousand points) never holds the event loop other callers need. Bounded: a fixed
 * number of workers, a queue limit, and a time limit per render. Workers start on
 * first use and do not keep the process alive.
 */
export class ChartRenderer {
  private readonly size: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: ChartRendererOptions = {}) {
    this.size = Math.max(1, options.workers ?? 1);
    this.maxQueue = Math.max(0, options.maxQueue ?? 16);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.slots = new Array(this.size).fill(undefined);
  }

  render(request: ChartRequest): Promise<RenderResult> {
    if (this.closed) return Promise.reject(new ChartRenderError('the chart renderer is shut down', 'failed'));
    const busy = this.slots.filter((s) => s?.job).length;
    if (busy >= this.size && this.queue.length >= this.maxQueue) {
      return Promise.reject(new ChartRenderError(`chart renderer busy (${this.queue.length} charts waiting); retry shortly`, 'busy'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, started: performance.now(), resolve, reject });
      this.pump();
    });
  }

  /** Renders waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new ChartRenderError('the chart renderer is shut down', 'failed'));
    await Promise.all(
      this.slots.map((slot, i) => {
        this.slots[i] = undefined;
        if (!slot) return undefined;
        if (slot.timer) clearTimeout(slot.timer);
        slot.job?.reject(new ChartRenderError('the chart renderer is shut down', 'failed'));
        return slot.worker.terminate();
      }),
    );
  }

  /** Nest calls this on application shutdown. */
  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  private pump(): void {
    for (let i = 0; i < this.size && this.queue.length > 0; i++) {
      const slot = this.slots[i] ?? this.start(i);
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.timer = setTimeout(() => this.abandon(i, slot), this.timeoutMs);
      slot.timer.unref();
      slot.worker.postMessage({ id: job.id, request: job.request } satisfies ChartWorkerRequest);
    }
  }

  private start(i: number): Slot {
    const worker = new Worker(new URL('./chart-worker.thread.js', import.meta.url));
    worker.unref();
    const slot: Slot = { worker };
    worker.on('message', (reply: ChartWorkerReply) => {
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      this.finish(slot);
      if (reply.result) job.resolve({ ...reply.result, totalMs: performance.now() - job.started });
      else if (reply.error?.kind === 'input') job.reject(new ChartInputError(reply.error.message));
      else job.reject(new ChartRenderError(`chart rendering failed: ${reply.error?.message ?? 'unknown error'}`));
      this.pump();
    });
    const fail = (err: Error) => {
      if (this.slots[i] === slot) this.slots[i] = undefined;
      const job = slot.job;
      this.finish(slot);
      job?.reject(new ChartRenderError(`chart rendering failed: ${err.message}`));
      if (!this.closed) this.pump();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`chart worker exited with code ${code}`)));
    this.slots[i] = slot;
    return slot;
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
  }

  private abandon(i: number, slot: Slot): void {
    const job = slot.job;
    if (this.slots[i] === slot) this.slots[i] = undefined;
    this.finish(slot);
    job?.reject(new ChartRenderError(`the chart took longer than ${this.timeoutMs} ms to draw; draw fewer points`, 'timeout'));
    void slot.worker.terminate();
    this.pump();
  }
}
