/**
 * Grows one regression tree on gradient/hessian pairs over binned rows (models/gbdt.ts drives
 * the boosting). Growth is best-first ("lossguide"): the open leaf with the largest gain is
 * split next, within the depth limit, until `maxLeaves` leaves exist or no split gains more
 * than γ. With the default maxLeaves = 2^maxDepth this makes every split depth-wise growth
 * (XGBoost's default) would make; a smaller maxLeaves keeps the most useful ones.
 *
 * Each node owns a contiguous range of a row-index array; splitting partitions that range
 * stably (rows stay ascending, so histogram scans read the bins in memory order). Only the
 * smaller child's histogram is built; the larger one is the parent's minus it, in place.
 */
import type { BinLayout } from './gbdt-binning';

export interface GrowParams {
  maxDepth: number;
  maxLeaves: number;
  minChildWeight: number;
  lambda: number;
  gamma: number;
  learningRate: number;
}

/**
 * Builds histograms (models/gbdt-hist.ts). It owns the gradient, row-index and feature arrays
 * because the threaded builder needs them in shared memory: the trainer writes into them.
 */
export interface HistogramBuilder {
  /** Interleaved gradient/hessian per row. */
  readonly gh: Float64Array;
  /** Row indices; a node's rows are a range of it. */
  readonly idx: Int32Array;
  /** Features to count: the first `nFeats` entries. */
  readonly feats: Int32Array;
  /** The (G, H) histogram of rows idx[start..end) over feats[0..nFeats) into `out` (overwritten). */
  build(start: number, end: number, nFeats: number, out: Float64Array): void;
  close(): void;
}

/** A tree in bin space: node 0 is the root, children ids follow creation order. */
export interface GrownTree {
  nodes: number;
  /** Split feature, or −1 at leaves. */
  feature: Int32Array;
  /** Rows with bin ≤ splitBin go left. */
  splitBin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf value with the learning rate applied; 0 at internal nodes. */
  value: Float64Array;
  /** Each node's rows are idx[start..end) of the builder's index array, as `grow` left it. */
  start: Int32Array;
  end: Int32Array;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  GL: number;
  HL: number;
}

interface OpenNode {
  id: number;
  start: number;
  end: number;
  G: number;
  H: number;
  depth: number;
  hist: Float64Array | null;
  split: Split | null;
}

export class TreeGrower {
  private readonly free: Float64Array[] = [];
  private readonly scratch: Int32Array;
  /**
   * The bins again, feature-major (feature j of row r at j·n + r): partitioning reads one
   * feature of a node's rows, and row-major that is one cache line per row at every level
   * (measured: partitioning cost half as much as the histograms); feature-major, 64 rows share
   * a line.
   */
  private readonly columns: Uint8Array;
  private readonly n: number;

  constructor(
    bins: Uint8Array,
    F: number,
    private readonly layout: BinLayout,
    private readonly p: GrowParams,
    private readonly hb: HistogramBuilder,
  ) {
    const n = hb.idx.length;
    this.n = n;
    this.scratch = new Int32Array(n);
    this.columns = new Uint8Array(n * F);
    for (let r = 0, p = 0; r < n; r++) for (let j = 0; j < F; j++, p++) this.columns[j * n + r] = bins[p];
  }

  private alloc(): Float64Array {
    return this.free.pop() ?? new Float64Array(2 * this.layout.totalBins);
  }

  private release(h: Float64Array | null): void {
    if (h) this.free.push(h);
  }

  /** Whether a node may still be split (depth, room for two children of minChildWeight, ≥ 2 rows). */
  private splittable(n: OpenNode): boolean {
    return n.depth < this.p.maxDepth && n.H >= 2 * this.p.minChildWeight && n.end - n.start >= 2;
  }

