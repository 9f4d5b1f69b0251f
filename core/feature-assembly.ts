/**
 * Assembles the serving feature matrix from per-tile partial aggregates (tiled windowed
 * aggregation): window w of a summed aggregate is the sum of tiles 0..w.maxTile, of a maxed one
 * the max; ratios come from the window sums; recency combines tiles by min/max. SQL computes the
 * partials (sql/features/*.sql, a few narrow columns per user and tile); this pure code does the
 * wide part, straight into the row-major Float32Array that ONNX Runtime reads, because a
 * 191-column pivot in SQL costs more than the aggregation itself. The online path can build a
 * user's vector with the same rules.
 */
import { FEATURE_COUNT, FEATURES, featureIndex, TILE_AGGREGATES, TILE_RECENCY, WINDOW_RATIOS, WINDOWS } from './feature-registry';

/**
 * A numeric column; NaN marks a missing value (the feature keeps its default). Concrete typed
 * array types keep the hot loops monomorphic.
 */
export type NumericColumn = Float64Array;

const DEFAULTS = Float32Array.from(FEATURES, (f) => f.default);
const AGG_TARGETS = TILE_AGGREGATES.map((a) => ({
  col: a.col,
  max: a.agg === 'max',
  // target feature index per tile: the windows that contain the tile
  byTile: [0, 1, 2, 3].map((tile) => WINDOWS.filter((w) => w.maxTile >= tile).map((w) => featureIndex(`${a.col}_${w.name}`))),
}));
const MERCHANT_TARGETS = [0, 1, 2, 3].map((tile) => WINDOWS.filter((w) => w.maxTile >= tile).map((w) => featureIndex(`distinct_merchants_${w.name}`)));
const RECENCY_TARGETS = TILE_RECENCY.map((r) => ({ col: r.col, min: r.combine === 'min', index: featureIndex(r.feature) }));
const RATIO_TARGETS = WINDOWS.flatMap((w) =>
  WINDOW_RATIOS.map((r) => ({ index: featureIndex(`${r.name}_${w.name}`), num: featureIndex(`${r.num}_${w.name}`), den: featureIndex(`${r.den}_${w.name}`) })),
);
/** Aggregates whose window value starts from 0 rather than the registry default. */
const WINDOW_AGG_INDEXES = AGG_TARGETS.flatMap((a) => a.byTile[0]);

export class FeatureMatrixBuilder {
  readonly x: Float32Array;
  private readonly recencySeen: Uint8Array;

  constructor(readonly n: number) {
    this.x = new Float32Array(n * FEATURE_COUNT);
    this.recencySeen = new Uint8Array(n * RECENCY_TARGETS.length);
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

  /**
   * Adds the payment tiles: one entry k per (user row ri[k], tile[k]) with the columns of
   * TILE_AGGREGATES and TILE_RECENCY. Tiles are disjoint in time, so each adds to every window
   * that contains it.
   */
  addPaymentTiles(ri: Uint32Array, tile: Uint8Array, cols: Record<string, NumericColumn>): void {
    const x = this.x;
    const F = FEATURE_COUNT;
    const aggCols = AGG_TARGETS.map((a) => column(cols, a.col));
    const recCols = RECENCY_TARGETS.map((r) => column(cols, r.col));
    // Row by row, every aggregate: one user's features are one contiguous 764-byte run of x,
    // while column-by-column passes would miss the cache on every value.
    for (let k = 0; k < ri.length; k++) {
      const base = ri[k] * F;
      const tk = tile[k];
      for (let a = 0; a < AGG_TARGETS.length; a++) {
        const targets = AGG_TARGETS[a].byTile[tk];
        const val = aggCols[a][k];
        if (val !== val) continue; // NULL partial: nothing to add
        if (AGG_TARGETS[a].max) {
          for (let t = 0; t < targets.length; t++) if (val > x[base + targets[t]]) x[base + targets[t]] = val;
        } else {
          for (let t = 0; t < targets.length; t++) x[base + targets[t]] += val;
        }
      }
      for (let r = 0; r < RECENCY_TARGETS.length; r++) {
        const val = recCols[r][k];
        if (val !== val) continue;
        const at = base + RECENCY_TARGETS[r].index;
        // The user's first event replaces the default; later ones combine with min/max.
        if (!this.recencySeen[ri[k] * RECENCY_TARGETS.length + r]) {
          this.recencySeen[ri[k] * RECENCY_TARGETS.length + r] = 1;
          x[at] = val;
        } else if (RECENCY_TARGETS[r].min ? val < x[at] : val > x[at]) {
          x[at] = val;
        }
      }
    }
  }

  /** Adds distinct-merchant counts per (user, tile of the pair's most recent payment). */
  addMerchantTiles(ri: Uint32Array, tile: Uint8Array, merchants: NumericColumn): void {
    const x = this.x;
    for (let k = 0; k < ri.length; k++) {
      const base = ri[k] * FEATURE_COUNT;
      const targets = MERCHANT_TARGETS[tile[k]];
      for (let t = 0; t < targets.length; t++) x[base + targets[t]] += merchants[k];
    }
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

function column(cols: Record<string, NumericColumn>, name: string): NumericColumn {
  const c = cols[name];
  if (!c) throw new Error(`payment tiles lack column ${name}`);
  return c;
}
