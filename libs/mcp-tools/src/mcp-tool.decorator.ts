import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';
import { MCP_TOOL_METADATA } from './mcp-tools.constants.js';
import type { McpToolOptions } from './mcp-tool.types.js';

/**
 * Exposes a provider method as an MCP tool. The method receives the validated
 * arguments and a ToolCallContext, and returns a ToolOutcome.
 */
export const McpTool = <S extends z.ZodObject>(options: McpToolOptions<S>) =>
  SetMetadata(MCP_TOOL_METADATA, options);
