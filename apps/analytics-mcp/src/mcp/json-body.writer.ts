import type { ServerResponse } from 'node:http';
import { EscapedText, type BodyPart } from './json-rpc.serializer.js';
import { JsonText } from './json-text.js';

/** Largest slice written at once; above one slice, a body is streamed. */
const SLICE = 64 * 1024;

/**
 * Writes a JSON body. A small one goes out at once with Content-Length; a large one
 * (a big tool result) is written in slices with chunked transfer encoding, each after
 * the socket has taken the previous ones, so no whole copy of the body is built and
 * a slow reader holds at most a few slices in memory. Rows still held as bytes
 * (JsonText) go out as those bytes. Stops when the client is gone.
 */
export async function writeJsonBody(res: ServerResponse, status: number, parts: BodyPart[]): Promise<void> {
  if (parts.every((p) => (typeof p === 'string' ? p.length : p instanceof EscapedText && typeof p.text === 'string' ? p.size : Infinity) <= SLICE)) {
    // One string, one write: headers and body leave in one segment.
    let body = '';
    for (const p of parts) body += typeof p === 'string' ? p : ((p as EscapedText).pieces().next().value as string);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  for (const part of parts) {
    const pieces = part instanceof EscapedText ? part.pieces(SLICE) : part instanceof JsonText ? part.bytes() : slices(part);
    for (const piece of pieces) {
      if (res.destroyed) return;
      if (!res.write(piece) && !(await drained(res))) return;
    }
  }
  res.end();
}

/** Slices never end between the halves of a surrogate pair: each is encoded to UTF-8 on its own. */
function* slices(text: string): Generator<string> {
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + SLICE);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    yield text.slice(at, end);
    at = end;
  }
}

/** Resolves true once the socket takes more, false if the response closes first. */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
