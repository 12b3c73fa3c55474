type DateTimeFormatArgs = ConstructorParameters<typeof Intl.DateTimeFormat>;

/**
 * Stands in for an `Intl.DateTimeFormat` built while the server's modules load, and builds
 * the real one on first use. The first formatter a process builds pages in ICU's locale
 * data and code (~7 MiB of RSS); @nestjs/common builds two when it is imported, for the
 * timestamps of its console logger, which a server logging through pino never prints.
 */
export class DeferredDateTimeFormat implements Intl.DateTimeFormat {
  private real: Intl.DateTimeFormat | undefined;
  readonly [Symbol.toStringTag] = 'Intl.DateTimeFormat';

  constructor(
    private readonly Real: typeof Intl.DateTimeFormat,
    private readonly args: DateTimeFormatArgs,
  ) {}

  /** Whether the real formatter has been built (for tests). */
  get built(): boolean {
    return this.real !== undefined;
  }

  format(date?: Date | number): string {
    return this.formatter().format(date);
  }

  formatToParts(date?: Date | number): Intl.DateTimeFormatPart[] {
    return this.formatter().formatToParts(date);
  }

  formatRange(startDate: Date | number | bigint, endDate: Date | number | bigint): string {
    return this.formatter().formatRange(startDate as Date, endDate as Date);
  }

  formatRangeToParts(startDate: Date | number | bigint, endDate: Date | number | bigint): Intl.DateTimeRangeFormatPart[] {
    return this.formatter().formatRangeToParts(startDate as Date, endDate as Date);
  }

  resolvedOptions(): Intl.ResolvedDateTimeFormatOptions {
    return this.formatter().resolvedOptions();
  }

  private formatter(): Intl.DateTimeFormat {
    return (this.real ??= new this.Real(...this.args));
  }
}

/**
 * Loads modules with `Intl.DateTimeFormat` swapped for {@link DeferredDateTimeFormat}
 * (`new` and plain calls alike), and puts the real constructor back once `load` settles,
 * whatever its outcome: formatters a dependency builds at import time cost nothing until
 * they format. Code running after the load sees the real constructor.
 */
export async function withDeferredDateTimeFormats<T>(load: () => Promise<T>): Promise<T> {
  const Real = Intl.DateTimeFormat;
  const Deferred = function DateTimeFormat(...args: DateTimeFormatArgs) {
    return new DeferredDateTimeFormat(Real, args);
  } as unknown as typeof Intl.DateTimeFormat;
  Object.defineProperty(Deferred, 'supportedLocalesOf', { value: Real.supportedLocalesOf.bind(Real) });
  Intl.DateTimeFormat = Deferred;
  try {
    return await load();
  } finally {
    // Only undo our own swap; another one made meanwhile stays.
    if (Intl.DateTimeFormat === Deferred) Intl.DateTimeFormat = Real;
  }
}
