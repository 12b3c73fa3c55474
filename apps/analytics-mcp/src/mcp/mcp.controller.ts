import { Controller, Delete, Get, HttpCode, Logger, Post, Req, Res, UseGuards } from '@nestjs/common';
import { AuthGuard, type AuthenticatedRequest } from '#auth';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { CallerThrottlerGuard } from './caller-throttler.guard.js';
import { JsonExchangeTransport } from './json-exchange.transport.js';
import { serializeJsonRpc } from './json-rpc.serializer.js';
import { readJsonRpcBody } from './mcp-http-body.js';
import { McpServerFactory } from './mcp-server.factory.js';

const METHOD_NOT_ALLOWED = {
  jsonrpc: '2.0',
  error: { code: -32000, message: 'Method not allowed: this server is stateless; send JSON-RPC with POST /mcp' },
  id: null,
};

function sendJson(res: Response, status: number, payload: unknown, parts = [JSON.stringify(payload)]): void {
  let length = 0;
  for (const p of parts) length += Buffer.byteLength(p);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': length });
  for (let i = 0; i < parts.length - 1; i++) res.write(parts[i]);
  res.end(parts[parts.length - 1]);
}

const rpcError = (res: Response, status: number, code: number, message: string) =>
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });

/**
 * Streamable HTTP, stateless, JSON responses: each POST gets a fresh SDK Server
 * (cheap: the tool definitions are prebuilt) wired to an in-process transport.
 */
@Controller('mcp')
@UseGuards(AuthGuard, CallerThrottlerGuard)
export class McpController {
  private readonly logger = new Logger('McpHttp');

  constructor(private readonly servers: McpServerFactory) {}

  @Post()
  async handle(@Req() req: Request & AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const accept = req.headers.accept ?? '*/*';
    if (!/application\/json|\*\/\*|application\/\*/.test(accept)) {
      return rpcError(res, 406, -32000, 'Not Acceptable: the client must accept application/json');
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return rpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return rpcError(res, 400, -32000, `Bad Request: unsupported MCP-Protocol-Version ${version} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`);
    }
    const body = await readJsonRpcBody(req);
    if (!body.ok) return rpcError(res, body.status, body.code, body.message);
    const hasRequests = body.messages.some((m) => 'method' in m && 'id' in m);

    const caller = req.caller ?? 'anonymous';
    const server = this.servers.create(caller);
    const transport = new JsonExchangeTransport();
    const aborted = () => void transport.close();
    res.once('close', aborted);
    try {
      await server.connect(transport);
      const replies = transport.exchange(body.messages, { token: '', clientId: caller, scopes: [] });
      if (!hasRequests) {
        res.writeHead(202).end();
        return;
      }
      const responses = await replies;
      if (!res.writableEnded && !res.destroyed) {
        sendJson(res, 200, null, serializeJsonRpc(body.batch ? responses : responses[0]!));
      }
    } catch (err) {
      this.logger.error({ err }, 'MCP request failed');
      if (!res.headersSent) rpcError(res, 500, -32603, 'Internal error');
    } finally {
      res.off('close', aborted);
      await server.close().catch(() => undefined);
    }
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
