import { DynamicModule, Global, Module } from '@nestjs/common';
import { TOOL_LIMITS, toolLimits } from '#mcp-tools';
import type { AppConfig } from './app-config.js';
import { APP_CONFIG } from './config.constants.js';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: Object.freeze(config) },
        // What feature modules may know of the limits, without reading the app's config.
        { provide: TOOL_LIMITS, useValue: Object.freeze(toolLimits(config.maxResultBytes, config.maxRows)) },
      ],
      exports: [APP_CONFIG, TOOL_LIMITS],
    };
  }
}
