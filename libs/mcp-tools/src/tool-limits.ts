/**
 * Result size accounting. A tool result carries its JSON twice: as
 * structuredContent (for programs) and as a text block (for models that read only
 * text; the spec asks for both). MCP_MAX_RESULT_BYTES bounds the whole response,
 * so the rows may take a little under half of it.
 */
const ROW_SHARE = 0.4;

/** Wire bytes of rows the database layer may read for one result. */
export function rowBytesBudget(maxResultBytes: number): number {
  return Math.floor(maxResultBytes * ROW_SHARE);
}

/** The server's limits a tool needs to size its database reads; inject with TOOL_LIMITS. */
export interface ToolLimits {
  /** MCP_MAX_RESULT_BYTES: the cap on one tool response. */
  maxResultBytes: number;
  /** Pass as DbService.query's `maxBytes`: the share of the cap rows may take. */
  rowBytes: number;
  /** MCP_MAX_ROWS: the ceiling for rows in one result. */
  maxRows: number;
}

/** Injection token for ToolLimits, provided globally by the application. */
export const TOOL_LIMITS = Symbol('TOOL_LIMITS');

export function toolLimits(maxResultBytes: number, maxRows: number): ToolLimits {
  return { maxResultBytes, rowBytes: rowBytesBudget(maxResultBytes), maxRows };
}
