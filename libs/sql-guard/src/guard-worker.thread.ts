import { loadModule } from 'libpg-query';
import { parentPort } from 'node:worker_threads';
import type { GuardPolicy } from './guard-policy.types.js';
import { checkStatement } from './sql-check.js';

export interface GuardWorkerRequest {
  id: number;
  sql: string;
  maxBytes: number;
  version: string;
  /** Sent only when the worker does not hold this policy version yet. */
  policy?: GuardPolicy;
}

export interface GuardWorkerReply {
  id: number;
  verdict?: { ok: true } | { ok: false; reason: string };
  error?: string;
}

let policy: GuardPolicy | undefined;
const ready = loadModule();

parentPort!.on('message', (req: GuardWorkerRequest) => {
  void ready.then(() => {
    try {
      if (req.policy) policy = req.policy;
      if (!policy || policy.version !== req.version) throw new Error(`guard worker lacks policy ${req.version}`);
      parentPort!.postMessage({ id: req.id, verdict: checkStatement(req.sql, policy, req.maxBytes) } satisfies GuardWorkerReply);
    } catch (err) {
      parentPort!.postMessage({ id: req.id, error: (err as Error).message } satisfies GuardWorkerReply);
    }
  });
});
