/**
 * One table per policy rule (policy/*.ts): caps and cooldowns, fatigue, holdouts, exploration,
 * action choice, budgets, the stable hash against MurmurHash3's published vectors, and the
 * policy config's validation.
 */
import { describe, expect, it } from 'vitest';
import { chooseAction, type Candidate } from '../../policy/action-choice';
import { allocateBudgets, allocateFlat, OUTCOME } from '../../policy/budget-allocator';
import { explore } from '../../policy/exploration';
import { fatigueReasons } from '../../policy/fatigue';
import { capReasons } from '../../policy/frequency-caps';
import { inCampaignHoldout, inGlobalHoldout } from '../../policy/holdout';
import { DEFAULT_POLICY, parsePolicyConfig } from '../../policy/policy-config';
import { REASONS } from '../../policy/reason-codes';
import { murmur3 } from '../../policy/stable-hash';

const DAY = 20_635; // an epoch day

describe('frequency caps and cooldowns', () => {
  const c = { per_user_cap: 2, cooldown_days: 3 };
  it.each([
    ['never offered', undefined, []],
    ['under the cap, cooled down', { offers30d: 1, lastOfferDay: DAY - 3 }, []],
    ['at the cap', { offers30d: 2, lastOfferDay: DAY - 10 }, [REASONS.CAP]],
    ['inside the cooldown', { offers30d: 1, lastOfferDay: DAY - 2 }, [REASONS.COOLDOWN]],
    ['offered today', { offers30d: 1, lastOfferDay: DAY }, [REASONS.COOLDOWN]],
    ['both', { offers30d: 5, lastOfferDay: DAY - 1 }, [REASONS.CAP, REASONS.COOLDOWN]],
  ] as const)('%s', (_n, h, want) => {
    expect(capReasons(c, h, DAY)).toEqual(want);
  });

  it('holds over consecutive days: a user offered whenever allowed never exceeds the cap in any 30 days', () => {
    const offers: number[] = [];
    for (let d = 0; d < 120; d++) {
      const recent = offers.filter((o) => d - o < 30);
      const h = { offers30d: recent.length, lastOfferDay: offers.length ? offers[offers.length - 1] : null };
      if (capReasons(c, h, d).length === 0) offers.push(d);
    }
    for (let d = 0; d < 120; d++) expect(offers.filter((o) => o <= d && d - o < 30).length).toBeLessThanOrEqual(2);
    for (let i = 1; i < offers.length; i++) expect(offers[i] - offers[i - 1]).toBeGreaterThanOrEqual(3);
    expect(offers.length).toBeGreaterThan(4); // it did offer: the rule is not "never"
  });
});

describe('fatigue', () => {
  const cfg = { max_offers_7d: 3, min_gap_days: 1 };
  it.each([
    ['fresh user', undefined, []],
    ['two offers this week, last yesterday', { offers7d: 2, lastOfferDay: DAY - 1 }, []],
    ['three offers this week', { offers7d: 3, lastOfferDay: DAY - 2 }, [REASONS.FATIGUE_WEEK]],
    ['offered today already', { offers7d: 1, lastOfferDay: DAY }, [REASONS.FATIGUE_GAP]],
  ] as const)('%s', (_n, e, want) => {
    expect(fatigueReasons(cfg, e, DAY)).toEqual(want);
  });
});

describe('stable hash', () => {
  // MurmurHash3_x86_32 reference vectors (Appleby's SMHasher, and the widely used test list)
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['aaa', 0x9747b28c, 0x283e0130],
    ['aa', 0x9747b28c, 0x5d211726],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ] as const)('murmur3(%j, %d)', (s, seed, want) => {
    expect(murmur3(s, seed)).toBe(want);
  });
});

describe('holdouts', () => {
  const users = Array.from({ length: 20_000 }, (_, i) => String(i));
  // |observed − expected| within 4.5 binomial standard deviations: fails with odds < 1e-5 by chance
  const within = (count: number, n: number, p: number) => Math.abs(count - n * p) <= 4.5 * Math.sqrt(n * p * (1 - p));

  it('hold out the configured share, globally and per campaign', () => {
    const cfg = { ...DEFAULT_POLICY, global_holdout: 0.05, campaign_holdout: 0.1 };
    expect(within(users.filter((u) => inGlobalHoldout(cfg, u)).length, users.length, 0.05)).toBe(true);
    expect(within(users.filter((u) => inCampaignHoldout(cfg, u, 7)).length, users.length, 0.1)).toBe(true);
  });

  it('are stable across calls (days, runs) and independent across campaigns and salts', () => {
    const cfg = { ...DEFAULT_POLICY, campaign_holdout: 0.5 };
    const a = users.map((u) => inCampaignHoldout(cfg, u, 1));
    expect(users.map((u) => inCampaignHoldout(cfg, u, 1))).toEqual(a);
    const b = users.map((u) => inCampaignHoldout(cfg, u, 2));
    const both = a.filter((x, i) => x && b[i]).length;
    expect(within(both, users.length, 0.25)).toBe(true);
    const c = users.map((u) => inCampaignHoldout({ ...cfg, holdout_salt: 'other' }, u, 1));
    expect(within(a.filter((x, i) => x && c[i]).length, users.length, 0.25)).toBe(true);
  });

  it('hold out nobody at 0 and everybody at 1', () => {
    expect(users.some((u) => inGlobalHoldout({ ...DEFAULT_POLICY, global_holdout: 0 }, u))).toBe(false);
    expect(users.every((u) => inGlobalHoldout({ ...DEFAULT_POLICY, global_holdout: 1 }, u))).toBe(true);
  });
});

