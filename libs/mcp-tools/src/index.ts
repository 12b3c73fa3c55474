// The public API for tool authors: a feature module exposes tools with these and
// nothing else from the app (see README "Adding a tool").
export { McpTool } from './mcp-tool.decorator.js';
export { MCP_TOOL_METADATA } from './mcp-tools.constants.js';
export { ToolError, cancellationOf, type CallCancellation, type McpToolOptions, type ToolCallContext, type ToolContent, type ToolOutcome } from './mcp-tool.types.js';
export { TOOL_LIMITS, rowBytesBudget, toolLimits, type ToolLimits } from './tool-limits.js';
