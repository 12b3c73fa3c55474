import { DynamicModule, Module } from '@nestjs/common';
import { AUTH_OPTIONS } from './auth.constants.js';
import { AuthEvents } from './auth-events.js';
import type { AuthModuleOptions } from './auth-options.interface.js';
import { AuthGuard } from './auth.guard.js';

@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      providers: [{ provide: AUTH_OPTIONS, useValue: options }, AuthEvents, AuthGuard],
      exports: [AUTH_OPTIONS, AuthEvents, AuthGuard],
    };
  }
}
