import { Controller, Delete, Get, HttpCode, Inject, Logger, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { AuthGuard, bearerChallenge, type AuthenticatedRequest } from '#auth';
import { isJsonContentType, SUPPORTED_PROTOCOL_VERSIONS, type AuthInfo } from '@modelcontextprotocol/server';
import type { Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { CallerThrottlerGuard, callerTracker, throttlerKey } from './caller-throttler.guard.js';
import { MCP_THROTTLER } from './mcp.constants.js';
import { writeJsonBody } from './json-body.writer.js';
import { InboundClassifier } from './inbound-classifier.js';
import { JsonExchangeTransport } from './json-exchange.transport.js';
import { serializeJsonRpc } from './json-rpc.serializer.js';
import { MAX_BODY_BYTES, readJsonRpcBody, type BodyLimits } from './mcp-http-body.js';
import { McpHttpExceptionFilter } from './mcp-http-exception.filter.js';
import { ModernMcpHandler } from './mcp-modern.handler.js';
import { McpFastPath } from './mcp-fast-path.js';
import { McpServerFactory } from './mcp-server.factory.js';
import { ToolScopePolicy } from '../oauth/tool-scope.policy.js';

const METHOD_NOT_ALLOWED = {
  jsonrpc: '2.0',
  error: { code: -32000, message: 'Method not allowed: this server is stateless; send JSON-RPC with POST /mcp' },
  id: null,
};

/** The revisions a 2025-era request may name in MCP-Protocol-Version (2026-07-28 goes through the modern leg). */
const LEGACY_VERSIONS = new Set(SUPPORTED_PROTOCOL_VERSIONS);

function sendJson(res: Response, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const RATE_WINDOW_MS = 60_000;

const rpcError = (res: Response, status: number, code: number, message: string, data?: unknown) =>
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message, ...(data === undefined ? {} : { data }) }, id: null });

