import { bindSize, describePortalSize, executeSize, MessageWriter, parseSize, syncSize, type WireValue } from './frontend-messages.js';
import { BatchAnswerFilter, JsonRows, type FilteredColumn, type RowVerdict } from './json-rows.js';
import type { ValueParser } from './value-parsers.js';
import { parserFor } from './value-parsers.js';

/** Parameter values in PostgreSQL's text format (null stays SQL NULL). */
export function toWireValue(v: unknown): WireValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export interface ResultColumn {
  name: string;
  typeOid: number;
}

export interface ReadOnlyResult {
  columns: ResultColumn[];
  /** Rows as arrays aligned with `columns`, at most `maxRows` of them (empty when `jsonRows` holds them). */
  rows: unknown[][];
  /** With `rowsAs: 'json'`: the rows, already JSON text. */
  jsonRows?: JsonRows;
  /** True when the statement had more rows than were returned. */
  truncated: boolean;
  /** Why rows stopped: the row cap, or the byte cap (`maxBytes`). */
  truncatedBy?: 'rows' | 'bytes';
}

export interface ReadOnlyBatchOptions {
  sql: string;
  values?: readonly unknown[];
  maxRows: number;
  statementTimeoutMs: number;
  applicationName: string;
  /** search_path for this transaction: the guard resolved unqualified names over it. */
  searchPath: string;
  /** Stop reading once the rows' wire size passes this many bytes. */
  maxBytes?: number;
  /**
   * `json`: the rows come back as JsonRows, written as JSON straight from the wire
   * (no value per field is kept), for callers that only send them on as JSON.
   */
  rowsAs?: 'values' | 'json';
}

// The minimal slice of pg's Connection this submittable writes to.
interface PgConnection {
  stream: {
    readonly writable: boolean;
    write(bytes: Buffer): boolean;
    destroy(): void;
    on(event: 'data', fn: (chunk: Buffer) => void): void;
    off(event: 'data', fn: (chunk: Buffer) => void): void;
    listeners(event: 'data'): ((chunk: Buffer) => void)[];
  };
}

const enum Phase {
  Begin,
  Settings,
  Statement,
  Rollback,
  Done,
}

const SETTINGS_SQL =
  "SELECT set_config('statement_timeout', $1, true), set_config('application_name', $2, true), " +
  "set_config('standard_conforming_strings', 'on', true), set_config('search_path', $3, true)";

function encode(fill: (w: MessageWriter) => void, size: number): Buffer {
  const w = new MessageWriter(Buffer.alloc(size));
  fill(w);
  if (w.length !== size) throw new Error(`batch constant: wrote ${w.length} bytes, sized ${size}`);
  return w.buffer;
}

// The messages every batch opens and closes with, encoded once.
const BATCH_HEAD = encode(
  (w) => w.parse('BEGIN READ ONLY').bind([]).execute().parse(SETTINGS_SQL),
  parseSize(15) + bindSize([]) + executeSize + parseSize(Buffer.byteLength(SETTINGS_SQL)),
);
const BATCH_TAIL = encode((w) => w.parse('ROLLBACK').bind([]).execute().sync(), parseSize(8) + bindSize([]) + executeSize + syncSize);

// Raw bytes allowed past the byte cap before the socket is cut: DataRow framing and
// the messages around the statement.
const RAW_SLACK_BYTES = 64 * 1024;

/**
 * One caller statement as a single extended-protocol round trip:
 *
 *   BEGIN READ ONLY · set_config(statement_timeout, application_name,
 *   standard_conforming_strings, search_path) LOCAL ·
 *   Parse/Bind/Describe/Execute(maxRows + 1) of the caller's SQL · ROLLBACK · Sync
 *
 * The caller's text goes through Parse, so PostgreSQL itself refuses a second
 * statement; Execute's row limit means the server never produces more than
 * maxRows + 1 rows however large the result; and the transaction is read only and
 * rolled back in the same message train. When the caller's statement fails the
 * server skips to Sync, so the ROLLBACK never ran: the caller must then send one
 * (the connection is left in an aborted transaction, see DbService).
 *
 * It is a node-postgres "submittable": the pg Client calls submit() when the
 * connection is idle and routes the backend's replies to the handle* methods.
 */
