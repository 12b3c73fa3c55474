import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DbService } from '#db';
import {
  GUARD_CATALOGUE_SQL,
  buildGuardPolicy,
  catalogueFromRows,
  type CatalogueRows,
  type GuardCatalogue,
  type GuardPolicy,
  type GuardPolicyOptions,
} from '#sql-guard';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';

/** Raised when no policy could be built yet (the database was never reachable). */
export class PolicyUnavailableError extends Error {
  constructor(cause: string) {
    super(`the server has not been able to read the database catalogue yet (${cause}); retry shortly`);
    this.name = 'PolicyUnavailableError';
  }
}

const MAX_CATALOGUE_ROWS = 1_000_000;

/**
 * Holds the SQL guard's allow-list, built from the live catalogue: at boot (in the
 * background: a database that is briefly down must not stop the boot), on the
 * first call if that failed, and again every MCP_CATALOG_REFRESH_MS so functions
 * created or extensions installed later are judged by what they are.
 */
@Injectable()
export class GuardPolicyService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('GuardPolicy');
  private readonly options: GuardPolicyOptions;
  private policy: GuardPolicy | undefined;
  private loading: Promise<GuardPolicy> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private booted: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DbService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.options = {
      searchPath: config.searchPath,
      allowedExtensions: config.allowedExtensions,
      allowedFunctions: config.allowedFunctions,
      allowActivityViews: config.allowActivityViews,
    };
  }

  onApplicationBootstrap(): void {
    this.booted = this.refresh().then(
      () => undefined,
      (err: Error) => this.logger.warn(`catalogue not read at boot, will retry on first call: ${err.message}`),
    );
    this.timer = setInterval(() => {
      this.refresh().catch((err: Error) => this.logger.warn(`catalogue refresh failed, keeping the previous allow-list: ${err.message}`));
    }, this.config.catalogRefreshMs);
    this.timer.unref();
  }

  /** Settles once the boot-time catalogue read has succeeded or failed (and logged so). */
  whenBooted(): Promise<void> {
    return this.booted;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The policy in force; reads the catalogue first if it never could. */
  current(): GuardPolicy | Promise<GuardPolicy> {
    if (this.policy) return this.policy;
    return this.refresh().catch((err: Error) => {
      throw new PolicyUnavailableError(err.message);
    });
  }

  /** Rebuilds the policy; concurrent callers share one catalogue read. */
  refresh(): Promise<GuardPolicy> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<GuardPolicy> {
    const started = performance.now();
    const catalogue = await this.readCatalogue();
    const { policy, warnings } = buildGuardPolicy(catalogue, this.options);
    if (policy.version !== this.policy?.version) {
      for (const w of warnings) this.logger.warn(w);
      const allowed = this.options.allowedExtensions.filter((e) => catalogue.extensions.includes(e));
      this.logger.log(
        `allow-list built from the catalogue in ${Math.round(performance.now() - started)} ms: ${catalogue.functions.length} functions, ` +
          `extensions allowed: ${allowed.join(', ') || '(none installed)'}; version ${policy.version}`,
      );
    }
    this.policy = policy;
    return policy;
  }

  private async readCatalogue(): Promise<GuardCatalogue> {
    const rows: Partial<CatalogueRows> = {};
    // One after another: the catalogue read must not take several pool slots at once.
    for (const [key, sql] of Object.entries(GUARD_CATALOGUE_SQL) as [keyof CatalogueRows, string][]) {
      rows[key] = (await this.db.query({ sql, maxRows: MAX_CATALOGUE_ROWS })).rows;
    }
    return catalogueFromRows(rows as CatalogueRows);
  }
}
