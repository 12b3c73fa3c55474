import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

type Reply = (message: JSONRPCMessage) => void;

/**
 * The in-process half of a stateless Streamable HTTP exchange: hands one POST's
 * JSON-RPC messages to an SDK Server and collects the responses to its requests.
 * The server answers with a single JSON body (no SSE), so nothing here touches
 * web streams or Request/Response conversion.
 */
export class JsonExchangeTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private readonly waiting = new Map<RequestId, Reply>();
  private closed = false;

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
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
    // The client went away (or the exchange is over): nobody will read these replies,
    // but the exchange must still settle so the request handler can finish.
    for (const [id, reply] of this.waiting) {
      reply({ jsonrpc: '2.0', id, error: { code: -32000, message: 'Connection closed' } });
    }
    this.waiting.clear();
  }

  /** Delivers every message; resolves with the responses to the requests, in order. */
  exchange(messages: JSONRPCMessage[], authInfo: AuthInfo): Promise<JSONRPCMessage[]> {
    const replies: Promise<JSONRPCMessage>[] = [];
    for (const message of messages) {
      if ('method' in message && 'id' in message) {
        replies.push(new Promise<JSONRPCMessage>((resolve) => this.waiting.set(message.id, resolve)));
      }
    }
    for (const message of messages) this.onmessage?.(message, { authInfo });
    return Promise.all(replies);
  }
}
