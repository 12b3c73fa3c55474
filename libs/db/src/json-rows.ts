import { keepsText, parserFor, type ValueParser } from './value-parsers.js';

/**
 * Rows already written as JSON: `[[…],[…],…]`, byte for byte what
 * `JSON.stringify(rows)` gives for the values `parserFor` makes of the same fields.
 * `toJSON()` gives those values, so a JSON.stringify of an object holding it is
 * unchanged; code that only forwards the text (the HTTP answer) never builds them.
 */
export class JsonRows {
  private constructor(
    /** The rows' bytes, `[`/`]` left out; chunks end only between rows. */
    private readonly chunks: readonly Buffer[],
    private readonly ends: readonly number[],
    readonly length: number,
  ) {}

  static of(bytes: Buffer | readonly Buffer[], ends: readonly number[], length = ends.length): JsonRows {
    return new JsonRows(Buffer.isBuffer(bytes) ? [bytes] : bytes, ends, Math.min(length, ends.length));
  }

  /** The first `n` rows (a view: nothing is copied). */
  slice(n: number): JsonRows {
    return new JsonRows(this.chunks, this.ends, Math.max(0, Math.min(n, this.length)));
  }

  /** UTF-8 bytes of `json()`. */
  get byteLength(): number {
    return this.length === 0 ? 2 : this.ends[this.length - 1]! + 2;
  }

  /** `json()`'s bytes, as views of the rows' chunks (at most one chunk each). */
  *bytes(): Generator<Buffer> {
    if (this.length === 0) return yield Buffer.from('[]');
    yield OPEN_BYTES;
    yield* this.rowBytes();
    yield CLOSE_BYTES;
  }

  /** `JSON.stringify` of the rows. */
  json(): string {
    if (this.length === 0) return '[]';
    if (this.chunks.length === 1) return `[${this.chunks[0]!.toString('utf8', 0, this.ends[this.length - 1])}]`;
    let text = '[';
    // Chunks end between rows, so each decodes on its own.
    for (const piece of this.rowBytes()) text += piece.toString('utf8');
    return `${text}]`;
  }

  private *rowBytes(): Generator<Buffer> {
    let left = this.ends[this.length - 1]!;
    for (const chunk of this.chunks) {
      if (left <= 0) break;
      const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      yield piece;
    }
  }

  toJSON(): unknown[][] {
    return JSON.parse(this.json()) as unknown[][];
  }
}

const OPEN_BYTES = Buffer.from('[');
const CLOSE_BYTES = Buffer.from(']');
/**
 * Size of the builder's chunks once the rows outgrow the first: a large result is
 * many chunks this size rather than one buffer doubled (and copied) up to its size,
 * which glibc would keep after it is freed.
 */
const CHUNK = 64 * 1024;

const enum Kind {
  Bool,
  Int,
  Float,
  Text,
  /** json, jsonb, arrays: through the value parser and JSON.stringify. */
  Parsed,
}

const KINDS = new Map<number, Kind>([
  [16, Kind.Bool],
  [20, Kind.Int], // int8: a number while it is a safe integer, its text beyond
  [21, Kind.Int],
  [23, Kind.Int],
  [26, Kind.Int],
  [700, Kind.Float],
  [701, Kind.Float],
]);

function kindOf(typeOid: number): Kind {
  return KINDS.get(typeOid) ?? (keepsText(typeOid) ? Kind.Text : Kind.Parsed);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const HEX = '0123456789abcdef';
const TRUE_BYTES = Buffer.from('true');
const FALSE_BYTES = Buffer.from('false');
// JSON.stringify's short escapes for control characters; the others are \u00xx.
const SHORT_ESCAPES: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };
/** Significant digits a decimal may have and still be printed back unchanged by JavaScript. */
const EXACT_DIGITS = 15;

