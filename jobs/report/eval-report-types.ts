/**
 * The evaluation report's data (what `report eval --json` prints; the text and HTML renderers
 * read only this). Figures are computed in eval-report.ts; renderers do no arithmetic of their own
 * beyond formatting. Bins, curve points and intervals are the models' own types.
 */
import type { ReliabilityBin } from '../../models/calibration';
import type { Interval } from '../../models/ope';
import type { QiniPoint } from '../../models/uplift-metrics';

export type { Interval, QiniPoint, ReliabilityBin };

export interface ActionEval {
  /** Uptake model P(goal | offered), calibrated, on the test split's treated rows. */
  auc: number | null;
  logloss: number;
  ece: number;
  /** Area under the uplift (Qini) curve, normalised; random targeting gives 0. */
  auuc: number;
  /** Qini coefficient: area between the model's Qini curve and random targeting. */
  qini: number;
  /** Observed uplift (treated rate − control rate, IPS-weighted) in the top k% by estimated uplift; null where an arm has no rows in the top k. */
  uplift_at_top_k: { k: number; uplift: number | null; treated: number | null; control: number | null }[];
  rows_treated: number;
  rows_control: number;
  reliability: ReliabilityBin[];
  qini_curve: QiniPoint[];
  /** Mean estimated uplift over test users, and (synthetic world only) the mean true one. */
  mean_est_uplift: number;
  mean_true_uplift: number | null;
  /** Pearson correlation of estimated and true uplift per user (synthetic world only). */
  true_uplift_corr: number | null;
}

/** True incremental value per decision (USD, over `none`) of policies on the synthetic world. */
export interface PolicyValue {
  learned: number;
  oracle: number;
  best_single: number;
  /** The action of `best_single`. */
  best_single_action: string;
  random: number;
  /** learned / oracle. */
  learned_share_of_oracle: number;
  /** learned / best_single − 1. */
  learned_gain_over_best_single: number;
  /** Share of decisions where the learned policy picks each action. */
  learned_mix: Record<string, number>;
  oracle_mix: Record<string, number>;
}

export interface OffPolicyEval {
  /** The evaluated policy (the learned one, restricted to the actions eligible at each decision). */
  policy: string;
  /** Mean reward per logged decision of the policy, from the synthetic world's truth; null elsewhere. */
  true_value: number | null;
  /** Mean reward per decision the logging policy actually earned (observed). */
  logged_value: number;
  ips: Interval;
  snips: Interval;
  dr: Interval;
  rows: number;
  bootstrap: number;
  /** Importance weights are clipped at this value. */
  clip: number;
  /** Whether each CI contains the true value (null without truth). */
  covers: { ips: boolean | null; snips: boolean | null; dr: boolean | null };
}

export interface EvalReport {
  generated_at: string;
  model_version: string;
  as_of: string;
  data: string;
  /** The evaluation (test) split: the latest matured decisions, never used to train or calibrate. */
  test_window: { start: string; end: string; rows: number };
  actions: Record<string, ActionEval>;
  /** null when the data has no truth (not a synthetic world). */
  policy_value: PolicyValue | null;
  ope: OffPolicyEval;
  /** Per-action value of the outcome and cost of the offer used in the economics (USD). */
  economics: Record<string, { value_usd: number; offer_cost_usd: number }>;
  /** Targets the report checks (from the issue): name → {target, actual, pass}. */
  checks: { name: string; target: string; actual: string; pass: boolean }[];
  notes: string[];
}
