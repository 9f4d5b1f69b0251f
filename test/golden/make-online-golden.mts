/** Writes test/golden/online-parity.v1.json: inputs below, expectations from the batch path. */
import fs from 'node:fs';
import { CAMPAIGNS } from '../helpers/online-fixture';
import { batchPath, GOLDEN_FILE, type GoldenCase, type GoldenFile, type GoldenUser } from '../helpers/golden-online';

let seed = 20261123;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const users: GoldenUser[] = Array.from({ length: 16 }, (_, k) => {
  const scores = [0, 1, 2, 3, 4].map(() => Math.round(rnd() * 0.4 * 1e4) / 1e4);
  const uplift = scores.map((s) => Math.round((rnd() * 0.6 - 0.15) * s * 1e4) / 1e4);
  return { id: `g${k}`, scores: [...scores, 0], uplift: [...uplift, 0], kyc_tier: k % 4, credit_eligible: k % 3 !== 0, optout_in_app: k % 7 === 6 };
});
// users with two strong offers in the US, so exploration among them shows up
for (let k = 0; k < 4; k++) users.push({ id: `gx${k}`, scores: [0.3, 0.05, 0.02, 0.1, 0.2, 0], uplift: [0.1, 0.01, 0, 0.02, 0.06, 0], kyc_tier: 2, credit_eligible: true, optout_in_app: false });
const contexts: Record<string, unknown>[] = [
  { event: 'payment_completed', amount: 42.5, currency: 'USD', mcc: '5411', merchant_id: 'm_77', channel: 'merchant_checkout', payment_method: 'card', country: 'US' },
  { event: 'payment_failed', amount: 250, currency: 'USD', mcc: '5732', channel: 'merchant_checkout', payment_method: 'card', country: 'US' },
  { event: 'payment_completed', amount: 900, currency: 'GBP', mcc: '4511', channel: 'merchant_checkout', payment_method: 'bnpl', country: 'GB' },
  { event: 'payment_completed', amount: 12, currency: 'EUR', mcc: '5814', channel: 'p2p', country: 'FR' },
  { event: 'payment_completed', amount: 3000, currency: 'MXN', mcc: '7995', channel: 'bill_pay', country: 'US' },
  { event: 'checkout_started', amount: 80, currency: 'CAD', mcc: '5411', channel: 'merchant_checkout', country: 'CA' },
  { event: 'app_open', country: 'US' },
];
const histories = [[], [], [{ days_ago: 0, campaign_id: 1 }], [{ days_ago: 2, campaign_id: 0 }, { days_ago: 9, campaign_id: 1 }], [{ days_ago: 1, campaign_id: 0 }, { days_ago: 3, campaign_id: 0 }, { days_ago: 5, campaign_id: 1 }]];
const mk = (): GoldenCase[] =>
  users.flatMap((u, k) => [0, 1, 2].map((j) => ({ name: `${u.id}/${j}`, request: { request_id: `golden-${u.id}-${j}`, user_id: u.id, ...contexts[(k + 3 * j) % contexts.length] }, history: histories[(k + j) % histories.length] })));
const g: GoldenFile = {
  format: 'paydecide-online-golden',
  version: 1,
  now: '2026-07-01T12:00:00.000Z',
  model_version: 'uplift-golden',
  policy: { version: 'policy-golden', epsilon: 0.5, global_holdout: 0.1, campaign_holdout: 0.1, holdout_salt: 'golden', exploration_salt: 'golden', max_offers_7d: 3, min_gap_days: 1 },
  campaigns: CAMPAIGNS,
  users,
  modes: ['precomputed', 'model'],
  cases: { precomputed: mk(), model: mk() },
};
for (const mode of g.modes) {
  const exp = await batchPath(g, mode);
  g.cases[mode].forEach((c, i) => (c.expected = exp[i]));
}
fs.writeFileSync(GOLDEN_FILE, `${JSON.stringify(g, null, 1)}\n`);
const all = g.modes.flatMap((m) => g.cases[m]);
console.log(`wrote ${GOLDEN_FILE}: ${all.length} cases; actions ${JSON.stringify(Object.fromEntries([...new Set(all.map((c) => c.expected!.action))].map((a) => [a, all.filter((c) => c.expected!.action === a).length])))}`);