/**
 * Builds JsonRows from DataRow messages in PostgreSQL's text format, writing each
 * field's JSON straight from its bytes. Whatever is not plainly a number, a boolean
 * or ASCII text (non-ASCII text, float and int8 texts JavaScript would print
 * differently, json, arrays) is decoded and goes through `parserFor` and
 * JSON.stringify, so the output never differs from the values path.
 */
export class JsonRowsBuilder {
  private readonly kinds: Kind[];
  private readonly parsers: ValueParser[];
  /** Sealed chunks: whole rows each. */
  private readonly chunks: Buffer[] = [];
  /** Offset in the rows' bytes of `out[0]`. */
  private base = 0;
  private out: Buffer;
  private at = 0;
  /** Where in `out` the row being added starts. */
  private rowStart = 0;
  private readonly ends: number[] = [];

  constructor(readonly typeOids: readonly number[]) {
    this.kinds = typeOids.map(kindOf);
    this.parsers = typeOids.map(parserFor);
    this.out = Buffer.allocUnsafe(512);
  }

  get length(): number {
    return this.ends.length;
  }

  rows(n = this.ends.length): JsonRows {
    return JsonRows.of(this.at > 0 ? [...this.chunks, this.out.subarray(0, this.at)] : this.chunks, this.ends, n);
  }

  /**
   * One DataRow message body (`buf[start, end)`, after the type byte and length).
   * Returns false, keeping nothing of it, when it does not fit the columns.
   */
  add(buf: Buffer, start: number, end: number): boolean {
    const count = end - start >= 2 ? buf.readInt16BE(start) : -1;
    if (count !== this.kinds.length) return false;
    this.rowStart = this.at;
    // Room for the row as long as nothing is escaped or parsed (those make their own):
    // a copied field's JSON ("null", "false", a number, quoted ASCII) is never longer
    // than its length word and bytes, plus its comma.
    this.room(end - start + 2 + count);
    let out = this.out;
    let o = this.at;
    if (this.ends.length > 0) out[o++] = COMMA;
    out[o++] = OPEN;
    let p = start + 2;
    for (let i = 0; i < count; i++) {
      if (i > 0) out[o++] = COMMA;
      if (p + 4 > end) return this.undo();
      const len = buf.readInt32BE(p);
      p += 4;
      if (len === -1) {
        out[o++] = 0x6e; // null
        out[o++] = 0x75;
        out[o++] = 0x6c;
        out[o++] = 0x6c;
        continue;
      }
      const s = p;
      p += len;
      if (len < 0 || p > end) return this.undo();
      const kind = this.kinds[i]!;
      if (kind === Kind.Bool) {
        const word = len === 1 && buf[s] === 0x74 /* t */ ? TRUE_BYTES : FALSE_BYTES;
        for (let k = 0; k < word.length; k++) out[o++] = word[k]!;
      } else if ((kind === Kind.Int && plainInteger(buf, s, p)) || (kind === Kind.Float && plainDecimal(buf, s, p))) {
        for (let k = s; k < p; k++) out[o++] = buf[k]!;
      } else {
        this.at = o;
        if (kind === Kind.Text) this.text(i, buf, s, p);
        else this.parsed(i, buf, s, p);
        this.room(end - p + 2 + count - i);
        out = this.out;
        o = this.at;
      }
    }
    out[o++] = CLOSE;
    this.at = o;
    this.ends.push(this.base + o);
    return true;
  }

  private undo(): false {
    this.at = this.rowStart;
    return false;
  }

