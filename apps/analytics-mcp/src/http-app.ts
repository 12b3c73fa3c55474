import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { McpPostListener } from './mcp/mcp-post.listener.js';

/** The HTTP application, configured but not listening (main.ts and tests listen). */
export async function createHttpApp(config: AppConfig): Promise<NestExpressApplication> {
  // The MCP transport reads and bounds request bodies itself (413 / JSON-RPC -32700).
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config }), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // req.ip (the failed-authentication limit, logs) is the X-Forwarded-For client only behind these proxies.
  if (config.trustedProxies.length) app.set('trust proxy', config.trustedProxies);
  app.set('etag', false);
  if (config.httpFastPath) {
    // POST /mcp below Express and Nest's route pipeline, through the same checks (mcp-post.listener.ts).
    McpPostListener.install(app);
  }
  return app;
}
