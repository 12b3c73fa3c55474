import pg from 'pg';

/**
 * A pg Client that remembers the settings the server reports (ParameterStatus), at
 * start-up and whenever one changes, so a session can be checked against what the
 * SQL guard's parser assumed before any caller statement runs on it.
 */
export class ReportingClient extends pg.Client {
  readonly serverParams = new Map<string, string>();

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    const connection = (this as unknown as { connection: { on(e: string, fn: (m: ParameterStatus) => void): void } }).connection;
    connection.on('parameterStatus', (m) => this.serverParams.set(m.parameterName, m.parameterValue));
  }
}

interface ParameterStatus {
  parameterName: string;
  parameterValue: string;
}

/** Why a session must not run caller SQL, if it must not. */
export function sessionProblem(params: ReadonlyMap<string, string>): string | undefined {
  const scs = params.get('standard_conforming_strings');
  if (scs !== 'on') {
    return `the session reports standard_conforming_strings=${scs ?? '(not reported)'}; the SQL guard parses with it on, so the server refuses to run statements on this session`;
  }
  return undefined;
}
