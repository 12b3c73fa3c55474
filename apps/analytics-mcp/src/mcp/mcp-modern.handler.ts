import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createMcpHandler, type AuthInfo, type McpHandlerRequestOptions, type McpHttpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler, type NodeMcpRequestHandler } from '@modelcontextprotocol/node';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REQUEST_TIMEOUT } from './json-exchange.transport.js';
import { McpServerFactory } from './mcp-server.factory.js';

/**
 * The 2026-07-28 (stateless) leg of POST /mcp, served entirely by the SDK:
 * `createMcpHandler` checks the per-request `_meta` envelope against the
 * MCP-Protocol-Version / Mcp-Method / Mcp-Name headers, answers `server/discover`,
 * stamps `resultType`, and runs a fresh Server from the same factory as the 2025 leg;
 * `toNodeHandler` converts between Node's and the web's Request/Response.
 * The controller has already read, bounded and classified the body, so it is handed
 * over parsed.
 */
@Injectable()
export class ModernMcpHandler implements OnApplicationShutdown {
  private readonly logger = new Logger('McpModern');
  private readonly handler: McpHttpHandler;
  private readonly onerror = (err: Error) => this.logger.debug({ err: err.message }, 'MCP request rejected or failed');

  constructor(factory: McpServerFactory) {
    this.handler = createMcpHandler(factory.forRequest, { legacy: 'reject', onerror: this.onerror });
  }

  serve(req: IncomingMessage, res: ServerResponse, parsedBody: unknown, authInfo: AuthInfo, deadlineMs: number): Promise<void> {
    (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfo;
    const node: NodeMcpRequestHandler = toNodeHandler({ fetch: (request, options) => this.fetch(request, options, deadlineMs) }, { onerror: this.onerror });
    return node(req as never, res as never, parsedBody);
  }

  // After the HTTP server has stopped (not at module destroy, which runs before it),
  // so calls in flight during a drain still finish.
  async onApplicationShutdown(): Promise<void> {
    await this.handler.close();
  }

  private async fetch(request: Request, options: McpHandlerRequestOptions | undefined, deadlineMs: number): Promise<Response> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Response>((resolve) => {
      timer = setTimeout(() => resolve(timedOut(options?.parsedBody, deadlineMs)), deadlineMs);
    });
    try {
      return await Promise.race([this.handler.fetch(request, options), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function timedOut(body: unknown, deadlineMs: number): Response {
  const id = (body as { id?: string | number } | null)?.id ?? null;
  return Response.json({ jsonrpc: '2.0', id, error: { code: REQUEST_TIMEOUT, message: `Request timed out: no answer within ${deadlineMs} ms` } });
}
