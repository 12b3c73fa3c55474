import { Controller, Delete, Get, HttpCode, Logger, Post, Req, Res, UseGuards } from '@nestjs/common';
import { AuthGuard, type AuthenticatedRequest } from '#auth';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Request, Response } from 'express';
import { CallerThrottlerGuard } from './caller-throttler.guard.js';
import { McpServerFactory } from './mcp-server.factory.js';

const METHOD_NOT_ALLOWED = {
  jsonrpc: '2.0',
  error: { code: -32000, message: 'Method not allowed: this server is stateless; send JSON-RPC with POST /mcp' },
  id: null,
};

/** Streamable HTTP, stateless: every POST gets its own transport and server. */
@Controller('mcp')
@UseGuards(AuthGuard, CallerThrottlerGuard)
export class McpController {
  private readonly logger = new Logger('McpHttp');

  constructor(private readonly servers: McpServerFactory) {}

  @Post()
  async handle(@Req() req: Request & AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const caller = req.caller ?? 'anonymous';
    const server = this.servers.create(caller);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      (req as Request & { auth?: object }).auth = { token: '', clientId: caller, scopes: [] };
      await transport.handleRequest(req, res);
    } catch (err) {
      this.logger.error({ err }, 'MCP request failed');
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
      }
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
