import { JsonRows } from '#db';

/**
 * Text blocks whose text is exactly `JSON.stringify(structuredContent)` of the result
 * that carries them (the registry builds both from one object). The serializer writes
 * such a text a second time as the structured part instead of serialising the object
 * again; anything not marked is serialised as is.
 */
const jsonOfStructured = new WeakSet<object>();

export function markJsonOfStructured<T extends object>(block: T): T {
  jsonOfStructured.add(block);
  return block;
}

const ROWS_MARKER = '\u0000analytics-mcp:rows\u0000';
const ROWS_SLOT = JSON.stringify(ROWS_MARKER);

/**
 * `JSON.stringify(structured)`. Rows a tool returned as JsonRows are already JSON:
 * their text goes in as it is, where JSON.stringify would have put it.
 */
export function structuredJson(structured: Record<string, unknown>): string {
  const rows = structured.rows;
  if (!(rows instanceof JsonRows)) return JSON.stringify(structured);
  const skeleton = JSON.stringify({ ...structured, rows: ROWS_MARKER });
  const at = skeleton.indexOf(ROWS_SLOT);
  // Another member holding the marker's text: serialise plainly (JsonRows.toJSON).
  if (at === -1 || skeleton.indexOf(ROWS_SLOT, at + 1) !== -1) return JSON.stringify(structured);
  return skeleton.slice(0, at) + rows.json() + skeleton.slice(at + ROWS_SLOT.length);
}

export function isJsonOfStructured(block: unknown): block is { type: 'text'; text: string } {
  return typeof block === 'object' && block !== null && jsonOfStructured.has(block);
}
