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

export function isJsonOfStructured(block: unknown): block is { type: 'text'; text: string } {
  return typeof block === 'object' && block !== null && jsonOfStructured.has(block);
}
