import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { openSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineWriter, type LineWriterOptions } from './line-writer.js';

/** A LineWriter over a real file, counting its writes. */
async function withFile(options: Pick<LineWriterOptions, 'minIntervalMs'>, body: (w: LineWriter, writes: string[]) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'line-writer-'));
  const path = join(dir, 'audit.jsonl');
  const writes: string[] = [];
  try {
    const fd = openSync(path, 'a');
    const w = new LineWriter(fd, (err) => assert.fail(err), {
      ...options,
      ownsFd: true,
      write: (f, text, done) => {
        writes.push(text);
        write(f, text, null, 'utf8', done);
      },
    });
    await body(w, writes);
    await w.close();
    return await readFile(path, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const line = (i: number) => JSON.stringify({ audit: 'tool_call', i, sql: 'SELECT 1'.padEnd(200, ' ') });

describe('LineWriter', () => {
  it('writes a line after a quiet spell at once', async () => {
    await withFile({ minIntervalMs: 10_000 }, async (w, writes) => {
      w.writeLine(line(1));
      assert.equal(writes.length, 1, 'no wait for the first line');
      await sleep(20);
    });
  });

  it('gathers lines that come while writes are close together, and writes every one, in order', async () => {
    let writes: string[] = [];
    const text = await withFile({ minIntervalMs: 20 }, async (w, seen) => {
      writes = seen;
      for (let i = 0; i < 50; i++) {
        w.writeLine(line(i));
        await sleep(1);
      }
      await sleep(50);
    });
    assert.deepEqual(text.trimEnd().split('\n'), Array.from({ length: 50 }, (_, i) => line(i)));
    assert.ok(writes.length < 25, `${writes.length} writes for 50 lines over ~50 ms`);
    for (const chunk of writes) {
      assert.ok(chunk.endsWith('\n') && Buffer.byteLength(chunk) <= 4096, 'whole lines, at most 4 kB per write');
    }
  });

  it('does not wait with a full write, so a burst drains at the speed of the descriptor', async () => {
    let writes: string[] = [];
    const text = await withFile({ minIntervalMs: 60_000 }, async (w, seen) => {
      writes = seen;
      for (let i = 0; i < 400; i++) w.writeLine(line(i));
      await sleep(100);
    });
    assert.equal(text.trimEnd().split('\n').length, 400);
    assert.ok(writes.length >= 400 / 19, 'full 4 kB writes, none held for the interval');
  });

  it('writes the lines still gathered when it closes', async () => {
    const text = await withFile({ minIntervalMs: 60_000 }, async (w) => {
      w.writeLine(line(1));
      w.writeLine(line(2));
      w.writeLine(line(3));
      await sleep(10);
    });
    assert.deepEqual(text.trimEnd().split('\n'), [line(1), line(2), line(3)]);
  });

  it('closing while a write is under way writes the lines gathered behind it, without waiting for the interval', async () => {
    const started = performance.now();
    const text = await withFile({ minIntervalMs: 60_000 }, async (w) => {
      w.writeLine(line(1));
      w.writeLine(line(2));
      w.writeLine(line(3));
    });
    assert.deepEqual(text.trimEnd().split('\n'), [line(1), line(2), line(3)]);
    assert.ok(performance.now() - started < 1_000);
  });

  it('keeps one write per line when the interval is 0', async () => {
    let writes: string[] = [];
    await withFile({ minIntervalMs: 0 }, async (w, seen) => {
      writes = seen;
      for (let i = 0; i < 5; i++) {
        w.writeLine(line(i));
        await sleep(5);
      }
    });
    assert.equal(writes.length, 5);
  });
});
