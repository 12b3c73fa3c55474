import pg from 'pg';
import { ReportingClient } from './session-params.js';

/**
 * Settings every connection asks for in its start-up packet as parameters of their
 * own: PostgreSQL applies any run-time setting named there, and PgBouncer accepts
 * exactly these (it tracks them per client and sets them on whichever server
 * connection serves the client's transaction).
 */
export const TRACKED_STARTUP_PARAMS: Readonly<Record<string, string>> = {
  client_encoding: 'UTF8',
  // What the SQL guard's parser assumes; each transaction pins it again.
  standard_conforming_strings: 'on',
};

/**
 * `auto`: send the `options` start-up parameter (session defaults), and stop sending it
 * for good once a pooler refuses it. `off`: never send it (PgBouncer, RDS Proxy, …).
 */
export type StartupOptionsMode = 'auto' | 'off';

/** Shared by the pools of one DbModule: one refusal switches all of them. */
export interface StartupOptionsState {
  send: boolean;
}

interface StartupConfSource {
  getStartupConf(this: pg.Client): Record<string, string>;
}

/** A ReportingClient class whose start-up packet follows `state`. */
export function startupClient(state: StartupOptionsState): typeof ReportingClient {
  return class StartupClient extends ReportingClient {
    // pg builds the start-up packet here; its typings do not declare the method.
    getStartupConf(): Record<string, string> {
      const conf = { ...(pg.Client.prototype as unknown as StartupConfSource).getStartupConf.call(this), ...TRACKED_STARTUP_PARAMS };
      if (!state.send) delete conf.options;
      return conf;
    }
  };
}

/**
 * PgBouncer answers a start-up packet with a parameter it does not track by
 * `FATAL: unsupported startup parameter: options` (08P01) and closes the connection.
 */
export function rejectsStartupOptions(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code !== undefined && code !== '08P01') return false;
  return /unsupported startup parameter/i.test(err.message);
}
