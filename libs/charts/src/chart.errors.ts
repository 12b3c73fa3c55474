/** The spec does not fit the data (unknown column, wrong type, too many points): the caller can fix it. */
export class ChartInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChartInputError';
  }
}

/** The renderer is saturated or failed; the request itself may be fine. */
export class ChartRenderError extends Error {
  constructor(
    message: string,
    readonly kind: 'busy' | 'timeout' | 'failed' = 'failed',
  ) {
    super(message);
    this.name = 'ChartRenderError';
  }
}
