import { connect, type Socket } from 'node:net';

export interface CancelTarget {
  /** Host name, IP address, or a Unix socket directory (starting with "/"). */
  host?: string;
  port?: number;
  /** From the connection's BackendKeyData (a pooler hands out its own pair and forwards the request). */
  processID: number;
  secretKey: number;
}

// Protocol 3.0 CancelRequest code: 1234 << 16 | 5678.
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Sends PostgreSQL's CancelRequest for one backend on a short-lived connection of its
 * own, the way libpq's PQcancel does, so it needs no pool slot and works through
 * PgBouncer. Resolves once the server has closed that connection, which it does after
 * signalling the backend; rejects on a connection error or after `timeoutMs`.
 */
export function sendCancelRequest(target: CancelTarget, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const host = target.host ?? 'localhost';
    const port = target.port ?? 5432;
    const socket: Socket = host.startsWith('/') ? connect({ path: `${host}/.s.PGSQL.${port}` }) : connect({ host, port });
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`no answer to the cancel request within ${timeoutMs} ms`)), timeoutMs);
    socket.setNoDelay(true);
    socket.once('connect', () => {
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      packet.writeInt32BE(target.processID, 8);
      packet.writeInt32BE(target.secretKey, 12);
      socket.end(packet);
    });
    // The server answers nothing; it closes the connection once the backend is signalled.
    socket.on('data', () => undefined);
    socket.once('close', () => finish());
    socket.once('error', (err) => finish(err));
  });
}
