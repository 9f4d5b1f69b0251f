/** Reads W (F×H) and b (H) back out of a linear-sigmoid ONNX graph (for the pandas peer). */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as typeof import('onnx-proto');

export function readLinearWeights(bytes: Uint8Array): { heads: number; weights: number[]; bias: number[] } {
  const model = onnx.ModelProto.decode(bytes);
  const inits = model.graph!.initializer!;
  const asFloats = (t: (typeof inits)[number]) => {
    const raw = t.rawData!;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 4 }, (_, i) => dv.getFloat32(i * 4, true));
  };
  const w = inits.find((t) => t.dims!.length === 2)!;
  const b = inits.find((t) => t.dims!.length === 1)!;
  return { heads: Number(w.dims![1]), weights: asFloats(w), bias: asFloats(b) };
}
