/**
 * make bench-train: our GBDT trainer (models/gbdt.ts) and its ONNX export against XGBoost 'hist'
 * on the same rows, same parameters, same 2 threads, in the same run.
 *
 * Data: the Parquet file in BENCH_TRAIN_PARQUET (columns `label` 0/1 and float features `f_*`,
 * as `paydecide dataset build` writes them; row order = time order), or else a seeded synthetic
 * payments-like task of BENCH_ROWS (200,000) × 50 features with interactions, drift and noise.
 * Split by time: the first 80% trains (its last 20% is the early-stopping validation for both
 * trainers), the last 20% tests. Reported: training time (ours includes binning, XGBoost's
 * includes building its DMatrix), test AUC (one AUC function for both), and scoring speed on
 * the test rows with 2 threads: our exported model through ONNX Runtime (OnnxScorer) vs
 * XGBoost's own predictor. XGBoost comes from Debian's python3-xgboost, installed when missing
 * and the bench may (root, or sudo without a password); otherwise its figures are null.
 * BENCH_PEER=0 skips XGBoost; BENCH_THREADS sets our trainer's threads (default 2).
 * The last line is `RESULT {json}`. Not a test: nothing here asserts a time.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { numericColumn } from '../../jobs/duckdb-vectors';
import { quoteIdent, sqlString } from '../../jobs/duckdb';
import { predictProba, trainGbdt, type GbdtData, type GbdtParams } from '../../models/gbdt';
import { auc } from '../../models/metrics';
import { OnnxScorer } from '../../models/onnx-scorer';
import { exportTreeEnsembleOnnx, predictTargets } from '../../models/onnx-tree-export';
import { mulberry32 as rng } from '../../core/seeded-random';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const PARQUET = process.env.BENCH_TRAIN_PARQUET;
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
/**
 * XGBoost's OpenMP threads wait passively between parallel regions, as our histogram threads
 * do (Atomics.wait). With the default active spinning, a second process on a 2-core machine made
 * XGBoost 3–4× slower (28.9 s vs 7.3 s for the same 100 rounds); idle, the two policies are
 * within a few percent. BENCH_OMP_WAIT_POLICY=active to compare the other way.
 */
const OMP_WAIT = process.env.BENCH_OMP_WAIT_POLICY ?? 'passive';
const MIN_SCORE_S = 2;
const PY = '/usr/bin/python3';
const PEER = path.resolve('scripts/bench/peer/xgb_train.py');
const say = (s: string) => process.stdout.write(`${s}\n`);

const PARAMS = { nTrees: 300, learningRate: 0.1, maxDepth: 6, lambda: 1, minChildWeight: 1, maxBins: 256, earlyStoppingRounds: 20 } satisfies GbdtParams;

interface Matrix {
  x: Float32Array;
  y: Uint8Array;
  n: number;
  f: number;
  source: string;
}


/**
 * A payments-like binary task: a latent activity level per row drives amounts (log-normal),
 * counts (integers) and ratios; plus flags, category codes and pure-noise columns. The label's
 * log-odds mix saturating amount effects, thresholds, pairwise interactions, a periodic term,
 * per-category offsets and a slow drift over time (row order), plus latent noise; ~15% positive.
 */
