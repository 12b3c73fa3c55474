/**
 * Result size accounting. A tool result carries its JSON twice: as
 * structuredContent (for programs) and as a text block (for models that read only
 * text; the spec asks for both). MCP_MAX_RESULT_BYTES bounds the whole response,
 * so the rows may take a little under half of it.
 */
import { EscapedText } from './json-rpc.serializer.js';
import type { JsonText } from './json-text.js';

const ENVELOPE_BYTES = 512;

// Shared with feature modules through #mcp-tools.
export { rowBytesBudget } from '#mcp-tools';

/**
 * Bytes of a response carrying `text` as structuredContent and again as a JSON
 * string. Exact where it matters: the escaped copy is measured only when the
 * cheap bound (escaping at most doubles a JSON text) does not already fit.
 */
export function responseFits(text: string | JsonText, maxResultBytes: number): boolean {
  const bytes = byteLengthOf(text);
  if (3 * bytes + ENVELOPE_BYTES <= maxResultBytes) return true;
  if (2 * bytes + ENVELOPE_BYTES > maxResultBytes) return false;
  let escaped = 0;
  for (const piece of new EscapedText(text).pieces()) escaped += typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;
  return bytes + escaped + ENVELOPE_BYTES <= maxResultBytes;
}

export function byteLengthOf(text: string | JsonText): number {
  return typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength;
}
