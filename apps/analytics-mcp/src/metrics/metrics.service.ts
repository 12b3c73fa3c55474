import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { AuthEvents } from '#auth';
import { DbService } from '#db';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { ToolCallObserver, type ToolCallEvent } from '../mcp/tool-call.observer.js';

const PREFIX = 'analytics_mcp_';
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Inc {
  inc(n?: number): void;
}
interface Observe {
  observe(v: number): void;
}

/**
 * Prometheus metrics in a registry of this application's own (so two servers in one
 * process never share counters): tool calls, latency, rows and guard refusals from the
 * ToolCallObserver, failed authentications from AuthEvents, pool and queue gauges read
 * when scraped, and the process metrics. Label children are looked up once and kept.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();
  private readonly withCaller: boolean;
  private readonly calls: Counter;
  private readonly latency: Histogram;
  private readonly rows: Counter;
  private readonly refusals: Counter;
  private readonly authFailures: Counter;
  private readonly children = new Map<Counter, Map<string, Inc>>();
  private readonly histograms = new Map<string, Observe>();

  constructor(
    private readonly observer: ToolCallObserver,
    private readonly authEvents: AuthEvents,
    private readonly db: DbService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.withCaller = config.metricsCallerLabel;
    const callerLabel = this.withCaller ? ['caller'] : [];
    const registers = [this.registry];
    this.calls = new Counter({ name: `${PREFIX}tool_calls_total`, help: 'Tool calls by tool and outcome (ok, refused:<family>, error:<SQLSTATE>, timeout, cancelled, busy, unavailable).', labelNames: ['tool', 'outcome', ...callerLabel], registers });
    this.latency = new Histogram({ name: `${PREFIX}tool_call_duration_seconds`, help: 'Tool call latency, validation to result, whatever the outcome.', labelNames: ['tool', ...callerLabel], buckets: LATENCY_BUCKETS, registers });
    this.rows = new Counter({ name: `${PREFIX}tool_rows_returned_total`, help: 'Rows returned by tools that return tables.', labelNames: ['tool'], registers });
    this.refusals = new Counter({ name: `${PREFIX}guard_refusals_total`, help: "Statements the SQL guard refused, by deny family or kind of refusal.", labelNames: ['family'], registers });
    this.authFailures = new Counter({ name: `${PREFIX}auth_failures_total`, help: 'Failed authentications on /mcp by kind (missing, unknown_token, jwt_<reason>, rate_limited, issuer_unavailable).', labelNames: ['kind'], registers });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('db_pool_connections', 'Open connections in the query pool.', () => this.db.stats.poolTotal);
    gauge('db_pool_idle_connections', 'Idle connections in the query pool.', () => this.db.stats.poolIdle);
    gauge('db_pool_waiting', "Requests waiting for a connection inside the pool.", () => this.db.stats.poolWaiting);
    gauge('db_calls_in_flight', 'Database calls holding a slot of the fair semaphore.', () => this.db.stats.inFlight);
    gauge('db_calls_queued', 'Database calls waiting in the fair semaphore queue.', () => this.db.stats.waiting);
    collectDefaultMetrics({ register: this.registry });
  }

  onModuleInit(): void {
    this.observer.subscribe((e) => this.record(e));
    this.authEvents.onFailure((kind) => this.counter(this.authFailures, kind).inc());
  }

  private record(e: ToolCallEvent): void {
    const caller = this.withCaller ? [e.caller] : [];
    this.counter(this.calls, e.tool, e.outcome, ...caller).inc();
    this.histogram(e.tool, ...caller).observe(e.ms / 1000);
    if (e.rows !== null && e.rows > 0) this.counter(this.rows, e.tool).inc(e.rows);
    if (e.outcome.startsWith('refused')) this.counter(this.refusals, e.outcome.slice('refused:'.length) || 'other').inc();
  }

  private counter(metric: Counter, ...values: string[]): Inc {
    let byLabels = this.children.get(metric);
    if (!byLabels) this.children.set(metric, (byLabels = new Map()));
    const key = values.join('\u0000');
    let child = byLabels.get(key);
    if (!child) {
      child = metric.labels(...values);
      byLabels.set(key, child);
    }
    return child;
  }

  private histogram(...values: string[]): Observe {
    const key = values.join('\u0000');
    let child = this.histograms.get(key);
    if (!child) {
      child = this.latency.labels(...values);
      this.histograms.set(key, child);
    }
    return child;
  }
}
