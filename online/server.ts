/**
 * The Fastify service: POST /v1/decisions, POST /v1/outcomes, /healthz, /readyz, /metrics and
 * /openapi.json. One place maps errors to HTTP answers (stable codes, the field named); a
 * decision never gets a 5xx: anything unexpected on that route is the fail-open answer. Bodies
 * are never logged, and a body holding a card number is refused before validation.
 */
import { createHash, randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { OnlineSettings } from '../core/config';
import { toUsd } from '../core/currency';
import { ErrorCodes } from '../core/errors';
import type { Logger } from '../core/logger';
import type { OutcomeEventRow } from '../core/decision-log';
import type { PolicyConfig } from '../policy/policy-config';
import { CircuitBreaker } from './circuit-breaker';
import { DecisionEngine, fallbackAnswer } from './decision-engine';
import { within } from './deadline';
import { LiveState } from './live-state';
import { LoadShedder } from './load-shedder';
import { ServiceMetrics } from './metrics';
import { OnlineStore } from './online-store';
import { openApiDocument } from './openapi';
import { findPan } from './pan-guard';
import { decisionRequestSchema, errorResponseSchema, outcomeRequestSchema, type DecisionRequest, type OutcomeRequest } from './request-schema';

declare module 'fastify' {
  interface FastifyRequest {
    receivedAt: number;
  }
}

export interface ServerDeps {
  redis: Redis;
  prefix: string;
  modelsDir: string;
  settings: OnlineSettings;
  policy: PolicyConfig;
  log: Logger;
  /** Service version in the OpenAPI document. */
  version?: string;
  /** Wall clock for decisions (tests pin the day). */
  now?: () => number;
  /** prom-client default process metrics. @defaultValue true */
  processMetrics?: boolean;
}

export interface Service {
  app: FastifyInstance;
  engine: DecisionEngine;
  live: LiveState;
  breaker: CircuitBreaker;
  shedder: LoadShedder;
  metrics: ServiceMetrics;
  store: OnlineStore;
  close(): Promise<void>;
}

const WARMUP_REQUESTS = 200;
const WARMUP_USER = '__paydecide_warmup__';
const WARMUP_HEADER = 'x-paydecide-warmup';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function errorBody(code: string, message: string, field?: string) {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

export async function buildServer(d: ServerDeps): Promise<Service> {
  const s = d.settings;
  const store = new OnlineStore(d.redis, d.prefix);
  const preload = () => store.loadScripts().catch((e) => d.log.warn({ err: (e as Error).message }, 'could not preload the Lua scripts'));
  d.redis.on('ready', preload);
  if (d.redis.status === 'ready') await preload();
  const live = new LiveState(store, d.modelsDir, s.adjuster, d.log);
  await live.reloadAdjuster();
  const breaker = new CircuitBreaker(s.breakerFailures, s.breakerCooldownMs);
  const shedder = new LoadShedder(s.shedLagMs, s.maxInflight);

  const metrics = new ServiceMetrics({ circuit: () => breaker.state, lagMs: () => shedder.lagMs, inflight: () => shedder.inflight }, d.processMetrics ?? true);
  const engine = new DecisionEngine({ store, live, breaker, shedder, policy: d.policy, settings: s, now: d.now });
  const keys = new Set(s.apiKeys.map(sha));

  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    // Strict bodies: no type coercion ("42" is not a number), unknown fields are errors.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });
  app.addSchema(decisionRequestSchema);
  app.addSchema(outcomeRequestSchema);
  app.addSchema(errorResponseSchema);

  const reject = (code: string, status: number) => metrics.rejected.inc({ code: `${status}:${code}` });

  app.addHook('onRequest', async (req, reply) => {
    req.receivedAt = performance.now();
    if (!req.url.startsWith('/v1/')) return;
    const h = req.headers.authorization;
    const key = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7).trim() : '';
    if (!key || !keys.has(sha(key))) {
      reject(ErrorCodes.UNAUTHORIZED, 401);
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(ErrorCodes.UNAUTHORIZED, 'a valid API key is required: Authorization: Bearer <key>'));
    }
  });

  // Before validation, so a card number in any field (even a misspelt or mistyped one) is refused
  // with its own code; the value is never echoed or logged.
  app.addHook('preValidation', async (req, reply) => {
    const at = findPan(req.body);
    if (at !== null) {
      reject(ErrorCodes.PAN_REFUSED, 400);
      d.log.warn({ field: at, url: req.url }, 'refused a body carrying a card number');
      return reply.code(400).send(errorBody(ErrorCodes.PAN_REFUSED, 'card numbers are not accepted; send the instrument token', at));
    }
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation && err.validation.length > 0) {
      const v = err.validation[0];
      const p = v.params as Record<string, unknown>;
      const extra = (p.missingProperty ?? p.additionalProperty ?? (v.keyword === 'dependencies' ? p.missingProperty : undefined)) as string | undefined;
      const field = `${v.instancePath}${extra !== undefined ? `/${extra}` : ''}` || '/';
      const what = v.keyword === 'additionalProperties' ? 'is not a known field' : v.keyword === 'required' ? 'is required' : (v.message ?? 'is invalid');
      reject(ErrorCodes.BAD_BODY, 400);
      return reply.code(400).send(errorBody(ErrorCodes.BAD_BODY, `${field} ${what}`, field));
    }
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      reject(ErrorCodes.BODY_TOO_LARGE, 413);
      return reply.code(413).send(errorBody(ErrorCodes.BODY_TOO_LARGE, 'body larger than 16 KiB'));
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
      reject(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, 415);
      return reply.code(415).send(errorBody(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, 'send Content-Type: application/json'));
    }
    if (status >= 400 && status < 500) {
      // Invalid or empty JSON, prototype poisoning...: never echo the parser's message, which
      // quotes the body (and so could quote a card number).
      reject(ErrorCodes.BAD_JSON, 400);
      return reply.code(400).send(errorBody(ErrorCodes.BAD_JSON, 'the body is not a valid JSON object'));
    }
    d.log.error({ err: err.message, url: req.url }, 'unexpected error');
    if (req.url.startsWith('/v1/decisions')) {
      metrics.fallbacks.inc({ reason: 'internal' });
      return reply.code(200).send(fallbackAnswer('internal', d.policy.version));
    }
    return reply.code(500).send(errorBody('PD_ERR_INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reject(ErrorCodes.NOT_FOUND, 404);
    reply.code(404).send(errorBody(ErrorCodes.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  app.post<{ Body: DecisionRequest }>('/v1/decisions', { schema: { body: { $ref: 'DecisionRequest#' } } }, async (req, reply) => {
    const { answer, row } = await engine.decide(req.body, req.receivedAt);
    const ms = performance.now() - req.receivedAt;
    answer.latency_ms = row.latency_ms = Math.round(ms * 1000) / 1000;
    metrics.latency.observe(ms / 1000);
    metrics.decisions.inc({ action: answer.action, source: answer.source });
    if (answer.source.startsWith('fallback:')) metrics.fallbacks.inc({ reason: answer.source.slice(9) });
    reply.send(answer);
    // After the reply: the decision log never adds to the answer's latency. Skipped while the
    // breaker says Redis is down (the write would fail anyway).
    if (req.headers[WARMUP_HEADER] === '1' && req.body.user_id === WARMUP_USER) return reply;
    if (breaker.state === 'closed') {
      setImmediate(() => {
        store.append(store.decisionStream, JSON.stringify(row), s.streamMaxLen).catch(() => metrics.logFailures.inc());
      });
    } else metrics.logFailures.inc();
    return reply;
  });

  app.post<{ Body: OutcomeRequest }>('/v1/outcomes', { schema: { body: { $ref: 'OutcomeRequest#' } } }, async (req, reply) => {
    const b = req.body;
    const ts = new Date(b.occurred_at);
    const row: OutcomeEventRow = {
      event_id: b.event_id ?? randomUUID(),
      user_id: b.user_id,
      goal: b.action,
      event_ts: ts.toISOString(),
      value_usd: b.value !== undefined && b.currency !== undefined ? (toUsd(b.value, b.currency) ?? 0) : 0,
      decision_id: b.decision_id ?? null,
    };
    try {
      await within(store.append(store.outcomeStream, JSON.stringify(row), s.streamMaxLen), 1000);
    } catch {
      reject(ErrorCodes.UNAVAILABLE, 503);
      return reply.code(503).header('retry-after', '1').send(errorBody(ErrorCodes.UNAVAILABLE, 'the outcome could not be stored now; retry'));
    }
    metrics.outcomes.inc();
    return reply.code(202).send({ accepted: true, event_id: row.event_id });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const problems: string[] = [];
    let version: string | null = null;
    try {
      version = await within(d.redis.get(`${d.prefix}:live`), 500);
      if (version === null) problems.push('no live score version');
      else if (!(await within(live.campaignsOf(version), 500))) problems.push(`live version ${version} carries no campaigns`);
    } catch (e) {
      problems.push(`redis: ${(e as Error).message}`);
    }
    const adj = live.adjuster;
    if (adj.state === 'missing') problems.push(`adjuster: ${adj.why}`);
    const body = { ready: problems.length === 0, live_version: version, adjuster: adj.state === 'loaded' ? adj.adjuster.version : adj.state, circuit: breaker.state, problems };
    return reply.code(problems.length === 0 ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const doc = openApiDocument(d.version ?? '0.1.0');
  app.get('/openapi.json', async () => doc);

  await app.ready();
  // Warm-up: the first requests through a fresh process compile validators, serializers and
  // the hot path (tens of ms each). A few internal requests for a user that does not exist pay
  // that before the port opens; they are not logged and the metrics start from zero after them.
  for (let i = 0; i < WARMUP_REQUESTS; i++) {
    await app.inject({ method: 'POST', url: '/v1/decisions', headers: { authorization: `Bearer ${s.apiKeys[0]}`, [WARMUP_HEADER]: '1' }, payload: { request_id: `warmup-${i}`, user_id: WARMUP_USER, event: 'payment_completed', amount: 1, currency: 'USD', mcc: '5411', channel: 'merchant_checkout', country: 'US' } });
  }
  metrics.registry.resetMetrics();
  breaker.reset();
  // Lag sampling starts once start-up work is done, so its pauses are not taken for overload.
  shedder.start();
  return {
    app,
    engine,
    live,
    breaker,
    shedder,
    metrics,
    store,
    async close() {
      shedder.stop();
      await app.close();
    },
  };
}
