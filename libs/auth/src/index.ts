export { AuthModule } from './auth.module.js';
export { AuthGuard } from './auth.guard.js';
export { TokenStore } from './token-store.js';
export { AUTH_OPTIONS } from './auth.constants.js';
export type { AuthModuleOptions, AuthenticatedRequest } from './auth-options.interface.js';
