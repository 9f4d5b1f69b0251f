/**
 * Golden parity cases of the online path (CONVENTIONS 11): users with their nightly scores and
 * profile, payment contexts and prior offers, and the expected adjuster features, scores and
 * decision of each case. The BATCH path computes them the way the nightly and training do:
 * records through the nightly's bulk encoder (encodeRecords), context from decision-log columns
 * (contextFromLog, what training reads; amounts in USD as the world's log holds them), the
 * adjuster run over all cases in one ONNX batch, the pure policy. The ONLINE path is the real
 * service over HTTP with the records in Redis. test/online/golden-parity.test.ts checks both
 * against test/golden/online-parity.v1.json; `npx tsx test/golden/make-online-golden.ts`
 * rewrites the file (bump the version when the contract changes on purpose).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ACTIONS, OFFER_ACTIONS } from '../../core/actions';
import { ADJUSTER_FEATURES, ADJUSTER_WIDTH, adjusterInputInto, contextFromLog } from '../../core/context-features';
import { toUsd } from '../../core/currency';
import { decodeRecord, encodeRecords, profileFlags, profileOf } from '../../core/score-record-codec';
import { ADJUSTER_FEATURE_SET_HASH, adjusterRegistryDir } from '../../models/adjuster-registry';
import type { GbdtModel, GbdtTree } from '../../models/gbdt';
import { splitModelOutputs } from '../../models/model-outputs';
import { OnnxScorer } from '../../models/onnx-scorer';
import { exportTreeEnsembleOnnx } from '../../models/onnx-tree-export';
import { saveModel, setCurrent, sha256Hex, upliftOutputs, type ModelManifest } from '../../models/registry';
import type { Campaign } from '../../policy/campaign';
import { decideOnlineOffer } from '../../policy/online-offer';
import { parsePolicyConfig, type PolicyConfig } from '../../policy/policy-config';

export const GOLDEN_FILE = fileURLToPath(new URL('../golden/online-parity.v1.json', import.meta.url));

export interface GoldenUser {
  id: string;
  scores: number[];
  uplift: number[];
  kyc_tier: number;
  credit_eligible: boolean;
  optout_in_app: boolean;
}
export interface GoldenCase {
  name: string;
  request: Record<string, unknown>;
  /** Prior offers: days before the decision day and campaign id. */
  history: { days_ago: number; campaign_id: number }[];
  expected?: { features: number[]; uptake: number[]; uplift: number[]; action: string; campaign_id: number | null; expected_value: number; propensity: number; reasons: string[] };
}
export interface GoldenFile {
  format: 'paydecide-online-golden';
  version: number;
  now: string;
  model_version: string;
  policy: Record<string, unknown>;
  campaigns: Campaign[];
  users: GoldenUser[];
  /** Run with the test adjuster (`model`) or without (`precomputed`). */
  modes: ('model' | 'precomputed')[];
  cases: Record<'model' | 'precomputed', GoldenCase[]>;
}

export function readGolden(): GoldenFile {
  return JSON.parse(fs.readFileSync(GOLDEN_FILE, 'utf8')) as GoldenFile;
}

const leaf = (v: number): GbdtTree => ({ feature: Int32Array.of(-1), threshold: Float32Array.of(0), left: Int32Array.of(-1), right: Int32Array.of(-1), value: Float64Array.of(v) });
function split(feature: number, threshold: number, lo: number, hi: number): GbdtTree {
  return { feature: Int32Array.of(feature, -1, -1), threshold: Float32Array.of(threshold, 0, 0), left: Int32Array.of(1, -1, -1), right: Int32Array.of(2, -1, -1), value: Float64Array.of(0, lo, hi) };
}

/**
 * A hand-made adjuster that uses the context: uptake falls after a declined payment and rises
 * with the amount; the base rate follows the precomputed base. Deterministic, no training.
 */
export function goldenAdjusterOnnx(): Uint8Array {
  const fi = (n: string) => ADJUSTER_FEATURES.indexOf(n);
  const G = OFFER_ACTIONS.length;
  const targets = [
    ...OFFER_ACTIONS.map((a, g) => ({ model: model([split(fi(`pre_uptake_${a}`), 0.1, -2.5, -1.0), split(fi('ctx_declined'), 0.5, 0.2, -1.5), split(fi('ctx_amount_log_usd'), 4.0, 0, 0.4 + 0.1 * g)]) })),
    ...OFFER_ACTIONS.map((a) => ({ model: model([split(fi(`pre_base_${a}`), 0.05, -3.5, -2.0), leaf(0)]) })),
  ];
  void G;
  return exportTreeEnsembleOnnx(targets, { modelVersion: 'adjuster-golden', featureSetHash: ADJUSTER_FEATURE_SET_HASH, outputNames: upliftOutputs(ACTIONS) });
  function model(trees: GbdtTree[]): GbdtModel {
    return { featureCount: ADJUSTER_WIDTH, baseScore: 0, trees, bestIteration: trees.length - 1, validLoss: [], trainSeconds: 0 };
  }
}

