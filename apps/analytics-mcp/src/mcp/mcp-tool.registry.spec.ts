import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Injectable } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { z } from 'zod';
import { McpTool } from '#mcp-tools';
import { McpToolRegistry } from './mcp-tool.registry.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { loadConfig } from '../config/app-config.js';
import { ToolError, type ToolCallContext } from '#mcp-tools';

@Injectable()
class EchoTools {
  @McpTool({
    name: 'echo',
    description: 'Echo a word.',
    input: z.object({ word: z.string().min(1), times: z.number().int().max(3).optional() }),
    output: z.object({ echo: z.string(), caller: z.string() }),
  })
  async echo(args: { word: string; times?: number }, ctx: ToolCallContext) {
    if (args.word === 'no') throw new ToolError('refused: "no" is not allowed');
    if (args.word === 'boom') throw new Error('unexpected');
    return { structured: { echo: args.word.repeat(args.times ?? 1), caller: ctx.caller } };
  }
}

@Injectable()
class ClashingTools {
  @McpTool({ name: 'echo', description: 'Same name again.', input: z.object({}) })
  async other() {
    return { structured: {} };
  }
}

const CONFIG = loadConfig({ DATABASE_URL: 'postgresql://u@localhost/db', MCP_AUTH_TOKENS: 'a:0123456789abcdef', MCP_MAX_RESULT_BYTES: '65536' });

@Injectable()
class BigTools {
  // Quotes double when the JSON is embedded again as the text block.
  @McpTool({ name: 'table', description: 'A wide table.', input: z.object({}) })
  async table() {
    const rows = Array.from({ length: 400 }, (_, i) => [i, '"'.repeat(100)]);
    return { structured: { row_count: rows.length, truncated: false, columns: [{ name: 'i' }, { name: 'q' }], rows } };
  }

  @McpTool({ name: 'blob', description: 'One huge value.', input: z.object({}) })
  async blob() {
    return { structured: { value: 'x'.repeat(100_000) } };
  }
}

async function registryWith(...providers: (new (...a: never[]) => unknown)[]) {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [McpToolRegistry, { provide: APP_CONFIG, useValue: CONFIG }, ...providers],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  return moduleRef.get(McpToolRegistry);
}

describe('McpToolRegistry', () => {
  it('discovers decorated provider methods and builds their JSON Schema once', async () => {
    const registry = await registryWith(EchoTools);
    const [tool] = registry.list();
    assert.equal(tool!.name, 'echo');
    assert.deepEqual(tool!.inputSchema.required, ['word']);
    assert.equal(registry.list(), registry.list(), 'definitions are rebuilt per call');
  });

  it('publishes the output schema as outputSchema, and none for a tool without one', async () => {
    const registry = await registryWith(EchoTools, BigTools);
    const echo = registry.list().find((t) => t.name === 'echo')!;
    assert.equal(echo.outputSchema?.type, 'object');
    assert.deepEqual(echo.outputSchema?.required, ['echo', 'caller']);
    assert.equal(registry.list().find((t) => t.name === 'blob')!.outputSchema, undefined);
  });

  it('refuses two tools with the same name at boot', async () => {
    await assert.rejects(registryWith(EchoTools, ClashingTools), /duplicate MCP tool name "echo"/);
  });

  it('validates arguments and turns every failure into an isError result', async () => {
    const registry = await registryWith(EchoTools);
    const ctx = { caller: 'alice' };
    const ok = await registry.call('echo', { word: 'hi', times: 2 }, ctx);
    assert.deepEqual(ok.structuredContent, { echo: 'hihi', caller: 'alice' });
    assert.equal(ok.content[0]!.type === 'text' && ok.content[0]!.text, JSON.stringify(ok.structuredContent));
    const text = (r: Awaited<ReturnType<typeof registry.call>>) => (r.content[0]!.type === 'text' ? r.content[0]!.text : '');
    const bad = await registry.call('echo', { times: 9 }, ctx);
    assert.equal(bad.isError, true);
    assert.match(text(bad), /invalid arguments for echo: word: .*; times: /);
    assert.match(text(await registry.call('nope', {}, ctx)), /unknown tool "nope"; available tools: echo/);
    assert.equal(text(await registry.call('echo', { word: 'no' }, ctx)), 'refused: "no" is not allowed');
    const boom = await registry.call('echo', { word: 'boom' }, ctx);
    assert.equal(boom.isError, true);
    assert.equal(text(boom), 'internal error in echo; the failure was logged');
  });

  it('keeps the whole response within MCP_MAX_RESULT_BYTES, dropping rows and saying so', async () => {
    const registry = await registryWith(BigTools);
    const r = await registry.call('table', {}, { caller: 'alice' });
    const out = r.structuredContent as { row_count: number; truncated: boolean; truncated_reason?: string; rows: unknown[] };
    assert.equal(r.isError, undefined);
    assert.equal(out.truncated, true);
    assert.equal(out.truncated_reason, 'bytes');
    assert.ok(out.row_count > 0 && out.row_count < 400 && out.rows.length === out.row_count, `${out.row_count} rows`);
    const body = Buffer.byteLength(JSON.stringify({ jsonrpc: '2.0', id: 1, result: r }));
    assert.ok(body <= CONFIG.maxResultBytes, `response is ${body} bytes, the cap ${CONFIG.maxResultBytes}`);
    const blob = await registry.call('blob', {}, { caller: 'alice' });
    assert.equal(blob.isError, true);
    assert.match(blob.content[0]!.type === 'text' ? blob.content[0]!.text : '', /larger than the server's result cap \(65536 bytes, MCP_MAX_RESULT_BYTES\)/);
  });
});
