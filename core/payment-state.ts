/**
 * Per-user payment state behind the windowed payment features: tiled windowed aggregation with
 * daily add-and-expire, as feature stores do it. A full night fills the state from per-(user,
 * tile) partials (sql/features/payment-tiles.sql); an incremental night moves yesterday's state
 * one day forward with the aggregates of a handful of boundary days (payment-days.sql), so its
 * cost follows the day's payments instead of 90 days of history. Both nights then derive the
 * features from the state with the same code (`writeFeatures`), which is why the incremental
 * night's features equal a full rebuild's (test/jobs/payment-state.test.ts).
 *
 * What makes each part exact under add-and-expire:
 * - sums (counts, and amounts in integer cents) add the day entering a tile and subtract the day
 *   leaving it;
 * - active days are a 90-bit day mask, shifted by one bit per day;
 * - the most recent payment (and decline, merchant checkout) is a maximum that only the arrival
 *   of a newer one or its own expiry changes; the first payment's day is the oldest bit of the
 *   mask;
 * - window maxima are not invertible: they keep the day they occurred on, and when that day
 *   leaves the window (and the new day does not beat it) the user is marked dirty and
 *   recomputed from the window's payments (payment-window-max.sql) — a few users in a hundred;
 * - distinct merchants are (user, merchant-hash, last day) pairs, merged with the new day's pairs
 *   and expired by day.
 * Pure: typed arrays in and out, no I/O (jobs/features/payment-state-file.ts stores it).
 */
import { FEATURE_COUNT, featureIndex, FIRST_PAYMENT_FEATURE, PAYMENT_RECENCY, TILE_AGGREGATES, WINDOWS } from './feature-registry';

export const TILES = WINDOWS.length;
/** First day index of each tile (day index 0 = the day before the as-of date). */
export const TILE_START: readonly number[] = WINDOWS.map((_, t) => (t === 0 ? 0 : WINDOWS[t - 1].days));
/** Days of history the features look back. */
export const HORIZON = WINDOWS[WINDOWS.length - 1].days;
/** Day indexes (relative to the new as-of date) whose day changes tile when the date advances by one. */
export const BOUNDARY_DAYS: readonly number[] = [...TILE_START, HORIZON];
export const DAY_US = 86_400_000_000;
const MASK_WORDS = Math.ceil(HORIZON / 32);
/** Aggregates kept as per-tile sums, in payment-aggregates.sql column order. */
export const SUM_AGGS = TILE_AGGREGATES.filter((a) => a.agg === 'sum');
const S = SUM_AGGS.length;
const W = WINDOWS.length;
const R = PAYMENT_RECENCY.length;

/** (user row, merchant hash, epoch day of the last payment to it), sorted by (ri, mh, ml). */
export interface MerchantPairs {
  length: number;
  ri: Uint32Array;
  mh: Uint32Array;
  ml: Uint32Array;
  day: Int32Array;
}

export function emptyPairs(capacity = 0): MerchantPairs {
  return { length: 0, ri: new Uint32Array(capacity), mh: new Uint32Array(capacity), ml: new Uint32Array(capacity), day: new Int32Array(capacity) };
}

/** Rows of per-(user, tile) or per-(user, day) aggregates, one typed column per field. */
export interface AggregateRows {
  length: number;
  ri: Uint32Array;
  /** Tile (pay_tiles) or day index (pay_days). */
  at: Uint8Array;
  /** SUM_AGGS columns; NaN = NULL. */
  sums: Float64Array[];
  /** Largest payment in cents. */
  max: Float64Array;
  /** PAYMENT_RECENCY timestamps (µs); NaN = none. */
  recency: Float64Array[];
  /** pay_tiles only: day index of the largest payment, and the tile's day mask. */
  maxDayIdx?: Float64Array;
  maskLo?: Uint32Array;
  maskHi?: Uint32Array;
}

/** Rows of payment-window-max.sql: the recomputed maxima (per window but the first). */
export interface WindowMaxRows {
  length: number;
  ri: Uint32Array;
  /** Per window k ≥ 1: max cents and its day index; NaN = none. */
  max: Float64Array[];
  arg: Float64Array[];
}

