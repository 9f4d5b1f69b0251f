import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { CampaignPlanner, campaignsByAction, chooseCampaigns, NO_CAMPAIGN } from '../../policy/best-campaign';
import type { Campaign, GateSubject } from '../../policy/campaign';
import { failedGates, GATE_REASONS } from '../../policy/compliance-gates';

const base: Campaign = {
  campaign_id: 3, name: 'c', action: 'installment_offer', channel: 'push', countries: ['US', 'GB'], min_kyc_tier: 2, requires_credit: true,
  excluded_mccs: ['7995'], budget_usd: 1000, offer_cost_usd: 1, value_usd: 20, per_user_cap: 2, cooldown_days: 3, start_date: '2026-06-01', end_date: '2026-07-31',
};
const ok: GateSubject = { country: 'US', kycTier: 2, creditEligible: true, optouts: { email: false, push: false, sms: false, in_app: false } };

describe('compliance gates', () => {
  it('in-app messages need no marketing consent; e-mail, push and SMS do', () => {
    const s = { ...ok, marketingConsent: false };
    expect(failedGates({ ...base, channel: 'in_app' }, s, '2026-06-30')).toEqual([]);
    for (const channel of ['email', 'push', 'sms'] as const) expect(failedGates({ ...base, channel }, s, '2026-06-30')).toEqual([GATE_REASONS.CONSENT]);
    // unknown consent (the online path) is not a gate
    expect(failedGates(base, ok, '2026-06-30')).toEqual([]);
  });

  it.each([
    ['eligible', ok, '2026-06-30', undefined, []],
    ['before start', ok, '2026-05-31', undefined, [GATE_REASONS.INACTIVE]],
    ['after end', ok, '2026-08-01', undefined, [GATE_REASONS.INACTIVE]],
    ['country not allowed', { ...ok, country: 'DE' }, '2026-06-30', undefined, [GATE_REASONS.COUNTRY]],
    ['KYC too low', { ...ok, kycTier: 1 }, '2026-06-30', undefined, [GATE_REASONS.KYC]],
    ['no credit', { ...ok, creditEligible: false }, '2026-06-30', undefined, [GATE_REASONS.CREDIT]],
    ['opted out of channel', { ...ok, optouts: { ...ok.optouts, push: true } }, '2026-06-30', undefined, [GATE_REASONS.OPTOUT]],
    ['opted out of another channel only', { ...ok, optouts: { ...ok.optouts, email: true } }, '2026-06-30', undefined, []],
    ['excluded MCC', ok, '2026-06-30', '7995', [GATE_REASONS.MCC]],
    ['no marketing consent, push campaign', { ...ok, marketingConsent: false }, '2026-06-30', undefined, [GATE_REASONS.CONSENT]],
    ['marketing consent given', { ...ok, marketingConsent: true }, '2026-06-30', undefined, []],
    ['every gate at once', { country: 'FR', kycTier: 0, creditEligible: false, optouts: { email: false, push: true, sms: false, in_app: false } }, '2027-01-01', '7995',
      [GATE_REASONS.INACTIVE, GATE_REASONS.COUNTRY, GATE_REASONS.KYC, GATE_REASONS.CREDIT, GATE_REASONS.OPTOUT, GATE_REASONS.MCC]],
  ] as const)('%s', (_n, subject, date, mcc, want) => {
    expect(failedGates(base, subject as GateSubject, date, mcc)).toEqual(want);
  });
});

describe('best campaign per action', () => {
  const cashA: Campaign = { ...base, campaign_id: 10, action: 'cashback', requires_credit: false, min_kyc_tier: 0, value_usd: 10, offer_cost_usd: 1 };
  const cashB: Campaign = { ...cashA, campaign_id: 11, value_usd: 30, offer_cost_usd: 2 };
  const cashGB: Campaign = { ...cashA, campaign_id: 12, countries: ['GB'], value_usd: 1000 };
  const by = campaignsByAction([base, cashA, cashB, cashGB]);
  const scores = [0.5, 0.1, 0.1, 0.1, 0.2, 0.9];

  it('picks the open campaign with the highest expected value and sets gate bits', () => {
    const c = chooseCampaigns(by, ok, '2026-06-30', scores);
    expect(c.campaigns[ACTIONS.indexOf('cashback')]).toBe(11);
    expect(c.campaigns[ACTIONS.indexOf('installment_offer')]).toBe(3);
    expect(c.campaigns[ACTIONS.indexOf('referral_prompt')]).toBe(NO_CAMPAIGN);
    expect(c.gateBits).toBe((1 << ACTIONS.indexOf('cashback')) | (1 << ACTIONS.indexOf('installment_offer')) | (1 << ACTIONS.indexOf('none')));
  });
  it('never picks a gated campaign, however valuable', () => {
    const c = chooseCampaigns(by, { ...ok, creditEligible: false }, '2026-06-30', scores);
    expect(c.campaigns[ACTIONS.indexOf('cashback')]).not.toBe(12);
    expect(c.campaigns[ACTIONS.indexOf('installment_offer')]).toBe(NO_CAMPAIGN);
    expect(c.gateBits & (1 << ACTIONS.indexOf('installment_offer'))).toBe(0);
  });
  it('the batch planner chooses exactly what the per-user reference chooses', () => {
    const more: Campaign[] = [base, cashA, cashB, cashGB];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const countries = ['US', 'GB', 'DE', 'BR'];
    const channels = ['email', 'push', 'sms', 'in_app'] as const;
    for (let i = 0; i < 30; i++) {
      more.push({
        ...base,
        campaign_id: 20 + i,
        action: ACTIONS[Math.floor(rnd() * 5)],
        channel: channels[Math.floor(rnd() * 4)],
        countries: countries.filter(() => rnd() < 0.6).concat('US'),
        min_kyc_tier: Math.floor(rnd() * 4),
        requires_credit: rnd() < 0.3,
        value_usd: Math.round(rnd() * 100),
        offer_cost_usd: Math.round(rnd() * 10),
        start_date: rnd() < 0.2 ? '2026-07-15' : '2026-01-01',
      });
    }
    const byAll = campaignsByAction(more);
    const planner = new CampaignPlanner(byAll, '2026-06-30');
    const H = ACTIONS.length;
    const n = 2000;
    const sc = Float32Array.from({ length: n * H }, () => rnd());
    const out = new Uint8Array(n * H);
    for (let u = 0; u < n; u++) {
      const country = countries[Math.floor(rnd() * 4)];
      const kycTier = Math.floor(rnd() * 4);
      const creditEligible = rnd() < 0.5;
      const bits = Math.floor(rnd() * 16);
      const optouts = { email: (bits & 1) !== 0, push: (bits & 2) !== 0, sms: (bits & 4) !== 0, in_app: (bits & 8) !== 0 };
      const want = chooseCampaigns(byAll, { country, kycTier, creditEligible, optouts }, '2026-06-30', sc, u * H);
      const gateBits = planner.choose(country, kycTier, creditEligible, bits, sc, u * H, out);
      expect(gateBits).toBe(want.gateBits);
      expect(Array.from(out.subarray(u * H, u * H + H))).toEqual(want.campaigns);
    }
    expect(planner.combinations).toBeLessThanOrEqual(4 * 4 * 2 * 16);
  });
});
