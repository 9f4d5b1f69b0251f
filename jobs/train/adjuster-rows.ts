/**
 * The online adjuster's training inputs: per training-set row, what the service would have had
 * at that decision — the user's score record as the nightly writes it (the current uplift model
 * run on the row's features through ONNX Runtime, split like the nightly splits it, quantised
 * like the record stores it) and the payment context logged with the decision — turned into
 * the adjuster's input vector by core/context-features.ts adjusterInputInto, the one function
 * the service uses too.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ACTIONS } from '../../core/actions';
import { ADJUSTER_WIDTH, adjusterInputInto, contextFromLog, type PaymentContext } from '../../core/context-features';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_COUNT } from '../../core/feature-registry';
import { dequantiseScore, dequantiseUplift, quantiseScore, quantiseUplift } from '../../core/score-record-codec';
import { splitModelOutputs, UPLIFT_OUTPUT_WIDTH } from '../../models/model-outputs';
import { OnnxScorer } from '../../models/onnx-scorer';
import type { DatasetArrays } from '../dataset/build-dataset';

/** Rows per ONNX Runtime call, as in the nightly's chunks. */
const SCORE_BATCH = 65_536;

export interface AdjusterInputs {
  /** Dataset row index of each adjuster row, ascending (time order). */
  rows: Int32Array;
  n: number;
  /** n × ADJUSTER_WIDTH, row-major: the adjuster's input vectors. */
  x: Float32Array;
  /** n × UPLIFT_OUTPUT_WIDTH: the uplift model's raw outputs (before the record's quantisation). */
  upliftOut: Float32Array;
  decisionIds: string[];
  contexts: PaymentContext[];
}

/**
 * Adjuster input rows from uplift-model outputs and contexts: the nightly's split into uptake and
 * uplift (splitModelOutputs), the score record's quantisation and its decoding, then
 * adjusterInputInto. Pure.
 */
export function adjusterRowsFromScores(upliftOut: Float32Array, n: number, contexts: readonly PaymentContext[], into: Float32Array): void {
  if (contexts.length < n || into.length < n * ADJUSTER_WIDTH) throw new RangeError('adjusterRowsFromScores: arrays too short');
  const H = ACTIONS.length;
  const scores = new Float32Array(n * H);
  const uplift = new Float32Array(n * H);
  splitModelOutputs(upliftOut, n, UPLIFT_OUTPUT_WIDTH, scores, uplift);
  const up = new Float64Array(H);
  const ul = new Float64Array(H);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < H; a++) {
      up[a] = dequantiseScore(quantiseScore(scores[i * H + a]));
      ul[a] = dequantiseUplift(quantiseUplift(uplift[i * H + a]));
    }
    adjusterInputInto(up, ul, contexts[i], into, i * ADJUSTER_WIDTH);
  }
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * The logged context of the training set's rows outside the train split (temp table `dataset`
 * of jobs/dataset/build-dataset.ts, read in readDatasetArrays' order), matched to `ds` by row
 * index; the decision's hour is taken from its timestamp (UTC).
 */
export async function readDatasetContexts(conn: DuckDBConnection, ds: DatasetArrays): Promise<{ rows: Int32Array; decisionIds: string[]; contexts: PaymentContext[] }> {
  const want: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.split[i] !== 0) want.push(i);
  const got = (
    await conn.runAndReadAll(
      `SELECT user_id, epoch_ms(decision_ts)::DOUBLE, ctx_amount_usd::DOUBLE, ctx_mcc::VARCHAR, ctx_channel::VARCHAR, ctx_auth_outcome::VARCHAR, decision_id::VARCHAR
       FROM dataset WHERE split <> 'train' ORDER BY decision_ts, decision_id`,
    )
  ).getRows();
  if (got.length !== want.length) throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `training set: ${got.length} context rows outside the train split, ${want.length} feature rows`);
  const decisionIds: string[] = new Array(got.length);
  const contexts: PaymentContext[] = new Array(got.length);
  got.forEach((r, k) => {
    const i = want[k];
    const ts = Number(r[1]);
    if (r[0] !== ds.userIds[i] || ts !== ds.ts[i]) throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `training set: context row ${k} (${String(r[6])}) is not feature row ${i}`);
    const amount = r[2] === null ? null : Number(r[2]);
    contexts[k] = contextFromLog({ ctx_amount_usd: amount, ctx_mcc: str(r[3]), ctx_channel: str(r[4]), ctx_auth_outcome: str(r[5]), decision_ms: ts });
    decisionIds[k] = String(r[6]);
  });
  return { rows: Int32Array.from(want), decisionIds, contexts };
}

/**
 * Scores the given dataset rows with the uplift model on one ONNX Runtime thread (the nightly
 * does the same, so the bits — and hence the quantised record — are the nightly's).
 */
export async function scoreUpliftRows(onnxBytes: Uint8Array, ds: DatasetArrays, rows: Int32Array): Promise<Float32Array> {
  const scorer = await OnnxScorer.load(onnxBytes, { threads: 1 });
  try {
    if (scorer.inputWidth !== FEATURE_COUNT || scorer.outputWidth !== UPLIFT_OUTPUT_WIDTH) {
      throw new PaydecideError(ErrorCodes.MODEL_INVALID, `uplift model takes ${scorer.inputWidth} features and gives ${scorer.outputWidth} outputs; expected ${FEATURE_COUNT} and ${UPLIFT_OUTPUT_WIDTH}`);
    }
    const n = rows.length;
    const out = new Float32Array(n * UPLIFT_OUTPUT_WIDTH);
    for (let off = 0; off < n; off += SCORE_BATCH) {
      const m = Math.min(SCORE_BATCH, n - off);
      const x = new Float32Array(m * FEATURE_COUNT);
      for (let i = 0; i < m; i++) {
        const r = rows[off + i];
        x.set(ds.x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), i * FEATURE_COUNT);
      }
      out.set(await scorer.score(x, m), off * UPLIFT_OUTPUT_WIDTH);
    }
    return out;
  } finally {
    await scorer.close();
  }
}

/** The adjuster inputs of every row outside the train split. */
export async function buildAdjusterInputs(conn: DuckDBConnection, ds: DatasetArrays, upliftOnnx: Uint8Array): Promise<AdjusterInputs> {
  const { rows, decisionIds, contexts } = await readDatasetContexts(conn, ds);
  const upliftOut = await scoreUpliftRows(upliftOnnx, ds, rows);
  const x = new Float32Array(rows.length * ADJUSTER_WIDTH);
  adjusterRowsFromScores(upliftOut, rows.length, contexts, x);
  return { rows, n: rows.length, x, upliftOut, decisionIds, contexts };
}
