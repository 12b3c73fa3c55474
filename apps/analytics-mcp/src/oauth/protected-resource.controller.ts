import { Controller, Get, Header, Inject } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig, OAuthConfig } from '../config/app-config.js';

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): tells a connector which
 * authorization server issues tokens for /mcp. Served at the path-suffixed URL that
 * 401s name and, for clients that probe the root form, at the bare well-known URL;
 * both describe the one resource, /mcp.
 */
@Controller('.well-known/oauth-protected-resource')
@SkipThrottle()
export class ProtectedResourceController {
  private readonly metadata: Record<string, unknown>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const oauth = config.oauth as OAuthConfig;
    const scopes = [...new Set([...oauth.queryScopes, ...oauth.catalogScopes])];
    this.metadata = {
      resource: oauth.resource,
      authorization_servers: [oauth.issuer],
      bearer_methods_supported: ['header'],
      ...(scopes.length ? { scopes_supported: scopes } : {}),
      resource_name: 'analytics-mcp',
    };
  }

  @Get()
  @Header('Cache-Control', 'public, max-age=300')
  @Header('Access-Control-Allow-Origin', '*')
  root() {
    return this.metadata;
  }

  @Get('mcp')
  @Header('Cache-Control', 'public, max-age=300')
  @Header('Access-Control-Allow-Origin', '*')
  mcp() {
    return this.metadata;
  }
}
