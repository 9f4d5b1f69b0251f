/**
 * The online service against real Redis and ONNX Runtime: answers, every fail-open path inside
 * the deadline, validation, authentication, PAN refusal, atomic counters, the decision stream.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { onlineDecisionRowSchema, outcomeEventRowSchema } from '../../core/decision-log';
import { connectRedis } from '../../core/redis';
import { ScoreStore } from '../../core/score-store';
import { buildServer, type Service } from '../../online';
import { startDelayProxy } from '../../scripts/bench/tcp-delay-proxy';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis-prefix';
import { API_KEY, body, capturingLogger, CAMPAIGNS, NOW_MS, publishVersion, recordOf, startPrivateRedis, TEST_POLICY, testConfig, USERS } from '../helpers/online-fixture';

/** Functional tests: a deadline no loaded CI machine misses. Fault tests: a tight one, checked. */
const SLOW_DEADLINE = 1000;
const DEADLINE = 50;
/** Timer slack allowed past the deadline on a shared 2-core machine. */
const SLACK = 20;
const auth = { authorization: `Bearer ${API_KEY}` };

async function service(prefix: string, o: { redisUrl?: string; env?: Record<string, string>; modelsDir?: string } = {}) {
  // Shedding only where a test asks for it: on a loaded CI machine any test could see a lag spike.
  const cfg = testConfig(prefix, { PAYDECIDE_DEADLINE_MS: String(DEADLINE), PAYDECIDE_SHED_LAG_MS: '1000', ...(o.env ?? {}) });
  const redis = await connectRedis(o.redisUrl ?? REDIS_URL, { lazy: true, commandTimeoutMs: cfg.online.deadlineMs });
  const { log, lines } = capturingLogger();
  const svc = await buildServer({ redis, prefix, modelsDir: o.modelsDir ?? '/nonexistent-models', settings: cfg.online, policy: TEST_POLICY, log, now: () => NOW_MS, processMetrics: false });
  // lazy connect: wait until the client is ready (or give up quickly when nothing listens)
  for (let i = 0; i < 40 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 25));
  return { svc, redis, lines, close: async () => (await svc.close(), redis.disconnect()) };
}

async function decide(svc: Service, b: Record<string, unknown>, headers: Record<string, string> = auth) {
  const res = await svc.app.inject({ method: 'POST', url: '/v1/decisions', headers, payload: b });
  return { status: res.statusCode, json: res.json() as Record<string, any> };
}

