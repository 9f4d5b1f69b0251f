/**
 * The per-action figures of an uplift model on held-out rows, shared by training (the manifest's
 * metrics, which promotion compares) and the evaluation report: quality of the calibrated uptake
 * model on rows that were offered the action (AUC, log loss, ECE, reliability diagram), and how
 * well the estimated uplift ranks users on offered + not-offered rows (Qini curve, Qini
 * coefficient, AUUC, observed uplift in the top k%), with offered rows weighted by their clipped
 * inverse logged propensity. Pure.
 */
import { reliabilityBins, type ReliabilityBin } from './calibration';
import { evaluateBinary } from './metrics';
import { auuc, qiniCoefficient, qiniCurve, upliftAtTopK, type QiniPoint } from './uplift-metrics';

export interface UpliftEvalInput {
  /** Calibrated P(goal | offered) per row. */
  uptake: Float64Array;
  /** Calibrated P(goal | not offered) per row. */
  base: Float64Array;
  /** 1 = the row was offered the action. */
  treated: Uint8Array;
  /** Matured goal label per row. */
  y: Uint8Array;
  /** Logged propensity of the logged action per row. */
  propensity: Float64Array;
  /** Largest inverse-propensity weight. */
  clip: number;
}

export interface UpliftEval {
  auc: number | null;
  logloss: number;
  ece: number;
  auuc: number;
  qini: number;
  uplift_at_top_k: { k: number; uplift: number; treated: number; control: number }[];
  rows_treated: number;
  rows_control: number;
  positives_treated: number;
  reliability: ReliabilityBin[];
  qini_curve: QiniPoint[];
  mean_est_uplift: number;
}

export function evaluateUplift(e: UpliftEvalInput): UpliftEval {
  const n = e.y.length;
  const ti: number[] = [];
  for (let i = 0; i < n; i++) if (e.treated[i] === 1) ti.push(i);
  const p1 = Float64Array.from(ti, (i) => e.uptake[i]);
  const y1 = Uint8Array.from(ti, (i) => e.y[i]);
  const ev = ti.length > 0 ? evaluateBinary(p1, y1) : { auc: Number.NaN, logloss: 0, ece: 0 };
  const s = new Float64Array(n);
  const w = new Float64Array(n);
  const t = new Float64Array(n);
  const yv = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    s[i] = e.uptake[i] - e.base[i];
    t[i] = e.treated[i];
    yv[i] = e.y[i];
    w[i] = e.treated[i] === 1 ? Math.min(e.clip, 1 / e.propensity[i]) : 1;
    sum += s[i];
  }
  const both = ti.length > 0 && ti.length < n;
  return {
    auc: Number.isFinite(ev.auc) ? ev.auc : null,
    logloss: ev.logloss,
    ece: ev.ece,
    auuc: both ? auuc(s, t, yv, w) : 0,
    qini: both ? qiniCoefficient(s, t, yv, w) : 0,
    uplift_at_top_k: both ? upliftAtTopK(s, t, yv, w) : [],
    rows_treated: ti.length,
    rows_control: n - ti.length,
    positives_treated: y1.reduce((a, v) => a + v, 0),
    reliability: ti.length > 0 ? reliabilityBins(p1, y1, 10) : [],
    qini_curve: both ? qiniCurve(s, t, yv, w, 50) : [],
    mean_est_uplift: n > 0 ? sum / n : 0,
  };
}
