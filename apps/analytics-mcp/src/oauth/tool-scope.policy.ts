import { Inject, Injectable } from '@nestjs/common';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { McpToolRegistry } from '../mcp/mcp-tool.registry.js';

/**
 * Which scopes an OAuth token lacks for the tool calls of one POST. The query scopes
 * cover the catalog tools too (a scope hierarchy, as the MCP authorization spec asks);
 * a name no tool has needs nothing (the registry answers it with an error result).
 * Static tokens carry no scopes and are not limited.
 */
@Injectable()
export class ToolScopePolicy {
  private readonly query: readonly string[];
  private readonly catalog: readonly string[];

  constructor(
    private readonly registry: McpToolRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.query = config.oauth?.queryScopes ?? [];
    this.catalog = config.oauth?.catalogScopes ?? [];
  }

  /** The scopes to challenge for (RFC 6750 §3.1 `scope`), or null when the token may make every call. */
  missing(granted: ReadonlySet<string> | undefined, messages: readonly JSONRPCMessage[]): string[] | null {
    if (!granted || (this.query.length === 0 && this.catalog.length === 0)) return null;
    const has = (scopes: readonly string[]) => scopes.every((s) => granted.has(s));
    const needed = new Set<string>();
    for (const m of messages) {
      if (!('method' in m) || m.method !== 'tools/call') continue;
      const name = (m.params as { name?: unknown } | undefined)?.name;
      const scope = typeof name === 'string' ? this.registry.scopeOf(name) : undefined;
      if (scope === 'query' && !has(this.query)) for (const s of this.query) needed.add(s);
      if (scope === 'catalog' && !has(this.catalog) && !has(this.query)) {
        for (const s of this.catalog.length ? this.catalog : this.query) needed.add(s);
      }
    }
    return needed.size ? [...needed] : null;
  }
}
