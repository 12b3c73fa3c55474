import type { AuthInfo, JSONRPCMessage, RequestId, Transport } from '@modelcontextprotocol/server';

type Reply = (message: JSONRPCMessage) => void;

/** JSON-RPC code the SDK uses for a request that ran out of time. */
export const REQUEST_TIMEOUT = -32001;

/**
 * The in-process half of a stateless Streamable HTTP exchange for the 2025 protocol
 * revisions: hands one POST's JSON-RPC messages to an SDK Server and collects the
 * responses to its requests. The server answers with a single JSON body (no SSE), so
 * nothing here touches web streams or Request/Response conversion — the bench showed
 * that conversion to be the costly part of the SDK's own per-request transports
 * (bench/README.md).
 */
export class JsonExchangeTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private readonly waiting = new Map<RequestId, Reply>();
  private closed = false;
  private timer?: NodeJS.Timeout;

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    // Server-to-client requests and notifications (progress, logging) need a
    // stream back to the client; a JSON response has nowhere to put them.
    if (!('id' in message) || 'method' in message || message.id === undefined) return;
    const reply = this.waiting.get(message.id);
    if (reply) {
      this.waiting.delete(message.id);
      reply(message);
    }
  }

  async close(): Promise<void> {
    this.settle(-32000, 'Connection closed');
  }

  /**
   * Delivers every message; resolves with the responses to the requests, in order.
   * Requests still unanswered after `deadlineMs` are answered with a timeout error
   * and the server is closed (which aborts their handlers), so no exchange can hang.
   */
  exchange(messages: JSONRPCMessage[], authInfo: AuthInfo, deadlineMs?: number): Promise<JSONRPCMessage[]> {
    const replies: Promise<JSONRPCMessage>[] = [];
    for (const message of messages) {
      if ('method' in message && 'id' in message) {
        replies.push(new Promise<JSONRPCMessage>((resolve) => this.waiting.set(message.id, resolve)));
      }
    }
    if (deadlineMs !== undefined && replies.length > 0) {
      this.timer = setTimeout(() => this.settle(REQUEST_TIMEOUT, `Request timed out: no answer within ${deadlineMs} ms`), deadlineMs);
    }
    for (const message of messages) this.onmessage?.(message, { authInfo });
    return Promise.all(replies).finally(() => clearTimeout(this.timer));
  }

  private settle(code: number, message: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.onclose?.();
    // The client went away, the exchange is over or out of time: whatever is still
    // pending is answered now so the request handler can finish.
    for (const [id, reply] of this.waiting) reply({ jsonrpc: '2.0', id, error: { code, message } });
    this.waiting.clear();
  }
}
