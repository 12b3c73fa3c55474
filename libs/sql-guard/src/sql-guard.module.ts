import { Module } from '@nestjs/common';
import { SqlGuardService } from './sql-guard.service.js';

@Module({
  providers: [SqlGuardService],
  exports: [SqlGuardService],
})
export class SqlGuardModule {}
