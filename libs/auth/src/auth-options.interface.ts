export interface AuthModuleOptions {
  /** Bearer tokens and the caller name each one stands for. */
  tokens: ReadonlyArray<{ name: string; token: string }>;
}

/** What the guard attaches to an authenticated request. */
export interface AuthenticatedRequest {
  caller?: string;
}
