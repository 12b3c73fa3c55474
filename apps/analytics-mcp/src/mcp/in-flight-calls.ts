import { Injectable } from '@nestjs/common';

type RequestId = string | number;

/** What a cancel aborts: an AbortController, or the fast path's CallAbort. */
export interface Abortable {
  abort(reason?: unknown): void;
  readonly signal: AbortSignal;
}

export interface InFlightCall {
  /** Aborted when the caller cancels this request id. */
  signal: AbortSignal;
  /** To be called once when the call is over, answered or not. */
  end(): void;
}

/**
 * Every tools/call in progress, server-wide, by (caller, JSON-RPC request id). On
 * stateless HTTP a `notifications/cancelled` arrives in a POST of its own, served by
 * a different SDK Server than the call it names, so the Servers cannot match them up
 * themselves. A caller can only reach its own calls. Request ids are chosen by the
 * client and are unique per connection, not per caller: if one caller has two calls
 * in flight under the same id (two client instances), a cancel names both.
 */
@Injectable()
export class InFlightCalls {
  private readonly calls = new Map<string, Set<Abortable>>();

  get size(): number {
    return this.calls.size;
  }

  /** Registers a call; a cancel aborts `controller` (one of its own unless given). */
  begin(caller: string, id: RequestId, controller: Abortable = new AbortController()): InFlightCall {
    const key = keyOf(caller, id);
    let set = this.calls.get(key);
    if (!set) {
      set = new Set();
      this.calls.set(key, set);
    }
    set.add(controller);
    return new Registration(this.calls, key, controller);
  }

  /** Aborts the caller's calls with this id; returns how many there were. */
  cancel(caller: string, id: unknown, reason?: unknown): number {
    if (typeof id !== 'string' && typeof id !== 'number') return 0;
    const set = this.calls.get(keyOf(caller, id));
    if (!set) return 0;
    const why = typeof reason === 'string' && reason ? reason : 'cancelled by the client';
    for (const controller of set) controller.abort(new Error(why));
    return set.size;
  }
}

/**
 * One begin()'s handle. A class, not an object literal with a getter: V8 keeps each
 * literal's accessor pair in old space, where it holds the call's closure alive through
 * every young-generation collection (see FastCallContext in mcp-fast-path.ts).
 */
class Registration implements InFlightCall {
  constructor(
    private readonly calls: Map<string, Set<Abortable>>,
    private readonly key: string,
    private readonly controller: Abortable,
  ) {}

  // Read only when asked for: a CallAbort builds its AbortSignal on first use.
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  end(): void {
    const current = this.calls.get(this.key);
    if (!current?.delete(this.controller)) return;
    if (current.size === 0) this.calls.delete(this.key);
  }
}

// "1" and 1 are different JSON-RPC ids.
const keyOf = (caller: string, id: RequestId) => `${caller}\u0000${typeof id}:${id}`;
