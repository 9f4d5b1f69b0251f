/**
 * Audiences end to end on a generated world, against real DuckDB, ONNX Runtime and Redis: two
 * consecutive nights publish audiences to a local store; then every row is checked against the
 * rules it must obey (gates, segment, threshold, caps and cooldowns across the two days, budgets,
 * top-k, holdouts), the delta against the previous day, verified pulls, and bad input that must
 * leave the previous day's audiences readable.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudiences, pullAudience, readAudienceManifest } from '../../audiences/audience-catalog';
import type { AudienceManifest } from '../../audiences/audience-manifest';
import { loadConfig, type Config } from '../../core/config';
import { epochDay } from '../../core/dates';
import { ErrorCodes } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { LocalObjectStore } from '../../core/object-store';
import { publishAudiences } from '../../jobs/audiences/publish-audiences';
import { runNightly } from '../../jobs/nightly/run-nightly';
import { generateWorld, readWorldManifest, worldFiles } from '../../jobs/world';
import { failedGates } from '../../policy/compliance-gates';
import type { Campaign } from '../../policy/campaign';
import { DEFAULT_POLICY } from '../../policy/policy-config';
import { inCampaignHoldout, inGlobalHoldout } from '../../policy/holdout';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis-prefix';

const ROOT = path.resolve(__dirname, '..', '..');
const D1 = '2026-06-29';
const D2 = '2026-06-30';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-aud-'));
const world = path.join(tmp, 'world');
const audDir = path.join(tmp, 'audiences');
const specsDir = path.join(tmp, 'specs');
const log = createLogger('silent');
const prefix = testPrefix('aud');
let redis: Redis;
let cfg: Config;
let duck: DuckDBInstance;

/** The repo's example specs, with a few budgets and top-k cut small so both bind. */
function writeSpecs(): void {
  fs.mkdirSync(specsDir, { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, 'audiences', 'specs'))) {
    const s = JSON.parse(fs.readFileSync(path.join(ROOT, 'audiences', 'specs', f), 'utf8'));
    if (s.campaign_id % 4 === 0) s.budget_usd = 15;
    if (s.top_k !== undefined && s.campaign_id % 3 === 0) s.top_k = 7;
    fs.writeFileSync(path.join(specsDir, f), JSON.stringify(s));
  }
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const c = await duck.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
  }
}

function partFiles(m: AudienceManifest): string {
  return `[${m.parts.map((p) => `'${path.join(audDir, m.audience, `date=${m.date}`, p.file)}'`).join(', ')}]`;
}

async function manifests(date: string): Promise<AudienceManifest[]> {
  const store = new LocalObjectStore(audDir);
  const list = (await listAudiences(store, false)).filter((l) => l.date === date);
  return Promise.all(list.map((l) => readAudienceManifest(store, l.audience, date)));
}

let campaigns: Map<number, Campaign>;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  await generateWorld({ out: world, users: 3000, days: 90, date: D2, seed: 7, buckets: 8, duck: { threads: 2, memory: '2GB' } });
  writeSpecs();
  cfg = loadConfig({
    PAYDECIDE_REDIS_URL: REDIS_URL,
    PAYDECIDE_PREFIX: prefix,
    PAYDECIDE_HOME: tmp,
    PAYDECIDE_CHUNK_BUCKETS: '4',
    PAYDECIDE_DUCKDB_MEMORY: '2GB',
    PAYDECIDE_AUDIENCES: audDir,
    PAYDECIDE_AUDIENCE_SPECS: specsDir,
  });
  await runNightly(cfg, { dataDir: world, asOf: D1, logger: log });
  await runNightly(cfg, { dataDir: world, asOf: D2, logger: log });
  duck = await DuckDBInstance.create(':memory:');
  const m = readWorldManifest(world);
  const users = worldFiles(world, m, 'users').map((f) => `'${f}'`).join(', ');
  const c = await duck.connect();
  await c.run(`CREATE TABLE users AS SELECT user_id, country, kyc_tier::INTEGER AS kyc_tier, credit_eligible, optout_email, optout_push, optout_sms, optout_in_app, marketing_consent FROM read_parquet([${users}])`);
  const dec = worldFiles(world, m, 'decision_log').map((f) => `'${f}'`).join(', ');
  await c.run(`CREATE TABLE decisions AS SELECT user_id, campaign_id::INTEGER AS campaign_id, decision_ts::DATE AS day FROM read_parquet([${dec}]) WHERE action <> 'none'`);
  const cs = (await c.runAndReadAll(`SELECT campaign_id::INTEGER AS campaign_id, channel, countries, min_kyc_tier::INTEGER AS min_kyc_tier, requires_credit, excluded_mccs, budget_usd, offer_cost_usd, value_usd, per_user_cap, cooldown_days, strftime(start_date, '%Y-%m-%d') AS start_date, strftime(end_date, '%Y-%m-%d') AS end_date, action, name FROM read_parquet('${worldFiles(world, m, 'campaigns')[0]}')`)).getRowObjectsJS();
  campaigns = new Map(cs.map((x) => [Number(x.campaign_id), { ...(x as unknown as Campaign), countries: [...(x.countries as string[])], excluded_mccs: [...(x.excluded_mccs as string[])] }]));
  c.closeSync();
}, 600_000);

