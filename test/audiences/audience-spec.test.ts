/** Audience specs: valid ones parse; each kind of mistake is refused with the field named. */
import { describe, expect, it } from 'vitest';
import { parseAudienceSpec, parseAudienceSpecs } from '../../audiences/audience-spec';
import type { Campaign } from '../../policy/campaign';

const campaign: Campaign = {
  campaign_id: 4, name: 'cashback-us', action: 'cashback', channel: 'push', countries: ['US'], min_kyc_tier: 1, requires_credit: false,
  excluded_mccs: [], budget_usd: 5000, offer_cost_usd: 2, value_usd: 20, per_user_cap: 2, cooldown_days: 3, start_date: '2026-06-01', end_date: '2026-07-31',
};
const good = { audience: 'cashback-us-push', campaign_id: 4, channel: 'push', top_k: 1000, budget_usd: 1000 };

describe('audience spec', () => {
  it('parses a valid spec and fills the segment default', () => {
    expect(parseAudienceSpec(good, 'a.json', [campaign])).toEqual({ ...good, segment: {} });
    expect(parseAudienceSpec({ ...good, top_k: undefined, score_threshold: 0.2, segment: { countries: ['US'], active_30d: true } }, 'a.json', [campaign]).score_threshold).toBe(0.2);
  });

  it.each([
    ['negative budget', { ...good, budget_usd: -1 }, /a\.json: budget_usd: /],
    ['both cuts', { ...good, score_threshold: 0.5 }, /score_threshold: give exactly one/],
    ['no cut', { ...good, top_k: undefined }, /score_threshold: give exactly one/],
    ['bad name', { ...good, audience: 'Bad Name!' }, /audience: lower-case/],
    ['unknown field', { ...good, colour: 'red' }, /colour|Unrecognized/],
    ['unknown channel', { ...good, channel: 'fax' }, /channel: /],
    ['bad date', { ...good, send_from: '2026-13-01x' }, /send_from: a date/],
    ['dates reversed', { ...good, send_from: '2026-07-02', send_to: '2026-07-01' }, /send_from: send_from is after send_to/],
    ['unknown campaign', { ...good, campaign_id: 9 }, /campaign_id: no campaign 9/],
    ['another channel than the campaign', { ...good, channel: 'email' }, /channel: campaign 4 \(cashback-us\) sends by push/],
    ['over the campaign budget', { ...good, budget_usd: 6000 }, /budget_usd: 6000 exceeds campaign 4's budget 5000/],
  ] as const)('refuses %s', (_n, raw, want) => {
    expect(() => parseAudienceSpec(raw, 'a.json', [campaign])).toThrow(want);
    expect(() => parseAudienceSpec(raw, 'a.json', [campaign])).toThrow(expect.objectContaining({ code: 'PD_ERR_AUDIENCE_SPEC', exitCode: 2 }));
  });

  it('refuses two specs with one name, naming both files', () => {
    expect(() => parseAudienceSpecs([{ source: 'a.json', raw: good }, { source: 'b.json', raw: good }], [campaign])).toThrow(/b\.json: audience: cashback-us-push is also defined in a\.json/);
  });
});
