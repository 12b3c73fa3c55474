import { Module } from '@nestjs/common';
import { GuardPolicyService } from './guard-policy.service.js';

@Module({
  providers: [GuardPolicyService],
  exports: [GuardPolicyService],
})
export class GuardPolicyModule {}
