/**
 * Golden parity (CONVENTIONS 11): every case of test/golden/online-parity.v1.json through the
 * batch path (nightly encoder, training's context reader, batch ONNX run, pure policy) and
 * through the real service (Redis records and counters, HTTP, single-row ONNX run): features,
 * scores and decisions must equal the file's, so any training-serving skew fails here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { onlineDecisionRowSchema } from '../../core/decision-log';
import { connectRedis } from '../../core/redis';
import { buildServer } from '../../online';
import { parsePolicyConfig } from '../../policy/policy-config';
import { batchPath, installGoldenAdjuster, readGolden } from '../helpers/golden-online';
import { API_KEY, publishVersion, testConfig } from '../helpers/online-fixture';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis-prefix';

const g = readGolden();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-golden-'));
const prefix = testPrefix('golden');
let admin: Redis;

beforeAll(async () => {
  admin = new Redis(REDIS_URL);
  await publishVersion(admin, prefix, {
    version: 'golden',
    modelVersion: g.model_version,
    campaigns: g.campaigns,
    users: g.users.map((u) => ({ id: u.id, scores: u.scores, uplift: u.uplift, kycTier: u.kyc_tier, creditEligible: u.credit_eligible, optoutInApp: u.optout_in_app })),
  });
  await installGoldenAdjuster(tmp, g.model_version);
});
afterAll(async () => {
  await dropPrefix(admin, prefix);
  admin.disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('golden parity of the online path', () => {
  it('the file is versioned and covers offers, none, exploration, holdouts, gates and caps', () => {
    expect(g.format).toBe('paydecide-online-golden');
    expect(g.version).toBe(1);
    const all = g.modes.flatMap((m) => g.cases[m].map((c) => c.expected!));
    const reasons = new Set(all.flatMap((e) => e.reasons));
    for (const r of ['EXPLORATION', 'HOLDOUT_GLOBAL', 'GATE_COUNTRY', 'FATIGUE_MIN_GAP']) expect(reasons, r).toContain(r);
    expect(new Set(all.map((e) => e.action)).size).toBeGreaterThanOrEqual(4);
  });

  for (const mode of ['precomputed', 'model'] as const) {
    it(`batch path = golden file (${mode})`, async () => {
      const got = await batchPath(g, mode);
      g.cases[mode].forEach((c, i) => expect(got[i], c.name).toEqual(c.expected));
    });

    it(`online path = golden file (${mode})`, async () => {
      const nowMs = Date.parse(g.now);
      const day = Math.floor(nowMs / 86_400_000);
      const cfg = testConfig(prefix, { PAYDECIDE_DEADLINE_MS: '1000', PAYDECIDE_SHED_LAG_MS: '1000', PAYDECIDE_ADJUSTER: mode === 'model' ? 'on' : 'off', PAYDECIDE_ONLINE_BUDGET_SHARE: '0.5' });
      const redis = await connectRedis(REDIS_URL, { commandTimeoutMs: 1000 });
      const svc = await buildServer({ redis, prefix, modelsDir: tmp, settings: cfg.online, policy: parsePolicyConfig(g.policy), log: (await import('pino')).default({ level: 'silent' }), now: () => nowMs, processMetrics: false });
      const ids: string[] = [];
      try {
        for (const c of g.cases[mode]) {
          const user = String(c.request.user_id);
          for (const k of await admin.keys(`${prefix}:o:*`)) await admin.del(k);
          if (c.history.length > 0) await admin.set(`${prefix}:o:x:${user}`, c.history.map((h) => `${day - h.days_ago}:${h.campaign_id}`).join(','));
          const res = await svc.app.inject({ method: 'POST', url: '/v1/decisions', headers: { authorization: `Bearer ${API_KEY}` }, payload: c.request });
          expect(res.statusCode, c.name).toBe(200);
          const a = res.json();
          expect(a.source, c.name).toBe(mode);
          const e = c.expected!;
          expect({ action: a.action, campaign_id: a.campaign_id, expected_value: a.expected_value, propensity: a.propensity, reasons: a.reasons }, c.name).toEqual({ action: e.action, campaign_id: e.campaign_id, expected_value: e.expected_value, propensity: e.propensity, reasons: e.reasons });
          ids.push(a.decision_id);
        }
        // the logged features and scores (what training will read) equal the batch path's
        let rows = new Map<string, ReturnType<typeof onnxRow>>();
        for (let t = 0; t < 100 && rows.size < ids.length; t++) {
          await new Promise((r) => setTimeout(r, 20));
          rows = new Map((await admin.xrange(`${prefix}:stream:decisions`, '-', '+')).map(([, f]) => onnxRow(f[1])).map((r) => [r.decision_id, r]));
        }
        g.cases[mode].forEach((c, i) => {
          const r = rows.get(ids[i])!;
          expect(r, c.name).toBeDefined();
          expect(r.features, `${c.name} features`).toEqual(c.expected!.features);
          expect(r.scores, `${c.name} uptake`).toEqual(c.expected!.uptake);
          expect(r.uplift, `${c.name} uplift`).toEqual(c.expected!.uplift);
        });
      } finally {
        await svc.close();
        redis.disconnect();
      }
    });
  }
});

function onnxRow(json: string) {
  return onlineDecisionRowSchema.parse(JSON.parse(json));
}
