import type { JSONRPCMessage } from '@modelcontextprotocol/server';

interface ToolResultLike {
  content?: { type: string; text?: string }[];
  structuredContent?: unknown;
}

/**
 * JSON for a response body, as parts to write in order. Tool results carry the same
 * data twice (structured and as JSON text, built from one object by the registry);
 * the text is reused verbatim as the structured part instead of serialising a large
 * result a second time, and is written as its own part instead of being copied into
 * one flat body.
 */
export function serializeJsonRpc(payload: JSONRPCMessage | JSONRPCMessage[]): string[] {
  if (!Array.isArray(payload)) return serializeOne(payload);
  const parts: string[] = ['['];
  payload.forEach((m, i) => parts.push(...(i ? [','] : []), ...serializeOne(m)));
  parts.push(']');
  return parts;
}

function serializeOne(message: JSONRPCMessage): string[] {
  const result = (message as { result?: ToolResultLike }).result;
  const text = result?.content?.length === 1 && result.content[0]!.type === 'text' ? result.content[0]!.text : undefined;
  if (!result || result.structuredContent === undefined || text === undefined || !text.startsWith('{')) {
    return [JSON.stringify(message)];
  }
  const { structuredContent: _structured, ...rest } = result;
  // `rest` always holds `content`, so its JSON ends with the object's closing brace.
  const head = JSON.stringify(rest);
  const id = JSON.stringify((message as { id: string | number }).id);
  return [`{"jsonrpc":"2.0","id":${id},"result":${head.slice(0, -1)},"structuredContent":`, text, '}}'];
}
