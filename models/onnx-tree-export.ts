/**
 * ONNX export of one or several binary GBDT models (models/gbdt.ts) as ONE graph:
 *   features float32 [N, F] → TreeEnsemble (ai.onnx.ml opset 5, n_targets = T, SUM)
 *     → Mul a[T] → Add b[T] → Sigmoid → scores float32 [N, T]
 * Target t's trees send their leaves to column t; its base score is folded into the leaves of
 * its first tree (opset 5 has no base_values). a and b are per-target Platt parameters.
 *
 * Why TreeEnsemble (opset 5) and not TreeEnsembleRegressor (opset 3): ONNX Runtime 1.30 scores
 * the same trees ~15–30% faster with it (shared/notes/measured-facts.md), and its leaf/interior
 * split encoding is about half the size. Every split is BRANCH_LT (go "true"/left when
 * x < threshold, float32), NaN takes the false (right) branch: the trainer's rule exactly.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';
import { ErrorCodes, PaydecideError } from '../core/errors';
import { predictMargin, type GbdtModel, type GbdtTree } from './gbdt';
import { META, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } from './onnx-export';

// onnx-proto is CommonJS whose exports Node's ESM loader cannot name statically (see onnx-export.ts).
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };

/**
 * IR version 10: the ONNX release that introduced ai.onnx.ml opset 5 (ONNX 1.16) stamps IR 10;
 * the fields we write are all older, so onnx-proto 8 encodes them unchanged.
 */
export const TREE_ONNX_IR_VERSION = 10;
export const ML_DOMAIN = 'ai.onnx.ml';
export const ML_OPSET = 5;
/** TreeEnsemble's nodes_modes enumeration value for `x < split`. */
const BRANCH_LT = 1;
const AGGREGATE_SUM = 1;
const POST_TRANSFORM_NONE = 0;

export interface TreeTarget {
  model: GbdtModel;
  /** Platt calibration applied to the margin: p = sigmoid(a·margin + b); identity is {a: 1, b: 0}. */
  platt?: { a: number; b: number };
}

export interface TreeExportOptions {
  modelVersion: string;
  featureSetHash: string;
  /** One name per target, in target order (stored joined by ',' under META.heads). */
  outputNames: string[];
  metadata?: Record<string, string>;
}

function invalid(msg: string): PaydecideError {
  return new PaydecideError(ErrorCodes.MODEL_INVALID, `tree export: ${msg}`);
}

function platt(t: TreeTarget): { a: number; b: number } {
  return t.platt ?? { a: 1, b: 0 };
}

function checkTargets(targets: readonly TreeTarget[]): number {
  if (targets.length === 0) throw invalid('no targets');
  const F = targets[0].model.featureCount;
  targets.forEach((t, i) => {
    if (t.model.featureCount !== F) throw invalid(`target ${i} has ${t.model.featureCount} features, target 0 has ${F}`);
    if (!Number.isFinite(t.model.baseScore)) throw invalid(`target ${i} has a non-finite base score`);
    const { a, b } = platt(t);
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw invalid(`target ${i} has non-finite Platt parameters a=${a} b=${b}`);
    t.model.trees.forEach((tree, k) => checkTree(tree, F, `target ${i} tree ${k}`));
  });
  return F;
}

function checkTree(t: GbdtTree, F: number, what: string): void {
  const m = t.left.length;
  if (m === 0 || t.right.length !== m || t.feature.length !== m || t.threshold.length !== m || t.value.length !== m) {
    throw invalid(`${what}: node arrays of different lengths`);
  }
  for (let i = 0; i < m; i++) {
    if (t.left[i] < 0) {
      if (!Number.isFinite(t.value[i])) throw invalid(`${what}: leaf ${i} has value ${t.value[i]}`);
      continue;
    }
    if (t.left[i] >= m || t.right[i] < 0 || t.right[i] >= m) throw invalid(`${what}: node ${i} has children out of range`);
    if (t.feature[i] < 0 || t.feature[i] >= F) throw invalid(`${what}: node ${i} splits on feature ${t.feature[i]} of ${F}`);
    if (Number.isNaN(t.threshold[i])) throw invalid(`${what}: node ${i} has a NaN threshold`);
  }
}

/** The flat TreeEnsemble attribute arrays. */
interface Encoded {
  featureIds: number[];
  splits: number[];
  trueIds: number[];
  trueLeafs: number[];
  falseIds: number[];
  falseLeafs: number[];
  roots: number[];
  leafTargets: number[];
  leafWeights: number[];
}

/** Appends one tree; `extra` is added to every leaf (the base score, for a target's first tree). */
function encodeTree(e: Encoded, t: GbdtTree, target: number, extra: number): void {
  const m = t.left.length;
  // node id → index in nodes_* (interior nodes, in id order) or in leaf_* (leaves, in id order)
  const pos = new Int32Array(m);
  const firstNode = e.featureIds.length;
  for (let i = 0, interior = 0; i < m; i++) {
    if (t.left[i] >= 0) {
      pos[i] = firstNode + interior++;
      continue;
    }
    pos[i] = e.leafWeights.length;
    e.leafTargets.push(target);
    e.leafWeights.push(t.value[i] + extra);
  }
  if (t.left[0] < 0) {
    // a single-leaf tree: one node whose two branches reach the same leaf
    e.roots.push(firstNode);
    e.featureIds.push(0);
    e.splits.push(0);
    e.trueIds.push(pos[0]);
    e.falseIds.push(pos[0]);
    e.trueLeafs.push(1);
    e.falseLeafs.push(1);
    return;
  }
  e.roots.push(pos[0]);
  for (let i = 0; i < m; i++) {
    if (t.left[i] < 0) continue;
    const l = t.left[i];
    const r = t.right[i];
    e.featureIds.push(t.feature[i]);
    e.splits.push(t.threshold[i]);
    e.trueIds.push(pos[l]);
    e.trueLeafs.push(t.left[l] < 0 ? 1 : 0);
    e.falseIds.push(pos[r]);
    e.falseLeafs.push(t.left[r] < 0 ? 1 : 0);
  }
}

