import { openSync } from 'node:fs';
import { DynamicModule, Logger, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { McpModule } from '../mcp/mcp.module.js';
import { StartupError } from '../startup-error.js';
import { AUDIT_WRITER } from './audit.constants.js';
import { AuditTrail } from './audit-trail.service.js';
import { LineWriter } from './line-writer.js';

export interface AuditModuleOptions {
  auditLog: AppConfig['auditLog'];
  /** stdio transport: stdout carries the protocol, so "stdout" means stderr. */
  stdoutIsProtocol?: boolean;
}

@Module({})
export class AuditModule {
  static forRoot({ auditLog, stdoutIsProtocol }: AuditModuleOptions): DynamicModule {
    if (auditLog === 'off') return { module: AuditModule };
    const logger = new Logger('Audit');
    return {
      module: AuditModule,
      imports: [McpModule],
      providers: [
        {
          provide: AUDIT_WRITER,
          useFactory: () => {
            const onError = (err: Error) => logger.error(`audit log write failed: ${err.message}`);
            if (auditLog === 'stdout') return new LineWriter(stdoutIsProtocol ? 2 : 1, onError);
            if (auditLog === 'stderr') return new LineWriter(2, onError);
            let fd: number;
            try {
              fd = openSync(auditLog.file, 'a', 0o640);
            } catch (err) {
              throw new StartupError(`MCP_AUDIT_LOG: cannot open ${auditLog.file} for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
            }
            return new LineWriter(fd, onError, { ownsFd: true });
          },
        },
        AuditTrail,
      ],
    };
  }
}
