import type { ValueParser } from './value-parsers.js';
import { parserFor } from './value-parsers.js';

/** Parameter values in PostgreSQL's text format (null stays SQL NULL). */
export function toWireValue(v: unknown): string | Buffer | null {
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
  /** Rows as arrays aligned with `columns`, at most `maxRows` of them. */
  rows: unknown[][];
  /** True when the statement had more rows than `maxRows`. */
  truncated: boolean;
}

export interface ReadOnlyBatchOptions {
  sql: string;
  values?: readonly unknown[];
  maxRows: number;
  statementTimeoutMs: number;
  applicationName: string;
}

// The minimal slice of pg's Connection this submittable writes to.
interface PgConnection {
  stream: { cork(): void; uncork(): void };
  parse(msg: { text: string; name?: string }): void;
  bind(msg: { portal?: string; statement?: string; values?: (string | Buffer | null)[] }): void;
  describe(msg: { type: 'P' | 'S'; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
}

const enum Phase {
  Begin,
  Settings,
  Statement,
  Rollback,
  Done,
}

/**
 * One caller statement as a single extended-protocol round trip:
 *
 *   BEGIN READ ONLY · set_config(statement_timeout, application_name) LOCAL ·
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
  private truncated = false;
  private error: Error | undefined;
  private settle!: { resolve: (r: ReadOnlyResult) => void; reject: (e: Error) => void };
  readonly done: Promise<ReadOnlyResult>;

  constructor(private readonly opts: ReadOnlyBatchOptions) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  submit(con: PgConnection): void {
    const { sql, values, maxRows, statementTimeoutMs, applicationName } = this.opts;
    con.stream.cork();
    try {
      con.parse({ text: 'BEGIN READ ONLY' });
      con.bind({});
      con.execute({});
      con.parse({
        text: "SELECT set_config('statement_timeout', $1, true), set_config('application_name', $2, true)",
      });
      con.bind({ values: [`${statementTimeoutMs}ms`, applicationName] });
      con.execute({});
      con.parse({ text: sql });
      con.bind({ values: values ? values.map(toWireValue) : [] });
      con.describe({ type: 'P' });
      con.execute({ rows: maxRows + 1 });
      con.parse({ text: 'ROLLBACK' });
      con.bind({});
      con.execute({});
      con.sync();
    } finally {
      con.stream.uncork();
    }
  }

  handleRowDescription(msg: { fields: { name: string; dataTypeID: number }[] }): void {
    if (this.phase !== Phase.Statement) return;
    this.columns = msg.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID }));
    this.parsers = msg.fields.map((f) => parserFor(f.dataTypeID));
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    if (this.phase !== Phase.Statement) return;
    if (this.rows.length >= this.opts.maxRows) {
      this.truncated = true;
      return;
    }
    // pg-protocol allocates a fresh fields array per DataRow: parse it in place and
    // keep it as the row, rather than copying every row into a new array.
    const row: unknown[] = msg.fields;
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (v !== null) row[i] = this.parsers[i]!(v as string);
    }
    this.rows.push(row);
  }

  handleCommandComplete(): void {
    this.phase++;
  }

  handlePortalSuspended(): void {
    // Only the caller's statement has a row limit: more rows exist than were read.
    this.truncated = true;
    this.phase++;
  }

  handleEmptyQuery(): void {
    this.phase++;
  }

  handleError(err: Error): void {
    // pg detaches the submittable on an error, so no ReadyForQuery reaches it.
    this.error = err;
    this.settle.reject(err);
  }

  handleReadyForQuery(): void {
    if (this.error) return;
    if (this.phase !== Phase.Done) {
      this.settle.reject(new Error(`protocol: batch ended in phase ${this.phase}`));
      return;
    }
    this.settle.resolve({ columns: this.columns, rows: this.rows, truncated: this.truncated });
  }

  handleCopyInResponse(): void {
    // COPY never passes the guard; should it ever arrive, the server skips to Sync.
  }

  handleCopyData(): void {}
}