  private text(i: number, buf: Buffer, s: number, e: number): void {
    this.room(2 + (e - s));
    // Where the field starts within its row (room() may move the row).
    const field = this.at - this.rowStart;
    let out = this.out;
    let o = this.at;
    out[o++] = QUOTE;
    for (let k = s; k < e; k++) {
      const b = buf[k]!;
      if (b >= 0x20 && b !== QUOTE && b !== BACKSLASH && b < 0x80) {
        out[o++] = b;
        continue;
      }
      if (b >= 0x80) {
        this.at = this.rowStart + field;
        return this.parsed(i, buf, s, e);
      }
      if (o + 6 + (e - k) > out.length) {
        this.at = o;
        this.room(6 + (e - k));
        out = this.out;
        o = this.at;
      }
      out[o++] = BACKSLASH;
      const short = b === QUOTE || b === BACKSLASH ? b : SHORT_ESCAPES[b];
      if (short !== undefined) out[o++] = short;
      else {
        out[o++] = 0x75; // u
        out[o++] = ZERO;
        out[o++] = ZERO;
        out[o++] = HEX.charCodeAt(b >> 4);
        out[o++] = HEX.charCodeAt(b & 15);
      }
    }
    out[o++] = QUOTE;
    this.at = o;
  }

  private parsed(i: number, buf: Buffer, s: number, e: number): void {
    const json = JSON.stringify(this.parsers[i]!(buf.toString('utf8', s, e)));
    this.room(Buffer.byteLength(json));
    this.at += this.out.write(json, this.at, 'utf8');
  }

  /** Room for `n` more bytes in `out`; the row being added may move to a new chunk. */
  private room(n: number): void {
    const need = this.at + n;
    if (need <= this.out.length) return;
    if (need > CHUNK && this.rowStart > 0) {
      // Seal the whole rows; the row in progress starts the next chunk.
      const keep = this.at - this.rowStart;
      this.chunks.push(this.out.subarray(0, this.rowStart));
      this.base += this.rowStart;
      const next = Buffer.allocUnsafe(Math.max(CHUNK, keep + n));
      this.out.copy(next, 0, this.rowStart, this.at);
      this.out = next;
      this.at = keep;
      this.rowStart = 0;
      return;
    }
    let size = this.out.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.out.copy(grown, 0, 0, this.at);
    this.out = grown;
  }
}

/** `-?(0|[1-9][0-9]*)` of at most 15 digits, not `-0`: Number() of it prints back as the same text. */
function plainInteger(buf: Buffer, s: number, e: number): boolean {
  let k = s;
  if (buf[k] === MINUS) k++;
  const digits = e - k;
  if (digits < 1 || digits > EXACT_DIGITS) return false;
  if (buf[k] === ZERO) return digits === 1 && k === s;
  for (; k < e; k++) if (buf[k]! < ZERO || buf[k]! > NINE) return false;
  return true;
}

/**
 * `-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?` with at most 15 significant digits and at most
 * five zeros after a leading `0.`: JavaScript prints the double nearest such a
 * decimal back as that very text (15 digits always round-trip through a double,
 * and it uses exponents only from 1e21 and below 1e-6). PostgreSQL's float output
 * is of this form except for exponents, NaN, Infinity and -0, which take the slow path.
 */
function plainDecimal(buf: Buffer, s: number, e: number): boolean {
  let k = s;
  if (buf[k] === MINUS) k++;
  const intStart = k;
  while (k < e && buf[k]! >= ZERO && buf[k]! <= NINE) k++;
  const intDigits = k - intStart;
  if (intDigits === 0 || (intDigits > 1 && buf[intStart] === ZERO)) return false;
  const zeroInt = intDigits === 1 && buf[intStart] === ZERO;
  if (k === e) return intDigits <= EXACT_DIGITS && !(zeroInt && intStart !== s);
  if (buf[k] !== DOT) return false;
  const fracStart = ++k;
  while (k < e && buf[k]! >= ZERO && buf[k]! <= NINE) k++;
  if (k !== e || k === fracStart || buf[e - 1] === ZERO) return false;
  let significant = zeroInt ? 0 : intDigits;
  let f = fracStart;
  if (zeroInt) {
    while (buf[f] === ZERO) f++;
    if (f - fracStart > 5) return false;
  }
  significant += e - f;
  return significant <= EXACT_DIGITS;
}

