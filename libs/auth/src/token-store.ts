import { hash, timingSafeEqual } from 'node:crypto';

/** A static bearer token: in plain text, or as the hex SHA-256 of its UTF-8 bytes. */
export type StaticToken = { name: string; token: string } | { name: string; sha256: string };

// One-shot hash(): about half the cost of createHash().update().digest() on every request.
const digest = (s: string): Buffer => hash('sha256', s, 'buffer');

/**
 * Bearer tokens kept only as SHA-256 digests. A lookup compares the presented
 * token's digest with every known digest in constant time and never stops early,
 * so response timing says nothing about which token, or how much of one, matched.
 */
export class TokenStore {
  private readonly entries: ReadonlyArray<{ name: string; digest: Buffer }>;

  constructor(tokens: ReadonlyArray<StaticToken>) {
    this.entries = tokens.map((t) => ({ name: t.name, digest: 'token' in t ? digest(t.token) : Buffer.from(t.sha256, 'hex') }));
    for (const e of this.entries) {
      if (e.digest.length !== 32) throw new RangeError(`token entry "${e.name}": a SHA-256 digest is 64 hex digits`);
    }
  }

  get size(): number {
    return this.entries.length;
  }

  lookup(token: string): string | null {
    if (!token) return null;
    const presented = digest(token);
    let match: string | null = null;
    for (const e of this.entries) {
      if (timingSafeEqual(presented, e.digest)) match = e.name;
    }
    return match;
  }
}
