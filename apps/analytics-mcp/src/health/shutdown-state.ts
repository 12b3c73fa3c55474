import { Injectable } from '@nestjs/common';

/** Flipped on SIGTERM so readiness fails while in-flight calls finish. */
@Injectable()
export class ShutdownState {
  draining = false;
}
