import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Response } from 'express';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';

/**
 * Every non-200 answer of /mcp carries a JSON-RPC error body, so MCP clients show its
 * message instead of a generic HTTP error: this renders the exceptions thrown before the
 * MCP layer runs (the auth guard's 401 / 429 / 503, the rate limiter's 429) in that shape.
 */
@Injectable()
@Catch(HttpException)
export class McpHttpExceptionFilter implements ExceptionFilter {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  catch(exception: HttpException, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const status = exception.getStatus();
    let message = messageOf(exception);
    // The auth guard sets its own challenge (WWW-Authenticate) and Retry-After.
    if (status === HttpStatus.TOO_MANY_REQUESTS && exception instanceof ThrottlerException) {
      // @nestjs/throttler names its header after the throttler (Retry-After-mcp).
      const wait = res.getHeader('Retry-After-mcp') ?? res.getHeader('Retry-After');
      if (wait !== undefined) res.setHeader('Retry-After', String(wait));
      message = `Too Many Requests: at most ${this.config.rateLimitPerMinute} tool calls per minute per caller (MCP_RATE_LIMIT_PER_MIN); retry in ${wait ?? 'a few'} s`;
    }
    if (res.headersSent) return void res.end();
    res.status(status).json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  }
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const m = (body as { message?: unknown }).message;
  return Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : exception.message;
}
