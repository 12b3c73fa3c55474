import { hash } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ToolCallObserver, type ToolCallEvent } from '../mcp/tool-call.observer.js';
import { AUDIT_WRITER } from './audit.constants.js';
import type { LineWriter } from './line-writer.js';

const SQL_PREVIEW_CHARS = 200;
const FINGERPRINT_HEX = 16;

/** sha256 of the statement text, its first 16 hex digits: the same text always gives the same fingerprint. */
export function sqlFingerprint(sql: string): string {
  return hash('sha256', sql, 'hex').slice(0, FINGERPRINT_HEX);
}

/** The audit line of one tool call: who, what, how it ended; never row data, never a token. */
export function auditLine(e: ToolCallEvent, now = new Date()): string {
  return JSON.stringify({
    time: now.toISOString(),
    audit: 'tool_call',
    caller: e.caller,
    tool: e.tool,
    outcome: e.outcome,
    rows: e.rows,
    truncated: e.truncated,
    ms: Math.round(e.ms * 10) / 10,
    ...(e.sql === undefined ? {} : { sql_fingerprint: sqlFingerprint(e.sql), sql: e.sql.slice(0, SQL_PREVIEW_CHARS) }),
  });
}

/** One JSON line per tool call, whatever its outcome (MCP_AUDIT_LOG). */
@Injectable()
export class AuditTrail implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly observer: ToolCallObserver,
    @Inject(AUDIT_WRITER) private readonly writer: LineWriter,
  ) {}

  onModuleInit(): void {
    this.observer.subscribe((e) => this.writer.writeLine(auditLine(e)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.writer.close();
  }
}
