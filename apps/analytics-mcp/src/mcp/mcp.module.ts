import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { ChartRenderer } from '#charts/renderer';
import { SqlGuardModule } from '#sql-guard';
import { GuardPolicyModule } from '../guard-policy/guard-policy.module.js';
import { GuardedQueryService } from './guarded-query.service.js';
import { HostCheckMiddleware } from './host-check.middleware.js';
import { InFlightCalls } from './in-flight-calls.js';
import { McpController } from './mcp.controller.js';
import { McpFastPath } from './mcp-fast-path.js';
import { ModernMcpHandler } from './mcp-modern.handler.js';
import { McpServerFactory } from './mcp-server.factory.js';
import { McpToolRegistry } from './mcp-tool.registry.js';
import { CatalogTools } from './tools/catalog.tools.js';
import { ChartTool } from './tools/chart.tool.js';
import { ExplainTool } from './tools/explain.tool.js';
import { QueryTool } from './tools/query.tool.js';
import { SampleTableTool } from './tools/sample-table.tool.js';
import { ToolCallObserver } from './tool-call.observer.js';
import { ToolScopePolicy } from '../oauth/tool-scope.policy.js';

@Module({
  imports: [DiscoveryModule, SqlGuardModule, GuardPolicyModule],
  controllers: [McpController],
  providers: [
    McpToolRegistry,
    McpServerFactory,
    ModernMcpHandler,
    McpFastPath,
    InFlightCalls,
    GuardedQueryService,
    QueryTool,
    CatalogTools,
    SampleTableTool,
    ExplainTool,
    // One render worker: a chart is CPU-bound, and the other core serves every other call.
    { provide: ChartRenderer, useFactory: () => new ChartRenderer({ workers: 1, maxQueue: 16, timeoutMs: 30_000 }) },
    ChartTool,
    ToolCallObserver,
    ToolScopePolicy,
    HostCheckMiddleware,
  ],
  exports: [HostCheckMiddleware, McpToolRegistry, McpServerFactory, GuardedQueryService, ToolCallObserver],
})
export class McpModule implements NestModule {
  constructor(private readonly hostCheck: HostCheckMiddleware) {}

  configure(consumer: MiddlewareConsumer): void {
    // One instance for Nest's pipeline and the POST /mcp listener in front of Express (http-app.ts).
    consumer.apply((req: Request, res: Response, next: NextFunction) => this.hostCheck.use(req, res, next)).forRoutes(McpController);
  }
}