function synthetic(n: number): Matrix {
  const F = 50;
  const r = rng(20260630);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  const x = new Float32Array(n * F);
  const y = new Uint8Array(n);
  const catEffect = [0.4, -0.3, 0, 0.8, -0.6, 0.2, 0, -0.1];
  for (let i = 0; i < n; i++) {
    const t = i / n;
    const z = normal(); // activity
    const b = i * F;
    for (let j = 0; j < 10; j++) x[b + j] = Math.exp(2.5 + 0.2 * j + 0.6 * z + 0.8 * normal() + 0.2 * t); // amounts
    for (let j = 10; j < 20; j++) x[b + j] = Math.floor(-Math.log(Math.max(r(), 1e-12)) * Math.exp(0.5 * z + 0.1 * (j - 10))); // counts
    for (let j = 20; j < 30; j++) x[b + j] = r() ** (1 + (j - 20) / 3); // ratios
    for (let j = 30; j < 40; j++) x[b + j] = r() < 0.05 + 0.04 * (j - 30) + 0.05 * Math.tanh(z) ? 1 : 0; // flags
    for (let j = 40; j < 45; j++) x[b + j] = Math.floor(r() * (3 + j - 40) * 2) % 8; // categories
    for (let j = 45; j < 50; j++) x[b + j] = normal(); // noise
    // many small smooth effects and pairwise products: what boosting needs its later rounds for
    let smooth = 0;
    for (let j = 0; j < 10; j++) smooth += 0.35 * Math.sin(Math.log1p(x[b + j]) * (1 + j / 5));
    for (let j = 20; j < 29; j++) smooth += 1.2 * (x[b + j] - 0.4) * (x[b + j + 1] - 0.4);
    for (let j = 12; j < 20; j++) smooth += 0.25 * Math.tanh((x[b + j] - 2) / 2) * (x[b + j + 20] - 0.3);
    const logit =
      -3.4 +
      1.6 * Math.tanh(Math.log1p(x[b]) / 3 - 1.2) +
      1.0 * (x[b + 10] > 3 ? 1 : 0) +
      2.0 * x[b + 20] * x[b + 30] -
      1.4 * (x[b + 1] > x[b + 2] ? 1 : 0) * x[b + 31] +
      0.9 * Math.sin(6 * x[b + 21]) +
      2 * catEffect[x[b + 40]] +
      0.6 * Math.log1p(x[b + 11]) * (x[b + 22] - 0.3) +
      0.8 * (x[b + 3] > 60 && x[b + 12] < 2 ? 1 : 0) +
      0.5 * Math.log1p(x[b + 13]) * Math.log1p(x[b + 4]) / 4 +
      smooth +
      0.6 * z +
      0.4 * t +
      0.5 * normal();
    y[i] = r() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { x, y, n, f: F, source: `synthetic ${n} × ${F} (seed 20260630)` };
}

/** Reads `label` and the `f_*` columns in file order (NULL features → NaN, rows without a label dropped), rows in file order. */
async function readParquet(file: string): Promise<Matrix> {
  const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await inst.connect();
  try {
    const src = `read_parquet(${sqlString(file)}, filename = true, file_row_number = true)`;
    const desc = await (await conn.run(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects();
    const names = desc.map((r) => String(r.column_name));
    const feats = names.filter((c) => c.startsWith('f_'));
    if (!names.includes('label') || feats.length === 0) throw new Error(`${file}: needs a 'label' column and f_* feature columns, has ${names.join(', ')}`);
    const list = feats.map((c) => `COALESCE(${quoteIdent(c)}::FLOAT, 'NaN'::FLOAT)`).join(', ');
    const res = await conn.run(`SELECT label::UTINYINT AS y, [${list}]::FLOAT[${feats.length}] AS x FROM ${src} WHERE label IS NOT NULL ORDER BY filename, file_row_number`);
    const parts: { y: Float64Array; x: Float32Array }[] = [];
    let n = 0;
    for (;;) {
      const c = await res.fetchChunk();
      if (!c || c.rowCount === 0) break;
      const items = (c.getColumnVector(1) as unknown as { childData: { items: Float32Array } }).childData.items;
      parts.push({ y: numericColumn(c, 0), x: items.slice(0, c.rowCount * feats.length) });
      n += c.rowCount;
    }
    const m: Matrix = { x: new Float32Array(n * feats.length), y: new Uint8Array(n), n, f: feats.length, source: `${file} (${n} × ${feats.length})` };
    let off = 0;
    for (const p of parts) {
      m.y.set(p.y, off);
      m.x.set(p.x, off * m.f);
      off += p.y.length;
    }
    return m;
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

function rowsOf(m: Matrix, from: number, to: number): GbdtData & { y: Uint8Array } {
  return { x: m.x.subarray(from * m.f, to * m.f), y: m.y.subarray(from, to), n: to - from, f: m.f };
}

/** XGBoost importable, installing Debian's package when this process may (root or passwordless sudo). */
function ensureXgboost(): boolean {
  const ok = () => spawnSync(PY, ['-c', 'import xgboost, numpy'], { stdio: 'ignore' }).status === 0;
  if (ok()) return true;
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!root && !sudo) {
    say('peer: python3-xgboost is missing and cannot be installed here (not root, no passwordless sudo): XGBoost figures unavailable');
    return false;
  }
  say('peer: installing Debian python3-xgboost for the comparison');
  const pre = sudo ? 'sudo ' : '';
  spawnSync('bash', ['-c', `${pre}apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${pre}apt-get install -y -qq python3-xgboost`], { stdio: 'ignore' });
  if (!ok()) say('peer: python3-xgboost could not be installed: XGBoost figures unavailable');
  return ok();
}

interface PeerResult {
  xgboost: string;
  train_s: number;
  dmatrix_s: number;
  fit_s: number;
  trees: number;
  score_rows_per_s: number;
}

function writePart(dir: string, part: string, d: GbdtData & { y: Uint8Array }): void {
  fs.writeFileSync(path.join(dir, `X_${part}.f32`), new Uint8Array(d.x.buffer, d.x.byteOffset, d.x.byteLength));
  fs.writeFileSync(path.join(dir, `y_${part}.u8`), d.y);
}

async function ortScoreSpeed(bytes: Uint8Array, x: Float32Array, n: number): Promise<number> {
  const s = await OnnxScorer.load(bytes, { threads: 2 });
  try {
    await s.score(x, n); // warm-up
    let reps = 0;
    const t = performance.now();
    let el = 0;
    do {
      await s.score(x, n);
      reps++;
      el = (performance.now() - t) / 1000;
    } while (el < MIN_SCORE_S);
    return (reps * n) / el;
  } finally {
    await s.close();
  }
}

const fmt = (v: number | null, d = 3) => (v === null ? 'n/a' : v.toFixed(d));
const kfmt = (v: number | null) => (v === null ? 'n/a' : `${(v / 1000).toFixed(0)}K`);

async function main() {
  say(`bench-train: ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)} (figures swing with other work on the machine)`);
  const data = PARQUET ? await readParquet(PARQUET) : synthetic(ROWS);
  const nTrain = Math.floor(data.n * 0.8);
  const nFit = Math.floor(nTrain * 0.8);
  const fit = rowsOf(data, 0, nFit);
  const valid = rowsOf(data, nFit, nTrain);
  const test = rowsOf(data, nTrain, data.n);
  say(`data: ${data.source}; fit ${fit.n}, valid ${valid.n} (early stopping), test ${test.n} rows; base rate ${(data.y.reduce((a, b) => a + b, 0) / data.n).toFixed(3)}`);

  const model = trainGbdt(fit, { ...PARAMS, threads: THREADS }, valid);
  const tsAuc = auc(predictProba(model, test.x, test.n), test.y);
  say(`ours: ${model.trees.length} trees (best round ${model.bestIteration}) in ${model.trainSeconds.toFixed(2)} s with ${THREADS} thread(s); test AUC ${tsAuc.toFixed(4)}`);

  const bytes = exportTreeEnsembleOnnx([{ model }], { modelVersion: 'bench', featureSetHash: 'bench', outputNames: ['p'] });
  const own = predictTargets([{ model }], test.x, test.n);
  const chk = await OnnxScorer.load(bytes, { threads: 2 });
  const ortOut = await chk.score(test.x, test.n);
  await chk.close();
  let maxDiff = 0;
  for (let i = 0; i < test.n; i++) maxDiff = Math.max(maxDiff, Math.abs(ortOut[i] - own[i]));
  const tsScore = await ortScoreSpeed(bytes, test.x, test.n);
  say(`ours: ONNX ${(bytes.length / 1024).toFixed(0)} KiB, ORT vs trainer max |Δp| ${maxDiff.toExponential(2)}, ${kfmt(tsScore)} rows/s (2 threads)`);

  let peer: PeerResult | null = null;
  let xgbAuc: number | null = null;
  if (process.env.BENCH_PEER !== '0' && ensureXgboost()) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paydecide-train-bench-'));
    try {
      writePart(dir, 'train', fit);
      writePart(dir, 'valid', valid);
      writePart(dir, 'test', test);
      fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ features: data.f, train: fit.n, valid: valid.n, test: test.n, params: PARAMS }));
      const env = { ...process.env, OMP_WAIT_POLICY: OMP_WAIT };
      const r = spawnSync(PY, [PEER, dir, '--threads', '2', '--min-score-s', String(MIN_SCORE_S)], { encoding: 'utf8', maxBuffer: 1 << 24, env });
      if (r.status !== 0) say(`peer: failed (${r.stderr.trim().split('\n').slice(-3).join(' ')})`);
      else {
        peer = JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
        const buf = fs.readFileSync(path.join(dir, 'p_xgb_test.f32'));
        xgbAuc = auc(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), test.y);
        say(`xgboost ${peer.xgboost} (OMP_WAIT_POLICY=${OMP_WAIT}): ${peer.trees} trees in ${peer.train_s.toFixed(2)} s (DMatrix ${peer.dmatrix_s.toFixed(2)} + fit ${peer.fit_s.toFixed(2)}); test AUC ${xgbAuc.toFixed(4)}; ${kfmt(peer.score_rows_per_s)} rows/s`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  const trainRatio = peer ? model.trainSeconds / peer.train_s : null;
  const scoreRatio = peer ? tsScore / peer.score_rows_per_s : null;
  say('');
  say(`| ${data.n} rows × ${data.f} features | ours (TS + ORT) | XGBoost hist | ours / XGBoost |`);
  say('|---|---|---|---|');
  say(`| train time, s (${THREADS} vs 2 threads) | ${fmt(model.trainSeconds, 2)} | ${fmt(peer?.train_s ?? null, 2)} | ${fmt(trainRatio, 2)}× |`);
  say(`| trees kept (early stopping 20) | ${model.trees.length} | ${peer?.trees ?? 'n/a'} | |`);
  say(`| test AUC | ${fmt(tsAuc, 4)} | ${fmt(xgbAuc, 4)} | ${xgbAuc === null ? 'n/a' : (tsAuc - xgbAuc).toFixed(4)} Δ |`);
  say(`| scoring rows/s, 2 threads | ${kfmt(tsScore)} (ONNX Runtime) | ${kfmt(peer?.score_rows_per_s ?? null)} (own predictor) | ${fmt(scoreRatio, 2)}× |`);
  say('');
  const result = {
    rows: data.n,
    features: data.f,
    trees: { ts: model.trees.length, xgb: peer?.trees ?? null },
    ts_train_s: model.trainSeconds,
    xgb_train_s: peer?.train_s ?? null,
    ts_auc: tsAuc,
    xgb_auc: xgbAuc,
    ts_score_rows_per_s: tsScore,
    xgb_score_rows_per_s: peer?.score_rows_per_s ?? null,
    train_time_ratio: trainRatio,
    score_speed_ratio: scoreRatio,
  };
  say(`RESULT ${JSON.stringify(result)}`);
}

await main();
