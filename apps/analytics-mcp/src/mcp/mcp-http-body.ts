import type { IncomingMessage } from 'node:http';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface BodyLimits {
  /** Bytes of the whole body. */
  maxBodyBytes: number;
  /** JSON-RPC messages in one POST. */
  maxBatch: number;
  /** SQL text (`arguments.sql`) summed over the POST's tools/call messages, in UTF-8 bytes. */
  maxSqlBytes: number;
}

export type ParsedBody =
  | { ok: true; messages: JSONRPCMessage[]; batch: boolean; toolCalls: number }
  | { ok: false; status: number; code: number; message: string };

const fail = (status: number, code: number, message: string): ParsedBody => ({ ok: false, status, code, message });

/**
 * Reads, bounds and validates a POST /mcp body as one JSON-RPC message or a batch.
 * The bounds keep one POST's work small: messages, bytes, and SQL the guard must parse.
 */
export async function readJsonRpcBody(req: IncomingMessage, limits: BodyLimits): Promise<ParsedBody> {
  const limit = limits.maxBodyBytes;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return fail(413, -32000, `request body exceeds ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return fail(413, -32000, `request body exceeds ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
  } catch (err) {
    return fail(400, -32700, `Parse error: ${(err as Error).message}`);
  }
  const batch = Array.isArray(raw);
  const items = batch ? (raw as unknown[]) : [raw];
  if (items.length === 0 || items.length > limits.maxBatch) {
    return fail(400, -32600, `Invalid Request: a batch holds 1 to ${limits.maxBatch} messages (MCP_MAX_BATCH)`);
  }
  const messages: JSONRPCMessage[] = [];
  let toolCalls = 0;
  let sqlBytes = 0;
  for (const item of items) {
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) return fail(400, -32600, 'Invalid Request: not a JSON-RPC 2.0 message');
    const m = parsed.data as { method?: string; params?: { arguments?: { sql?: unknown } } };
    if (m.method === 'tools/call') {
      toolCalls++;
      const sql = m.params?.arguments?.sql;
      if (typeof sql === 'string') sqlBytes += Buffer.byteLength(sql);
    }
    messages.push(parsed.data);
  }
  if (sqlBytes > limits.maxSqlBytes) {
    return fail(413, -32600, `the SQL in this request totals ${sqlBytes} bytes; at most ${limits.maxSqlBytes} bytes per request are accepted (MCP_MAX_REQUEST_SQL_BYTES)`);
  }
  return { ok: true, messages, batch, toolCalls };
}