export class PaymentState {
  /** n × TILES × S sums (counts; amounts in cents). */
  readonly sums: Float64Array;
  /** n × W window maxima in cents (NaN = no payment) and the epoch day each occurred on. */
  readonly maxV: Float64Array;
  readonly maxDay: Int32Array;
  /** n × MASK_WORDS: bit i = at least one payment on day index i. */
  readonly mask: Uint32Array;
  /** n × R recency timestamps in µs (NaN = none in the window). */
  readonly rec: Float64Array;
  pairs: MerchantPairs = emptyPairs();

  /**
   * @param asOfDay epoch day of the as-of date (exclusive end of every window).
   * @param stored arrays of a stored state, adopted as they are (sizes checked by fromSections).
   */
  constructor(
    readonly n: number,
    public asOfDay: number,
    stored?: { sums: Float64Array; maxV: Float64Array; maxDay: Int32Array; mask: Uint32Array; rec: Float64Array },
  ) {
    this.sums = stored?.sums ?? new Float64Array(n * TILES * S);
    this.maxV = stored?.maxV ?? new Float64Array(n * W).fill(NaN);
    this.maxDay = stored?.maxDay ?? new Int32Array(n * W);
    this.mask = stored?.mask ?? new Uint32Array(n * MASK_WORDS);
    this.rec = stored?.rec ?? new Float64Array(n * R).fill(NaN);
  }

  /** The state's arrays by name, for storage (jobs/features/payment-state-file.ts). */
  sections(): Record<string, Float64Array | Int32Array | Uint32Array> {
    const p = this.pairs;
    return {
      sums: this.sums, maxV: this.maxV, maxDay: this.maxDay, mask: this.mask, rec: this.rec,
      pairRi: p.ri.subarray(0, p.length), pairMh: p.mh.subarray(0, p.length), pairMl: p.ml.subarray(0, p.length), pairDay: p.day.subarray(0, p.length),
    };
  }

  /** Rebuilds a stored state around its sections (no copies); throws when a section does not fit n. */
  static fromSections(n: number, asOfDay: number, sec: Record<string, ArrayBufferView>): PaymentState {
    const take = <T extends Float64Array | Int32Array | Uint32Array>(name: string, type: new (len: number) => T, length: number): T => {
      const v = sec[name];
      if (!v || v.constructor !== type || (v as T).length !== length) throw new Error(`payment state section ${name} does not match ${n} users`);
      return v as T;
    };
    const len = (sec.pairRi as Uint32Array | undefined)?.length ?? -1;
    if (len < 0) throw new Error('payment state lacks its merchant pairs');
    const st = new PaymentState(n, asOfDay, {
      sums: take('sums', Float64Array, n * TILES * S),
      maxV: take('maxV', Float64Array, n * W),
      maxDay: take('maxDay', Int32Array, n * W),
      mask: take('mask', Uint32Array, n * MASK_WORDS),
      rec: take('rec', Float64Array, n * R),
    });
    st.pairs = { length: len, ri: take('pairRi', Uint32Array, len), mh: take('pairMh', Uint32Array, len), ml: take('pairMl', Uint32Array, len), day: take('pairDay', Int32Array, len) };
    return st;
  }

  /**
   * The same state over another row order: `newRow[i]` is the new row of old row i (-1 = the
   * user is gone). Rows without an old row start empty (a user who signed up since). Any
   * permutation works (a changed slot count reorders rows); the pairs are re-sorted if needed.
   */
  remap(newN: number, newRow: Int32Array): PaymentState {
    if (newRow.length !== this.n) throw new Error(`row map has ${newRow.length} entries for ${this.n} rows`);
    const st = new PaymentState(newN, this.asOfDay);
    const copy = (src: Float64Array | Int32Array | Uint32Array, dst: Float64Array | Int32Array | Uint32Array, width: number) => {
      for (let i = 0; i < this.n; i++) {
        const j = newRow[i];
        if (j >= 0) dst.set(src.subarray(i * width, (i + 1) * width), j * width);
      }
    };
    copy(this.sums, st.sums, TILES * S);
    copy(this.maxV, st.maxV, W);
    copy(this.maxDay, st.maxDay, W);
    copy(this.mask, st.mask, MASK_WORDS);
    copy(this.rec, st.rec, R);
    const p = this.pairs;
    const q = emptyPairs(p.length);
    let o = 0;
    let sorted = true;
    for (let i = 0; i < p.length; i++) {
      const j = newRow[p.ri[i]];
      if (j < 0) continue;
      if (o > 0 && j < q.ri[o - 1]) sorted = false;
      q.ri[o] = j;
      q.mh[o] = p.mh[i];
      q.ml[o] = p.ml[i];
      q.day[o++] = p.day[i];
    }
    q.length = o;
    // Rows keep their relative order unless the slot count changed: then re-sort the pairs.
    if (!sorted) {
      const idx = Uint32Array.from({ length: o }, (_, i) => i).sort((a, b) => cmpPair(q, a, q, b));
      const r = emptyPairs(o);
      r.length = o;
      for (let k = 0; k < o; k++) {
        r.ri[k] = q.ri[idx[k]];
        r.mh[k] = q.mh[idx[k]];
        r.ml[k] = q.ml[idx[k]];
        r.day[k] = q.day[idx[k]];
      }
      st.pairs = r;
      return st;
    }
    st.pairs = q;
    return st;
  }

