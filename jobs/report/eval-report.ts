/**
 * The evaluation report of a growth model (`report eval`): rebuilds the point-in-time training
 * set of the model's as-of date, scores its test split (decisions after the training and
 * validation windows, never fitted on) with the model's ONNX graph as deployed, and computes
 *   - per action: uptake AUC / log loss / ECE with a reliability diagram, Qini curve, Qini
 *     coefficient, AUUC, observed uplift in the top k%, and on the synthetic world the
 *     correlation of estimated and true per-user uplift;
 *   - on decisions whose every goal has matured, with the actions the logging policy could
 *     choose at each: the true incremental value (USD per decision over `none`) of the learned
 *     policy, the oracle, the best single action and random (synthetic world only), and the
 *     off-policy value of the learned policy from the log by IPS, SNIPS and doubly robust
 *     estimators with bootstrap 95% CIs, beside its true value.
 * The reward of a logged decision is Σ_goals value_g · y_g − cost_a · y_a (every goal's value,
 * less the offer's cost when its goal was reached); its expectation under an offer a is
 * Σ_g value_g · base_g + value_a · uplift_a − cost_a · uptake_a, so values per policy differ
 * exactly by the offer economics of policy/offer-value.ts. Value and cost per action are the means
 * over the world's campaigns of that action.
 */
import { ACTIONS, OFFER_ACTIONS, type Action } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_COUNT } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { UPLIFT_OUTPUT_WIDTH } from '../../models/model-outputs';
import { OnnxScorer } from '../../models/onnx-scorer';
import { bootstrapCi, drEstimate, ipsEstimate, snipsEstimate, type LoggedBandit } from '../../models/ope';
import type { LoadedModel } from '../../models/registry';
import { evaluateUplift } from '../../models/uplift-evaluation';
import { pearson } from '../../models/uplift-metrics';
import { closeDuckDB, fillTemplate, loadSql, openDuckDB, type DuckOptions } from '../duckdb';
import { forEachChunk, numericColumn } from '../duckdb-vectors';
import { buildDatasetTable, readDatasetArrays, worldSliceFiles, Y_MISSING, type DatasetArrays } from '../dataset/build-dataset';
import { asInputError, parquetScan } from '../features/feature-snapshot';
import { IPW_CLIP } from '../train/train-uplift';
import { readWorldManifest, worldFiles } from '../world';
import type { ActionEval, EvalReport, OffPolicyEval, PolicyValue } from './eval-report-types';

export interface EvalOptions {
  dataDir: string;
  asOf: string;
  model: LoadedModel;
  windows: Readonly<Record<Action, number>>;
  duck: DuckOptions;
  ortThreads: number;
  logger?: Logger;
  /** Bootstrap replicates of the OPE CIs. @defaultValue 500 */
  bootstrap?: number;
}

const G = OFFER_ACTIONS.length;
const NONE = ACTIONS.indexOf('none');

interface EvalContext {
  elig: Uint8Array;
  hasTruth: boolean;
  /** n × G each. */
  base: Float64Array;
  uplift: Float64Array;
}

async function readContext(conn: import('@duckdb/node-api').DuckDBConnection, n: number): Promise<EvalContext> {
  const ctx: EvalContext = { elig: new Uint8Array(n), hasTruth: false, base: new Float64Array(n * G), uplift: new Float64Array(n * G) };
  let off = 0;
  let truthRows = 0;
  await forEachChunk(await conn.run('SELECT elig::DOUBLE, has_truth::DOUBLE, * EXCLUDE (elig, has_truth, decision_ts, decision_id) FROM eval_ctx ORDER BY decision_ts, decision_id'), (c) => {
    const k = c.rowCount;
    const el = numericColumn(c, 0);
    const ht = numericColumn(c, 1);
    const cols = Array.from({ length: 2 * G }, (_, j) => numericColumn(c, 2 + j));
    for (let i = 0; i < k; i++) {
      ctx.elig[off + i] = el[i];
      truthRows += ht[i];
      for (let g = 0; g < G; g++) {
        ctx.base[(off + i) * G + g] = cols[2 * g][i];
        ctx.uplift[(off + i) * G + g] = cols[2 * g + 1][i];
      }
    }
    off += k;
  });
  // one context row per dataset row, or the arrays would pair decisions with other users' truth
  if (off !== n) throw new PaydecideError(ErrorCodes.INPUT_SCHEMA, `evaluation context has ${off} rows for ${n} decisions (duplicate users in the users or truth files?)`);
  ctx.hasTruth = truthRows === n && n > 0;
  return ctx;
}

