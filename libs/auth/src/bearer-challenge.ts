export interface BearerChallenge {
  error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request';
  description?: string;
  scopes?: readonly string[];
  resourceMetadata?: string;
}

// RFC 6750 §3: quoted-string values; scope tokens are already restricted to safe characters.
const quoted = (s: string) => `"${s.replace(/["\\\r\n]/g, ' ')}"`;

/** A `WWW-Authenticate: Bearer …` value (RFC 6750 §3, RFC 9728 §5.1). */
export function bearerChallenge(c: BearerChallenge = {}): string {
  const params: string[] = [];
  if (c.resourceMetadata) params.push(`resource_metadata=${quoted(c.resourceMetadata)}`);
  if (c.scopes?.length) params.push(`scope=${quoted(c.scopes.join(' '))}`);
  if (c.error) params.push(`error=${quoted(c.error)}`);
  if (c.description) params.push(`error_description=${quoted(c.description)}`);
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}
