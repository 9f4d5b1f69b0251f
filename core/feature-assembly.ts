/**
 * Assembles the serving feature matrix: static and exposure features row by row, the windowed
 * payment features from the payment state (core/payment-state.ts), then the window ratios,
 * straight into the row-major Float32Array that ONNX Runtime reads, because a 191-column pivot
 * in SQL costs more than the aggregation itself. The online path can build a user's vector with
 * the same rules.
 */
import { FEATURE_COUNT, FEATURES, featureIndex, TILE_AGGREGATES, WINDOW_RATIOS, WINDOWS } from './feature-registry';
import type { PaymentState } from './payment-state';

/**
 * A numeric column; NaN marks a missing value (the feature keeps its default). Concrete typed
 * array types keep the hot loops monomorphic.
 */
export type NumericColumn = Float64Array;

const DEFAULTS = Float32Array.from(FEATURES, (f) => f.default);
const RATIO_TARGETS = WINDOWS.flatMap((w) =>
  WINDOW_RATIOS.map((r) => ({ index: featureIndex(`${r.name}_${w.name}`), num: featureIndex(`${r.num}_${w.name}`), den: featureIndex(`${r.den}_${w.name}`) })),
);
/** Windowed payment features: the state writes them assuming they start from 0. */
const WINDOW_AGG_INDEXES = WINDOWS.flatMap((w) => [...TILE_AGGREGATES.map((a) => a.col), 'distinct_merchants'].map((c) => featureIndex(`${c}_${w.name}`)));

export class FeatureMatrixBuilder {
  readonly x: Float32Array;

  constructor(readonly n: number) {
    this.x = new Float32Array(n * FEATURE_COUNT);
    for (let i = 0; i < n; i++) this.x.set(DEFAULTS, i * FEATURE_COUNT);
    // Sums and maxima accumulate from zero; their registry default is 0 too, asserted here so
    // that a registry edit cannot silently change what "no payments" means.
    for (const j of WINDOW_AGG_INDEXES) if (DEFAULTS[j] !== 0) throw new Error(`window aggregate ${FEATURES[j].name} must default to 0`);
  }

  /** Sets several features row by row (cache-friendly): feature names[j] of row ri[k] from cols[j][k]. */
  setFeatures(names: readonly string[], cols: NumericColumn[], ri: Uint32Array): void {
    const idx = names.map((nm) => featureIndex(nm));
    const x = this.x;
    for (let k = 0; k < ri.length; k++) {
      const base = ri[k] * FEATURE_COUNT;
      for (let j = 0; j < idx.length; j++) {
        const v = cols[j][k];
        if (v === v) x[base + idx[j]] = v;
      }
    }
  }

  /** Writes the windowed payment features from the payment state (core/payment-state.ts). */
  addPaymentState(state: PaymentState): void {
    if (state.n !== this.n) throw new Error(`payment state has ${state.n} rows, the matrix ${this.n}`);
    state.writeFeatures(this.x);
  }

  /** Forms the window ratios from the window sums (0 when the denominator is 0); returns x. */
  finish(): Float32Array {
    const x = this.x;
    for (let i = 0; i < this.n; i++) {
      const base = i * FEATURE_COUNT;
      for (const r of RATIO_TARGETS) {
        const den = x[base + r.den];
        x[base + r.index] = den !== 0 ? x[base + r.num] / den : 0;
      }
    }
    return x;
  }
}