/** Registers the golden adjuster as current in `<modelsDir>/adjuster`. */
export async function installGoldenAdjuster(modelsDir: string, baseModelVersion: string): Promise<void> {
  const bytes = goldenAdjusterOnnx();
  const m: ModelManifest = {
    version: 'adjuster-golden',
    kind: 'gbdt-adjuster',
    created_at: '2026-07-01T00:00:00Z',
    actions: [...OFFER_ACTIONS],
    outputs: upliftOutputs(ACTIONS),
    features: [...ADJUSTER_FEATURES],
    feature_set_hash: ADJUSTER_FEATURE_SET_HASH,
    training: { as_of: '2026-06-30', window_start: '2026-06-01', window_end: '2026-06-29', rows: 1, positives_per_action: Object.fromEntries(OFFER_ACTIONS.map((a) => [a, 0])), data_hash: 'golden' },
    metrics: Object.fromEntries(OFFER_ACTIONS.map((a) => [a, { auc: 0.5, logloss: 0.5, ece: 0, rows: 1, positives: 0 }])),
    base_model_version: baseModelVersion,
    onnx_sha256: sha256Hex(bytes),
  };
  await saveModel(adjusterRegistryDir(modelsDir), m, bytes);
  await setCurrent(adjusterRegistryDir(modelsDir), m.version);
}

/** The batch path over every case of one mode: expected features, scores and decisions. */
export async function batchPath(g: GoldenFile, mode: 'model' | 'precomputed'): Promise<NonNullable<GoldenCase['expected']>[]> {
  const cases = g.cases[mode];
  const H = ACTIONS.length;
  const nowMs = Date.parse(g.now);
  const day = Math.floor(nowMs / 86_400_000);
  const policy: PolicyConfig = parsePolicyConfig(g.policy);
  const users = new Map(g.users.map((u) => [u.id, u]));
  const n = cases.length;
  // records, as the nightly encodes them
  const scores = new Float32Array(n * H);
  const uplift = new Float32Array(n * H);
  const flags = new Uint8Array(n);
  cases.forEach((c, i) => {
    const u = users.get(String(c.request.user_id))!;
    scores.set(u.scores, i * H);
    uplift.set(u.uplift, i * H);
    flags[i] = profileFlags(u.kyc_tier, u.credit_eligible, u.optout_in_app);
  });
  const recs = encodeRecords(n, scores, uplift, new Uint8Array(n * H).fill(0xff), new Uint8Array(n).fill(0x3f), flags, 1);
  // context, as training reads it from the decision log
  const x = new Float32Array(n * ADJUSTER_WIDTH);
  const decoded = cases.map((c, i) => {
    const d = decodeRecord(recs, i * 36);
    const r = c.request as Record<string, any>;
    const amountUsd = r.amount !== undefined ? toUsd(r.amount, r.currency)! : null;
    const ctx = contextFromLog({
      ctx_amount_usd: amountUsd,
      ctx_mcc: r.mcc ?? null,
      ctx_channel: r.channel ?? null,
      ctx_auth_outcome: r.auth_outcome ?? (r.event === 'payment_failed' ? 'declined' : r.event === 'payment_completed' ? 'approved' : null),
      decision_ms: nowMs,
    });
    adjusterInputInto(d.scores, d.uplift, ctx, x, i * ADJUSTER_WIDTH);
    return d;
  });
  let upt = decoded.map((d) => d.scores);
  let upl = decoded.map((d) => d.uplift);
  if (mode === 'model') {
    const scorer = await OnnxScorer.load(goldenAdjusterOnnx(), { threads: 1 });
    const out = await scorer.score(x, n);
    const s = new Float32Array(n * H);
    const u = new Float32Array(n * H);
    splitModelOutputs(out, n, scorer.outputWidth, s, u);
    upt = cases.map((_, i) => Array.from(s.subarray(i * H, (i + 1) * H)));
    upl = cases.map((_, i) => Array.from(u.subarray(i * H, (i + 1) * H)));
  }
  return cases.map((c, i) => {
    const r = c.request as Record<string, any>;
    const p = profileOf(decoded[i].flags)!;
    const o = decideOnlineOffer({
      userId: r.user_id,
      date: g.now.slice(0, 10),
      day,
      country: r.country,
      mcc: r.mcc ?? null,
      kycTier: p.kycTier,
      creditEligible: p.creditEligible,
      optoutInApp: p.optoutInApp,
      uptake: upt[i],
      uplift: upl[i],
      campaigns: g.campaigns,
      history: c.history.map((h) => ({ day: day - h.days_ago, campaignId: h.campaign_id })),
      spentUsd: new Map(),
      budgetShare: 0.5,
      policy,
    });
    return {
      features: Array.from(x.subarray(i * ADJUSTER_WIDTH, (i + 1) * ADJUSTER_WIDTH)),
      uptake: Array.from(upt[i], Number),
      uplift: Array.from(upl[i], Number),
      action: o.action,
      campaign_id: o.campaignId,
      expected_value: Math.round(o.value * 1e6) / 1e6,
      propensity: o.propensity,
      reasons: o.reasons,
    };
  });
}
