/**
 * A real-data check of our uplift learner on the Hillstrom e-mail experiment (MineThatData 2008;
 * data/hillstrom/README.md): 64,000 customers randomised in thirds to a men's e-mail, a women's
 * e-mail or no e-mail, so each arm's difference in means is its true average effect (ATE) up to
 * sampling noise — the yardstick the T-learner's recovered ATE is held against.
 *
 * Recipe, per the production uplift models (jobs/train/train-uplift.ts): one seeded 50/50
 * train/test split of customers; a validation slice of the train half for early stopping and
 * Platt calibration; one gradient-boosted tree model per arm (mens, womens, control) on the
 * arm's train rows; uplift = p_arm − p_control on every test customer. Targeting quality (Qini,
 * AUUC, uplift in the top k) is measured on the test half without weights: the trial's
 * propensities are a constant 1/3, so inverse-propensity weights would be one constant that
 * cancels in every metric here.
 *
 * `spend` is not 0/1, and the trees fit a logistic loss: it is scaled to [0, 1] by the largest
 * training spend and fitted as a fractional outcome (each spending row enters twice, as label 1
 * with weight s and label 0 with weight 1 − s — exactly the fractional-logit loss), whose
 * prediction times the scale estimates E[spend | x].
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { applyPlatt, fitPlatt, type PlattModel } from '../../models/calibration';
import { predictMargin, trainGbdt, type GbdtData, type GbdtParams } from '../../models/gbdt';
import type { Interval } from '../../models/ope';
import { auuc, qiniCoefficient, qiniCurve, upliftAtTopK, type QiniPoint, type UpliftAtK } from '../../models/uplift-metrics';
import { mulberry32 } from '../../core/seeded-random';
import { UPLIFT_GBDT_PARAMS } from '../../models/uplift-params';

// ---------------------------------------------------------------------------------------------
// The CSV: header by name, every row validated, categoricals one-hot encoded.

/** Columns the file must have (any order; other columns are ignored and reported). */
export const HILLSTROM_COLUMNS = ['recency', 'history_segment', 'history', 'mens', 'womens', 'zip_code', 'newbie', 'channel', 'segment', 'visit', 'conversion', 'spend'] as const;
type Column = (typeof HILLSTROM_COLUMNS)[number];

const HISTORY_SEGMENTS = ['1) $0 - $100', '2) $100 - $200', '3) $200 - $350', '4) $350 - $500', '5) $500 - $750', '6) $750 - $1,000', '7) $1,000 +'];
/** "Surburban" is the data set's spelling. */
const ZIP_CODES = ['Urban', 'Surburban', 'Rural'];
const CHANNELS = ['Phone', 'Web', 'Multichannel'];
/** Index = segment code: 0 control, 1 mens, 2 womens. */
const SEGMENT_NAMES = ['No E-Mail', 'Mens E-Mail', 'Womens E-Mail'];

/** Model features in column order of `HillstromData.x`. */
export const FEATURE_NAMES: readonly string[] = [
  'recency',
  'history',
  'mens',
  'womens',
  'newbie',
  ...HISTORY_SEGMENTS.map((s) => `history_segment=${s}`),
  ...ZIP_CODES.map((s) => `zip_code=${s}`),
  ...CHANNELS.map((s) => `channel=${s}`),
];

export interface HillstromData {
  n: number;
  /** Features per row (FEATURE_NAMES.length). */
  f: number;
  /** Row-major n × f. */
  x: Float32Array;
  /** 0 No E-Mail, 1 Mens E-Mail, 2 Womens E-Mail. */
  segment: Uint8Array;
  visit: Uint8Array;
  conversion: Uint8Array;
  spend: Float64Array;
  ignoredColumns: string[];
}

function schemaError(source: string, line: number, message: string): PaydecideError {
  return new PaydecideError(ErrorCodes.INPUT_SCHEMA, `${source} line ${line}: ${message}`, { details: { source, line } });
}

