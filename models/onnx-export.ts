/**
 * ONNX export of the multi-head linear-sigmoid model:
 *   features float32 [N, F]  →  scores float32 [N, H] = Sigmoid(MatMul(features, W[F×H]) + b[H])
 * One head per action (in the order given, normally core/actions.ts ACTIONS), each head trained
 * independently. Weights are stored as little-endian raw_data initialisers.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';
import { ErrorCodes, PaydecideError } from '../core/errors';
import type { LogisticModel } from './logistic-regression';

// onnx-proto is CommonJS whose exports Node's ESM loader cannot name statically, so a named
// `import { onnx }` fails at run time under tsx; require() gets the real object.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };

export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT = 'scores';
/** IR version 8 / opset 13: what onnx-proto 8 encodes, and well inside onnxruntime 1.30's range. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;

/** Metadata keys written into every exported model. */
export const META = {
  kind: 'paydecide.kind',
  modelVersion: 'paydecide.model_version',
  featureSetHash: 'paydecide.feature_set_hash',
  heads: 'paydecide.heads',
  featureCount: 'paydecide.feature_count',
} as const;

/** F×H weights (row-major: feature f, head h at f·H + h) and H biases. */
export interface LinearHeads {
  featureCount: number;
  heads: string[];
  weights: Float32Array;
  bias: Float32Array;
}

/** Stacks independently trained heads into one F×H matrix, in the order of `heads`. */
export function stackHeads(models: readonly LogisticModel[], heads: readonly string[]): LinearHeads {
  if (models.length === 0 || models.length !== heads.length) {
    throw new PaydecideError(ErrorCodes.MODEL_INVALID, `stackHeads: ${models.length} models for ${heads.length} heads`);
  }
  const F = models[0].featureCount;
  const H = models.length;
  const weights = new Float32Array(F * H);
  const bias = new Float32Array(H);
  models.forEach((m, h) => {
    if (m.featureCount !== F) {
      throw new PaydecideError(ErrorCodes.MODEL_INVALID, `stackHeads: head ${heads[h]} has ${m.featureCount} features, expected ${F}`);
    }
    for (let f = 0; f < F; f++) weights[f * H + h] = m.weights[f];
    bias[h] = m.bias;
  });
  return { featureCount: F, heads: [...heads], weights, bias };
}

export interface ExportOptions {
  modelVersion: string;
  featureSetHash: string;
  /** Extra metadata_props (string values). */
  metadata?: Record<string, string>;
}

function floatTensor(name: string, dims: number[], data: Float32Array): OnnxNs.ITensorProto {
  const raw = new Uint8Array(data.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i], true);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

function valueInfo(name: string, dims: (number | string)[]): OnnxNs.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Encodes the multi-head model as an ONNX ModelProto. */
export function exportLinearSigmoidOnnx(model: LinearHeads, opts: ExportOptions): Uint8Array {
  const F = model.featureCount;
  const H = model.heads.length;
  if (!(F > 0) || H === 0 || model.weights.length !== F * H || model.bias.length !== H) {
    throw new PaydecideError(ErrorCodes.MODEL_INVALID, `export: weights ${model.weights.length} / bias ${model.bias.length} do not fit ${F} features × ${H} heads`);
  }
  for (const v of [model.weights, model.bias]) {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new PaydecideError(ErrorCodes.MODEL_INVALID, `export: non-finite weight at ${i}`);
    }
  }
  const graph: OnnxNs.IGraphProto = {
    name: 'paydecide_linear_sigmoid',
    initializer: [floatTensor('W', [F, H], model.weights), floatTensor('b', [H], model.bias)],
    input: [valueInfo(ONNX_INPUT, ['N', F])],
    output: [valueInfo(ONNX_OUTPUT, ['N', H])],
    node: [
      { opType: 'MatMul', input: [ONNX_INPUT, 'W'], output: ['xw'], name: 'matmul' },
      { opType: 'Add', input: ['xw', 'b'], output: ['logits'], name: 'add_bias' },
      { opType: 'Sigmoid', input: ['logits'], output: [ONNX_OUTPUT], name: 'sigmoid' },
    ],
  };
  const meta: Record<string, string> = {
    ...opts.metadata,
    [META.kind]: 'linear-sigmoid',
    [META.modelVersion]: opts.modelVersion,
    [META.featureSetHash]: opts.featureSetHash,
    [META.heads]: model.heads.join(','),
    [META.featureCount]: String(F),
  };
  const proto: OnnxNs.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'paydecide',
    producerVersion: '0.1.0',
    graph,
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
}

/** Reads metadata_props back from encoded bytes (MODEL_INVALID if they are not a ModelProto). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  let m: OnnxNs.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new PaydecideError(ErrorCodes.MODEL_INVALID, `not an ONNX model: ${(e as Error).message}`, { cause: e });
  }
  const out: Record<string, string> = {};
  for (const p of m.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? '';
  return out;
}