export class ReadOnlyBatch {
  private phase = Phase.Begin;
  private columns: ResultColumn[] = [];
  private parsers: ValueParser[] = [];
  private rows: unknown[][] = [];
  private received = 0;
  /** rowsAs 'json': stands between the socket and pg's parser, reading the batch's answer. */
  private filter: BatchAnswerFilter | undefined;
  /** pg's own 'data' listeners, set aside while the filter stands in for them. */
  private pgListeners: ((chunk: Buffer) => void)[] = [];
  private parserRestored = false;
  private truncated = false;
  private truncatedBy: 'rows' | 'bytes' | undefined;
  private rowBytes = 0;
  private rawBytes = 0;
  private con: PgConnection | undefined;
  private settled = false;
  private error: Error | undefined;
  /** True when the batch cut the connection (byte cap): destroy it, never reuse it. */
  connectionSpent = false;
  private settle!: { resolve: (r: ReadOnlyResult) => void; reject: (e: Error) => void };
  readonly done: Promise<ReadOnlyResult>;

  /** Rows of the caller's statement read so far (at most maxRows). */
  get rowsReceived(): number {
    return this.received;
  }

  constructor(private readonly opts: ReadOnlyBatchOptions) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  submit(con: PgConnection): void {
    const { sql, values, maxRows, statementTimeoutMs, applicationName, searchPath, maxBytes } = this.opts;
    this.con = con;
    if (this.opts.rowsAs === 'json') {
      this.pgListeners = con.stream.listeners('data');
      for (const l of this.pgListeners) con.stream.off('data', l);
      this.filter = new BatchAnswerFilter(this.forward, {
        columns: this.filteredColumns,
        row: this.filteredRow,
        commandComplete: () => this.handleCommandComplete(),
        portalSuspended: () => this.handlePortalSuspended(),
        emptyQuery: () => this.handleEmptyQuery(),
        broken: this.filterBroken,
      });
      con.stream.on('data', this.filter.onData);
    }
    if (maxBytes !== undefined) con.stream.on('data', this.countRaw);
    const settings: WireValue[] = [`${statementTimeoutMs}ms`, applicationName, searchPath];
    const params = values ? values.map(toWireValue) : [];
    const sqlBytes = Buffer.byteLength(sql, 'utf8');
    const size = BATCH_HEAD.length + bindSize(settings) + executeSize + parseSize(sqlBytes) + bindSize(params) + describePortalSize + executeSize + BATCH_TAIL.length;
    const w = new MessageWriter(Buffer.allocUnsafe(size))
      .raw(BATCH_HEAD)
      .bind(settings)
      .execute()
      .parse(sql, sqlBytes)
      .bind(params)
      .describePortal()
      .execute(maxRows + 1)
      .raw(BATCH_TAIL);
    // A value that changed between sizing and writing would desynchronise the connection.
    if (w.length !== size) throw new Error(`protocol: the batch wrote ${w.length} bytes, sized ${size}`);
    // One write for the whole train, as pg's Connection would send each message (nothing once the socket is closing).
    if (con.stream.writable) con.stream.write(w.buffer);
  }

