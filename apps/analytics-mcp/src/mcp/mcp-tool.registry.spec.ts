import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Injectable } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { z } from 'zod';
import { McpTool } from './mcp-tool.decorator.js';
import { McpToolRegistry } from './mcp-tool.registry.js';
import { ToolError, type ToolCallContext } from './mcp-tool.types.js';

@Injectable()
class EchoTools {
  @McpTool({ name: 'echo', description: 'Echo a word.', input: z.object({ word: z.string().min(1), times: z.number().int().max(3).optional() }) })
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

async function registryWith(...providers: (new (...a: never[]) => unknown)[]) {
  const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule], providers: [McpToolRegistry, ...providers] }).compile();
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
});
