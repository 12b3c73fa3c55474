import { Global, Module } from '@nestjs/common';
import { PrivilegedRoleCheck } from './privileged-role.check.js';

/** Global so the MCP handler and the readiness probe can both ask it before serving. */
@Global()
@Module({
  providers: [PrivilegedRoleCheck],
  exports: [PrivilegedRoleCheck],
})
export class RoleCheckModule {}
