/** A start-up failure whose message says all there is to say: main.ts prints it without a stack trace. */
export class StartupError extends Error {
  override name = 'StartupError';
}
