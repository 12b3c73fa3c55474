import {
  classifyInboundRequest,
  type InboundClassificationOutcome,
  type InboundHttpRequest,
  type InboundLadderRejection,
  type InboundLegacyRoute,
  type InboundModernRoute,
} from '@modelcontextprotocol/server';

/** The SDK's verdict; a modern route without the message it carries (the caller has the real one). */
export type InboundRoute = InboundLegacyRoute | Omit<InboundModernRoute, 'message'> | InboundLadderRejection;

const MAX_REMEMBERED = 256;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k));

/**
 * The SDK's `classifyInboundRequest`, remembered for the two requests a connector sends
 * all day. Classifying one costs about 10 µs and garbage that outlives the young
 * generation (the SDK runs its response schemas on the request first, and they fail),
 * and for a `tools/call` or `tools/list` its verdict depends on the body only through
 * what the key below keeps: the JSON-RPC schemas check `jsonrpc`, the id's type (a
 * string, or an integer), the method and `params._meta`, while other params are
 * passed through unread. So the SDK classifies a stand-in body (the same headers,
 * method, id type, tool name and `_meta`, the arguments left out), once per key, and
 * every request of that kind gets its verdict. Anything else (batches, other methods,
 * other members, a fractional id) is classified as it is, every time.
 * inbound-classifier.spec.ts checks the remembered verdicts against the SDK's own.
 */
export class InboundClassifier {
  private readonly remembered = new Map<string, InboundRoute>();

  /** Verdicts remembered (at most 256: past that the memory starts over). */
  get size(): number {
    return this.remembered.size;
  }

  classify(request: InboundHttpRequest): InboundRoute {
    const standIn = standInFor(request.body);
    if (standIn === undefined) return withoutMessage(classifyInboundRequest(request));
    const key = JSON.stringify([request.httpMethod, request.protocolVersionHeader ?? null, request.mcpMethodHeader ?? null, request.mcpNameHeader ?? null, standIn]);
    let route = this.remembered.get(key);
    if (route === undefined) {
      // Shared by every request of its kind: nobody may change it.
      route = Object.freeze(withoutMessage(classifyInboundRequest({ ...request, body: standIn })));
      if (this.remembered.size >= MAX_REMEMBERED) this.remembered.clear();
      this.remembered.set(key, route);
    }
    return route;
  }
}

function withoutMessage(outcome: InboundClassificationOutcome): InboundRoute {
  if (outcome.kind !== 'modern') return outcome;
  const { message: _message, ...route } = outcome;
  return route;
}

/** The body the SDK classifies in this one's place, or undefined when only this body itself will do. */
function standInFor(body: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(body) || !onlyKeys(body, ['jsonrpc', 'id', 'method', 'params'])) return undefined;
  const { jsonrpc, id, method, params } = body;
  if (jsonrpc !== '2.0' || (method !== 'tools/call' && method !== 'tools/list')) return undefined;
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
  const standIn: Record<string, unknown> = { jsonrpc, id: typeof id === 'string' ? '' : 0, method };
  if (params === undefined) return standIn;
  if (!isPlainObject(params) || !onlyKeys(params, ['name', 'arguments', '_meta'])) return undefined;
  const kept: Record<string, unknown> = {};
  if ('name' in params) {
    if (typeof params.name !== 'string') return undefined;
    kept.name = params.name;
  }
  if ('arguments' in params) {
    if (!isPlainObject(params.arguments)) return undefined;
    kept.arguments = {};
  }
  if ('_meta' in params) kept._meta = params._meta;
  standIn.params = kept;
  return standIn;
}
