import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { MCP_TOOL_METADATA, ToolError, cancellationOf, type McpToolOptions, type ToolCallContext, type ToolOutcome } from '#mcp-tools';
import { jsonTextBlock, structuredJson } from './json-text.js';
import { JsonRows } from '#db';
import { byteLengthOf, responseFits } from './result-size.js';
import { describeToolError, errorResult } from './tool-errors.js';
import { ToolCallObserver } from './tool-call.observer.js';
import { outcomeOf } from './tool-call-outcome.js';

interface RegisteredTool {
  definition: Tool;
  scope: 'catalog' | 'query';
  input: z.ZodObject;
  invoke: (args: unknown, ctx: ToolCallContext) => Promise<ToolOutcome>;
}

/**
 * Finds every `@McpTool()` provider method at module init and builds the tool
 * definitions (with their JSON Schemas) once; per call it only validates and invokes.
 */
@Injectable()
export class McpToolRegistry implements OnModuleInit {
  private readonly logger = new Logger('McpTools');
  private readonly tools = new Map<string, RegisteredTool>();
  private definitions: Tool[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly observer?: ToolCallObserver,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const proto = Object.getPrototypeOf(instance);
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const options = this.reflector.get<McpToolOptions | undefined>(MCP_TOOL_METADATA, fn);
        if (options) this.add(options, (args, ctx) => fn.call(instance, args, ctx));
      }
    }
    this.definitions = [...this.tools.values()].map((t) => t.definition);
    this.logger.log(`tools: ${[...this.tools.keys()].join(', ') || '(none)'}`);
  }

  private add(options: McpToolOptions, invoke: RegisteredTool['invoke']): void {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(options.name)) {
      throw new Error(`MCP tool name "${options.name}" must be 1-64 letters, digits, _ or -`);
    }
    if (this.tools.has(options.name)) {
      throw new Error(`duplicate MCP tool name "${options.name}": each @McpTool() needs a unique name`);
    }
    const inputSchema = jsonSchemaOf(options.input, 'input');
    const outputSchema = options.output ? jsonSchemaOf(options.output, 'output') : undefined;
    this.tools.set(options.name, {
      definition: {
        name: options.name,
        description: options.description,
        inputSchema: inputSchema as Tool['inputSchema'],
        ...(outputSchema ? { outputSchema: outputSchema as Tool['outputSchema'] } : {}),
        ...(options.annotations ? { annotations: options.annotations } : {}),
      },
      scope: options.scope ?? 'query',
      input: options.input,
      invoke: this.cancellable(options.name, invoke),
    });
  }

  /** A call whose signal aborted ends as a ToolError of kind "cancelled", whatever the tool threw. */
  private cancellable(name: string, invoke: RegisteredTool['invoke']): RegisteredTool['invoke'] {
    return async (args, ctx) => {
      try {
        return await invoke(args, ctx);
      } catch (err) {
        if (!cancellationOf(ctx)?.aborted) throw err;
        this.logger.log({ tool: name, caller: ctx.caller, cancelled: true }, `${name} cancelled`);
        throw err instanceof ToolError && err.kind === 'cancelled' ? err : new ToolError(`${name} was cancelled by the client`, 'cancelled');
      }
    };
  }

  /**
   * The result as structuredContent plus the same JSON as text, within
   * MCP_MAX_RESULT_BYTES. Tools read at most a share of the cap from the database;
   * when escaping still pushes a table result over, rows are dropped from the end
   * and it says so (truncated_reason "bytes").
   */
  private bounded(name: string, { structured, content }: ToolOutcome): CallToolResult {
    const cap = this.config.maxResultBytes;
    if (content) {
      const size = content.reduce((n, c) => n + Buffer.byteLength(JSON.stringify(c.type === 'text' ? c.text : c.data)), 0) + Buffer.byteLength(JSON.stringify(structured));
      if (size > cap) {
        return errorResult(`the result of ${name} is larger than the server's result cap (${cap} bytes, MCP_MAX_RESULT_BYTES); ask for less`);
      }
      return { content, structuredContent: structured };
    }
    let text = structuredJson(structured);
    let rows = structured.rows;
    for (let attempt = 0; !responseFits(text, cap); attempt++) {
      if (!(Array.isArray(rows) || rows instanceof JsonRows) || rows.length === 0 || attempt > 20) {
        return errorResult(`the result of ${name} is larger than the server's result cap (${cap} bytes, MCP_MAX_RESULT_BYTES); ask for less`);
      }
      const keep = Math.floor(rows.length * Math.min(0.9, cap / (3 * byteLengthOf(text))));
      if (rows instanceof JsonRows) rows = rows.slice(keep);
      else rows.length = keep;
      structured = { ...structured, row_count: keep, truncated: true, truncated_reason: 'bytes', rows };
      text = structuredJson(structured);
    }
    return { content: [jsonTextBlock(text)], structuredContent: structured };
  }

  list(): Tool[] {
    return this.definitions;
  }

  /** The OAuth scope class a tool needs; undefined for a name no tool has. */
  scopeOf(name: string): 'catalog' | 'query' | undefined {
    return this.tools.get(name)?.scope;
  }

  /** Validates and runs a tool; every call, whatever its outcome, is reported to the ToolCallObserver once. */
  async call(name: string, rawArgs: unknown, ctx: ToolCallContext): Promise<CallToolResult> {
    if (!this.observer?.active) return this.run(name, rawArgs, ctx, {});
    const started = performance.now();
    const seen: { outcome?: string } = {};
    const result = await this.run(name, rawArgs, ctx, seen);
    const structured = result.structuredContent as { row_count?: unknown; rows?: unknown; truncated?: unknown } | undefined;
    const rows = structured?.row_count ?? (Array.isArray(structured?.rows) ? structured.rows.length : null);
    const sql = (rawArgs as { sql?: unknown } | null | undefined)?.sql;
    this.observer.notify({
      caller: ctx.caller,
      tool: this.tools.has(name) ? name : '(unknown)',
      outcome: cancellationOf(ctx)?.aborted ? 'cancelled' : (seen.outcome ?? 'ok'),
      rows: typeof rows === 'number' ? rows : null,
      truncated: structured?.truncated === true,
      ms: performance.now() - started,
      ...(typeof sql === 'string' ? { sql } : {}),
    });
    return result;
  }

  private async run(name: string, rawArgs: unknown, ctx: ToolCallContext, seen: { outcome?: string }): Promise<CallToolResult> {
    const tool = this.tools.get(name);
    if (!tool) {
      seen.outcome = 'error:unknown_tool';
      return errorResult(`unknown tool "${name}"; available tools: ${[...this.tools.keys()].join(', ')}`);
    }
    const parsed = tool.input.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      seen.outcome = 'error:invalid_arguments';
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`);
      return errorResult(`invalid arguments for ${name}: ${issues.join('; ')}`);
    }
    try {
      const result = this.bounded(name, await tool.invoke(parsed.data, ctx));
      if (result.isError) seen.outcome = 'error:result_too_large';
      return result;
    } catch (err) {
      seen.outcome = outcomeOf(err, cancellationOf(ctx));
      const message = describeToolError(err);
      if (message === null) {
        this.logger.error({ err, tool: name, caller: ctx.caller }, 'tool failed unexpectedly');
        return errorResult(`internal error in ${name}; the failure was logged`);
      }
      return errorResult(message);
    }
  }
}

function jsonSchemaOf(schema: z.ZodObject, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
  return json;
}
