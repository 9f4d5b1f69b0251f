/**
 * The service's Prometheus metrics (prom-client, one registry per server so tests can run
 * several). `paydecide_decision_seconds` is measured from the moment the request reached the
 * server to the reply, which is what the deadline bounds; its buckets are fine around the
 * 1-25 ms that matter.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CircuitState } from './circuit-breaker';

export const LATENCY_BUCKETS_S = [0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.1, 0.25];

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly latency: Histogram;
  readonly decisions: Counter<'action' | 'source'>;
  readonly fallbacks: Counter<'reason'>;
  readonly rejected: Counter<'code'>;
  readonly logFailures: Counter;
  readonly outcomes: Counter;

  constructor(probes: { circuit: () => CircuitState; lagMs: () => number; inflight: () => number }, defaults = true) {
    const registers = [this.registry];
    this.latency = new Histogram({ name: 'paydecide_decision_seconds', help: 'Server-side time of POST /v1/decisions, from request received to reply', buckets: LATENCY_BUCKETS_S, registers });
    this.decisions = new Counter({ name: 'paydecide_decisions_total', help: 'Decisions answered, by action and source', labelNames: ['action', 'source'], registers });
    this.fallbacks = new Counter({ name: 'paydecide_fallbacks_total', help: 'Fail-open answers, by reason', labelNames: ['reason'], registers });
    this.rejected = new Counter({ name: 'paydecide_requests_rejected_total', help: 'Requests refused with a 4xx, by error code', labelNames: ['code'], registers });
    this.logFailures = new Counter({ name: 'paydecide_decision_log_failures_total', help: 'Decisions that could not be appended to the decision stream', registers });
    this.outcomes = new Counter({ name: 'paydecide_outcomes_total', help: 'Outcome events accepted', registers });
    new Gauge({ name: 'paydecide_circuit_state', help: 'Redis circuit breaker: 0 closed, 1 half-open, 2 open', registers, collect() {
      this.set(CIRCUIT_VALUE[probes.circuit()]);
    } });
    new Gauge({ name: 'paydecide_event_loop_lag_seconds', help: 'Event-loop lag seen by the load shedder', registers, collect() {
      this.set(probes.lagMs() / 1000);
    } });
    new Gauge({ name: 'paydecide_inflight_decisions', help: 'Decisions in progress', registers, collect() {
      this.set(probes.inflight());
    } });
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'paydecide_' });
  }
}
