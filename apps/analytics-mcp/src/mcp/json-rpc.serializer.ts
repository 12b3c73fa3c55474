import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { isJsonOfStructured, JsonText, jsonTextOf } from './json-text.js';

interface ToolResultLike {
  content?: unknown[];
  structuredContent?: unknown;
}

/**
 * A text written as a JSON string, escaped piece by piece while it is written. A
 * JsonText's rows are escaped from their bytes: read as latin1, each byte is one
 * character, which JSON.stringify escapes exactly where it would escape the decoded
 * text (quotes, backslashes, controls; UTF-8's bytes are all above them), and
 * written back as latin1 they are the same bytes again.
 */
export class EscapedText {
  constructor(readonly text: string | JsonText) {}

  /** Length of the text before escaping (UTF-16 units of a string, bytes of a JsonText). */
  get size(): number {
    return typeof this.text === 'string' ? this.text.length : this.text.byteLength;
  }

  /** `JSON.stringify(text)`, quotes included; a piece never ends inside a surrogate pair, so the pieces join to exactly that. */
  *pieces(size = ESCAPE_PIECE): Generator<string | Buffer> {
    const { text } = this;
    if (typeof text !== 'string') return yield* escapedBytes(text, size);
    if (text.length <= size) return yield JSON.stringify(text);
    for (let at = 0; at < text.length; ) {
      let end = Math.min(text.length, at + size);
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
      const escaped = JSON.stringify(text.slice(at, end));
      yield `${at === 0 ? '"' : ''}${escaped.slice(1, -1)}${end === text.length ? '"' : ''}`;
      at = end;
    }
  }
}

function* escapedBytes(text: JsonText, size: number): Generator<string | Buffer> {
  yield JSON.stringify(text.head).slice(0, -1);
  for (const chunk of text.rows.bytes()) {
    for (let at = 0; at < chunk.length; at += size) {
      const escaped = Buffer.from(JSON.stringify(chunk.toString('latin1', at, Math.min(chunk.length, at + size))), 'latin1');
      yield escaped.subarray(1, escaped.length - 1);
    }
  }
  yield JSON.stringify(text.tail).slice(1);
}

export type BodyPart = string | EscapedText | JsonText;

const ESCAPE_PIECE = 64 * 1024;
const TEXT_SLOT = '\u0000analytics-mcp:text\u0000';
const STRUCTURED_SLOT = '\u0000analytics-mcp:structured\u0000';
const QUOTED_TEXT_SLOT = JSON.stringify(TEXT_SLOT);
const QUOTED_STRUCTURED_SLOT = JSON.stringify(STRUCTURED_SLOT);

/**
 * JSON for a response body, as parts to write in order; joined, they are byte for byte
 * `JSON.stringify(payload)`. Tool results carry the same data twice (structured, and as
 * its JSON text, built from one object by the registry): the text is reused verbatim as
 * the structured part instead of serialising a large result a second time, and its
 * escaped copy is produced piece by piece as it is written, never as one more string.
 */
export function serializeJsonRpc(payload: JSONRPCMessage | JSONRPCMessage[]): BodyPart[] {
  if (!Array.isArray(payload)) return serializeOne(payload);
  const parts: BodyPart[] = ['['];
  payload.forEach((m, i) => {
    if (i) parts.push(',');
    for (const p of serializeOne(m)) parts.push(p);
  });
  parts.push(']');
  return parts;
}

function serializeOne(message: JSONRPCMessage): BodyPart[] {
  const result = (message as { result?: ToolResultLike }).result;
  const block = result?.content?.length === 1 ? result.content[0] : undefined;
  if (!result || result.structuredContent === undefined || !isJsonOfStructured(block)) return [JSON.stringify(message)];
  // Every member in its place, the two copies of the data replaced by markers; the
  // block's text is not read (it may be bytes not yet made a string).
  const slotted: Record<string, unknown> = {};
  for (const key of Object.keys(block)) slotted[key] = key === 'text' ? TEXT_SLOT : (block as Record<string, unknown>)[key];
  const skeleton = JSON.stringify({
    ...message,
    result: { ...result, content: [slotted], structuredContent: STRUCTURED_SLOT },
  });
  const t = skeleton.indexOf(QUOTED_TEXT_SLOT);
  const s = skeleton.indexOf(QUOTED_STRUCTURED_SLOT);
  // Some other member holding a marker's exact text: serialise plainly.
  if (skeleton.indexOf(QUOTED_TEXT_SLOT, t + 1) !== -1 || skeleton.indexOf(QUOTED_STRUCTURED_SLOT, s + 1) !== -1) return [JSON.stringify(message)];
  const text = jsonTextOf(block);
  const escaped = new EscapedText(text);
  const [first, firstLen, firstPart, second, secondLen, secondPart] =
    t < s ? [t, QUOTED_TEXT_SLOT.length, escaped, s, QUOTED_STRUCTURED_SLOT.length, text] : [s, QUOTED_STRUCTURED_SLOT.length, text, t, QUOTED_TEXT_SLOT.length, escaped];
  return [skeleton.slice(0, first), firstPart, skeleton.slice(first + firstLen, second), secondPart, skeleton.slice(second + secondLen)];
}

const TOOL_ANSWER_HEAD = '{"result":{"content":[{"type":"text","text":';

/**
 * The answer to a tools/call whose result is a table (one text block holding the JSON
 * of structuredContent, nothing else), written from a template instead of through
 * serializeJsonRpc's skeleton: `{"result":{"content":[…]` + `members` (what the era
 * adds after content, as JSON text starting with a comma) + `,"structuredContent":…},
 * "jsonrpc":"2.0","id":…}`, byte for byte what serializeJsonRpc gives for the same
 * envelope. Undefined for any other result.
 */
export function tableAnswerParts(result: ToolResultLike & Record<string, unknown>, members: string, id: string | number): BodyPart[] | undefined {
  const block = result.content?.length === 1 ? result.content[0] : undefined;
  if (result.structuredContent === undefined || !isJsonOfStructured(block)) return undefined;
  let keys = 0;
  for (const _ in result) keys++;
  let blockKeys = 0;
  for (const _ in block) blockKeys++;
  if (keys !== 2 || blockKeys !== 2 || block.type !== 'text') return undefined;
  const text = jsonTextOf(block);
  return [TOOL_ANSWER_HEAD, new EscapedText(text), `}]${members},"structuredContent":`, text, `},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`];
}

/** The joined body (for tests). */
export function joinParts(parts: BodyPart[]): string {
  const bytes: Buffer[] = [];
  for (const p of parts) {
    const pieces = typeof p === 'string' ? [p] : p instanceof EscapedText ? p.pieces() : p.bytes();
    for (const piece of pieces) bytes.push(typeof piece === 'string' ? Buffer.from(piece) : piece);
  }
  return Buffer.concat(bytes).toString('utf8');
}
