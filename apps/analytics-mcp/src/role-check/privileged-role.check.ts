import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PG_POOL, privilegeProblems, readRolePrivileges } from '#db';
import type pg from 'pg';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { StartupError } from '../startup-error.js';

/** A failed check answers for this long, so a flood of calls or probes costs one check a second. */
const RECHECK_MS = 1_000;

type Verdict =
  /** Not checked yet: the database could not be reached. */
  | { kind: 'unverified'; reason: string }
  | { kind: 'fit' }
  /** Privileged, and MCP_ALLOW_PRIVILEGED_ROLE=true says to serve anyway. */
  | { kind: 'allowed' }
  | { kind: 'unfit'; message: string };

/**
 * Refuses to serve on a DATABASE_URL role that could write to the readable schemas or
 * administer the server (superuser, BYPASSRLS, CREATEROLE, REPLICATION, or a role it
 * can SET ROLE to that is any of these), unless MCP_ALLOW_PRIVILEGED_ROLE=true.
 *
 * At boot, with the database reachable, an unfit role stops the start-up. A database
 * that is down at boot must not crash or block the boot (the pool is lazy), so then
 * the check is only deferred: until it has passed, tool calls and readiness probes
 * run it again first (at most once a second) and are refused while it cannot pass.
 * Once passed it is not repeated.
 */
@Injectable()
export class PrivilegedRoleCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('RoleCheck');
  private verdict: Verdict = { kind: 'unverified', reason: 'not checked yet' };
  private running: Promise<Verdict> | null = null;
  private checkedAt = -Infinity;
  /** At boot an unfit role fails the start-up with the message; logging it too would say it twice. */
  private booted = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const verdict = await this.check();
    this.booted = true;
    if (verdict.kind === 'unfit') throw new StartupError(verdict.message);
    if (verdict.kind === 'unverified') {
      this.logger.warn(
        `could not check the DATABASE_URL role's privileges (${verdict.reason}); ` +
          'tool calls and readiness are refused until the check passes on the first successful connection',
      );
    }
  }

  /** Null when tool calls may run; otherwise why not, as a message for the caller. */
  async refusal(): Promise<string | null> {
    const settled = this.verdict.kind === 'fit' || this.verdict.kind === 'allowed';
    const verdict = settled || performance.now() - this.checkedAt < RECHECK_MS ? this.verdict : await this.check();
    switch (verdict.kind) {
      case 'fit':
      case 'allowed':
        return null;
      case 'unfit':
        return verdict.message;
      case 'unverified':
        return `database unavailable: could not check the database role's privileges (${verdict.reason}); retry shortly`;
    }
  }

  /** One check at a time; concurrent callers share it. */
  private check(): Promise<Verdict> {
    this.running ??= this.run().finally(() => {
      this.running = null;
      this.checkedAt = performance.now();
    });
    return this.running;
  }

  private async run(): Promise<Verdict> {
    let problems: string[];
    let role: string;
    try {
      const client = await this.pool.connect();
      try {
        const privileges = await readRolePrivileges(client, this.config.readableSchemas);
        problems = privilegeProblems(privileges);
        role = privileges.role;
      } finally {
        // Closed, not pooled: DbService treats a connection it has not used before as
        // fresh, and would count this one's death while idle as a real failure.
        client.release(true);
      }
    } catch (err) {
      return (this.verdict = { kind: 'unverified', reason: describe(err) });
    }
    const before = this.verdict.kind;
    if (problems.length === 0) {
      if (before === 'unfit') this.logger.log(`the DATABASE_URL role "${role}" is no longer privileged; serving tool calls`);
      return (this.verdict = { kind: 'fit' });
    }
    const what = `the DATABASE_URL role "${role}" is privileged: ${problems.join('; ')}`;
    if (this.config.allowPrivilegedRole) {
      this.logger.warn(
        `MCP_ALLOW_PRIVILEGED_ROLE=true: SERVING ON A PRIVILEGED ROLE. ${what}. Only the SQL guard and the ` +
          'read-only transaction stand between callers and the data; never run production like this',
      );
      return (this.verdict = { kind: 'allowed' });
    }
    const message =
      `${what}. A read-only gateway must connect as a read-only role: create one with db/roles/analytics_ro.sql ` +
      '(or revoke the privileges above), or set MCP_ALLOW_PRIVILEGED_ROLE=true to run anyway (tests only)';
    if (this.booted && before !== 'unfit') this.logger.error(message);
    return (this.verdict = { kind: 'unfit', message });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return code ? `${err.message} (${code})` : err.message || err.name;
  }
  return String(err);
}
