import type { IncomingMessage } from 'node:http';
import { parseJSONRPCMessage, type JSONRPCMessage } from '@modelcontextprotocol/server';

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
  | { ok: true; raw: unknown; messages: JSONRPCMessage[]; batch: boolean; toolCalls: number }
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
  const read = readBounded(req, limit);
  const body = read instanceof Promise ? await read : read;
  if (body === undefined) return fail(413, -32000, `request body exceeds ${limit} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
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
    let m: JSONRPCMessage;
    try {
      m = parseJSONRPCMessage(item);
    } catch {
      return fail(400, -32600, 'Invalid Request: not a JSON-RPC 2.0 message');
    }
    const call = m as { method?: string; params?: { arguments?: { sql?: unknown } } };
    if (call.method === 'tools/call') {
      toolCalls++;
      const sql = call.params?.arguments?.sql;
      if (typeof sql === 'string') sqlBytes += Buffer.byteLength(sql);
    }
    messages.push(m);
  }
  if (sqlBytes > limits.maxSqlBytes) {
    return fail(413, -32600, `the SQL in this request totals ${sqlBytes} bytes; at most ${limits.maxSqlBytes} bytes per request are accepted (MCP_MAX_REQUEST_SQL_BYTES)`);
  }
  const checked = batch ? answerableBatch(messages) : { ok: true as const, messages };
  return checked.ok ? { ok: true, raw, messages: checked.messages, batch, toolCalls } : checked;
}

/** The body, or undefined once it passes `limit` bytes (the rest is drained unread). Stream errors reject. */
function readBounded(req: IncomingMessage, limit: number): Promise<Buffer | undefined> | Buffer | undefined {
  // Usually the whole (small) body came with the headers and waits in the stream's
  // buffer: take it in one read() instead of flowing it through four listeners.
  if (req.complete && !req.readableDidRead && req.readableFlowing === null && req.readableLength <= limit) {
    return (req.read() as Buffer | null) ?? Buffer.alloc(0);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      cleanup();
      req.resume();
      resolve(undefined);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // A client that goes away mid-body ends the read like a stream error.
    const onClose = () => {
      cleanup();
      reject(new Error('request closed before its body was read'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Makes sure every request of a batch gets exactly one answer. Replies are matched to
 * requests by id, so two requests with one id cannot both be answered: the batch is
 * refused. A `notifications/cancelled` naming a request of the same batch would make the
 * server drop that request's answer and leave the POST waiting forever; the request is
 * still only about to start, so the cancellation is dropped and the request answered.
 */
function answerableBatch(messages: JSONRPCMessage[]): { ok: true; messages: JSONRPCMessage[] } | Extract<ParsedBody, { ok: false }> {
  const ids = new Set<string | number>();
  for (const m of messages) {
    if (!('method' in m) || !('id' in m)) continue;
    if (ids.has(m.id)) {
      return { ok: false, status: 400, code: -32600, message: `Invalid Request: id ${JSON.stringify(m.id)} is used by more than one request in the batch; ids must be unique` };
    }
    ids.add(m.id);
  }
  const kept = messages.filter((m) => {
    if (!('method' in m) || 'id' in m || m.method !== 'notifications/cancelled') return true;
    const target = (m.params as { requestId?: string | number } | undefined)?.requestId;
    return target === undefined || !ids.has(target);
  });
  return { ok: true, messages: kept };
}