/** Economics per offer action: mean value and cost over the world's campaigns of that action. */
async function readEconomics(conn: import('@duckdb/node-api').DuckDBConnection, files: string[]): Promise<EvalReport['economics']> {
  const out: EvalReport['economics'] = {};
  const rows = (await conn.runAndReadAll(`SELECT action, avg(value_usd)::DOUBLE, avg(offer_cost_usd)::DOUBLE FROM ${parquetScan(files)} GROUP BY action`)).getRows();
  for (const a of OFFER_ACTIONS) {
    const r = rows.find((x) => x[0] === a);
    out[a] = { value_usd: r ? Number(r[1]) : 0, offer_cost_usd: r ? Number(r[2]) : 0 };
  }
  return out;
}

export async function computeEvalReport(o: EvalOptions): Promise<EvalReport> {
  const m = o.model.manifest;
  if (m.kind !== 'gbdt-uplift') throw new PaydecideError(ErrorCodes.MODEL_INVALID, `model ${m.version} is a ${m.kind} model; the evaluation report needs uplift models (run \`paydecide train\`)`);
  const world = readWorldManifest(o.dataDir);
  const d = await openDuckDB(o.duck);
  let ds: DatasetArrays;
  let ctx: EvalContext;
  let economics: EvalReport['economics'];
  try {
    const files = worldSliceFiles(o.dataDir, world);
    await buildDatasetTable(d.conn, files, { asOf: o.asOf, windows: o.windows, dataStart: world.start_date, logger: o.logger });
    ds = await readDatasetArrays(d.conn);
    const truthFiles = worldFiles(o.dataDir, world, 'truth');
    const truth = truthFiles.length > 0 ? parquetScan(truthFiles) : `(SELECT NULL::VARCHAR AS user_id, ${OFFER_ACTIONS.map((a) => `0.0 AS base_${a}, 0.0 AS uplift_${a}`).join(', ')} LIMIT 0)`;
    try {
      await d.conn.run(fillTemplate(loadSql('eval/eval-context'), { users: parquetScan(files.users), campaigns: parquetScan(worldFiles(o.dataDir, world, 'campaigns')), truth }));
      ctx = await readContext(d.conn, ds.n);
      economics = await readEconomics(d.conn, worldFiles(o.dataDir, world, 'campaigns'));
    } catch (e) {
      throw asInputError(e);
    }
  } finally {
    closeDuckDB(d);
  }

  // The test split, scored by the deployed graph.
  const test: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.split[i] === 2) test.push(i);
  if (test.length === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `no test decisions before ${o.asOf}`);
  const x = new Float32Array(test.length * FEATURE_COUNT);
  test.forEach((r, i) => x.set(ds.x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), i * FEATURE_COUNT));
  const scorer = await OnnxScorer.load(o.model.onnxBytes, { threads: o.ortThreads });
  let out: Float32Array;
  try {
    if (scorer.outputWidth !== UPLIFT_OUTPUT_WIDTH) throw new PaydecideError(ErrorCodes.MODEL_INVALID, `model ${m.version} has ${scorer.outputWidth} outputs, expected ${UPLIFT_OUTPUT_WIDTH}`);
    out = new Float32Array(test.length * UPLIFT_OUTPUT_WIDTH);
    for (let off = 0; off < test.length; off += 50_000) {
      const rows = Math.min(50_000, test.length - off);
      out.set(await scorer.score(x.subarray(off * FEATURE_COUNT, (off + rows) * FEATURE_COUNT), rows), off * UPLIFT_OUTPUT_WIDTH);
    }
  } finally {
    await scorer.close();
  }
  const W = UPLIFT_OUTPUT_WIDTH;
  const uptake = (j: number, g: number) => out[j * W + g];
  const base = (j: number, g: number) => out[j * W + G + g];

  const actions: Record<string, ActionEval> = {};
  for (let g = 0; g < G; g++) {
    const rows: number[] = [];
    test.forEach((r, j) => {
      if (ds.y[r * G + g] !== Y_MISSING) rows.push(j);
    });
    const ev = evaluateUplift({
      uptake: Float64Array.from(rows, (j) => uptake(j, g)),
      base: Float64Array.from(rows, (j) => base(j, g)),
      treated: Uint8Array.from(rows, (j) => (ds.action[test[j]] === g ? 1 : 0)),
      y: Uint8Array.from(rows, (j) => ds.y[test[j] * G + g]),
      propensity: Float64Array.from(rows, (j) => ds.propensity[test[j]]),
      clip: IPW_CLIP,
    });
    const est = Float64Array.from(rows, (j) => uptake(j, g) - base(j, g));
    const tru = Float64Array.from(rows, (j) => ctx.uplift[test[j] * G + g]);
    actions[OFFER_ACTIONS[g]] = {
      auc: ev.auc,
      logloss: ev.logloss,
      ece: ev.ece,
      auuc: ev.auuc,
      qini: ev.qini,
      uplift_at_top_k: ev.uplift_at_top_k.map((u) => ({ k: u.k, uplift: finiteOrNull(u.uplift), treated: finiteOrNull(u.treated), control: finiteOrNull(u.control) })),
      rows_treated: ev.rows_treated,
      rows_control: ev.rows_control,
      reliability: ev.reliability,
      qini_curve: ev.qini_curve,
      mean_est_uplift: ev.mean_est_uplift,
      mean_true_uplift: ctx.hasTruth && rows.length > 0 ? tru.reduce((a, v) => a + v, 0) / rows.length : null,
      true_uplift_corr: ctx.hasTruth && rows.length > 2 ? finiteOrNull(pearson(est, tru)) : null,
    };
  }

  // Decisions whose every goal matured: the policy comparisons and OPE.
  const full: number[] = [];
  test.forEach((r, j) => {
    let ok = true;
    for (let g = 0; g < G; g++) if (ds.y[r * G + g] === Y_MISSING) ok = false;
    if (ok) full.push(j);
  });
  const econ = OFFER_ACTIONS.map((a) => economics[a]);
  const estValue = (j: number, g: number) => econ[g].value_usd * (uptake(j, g) - base(j, g)) - econ[g].offer_cost_usd * uptake(j, g);
  const learned = Int32Array.from(full, (j) => {
    const elig = ctx.elig[test[j]];
    let best = NONE;
    let bestV = 0;
    for (let g = 0; g < G; g++) {
      if (!(elig & (1 << g))) continue;
      const v = estValue(j, g);
      if (v > bestV) {
        bestV = v;
        best = g;
      }
    }
    return best;
  });
  const policyValue = ctx.hasTruth ? truePolicyValues(full.map((j) => test[j]), learned, ctx, econ) : null;
  const ope = offPolicy(full, test, learned, ds, ctx, econ, uptake, base, o.bootstrap ?? 500);

  const testSpan = test.length > 0 ? { start: new Date(ds.ts[test[0]]).toISOString(), end: new Date(ds.ts[test[test.length - 1]]).toISOString() } : { start: '', end: '' };
  const report: EvalReport = {
    generated_at: new Date().toISOString(),
    model_version: m.version,
    as_of: o.asOf,
    data: o.dataDir,
    test_window: { ...testSpan, rows: test.length },
    actions,
    policy_value: policyValue,
    ope,
    economics,
    checks: [],
    notes: [
      `test split: ${test.length} decisions after the training and validation windows; policy values and OPE use the ${full.length} whose every goal has matured`,
      'uptake metrics on offered decisions; Qini/AUUC on offered + not offered decisions, offered ones weighted by min(1/propensity, ' + IPW_CLIP + ')',
      'policy values are true incremental USD per decision over `none`, among the actions the logging policy could choose at each decision, before budgets and caps',
    ],
  };
  report.checks = evalChecks(report);
  return report;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

