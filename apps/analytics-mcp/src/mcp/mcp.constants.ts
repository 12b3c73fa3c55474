export const MCP_SERVER_INFO = { name: 'analytics-mcp', version: '0.1.0' } as const;
export const MCP_THROTTLER = 'mcp';
