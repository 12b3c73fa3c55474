import { JsonRows } from '#db';

/**
 * Text blocks whose text is exactly `JSON.stringify(structuredContent)` of the result
 * that carries them (the registry builds both from one object). The serializer writes
 * such a text a second time as the structured part instead of serialising the object
 * again; anything not marked is serialised as is.
 */
const jsonOfStructured = new WeakSet<object>();
/** Marked blocks whose text is still bytes: the JsonText it is made from on demand. */
const unmadeTexts = new WeakMap<object, JsonText>();

export function markJsonOfStructured<T extends object>(block: T): T {
  jsonOfStructured.add(block);
  return block;
}

/**
 * Rows larger than this stay bytes from the database to the socket: their text is made
 * a string only if something other than the HTTP writer asks for it.
 */
const STRING_ROWS_MAX_BYTES = 64 * 1024;

/**
 * JSON text of a structured result whose rows are JsonRows: the members around the
 * rows as strings, the rows as their bytes. Written to a socket as it is (`bytes()`);
 * `toString()` builds, once, the string JSON.stringify would have given.
 */
export class JsonText {
  private text: string | undefined;

  constructor(
    readonly head: string,
    readonly rows: JsonRows,
    readonly tail: string,
  ) {}

  get byteLength(): number {
    return Buffer.byteLength(this.head) + this.rows.byteLength + Buffer.byteLength(this.tail);
  }

  /** The text's UTF-8 bytes in order; the rows' pieces end between rows. */
  *bytes(): Generator<string | Buffer> {
    yield this.head;
    yield* this.rows.bytes();
    yield this.tail;
  }

  toString(): string {
    return (this.text ??= this.head + this.rows.json() + this.tail);
  }
}

const ROWS_MARKER = '\u0000analytics-mcp:rows\u0000';
const ROWS_SLOT = JSON.stringify(ROWS_MARKER);

/**
 * `JSON.stringify(structured)`: a string, or for rows of more than 64 KiB held as
 * JsonRows, a JsonText of the same bytes. Rows a tool returned as JsonRows are already
 * JSON: their text goes in as it is, where JSON.stringify would have put it.
 */
export function structuredJson(structured: Record<string, unknown>): string | JsonText {
  const rows = structured.rows;
  if (!(rows instanceof JsonRows)) return JSON.stringify(structured);
  const skeleton = JSON.stringify({ ...structured, rows: ROWS_MARKER });
  const at = skeleton.indexOf(ROWS_SLOT);
  // Another member holding the marker's text: serialise plainly (JsonRows.toJSON).
  if (at === -1 || skeleton.indexOf(ROWS_SLOT, at + 1) !== -1) return JSON.stringify(structured);
  const text = new JsonText(skeleton.slice(0, at), rows, skeleton.slice(at + ROWS_SLOT.length));
  return rows.byteLength > STRING_ROWS_MAX_BYTES ? text : text.toString();
}

/**
 * The marked text block of a table result. For a JsonText, `text` is made on first
 * read (the SDK's paths, stdio); the HTTP writer takes the bytes (jsonTextOf) and
 * never reads it.
 */
export function jsonTextBlock(text: string | JsonText): { type: 'text'; text: string } {
  if (typeof text === 'string') return markJsonOfStructured({ type: 'text' as const, text });
  const block = { type: 'text' as const } as { type: 'text'; text: string };
  Object.defineProperty(block, 'text', { get: () => text.toString(), enumerable: true, configurable: true });
  unmadeTexts.set(block, text);
  return markJsonOfStructured(block);
}

/** A marked block's text, as bytes if it was never made a string. */
export function jsonTextOf(block: { text: string }): string | JsonText {
  return unmadeTexts.get(block) ?? block.text;
}

export function isJsonOfStructured(block: unknown): block is { type: 'text'; text: string } {
  return typeof block === 'object' && block !== null && jsonOfStructured.has(block);
}
