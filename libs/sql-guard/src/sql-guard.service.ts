import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { loadModule } from 'libpg-query';
import { GuardWorker } from './guard-worker.js';
import type { GuardPolicy } from './guard-policy.types.js';
import { checkStatement } from './sql-check.js';
import type { GuardVerdict, SqlGuardOptions } from './sql-guard.types.js';
import { DEFAULT_VERDICT_CACHE, VerdictCache } from './verdict-cache.js';

export const SQL_GUARD_OPTIONS = Symbol('SQL_GUARD_OPTIONS');

const DEFAULT_MAX_BYTES = 100_000;
const DEFAULT_INLINE_MAX_BYTES = 8_192;

/**
 * Decides whether a caller's SQL may run at all, on PostgreSQL's own parser (the
 * server's grammar compiled to WASM), never on the text: exactly one statement, a
 * SELECT at the top, and nowhere in its tree a data-modifying statement, INTO, a
 * row-locking clause, or a function, operator, type or relation the policy does
 * not allow. The policy is data built from the live catalogue by the app
 * (buildGuardPolicy); this service holds no state about the database.
 *
 * It is one layer of several: the database layer still runs every statement alone,
 * read-only, under statement_timeout and rolled back.
 */
@Injectable()
export class SqlGuardService implements OnModuleInit, OnModuleDestroy {
  private ready = false;
  private readonly maxBytes: number;
  private readonly inlineMaxBytes: number;
  private readonly worker = new GuardWorker();
  private readonly cache: VerdictCache;

  constructor(@Optional() @Inject(SQL_GUARD_OPTIONS) options?: SqlGuardOptions) {
    this.maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
    this.inlineMaxBytes = options?.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
    this.cache = new VerdictCache({ ...DEFAULT_VERDICT_CACHE, ...options?.verdictCache });
  }

  async onModuleInit(): Promise<void> {
    await loadModule();
    this.ready = true;
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker.close();
  }

  /** Checks on the calling thread; for short statements, or where blocking does not matter. */
  check(sql: string, policy: GuardPolicy): GuardVerdict {
    if (!this.ready) throw new Error('SqlGuardService.check() called before onModuleInit() loaded the parser');
    return checkStatement(sql, policy, this.maxBytes);
  }

  /**
   * The same verdict, remembered by text and policy version (verdicts are pure; a thrown
   * error is never remembered); statements past `inlineMaxBytes` are parsed on a worker
   * thread.
   */
  checkAsync(sql: string, policy: GuardPolicy): Promise<GuardVerdict> {
    if (typeof sql !== 'string') return Promise.resolve(this.check(sql, policy));
    const cached = this.cache.get(sql, policy.version);
    if (cached) return Promise.resolve(cached);
    if (sql.length * 3 <= this.inlineMaxBytes || sql.length > this.maxBytes) return Promise.resolve(this.checkAndKeep(sql, policy));
    const bytes = Buffer.byteLength(sql);
    if (bytes <= this.inlineMaxBytes || bytes > this.maxBytes) return Promise.resolve(this.checkAndKeep(sql, policy));
    return this.worker.check(sql, policy, this.maxBytes).then((verdict) => {
      this.cache.set(sql, policy.version, verdict);
      return verdict;
    });
  }

  private checkAndKeep(sql: string, policy: GuardPolicy): GuardVerdict {
    const verdict = this.check(sql, policy);
    this.cache.set(sql, policy.version, verdict);
    return verdict;
  }
}

/** A guard ready to use outside Nest (benchmarks, tests, scripts). */
export async function createSqlGuard(options?: SqlGuardOptions): Promise<SqlGuardService> {
  const guard = new SqlGuardService(options);
  await guard.onModuleInit();
  return guard;
}