afterAll(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
  duck?.closeSync();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('audiences', () => {
  it('publishes one manifest per running spec and date, listed with audience, date and rows', async () => {
    const store = new LocalObjectStore(audDir);
    const all = await listAudiences(store, false);
    const d1 = all.filter((a) => a.date === D1);
    const d2 = all.filter((a) => a.date === D2);
    expect(d1.length).toBeGreaterThan(20);
    expect(d2.length).toBe(d1.length);
    expect(all.every((a) => typeof a.rows === 'number' && a.audience && a.date)).toBe(true);
    expect(all.reduce((a, b) => a + b.rows, 0)).toBeGreaterThan(1000);
  });

  it('no user in any audience fails a gate, the segment or the threshold of its spec', async () => {
    for (const date of [D1, D2]) {
      for (const m of await manifests(date)) {
        const c = campaigns.get(m.campaign_id)!;
        const spec = m.spec as { segment?: { countries?: string[]; min_kyc_tier?: number }; score_threshold?: number };
        const rs = await rows(`SELECT r.*, u.* FROM read_parquet(${partFiles(m)}, hive_partitioning = false) r JOIN users u USING (user_id)`);
        expect(rs.length).toBe(m.rows);
        for (const r of rs) {
          const subject = {
            country: r.country as string,
            kycTier: r.kyc_tier as number,
            creditEligible: r.credit_eligible as boolean,
            optouts: { email: r.optout_email as boolean, push: r.optout_push as boolean, sms: r.optout_sms as boolean, in_app: r.optout_in_app as boolean },
            marketingConsent: r.marketing_consent as boolean,
          };
          expect(failedGates(c, subject, date), `${m.audience} user ${r.user_id}`).toEqual([]);
          if (spec.segment?.countries) expect(spec.segment.countries).toContain(r.country);
          if (spec.segment?.min_kyc_tier !== undefined) expect(r.kyc_tier).toBeGreaterThanOrEqual(spec.segment.min_kyc_tier);
          if (spec.score_threshold !== undefined) expect(r.score as number).toBeGreaterThanOrEqual(spec.score_threshold);
          expect(r.propensity as number).toBeGreaterThan(0);
          expect(r.propensity as number).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('gives a user at most one offer a night', async () => {
    for (const date of [D1, D2]) {
      const ms = await manifests(date);
      const files = ms.flatMap((m) => m.parts.map((p) => `'${path.join(audDir, m.audience, `date=${date}`, p.file)}'`));
      const dup = await rows(`SELECT user_id, count(*) AS n FROM read_parquet([${files.join(', ')}], hive_partitioning = false) GROUP BY 1 HAVING count(*) > 1`);
      expect(dup).toEqual([]);
    }
  });

  it('caps, cooldowns and fatigue hold across the two nights (decision log + the first night sends)', async () => {
    const sentD1 = (await manifests(D1)).flatMap((m) => m.parts.map((p) => `'${path.join(audDir, m.audience, `date=${D1}`, p.file)}'`));
    const c = await duck.connect();
    await c.run(`CREATE OR REPLACE TABLE exposures AS
      SELECT user_id, campaign_id, day FROM decisions WHERE day < DATE '${D2}'
      UNION ALL SELECT user_id, campaign_id::INTEGER, DATE '${D1}' FROM read_parquet([${sentD1.join(', ')}], hive_partitioning = false) WHERE NOT holdout`);
    c.closeSync();
    let checked = 0;
    let seenYesterday = 0;
    for (const m of await manifests(D2)) {
      const camp = campaigns.get(m.campaign_id)!;
      const hist = await rows(`
        SELECT r.user_id,
               count(e.day) FILTER (WHERE e.campaign_id = ${m.campaign_id} AND e.day >= DATE '${D2}' - INTERVAL 30 DAY)::INTEGER AS n30,
               max(e.day) FILTER (WHERE e.campaign_id = ${m.campaign_id}) AS last_c,
               count(e.day) FILTER (WHERE e.day >= DATE '${D2}' - INTERVAL 7 DAY)::INTEGER AS n7,
               count(e.day) FILTER (WHERE e.day = DATE '${D1}')::INTEGER AS yesterday
        FROM read_parquet(${partFiles(m)}, hive_partitioning = false) r LEFT JOIN exposures e USING (user_id) GROUP BY 1`);
      for (const h of hist) {
        expect(h.n30 as number, `${m.audience} ${h.user_id}: cap`).toBeLessThan(camp.per_user_cap);
        if (h.last_c) expect(epochDay(D2) - epochDay((h.last_c as Date).toISOString().slice(0, 10))).toBeGreaterThanOrEqual(camp.cooldown_days);
        expect(h.n7 as number, `${m.audience} ${h.user_id}: fatigue`).toBeLessThan(DEFAULT_POLICY.max_offers_7d);
        if ((h.yesterday as number) > 0) seenYesterday++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
    // the checks above covered users the first night had sent an offer to
    expect(seenYesterday).toBeGreaterThan(50);
  });

  it('never spends over a budget, and small budgets and top-k bind', async () => {
    const spent = new Map<number, number>();
    let budgetHit = 0;
    let topKHit = 0;
    for (const date of [D1, D2]) {
      for (const m of await manifests(date)) {
        const spec = m.spec as { budget_usd: number; top_k?: number };
        expect(m.budget.spent_usd).toBeLessThanOrEqual(m.budget.available_usd + 1e-9);
        expect(m.budget.available_usd).toBeLessThanOrEqual(spec.budget_usd + 1e-9);
        const [s] = await rows(`SELECT coalesce(sum(expected_cost_usd) FILTER (WHERE NOT holdout), 0) AS sent, coalesce(sum(expected_cost_usd), 0) AS allocated, count(*)::INTEGER AS n FROM read_parquet(${partFiles(m)}, hive_partitioning = false)`);
        expect(Math.abs((s.sent as number) - m.budget.spent_usd)).toBeLessThan(1e-4);
        // held-out rows were allocated like the others: even counting them the budget holds
        expect(s.allocated as number).toBeLessThanOrEqual(m.budget.available_usd + 1e-9);
        if (spec.top_k !== undefined) expect(s.n as number).toBeLessThanOrEqual(spec.top_k);
        if (m.excluded.BUDGET_EXHAUSTED) budgetHit++;
        if (m.excluded.AUDIENCE_TOP_K) topKHit++;
        spent.set(m.campaign_id, (spent.get(m.campaign_id) ?? 0) + m.budget.spent_usd);
      }
    }
    for (const [cid, usd] of spent) expect(usd).toBeLessThanOrEqual(campaigns.get(cid)!.budget_usd);
    expect(budgetHit).toBeGreaterThan(0);
    expect(topKHit).toBeGreaterThan(0);
  });

  it('flags holdouts by the deterministic hashes, the same users on both nights', async () => {
    let held = 0;
    for (const date of [D1, D2]) {
      for (const m of await manifests(date)) {
        const rs = await rows(`SELECT user_id, holdout, holdout_kind FROM read_parquet(${partFiles(m)}, hive_partitioning = false)`);
        for (const r of rs) {
          const u = r.user_id as string;
          const kind = inGlobalHoldout(DEFAULT_POLICY, u) ? 'global' : inCampaignHoldout(DEFAULT_POLICY, u, m.campaign_id) ? 'campaign' : '';
          expect(r.holdout_kind).toBe(kind);
          expect(r.holdout).toBe(kind !== '');
          if (kind) held++;
        }
        expect(m.rows_holdout.global + m.rows_holdout.campaign + m.rows_sent).toBe(m.rows);
      }
    }
    expect(held).toBeGreaterThan(0);
  });

  it('counts exclusions per reason code and records the delta against the previous day', async () => {
    for (const m of await manifests(D2)) {
      expect(m.delta.previous_date).toBe(D1);
      const prev = await readAudienceManifest(new LocalObjectStore(audDir), m.audience, D1);
      const [d] = await rows(`SELECT
          (SELECT count(*) FROM (SELECT user_id FROM read_parquet(${partFiles(m)}, hive_partitioning = false) EXCEPT SELECT user_id FROM read_parquet(${partFiles(prev)}, hive_partitioning = false)))::INTEGER AS added,
          (SELECT count(*) FROM (SELECT user_id FROM read_parquet(${partFiles(prev)}, hive_partitioning = false) EXCEPT SELECT user_id FROM read_parquet(${partFiles(m)}, hive_partitioning = false)))::INTEGER AS removed`);
      expect(m.delta.added).toBe(d.added);
      expect(m.delta.removed).toBe(d.removed);
      expect(Object.keys(m.excluded).every((k) => /^[A-Z_]+$/.test(k))).toBe(true);
    }
    const all = (await manifests(D2)).flatMap((m) => Object.keys(m.excluded));
    for (const code of ['GATE_COUNTRY', 'OUTRANKED_BY_OTHER_OFFER', 'HOLDOUT_CAMPAIGN', 'CAP_PER_USER']) expect(all).toContain(code);
  });

  it('pull verifies every checksum, writes CSV on request, and refuses a corrupted part or a missing manifest', async () => {
    const store = new LocalObjectStore(audDir);
    const [m] = (await manifests(D2)).filter((x) => x.rows > 10);
    const to = path.join(tmp, 'pulled');
    const r = await pullAudience(store, m.audience, { to });
    expect(r.rows).toBe(m.rows);
    const [n] = await rows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${r.files[0]}')`);
    expect(n.n).toBe(m.parts[0].rows);
    const d = await pullAudience(store, m.audience, { to: path.join(tmp, 'delta'), delta: true });
    expect(d.files.map((f) => path.basename(f))).toEqual(['delta-added.parquet', 'delta-removed.parquet']);

    // corrupt one byte of the published part: pull refuses it and leaves the earlier pull alone
    const part = path.join(audDir, m.audience, `date=${D2}`, m.parts[0].file);
    const bytes = fs.readFileSync(part);
    const bad = Buffer.from(bytes);
    bad[Math.floor(bad.length / 2)] ^= 0xff;
    fs.writeFileSync(part, bad);
    try {
      await expect(pullAudience(store, m.audience, { to })).rejects.toMatchObject({ code: ErrorCodes.AUDIENCE_CORRUPT });
      expect(fs.readFileSync(r.files[0])).toEqual(bytes);
      expect(fs.readdirSync(path.join(to, m.audience)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      fs.writeFileSync(part, bytes);
    }
    await expect(pullAudience(store, m.audience, { to, date: '2026-01-01' })).rejects.toMatchObject({ code: ErrorCodes.AUDIENCE_NOT_FOUND });
    await expect(pullAudience(store, 'no-such-audience', { to })).rejects.toMatchObject({ code: ErrorCodes.AUDIENCE_NOT_FOUND });
  });

  it('a rebuild of the same night selects the same rows', async () => {
    const before = await manifests(D2);
    const live = JSON.parse((await redis.get(`${prefix}:lastrun`))!) as { version: string; modelVersion: string };
    await publishAudiences(cfg, { dataDir: world, asOf: D2, scoresVersion: live.version, modelVersion: live.modelVersion, logger: log });
    const after = await manifests(D2);
    expect(after.map((m) => m.audience)).toEqual(before.map((m) => m.audience));
    for (let i = 0; i < after.length; i++) {
      expect(after[i].run).not.toBe(before[i].run);
      expect(after[i].parts.map((p) => p.sha256)).toEqual(before[i].parts.map((p) => p.sha256));
      expect(after[i].excluded).toEqual(before[i].excluded);
    }
    // the replaced run's files are gone
    const runs = new Set((await new LocalObjectStore(audDir).list(`${after[0].audience}/date=${D2}/`)).map((o) => o.key.split('/')[2]));
    expect([...runs].sort()).toEqual(['manifest.json', `run=${after[0].run}`].sort());
  });

  describe('bad input leaves the previous audiences readable', () => {
    const publish = (extra: Record<string, string>) => {
      const c = loadConfig({ PAYDECIDE_REDIS_URL: REDIS_URL, PAYDECIDE_PREFIX: prefix, PAYDECIDE_HOME: tmp, PAYDECIDE_AUDIENCES: audDir, PAYDECIDE_AUDIENCE_SPECS: specsDir, ...extra });
      return publishAudiences(c, { dataDir: world, asOf: D2, scoresVersion: 'v-bad', modelVersion: 'm', logger: log });
    };
    const badSpecs = (name: string, patch: (s: Record<string, unknown>) => void): string => {
      const dir = path.join(tmp, `specs-${name}`);
      fs.cpSync(specsDir, dir, { recursive: true });
      const f = fs.readdirSync(dir).sort()[5];
      const s = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      patch(s);
      fs.writeFileSync(path.join(dir, f), JSON.stringify(s));
      return dir;
    };
    let snapshot: string;
    beforeAll(async () => {
      snapshot = JSON.stringify(await listAudiences(new LocalObjectStore(audDir), false));
    });

    it.each([
      ['an invalid field', (s: Record<string, unknown>) => (s.score_threshold = 'high'), /score_threshold/],
      ['an unknown campaign', (s: Record<string, unknown>) => (s.campaign_id = 200), /campaign_id: no campaign 200/],
      ['a negative budget', (s: Record<string, unknown>) => (s.budget_usd = -5), /budget_usd/],
      ['an unknown segment field', (s: Record<string, unknown>) => (s.segment = { planet: 'mars' }), /segment/],
    ])('%s → PD_ERR_AUDIENCE_SPEC naming the file and field', async (_name, patch, re) => {
      const dir = badSpecs(String(_name).replaceAll(' ', '-'), patch);
      const err = await publish({ PAYDECIDE_AUDIENCE_SPECS: dir }).catch((e) => e);
      expect(err).toMatchObject({ code: ErrorCodes.AUDIENCE_SPEC, exitCode: 2 });
      expect(err.message).toMatch(re);
      expect(err.message).toContain(dir);
      expect(JSON.stringify(await listAudiences(new LocalObjectStore(audDir), false))).toBe(snapshot);
    });

    it('a nightly whose audiences fail exits with the spec error, says the scores are live, and publishes nothing for the date', async () => {
      const dir = badSpecs('nightly', (x) => (x.budget_usd = -1));
      const c = loadConfig({ PAYDECIDE_REDIS_URL: REDIS_URL, PAYDECIDE_PREFIX: prefix, PAYDECIDE_HOME: tmp, PAYDECIDE_CHUNK_BUCKETS: '4', PAYDECIDE_DUCKDB_MEMORY: '2GB', PAYDECIDE_AUDIENCES: audDir, PAYDECIDE_AUDIENCE_SPECS: dir });
      const err = await runNightly(c, { dataDir: world, asOf: D2, logger: log }).catch((e) => e);
      expect(err).toMatchObject({ code: ErrorCodes.AUDIENCE_SPEC, exitCode: 2 });
      expect(err.message).toMatch(/scores \S+ are live, but the audiences of 2026-06-30 were not published/);
      expect(err.message).toMatch(/budget_usd/);
      expect(JSON.stringify(await listAudiences(new LocalObjectStore(audDir), false))).toBe(snapshot);
    });

    it('a policy file with a bad field → PD_ERR_POLICY_CONFIG', async () => {
      const f = path.join(tmp, 'policy.json');
      fs.writeFileSync(f, JSON.stringify({ epsilon: 2 }));
      await expect(publish({ PAYDECIDE_POLICY_FILE: f })).rejects.toMatchObject({ code: ErrorCodes.POLICY_CONFIG, message: expect.stringMatching(/epsilon/) });
      expect(JSON.stringify(await listAudiences(new LocalObjectStore(audDir), false))).toBe(snapshot);
    });
  });
});