function float32Tensor(name: string, values: ArrayLike<number>): OnnxNs.ITensorProto {
  const raw = new Uint8Array(values.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

const A = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]): OnnxNs.IAttributeProto => ({ name, type: A.INTS, ints: v });
const int = (name: string, v: number): OnnxNs.IAttributeProto => ({ name, type: A.INT, i: v });
const tensor = (name: string, t: OnnxNs.ITensorProto): OnnxNs.IAttributeProto => ({ name, type: A.TENSOR, t });

function valueInfo(name: string, width: number): OnnxNs.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } },
  };
}

/** Encodes the targets as one ONNX ModelProto (see the file comment for the graph). */
export function exportTreeEnsembleOnnx(targets: TreeTarget[], opts: TreeExportOptions): Uint8Array {
  const F = checkTargets(targets);
  const T = targets.length;
  if (opts.outputNames.length !== T) throw invalid(`${opts.outputNames.length} output names for ${T} targets`);
  const e: Encoded = { featureIds: [], splits: [], trueIds: [], trueLeafs: [], falseIds: [], falseLeafs: [], roots: [], leafTargets: [], leafWeights: [] };
  targets.forEach((t, ti) => {
    const trees = t.model.trees.length > 0 ? t.model.trees : [constantTree()];
    trees.forEach((tree, k) => encodeTree(e, tree, ti, k === 0 ? t.model.baseScore : 0));
  });
  const modes = new Uint8Array(e.featureIds.length).fill(BRANCH_LT);
  const ensemble: OnnxNs.INodeProto = {
    opType: 'TreeEnsemble',
    domain: ML_DOMAIN,
    name: 'trees',
    input: [ONNX_INPUT],
    output: ['margins'],
    attribute: [
      int('n_targets', T),
      int('aggregate_function', AGGREGATE_SUM),
      int('post_transform', POST_TRANSFORM_NONE),
      ints('tree_roots', e.roots),
      ints('nodes_featureids', e.featureIds),
      tensor('nodes_splits', float32Tensor('nodes_splits', e.splits)),
      tensor('nodes_modes', { name: 'nodes_modes', dims: [modes.length], dataType: onnx.TensorProto.DataType.UINT8, rawData: modes }),
      ints('nodes_truenodeids', e.trueIds),
      ints('nodes_trueleafs', e.trueLeafs),
      ints('nodes_falsenodeids', e.falseIds),
      ints('nodes_falseleafs', e.falseLeafs),
      ints('leaf_targetids', e.leafTargets),
      tensor('leaf_weights', float32Tensor('leaf_weights', e.leafWeights)),
    ],
  };
  const a = targets.map((t) => platt(t).a);
  const b = targets.map((t) => platt(t).b);
  const graph: OnnxNs.IGraphProto = {
    name: 'paydecide_tree_ensemble',
    initializer: [float32Tensor('platt_a', a), float32Tensor('platt_b', b)],
    input: [valueInfo(ONNX_INPUT, F)],
    output: [valueInfo(ONNX_OUTPUT, T)],
    node: [
      ensemble,
      { opType: 'Mul', input: ['margins', 'platt_a'], output: ['scaled'], name: 'platt_mul' },
      { opType: 'Add', input: ['scaled', 'platt_b'], output: ['logits'], name: 'platt_add' },
      { opType: 'Sigmoid', input: ['logits'], output: [ONNX_OUTPUT], name: 'sigmoid' },
    ],
  };
  const meta: Record<string, string> = {
    ...opts.metadata,
    [META.kind]: 'tree-ensemble',
    [META.modelVersion]: opts.modelVersion,
    [META.featureSetHash]: opts.featureSetHash,
    [META.heads]: opts.outputNames.join(','),
    [META.featureCount]: String(F),
  };
  const proto: OnnxNs.IModelProto = {
    irVersion: TREE_ONNX_IR_VERSION,
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    producerName: 'paydecide',
    producerVersion: '0.1.0',
    graph,
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
}

function constantTree(): GbdtTree {
  return { feature: Int32Array.of(-1), threshold: Float32Array.of(0), left: Int32Array.of(-1), right: Int32Array.of(-1), value: Float64Array.of(0) };
}

/**
 * What the exported graph computes, on the trainer side: per target sigmoid(a·margin + b) with
 * the margin in float64 and a, b rounded to float32 as the graph stores them; row-major n×T.
 * ONNX Runtime sums float32 leaves, so the two agree to ~1e-6, not bit for bit.
 */
export function predictTargets(targets: TreeTarget[], x: Float32Array, n: number): Float32Array {
  checkTargets(targets);
  const T = targets.length;
  const out = new Float32Array(n * T);
  targets.forEach((t, ti) => {
    const m = predictMargin(t.model, x, n);
    const a = Math.fround(platt(t).a);
    const b = Math.fround(platt(t).b);
    for (let i = 0; i < n; i++) out[i * T + ti] = 1 / (1 + Math.exp(-(a * m[i] + b)));
  });
  return out;
}
