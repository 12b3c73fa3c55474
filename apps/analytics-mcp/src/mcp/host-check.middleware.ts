import { Inject, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';

/**
 * DNS-rebinding protection: a browser tricked into calling this server sends the
 * attacker's host name in Host, so only configured names are served.
 */
@Injectable()
export class HostCheckMiddleware implements NestMiddleware {
  private readonly allowed: Set<string> | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.allowed = config.allowedHosts ? new Set(config.allowedHosts) : null;
    if (!this.allowed) {
      new Logger('HostCheck').warn(
        `MCP_ALLOWED_HOSTS is unset and HOST=${config.host} is not loopback: /mcp accepts any Host header; set it to the public host name(s)`,
      );
    }
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (this.allowed === null) return next();
    const host = (req.headers.host ?? '').toLowerCase();
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    if (this.allowed.has(host) || this.allowed.has(name)) return next();
    res.status(403).json({
      jsonrpc: '2.0',
      error: { code: -32000, message: `Host "${host}" is not allowed; add it to MCP_ALLOWED_HOSTS` },
      id: null,
    });
  }
}
