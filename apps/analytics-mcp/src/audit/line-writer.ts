import { closeSync, fsyncSync, write, writeSync } from 'node:fs';

/** One write at most this long, cut at line ends: on a pipe, writes up to PIPE_BUF are atomic. */
const MAX_WRITE_BYTES = 4_096;
const MAX_PENDING_LINES = 100_000;

/**
 * Appends whole lines to a file descriptor without blocking the event loop: lines queue
 * while a write is under way and go out together, never more than 4 kB or part of a
 * line per write (unless one line is longer), so they do not interleave with other
 * writers of the same stdout. A queue that outgrows its bound drops lines and says so.
 */
export class LineWriter {
  private pending: string[] = [];
  private writing = false;
  private dropped = 0;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly onError: (err: Error) => void,
    private readonly ownsFd = false,
  ) {}

  writeLine(line: string): void {
    if (this.closed) return;
    if (this.pending.length >= MAX_PENDING_LINES) {
      this.dropped++;
      return;
    }
    this.pending.push(`${line}\n`);
    if (!this.writing) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) {
      this.writing = false;
      return;
    }
    this.writing = true;
    const chunk = this.take();
    write(this.fd, chunk, null, 'utf8', (err) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.pending.unshift(chunk);
          setTimeout(() => this.flush(), 10).unref();
          return;
        }
        this.onError(err);
      }
      if (this.dropped > 0) {
        const n = this.dropped;
        this.dropped = 0;
        this.pending.push(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: `audit: ${n} lines dropped (writer fell behind)` })}\n`);
      }
      this.flush();
    });
  }

  private take(): string {
    let chunk = this.pending.shift()!;
    while (this.pending.length > 0 && Buffer.byteLength(chunk) + Buffer.byteLength(this.pending[0]!) <= MAX_WRITE_BYTES) {
      chunk += this.pending.shift()!;
    }
    return chunk;
  }

  /** At shutdown: waits (briefly) for what is queued to be written, then closes an owned descriptor. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
