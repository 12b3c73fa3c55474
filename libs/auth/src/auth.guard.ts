import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  Optional,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessTokenVerifier, IssuerUnavailableError, TokenRejectedError } from './access-token.verifier.js';
import { AUTH_FAILURE_LIMITER, AUTH_OPTIONS } from './auth.constants.js';
import { AuthEvents, type AuthFailureKind } from './auth-events.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.interface.js';
import type { AuthModuleOptions, AuthenticatedRequest } from './auth-options.interface.js';
import { bearerChallenge } from './bearer-challenge.js';
import { TokenStore } from './token-store.js';

/** 429 for an address that used up its failed-authentication budget. */
export class AuthRateLimitedException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      `Too Many Requests: too many failed authentications from this address (MCP_AUTH_FAIL_LIMIT_PER_MIN); retry in ${retryAfterSeconds} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * Requires `Authorization: Bearer <token>`: a static token (MCP_AUTH_TOKENS) or, when an
 * authorization server is configured, a JWT access token it issued for this resource.
 * Records who the caller is (and an OAuth token's scopes). An address over its budget
 * of failed authentications is refused before its token is looked at.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly store: TokenStore;
  private readonly verifier: AccessTokenVerifier | null;
  private readonly logger = new Logger('Auth');

  constructor(
    @Inject(AUTH_OPTIONS) private readonly options: AuthModuleOptions,
    private readonly events: AuthEvents,
    @Optional() @Inject(AUTH_FAILURE_LIMITER) private readonly limiter?: AuthFailureLimiter,
  ) {
    this.store = new TokenStore(options.tokens);
    this.verifier = options.oauth ? new AccessTokenVerifier(options.oauth) : null;
    void this.verifier?.warmUp();
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const wait = this.limiter?.blockedFor(ip) ?? 0;
    if (wait > 0) return this.rateLimited(res, wait);

    const header = req.headers.authorization ?? '';
    const token = /^bearer /i.test(header) ? header.slice(7).trim() : '';
    if (!token) return this.refuse(req, res, ip, 'missing', 'missing Authorization: Bearer <token> header');

    const caller = this.store.lookup(token);
    if (caller) {
      req.caller = caller;
      return true;
    }
    if (this.verifier && AccessTokenVerifier.looksLikeJwt(token)) {
      try {
        const verified = await this.verifier.verify(token);
        req.caller = verified.caller;
        req.scopes = verified.scopes;
        return true;
      } catch (err) {
        if (err instanceof TokenRejectedError) return this.refuse(req, res, ip, `jwt_${err.rejection}`, err.message);
        if (err instanceof IssuerUnavailableError) {
          this.events.failed('issuer_unavailable');
          this.logger.warn({ ip, reason: err.message }, 'cannot verify an access token: authorization server unreachable');
          res.setHeader('Retry-After', '5');
          throw new ServiceUnavailableException('Service Unavailable: the authorization server cannot be reached to verify the access token; retry shortly');
        }
        throw err;
      }
    }
    return this.refuse(req, res, ip, 'unknown_token', 'unknown bearer token');
  }

  private async refuse(req: Request, res: Response, ip: string, kind: AuthFailureKind, message: string): Promise<never> {
    this.events.failed(kind);
    this.logger.warn({ ip, path: req.path, reason: kind }, 'unauthorized request');
    // A request without a token guesses nothing; only wrong tokens use up the budget.
    const wait = kind === 'missing' || !this.limiter ? 0 : await this.limiter.recordFailure(ip);
    if (wait > 0) return this.rateLimited(res, wait);
    const oauth = this.options.oauth;
    res.setHeader(
      'WWW-Authenticate',
      bearerChallenge({
        resourceMetadata: oauth?.resourceMetadataUrl,
        scopes: oauth?.challengeScopes,
        // RFC 6750 §3.1: a request without credentials gets no error code.
        ...(kind === 'missing' ? {} : { error: 'invalid_token' as const, description: message }),
      }),
    );
    throw new UnauthorizedException(message);
  }

  private rateLimited(res: Response, wait: number): never {
    this.events.failed('rate_limited');
    res.setHeader('Retry-After', String(wait));
    throw new AuthRateLimitedException(wait);
  }
}
