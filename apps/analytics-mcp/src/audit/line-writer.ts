import { closeSync, fsyncSync, write, writeSync } from 'node:fs';

/** One write at most this long, cut at line ends: on a pipe, writes up to PIPE_BUF are atomic. */
const MAX_WRITE_BYTES = 4_096;
const MAX_PENDING_LINES = 100_000;
/** A write that is not a full one waits until this long after the previous write began. */
const DEFAULT_MIN_INTERVAL_MS = 5;

export interface LineWriterOptions {
  /** Close the descriptor at shutdown (a file the writer opened). */
  ownsFd?: boolean;
  /** See DEFAULT_MIN_INTERVAL_MS; 0 writes every line as soon as the last write is done. */
  minIntervalMs?: number;
  /** fs.write, for specs that count writes. */
  write?: (fd: number, text: string, done: (err: NodeJS.ErrnoException | null) => void) => void;
}

const fsWrite: NonNullable<LineWriterOptions['write']> = (fd, text, done) => write(fd, text, null, 'utf8', done);

/**
 * Appends whole lines to a file descriptor without blocking the event loop: lines queue
 * while a write is under way and go out together, never more than 4 kB or part of a
 * line per write (unless one line is longer), so they do not interleave with other
 * writers of the same stdout. A queue that outgrows its bound drops lines and says so.
 *
 * A line after a quiet spell is written at once. Under load, lines are gathered for up
 * to 5 ms between writes (a full 4 kB goes at once): each write is a round trip through
 * libuv's thread pool, and one per tool call cost more than the line itself.
 */
export class LineWriter {
  private pending: string[] = [];
  /** UTF-16 length of the pending lines: enough to tell whether a full write is waiting. */
  private pendingLength = 0;
  /** A write is under way, or one is due (`timer`). */
  private writing = false;
  private timer: NodeJS.Timeout | undefined;
  private lastWriteAt = -Infinity;
  private dropped = 0;
  private closed = false;
  private readonly ownsFd: boolean;
  private readonly minIntervalMs: number;
  private readonly write: NonNullable<LineWriterOptions['write']>;

  constructor(
    private readonly fd: number,
    private readonly onError: (err: Error) => void,
    options: LineWriterOptions = {},
  ) {
    this.ownsFd = options.ownsFd ?? false;
    this.minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.write = options.write ?? fsWrite;
  }

  writeLine(line: string): void {
    if (this.closed) return;
    if (this.pending.length >= MAX_PENDING_LINES) {
      this.dropped++;
      return;
    }
    this.pending.push(`${line}\n`);
    this.pendingLength += line.length + 1;
    if (!this.writing) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) {
      this.writing = false;
      return;
    }
    this.writing = true;
    const wait = this.lastWriteAt + this.minIntervalMs - performance.now();
    if (wait > 0 && this.pendingLength < MAX_WRITE_BYTES && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait).unref();
      return;
    }
    this.lastWriteAt = performance.now();
    const chunk = this.take();
    this.write(this.fd, chunk, (err) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          this.pending.unshift(chunk);
          this.pendingLength += chunk.length;
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.flush();
          }, 10).unref();
          return;
        }
        this.onError(err);
      }
      if (this.dropped > 0) {
        const n = this.dropped;
        this.dropped = 0;
        const warning = `${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: `audit: ${n} lines dropped (writer fell behind)` })}\n`;
        this.pending.push(warning);
        this.pendingLength += warning.length;
      }
      this.flush();
    });
  }

  private take(): string {
    let chunk = this.pending.shift()!;
    let bytes = Buffer.byteLength(chunk);
    while (this.pending.length > 0) {
      const next = Buffer.byteLength(this.pending[0]!);
      if (bytes + next > MAX_WRITE_BYTES) break;
      chunk += this.pending.shift()!;
      bytes += next;
    }
    this.pendingLength -= chunk.length;
    return chunk;
  }

  /** At shutdown: waits (briefly) for what is queued to be written, then closes an owned descriptor. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Lines gathered for a write that is not due yet go out now, below.
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.writing = false;
    }
    const deadline = Date.now() + 2_000;
    while (this.writing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    try {
      const rest = this.writing ? '' : this.pending.join('');
      if (rest) writeSync(this.fd, rest);
      if (this.ownsFd) {
        fsyncSync(this.fd);
        closeSync(this.fd);
      }
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