  /** Full night: per-(user, tile) partials of payment-tiles.sql. */
  addTiles(rows: AggregateRows): void {
    const { ri, at, sums, max, recency, maxDayIdx, maskLo, maskHi } = rows;
    if (!maxDayIdx || !maskLo || !maskHi) throw new Error('tile rows need max_day_idx and the day mask');
    for (let k = 0; k < rows.length; k++) {
      const u = ri[k];
      const t = at[k];
      const sb = (u * TILES + t) * S;
      for (let a = 0; a < S; a++) {
        const v = sums[a][k];
        this.sums[sb + a] = v === v ? v : 0;
      }
      const m = max[k];
      if (m === m) {
        const day = this.asOfDay - 1 - maxDayIdx[k];
        for (let w = t; w < W; w++) this.offerMax(u * W + w, m, day);
      }
      this.setMaskBits(u, TILE_START[t], maskLo[k]);
      this.setMaskBits(u, TILE_START[t] + 32, maskHi[k]);
      for (let r = 0; r < R; r++) this.offerRecency(u * R + r, recency[r][k]);
    }
  }

  /** Full night: the pairs of payment-merchants.sql over the window (day = day index there). */
  setPairs(p: MerchantPairs, dayIsIndex: boolean): void {
    if (dayIsIndex) for (let i = 0; i < p.length; i++) p.day[i] = this.asOfDay - 1 - p.day[i];
    this.pairs = p;
  }

  /**
   * Incremental night: moves the state to asOfDay + 1 with the new day's and the boundary days'
   * aggregates (payment-days.sql at the new date, BOUNDARY_DAYS) and the new day's merchant
   * pairs. Returns the rows (ascending) whose window maximum left the window and must be
   * recomputed (`applyWindowMax`).
   */
  advance(days: AggregateRows, newPairs: MerchantPairs): Uint32Array {
    const n = this.n;
    const a = this.asOfDay + 1;
    this.asOfDay = a;
    // Day masks: yesterday's day 0 is today's day 1; day HORIZON falls out.
    const topBits = HORIZON - 32 * (MASK_WORDS - 1);
    const topMask = topBits === 32 ? 0xffffffff : (1 << topBits) - 1;
    for (let u = 0; u < n; u++) {
      const b = u * MASK_WORDS;
      for (let j = MASK_WORDS - 1; j > 0; j--) this.mask[b + j] = ((this.mask[b + j] << 1) | (this.mask[b + j - 1] >>> 31)) >>> 0;
      this.mask[b] = (this.mask[b] << 1) >>> 0;
      this.mask[b + MASK_WORDS - 1] &= topMask;
    }
    // Sums: each boundary day leaves the tile it was in and enters the one it is in now.
    const today = new Int32Array(n).fill(-1);
    const { ri, at, sums } = days;
    for (let k = 0; k < days.length; k++) {
      const u = ri[k];
      const d = at[k];
      const from = d >= 1 ? tileOf(d - 1) : -1;
      const to = d < HORIZON ? tileOf(d) : -1;
      if (from === to) continue; // not a boundary day (the query asked for more than needed)
      for (let s = 0; s < S; s++) {
        const v = sums[s][k];
        if (v !== v) continue;
        if (from >= 0) this.sums[(u * TILES + from) * S + s] -= v;
        if (to >= 0) this.sums[(u * TILES + to) * S + s] += v;
      }
      if (d === 0) {
        today[u] = k;
        this.mask[u * MASK_WORDS] |= 1;
      }
    }
    // Recency and maxima.
    const startUs = (a - HORIZON) * DAY_US;
    const dirty = new Uint8Array(n);
    let nDirty = 0;
    for (let u = 0; u < n; u++) {
      const k = today[u];
      for (let r = 0; r < R; r++) {
        const at_ = u * R + r;
        const old = this.rec[at_];
        const v = k >= 0 ? days.recency[r][k] : NaN;
        const kept = old >= startUs ? old : NaN;
        this.rec[at_] = v === v && !(kept >= v) ? v : kept;
      }
      const tv = k >= 0 ? days.max[k] : NaN;
      for (let w = 0; w < W; w++) {
        const at_ = u * W + w;
        const old = this.maxV[at_];
        if (tv === tv && !(old > tv)) {
          this.maxV[at_] = tv;
          this.maxDay[at_] = a - 1;
        } else if (old === old && this.maxDay[at_] < a - WINDOWS[w].days) {
          // the maximum's day left the window and today did not beat it
          if (this.anyMaskBits(u, 1, WINDOWS[w].days)) dirty[u] |= 1 << w;
          else this.maxV[at_] = tv;
        }
      }
      if (dirty[u]) nDirty++;
    }
    this.pairs = mergePairs(this.pairs, newPairs, a - 1, a - HORIZON);
    this.dirtyFlags = dirty;
    const out = new Uint32Array(nDirty);
    for (let u = 0, j = 0; u < n; u++) if (dirty[u]) out[j++] = u;
    return out;
  }

