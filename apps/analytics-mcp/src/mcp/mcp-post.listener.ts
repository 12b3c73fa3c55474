import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { ForbiddenException, Logger, type CanActivate, type ExceptionFilter, type Type } from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  FILTER_CATCH_EXCEPTIONS,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants.js';
import { BaseExceptionFilter, type ApplicationConfig } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Express, Request, Response } from 'express';
import proxyaddr from 'proxy-addr';
import { isObservable, lastValueFrom } from 'rxjs';
import { HostCheckMiddleware } from './host-check.middleware.js';
import { McpController } from './mcp.controller.js';
import { McpModule } from './mcp.module.js';

type RawRequest = IncomingMessage & { ip?: string; path?: string };

const noop = () => undefined;

/**
 * POST /mcp served below Express: Express 5's router and Nest's route pipeline cost more
 * per call than the rest of a Q1 tool call (bench/README.md, issue 15). This listener
 * runs the very instances Nest runs for that route, in Nest's order — the Host/Origin
 * middleware, McpController's guards (read from its @UseGuards), McpController.handle —
 * and renders a thrown exception with the filter Nest would pick (its @UseFilters, else
 * Nest's base filter). Every other request, and every refusal's rendering, is Express's:
 * a refused request gets Express's request/response prototypes first, as Express's own
 * app.handle gives them, so the middleware's and the filters' res.status().json() answer
 * byte for byte as before. MCP_HTTP_FAST_PATH=off leaves Express alone.
 */
export class McpPostListener {
  private static readonly installed = new WeakMap<Server, McpPostListener>();
  /** Requests this listener served (tests check that a request did not go through Express). */
  served = 0;
  private readonly logger = new Logger('McpHttp');
  private readonly trust: (addr: string, i: number) => boolean;
  /** No proxy is trusted: the client is the socket's peer, whatever X-Forwarded-For says. */
  private readonly trustsNoProxy: boolean;
  private readonly poweredBy: boolean;
  private readonly hostCheck: HostCheckMiddleware;
  private readonly guards: CanActivate[];
  private readonly filters: { filter: ExceptionFilter; catches: Type<unknown>[] }[];
  private readonly fallback: BaseExceptionFilter;
  private readonly controller: McpController;

  constructor(
    app: NestExpressApplication,
    private readonly express: Express,
  ) {
    assertNothingElseApplies(app);
    const mcp = app.select(McpModule);
    this.trust = express.get('trust proxy fn') as (addr: string, i: number) => boolean;
    this.trustsNoProxy = !express.get('trust proxy');
    this.poweredBy = express.enabled('x-powered-by');
    this.hostCheck = mcp.get(HostCheckMiddleware, { strict: true });
    const guards = (Reflect.getMetadata(GUARDS_METADATA, McpController) ?? []) as Type<CanActivate>[];
    this.guards = guards.map((g) => mcp.get(g, { strict: true }));
    const filters = (Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, McpController) ?? []) as Type<ExceptionFilter>[];
    this.filters = filters.map((f) => ({ filter: mcp.get(f, { strict: true }), catches: Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, f) ?? [] }));
    this.fallback = new BaseExceptionFilter(app.getHttpAdapter());
    this.controller = mcp.get(McpController, { strict: true });
  }

  /** Puts the listener in front of Express on the app's HTTP server (before it listens). */
  static install(app: NestExpressApplication): McpPostListener {
    const express = app.getHttpAdapter().getInstance() as Express;
    const server = app.getHttpServer() as Server;
    const it = new McpPostListener(app, express);
    server.removeListener('request', express);
    server.on('request', it.listener);
    McpPostListener.installed.set(server, it);
    return it;
  }

  static of(server: Server): McpPostListener | undefined {
    return McpPostListener.installed.get(server);
  }

  /** Paths Express's router sends to McpController.handle today, lower case (an '/MCP' still goes through Express). */
  static routes(url: string): boolean {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    return path === '/mcp' || path === '/mcp/';
  }

  readonly listener: RequestListener = (req, res) => {
    if (req.method === 'POST' && McpPostListener.routes(req.url ?? '')) {
      // Only a filter that throws gets here (Nest's filters do not): never an unhandled rejection.
      return void this.serve(req, res).catch((err: unknown) => {
        this.logger.error({ err }, 'POST /mcp failed while rendering an error');
        res.destroy();
      });
    }
    this.express(req, res);
  };

  private async serve(req: RawRequest, res: ServerResponse): Promise<void> {
    this.served++;
    if (this.poweredBy) res.setHeader('X-Powered-By', 'Express');
    // What Express's request getters would answer (the auth guard's failed-auth limit and logs).
    req.ip = this.trustsNoProxy ? req.socket.remoteAddress : proxyaddr(req, this.trust);
    const q = req.url!.indexOf('?');
    req.path = q === -1 ? req.url! : req.url!.slice(0, q);
    try {
      if (this.hostCheck.refusal(req.headers) !== undefined) {
        this.expressify(req, res);
        return this.hostCheck.use(req as Request, res as Response, noop);
      }
      const context = new ExecutionContextHost([req, res, noop], McpController, this.controller.handle);
      context.setType('http');
      for (const guard of this.guards) {
        let verdict: unknown = guard.canActivate(context);
        if (typeof verdict !== 'boolean') verdict = await verdict;
        if (isObservable(verdict)) verdict = await lastValueFrom(verdict);
        if (!verdict) throw new ForbiddenException('Forbidden resource');
      }
      await this.controller.handle(req as Request & RawRequest, res as Response);
    } catch (err) {
      this.expressify(req, res);
      const host = new ExecutionContextHost([req, res, noop]);
      const chosen = this.filters.find(({ catches }) => !catches.length || catches.some((t) => err instanceof t));
      (chosen?.filter ?? this.fallback).catch(err, host);
    }
  }

  /** Express's app.handle preamble: its request/response prototypes and the circular references. */
  private expressify(req: IncomingMessage, res: ServerResponse): void {
    const r = req as IncomingMessage & { res?: ServerResponse };
    const s = res as ServerResponse & { req?: IncomingMessage; locals?: object };
    r.res = res;
    s.req = req;
    Object.setPrototypeOf(req, this.express.request);
    Object.setPrototypeOf(res, this.express.response);
    if (!s.locals) s.locals = Object.create(null) as object;
  }
}

/** The listener runs only what McpController declares; a global or route enhancer it would skip fails the boot. */
function assertNothingElseApplies(app: NestExpressApplication): void {
  const config = (app as unknown as { config: ApplicationConfig }).config;
  const global = [config.getGlobalGuards(), config.getGlobalFilters(), config.getGlobalInterceptors(), config.getGlobalPipes()];
  const handle = McpController.prototype.handle;
  const route = [INTERCEPTORS_METADATA, PIPES_METADATA].flatMap((k) => [Reflect.getMetadata(k, McpController), Reflect.getMetadata(k, handle)]);
  const perMethod = [GUARDS_METADATA, EXCEPTION_FILTERS_METADATA].map((k) => Reflect.getMetadata(k, handle));
  if ([...global, ...route, ...perMethod].some((x) => Array.isArray(x) && x.length > 0)) {
    throw new Error('McpPostListener serves POST /mcp without global or per-route interceptors, pipes, guards or filters beyond McpController\'s own; set MCP_HTTP_FAST_PATH=off or teach it the new enhancer');
  }
}