const header = (req: Request, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Streamable HTTP, stateless, both protocol eras on one endpoint. The body is read,
 * bounded and parsed once here, then the SDK's classifier decides the era:
 * - 2026-07-28 requests (per-request `_meta` envelope) go to the SDK's own handler;
 * - 2025-era requests (initialize handshake, batches) are served by a fresh SDK Server
 *   on an in-process JSON exchange transport — the SDK's per-request transports were
 *   measured slower on this hot path (bench/README.md).
 */
@Controller('mcp')
@UseGuards(AuthGuard, CallerThrottlerGuard)
@UseFilters(McpHttpExceptionFilter)
export class McpController {
  private readonly logger = new Logger('McpHttp');
  private readonly limits: BodyLimits;
  /** Longest a POST may take: every call's queue wait, connect and statement limits, plus slack. */
  private readonly deadlineMs: number;
  private readonly classifier = new InboundClassifier();

  constructor(
    private readonly servers: McpServerFactory,
    private readonly modern: ModernMcpHandler,
    @Inject(ThrottlerStorage) private readonly throttlerStorage: ThrottlerStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scopes: ToolScopePolicy,
    private readonly fast: McpFastPath,
  ) {
    this.limits = { maxBodyBytes: MAX_BODY_BYTES, maxBatch: config.maxBatch, maxSqlBytes: config.maxRequestSqlBytes };
    this.deadlineMs = config.queueTimeoutMs + config.connectTimeoutMs + config.statementTimeoutMs + 5_000;
  }

  @Post()
  async handle(@Req() req: Request & AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const accept = req.headers.accept ?? '*/*';
    if (!/application\/json|\*\/\*|application\/\*/.test(accept)) {
      return rpcError(res, 406, -32000, 'Not Acceptable: the client must accept application/json');
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      return rpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const body = await readJsonRpcBody(req, this.limits);
    if (!body.ok) return rpcError(res, body.status, body.code, body.message);
    // The guard charged this POST once; every further tools/call in a batch counts too.
    if (body.toolCalls > 1 && !(await this.chargeExtraCalls(req, body.toolCalls - 1, res))) return;
    // An OAuth token without the scope for a tool is refused for the whole request (403,
    // RFC 6750 insufficient_scope), so the client can step up its authorization.
    const missing = this.scopes.missing(req.scopes, body.messages);
    if (missing) {
      const description = `this request needs the OAuth scope ${missing.join(' ')}`;
      res.setHeader('WWW-Authenticate', bearerChallenge({ error: 'insufficient_scope', scopes: missing, resourceMetadata: this.config.oauth?.resourceMetadataUrl, description }));
      return rpcError(res, 403, -32000, `Forbidden: insufficient_scope: ${description}`);
    }

    const caller = req.caller ?? 'anonymous';
    const authInfo: AuthInfo = { token: '', clientId: caller, scopes: [] };
    const version = header(req, 'mcp-protocol-version');
    const route = this.classifier.classify({
      httpMethod: 'POST',
      protocolVersionHeader: version,
      mcpMethodHeader: header(req, 'mcp-method'),
      mcpNameHeader: header(req, 'mcp-name'),
      body: body.raw,
    });
    if (route.kind === 'reject') return rpcError(res, route.httpStatus, route.code, route.message, route.data);
    if (route.kind === 'legacy' && version !== undefined && !LEGACY_VERSIONS.has(version)) {
      return rpcError(res, 400, -32000, `Bad Request: unsupported MCP-Protocol-Version ${version} (supported: 2026-07-28, ${[...LEGACY_VERSIONS].join(', ')})`);
    }
    const fast = this.fast.accept({ route, message: body.messages[0]!, batch: body.batch, headers: req.headers });
    if (fast) return this.fast.serve(fast, caller, res, this.deadlineMs);
    if (route.kind === 'modern') return this.modern.serve(req, res, body.raw, authInfo, this.deadlineMs);

    const hasRequests = body.messages.some((m) => 'method' in m && 'id' in m);
    const server = this.servers.create(caller);
    const transport = new JsonExchangeTransport();
    const aborted = () => void transport.close();
    res.once('close', aborted);
    try {
      await server.connect(transport);
      const replies = transport.exchange(body.messages, authInfo, this.deadlineMs);
      if (!hasRequests) {
        res.writeHead(202).end();
        return;
      }
      const responses = await replies;
      if (!res.writableEnded && !res.destroyed) {
        await writeJsonBody(res, 200, serializeJsonRpc(body.batch ? responses : responses[0]!));
      }
    } catch (err) {
      this.logger.error({ err }, 'MCP request failed');
      if (!res.headersSent) rpcError(res, 500, -32603, 'Internal error');
    } finally {
      res.off('close', aborted);
      await server.close().catch(() => undefined);
    }
  }

  private async chargeExtraCalls(req: Request & AuthenticatedRequest, calls: number, res: Response): Promise<boolean> {
    const limit = this.config.rateLimitPerMinute;
    if (limit === 0) return true;
    const key = throttlerKey(MCP_THROTTLER, callerTracker(req));
    for (let i = 0; i < calls; i++) {
      const rec = await this.throttlerStorage.increment(key, RATE_WINDOW_MS, limit, RATE_WINDOW_MS, MCP_THROTTLER);
      if (rec.isBlocked || rec.totalHits > limit) {
        const retryAfter = Math.max(1, rec.timeToBlockExpire || rec.timeToExpire);
        res.setHeader('Retry-After', String(retryAfter));
        rpcError(res, 429, -32000, `Too Many Requests: at most ${limit} tool calls per minute per caller (MCP_RATE_LIMIT_PER_MIN); this batch holds ${calls + 1}; retry in ${retryAfter} s`);
        return false;
      }
    }
    return true;
  }

  @Get()
  @HttpCode(405)
  get(@Res({ passthrough: true }) res: Response) {
    res.setHeader('Allow', 'POST');
    return METHOD_NOT_ALLOWED;
  }

  @Delete()
  @HttpCode(405)
  remove(@Res({ passthrough: true }) res: Response) {
    res.setHeader('Allow', 'POST');
    return METHOD_NOT_ALLOWED;
  }
}