describe('exploration', () => {
  it('chooses the greedy option with 1 − ε + ε/K and each other with ε/K, propensities matching', () => {
    const cfg = { epsilon: 0.2, exploration_salt: 's' };
    const k = 4;
    const counts = new Array(k).fill(0);
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const e = explore(cfg, String(i), DAY, k, 1);
      counts[e.index]++;
      expect(e.propensity).toBeCloseTo(e.index === 1 ? 1 - 0.2 + 0.05 : 0.05, 12);
    }
    const sd = (p: number) => 4.5 * Math.sqrt(n * p * (1 - p));
    expect(Math.abs(counts[1] - n * 0.85)).toBeLessThan(sd(0.85));
    for (const j of [0, 2, 3]) expect(Math.abs(counts[j] - n * 0.05)).toBeLessThan(sd(0.05));
  });

  it('is deterministic per user and day, and never explores at ε = 0 or with one option', () => {
    const cfg = { epsilon: 0.5, exploration_salt: 's' };
    expect(explore(cfg, 'u1', DAY, 3, 0)).toEqual(explore(cfg, 'u1', DAY, 3, 0));
    expect(explore({ ...cfg, epsilon: 0 }, 'u1', DAY, 3, 2)).toEqual({ index: 2, propensity: 1, explored: false });
    expect(explore(cfg, 'u1', DAY, 1, 0)).toEqual({ index: 0, propensity: 1, explored: false });
    expect(() => explore(cfg, 'u1', DAY, 3, 3)).toThrow(RangeError);
  });
});

describe('action choice', () => {
  const c = (campaignId: number, action: string, value: number): Candidate => ({ campaignId, action, value, cost: 1 });
  it.each([
    ['best value wins', [c(1, 'cashback', 2), c(2, 'referral_prompt', 5)], 2],
    ['nothing clears zero: none', [c(1, 'cashback', -1), c(2, 'referral_prompt', 0)], null],
    ['no candidates: none', [], null],
    ['a tie goes to the lower campaign id, whatever the order', [c(9, 'cashback', 3), c(4, 'autopay_setup', 3)], 4],
    ['per-action threshold', [c(1, 'cashback', 4), c(2, 'referral_prompt', 3)], 2],
  ] as const)('%s', (_n, cands, want) => {
    const r = chooseAction({ min_value_usd: { cashback: 5 } }, cands);
    expect(r.chosen?.campaignId ?? null).toBe(want);
    for (const x of r.rejected) expect(x.reason).toBe(REASONS.BELOW_THRESHOLD);
    expect(r.ranked.length + r.rejected.length).toBe(cands.length);
  });
});

