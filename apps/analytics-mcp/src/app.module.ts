import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from '#auth';
import { AuditModule } from './audit/audit.module.js';
import { AuthLimitModule } from './auth-limit/auth-limit.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OAuthModule } from './oauth/oauth.module.js';
import { DbModule } from '#db';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { ConnectionLimitCheck } from './connection-limit.check.js';
import { HealthModule } from './health/health.module.js';
import { FleetModule } from './fleet/fleet.module.js';
import { createLogStream } from './logging/log-stream.js';
import { McpModule } from './mcp/mcp.module.js';
import { MCP_THROTTLER } from './mcp/mcp.constants.js';
import { MemoryThrottlerStorage } from './rate-limit/memory-throttler.storage.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RATE_LIMIT_STORAGE } from './rate-limit/rate-limit.constants.js';
import { RoleCheckModule } from './role-check/role-check.module.js';

export interface AppModuleOptions {
  config: AppConfig;
  /** stdio mode: stdout carries the protocol, so logs go to stderr. */
  logToStderr?: boolean;
}

@Module({})
export class AppModule {
  static forRoot({ config, logToStderr }: AppModuleOptions): DynamicModule {
    if (!config.databaseUrl) throw new Error('AppModule needs a database URL (embedded mode resolves it first)');
    const databaseUrl = config.databaseUrl;
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          // The hot paths log for themselves (the audit line per tool call, with caller,
          // outcome, rows and time; auth failures in the guard); the access log covers the rest.
          exclude: [
            { path: 'mcp', method: RequestMethod.ALL },
            { path: 'health/*path', method: RequestMethod.ALL },
            { path: 'metrics', method: RequestMethod.ALL },
          ],
          pinoHttp: [
            {
              level: config.logLevel,
              redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]'], censor: '[redacted]' },
              // Tool calls log one line each (caller, rows, ms, SQL); the access line is
              // kept for failures and at debug level.
              customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug'),
              customProps: (req) => ({ caller: (req as { caller?: string }).caller }),
              // Headers stay out of the logs (the Authorization header above all).
              serializers: {
                req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
              },
            },
            createLogStream(config.logFormat, logToStderr ? 2 : 1),
          ],
        }),
        // The storage behind the ThrottlerStorage token, which the guard and the
        // controller's per-batch charges both use: Redis when REDIS_URL is set, else
        // in-process counters that cost the same whatever the number of hits.
        ThrottlerModule.forRootAsync({
          imports: [RateLimitModule.forRoot(config)],
          inject: [RATE_LIMIT_STORAGE],
          useFactory: (storage: ThrottlerStorage | null) => ({
            throttlers: [{ name: MCP_THROTTLER, ttl: 60_000, limit: config.rateLimitPerMinute || Number.MAX_SAFE_INTEGER }],
            skipIf: () => config.rateLimitPerMinute === 0,
            storage: storage ?? new MemoryThrottlerStorage(),
          }),
        }),
        DbModule.forRootAsync({
          useFactory: () => ({
            connectionString: databaseUrl,
            poolMax: config.poolMax,
            callerMaxConcurrency: config.callerMaxConcurrency,
            queueMax: config.queueMax,
            queueTimeoutMs: config.queueTimeoutMs,
            statementTimeoutMs: config.statementTimeoutMs,
            connectTimeoutMs: config.connectTimeoutMs,
            applicationName: 'analytics-mcp',
            searchPath: config.searchPath,
            startupOptions: config.pgStartupOptions,
          }),
        }),
        AuthModule.forRoot({
          tokens: config.authTokens,
          oauth: config.oauth && {
            issuer: config.oauth.issuer,
            audience: config.oauth.audience,
            callerClaims: config.oauth.callerClaims,
            jwksCooldownMs: config.oauth.jwksCooldownMs,
            resourceMetadataUrl: config.oauth.resourceMetadataUrl,
            challengeScopes: [...new Set([...config.oauth.queryScopes, ...config.oauth.catalogScopes])],
          },
        }),
        AuthLimitModule.forRoot(config),
        RoleCheckModule,
        HealthModule,
        McpModule,
        FleetModule,
        OAuthModule.forRoot(config),
        AuditModule.forRoot({ auditLog: config.auditLog, stdoutIsProtocol: logToStderr }),
        MetricsModule,
      ],
      providers: [ConnectionLimitCheck],
    };
  }
}
