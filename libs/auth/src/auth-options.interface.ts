import type { StaticToken } from './token-store.js';

/** An OAuth 2.1 authorization server whose JWT access tokens this resource server accepts. */
export interface OAuthOptions {
  /** Exactly the issuer's `iss`. */
  issuer: string;
  /** Accepted `aud` values; a token must name one of them. */
  audience: string[];
  /** Claims tried in order for the caller name. */
  callerClaims: string[];
  /** Least time between two JWKS downloads. */
  jwksCooldownMs: number;
  /** The protected resource metadata URL, named in every challenge (RFC 9728 §5.1). */
  resourceMetadataUrl: string;
  /** Scopes named in a 401's challenge (what a client should ask for); empty = none named. */
  challengeScopes: string[];
}

export interface AuthModuleOptions {
  /** Bearer tokens (or their SHA-256) and the caller name each one stands for. */
  tokens: ReadonlyArray<StaticToken>;
  /** Accept JWT access tokens from this authorization server too. */
  oauth?: OAuthOptions | null;
}

/** What the guard attaches to an authenticated request. */
export interface AuthenticatedRequest {
  caller?: string;
  /** The OAuth token's scopes; undefined for a static token, which is not limited by scopes. */
  scopes?: ReadonlySet<string>;
}