  private dirtyFlags: Uint8Array | null = null;

  /** Applies payment-window-max.sql's rows for the rows `advance` returned. */
  applyWindowMax(rows: WindowMaxRows): void {
    const dirty = this.dirtyFlags;
    if (!dirty) throw new Error('applyWindowMax before advance');
    const seen = new Uint8Array(this.n);
    for (let k = 0; k < rows.length; k++) {
      const u = rows.ri[k];
      seen[u] = 1;
      for (let w = 1; w < W; w++) {
        if (!(dirty[u] & (1 << w))) continue;
        const v = rows.max[w - 1][k];
        this.maxV[u * W + w] = v;
        this.maxDay[u * W + w] = v === v ? this.asOfDay - 1 - rows.arg[w - 1][k] : 0;
      }
    }
    for (let u = 0; u < this.n; u++) {
      if (dirty[u] && !seen[u]) throw new Error(`row ${u} was marked for recomputation but the window query returned nothing for it`);
    }
    this.dirtyFlags = null;
  }

  /** The payment features of every row, into a row-major n × FEATURE_COUNT matrix. */
  writeFeatures(x: Float32Array): void {
    const F = FEATURE_COUNT;
    const asOfUs = this.asOfDay * DAY_US;
    for (let u = 0; u < this.n; u++) {
      const base = u * F;
      for (let s = 0; s < S; s++) {
        let acc = 0;
        for (let t = 0; t < TILES; t++) {
          acc += this.sums[(u * TILES + t) * S + s];
          x[base + SUM_TARGETS[s][t]] = SUM_CENTS[s] ? acc / 100 : acc;
        }
      }
      for (let w = 0; w < W; w++) {
        const v = this.maxV[u * W + w];
        x[base + MAX_TARGETS[w]] = v === v ? v / 100 : 0;
        x[base + DAYS_TARGETS[w]] = this.countMaskBits(u, 0, WINDOWS[w].days);
      }
      for (let r = 0; r < R; r++) {
        const v = this.rec[u * R + r];
        if (v === v) x[base + RECENCY_TARGETS[r]] = (asOfUs - v) / DAY_US;
      }
      const oldest = this.oldestMaskBit(u);
      if (oldest >= 0) x[base + FIRST_TARGET] = oldest + 1;
    }
    const p = this.pairs;
    for (let i = 0; i < p.length; i++) {
      const base = p.ri[i] * F;
      const idx = this.asOfDay - 1 - p.day[i];
      for (let w = 0; w < W; w++) if (idx < WINDOWS[w].days) x[base + MERCHANT_TARGETS[w]] += 1;
    }
  }

  private offerMax(at: number, v: number, day: number): void {
    const cur = this.maxV[at];
    // ties go to the most recent day: it stays in the windows longest
    if (!(cur === cur) || v > cur || (v === cur && day > this.maxDay[at])) {
      this.maxV[at] = v;
      this.maxDay[at] = day;
    }
  }

  private offerRecency(at: number, v: number): void {
    if (v !== v) return;
    const cur = this.rec[at];
    if (!(cur === cur) || v > cur) this.rec[at] = v;
  }