  /**
   * Best split of a node over the given features: XGBoost's structure-score gain
   * GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ) (no ½, so γ means what XGBoost's `gamma` means), each
   * child needing hessian ≥ minChildWeight. Ties keep the first feature/bin: deterministic.
   */
  private bestSplit(n: OpenNode, feats: Int32Array, nFeats: number): Split | null {
    const { lambda, minChildWeight: mcw, gamma } = this.p;
    const hist = n.hist!;
    const { G, H } = n;
    const parent = (G * G) / (H + lambda);
    let best: Split | null = null;
    let bestGain = Math.max(gamma, 1e-12);
    for (let q = 0; q < nFeats; q++) {
      const j = feats[q];
      const nb = this.layout.nBins[j];
      const o = 2 * this.layout.offsets[j];
      let GL = 0;
      let HL = 0;
      for (let b = 0; b < nb - 1; b++) {
        GL += hist[o + 2 * b];
        HL += hist[o + 2 * b + 1];
        if (HL < mcw || HL <= 0) continue;
        const HR = H - HL;
        if (HR < mcw || HR <= 0) break; // HR only shrinks as b grows
        const GR = G - GL;
        const gain = (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parent;
        // a tie within rounding keeps the earlier candidate: two splits that separate the same
        // rows have equal gains up to the last bits, which depend on the summation order (the
        // thread count), and must not decide the tree
        if (gain > bestGain + 1e-10 * bestGain) {
          bestGain = gain;
          best = { gain, feature: j, bin: b, GL, HL };
        }
      }
    }
    return best;
  }

  /** Stable partition of idx[start..end) by bin ≤ b of feature j; returns the first right position. */
  private partition(idx: Int32Array, start: number, end: number, j: number, b: number): number {
    const { columns, scratch } = this;
    const col = j * this.n;
    let wl = start;
    let wr = 0;
    // branch-free: the side is data-dependent and unpredictable, and a mispredicted branch per
    // row made this loop 3× slower; each row is written to both sides and one cursor advances
    for (let k = start; k < end; k++) {
      const r = idx[k];
      const goLeft = ((b - columns[col + r]) >>> 31) ^ 1;
      idx[wl] = r;
      scratch[wr] = r;
      wl += goLeft;
      wr += goLeft ^ 1;
    }
    idx.set(scratch.subarray(0, wr), wl);
    return wl;
  }

  /**
   * Grows a tree on the builder's rows idx[0..m) (ascending) with its gradients, splitting only
   * on its feats[0..nFeats). Permutes idx: each leaf's rows end up contiguous.
   */
  grow(m: number, nFeats: number): GrownTree {
    const { maxLeaves, lambda, learningRate } = this.p;
    const { gh, idx, feats } = this.hb;
    const feature: number[] = [-1];
    const splitBin: number[] = [-1];
    const left: number[] = [-1];
    const right: number[] = [-1];
    const starts: number[] = [0];
    const ends: number[] = [m];
    const GH: number[] = [0, 0];
    let G = 0;
    let H = 0;
    for (let k = 0; k < m; k++) {
      const r = idx[k];
      G += gh[2 * r];
      H += gh[2 * r + 1];
    }
    GH[0] = G;
    GH[1] = H;
    const root: OpenNode = { id: 0, start: 0, end: m, G, H, depth: 0, hist: null, split: null };
    const open: OpenNode[] = [];
    const consider = (n: OpenNode): void => {
      n.split = n.hist ? this.bestSplit(n, feats, nFeats) : null;
      if (n.split) open.push(n);
      else {
        this.release(n.hist);
        n.hist = null;
      }
    };
    if (this.splittable(root)) {
      root.hist = this.alloc();
      this.hb.build(0, m, nFeats, root.hist);
    }
    consider(root);
    let leaves = 1;
    while (open.length > 0 && leaves < maxLeaves) {
      let bi = 0;
      for (let i = 1; i < open.length; i++) if (open[i].split!.gain > open[bi].split!.gain) bi = i;
      const node = open[bi];
      open.splice(bi, 1);
      const s = node.split!;
      const mid = this.partition(idx, node.start, node.end, s.feature, s.bin);
      const mk = (start: number, end: number, g: number, h: number): OpenNode => {
        const id = feature.length;
        feature.push(-1);
        splitBin.push(-1);
        left.push(-1);
        right.push(-1);
        starts.push(start);
        ends.push(end);
        GH.push(g, h);
        return { id, start, end, G: g, H: h, depth: node.depth + 1, hist: null, split: null };
      };
      const l = mk(node.start, mid, s.GL, s.HL);
      const r = mk(mid, node.end, node.G - s.GL, node.H - s.HL);
      feature[node.id] = s.feature;
      splitBin[node.id] = s.bin;
      left[node.id] = l.id;
      right[node.id] = r.id;
      leaves++;
      const [small, large] = mid - node.start <= node.end - mid ? [l, r] : [r, l];
      const needSmall = this.splittable(small);
      const needLarge = this.splittable(large);
      if (needSmall || needLarge) {
        const sh = this.alloc();
        this.hb.build(small.start, small.end, nFeats, sh);
        if (needLarge) {
          const ph = node.hist!;
          for (let i = 0; i < ph.length; i++) ph[i] -= sh[i];
          large.hist = ph;
        } else this.release(node.hist);
        if (needSmall) small.hist = sh;
        else this.release(sh);
      } else this.release(node.hist);
      node.hist = null;
      consider(l);
      consider(r);
    }
    for (const n of open) this.release(n.hist);
    const nodes = feature.length;
    const value = new Float64Array(nodes);
    for (let i = 0; i < nodes; i++) {
      if (feature[i] < 0) value[i] = (-GH[2 * i] / (GH[2 * i + 1] + lambda)) * learningRate;
    }
    return {
      nodes,
      feature: Int32Array.from(feature),
      splitBin: Int32Array.from(splitBin),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value,
      start: Int32Array.from(starts),
      end: Int32Array.from(ends),
    };
  }
}

