// A node:test reporter for scripts/run-tests.mjs: one JSON line per test event that
// matters for counting, with the spec file it came from. run-tests.mjs reads them to
// check that every file ran its tests (a process that exits 0 early reports none).
export default async function* tally(source) {
  for await (const { type, data } of source) {
    if (type !== 'test:enqueue' && type !== 'test:pass' && type !== 'test:fail') continue;
    yield `${JSON.stringify({
      type,
      file: data.file ?? null,
      name: data.name,
      nesting: data.nesting,
      suite: data.details?.type === 'suite',
      skip: Boolean(data.skip || data.todo),
      error: type === 'test:fail' ? String(data.details?.error?.cause?.message ?? data.details?.error?.message ?? '').split('\n')[0] : undefined,
    })}\n`;
  }
}