/** Fields of one CSV line (RFC 4180 quoting; a quoted field may not span lines). */
function splitCsvLine(line: string, lineNo: number, source: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw schemaError(source, lineNo, `field ${out.length + 1} opens a quote that is not closed on this line`);
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(v);
      if (i === line.length) return out;
      if (line[i] !== ',') throw schemaError(source, lineNo, `field ${out.length} has text after its closing quote`);
      i++;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, c));
      i = c + 1;
    }
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses and validates the Hillstrom CSV. Every problem is a PD_ERR_INPUT_SCHEMA error naming
 * the source, the 1-based line and the column: missing or repeated columns, a row with the wrong
 * number of fields, a non-numeric or negative number, a flag other than 0/1, an unknown category.
 */
export function parseHillstromCsv(text: string, source = 'hillstrom.csv'): HillstromData {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop(); // a final newline
  const header = splitCsvLine(lines[0] ?? '', 1, source).map((h) => h.trim());
  if (header.length === 1 && header[0] === '') throw schemaError(source, 1, 'the file is empty; expected a header line');
  const col = {} as Record<Column, number>;
  for (const c of HILLSTROM_COLUMNS) {
    const at = header.indexOf(c);
    if (at < 0) throw schemaError(source, 1, `header lacks column "${c}" (expected ${HILLSTROM_COLUMNS.join(',')})`);
    if (header.indexOf(c, at + 1) >= 0) throw schemaError(source, 1, `header repeats column "${c}"`);
    col[c] = at;
  }
  const ignoredColumns = header.filter((h) => !(HILLSTROM_COLUMNS as readonly string[]).includes(h));
  const n = lines.length - 1;
  if (n < 1) throw schemaError(source, 1, 'no data rows after the header');
  const f = FEATURE_NAMES.length;
  const d: HillstromData = { n, f, x: new Float32Array(n * f), segment: new Uint8Array(n), visit: new Uint8Array(n), conversion: new Uint8Array(n), spend: new Float64Array(n), ignoredColumns };
  const oneHot = [HISTORY_SEGMENTS, ZIP_CODES, CHANNELS];
  for (let r = 0; r < n; r++) {
    const lineNo = r + 2;
    const fields = splitCsvLine(lines[r + 1], lineNo, source);
    if (fields.length !== header.length) throw schemaError(source, lineNo, `${fields.length} fields, the header has ${header.length}`);
    const bad = (c: Column, rule: string): PaydecideError => schemaError(source, lineNo, `column "${c}" (field ${col[c] + 1}) is ${JSON.stringify(fields[col[c]])}; ${rule}`);
    const num = (c: Column): number => {
      const v = fields[col[c]];
      const x = NUMBER.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(x)) throw bad(c, 'expected a number');
      if (x < 0) throw bad(c, 'expected a number ≥ 0');
      return x;
    };
    const flag = (c: Column): number => {
      const v = fields[col[c]];
      if (v !== '0' && v !== '1') throw bad(c, 'expected 0 or 1');
      return v === '1' ? 1 : 0;
    };
    const category = (c: Column, values: readonly string[]): number => {
      const k = values.indexOf(fields[col[c]]);
      if (k < 0) throw bad(c, `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
      return k;
    };
    const base = r * f;
    d.x[base] = num('recency');
    d.x[base + 1] = num('history');
    d.x[base + 2] = flag('mens');
    d.x[base + 3] = flag('womens');
    d.x[base + 4] = flag('newbie');
    let off = base + 5;
    (['history_segment', 'zip_code', 'channel'] as const).forEach((c, j) => {
      d.x[off + category(c, oneHot[j])] = 1;
      off += oneHot[j].length;
    });
    d.segment[r] = category('segment', SEGMENT_NAMES);
    d.visit[r] = flag('visit');
    d.conversion[r] = flag('conversion');
    d.spend[r] = num('spend');
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// The evaluation.

export type HillstromOutcome = 'visit' | 'conversion' | 'spend';
export type HillstromArm = 'mens' | 'womens';

/** The production uplift models' tree settings (models/uplift-params.ts); the seed comes from the options. */
const { seed: _seed, ...hillstromParams } = UPLIFT_GBDT_PARAMS;
export const HILLSTROM_GBDT_PARAMS: Readonly<GbdtParams> = Object.freeze(hillstromParams);

/**
 * Share of the train half held out for early stopping and Platt calibration (the usual 70/30).
 * Platt's intercept sets each model's mean prediction to the slice's outcome rate, so the
 * slice's sampling noise passes straight into the recovered ATE (reported as `deviation_se`); a
 * larger slice would make that level less noisy at the cost of training rows.
 */
export const VALID_FRACTION = 0.3;

export interface HillstromOptions {
  /** CSV file (or .csv.gz). */
  csv: string;
  /** @defaultValue 'visit' */
  outcome?: HillstromOutcome;
  /** Seed of the split, the trees' subsampling and the bootstrap. @defaultValue 1 */
  seed?: number;
  /** Bootstrap replicates for the Qini / AUUC intervals. @defaultValue 200 */
  bootstrap?: number;
  /**
   * Keep this seeded share of the customers (before the split), for quick runs; 1 keeps all.
   * @defaultValue 1
   */
  sample?: number;
  logger?: Logger;
}

/** Difference in means of one arm against control, with the normal (Welch) 95% interval. */
export interface DiffInMeans extends Interval {
  treated_n: number;
  control_n: number;
  treated_mean: number;
  control_mean: number;
  se: number;
}

export interface ArmResult {
  arm: HillstromArm;
  segment: string;
  /** The arm's known ATE: difference in means over all customers. */
  dim: DiffInMeans;
  /** The same on the test half only (the Qini curve's end point is this times the treated share). */
  dim_test: DiffInMeans;
  /** The same on the calibration slice, whose rates Platt's intercepts reproduce (see VALID_FRACTION). */
  dim_valid: DiffInMeans;
  /** T-learner: mean of p_arm − p_control over all test customers. */
  recovered_ate: number;
  /** recovered_ate − dim.estimate. */
  difference: number;
  /** dim.ci_low ≤ recovered_ate ≤ dim.ci_high. */
  inside_ci: boolean;
  /**
   * Standard error of (calibration-slice DIM − full DIM), the noise the recovered ATE inherits
   * from Platt's intercept: √(se_valid² − se²), the slice being a subset of all customers.
   */
  deviation_se: number;
  /** difference / deviation_se. */
  z: number;
  /** |z| ≤ 1.96: the recovered ATE is within its own sampling noise of the difference in means. */
  consistent: boolean;
  /** Test rows of this arm and of control used by the targeting metrics. */
  test_treated: number;
  test_control: number;
  /** Qini coefficient (area over random targeting, which is 0) with a bootstrap 95% interval. */
  qini: Interval;
  auuc: Interval;
  uplift_at_k: UpliftAtK[];
  /** Qini curve at 1% steps, for the chart; the random line runs from (0, 0) to its last point. */
  qini_curve: QiniPoint[];
  /** Mean, 10th and 90th percentile of the estimated uplift over test customers. */
  uplift_mean: number;
  uplift_p10: number;
  uplift_p90: number;
}

export interface ModelFit {
  group: 'control' | HillstromArm;
  train_rows: number;
  valid_rows: number;
  trees: number;
  platt: PlattModel;
  seconds: number;
}

export interface PolicyValue {
  policy: string;
  /** Mean outcome per customer, estimated from test customers whose random arm matches the policy's. */
  value: number;
  ci_low: number;
  ci_high: number;
  /** Test customers whose randomised arm matched the policy's choice. */
  matched: number;
}

export interface HillstromReport {
  source: { file: string; bytes: number; sha256: string; rows: number; ignored_columns: string[] };
  outcome: HillstromOutcome;
  seed: number;
  bootstrap: number;
  sample: number;
  /** Customers per randomised segment and their shares (design: 1/3 each). */
  assignment: { segment: string; rows: number; share: number }[];
  split: { train: number; valid: number; test: number; valid_fraction: number };
  params: GbdtParams;
  /** Largest training spend, the scale of the fractional outcome; 1 for 0/1 outcomes. */
  outcome_scale: number;
  models: ModelFit[];
  arms: ArmResult[];
  best_arm: {
    /** Share of test customers whose estimated womens uplift exceeds the mens one. */
    womens_share: number;
    mens_share: number;
    /** Equal estimates (counted in neither share). */
    ties: number;
    test_customers: number;
    /** The per-customer choice against sending one e-mail to all, and against none. */
    values: PolicyValue[];
  };
  notes: string[];
  seconds: number;
}

const ARMS: { arm: HillstromArm; code: number; segment: string }[] = [
  { arm: 'mens', code: 1, segment: 'Mens E-Mail' },
  { arm: 'womens', code: 2, segment: 'Womens E-Mail' },
];

function fail(message: string): never {
  throw new PaydecideError(ErrorCodes.BAD_FLAG, `eval hillstrom: ${message}`);
}


/** Seeded Fisher–Yates permutation of 0 … n − 1. */
function permutation(n: number, rand: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Linear-interpolation quantile (numpy's default) of an ascending array. */
function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function meanVar(y: ArrayLike<number>, rows: ArrayLike<number>): { n: number; mean: number; variance: number } {
  let s = 0;
  for (let k = 0; k < rows.length; k++) s += y[rows[k]];
  const n = rows.length;
  const mean = n > 0 ? s / n : NaN;
  let ss = 0;
  for (let k = 0; k < n; k++) ss += (y[rows[k]] - mean) ** 2;
  return { n, mean, variance: n > 1 ? ss / (n - 1) : NaN };
}

/** Treated mean − control mean with a Welch standard error and the normal 95% interval. */
export function diffInMeans(y: ArrayLike<number>, treated: ArrayLike<number>, control: ArrayLike<number>): DiffInMeans {
  const t = meanVar(y, treated);
  const c = meanVar(y, control);
  const estimate = t.mean - c.mean;
  const se = Math.sqrt(t.variance / t.n + c.variance / c.n);
  return { estimate, ci_low: estimate - 1.96 * se, ci_high: estimate + 1.96 * se, se, treated_n: t.n, control_n: c.n, treated_mean: t.mean, control_mean: c.mean };
}

function gather(d: HillstromData, rows: ArrayLike<number>): Float32Array {
  const x = new Float32Array(rows.length * d.f);
  for (let k = 0; k < rows.length; k++) x.set(d.x.subarray(rows[k] * d.f, (rows[k] + 1) * d.f), k * d.f);
  return x;
}

/**
 * Tree data for `rows` with outcome y in [0, 1]. A fractional y enters as two rows (label 1
 * with weight y, label 0 with weight 1 − y), whose weighted log-loss is the fractional-logit loss.
 */
function treeData(d: HillstromData, rows: ArrayLike<number>, y: Float64Array): GbdtData {
  let split = 0;
  for (let k = 0; k < rows.length; k++) if (y[rows[k]] > 0 && y[rows[k]] < 1) split++;
  if (split === 0) return { x: gather(d, rows), y: Uint8Array.from(rows, (r) => y[r]), n: rows.length, f: d.f };
  const n = rows.length + split;
  const x = new Float32Array(n * d.f);
  const labels = new Uint8Array(n);
  const weights = new Float64Array(n);
  let i = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    const v = y[r];
    const src = d.x.subarray(r * d.f, (r + 1) * d.f);
    if (v > 0 && v < 1) {
      x.set(src, i * d.f);
      labels[i] = 1;
      weights[i++] = v;
      x.set(src, i * d.f);
      weights[i++] = 1 - v;
    } else {
      x.set(src, i * d.f);
      labels[i] = v;
      weights[i++] = 1;
    }
  }
  return { x, y: labels, n, f: d.f, weights };
}

/** Percentile bootstrap over rows of Qini and AUUC; a replicate is a multinomial count per row. */
function bootstrapTargeting(s0: Float64Array, t0: Uint8Array, y0: Float64Array, reps: number, seed: number): { qini: Interval; auuc: Interval } {
  // Rows in descending score order once: the metrics sort by score on every call, and a sort of
  // sorted input is linear (the metrics do not depend on row order, ties included).
  const order = Uint32Array.from(s0, (_, i) => i).sort((i, j) => s0[j] - s0[i] || i - j);
  const s = Float64Array.from(order, (i) => s0[i]);
  const t = Uint8Array.from(order, (i) => t0[i]);
  const y = Float64Array.from(order, (i) => y0[i]);
  const rand = mulberry32(seed);
  const m = s.length;
  const counts = new Float64Array(m);
  const q = new Float64Array(reps);
  const a = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    counts.fill(0);
    for (let k = 0; k < m; k++) counts[Math.floor(rand() * m)]++;
    // Resampling with replacement is weighting each row by its count: duplicates share a score,
    // so they fall into one tie group exactly as the copied rows would.
    q[r] = qiniCoefficient(s, t, y, counts);
    a[r] = auuc(s, t, y, counts);
  }
  q.sort();
  a.sort();
  return {
    qini: { estimate: qiniCoefficient(s, t, y), ci_low: quantile(q, 0.025), ci_high: quantile(q, 0.975) },
    auuc: { estimate: auuc(s, t, y), ci_low: quantile(a, 0.025), ci_high: quantile(a, 0.975) },
  };
}

function policyValue(policy: string, y: Float64Array, segment: Uint8Array, test: Uint32Array, choice: (k: number) => number): PolicyValue {
  const rows: number[] = [];
  for (let k = 0; k < test.length; k++) if (segment[test[k]] === choice(k)) rows.push(test[k]);
  const { n, mean, variance } = meanVar(y, rows);
  const half = 1.96 * Math.sqrt(variance / n);
  return { policy, value: mean, ci_low: mean - half, ci_high: mean + half, matched: n };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

/** P(|Z| < 1.96 / ratio) for a standard normal Z: how often a noise `ratio` × the SE stays inside ±1.96 SE. */
function insideChance(ratio: number): number {
  return erf(1.96 / ratio / Math.SQRT2);
}

/** Abramowitz–Stegun 7.1.26 (error < 1.5e-7): enough for a sentence in a note. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** The evaluation on parsed data (no I/O). */
export function evaluateHillstrom(d: HillstromData, o: Omit<HillstromOptions, 'csv'> = {}): Omit<HillstromReport, 'source' | 'seconds'> {
  const outcome = o.outcome ?? 'visit';
  const seed = o.seed ?? 1;
  const reps = o.bootstrap ?? 200;
  const sample = o.sample ?? 1;
  if (!['visit', 'conversion', 'spend'].includes(outcome)) fail(`outcome must be visit, conversion or spend, got ${outcome}`);
  if (!Number.isInteger(seed)) fail(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(reps) || reps < 1) fail(`bootstrap must be a positive integer, got ${reps}`);
  if (!(sample > 0 && sample <= 1)) fail(`sample must be in (0, 1], got ${sample}`);
  const log = o.logger;
  const rand = mulberry32(seed);

  const y = outcome === 'spend' ? d.spend : Float64Array.from(d[outcome]);
  const perm = permutation(d.n, rand);
  const kept = perm.subarray(0, Math.round(sample * d.n));
  const nTest = Math.floor(kept.length / 2);
  const test = kept.slice(0, nTest).sort();
  const trainAll = kept.subarray(nTest);
  const nValid = Math.round(VALID_FRACTION * trainAll.length);
  const valid = trainAll.slice(0, nValid).sort();
  const train = trainAll.slice(nValid).sort();
  const bySeg = (rows: Uint32Array, code: number) => rows.filter((r) => d.segment[r] === code);

  // Outcome scale: spend is fitted as a fraction of the largest training spend.
  let scale = 1;
  if (outcome === 'spend') {
    scale = 0;
    for (const r of trainAll) scale = Math.max(scale, y[r]);
    if (!(scale > 0)) scale = 1;
  }
  const yFit = scale === 1 ? y : y.map((v) => Math.min(v / scale, 1));

  const params: GbdtParams = { ...HILLSTROM_GBDT_PARAMS, seed };
  const testX = gather(d, test);
  const models: ModelFit[] = [];
  const predictions: Float64Array[] = [];
  for (const [code, group] of [[0, 'control'], [1, 'mens'], [2, 'womens']] as const) {
    const tr = bySeg(train, code);
    const va = bySeg(valid, code);
    if (tr.length === 0 || va.length === 0) fail(`no ${SEGMENT_NAMES[code]} rows to train (${tr.length}) or calibrate (${va.length}) on; use a larger sample`);
    const validData = treeData(d, va, yFit);
    const model = trainGbdt(treeData(d, tr, yFit), params, validData);
    const platt = fitPlatt(predictMargin(model, gather(d, va), va.length), Float64Array.from(va, (r) => yFit[r]));
    const p = applyPlatt(platt, predictMargin(model, testX, test.length));
    if (scale !== 1) for (let k = 0; k < p.length; k++) p[k] *= scale;
    predictions[code] = p;
    const fit: ModelFit = { group, train_rows: tr.length, valid_rows: va.length, trees: model.trees.length, platt, seconds: model.trainSeconds };
    models.push(fit);
    log?.info({ ...fit, outcome }, 'hillstrom model trained');
  }

  const control = (rows: Uint32Array) => bySeg(rows, 0);
  const arms: ArmResult[] = ARMS.map(({ arm, code, segment }, ai) => {
    const uplift = new Float64Array(test.length);
    let sum = 0;
    for (let k = 0; k < test.length; k++) sum += uplift[k] = predictions[code][k] - predictions[0][k];
    const recovered = sum / test.length;
    const dim = diffInMeans(y, bySeg(kept, code), control(kept));
    const dimValid = diffInMeans(y, bySeg(valid, code), control(valid));
    const deviationSe = Math.sqrt(Math.max(dimValid.se ** 2 - dim.se ** 2, 0));

    // Targeting metrics on the test customers of this arm and of control.
    const pos: number[] = [];
    for (let k = 0; k < test.length; k++) if (d.segment[test[k]] === code || d.segment[test[k]] === 0) pos.push(k);
    const s = Float64Array.from(pos, (k) => uplift[k]);
    const t = Uint8Array.from(pos, (k) => (d.segment[test[k]] === code ? 1 : 0));
    const yy = Float64Array.from(pos, (k) => y[test[k]]);
    const boot = bootstrapTargeting(s, t, yy, reps, seed * 1000 + ai + 1);
    const sorted = uplift.slice().sort();
    const treatedTest = t.reduce((a, v) => a + v, 0);
    log?.info({ arm, recovered_ate: recovered, dim: dim.estimate, qini: boot.qini }, 'hillstrom arm evaluated');
    return {
      arm,
      segment,
      dim,
      dim_test: diffInMeans(y, bySeg(test, code), control(test)),
      dim_valid: dimValid,
      recovered_ate: recovered,
      difference: recovered - dim.estimate,
      inside_ci: recovered >= dim.ci_low && recovered <= dim.ci_high,
      deviation_se: deviationSe,
      z: (recovered - dim.estimate) / deviationSe,
      consistent: Math.abs(recovered - dim.estimate) <= 1.96 * deviationSe,
      test_treated: treatedTest,
      test_control: pos.length - treatedTest,
      qini: boot.qini,
      auuc: boot.auuc,
      uplift_at_k: upliftAtTopK(s, t, yy),
      qini_curve: qiniCurve(s, t, yy, undefined, 100),
      uplift_mean: recovered,
      uplift_p10: quantile(sorted, 0.1),
      uplift_p90: quantile(sorted, 0.9),
    };
  });

  // Best arm per customer: the e-mail with the larger estimated uplift (both share one control model).
  let womens = 0;
  let mens = 0;
  const pick = new Uint8Array(test.length);
  for (let k = 0; k < test.length; k++) {
    const m = predictions[1][k];
    const w = predictions[2][k];
    if (w > m) womens++;
    else if (m > w) mens++;
    pick[k] = w > m ? 2 : 1;
  }
  const values = [
    policyValue('best arm per customer (model)', y, d.segment, test, (k) => pick[k]),
    policyValue('Mens E-Mail to all', y, d.segment, test, () => 1),
    policyValue('Womens E-Mail to all', y, d.segment, test, () => 2),
    policyValue('No E-Mail', y, d.segment, test, () => 0),
  ];

  const counts = [0, 0, 0];
  for (const r of kept) counts[d.segment[r]]++;
  const assignment = [1, 2, 0].map((c) => ({ segment: SEGMENT_NAMES[c], rows: counts[c], share: counts[c] / kept.length }));
  const notes = [
    `randomised trial: every customer had propensity 1/3 for each segment by design (observed shares ${assignment.map((a) => a.share.toFixed(4)).join(' / ')}), so no IPS weights are used — a constant weight cancels in every metric here`,
    `the recovered ATE is the mean of p_arm − p_control over all test customers. Platt calibration on the validation slice sets each model's mean prediction to that slice's outcome rate, so the recovered ATE tracks the slice's difference in means and carries its sampling noise: with a slice of ${pct(valid.length / kept.length)} of the customers that noise is about √(1/${(valid.length / kept.length).toFixed(2)} − 1) = ${Math.sqrt(kept.length / valid.length - 1).toFixed(1)} × the difference in means' standard error, so even an unbiased learner lands inside that 95% interval only about ${pct(insideChance(Math.sqrt(kept.length / valid.length - 1)))} of the time; z compares the difference with the noise it inherits`,
    `Qini and AUUC intervals: percentile bootstrap over test customers (${reps} replicates, models held fixed, so training noise is not included); random targeting scores 0`,
  ];
  if (outcome === 'spend') notes.push(`spend is fitted as a fraction of the largest training spend ($${scale}) with a fractional-logit loss; predictions are scaled back to dollars`);
  if (outcome === 'conversion') notes.push('conversion is rare (about 1% of customers), so the targeting metrics are noisy; read their intervals');
  if (sample < 1) notes.push(`a seeded ${(sample * 100).toFixed(0)}% sample of the customers`);

  return {
    outcome,
    seed,
    bootstrap: reps,
    sample,
    assignment,
    split: { train: train.length, valid: valid.length, test: test.length, valid_fraction: VALID_FRACTION },
    params,
    outcome_scale: scale,
    models,
    arms,
    best_arm: { womens_share: womens / test.length, mens_share: mens / test.length, ties: test.length - womens - mens, test_customers: test.length, values },
    notes,
  };
}

/** Reads the CSV (gunzipped when it ends in .gz), parses and evaluates it. */
export function runHillstrom(o: HillstromOptions): HillstromReport {
  const t0 = performance.now();
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(o.csv);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new PaydecideError(ErrorCodes.INPUT_MISSING, `eval hillstrom: no file ${o.csv}`);
    throw e;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const text = (o.csv.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  const data = parseHillstromCsv(text, o.csv);
  o.logger?.info({ file: o.csv, rows: data.n }, 'hillstrom csv parsed');
  const r = evaluateHillstrom(data, o);
  return {
    source: { file: o.csv, bytes: bytes.length, sha256, rows: data.n, ignored_columns: data.ignoredColumns },
    ...r,
    seconds: (performance.now() - t0) / 1000,
  };
}
