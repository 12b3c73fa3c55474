import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type SignJWT } from 'jose';
import Provider from 'oidc-provider';

/** A signing key the identity provider publishes, with its private half for forging test tokens. */
export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  privateKey: Parameters<SignJWT["sign"]>[0];
}

export async function makeSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    privateKey,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

export const SCOPES = { query: 'analytics:query', catalog: 'analytics:catalog' } as const;

export const SERVICE_CLIENT = { id: 'reporting-job', secret: `svc-secret-${randomBytes(12).toString('hex')}` };
export const DESKTOP_CLIENT = { id: 'desktop-connector', redirectUri: 'http://127.0.0.1:33418/callback' };

export interface IdentityProvider {
  issuer: string;
  port: number;
  /** The user the next authorization-code sign-in is for. */
  signInAs(accountId: string): void;
  /** Follows an authorization URL as a browser would (the sign-in and consent pass at once); resolves with the final redirect. */
  browse(url: string): Promise<string>;
  /** An access token through client credentials (RFC 6749 §4.4) for `resource`. */
  clientCredentials(resource: string, scope?: string): Promise<string>;
  /** An access token through authorization code + PKCE (S256), as an MCP connector gets one. */
  authorizationCode(resource: string, scope?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (the certified `oidc-provider`) on loopback, issuing RFC 9068
 * JWT access tokens for any resource indicator it is asked for. Its one interaction
 * signs in the configured user and grants what was asked, as a person clicking
 * through a login and consent page would.
 */
export async function startIdentityProvider(keys: SigningKey[], port = 0, { registration = false } = {}): Promise<IdentityProvider> {
  let account = 'carol';
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${actualPort}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: SERVICE_CLIENT.id,
        client_secret: SERVICE_CLIENT.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: `${SCOPES.query} ${SCOPES.catalog}`,
      },
      {
        client_id: DESKTOP_CLIENT.id,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [DESKTOP_CLIENT.redirectUri],
        scope: `openid ${SCOPES.query} ${SCOPES.catalog}`,
      },
    ],
    jwks: { keys: keys.map((k) => k.privateJwk) },
    // offline_access turns on the refresh_token grant, which connectors register for.
    scopes: ['openid', 'offline_access', SCOPES.query, SCOPES.catalog],
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: {
      devInteractions: { enabled: false },
      // Dynamic client registration (RFC 7591), for connectors such as mcp-remote.
      registration: { enabled: registration },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          audience: resource,
          scope: `${SCOPES.query} ${SCOPES.catalog}`,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, preferred_username: id, email: `${id}@fleet.example` }),
    }),
    // Keycloak puts preferred_username in access tokens; this provider is told to as well.
    extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) =>
      token.accountId ? { preferred_username: token.accountId, email: `${token.accountId}@fleet.example` } : undefined,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void (async () => {
        const details = await provider.interactionDetails(req, res);
        const grant = new provider.Grant({ accountId: account, clientId: details.params.client_id! });
        const scopes = (details.params.scope ?? '').split(' ');
        // The analytics scopes are registered provider scopes too, so consent covers both lists.
        grant.addOIDCScope(scopes.join(' '));
        const resource = details.params.resource;
        if (resource) grant.addResourceScope(resource, scopes.filter((s) => s !== 'openid').join(' '));
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { login: { accountId: account }, consent: { grantId } }, { mergeWithLastSubmission: false });
      })().catch((err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
      return;
    }
    callback(req, res);
  });

  const tokenRequest = async (form: Record<string, string>, basic?: string): Promise<string> => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(basic ? { authorization: `Basic ${basic}` } : {}) },
      body: new URLSearchParams(form),
    });
    const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!res.ok || !body.access_token) throw new Error(`token request failed: ${res.status} ${body.error} ${body.error_description}`);
    return body.access_token;
  };

  // The browser's part: follow redirects, keeping the provider's cookies, until the client's redirect URI.
  const browse = async (start: string, stopAt = ''): Promise<string> => {
    const cookies = new Map<string, string>();
    let url = start;
    for (let hop = 0; hop < 10; hop++) {
      if (!url.startsWith(issuer) || (stopAt && url.startsWith(stopAt))) return url;
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair!.indexOf('=');
        cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
      }
      const location = res.headers.get('location');
      if (!location) throw new Error(`authorization stopped at ${url}: HTTP ${res.status} ${await res.text()}`);
      url = new URL(location, url).toString();
    }
    return url;
  };

  return {
    issuer,
    port: actualPort,
    browse: (url) => browse(url),
    signInAs(id) {
      account = id;
    },
    clientCredentials(resource, scope = `${SCOPES.query} ${SCOPES.catalog}`) {
      const basic = Buffer.from(`${SERVICE_CLIENT.id}:${SERVICE_CLIENT.secret}`).toString('base64');
      return tokenRequest({ grant_type: 'client_credentials', resource, scope }, basic);
    },
    async authorizationCode(resource, scope = `openid ${SCOPES.query} ${SCOPES.catalog}`) {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const state = randomBytes(8).toString('hex');
      const authorize = new URL(`${issuer}/auth`);
      for (const [k, v] of Object.entries({
        client_id: DESKTOP_CLIENT.id,
        response_type: 'code',
        redirect_uri: DESKTOP_CLIENT.redirectUri,
        scope,
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource,
      })) {
        authorize.searchParams.set(k, v);
      }
      const url = await browse(authorize.toString(), DESKTOP_CLIENT.redirectUri);
      const back = new URL(url);
      if (back.searchParams.get('state') !== state) throw new Error(`authorization returned ${url}`);
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`no code in ${url}`);
      return tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: DESKTOP_CLIENT.redirectUri, client_id: DESKTOP_CLIENT.id, code_verifier: verifier, resource });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
