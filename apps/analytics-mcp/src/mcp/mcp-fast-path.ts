import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CallToolResult, JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { PrivilegedRoleCheck } from '../role-check/privileged-role.check.js';
import { CallAbort } from './call-abort.js';
import { InFlightCalls } from './in-flight-calls.js';
import { writeJsonBody } from './json-body.writer.js';
import { REQUEST_TIMEOUT } from './json-exchange.transport.js';
import { serializeJsonRpc, tableAnswerParts } from './json-rpc.serializer.js';
import { MCP_SERVER_INFO } from './mcp.constants.js';
import { McpToolRegistry } from './mcp-tool.registry.js';
import { errorResult } from './tool-errors.js';
import type { ToolCallContext } from '#mcp-tools';

/** The 2026-07-28 revision, the one modern revision the SDK (2.4) serves. */
export const MODERN_REVISION = '2026-07-28';
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';
const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo';

type Era = 'legacy' | 'modern';

/** One request this path answers. */
export interface FastRequest {
  era: Era;
  id: RequestId;
  method: 'tools/call' | 'tools/list';
  name?: string;
  args?: Record<string, unknown>;
}

/** What the controller knows of a POST once the SDK's classifier has routed it. */
export interface RoutedPost {
  /** `classifyInboundRequest`'s verdict. */
  route: { kind: string; messageKind?: string; classification?: { revision?: string } };
  message: JSONRPCMessage;
  batch: boolean;
  headers: IncomingMessage['headers'];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const only = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k));
