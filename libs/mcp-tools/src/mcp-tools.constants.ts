/** Reflect-metadata key under which `@McpTool()` stores a method's tool options. */
export const MCP_TOOL_METADATA = 'analytics-mcp:tool';
