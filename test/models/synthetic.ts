/** Deterministic synthetic data with known logistic coefficients, for the models/ tests. */

/** mulberry32 (core/seeded-random.ts): a small seeded PRNG. */
import { mulberry32 } from '../../core/seeded-random';

export const rng = mulberry32;

export function normal(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export interface Synthetic {
  X: Float32Array;
  n: number;
  f: number;
  /** Per feature: offset and scale of the raw column (so standardisation matters). */
  offset: Float64Array;
  scale: Float64Array;
  /** True raw-space weights per head (f each) and biases. */
  trueW: Float64Array[];
  trueB: number[];
  labels: Uint8Array[];
}

export interface SyntheticShape {
  /** Every 5th column gets an offset in ±offsetRange/2 (others ±0.5). @defaultValue 20 */
  offsetRange?: number;
  /** Column scales, cycled. @defaultValue [0.5, 1, 3, 50] */
  scales?: number[];
  /** The constant column. @defaultValue 3 */
  constantCol?: number;
}

/**
 * n rows × f features: column j is offset_j + scale_j · N(0,1) (every 7th column binary,
 * column `constantCol` constant). Heads have sparse true coefficients in standardised units.
 */
export function makeSynthetic(n: number, f: number, heads: number, seed: number, shape: SyntheticShape = {}): Synthetic {
  const { offsetRange = 20, scales = [0.5, 1, 3, 50], constantCol = 3 } = shape;
  const r = rng(seed);
  const offset = new Float64Array(f);
  const scale = new Float64Array(f);
  for (let j = 0; j < f; j++) {
    offset[j] = j % 5 === 0 ? offsetRange * (r() - 0.5) : r() - 0.5;
    scale[j] = j === constantCol ? 0 : scales[j % scales.length];
  }
  const X = new Float32Array(n * f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const z = j % 7 === 6 ? (r() < 0.3 ? 1 : 0) : normal(r);
      X[i * f + j] = offset[j] + scale[j] * z;
    }
  }
  const trueW: Float64Array[] = [];
  const trueB: number[] = [];
  const labels: Uint8Array[] = [];
  for (let h = 0; h < heads; h++) {
    const w = new Float64Array(f);
    let b = -1 - 0.4 * h; // base rates from ~27% down to ~5%
    for (let j = 0; j < f; j++) {
      if (j === constantCol || r() < 0.5) continue;
      const betaStd = (r() - 0.5) * 1.2; // effect of one standard deviation
      w[j] = betaStd / scale[j];
      b -= w[j] * offset[j];
    }
    trueW.push(w);
    trueB.push(b);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let e = b;
      for (let j = 0; j < f; j++) e += w[j] * X[i * f + j];
      y[i] = r() < 1 / (1 + Math.exp(-e)) ? 1 : 0;
    }
    labels.push(y);
  }
  return { X, n, f, offset, scale, trueW, trueB, labels };
}

export function rowsOf(s: Synthetic, from: number, to: number): { X: Float32Array; n: number; labels: Uint8Array[] } {
  return { X: s.X.subarray(from * s.f, to * s.f), n: to - from, labels: s.labels.map((y) => y.subarray(from, to)) };
}
