import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { ProtectedResourceController } from './protected-resource.controller.js';

/** The resource server's discovery routes; none when no authorization server is configured. */
@Module({})
export class OAuthModule {
  static forRoot(config: Pick<AppConfig, 'oauth'>): DynamicModule {
    return { module: OAuthModule, controllers: config.oauth ? [ProtectedResourceController] : [] };
  }
}
