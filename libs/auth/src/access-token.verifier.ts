import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { OAuthOptions } from './auth-options.interface.js';

/** Why an access token was not accepted; a bounded set, used as a metrics label. */
export type TokenRejection =
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'unknown_key'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'claims'
  | 'no_caller';

export class TokenRejectedError extends Error {
  constructor(
    readonly rejection: TokenRejection,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRejectedError';
  }
}

/** The issuer's metadata or keys could not be fetched: the token may be fine, this server cannot tell. */
export class IssuerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IssuerUnavailableError';
  }
}

type Jose = typeof import('jose');

export interface VerifiedAccessToken {
  caller: string;
  scopes: ReadonlySet<string>;
}

// Asymmetric only: an HMAC algorithm would let anyone holding the public key sign.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_S = 30;
const FETCH_TIMEOUT_MS = 5_000;
/** After a failed discovery, requests fail fast this long before the next attempt. */
const DISCOVERY_RETRY_MS = 5_000;
const CALLER_CHARS = /[^A-Za-z0-9_.@-]/g;

/**
 * Verifies JWT access tokens from one authorization server: the signature against the
 * issuer's JWKS (found through its OpenID / OAuth metadata, cached, fetched again when a
 * token names an unknown `kid`, at most once per cooldown), `iss`, `aud` naming this
 * resource, `exp` / `nbf` with a small clock skew, and an asymmetric algorithm.
 */
export class AccessTokenVerifier {
  /** jose, loaded by the first discovery: a server with static tokens only never loads it. */
  private jose: Jose | undefined;
  private keys: JWTVerifyGetKey | undefined;
  private discovery: Promise<JWTVerifyGetKey> | undefined;
  private retryAt = 0;
  private lastDiscoveryError = '';

  constructor(private readonly options: OAuthOptions) {}

  /** Looks like a JWS compact serialisation (three base64url parts); static tokens never reach the verifier unless they do. */
  static looksLikeJwt(token: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
  }

  async verify(token: string): Promise<VerifiedAccessToken> {
    const keys = await this.jwks();
    const { jwtVerify } = this.jose ?? (await this.loadJose());
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw rejection(err);
    }
    const caller = callerOf(payload, this.options.callerClaims);
    if (!caller) {
      throw new TokenRejectedError('no_caller', `the access token carries none of the claims ${this.options.callerClaims.join(', ')} to name the caller`);
    }
    return { caller, scopes: scopesOf(payload) };
  }

  /** Starts discovery early (at boot) so the first caller does not wait for it; failures are retried on use. */
  warmUp(): Promise<void> {
    return this.jwks().then(
      () => undefined,
      () => undefined,
    );
  }

  private jwks(): Promise<JWTVerifyGetKey> {
    if (this.keys) return Promise.resolve(this.keys);
    if (!this.discovery) {
      if (Date.now() < this.retryAt) return Promise.reject(new IssuerUnavailableError(this.lastDiscoveryError));
      this.discovery = this.discover().then(
        (keys) => (this.keys = keys),
        (err: Error) => {
          this.discovery = undefined;
          this.retryAt = Date.now() + DISCOVERY_RETRY_MS;
          this.lastDiscoveryError = err.message;
          throw new IssuerUnavailableError(err.message);
        },
      );
    }
    return this.discovery;
  }

  private async loadJose(): Promise<Jose> {
    return (this.jose ??= await import('jose'));
  }

  /** OpenID Connect discovery first, then RFC 8414's path-inserted form. */
  private async discover(): Promise<JWTVerifyGetKey> {
    const issuer = this.options.issuer;
    const u = new URL(issuer);
    const path = u.pathname.replace(/\/$/, '');
    const candidates = [
      `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
      `${u.origin}/.well-known/oauth-authorization-server${path}`,
    ];
    const problems: string[] = [];
    for (const url of candidates) {
      let metadata: { issuer?: unknown; jwks_uri?: unknown };
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' }, redirect: 'error' });
        if (!res.ok) {
          problems.push(`${url}: HTTP ${res.status}`);
          continue;
        }
        metadata = (await res.json()) as typeof metadata;
      } catch (err) {
        problems.push(`${url}: ${(err as Error).message}`);
        continue;
      }
      // OpenID Connect Discovery §4.3 / RFC 8414 §3.3: the document must name the issuer asked for.
      if (metadata.issuer !== issuer) {
        throw new Error(`${url} names issuer ${JSON.stringify(metadata.issuer)}, not ${issuer} (MCP_OAUTH_ISSUER must match it exactly)`);
      }
      if (typeof metadata.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
      const jwksUri = new URL(metadata.jwks_uri);
      if (jwksUri.protocol !== 'https:' && !(jwksUri.protocol === 'http:' && u.protocol === 'http:')) {
        throw new Error(`${url}: jwks_uri must be https`);
      }
      const { createRemoteJWKSet } = this.jose ?? (await this.loadJose());
      return createRemoteJWKSet(jwksUri, { cooldownDuration: this.options.jwksCooldownMs, timeoutDuration: FETCH_TIMEOUT_MS });
    }
    throw new Error(`no authorization server metadata for ${issuer} (${problems.join('; ')})`);
  }
}

function rejection(err: unknown): Error {
  const code = (err as { code?: string }).code;
  const claim = (err as { claim?: string }).claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new TokenRejectedError('expired', 'the access token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return new TokenRejectedError('issuer', 'the access token was issued by another authorization server');
      if (claim === 'aud') return new TokenRejectedError('audience', 'the access token is not meant for this server (aud)');
      if (claim === 'nbf') return new TokenRejectedError('not_yet_valid', 'the access token is not valid yet (nbf)');
      return new TokenRejectedError('claims', `the access token's ${claim ?? 'claims'} claim is not acceptable`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenRejectedError('signature', 'the access token signature does not verify');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new TokenRejectedError('unknown_key', "the access token is not signed by one of the issuer's keys");
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new TokenRejectedError('algorithm', 'the access token uses a signing algorithm this server does not accept');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JWK_INVALID':
      return new TokenRejectedError('malformed', 'the access token is not a well-formed signed JWT');
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return new IssuerUnavailableError(`the authorization server's keys could not be fetched: ${(err as Error).message}`);
  }
  if (err instanceof TypeError) return new IssuerUnavailableError(`the authorization server's keys could not be fetched: ${err.message}`);
  return new TokenRejectedError('malformed', 'the access token could not be verified');
}

function callerOf(payload: JWTPayload, claims: readonly string[]): string | null {
  for (const claim of claims) {
    const value = payload[claim];
    if (typeof value !== 'string') continue;
    // Names go into logs and application_name: the same alphabet as static token names.
    const name = value.replace(CALLER_CHARS, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 48);
    if (name) return name;
  }
  return null;
}

/** RFC 9068 `scope` (space-separated); `scp` as Entra ID (string) and Okta (array) send it. */
function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const out = new Set<string>();
  for (const v of [payload.scope, payload.scp]) {
    if (typeof v === 'string') for (const s of v.split(' ')) if (s) out.add(s);
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') out.add(s);
  }
  return out;
}