describe('online service', () => {
  const prefix = testPrefix('online');
  let admin: Redis;
  let s: Awaited<ReturnType<typeof service>>;

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
    await publishVersion(admin, prefix, { version: 'v1' });
    // no shedding here: bursts of concurrent injected requests are what these tests send
    s = await service(prefix, { env: { PAYDECIDE_SHED_LAG_MS: '1000', PAYDECIDE_DEADLINE_MS: String(SLOW_DEADLINE) } });
  });
  afterAll(async () => {
    await s.close();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });
  afterEach(async () => {
    // offers and spend of one test never cap the next
    for (const k of await admin.keys(`${prefix}:o:*`)) await admin.del(k);
  });

  it('answers the documented example body with a decision from the nightly scores', async () => {
    const r = await decide(s.svc, body());
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ action: 'cashback', campaign_id: 0, source: 'precomputed', propensity: 1, reasons: [] });
    expect(r.json.expected_value).toBeCloseTo(0.1 * 20 - 0.3 * 1, 3);
    expect(r.json.score).toBeCloseTo(0.3, 4);
    expect(r.json.versions).toEqual({ scores: 'v1', model: 'uplift-test', adjuster: null, policy: 'policy-test' });
    expect(typeof r.json.decision_id).toBe('string');
  });

  it('re-checks the gates against this payment: MCC, country, credit, in-app opt-out', async () => {
    // cashback excludes MCC 7995: the installment offer is next best
    expect((await decide(s.svc, body({ mcc: '7995' }))).json).toMatchObject({ action: 'installment_offer', campaign_id: 1 });
    await admin.del(`${prefix}:o:x:u1`);
    // cashback is US only; installments are open in GB
    expect((await decide(s.svc, body({ country: 'GB', currency: 'GBP' }))).json).toMatchObject({ action: 'installment_offer' });
    await admin.del(`${prefix}:o:x:u1`);
    const fr = (await decide(s.svc, body({ user_id: 'u1', country: 'FR', currency: 'EUR' }))).json;
    expect(fr).toMatchObject({ action: 'none', source: 'precomputed' });
    expect(fr.reasons).toContain('GATE_COUNTRY');
    // u2 opted out of in-app messages
    const u2 = (await decide(s.svc, body({ user_id: 'u2' }))).json;
    expect(u2.action).toBe('none');
    expect(u2.reasons).toContain('GATE_CHANNEL_OPTOUT');
  });

  it('caps and fatigue hold under concurrent requests for one user: one offer a day', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => decide(s.svc, body({ request_id: `c-${i}` }))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const offers = answers.filter((a) => a.json.action !== 'none');
    expect(offers).toHaveLength(1);
    for (const a of answers) if (a.json.action === 'none') expect(a.json.reasons.some((r: string) => r.startsWith('FATIGUE'))).toBe(true);
    expect(await admin.get(`${prefix}:o:x:u1`)).toBe(`${Math.floor(NOW_MS / 86_400_000)}:0`);
  });

  it("a campaign's online budget holds under concurrent requests from many users", async () => {
    const ids = USERS.filter((u) => u.id.startsWith('c')).map((u) => u.id);
    const answers = await Promise.all(ids.map((id) => decide(s.svc, body({ user_id: id, country: 'CA', currency: 'CAD' }))));
    const granted = answers.filter((a) => a.json.action === 'referral_prompt');
    // 0.7 USD a day, 0.3 expected cost each: two offers, never three
    expect(granted).toHaveLength(2);
    const spent = Number(await admin.hget(`${prefix}:o:spent:2026-07-01`, '3'));
    // two offers of expected cost 0.3 (uptake 0.3 as the record's u16 holds it: 0.300008)
    expect(spent).toBe(2 * Math.round(Math.round(0.3 * 65535) / 65535 * 1e6));
    expect(answers.filter((a) => a.json.action === 'none').every((a) => a.json.reasons.includes('BUDGET_EXHAUSTED'))).toBe(true);
  });

  it('appends every decision to the capped stream with the logged features', async () => {
    const r = await decide(s.svc, body({ request_id: 'stream-1' }));
    let entries: [string, string[]][] = [];
    for (let i = 0; i < 50 && entries.length === 0; i++) {
      await new Promise((res) => setTimeout(res, 20));
      entries = (await admin.xrange(`${prefix}:stream:decisions`, '-', '+')).filter(([, f]) => f[1].includes(r.json.decision_id));
    }
    expect(entries).toHaveLength(1);
    const row = onlineDecisionRowSchema.parse(JSON.parse(entries[0][1][1]));
    expect(row).toMatchObject({ decision_id: r.json.decision_id, user_id: 'u1', action: 'cashback', campaign_id: 0, request_id: 'stream-1', ctx_amount_usd: 42.5, ctx_mcc: '5411', ctx_channel: 'merchant_checkout', ctx_auth_outcome: 'approved', surface: 'online', source: 'precomputed' });
    expect(row.features).toHaveLength(18);
    expect(row.latency_ms).toBeGreaterThan(0);
  });

  it('takes outcome events into their stream', async () => {
    const res = await s.svc.app.inject({ method: 'POST', url: '/v1/outcomes', headers: auth, payload: { user_id: 'u1', action: 'cashback', value: 10, currency: 'EUR', occurred_at: '2026-07-01T12:30:00Z', decision_id: 'd-1' } });
    expect(res.statusCode).toBe(202);
    const [[, f]] = await admin.xrange(`${prefix}:stream:outcomes`, '-', '+');
    const row = outcomeEventRowSchema.parse(JSON.parse(f[1]));
    expect(row).toMatchObject({ user_id: 'u1', goal: 'cashback', decision_id: 'd-1', event_ts: '2026-07-01T12:30:00.000Z' });
    expect(row.value_usd).toBeCloseTo(10 / 0.92, 6);
  });

  it('refuses requests without a valid API key (401)', async () => {
    expect((await decide(s.svc, body(), {})).status).toBe(401);
    const r = await decide(s.svc, body(), { authorization: 'Bearer wrong-key-123' });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('PD_ERR_UNAUTHORIZED');
  });

  it('names the field of a malformed body with a stable code', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [body({ amount: 'lots' }), '/amount'],
      [body({ amount: -1 }), '/amount'],
      [body({ user_id: undefined }), '/user_id'],
      [body({ colour: 'red' }), '/colour'],
      [body({ currency: 'XXX' }), '/currency'],
      [body({ mcc: '54111' }), '/mcc'],
      [body({ country: 'usa' }), '/country'],
      [body({ currency: undefined }), '/currency'],
    ];
    for (const [b, field] of cases) {
      const r = await decide(s.svc, JSON.parse(JSON.stringify(b)));
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(r.json.error).toMatchObject({ code: 'PD_ERR_BAD_BODY', field });
    }
    const bad = await s.svc.app.inject({ method: 'POST', url: '/v1/decisions', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"request_id": "r",' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('PD_ERR_BAD_JSON');
  });

  it('refuses a card number in any field with its own code and never logs it', async () => {
    const pan = '4111 1111 1111 1111';
    for (const b of [body({ merchant_id: pan.replace(/ /g, '') }), body({ note: `card ${pan}` }), body({ amount: 4111111111111111 })]) {
      const r = await decide(s.svc, b);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('PD_ERR_PAN_REFUSED');
      expect(JSON.stringify(r.json)).not.toContain('4111');
    }
    // invalid JSON quoting a card number: refused without echoing the parser's message
    const raw = await s.svc.app.inject({ method: 'POST', url: '/v1/decisions', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"merchant_id": "4111111111111111" oops' });
    expect(raw.statusCode).toBe(400);
    expect(raw.body).not.toContain('4111');
    // a Luhn-invalid 16-digit token is not a card number
    expect((await decide(s.svc, body({ merchant_id: '4111111111111112' }))).status).toBe(200);
    expect(s.lines.join('\n')).not.toMatch(/4111[ -]?1111/);
  });

  it('survives 1,000 malformed bodies with only 400s and keeps serving', async () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const junk = [null, true, -1, 1e308, '', 'x'.repeat(300), [], {}, [1, 2], { a: 1 }, '4111111111111111', NaN];
    const keys = Object.keys(body());
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const kind = i % 5;
      let payload: string;
      if (kind === 0) payload = JSON.stringify(body()).slice(0, Math.floor(rnd() * 120));
      else if (kind === 1) {
        const b: Record<string, unknown> = body();
        b[keys[Math.floor(rnd() * keys.length)]] = junk[Math.floor(rnd() * junk.length)];
        if (JSON.stringify(b) === JSON.stringify(body())) b.extra = 1;
        payload = JSON.stringify(b);
      } else if (kind === 2) {
        const b: Record<string, unknown> = body();
        delete b[['request_id', 'user_id', 'event', 'country'][i % 4]];
        payload = JSON.stringify(b);
      } else if (kind === 3) payload = JSON.stringify(junk[i % junk.length]);
      else payload = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))).toString('latin1');
      const res = await s.svc.app.inject({ method: 'POST', url: '/v1/decisions', headers: { ...auth, 'content-type': 'application/json' }, payload });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    }
    expect([...statuses.keys()]).toEqual([400]);
    expect((await s.svc.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await decide(s.svc, body({ user_id: 'u3', country: 'US' }))).status).toBe(200);
  });

  it('serves readiness, Prometheus metrics and the OpenAPI document', async () => {
    const ready = await s.svc.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, live_version: 'v1', adjuster: 'off', circuit: 'closed' });
    await decide(s.svc, body());
    const m = (await s.svc.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(m).toContain('paydecide_decision_seconds_bucket{le="0.025"}');
    expect(m).toMatch(/paydecide_decisions_total\{action="[a-z_]+",source="precomputed"\} \d+/);
    expect(m).toContain('paydecide_circuit_state 0');
    const doc = (await s.svc.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.schemas.DecisionRequest.required).toEqual(['request_id', 'user_id', 'event', 'country']);
  });

  it('picks up a new live version (and its campaigns) without a restart', async () => {
    const only = CAMPAIGNS.filter((c) => c.campaign_id === 1);
    await publishVersion(admin, prefix, { version: 'v2', campaigns: only });
    const r = await decide(s.svc, body());
    expect(r.json).toMatchObject({ action: 'installment_offer', versions: { scores: 'v2' } });
    await new ScoreStore(admin, prefix).rollback();
  });
});