type Econ = { value_usd: number; offer_cost_usd: number }[];

/** True incremental value of offer g to the user of decision row r (USD). */
function trueIncr(ctx: EvalContext, r: number, g: number, econ: Econ): number {
  const u = ctx.uplift[r * G + g];
  const b = ctx.base[r * G + g];
  return econ[g].value_usd * u - econ[g].offer_cost_usd * (b + u);
}

function truePolicyValues(rows: number[], learned: Int32Array, ctx: EvalContext, econ: Econ): PolicyValue {
  const n = rows.length || 1;
  let vLearned = 0;
  let vOracle = 0;
  let vRandom = 0;
  const single = new Float64Array(G);
  const mixL = new Float64Array(ACTIONS.length);
  const mixO = new Float64Array(ACTIONS.length);
  rows.forEach((r, k) => {
    const elig = ctx.elig[r];
    if (learned[k] !== NONE) vLearned += trueIncr(ctx, r, learned[k], econ);
    mixL[learned[k]]++;
    let best = 0;
    let bestG = NONE;
    let sum = 0;
    let m = 1;
    for (let g = 0; g < G; g++) {
      if (!(elig & (1 << g))) continue;
      const v = trueIncr(ctx, r, g, econ);
      single[g] += v;
      sum += v;
      m++;
      if (v > best) {
        best = v;
        bestG = g;
      }
    }
    vOracle += best;
    mixO[bestG]++;
    vRandom += sum / m;
  });
  let bs = 0;
  let bsA: string = 'none';
  for (let g = 0; g < G; g++) {
    if (single[g] > bs) {
      bs = single[g];
      bsA = OFFER_ACTIONS[g];
    }
  }
  const mix = (a: Float64Array) => Object.fromEntries(ACTIONS.map((x, i) => [x, a[i] / n]));
  const learnedV = vLearned / n;
  const oracleV = vOracle / n;
  const bestSingle = bs / n;
  return {
    learned: learnedV,
    oracle: oracleV,
    best_single: bestSingle,
    best_single_action: bsA,
    random: vRandom / n,
    learned_share_of_oracle: oracleV > 0 ? learnedV / oracleV : 0,
    learned_gain_over_best_single: bestSingle > 0 ? learnedV / bestSingle - 1 : 0,
    learned_mix: mix(mixL),
    oracle_mix: mix(mixO),
  };
}

