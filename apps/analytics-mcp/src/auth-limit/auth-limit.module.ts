import { DynamicModule, Global, Module } from '@nestjs/common';
import { AUTH_FAILURE_LIMITER } from '#auth';
import type { AppConfig } from '../config/app-config.js';
import { ThrottlerAuthFailureLimiter } from './auth-failure-limiter.service.js';

/** Supplies the auth guard's failed-authentication limiter (none when MCP_AUTH_FAIL_LIMIT_PER_MIN=0). */
@Global()
@Module({})
export class AuthLimitModule {
  static forRoot(config: Pick<AppConfig, 'authFailLimitPerMinute'>): DynamicModule {
    const providers = config.authFailLimitPerMinute > 0 ? [ThrottlerAuthFailureLimiter, { provide: AUTH_FAILURE_LIMITER, useExisting: ThrottlerAuthFailureLimiter }] : [];
    return { module: AuthLimitModule, providers, exports: providers.length ? [AUTH_FAILURE_LIMITER] : [] };
  }
}
