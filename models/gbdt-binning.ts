/**
 * Histogram binning for the GBDT trainer (models/gbdt.ts).
 *
 * The rule that keeps training and serving identical: a value v falls in bin
 * `count of edges ≤ v` (edges strictly increasing float32 values), so "bins ≤ b go left" is
 * exactly `v < edges[b]`, the comparison ONNX Runtime's BRANCH_LT makes in float32. NaN is put
 * in the top bin (the bin of values ≥ the last edge): every split then sends it right, as the
 * float comparison `NaN < t` (false) does at serving time. Edges are actual data values, so a
 * threshold is always a value some row has.
 */

/** Per-feature edges plus the histogram layout derived from them. */
export interface BinLayout {
  /** Strictly increasing float32 edges per feature; feature j has `edges[j].length + 1` bins. */
  edges: Float32Array[];
  /** Bins per feature (≤ maxBins, ≥ 1). */
  nBins: Int32Array;
  /** Offset of each feature's first bin in a histogram of `totalBins` bins. */
  offsets: Int32Array;
  totalBins: number;
}

/** Rows used to choose edges when n is larger: ~200 sampled values per bin at 255 bins, and sorting them costs ~5 ms per feature. */
export const BIN_SAMPLE_ROWS = 50_000;

/** Selection sampling (Knuth's algorithm S): k of n indices without replacement, ascending. */
export function sampleSorted(n: number, k: number, rand: () => number): Int32Array {
  const out = new Int32Array(Math.min(k, n));
  let need = out.length;
  for (let i = 0, o = 0; i < n && need > 0; i++) {
    if (rand() * (n - i) < need) {
      out[o++] = i;
      need--;
    }
  }
  return out;
}

/**
 * Quantile edges from the distinct float32 values of one column (NaN ignored). With at most
 * maxBins distinct values every value gets its own bin; otherwise edges sit at the sample's
 * k/maxBins quantiles, deduplicated, so heavy ties give fewer bins instead of empty ones.
 */
export function columnEdges(sorted: Float32Array, maxBins: number): Float32Array {
  const m = sorted.length;
  if (m === 0) return new Float32Array(0);
  let distinct = 1;
  for (let i = 1; i < m && distinct <= maxBins; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= maxBins) {
    for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) out.push(sorted[i]);
    return Float32Array.from(out);
  }
  let prev = sorted[0];
  for (let k = 1; k < maxBins; k++) {
    const v = sorted[Math.floor((k * m) / maxBins)];
    if (v > prev) {
      out.push(v);
      prev = v;
    }
  }
  return Float32Array.from(out);
}

/**
 * Edges for every feature of a row-major n×f matrix, from all rows or a seeded sample of
 * `sampleRows` of them.
 */
export function computeBinLayout(x: Float32Array, n: number, f: number, maxBins: number, rand: () => number, sampleRows = BIN_SAMPLE_ROWS): BinLayout {
  const rows = n > sampleRows ? sampleSorted(n, sampleRows, rand) : null;
  const m = rows ? rows.length : n;
  // one pass over the rows into per-feature columns (reading the row-major matrix feature by
  // feature would stride through all of it f times), NaN dropped
  const cols: Float32Array[] = [];
  for (let j = 0; j < f; j++) cols.push(new Float32Array(m));
  const len = new Int32Array(f);
  for (let i = 0; i < m; i++) {
    const base = (rows ? rows[i] : i) * f;
    for (let j = 0; j < f; j++) {
      const v = x[base + j];
      if (v === v) cols[j][len[j]++] = v;
    }
  }
  const edges: Float32Array[] = [];
  for (let j = 0; j < f; j++) {
    const s = cols[j].subarray(0, len[j]);
    s.sort();
    edges.push(columnEdges(s, maxBins));
  }
  return layoutOf(edges);
}

/** The histogram layout for given edges. */
export function layoutOf(edges: Float32Array[]): BinLayout {
  const f = edges.length;
  const nBins = new Int32Array(f);
  const offsets = new Int32Array(f);
  let total = 0;
  for (let j = 0; j < f; j++) {
    nBins[j] = edges[j].length + 1;
    offsets[j] = total;
    total += nBins[j];
  }
  return { edges, nBins, offsets, totalBins: total };
}

/** Bin of one value: the count of edges ≤ v; NaN → the top bin. */
export function binOf(e: Float32Array, v: number): number {
  if (v !== v) return e.length;
  let lo = 0;
  let hi = e.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (e[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Row-major n×f bins (one byte per value: maxBins ≤ 256). Row by row, so the matrix is read
 * once in order; each lookup is a branch-free binary search over the feature's edges padded
 * with NaN to 255 entries (a comparison with NaN is false, so padding never counts).
 */
export function binMatrix(x: Float32Array, n: number, f: number, layout: BinLayout): Uint8Array {
  const out = new Uint8Array(n * f);
  const W = 255;
  const padded = new Float32Array(f * W).fill(NaN);
  const ne = new Int32Array(f);
  for (let j = 0; j < f; j++) {
    const e = layout.edges[j];
    if (e.length > W) throw new RangeError(`binMatrix: feature ${j} has ${e.length} edges, at most ${W}`);
    padded.set(e, j * W);
    ne[j] = e.length;
  }
  for (let i = 0, p = 0; i < n; i++) {
    for (let j = 0, o = 0; j < f; j++, p++, o += W) {
      const v = x[p];
      let lo = 0;
      lo += 128 * +(padded[o + lo + 127] <= v);
      lo += 64 * +(padded[o + lo + 63] <= v);
      lo += 32 * +(padded[o + lo + 31] <= v);
      lo += 16 * +(padded[o + lo + 15] <= v);
      lo += 8 * +(padded[o + lo + 7] <= v);
      lo += 4 * +(padded[o + lo + 3] <= v);
      lo += 2 * +(padded[o + lo + 1] <= v);
      lo += +(padded[o + lo] <= v);
      out[p] = v === v ? lo : ne[j];
    }
  }
  return out;
}