// RFC 9110 optional whitespace, as the SDK strips it before comparing headers.
const stripOws = (v: string) => v.replace(/^[ \t]+|[ \t]+$/g, '');
const header = (headers: IncomingMessage['headers'], name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * A fast-path call's ToolCallContext. A class, not an object literal with a getter: V8
 * allocates each literal's accessor pair in old space, pointing at that literal's getter
 * closure and through it at the whole frame of call() (the HTTP request and response).
 * Young-generation collections treat old objects as live, so every call's request and
 * response were promoted, ~3.7 KiB per Q1 call for the full collector to find later
 * (bench/README.md, issue 15 part 8).
 */
export class FastCallContext implements ToolCallContext {
  constructor(
    readonly caller: string,
    readonly cancellation: CallAbort,
  ) {}

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}

/**
 * The two calls a connector makes all day, `tools/call` and `tools/list` in a single
 * POST, answered without building an SDK Server, transport and web Request/Response per
 * request. It takes only requests the SDK would serve as they are: a conforming shape,
 * and in the 2026-07-28 era the headers the SDK's modern entry requires, present and
 * agreeing with the body. Anything else (initialize, server/discover, ping,
 * notifications, batches, a cursor, a malformed or unusual request, any mismatch) stays
 * on the SDK, which answers it, errors included, exactly as before.
 *
 * The answers are the SDK's, byte for byte (test/fast-path.e2e.spec.ts compares them):
 * the same envelope member order, `resultType`, cache fields and server identity in the
 * modern era, the same status and content type. The controller has already applied
 * the security checks (auth, Host/Origin, body and SQL bounds, rate limit, OAuth scopes);
 * this path applies the privileged-role check and cancellation as the SDK path does, and
 * the registry validates arguments, runs the tool and reports to the ToolCallObserver.
 */
@Injectable()
export class McpFastPath {
  private readonly logger = new Logger('McpFastPath');
  readonly enabled: boolean;
  /** Requests answered here since boot (a diagnostic; the specs check which path answered). */
  served = 0;
  private readonly toolsListResult: Record<Era, Record<string, unknown>>;
  private readonly toolsListJson: Partial<Record<Era, { tools: unknown; json: string }>> = {};
  private readonly modernMeta: Record<string, unknown>;
  /** What envelope() puts between a tool result's content and its structuredContent, as JSON text. */
  private readonly resultMembers: Record<Era, string>;

  constructor(
    private readonly registry: McpToolRegistry,
    private readonly roleCheck: PrivilegedRoleCheck,
    private readonly inFlight: InFlightCalls,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.enabled = config.httpFastPath;
    const serverInfo = { [SERVER_INFO_KEY]: { ...MCP_SERVER_INFO } };
    // The SDK's 2026-07-28 encoding of a complete result: resultType, cache fields on
    // cacheable results (tools/list), then the server's identity in _meta.
    this.toolsListResult = {
      legacy: { tools: [] },
      modern: { tools: [], resultType: 'complete', ttlMs: 0, cacheScope: 'private', _meta: serverInfo },
    };
    this.modernMeta = serverInfo;
    this.resultMembers = { legacy: '', modern: `,"resultType":"complete","_meta":${JSON.stringify(serverInfo)}` };
  }

  /** The request, when this path may answer it; undefined sends the POST to the SDK. */
  accept({ route, message, batch, headers }: RoutedPost): FastRequest | undefined {
    if (!this.enabled || batch || !('method' in message) || !('id' in message)) return undefined;
    const { method, id } = message;
    if (method !== 'tools/call' && method !== 'tools/list') return undefined;
    const params = message.params as unknown;
    let era: Era;
    if (route.kind === 'legacy') {
      era = 'legacy';
      if (params !== undefined && !isPlainObject(params)) return undefined;
    } else if (route.kind === 'modern' && route.messageKind === 'request') {
      era = 'modern';
      // The checks of the SDK's modern entry (createMcpHandler → serveModern) and of the
      // Server's envelope check; a request failing any of them goes to the SDK to be refused.
      if (route.classification?.revision !== MODERN_REVISION || !isPlainObject(params)) return undefined;
      const version = header(headers, 'mcp-protocol-version');
      if (version === undefined || stripOws(version) !== MODERN_REVISION || header(headers, 'mcp-method') === undefined) return undefined;
      const meta = params._meta;
      if (!isPlainObject(meta) || meta[PROTOCOL_VERSION_KEY] !== MODERN_REVISION || !isPlainObject(meta[CLIENT_CAPABILITIES_KEY])) return undefined;
      if (method === 'tools/call') {
        const name = header(headers, 'mcp-name');
        if (name === undefined || stripOws(name) !== params.name || name.includes('=?')) return undefined;
      }
    } else {
      return undefined;
    }
    if (params !== undefined && params._meta !== undefined && !isPlainObject(params._meta)) return undefined;
    if (method === 'tools/list') {
      // A cursor (never valid here) gets the SDK's invalid-params answer.
      return params === undefined || only(params, ['_meta']) ? { era, id, method } : undefined;
    }
    if (!params || typeof params.name !== 'string' || !only(params, ['name', 'arguments', '_meta'])) return undefined;
    if (params.arguments !== undefined && !isPlainObject(params.arguments)) return undefined;
    return { era, id, method, name: params.name, args: params.arguments as Record<string, unknown> | undefined };
  }

  /** Answers an accepted request; the HTTP connection closing first cancels the call. */
  async serve(request: FastRequest, caller: string, res: ServerResponse, deadlineMs: number): Promise<void> {
    this.served++;
    if (request.method === 'tools/list') {
      // The list is tens of kB of schemas that never change: serialised once per era.
      const tools = this.registry.list();
      let cached = this.toolsListJson[request.era];
      if (cached?.tools !== tools) {
        cached = { tools, json: JSON.stringify({ ...this.toolsListResult[request.era], tools }) };
        this.toolsListJson[request.era] = cached;
      }
      return writeJsonBody(res, 200, [`{"result":${cached.json},"jsonrpc":"2.0","id":${JSON.stringify(request.id)}}`]);
    }
    const refusal = await this.roleCheck.refusal();
    const result = refusal ? errorResult(refusal) : await this.call(request, caller, res, deadlineMs);
    if (result === undefined || res.writableEnded || res.destroyed) return;
    const parts = tableAnswerParts(result, this.resultMembers[request.era], request.id) ?? serializeJsonRpc(this.envelope(request, result));
    await writeJsonBody(res, 200, parts);
  }

  /** The tool's result; undefined when the client went away or the deadline answered instead. */
  private async call(request: FastRequest, caller: string, res: ServerResponse, deadlineMs: number): Promise<CallToolResult | undefined> {
    // One abort, by a cancel (registered with InFlightCalls), the connection closing or
    // the deadline: cheaper than AbortSignal.any over three, and no AbortSignal is built
    // unless a tool asks for one (the database layer takes the CallAbort itself).
    const closed = new CallAbort();
    const call = this.inFlight.begin(caller, request.id, closed);
    let gone = false;
    const onClose = () => {
      gone = true;
      closed.abort(new Error('Connection closed'));
    };
    res.once('close', onClose);
    const timer = setTimeout(() => {
      gone = true;
      closed.abort(new Error('deadline'));
      void writeJsonBody(res, 200, [JSON.stringify({ jsonrpc: '2.0', id: request.id, error: { code: REQUEST_TIMEOUT, message: `Request timed out: no answer within ${deadlineMs} ms` } })]);
    }, deadlineMs);
    try {
      const result = await this.registry.call(request.name!, request.args, new FastCallContext(caller, closed));
      // A cancelled call is answered (with its cancelled result), as on the SDK path; a
      // closed connection or a passed deadline is not.
      return gone ? undefined : result;
    } catch (err) {
      this.logger.error({ err }, 'MCP request failed');
      if (!res.headersSent && !gone) await writeJsonBody(res, 200, [JSON.stringify({ jsonrpc: '2.0', id: request.id, error: { code: -32603, message: 'Internal error' } })]);
      return undefined;
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
      call.end();
    }
  }

  /** The JSON-RPC answer as the SDK's Protocol builds it (`result`, `jsonrpc`, `id`), in the request's era. */
  private envelope(request: FastRequest, result: CallToolResult): JSONRPCMessage {
    // The SDK checks the result without structuredContent (AnalyticsMcpServer sets it aside):
    // its schema puts content before isError; structuredContent rejoins last.
    const { content, structuredContent, isError, ...others } = result;
    const checked = { content, ...(isError === undefined ? {} : { isError }), ...others };
    const encoded = request.era === 'legacy' ? checked : { ...checked, resultType: 'complete', _meta: this.modernMeta };
    if (structuredContent !== undefined) (encoded as Record<string, unknown>).structuredContent = structuredContent;
    return { result: encoded, jsonrpc: '2.0', id: request.id } as JSONRPCMessage;
  }
}