  private setMaskBits(u: number, from: number, bits: number): void {
    for (let b = bits >>> 0; b !== 0; b &= b - 1) {
      const i = from + 31 - Math.clz32(b & -b);
      if (i < HORIZON) this.mask[u * MASK_WORDS + (i >>> 5)] |= 1 << (i & 31);
    }
  }

  /** Active days among day indexes [lo, hi). */
  private countMaskBits(u: number, lo: number, hi: number): number {
    let c = 0;
    for (let j = lo >>> 5; j < MASK_WORDS && j * 32 < hi; j++) {
      let w = this.mask[u * MASK_WORDS + j];
      const first = j * 32;
      if (lo > first) w &= ~((1 << (lo - first)) - 1);
      if (hi < first + 32) w &= (1 << (hi - first)) - 1;
      c += popcount(w >>> 0);
    }
    return c;
  }

  /** Day index of the oldest active day, -1 when none. */
  private oldestMaskBit(u: number): number {
    for (let j = MASK_WORDS - 1; j >= 0; j--) {
      const w = this.mask[u * MASK_WORDS + j];
      if (w !== 0) return j * 32 + 31 - Math.clz32(w);
    }
    return -1;
  }

  private anyMaskBits(u: number, lo: number, hi: number): boolean {
    return this.countMaskBits(u, lo, hi) > 0;
  }
}

function tileOf(dayIdx: number): number {
  for (let t = TILES - 1; t >= 0; t--) if (dayIdx >= TILE_START[t]) return t;
  return 0;
}

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Merges sorted pairs: the new day's pairs take `day`; old pairs older than `minDay` expire. */
export function mergePairs(old: MerchantPairs, add: MerchantPairs, day: number, minDay: number): MerchantPairs {
  const out = emptyPairs(old.length + add.length);
  let i = 0;
  let j = 0;
  let o = 0;
  const push = (ri: number, mh: number, ml: number, d: number) => {
    out.ri[o] = ri;
    out.mh[o] = mh;
    out.ml[o] = ml;
    out.day[o++] = d;
  };
  while (i < old.length || j < add.length) {
    const c = i >= old.length ? 1 : j >= add.length ? -1 : cmpPair(old, i, add, j);
    if (c < 0) {
      if (old.day[i] >= minDay) push(old.ri[i], old.mh[i], old.ml[i], old.day[i]);
      i++;
    } else {
      push(add.ri[j], add.mh[j], add.ml[j], day);
      if (c === 0) i++;
      j++;
    }
  }
  out.length = o;
  return out;
}

function cmpPair(a: MerchantPairs, i: number, b: MerchantPairs, j: number): number {
  return a.ri[i] - b.ri[j] || a.mh[i] - b.mh[j] || a.ml[i] - b.ml[j];
}

/** The SQL select list of payment-window-max.sql: max and arg max per window but the first. */
export function windowMaxSql(): string {
  return WINDOWS.slice(1)
    .map((w, i) => `max(amt_c) FILTER (WHERE day_idx < ${w.days}) AS max_${i + 1}, arg_max(day_idx, amt_c) FILTER (WHERE day_idx < ${w.days}) AS arg_${i + 1}`)
    .join(',\n       ');
}

const SUM_TARGETS = SUM_AGGS.map((a) => WINDOWS.map((w) => featureIndex(`${a.col}_${w.name}`)));
const SUM_CENTS = SUM_AGGS.map((a) => a.cents === true);
const MAX_AGG = TILE_AGGREGATES.find((a) => a.agg === 'max')!.col;
const DAYS_AGG = TILE_AGGREGATES.find((a) => a.agg === 'days')!.col;
const MAX_TARGETS = WINDOWS.map((w) => featureIndex(`${MAX_AGG}_${w.name}`));
const DAYS_TARGETS = WINDOWS.map((w) => featureIndex(`${DAYS_AGG}_${w.name}`));
const MERCHANT_TARGETS = WINDOWS.map((w) => featureIndex(`distinct_merchants_${w.name}`));
const RECENCY_TARGETS = PAYMENT_RECENCY.map((r) => featureIndex(r.feature));
const FIRST_TARGET = featureIndex(FIRST_PAYMENT_FEATURE);
if (TILE_AGGREGATES.filter((a) => a.agg !== 'sum').length !== 2) throw new Error('payment state expects exactly one max and one days aggregate');
