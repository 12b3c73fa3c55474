import { parentPort } from 'node:worker_threads';
import { ChartInputError } from './chart.errors.js';
import type { ChartRequest, RenderedChart } from './chart.types.js';
import { renderChart } from './render-chart.js';

export interface ChartWorkerRequest {
  id: number;
  request: ChartRequest;
}

export interface ChartWorkerReply {
  id: number;
  result?: RenderedChart;
  /** `input`: the spec does not fit the data (ChartInputError); `failed`: anything else. */
  error?: { kind: 'input' | 'failed'; message: string };
}

parentPort!.on('message', (msg: ChartWorkerRequest) => {
  renderChart(msg.request).then(
    (result) => parentPort!.postMessage({ id: msg.id, result } satisfies ChartWorkerReply),
    (err: Error) =>
      parentPort!.postMessage({
        id: msg.id,
        error: { kind: err instanceof ChartInputError ? 'input' : 'failed', message: err.message },
      } satisfies ChartWorkerReply),
  );
});
