import { Injectable } from '@nestjs/common';
import type { TokenRejection } from './access-token.verifier.js';

/** A failed authentication, by kind (a bounded set: it becomes a metrics label). */
export type AuthFailureKind = 'missing' | 'unknown_token' | 'rate_limited' | 'issuer_unavailable' | `jwt_${TokenRejection}`;

export type AuthFailureListener = (kind: AuthFailureKind) => void;

/** Where the guard reports failed authentications; metrics listen here. */
@Injectable()
export class AuthEvents {
  private readonly listeners: AuthFailureListener[] = [];

  onFailure(listener: AuthFailureListener): void {
    this.listeners.push(listener);
  }

  failed(kind: AuthFailureKind): void {
    for (const l of this.listeners) l(kind);
  }
}
