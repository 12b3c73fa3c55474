import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { userInfo } from 'node:os';
import { AppModule } from './app.module.js';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config.js';
import { ConnectionLimitCheck } from './connection-limit.check.js';
import type { EmbeddedDemo } from './embedded/embedded-demo.js';
import { EmbeddedPostgresError } from './embedded/embedded.errors.js';
import { GuardPolicyService } from './guard-policy/guard-policy.service.js';
import { ShutdownState } from './health/shutdown-state.js';
import { createHttpApp } from './http-app.js';
import { McpServerFactory } from './mcp/mcp-server.factory.js';
import { printBanner } from './banner.js';
import { StartupError } from './startup-error.js';

const stdio = process.argv.includes('--stdio');
const BOOT_TASKS_WAIT_MS = 15_000;

// In stdio mode stdout is the protocol channel: human messages go to stderr.
const say = (line: string) => (stdio ? process.stderr : process.stdout).write(`${line}\n`);

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env, { singleCaller: stdio });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`analytics-mcp: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }

  let demo: EmbeddedDemo | undefined;
  if (config.embedded) {
    say(`no DATABASE_URL: starting the embedded demo PostgreSQL in ${config.dataDir}/pg`);
    const { startEmbeddedDemo } = await import('./embedded/embedded-demo.js');
    demo = await startEmbeddedDemo({ dataDir: config.dataDir, log: (l) => say(l) });
    config = {
      ...config,
      databaseUrl: demo.databaseUrl,
      authTokens: config.authTokens.length ? config.authTokens : [{ name: 'dev', token: demo.devToken }],
    };
  }

  try {
    if (stdio) return await runStdio(config, demo);
    await runHttp(config, demo);
  } catch (err) {
    // Don't leave the demo PostgreSQL running behind a server that never came up.
    await demo?.stop().catch(() => undefined);
    throw err;
  }
}

async function runHttp(config: AppConfig, demo: EmbeddedDemo | undefined): Promise<void> {
  const app = await createHttpApp(config);
  try {
    await app.listen(config.port, config.host);
  } catch (err) {
    await app.close().catch(() => undefined);
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new StartupError(`port ${config.port} on ${config.host} is already in use; stop the other process or set PORT`);
    }
    throw err;
  }
  await bootTasksSettled(app);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  printBanner(say, config, port, demo);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const logger = app.get(Logger);
    logger.log(`${signal}: draining (readiness now fails), finishing in-flight calls`);
    app.get(ShutdownState).draining = true;
    if (config.shutdownGraceMs > 0) await new Promise((r) => setTimeout(r, config.shutdownGraceMs));
    await app.close();
    await demo?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * Boot-time checks run in the background (a database that is briefly down must not stop
 * the boot) and log their outcome; waiting for them (bounded) keeps the banner last.
 */
async function bootTasksSettled(app: INestApplicationContext): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([app.get(GuardPolicyService).whenBooted(), app.get(ConnectionLimitCheck).whenDone()]),
    new Promise((r) => (timer = setTimeout(r, BOOT_TASKS_WAIT_MS))),
  ]);
  clearTimeout(timer);
}

async function runStdio(config: AppConfig, demo: EmbeddedDemo | undefined): Promise<void> {
  // createApplicationContext runs the lifecycle hooks itself. Without autoFlushLogs a
  // failed start-up (a StartupError from a boot check) prints its one line, not the
  // buffered boot logs through Nest's default console logger.
  const app = await NestFactory.createApplicationContext(AppModule.forRoot({ config, logToStderr: true }), {
    bufferLogs: true,
    autoFlushLogs: false,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  await app.init();
  const caller = `local-${userInfo().username}`.replace(/[^A-Za-z0-9_.@-]/g, '_');
  const factory = app.get(McpServerFactory);
  const { serveStdio } = await import('@modelcontextprotocol/server/stdio');
  // Both eras: a 2025 client opens with initialize, a 2026-07-28 client sends
  // server/discover and _meta on every request; the SDK pins the connection's era.
  const handle = serveStdio(() => factory.create(caller), {
    onerror: (err) => app.get(Logger).warn({ err: err.message }, 'stdio MCP error'),
  });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await handle.close().catch(() => undefined);
    await app.close();
    await demo?.stop();
    process.exit(0);
  };
  process.stdin.on('end', () => void close());
  process.stdin.on('close', () => void close());
  process.once('SIGTERM', () => void close());
  process.once('SIGINT', () => void close());
  say(`analytics-mcp: serving MCP on stdio as caller "${caller}"`);
}

main().catch((err) => {
  const detail = err instanceof StartupError || err instanceof EmbeddedPostgresError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`analytics-mcp failed to start: ${detail}\n`);
  process.exit(1);
});