describe('budget allocator', () => {
  it('grants by value across users, falls back to the next campaign, and reports the rest', () => {
    const cands = [
      [{ campaignId: 1, value: 10, cost: 6 }, { campaignId: 2, value: 4, cost: 1 }],
      [{ campaignId: 1, value: 8, cost: 6 }],
      [{ campaignId: 1, value: 9, cost: 3 }],
      [],
    ];
    const a = allocateBudgets(cands, new Map([[1, 10], [2, 5]]));
    expect([...a.granted]).toEqual([0, -1, 0, -1]); // user 0 gets campaign 1 (10), user 2 campaign 1 (9), user 1 does not fit
    expect(a.spent.get(1)).toBe(9);
    expect(a.reasons.get(1)).toBe(REASONS.BUDGET);
    expect(a.reasons.has(3)).toBe(false); // no candidates: not a budget exclusion
    const b = allocateBudgets(cands, new Map([[1, 6], [2, 5]]));
    expect([...b.granted]).toEqual([0, -1, -1, -1]);
    const c2 = allocateBudgets(cands, new Map([[1, 3], [2, 5]]));
    expect([...c2.granted]).toEqual([1, -1, 0, -1]); // user 0 falls back to campaign 2
  });

  it('caps the users granted per key (an audience\'s top-k) and says why each candidate lost', () => {
    // users 0..3 each with one candidate of key 1 (values 4, 3, 2, 1), user 1 also key 2
    const c = {
      offsets: Uint32Array.from([0, 1, 3, 4, 5]),
      key: Int32Array.from([1, 1, 2, 1, 1]),
      value: Float64Array.from([4, 3, 0.5, 2, 1]),
      cost: Float64Array.from([1, 1, 1, 1, 5]),
    };
    const a = allocateFlat(c, new Map([[1, 100], [2, 100]]), new Map([[1, 2]]));
    expect([...a.granted]).toEqual([0, 1, -1, -1]);
    expect([...a.outcome]).toEqual([OUTCOME.GRANTED, OUTCOME.GRANTED, OUTCOME.OUTRANKED, OUTCOME.CAPACITY, OUTCOME.CAPACITY]);
    expect(a.count.get(1)).toBe(2);
    const b = allocateFlat(c, new Map([[1, 3], [2, 0]]));
    expect([...b.outcome]).toEqual([OUTCOME.GRANTED, OUTCOME.GRANTED, OUTCOME.OUTRANKED, OUTCOME.GRANTED, OUTCOME.BUDGET]);
    expect(b.spent.get(1)).toBe(3);
  });

  it('equals the plain greedy over one global sort of every candidate (random instances with ties)', () => {
    // the reference: sort all candidates by value desc, then row; grant in that order
    const reference = (offsets: Uint32Array, key: Int32Array, value: Float64Array, cost: Float64Array, budgets: Map<number, number>, cap: Map<number, number>) => {
      const n = offsets.length - 1;
      const owner: number[] = [];
      for (let u = 0; u < n; u++) for (let i = offsets[u]; i < offsets[u + 1]; i++) owner[i] = u;
      const order = owner.map((_, i) => i).sort((a, b) => value[b] - value[a] || a - b);
      const left = new Map(budgets);
      const room = new Map(cap);
      const granted = new Array(n).fill(-1);
      for (const i of order) {
        const u = owner[i];
        if (granted[u] >= 0) continue;
        const r = room.get(key[i]);
        if (r !== undefined && r <= 0) continue;
        if (!(cost[i] <= (left.get(key[i]) ?? 0))) continue;
        left.set(key[i], left.get(key[i])! - cost[i]);
        if (r !== undefined) room.set(key[i], r - 1);
        granted[u] = i;
      }
      return granted;
    };
    let seed = 11;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    for (let t = 0; t < 40; t++) {
      const n = 200;
      const lens = Array.from({ length: n }, () => Math.floor(rnd() * 5));
      const offsets = new Uint32Array(n + 1);
      lens.forEach((l, u) => (offsets[u + 1] = offsets[u] + l));
      const total = offsets[n];
      const key = Int32Array.from({ length: total }, () => Math.floor(rnd() * 6));
      const value = Float64Array.from({ length: total }, () => Math.round(rnd() * 8) / 2); // many ties
      const cost = Float64Array.from({ length: total }, () => rnd() * 3);
      const budgets = new Map(Array.from({ length: 6 }, (_, k) => [k, rnd() * 60] as [number, number]));
      const cap = new Map([[0, 5], [3, 12]]);
      const a = allocateFlat({ offsets, key, value, cost }, budgets, cap);
      expect([...a.granted]).toEqual(reference(offsets, key, value, cost, budgets, cap));
    }
  });

  it('never exceeds any budget on random instances', () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    for (let t = 0; t < 50; t++) {
      const cands = Array.from({ length: 300 }, () => Array.from({ length: Math.floor(rnd() * 4) }, () => ({ campaignId: Math.floor(rnd() * 5), value: rnd() * 10 - 2, cost: rnd() * 3 })));
      const budgets = new Map(Array.from({ length: 5 }, (_, i) => [i, rnd() * 100] as [number, number]));
      const a = allocateBudgets(cands, budgets);
      const spent = new Map<number, number>();
      a.granted.forEach((k, u) => {
        if (k >= 0) spent.set(cands[u][k].campaignId, (spent.get(cands[u][k].campaignId) ?? 0) + cands[u][k].cost);
      });
      for (const [id, s] of spent) expect(s).toBeLessThanOrEqual(budgets.get(id)! + 1e-9);
      for (const [id, s] of a.spent) expect(s).toBeCloseTo(spent.get(id) ?? 0, 9);
    }
  });
});

describe('policy config', () => {
  it('fills defaults and names a bad field', () => {
    expect(parsePolicyConfig({}).epsilon).toBe(0.05);
    expect(() => parsePolicyConfig({ epsilon: 2 }, 'policy.json')).toThrow(/policy\.json: epsilon: /);
    expect(() => parsePolicyConfig({ min_value_usd: { teleport: 1 } })).toThrow(/min_value_usd/);
  });
});
