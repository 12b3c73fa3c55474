import { Inject, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import { validateHostHeader, validateOriginHeader } from '@modelcontextprotocol/server';
import type { NextFunction, Request, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { isLoopback } from '../config/loopback.js';

/**
 * DNS-rebinding and cross-site protection for /mcp, on every request:
 * - Host: a browser tricked into calling this server sends the attacker's host name,
 *   so only configured names (or, on a loopback bind, loopback ones) are served;
 * - Origin: a browser page may call the server only from an allowed origin
 *   (MCP_ALLOWED_ORIGINS; on a loopback bind also any loopback origin, e.g. the MCP
 *   Inspector on http://localhost:6274). Requests without Origin (non-browser
 *   clients) pass. The header parsing and list matching are the SDK's.
 */
@Injectable()
export class HostCheckMiddleware implements NestMiddleware {
  private readonly hosts: string[] | null;
  private readonly loopback: boolean;
  private readonly origins: string[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.hosts = config.allowedHosts ? config.allowedHosts.flatMap((h) => [h, h.split(':')[0]!]) : null;
    this.loopback = config.loopbackBound;
    this.origins = config.allowedOrigins;
    if (!this.hosts) {
      new Logger('HostCheck').warn(
        `MCP_ALLOWED_HOSTS is unset and HOST=${config.host} is not loopback: /mcp accepts any Host header; set it to the public host name(s)`,
      );
    }
  }

  use(req: Request, res: Response, next: NextFunction): void {
    const refusal = this.refusal(req.headers);
    if (refusal !== undefined) return forbid(res, refusal);
    next();
  }

  /** Why a request with these headers is refused (403), or undefined when it may go on. */
  refusal(headers: IncomingHttpHeaders): string | undefined {
    if (this.hosts !== null) {
      const checked = validateHostHeader(headers.host, this.hosts);
      if (!checked.ok && !(this.loopback && checked.hostname !== undefined && isLoopback(checked.hostname))) {
        return `${checked.message}; add the host name to MCP_ALLOWED_HOSTS`;
      }
    }
    const origin = headers.origin;
    if (origin !== undefined) {
      const checked = validateOriginHeader(origin, this.origins);
      if (!checked.ok && !(this.loopback && checked.hostname !== undefined && isLoopback(checked.hostname))) {
        return `${checked.message} (Origin "${origin}"); add it to MCP_ALLOWED_ORIGINS`;
      }
    }
    return undefined;
  }
}

function forbid(res: Response, message: string): void {
  res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
}
