import { Worker } from 'node:worker_threads';
import type { GuardPolicy } from './guard-policy.types.js';
import type { GuardWorkerReply, GuardWorkerRequest } from './guard-worker.thread.js';
import type { GuardVerdict } from './sql-guard.types.js';

interface Pending {
  resolve: (v: GuardVerdict) => void;
  reject: (e: Error) => void;
}

/**
 * One worker thread that parses long statements, so a caller sending 100 kB of SQL
 * never holds the event loop that every other request (and /health/live) needs.
 * Started on first use; the policy is sent once per version.
 */
export class GuardWorker {
  private worker: Worker | undefined;
  private workerVersion: string | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  check(sql: string, policy: GuardPolicy, maxBytes: number): Promise<GuardVerdict> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const req: GuardWorkerRequest = { id, sql, maxBytes, version: policy.version };
    if (this.workerVersion !== policy.version) {
      req.policy = policy;
      this.workerVersion = policy.version;
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(req);
    });
  }

  get queued(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private start(): Worker {
    const worker = new Worker(new URL('./guard-worker.thread.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: GuardWorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.verdict) p.resolve(reply.verdict);
      else p.reject(new Error(reply.error ?? 'guard worker failed'));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.workerVersion = undefined;
      }
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`guard worker exited with code ${code}`)));
    this.worker = worker;
    this.workerVersion = undefined;
    return worker;
  }
}
