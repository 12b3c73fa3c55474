/**
 * Extended-query frontend messages (PostgreSQL protocol 3.0, "Message Formats"), encoded
 * into one buffer so a whole batch leaves in one write. All use the unnamed statement
 * and portal; parameters and results are in text format, except that a Buffer parameter
 * is sent in binary, as node-postgres sends it.
 */
export type WireValue = string | Buffer | null;

const PARSE = 0x50; // 'P'
const BIND = 0x42; // 'B'
const DESCRIBE = 0x44; // 'D'
const EXECUTE = 0x45; // 'E'
const SYNC = 0x53; // 'S'
const PORTAL = 0x50; // 'P' in Describe

/** Bytes of one message: type byte, int32 length (itself included), body. */
const framed = (body: number) => 1 + 4 + body;

export const parseSize = (textBytes: number) => framed(1 + textBytes + 1 + 2);
export const describePortalSize = framed(2);
export const executeSize = framed(1 + 4);
export const syncSize = framed(0);

function valueBytes(v: WireValue): number {
  if (v === null) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

export function bindSize(values: readonly WireValue[]): number {
  let body = 1 + 1 + 2 + 2 * values.length + 2 + 2 + 2;
  for (const v of values) body += 4 + valueBytes(v);
  return framed(body);
}

/** Writes messages into a buffer sized beforehand with the `*Size` functions. */
export class MessageWriter {
  private at = 0;

  constructor(readonly buffer: Buffer) {}

  get length(): number {
    return this.at;
  }

  private header(type: number, size: number): void {
    this.buffer[this.at] = type;
    this.buffer.writeInt32BE(size - 1, this.at + 1);
    this.at += 5;
  }

  private cString(text: string, bytes: number): void {
    this.buffer.write(text, this.at, bytes, 'utf8');
    this.buffer[this.at + bytes] = 0;
    this.at += bytes + 1;
  }

  /** Parse into the unnamed statement, no parameter types given. `textBytes`: Buffer.byteLength(text). */
  parse(text: string, textBytes = Buffer.byteLength(text, 'utf8')): this {
    this.header(PARSE, parseSize(textBytes));
    this.buffer[this.at++] = 0; // statement name ''
    this.cString(text, textBytes);
    this.at = this.buffer.writeInt16BE(0, this.at);
    return this;
  }

  /** Bind the unnamed statement to the unnamed portal (its length is written once the values are). */
  bind(values: readonly WireValue[]): this {
    const start = this.at;
    this.header(BIND, 5);
    this.buffer[this.at++] = 0; // portal ''
    this.buffer[this.at++] = 0; // statement ''
    this.at = this.buffer.writeInt16BE(values.length, this.at);
    for (const v of values) this.at = this.buffer.writeInt16BE(v instanceof Buffer ? 1 : 0, this.at);
    this.at = this.buffer.writeInt16BE(values.length, this.at);
    for (const v of values) {
      if (v === null) {
        this.at = this.buffer.writeInt32BE(-1, this.at);
      } else if (typeof v === 'string') {
        const bytes = this.buffer.write(v, this.at + 4, 'utf8');
        this.buffer.writeInt32BE(bytes, this.at);
        this.at += 4 + bytes;
      } else {
        this.at = this.buffer.writeInt32BE(v.length, this.at);
        this.at += v.copy(this.buffer, this.at);
      }
    }
    this.at = this.buffer.writeInt16BE(1, this.at); // one result format code for all columns:
    this.at = this.buffer.writeInt16BE(0, this.at); // text
    this.buffer.writeInt32BE(this.at - start - 1, start + 1);
    return this;
  }

  describePortal(): this {
    this.header(DESCRIBE, describePortalSize);
    this.buffer[this.at++] = PORTAL;
    this.buffer[this.at++] = 0; // portal ''
    return this;
  }

  /** Execute the unnamed portal; `maxRows` 0 means all rows. */
  execute(maxRows = 0): this {
    this.header(EXECUTE, executeSize);
    this.buffer[this.at++] = 0; // portal ''
    this.at = this.buffer.writeInt32BE(maxRows, this.at);
    return this;
  }

  sync(): this {
    this.header(SYNC, syncSize);
    return this;
  }

  /** Bytes encoded beforehand (a constant part of a batch). */
  raw(bytes: Buffer): this {
    this.at += bytes.copy(this.buffer, this.at);
    return this;
  }
}
