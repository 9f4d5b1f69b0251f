/** The online decision service (issue 6): build it with `buildServer`, run it with `paydecide serve`. */
export { buildServer, type ServerDeps, type Service } from './server';
export { DecisionEngine, requestContext, type DecisionAnswer, type FallbackReason } from './decision-engine';
export { OnlineStore, parseHistory } from './online-store';
export { findPan, luhnValid, containsPan } from './pan-guard';
export { CircuitBreaker } from './circuit-breaker';
export { LoadShedder } from './load-shedder';
export { LATENCY_BUCKETS_S } from './metrics';
export { openApiDocument } from './openapi';