describe('online service fail-open paths', () => {
  const prefix = testPrefix('online-faults');
  let admin: Redis;
  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
    const corrupt = recordOf(USERS[0]);
    corrupt[5] ^= 0xff;
    await publishVersion(admin, prefix, { version: 'v1', records: new Map([['u2', corrupt]]) });
  });
  afterAll(async () => {
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  const expectFallback = (r: { status: number; json: Record<string, any> }, reason: string) => {
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ action: 'none', source: `fallback:${reason}`, propensity: 1 });
    expect(r.json.latency_ms).toBeLessThanOrEqual(DEADLINE + SLACK);
  };

  it('record missing, record corrupt, no live version, no campaigns', async () => {
    const s = await service(prefix);
    try {
      expectFallback(await decide(s.svc, body({ user_id: 'nobody' })), 'record_missing');
      expectFallback(await decide(s.svc, body({ user_id: 'u2' })), 'record_corrupt');
      const other = await service(testPrefix('online-empty'));
      expectFallback(await decide(other.svc, body()), 'no_live_version');
      await other.close();
    } finally {
      await s.close();
    }
    const p2 = testPrefix('online-nocamp');
    await publishVersion(admin, p2, { version: 'v1', campaigns: null });
    const s2 = await service(p2);
    expectFallback(await decide(s2.svc, body()), 'no_campaigns');
    await s2.close();
    await dropPrefix(admin, p2);
  });

  it('the adjuster switched on but missing from the registry', async () => {
    const s = await service(prefix, { env: { PAYDECIDE_ADJUSTER: 'on' } });
    try {
      expectFallback(await decide(s.svc, body()), 'model_missing');
      expect((await s.svc.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    } finally {
      await s.close();
    }
  });

  it('Redis delayed beyond the deadline by a proxy: fallback inside the deadline, then the breaker opens', async () => {
    const u = new URL(REDIS_URL);
    const proxy = await startDelayProxy({ target: { host: u.hostname, port: Number(u.port || 6379) }, delayMs: 0 });
    const s = await service(prefix, { redisUrl: proxy.url() });
    try {
      expect((await decide(s.svc, body())).json.source).toBe('precomputed');
      proxy.setDelay(400);
      const reasons = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now();
        const r = await decide(s.svc, body({ request_id: `slow-${i}` }));
        expect(performance.now() - t0).toBeLessThan(DEADLINE + 2 * SLACK);
        expect(r.json.action).toBe('none');
        expect(r.json.latency_ms).toBeLessThanOrEqual(DEADLINE + SLACK);
        reasons.add(r.json.source);
      }
      expect(reasons).toContain('fallback:redis_timeout');
      expect(reasons).toContain('fallback:circuit_open');
    } finally {
      await s.close();
      await proxy.close();
    }
  });

  it('Redis killed: fallbacks inside the deadline, never a 5xx, and back to normal when it returns', async () => {
    const r0 = await startPrivateRedis();
    const priv = new Redis(r0.url);
    await publishVersion(priv, prefix, { version: 'v1' });
    priv.disconnect();
    const s = await service(prefix, { redisUrl: r0.url, env: { PAYDECIDE_BREAKER_COOLDOWN_MS: '100' } });
    try {
      expect((await decide(s.svc, body())).json.source).toBe('precomputed');
      await r0.kill();
      const sources = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await decide(s.svc, body({ request_id: `dead-${i}` }));
        expect(r.status).toBe(200);
        expect(r.json.action).toBe('none');
        expect(r.json.latency_ms).toBeLessThanOrEqual(DEADLINE + SLACK);
        sources.add(r.json.source);
      }
      expect([...sources].every((x) => ['fallback:redis_error', 'fallback:redis_timeout', 'fallback:circuit_open'].includes(x))).toBe(true);
      expect((await s.svc.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await s.svc.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    } finally {
      await s.close();
      await r0.kill();
    }
  });

  it('a Redis URL where nothing listens: the service starts and answers with fallbacks', async () => {
    const s = await service(prefix, { redisUrl: 'redis://127.0.0.1:1' });
    try {
      for (let i = 0; i < 10; i++) {
        const r = await decide(s.svc, body());
        expect(r.status).toBe(200);
        expect(r.json.source).toMatch(/^fallback:(redis_error|redis_timeout|circuit_open)$/);
        expect(r.json.latency_ms).toBeLessThanOrEqual(DEADLINE + SLACK);
      }
    } finally {
      await s.close();
    }
  });

  it('event-loop overload sheds to the default answer at once', async () => {
    const s = await service(prefix, { env: { PAYDECIDE_SHED_LAG_MS: '10' } });
    try {
      // the loop is blocked for 60 ms: whatever arrives behind the block is shed
      const blocked = new Promise<void>((resolve) =>
        setTimeout(() => {
          const end = performance.now() + 60;
          while (performance.now() < end);
          resolve();
        }, 0),
      );
      await blocked;
      const r = await decide(s.svc, body());
      expectFallback(r, 'overload');
      const m = (await s.svc.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(m).toMatch(/paydecide_fallbacks_total\{reason="overload"\} [1-9]/);
    } finally {
      await s.close();
    }
  });
});
