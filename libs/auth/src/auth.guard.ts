import { CanActivate, ExecutionContext, Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { AUTH_OPTIONS } from './auth.constants.js';
import type { AuthModuleOptions, AuthenticatedRequest } from './auth-options.interface.js';
import { TokenStore } from './token-store.js';

/** Requires `Authorization: Bearer <token>` and records who the caller is. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly store: TokenStore;
  private readonly logger = new Logger('Auth');

  constructor(@Inject(AUTH_OPTIONS) options: AuthModuleOptions) {
    this.store = new TokenStore(options.tokens);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const header = req.headers.authorization ?? '';
    const token = /^bearer /i.test(header) ? header.slice(7).trim() : '';
    const caller = this.store.lookup(token);
    if (!caller) {
      this.logger.warn({ ip: req.ip, path: req.path, reason: token ? 'unknown token' : 'no token' }, 'unauthorized request');
      context.switchToHttp().getResponse().setHeader('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedException(
        token ? 'unknown bearer token' : 'missing Authorization: Bearer <token> header',
      );
    }
    req.caller = caller;
    return true;
  }
}
