import { Inject, Injectable } from '@nestjs/common';
import {
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type CallToolResult,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type MessageExtraInfo,
  type McpRequestContext,
  type RequestId,
  type Transport,
} from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { MCP_SERVER_INFO } from './mcp.constants.js';
import { InFlightCalls } from './in-flight-calls.js';
import { McpToolRegistry } from './mcp-tool.registry.js';
import { PrivilegedRoleCheck } from '../role-check/privileged-role.check.js';
import { shortenInvalidParams } from './protocol-errors.js';
import { errorResult } from './tool-errors.js';

/**
 * An SDK Server whose answers carry invalid-params errors as one readable line, whatever
 * transport the serving entry connects it to (HTTP in both eras, stdio).
 *
 * It also keeps `structuredContent` out of the SDK's per-call tools/call result check.
 * That check runs the whole result through a zod refinement, which on a freshly built
 * 10,000-row result costs ~4 ms of garbage collection per call (the rows get promoted
 * out of the young generation; bench/README.md has the measurements). The registry has
 * already built the object against the tool's outputSchema, so the SDK checks the rest
 * of the result and the object rejoins it on its way to the transport.
 */
class AnalyticsMcpServer extends Server {
  private readonly structured = new Map<RequestId, unknown>();
  /** Sees every notifications/cancelled (with the caller its transport verified) before the SDK does. */
  onCancelled?: (params: { requestId?: unknown; reason?: unknown }, clientId: string | undefined) => void;

  protected override _onnotification(notification: JSONRPCNotification, extra?: MessageExtraInfo): void {
    if (notification.method === 'notifications/cancelled' && notification.params && typeof notification.params === 'object') {
      this.onCancelled?.(notification.params as { requestId?: unknown; reason?: unknown }, extra?.authInfo?.clientId);
    }
    super._onnotification(notification, extra);
  }

  override async connect(transport: Transport): Promise<void> {
    // The entries identify their transport by object, so it is patched, not wrapped.
    const send = transport.send.bind(transport);
    transport.send = (message, options) => send(shortenInvalidParams(this.rejoin(message)), options);
    return super.connect(transport);
  }

  /** The result the SDK validates: everything but structuredContent, kept aside by request id. */
  setAside(id: RequestId, result: CallToolResult): CallToolResult {
    if (result.structuredContent === undefined) return result;
    const { structuredContent, ...rest } = result;
    this.structured.set(id, structuredContent);
    return rest;
  }

  private rejoin(message: JSONRPCMessage): JSONRPCMessage {
    if (this.structured.size === 0 || !('id' in message) || message.id === undefined) return message;
    const structuredContent = this.structured.get(message.id);
    if (structuredContent === undefined) return message;
    this.structured.delete(message.id);
    if (!('result' in message)) return message;
    return { ...message, result: { ...message.result, structuredContent } } as JSONRPCMessage;
  }
}

/**
 * Builds the small per-request (HTTP) or per-connection (stdio) MCP Server. The same
 * instance shape serves both protocol eras: the SDK's serving entries decide whether it
 * answers `initialize` (2025 revisions) or `server/discover` with per-request `_meta`
 * (2026-07-28). Everything costly (tool definitions, JSON Schemas, instructions, the
 * schema validator) is prepared once; a request only wires two handlers.
 */
@Injectable()
export class McpServerFactory {
  private readonly instructions: string;
  // The SDK builds a fresh Ajv per Server unless given one; that alone cost ~1 ms a request.
  private readonly validator = new AjvJsonSchemaValidator();

  constructor(
    private readonly registry: McpToolRegistry,
    private readonly roleCheck: PrivilegedRoleCheck,
    private readonly inFlight: InFlightCalls,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.instructions = [
      'Read-only SQL access to a fleet-telemetry PostgreSQL database.',
      `Readable schemas: ${config.readableSchemas.join(', ')}.`,
      'Start with list_tables / describe_table (columns, keys, indexes) and sample_table for a few rows; explain shows how a statement would run; then run one SELECT (or WITH/VALUES/TABLE) per query call (format csv or markdown for a text table).',
      `Results are capped at max_rows (default ${config.defaultRows}, at most ${config.maxRows}); "truncated": true means more rows exist, so aggregate or filter.`,
      `Each statement is limited to ${config.statementTimeoutMs} ms.`,
    ].join(' ');
  }

  /** The factory the SDK's serving entries call; the caller comes from the verified token. */
  readonly forRequest = (ctx: McpRequestContext): Server => this.create(ctx.authInfo?.clientId ?? 'anonymous');

  create(fallbackCaller: string): AnalyticsMcpServer {
    const server = new AnalyticsMcpServer(MCP_SERVER_INFO, {
      capabilities: { tools: { listChanged: false } },
      instructions: this.instructions,
      jsonSchemaValidator: this.validator,
    });
    // The SDK aborts a call named by a cancel that reaches the Server serving it (stdio);
    // on stateless HTTP the cancel comes in another POST, so it is matched server-wide.
    server.onCancelled = (params, clientId) => void this.inFlight.cancel(clientId ?? fallbackCaller, params.requestId, params.reason);
    server.setRequestHandler('tools/list', (request) => {
      // Every tool comes in one page, so no cursor this server could have issued exists.
      if (request.params?.cursor !== undefined) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid params: unknown cursor (tools/list returns every tool in one page; omit cursor)');
      }
      return { tools: this.registry.list() };
    });
    server.setRequestHandler('tools/call', async (request, ctx) => {
      // No tool runs on a role that has not passed the privilege check (see PrivilegedRoleCheck).
      const refusal = await this.roleCheck.refusal();
      if (refusal) return errorResult(refusal);
      const caller = ctx.http?.authInfo?.clientId ?? fallbackCaller;
      // Aborted when the client goes away (the SDK closes the Server) or cancels the call.
      const call = this.inFlight.begin(caller, ctx.mcpReq.id);
      let result: CallToolResult;
      try {
        result = await this.registry.call(request.params.name, request.params.arguments, {
          caller,
          signal: AbortSignal.any([ctx.mcpReq.signal, call.signal]),
        });
      } finally {
        call.end();
      }
      // A cancelled call gets no answer, so nothing would collect what is set aside.
      return ctx.mcpReq.signal.aborted ? result : server.setAside(ctx.mcpReq.id, result);
    });
    return server;
  }
}