const ROW_DESCRIPTION = 0x54; // T
const DATA_ROW = 0x44; // D
const ERROR = 0x45; // E
const READY = 0x5a; // Z
const COMMAND_COMPLETE = 0x43; // C
const PORTAL_SUSPENDED = 0x73; // s
const EMPTY_QUERY = 0x49; // I
// Answers to the batch's own messages that carry nothing pg must know: ParseComplete,
// BindComplete, NoData.
const ACKNOWLEDGEMENTS = new Set([...'12n'].map((c) => c.charCodeAt(0)));
// Every message type a backend sends after start-up; anything else means the bytes are not framed as read.
const BACKEND_TYPES = new Set([...'123ACDEGHIKNRSTVWZcdnpstv'].map((c) => c.charCodeAt(0)));
// A batch's answer opens with ParseComplete (or an error, a notice, a parameter report).
const OPENING_TYPES = new Set([...'1ENS'].map((c) => c.charCodeAt(0)));

/** What the batch says of the statement's next DataRow, given its length field (as pg reports it). */
export type RowVerdict = 'write' | 'skip' | 'stop';

export interface FilteredColumn {
  name: string;
  typeOid: number;
}

/** The batch, told of the messages the filter keeps from pg, in the order they arrive. */
export interface BatchSink {
  /** The statement's RowDescription. */
  columns(columns: FilteredColumn[]): void;
  row(length: number): RowVerdict;
  commandComplete(): void;
  portalSuspended(): void;
  emptyQuery(): void;
  /** A DataRow that does not fit the RowDescription: nothing read can be trusted. */
  broken(err: Error): void;
}

/**
 * Sits between the connection's socket and pg's parser while a batch runs, and reads
 * the batch's answer itself: the acknowledgements, command completions and the
 * statement's RowDescription go to the sink, the statement's DataRows are written as
 * JSON (when the sink says so), and none of them reaches pg, which decodes nothing of
 * them. Every other message (ReadyForQuery, an error, a notice, a parameter report) is
 * handed on to pg unchanged and in order; from an error or ReadyForQuery on, every
 * byte is handed on as it comes, as it is from the start when the answer does not open
 * as a batch's does, and from any byte the filter cannot frame. It never holds more
 * than one incomplete message.
 */
export class BatchAnswerFilter {
  builder: JsonRowsBuilder | undefined;
  /** Handing everything on: the batch's answer is over, or the filter was dropped. */
  passthrough = false;
  /** The sink stopped reading (the socket is being cut): nothing more is handed on. */
  private stopped = false;
  /** The statement's rows are over (its CommandComplete, PortalSuspended or EmptyQuery came). */
  private rowsOver = false;
  private carry: Buffer[] = [];
  private carried = 0;
  private first = true;

  constructor(
    private readonly forward: (chunk: Buffer) => void,
    private readonly sink: BatchSink,
  ) {}

  private written(buf: Buffer, start: number, end: number): boolean {
    try {
      return this.builder!.add(buf, start, end);
    } catch {
      // A value pg's own parser would also have choked on: never thrown into the socket's emit.
      return false;
    }
  }

  /** Hands on the rest as it comes (pg is to read the socket again). */
  drop(): void {
    this.passthrough = true;
  }

  readonly onData = (chunk: Buffer): void => {
    if (this.stopped) return;
    if (this.passthrough) return this.forward(chunk);
    if (this.carried === 0) return this.consume(chunk);
    // A message cut at the last chunk's end: complete it from this chunk, copying only
    // that message, then read on in the chunk itself.
    const all = this.carried + chunk.length;
    if (all < 5) return this.keep(chunk);
    const head = Buffer.allocUnsafe(5);
    let h = 0;
    for (const piece of [...this.carry, chunk]) {
      h += piece.copy(head, h, 0, Math.min(piece.length, 5 - h));
      if (h === 5) break;
    }
    const need = 1 + head.readInt32BE(1);
    if (need < 5) {
      // Not a message: consume() hands it and everything after it on.
      const buf = Buffer.concat([...this.carry, chunk], all);
      this.carry = [];
      this.carried = 0;
      return this.consume(buf);
    }
    if (all < need) return this.keep(chunk);
    const take = need - this.carried;
    const message = Buffer.concat([...this.carry, chunk.subarray(0, take)], need);
    this.carry = [];
    this.carried = 0;
    this.consume(message);
    if (take < chunk.length) this.onData(chunk.subarray(take));
  };

