import type { IncomingMessage } from 'node:http';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_BATCH = 100;

export type ParsedBody =
  | { ok: true; messages: JSONRPCMessage[]; batch: boolean }
  | { ok: false; status: number; code: number; message: string };

const fail = (status: number, code: number, message: string): ParsedBody => ({ ok: false, status, code, message });

/** Reads, bounds and validates a POST /mcp body as one JSON-RPC message or a batch. */
export async function readJsonRpcBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<ParsedBody> {
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
  if (items.length === 0 || items.length > MAX_BATCH) {
    return fail(400, -32600, `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`);
  }
  const messages: JSONRPCMessage[] = [];
  for (const item of items) {
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) return fail(400, -32600, 'Invalid Request: not a JSON-RPC 2.0 message');
    messages.push(parsed.data);
  }
  return { ok: true, messages, batch };
}
