import { Inject, Injectable } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { MCP_SERVER_INFO } from './mcp.constants.js';
import { McpToolRegistry } from './mcp-tool.registry.js';
import { PrivilegedRoleCheck } from '../role-check/privileged-role.check.js';
import { errorResult } from './tool-errors.js';

/**
 * Builds the small per-request MCP Server the stateless transport needs. Everything
 * costly (tool definitions, JSON Schemas, instructions) is prepared once; a request
 * only wires two handlers that close over the registry.
 */
@Injectable()
export class McpServerFactory {
  private readonly instructions: string;
  // The SDK builds a fresh Ajv per Server unless given one; that alone cost ~1 ms a request.
  private readonly validator = new AjvJsonSchemaValidator();

  constructor(
    private readonly registry: McpToolRegistry,
    private readonly roleCheck: PrivilegedRoleCheck,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.instructions = [
      'Read-only SQL access to a fleet-telemetry PostgreSQL database.',
      `Readable schemas: ${config.readableSchemas.join(', ')}.`,
      'Start with list_tables / describe_table, then run one SELECT (or WITH/VALUES/TABLE) per query call.',
      `Results are capped at max_rows (default ${config.defaultRows}, at most ${config.maxRows}); "truncated": true means more rows exist, so aggregate or filter.`,
      `Each statement is limited to ${config.statementTimeoutMs} ms.`,
    ].join(' ');
  }

  create(fallbackCaller: string): Server {
    const server = new Server(MCP_SERVER_INFO, {
      capabilities: { tools: { listChanged: false } },
      instructions: this.instructions,
      jsonSchemaValidator: this.validator,
    });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: this.registry.list() }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      // No tool runs on a role that has not passed the privilege check (see PrivilegedRoleCheck).
      const refusal = await this.roleCheck.refusal();
      if (refusal) return errorResult(refusal);
      return this.registry.call(request.params.name, request.params.arguments, {
        caller: extra.authInfo?.clientId ?? fallbackCaller,
        signal: extra.signal,
      });
    });
    return server;
  }
}