function offPolicy(full: number[], test: number[], learned: Int32Array, ds: DatasetArrays, ctx: EvalContext, econ: Econ, uptake: (j: number, g: number) => number, base: (j: number, g: number) => number, reps: number): OffPolicyEval {
  const n = full.length;
  const A = ACTIONS.length;
  const d: LoggedBandit = { n, action: new Int32Array(n), propensity: new Float64Array(n), reward: new Float64Array(n), target: learned, qHat: new Float64Array(n * A), actions: A };
  let trueSum = 0;
  let logged = 0;
  full.forEach((j, k) => {
    const r = test[j];
    const a = ds.action[r];
    d.action[k] = a;
    d.propensity[k] = ds.propensity[r];
    let reward = 0;
    let q0 = 0;
    let t0 = 0;
    for (let g = 0; g < G; g++) {
      reward += econ[g].value_usd * ds.y[r * G + g];
      q0 += econ[g].value_usd * base(j, g);
      t0 += econ[g].value_usd * ctx.base[r * G + g];
    }
    if (a !== NONE) reward -= econ[a].offer_cost_usd * ds.y[r * G + a];
    d.reward[k] = reward;
    logged += reward;
    for (let g = 0; g < G; g++) d.qHat![k * A + g] = q0 + econ[g].value_usd * (uptake(j, g) - base(j, g)) - econ[g].offer_cost_usd * uptake(j, g);
    d.qHat![k * A + NONE] = q0;
    const t = learned[k];
    trueSum += t0 + (t !== NONE ? trueIncr(ctx, r, t, econ) : 0);
  });
  const opts = { reps, seed: 1, clip: 1e6 };
  const ci = (e: typeof ipsEstimate) => (n > 0 ? bootstrapCi(d, e, opts) : { estimate: 0, ci_low: 0, ci_high: 0 });
  const ips = ci(ipsEstimate);
  const snips = ci(snipsEstimate);
  const dr = ci(drEstimate);
  const hasTruth = ctx.hasTruth && n > 0;
  const trueValue = hasTruth ? trueSum / n : null;
  const covers = (i: { ci_low: number; ci_high: number }) => (trueValue === null ? null : i.ci_low <= trueValue && trueValue <= i.ci_high);
  return {
    policy: 'learned',
    true_value: trueValue,
    logged_value: n > 0 ? logged / n : 0,
    ips,
    snips,
    dr,
    rows: n,
    bootstrap: reps,
    clip: opts.clip,
    covers: { ips: covers(ips), snips: covers(snips), dr: covers(dr) },
  };
}

/** The issue's targets, checked on this report. */
export function evalChecks(r: EvalReport): EvalReport['checks'] {
  const checks: EvalReport['checks'] = [];
  const pv = r.policy_value;
  if (pv) {
    checks.push({ name: 'learned policy vs oracle', target: '≥ 90% of the oracle', actual: `${(pv.learned_share_of_oracle * 100).toFixed(1)}%`, pass: pv.learned_share_of_oracle >= 0.9 });
    checks.push({ name: 'learned policy vs best single action', target: '≥ +20%', actual: `${(pv.learned_gain_over_best_single * 100).toFixed(1)}% (${pv.best_single_action})`, pass: pv.learned_gain_over_best_single >= 0.2 });
  }
  for (const [a, e] of Object.entries(r.actions)) checks.push({ name: `ECE ${a}`, target: '≤ 0.01', actual: e.ece.toFixed(4), pass: e.ece <= 0.01 });
  for (const k of ['ips', 'snips', 'dr'] as const) {
    const c = r.ope.covers[k];
    if (c !== null) checks.push({ name: `${k.toUpperCase()} 95% CI covers the true value`, target: 'covers', actual: `[${r.ope[k].ci_low.toFixed(3)}, ${r.ope[k].ci_high.toFixed(3)}] vs ${r.ope.true_value!.toFixed(3)}`, pass: c });
  }
  return checks;
}