  private keep(chunk: Buffer): void {
    this.carry.push(chunk);
    this.carried += chunk.length;
  }

  /** Reads the messages in `buf` (nothing carried before it); keeps an incomplete last one. */
  private consume(buf: Buffer): void {
    if (this.stopped) return;
    if (this.passthrough) return this.forward(buf);
    let off = 0;
    let run = 0; // start of the messages to hand on, not handed on yet
    while (buf.length - off >= 5) {
      const code = buf[off]!;
      const len = buf.readInt32BE(off + 1);
      if (len < 4 || !(this.first ? OPENING_TYPES : BACKEND_TYPES).has(code)) {
        this.passthrough = true;
        break;
      }
      this.first = false;
      const end = off + 1 + len;
      if (end > buf.length) break;
      if (code === ERROR || code === READY) {
        // pg takes it from here: the error and the ReadyForQuery end the batch.
        this.passthrough = true;
        break;
      }
      const kept = ACKNOWLEDGEMENTS.has(code) || code === COMMAND_COMPLETE || code === PORTAL_SUSPENDED || code === EMPTY_QUERY || code === DATA_ROW || (code === ROW_DESCRIPTION && this.builder === undefined);
      if (!kept) {
        // A notice, a parameter report, …: stays in the run handed on.
        off = end;
        continue;
      }
      // What comes before a kept message reaches pg first, in order.
      if (run < off) this.forward(buf.subarray(run, off));
      run = off;
      if (this.passthrough || this.stopped) break;
      run = end;
      if (code === DATA_ROW) {
        if (this.builder !== undefined && !this.rowsOver) {
          const verdict = this.sink.row(len);
          if (verdict === 'stop') {
            this.stopped = true;
            return;
          }
          if (verdict === 'write' && !this.written(buf, off + 5, end)) {
            this.stopped = true;
            return this.sink.broken(new Error('protocol: a DataRow does not match its RowDescription'));
          }
        }
        // Another statement's row (set_config's): nobody reads it.
      } else if (code === ROW_DESCRIPTION) {
        const columns = readColumns(buf, off + 5);
        this.builder = new JsonRowsBuilder(columns.map((c) => c.typeOid));
        this.sink.columns(columns);
      } else if (code === COMMAND_COMPLETE || code === PORTAL_SUSPENDED || code === EMPTY_QUERY) {
        if (this.builder !== undefined) this.rowsOver = true;
        if (code === COMMAND_COMPLETE) this.sink.commandComplete();
        else if (code === PORTAL_SUSPENDED) this.sink.portalSuspended();
        else this.sink.emptyQuery();
      }
      off = end;
    }
    if (this.stopped) return;
    if (this.passthrough) {
      if (run < buf.length) this.forward(buf.subarray(run));
      return;
    }
    if (run < off) this.forward(buf.subarray(run, off));
    if (off === buf.length) return;
    // Handing on may have dropped the filter: then the rest goes too.
    if (this.passthrough) this.forward(buf.subarray(off));
    else {
      const rest = buf.subarray(off);
      this.carry = [rest];
      this.carried = rest.length;
    }
  }
}

function readColumns(buf: Buffer, start: number): FilteredColumn[] {
  const count = buf.readInt16BE(start);
  const columns: FilteredColumn[] = [];
  let p = start + 2;
  for (let i = 0; i < count; i++) {
    const nul = buf.indexOf(0, p);
    const name = buf.toString('utf8', p, nul);
    p = nul + 1;
    columns.push({ name, typeOid: buf.readUInt32BE(p + 6) });
    p += 18;
  }
  return columns;
}
