/**
 * What this library needs of an abort signal: whether it aborted, and an 'abort'
 * listener while a call waits or runs. An AbortSignal is one; so is a caller's own
 * cheaper stand-in (building an AbortSignal and listening on it costs more than the
 * rest of a small call's bookkeeping).
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
