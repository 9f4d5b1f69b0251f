/**
 * Promotion guard (pure): may a candidate model replace the live one? A candidate must score the
 * same inputs (feature list and feature set), produce the same outputs (kind, output columns), and
 * not be worse than the live model beyond a tolerance on any action both evaluate: AUC, uplift
 * (AUUC, else Qini) and calibration (ECE). Registry I/O lives in promote.ts.
 */
import { outputColumns, type ModelManifest } from './registry';

/** How much worse than live a candidate may be, per metric (absolute). */
export interface PromotionTolerance {
  /** @defaultValue 0.005 */
  auc: number;
  /** Applies to AUUC, or Qini when either side has no AUUC. @defaultValue 0.002 */
  auuc: number;
  /** @defaultValue 0.005 */
  ece: number;
}

export const DEFAULT_PROMOTION_TOLERANCE: Readonly<PromotionTolerance> = Object.freeze({ auc: 0.005, auuc: 0.002, ece: 0.005 });

/** Candidate minus live, per action in both; null where either side lacks the figure. */
export interface PromotionDelta {
  action: string;
  auc_delta: number | null;
  /** Delta of AUUC when both have it, else of Qini when both have it, else null. */
  auuc_delta: number | null;
  /** Which uplift metric auuc_delta is about. */
  uplift_metric: 'auuc' | 'qini' | null;
  /** Positive = the candidate is worse calibrated. */
  ece_delta: number | null;
}

export interface PromotionVerdict {
  ok: boolean;
  /** Human sentences, one per failed check, naming the action and both figures. */
  reasons: string[];
  /**
   * The subset of `reasons` that --force cannot override: a different feature list or feature
   * set, which would feed the model the wrong columns.
   */
  blocking: string[];
  deltas: PromotionDelta[];
}

// Figures are stored rounded; without this a candidate exactly at the tolerance edge could fail
// on float noise (0.64 − 0.005 ≠ 0.635 in binary).
const EPS = 1e-9;

const f3 = (x: number) => x.toFixed(3);
const f4 = (x: number) => x.toFixed(4);

function firstDifference(a: readonly string[], b: readonly string[]): string {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `position ${i}: ${a[i] ?? '(none)'} vs live ${b[i] ?? '(none)'}`;
  }
  return 'none';
}

/** Compares a candidate with the live model (null: no live model, always ok). */
export function comparePromotion(candidate: ModelManifest, live: ModelManifest | null, tol: PromotionTolerance = DEFAULT_PROMOTION_TOLERANCE): PromotionVerdict {
  if (live === null) return { ok: true, reasons: [], blocking: [], deltas: [] };
  const blocking: string[] = [];
  const reasons: string[] = [];

  if (candidate.features.join('\n') !== live.features.join('\n')) {
    blocking.push(`feature list differs from live ${live.version}: ${candidate.features.length} vs ${live.features.length} features, first difference at ${firstDifference(candidate.features, live.features)}`);
  }
  if (candidate.feature_set_hash !== live.feature_set_hash) {
    blocking.push(`feature set ${candidate.feature_set_hash} differs from live ${live.version}'s ${live.feature_set_hash}`);
  }
  if (candidate.kind !== live.kind) reasons.push(`kind ${candidate.kind} differs from live ${live.version}'s ${live.kind}`);
  const co = outputColumns(candidate);
  const lo = outputColumns(live);
  if (co.join('\n') !== lo.join('\n')) {
    reasons.push(`output columns differ from live ${live.version}: ${co.length} vs ${lo.length} columns, first difference at ${firstDifference(co, lo)}`);
  }

  const deltas: PromotionDelta[] = [];
  for (const action of candidate.actions) {
    const c = candidate.metrics[action];
    const l = live.metrics[action];
    if (!c || !l || !live.actions.includes(action)) continue;

    let auc_delta: number | null = null;
    if (c.auc !== null && l.auc !== null) {
      auc_delta = c.auc - l.auc;
      if (c.auc < l.auc - tol.auc - EPS) reasons.push(`${action}: AUC ${f3(c.auc)} < live ${f3(l.auc)} − ${tol.auc}`);
    } else if (c.auc === null && l.auc !== null) {
      reasons.push(`${action}: AUC not measurable on the candidate's evaluation rows (one class missing), live ${f3(l.auc)}`);
    }

    let auuc_delta: number | null = null;
    let uplift_metric: PromotionDelta['uplift_metric'] = null;
    const pair = c.auuc !== undefined && l.auuc !== undefined ? (['auuc', c.auuc, l.auuc] as const) : c.qini !== undefined && l.qini !== undefined ? (['qini', c.qini, l.qini] as const) : null;
    if (pair) {
      const [metric, cv, lv] = pair;
      uplift_metric = metric;
      auuc_delta = cv - lv;
      if (cv < lv - tol.auuc - EPS) reasons.push(`${action}: ${metric === 'auuc' ? 'AUUC' : 'Qini'} ${f4(cv)} < live ${f4(lv)} − ${tol.auuc}`);
    } else if (l.auuc !== undefined || l.qini !== undefined) {
      reasons.push(`${action}: the candidate has no ${l.auuc !== undefined ? 'AUUC' : 'Qini'} to compare with live ${f4((l.auuc ?? l.qini)!)}`);
    }

    const ece_delta = c.ece - l.ece;
    if (c.ece > l.ece + tol.ece + EPS) reasons.push(`${action}: ECE ${f4(c.ece)} > live ${f4(l.ece)} + ${tol.ece}`);

    deltas.push({ action, auc_delta, auuc_delta, uplift_metric, ece_delta });
  }

  const all = [...blocking, ...reasons];
  return { ok: all.length === 0, reasons: all, blocking, deltas };
}