  handleRowDescription(msg: { fields: { name: string; dataTypeID: number }[] }): void {
    if (this.phase !== Phase.Statement) return;
    if (this.filter?.builder) {
      // The filter read the statement's RowDescription already: a second one means it lost step.
      return this.filterBroken(new Error('protocol: a second RowDescription passed the batch filter'));
    }
    // pg reads the RowDescription only when the filter could not frame the bytes: rows as values.
    if (this.filter) this.restoreParser();
    this.columns = msg.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID }));
    this.parsers = msg.fields.map((f) => parserFor(f.dataTypeID));
  }

  handleDataRow(msg: { fields: (string | null)[]; length?: number }): void {
    if (this.phase !== Phase.Statement) return;
    if (this.settled) return;
    if (this.filter) {
      // The filter keeps the statement's rows from pg: one reaching here means it lost step.
      return this.filterBroken(new Error('protocol: a DataRow passed the batch filter'));
    }
    if (this.admit(msg.length ?? 0) !== 'write') return;
    // pg-protocol allocates a fresh fields array per DataRow: parse it in place and
    // keep it as the row, rather than copying every row into a new array.
    const row: unknown[] = msg.fields;
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (v !== null) row[i] = this.parsers[i]!(v as string);
    }
    this.rows.push(row);
    this.received++;
  }

  handleCommandComplete(): void {
    this.phase++;
  }

  handlePortalSuspended(): void {
    // Only the caller's statement has a row limit: more rows exist than were read.
    this.truncated = true;
    this.truncatedBy ??= 'rows';
    this.phase++;
  }

  handleEmptyQuery(): void {
    this.phase++;
  }

  handleError(err: Error): void {
    // pg detaches the submittable on an error, so no ReadyForQuery reaches it.
    this.stopCounting();
    if (this.settled) return;
    this.settled = true;
    this.error = err;
    this.settle.reject(err);
  }

  handleReadyForQuery(): void {
    this.stopCounting();
    if (this.error || this.settled) return;
    this.settled = true;
    if (this.phase !== Phase.Done) {
      this.settle.reject(new Error(`protocol: batch ended in phase ${this.phase}`));
      return;
    }
    this.settle.resolve(this.result());
  }

  private result(): ReadOnlyResult {
    const r: ReadOnlyResult = { columns: this.columns, rows: this.rows, truncated: this.truncated };
    if (this.filter) r.jsonRows = this.filter.builder?.rows(this.received) ?? JsonRows.of(Buffer.alloc(0), []);
    if (this.truncatedBy) r.truncatedBy = this.truncatedBy;
    return r;
  }

  private readonly countRaw = (chunk: Buffer): void => {
    this.rawBytes += chunk.length;
    if (this.rawBytes > this.opts.maxBytes! + RAW_SLACK_BYTES) this.overflow();
  };

  private overflow(): void {
    if (this.settled) return;
    this.settled = true;
    this.truncated = true;
    this.truncatedBy = 'bytes';
    this.connectionSpent = true;
    this.stopCounting();
    this.settle.resolve(this.result());
    this.con?.stream.destroy();
  }

  private stopCounting(): void {
    if (this.opts.maxBytes !== undefined) this.con?.stream.off('data', this.countRaw);
    if (this.filter) this.restoreParser(true);
  }

  /** pg's parser reads the socket again; `keepRows`: the filter's rows stand (the batch is over). */
  private restoreParser(keepRows = false): void {
    const filter = this.filter;
    if (!filter || this.parserRestored) return;
    this.parserRestored = true;
    // What is left of the chunk the filter is handing on still goes through `forward`.
    filter.drop();
    const stream = this.con!.stream;
    stream.off('data', filter.onData);
    for (const l of this.pgListeners) stream.on('data', l);
    if (!keepRows) this.filter = undefined;
  }

  private readonly forward = (chunk: Buffer): void => {
    for (const l of this.pgListeners) l(chunk);
  };

  /** The statement's RowDescription, as the filter read it (pg never sees it). */
  private readonly filteredColumns = (columns: FilteredColumn[]): void => {
    if (this.phase === Phase.Statement) this.columns = columns;
  };

  /** The statement's rows the filter takes, accounted as handleDataRow accounts pg's. */
  private readonly filteredRow = (length: number): RowVerdict => {
    if (this.settled) return 'stop';
    const verdict = this.admit(length);
    if (verdict === 'write') this.received++;
    return verdict;
  };

  /** Row accounting, on either path: past max_rows a row is skipped (and flags it), past the byte cap reading stops. */
  private admit(length: number): RowVerdict {
    if (this.received >= this.opts.maxRows) {
      this.truncated = true;
      this.truncatedBy = 'rows';
      return 'skip';
    }
    const maxBytes = this.opts.maxBytes;
    if (maxBytes !== undefined) {
      this.rowBytes += length;
      if (this.rowBytes > maxBytes) {
        this.overflow();
        return 'stop';
      }
    }
    return 'write';
  }

  private readonly filterBroken = (err: Error): void => {
    // Never seen: neither the rows read so far nor the connection can be trusted.
    this.connectionSpent = true;
    this.handleError(err);
    this.con?.stream.destroy();
  };

  handleCopyInResponse(): void {
    // COPY never passes the guard; should it ever arrive, the server skips to Sync.
  }

  handleCopyData(): void {}
}
