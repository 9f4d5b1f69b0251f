/**
 * The packed per-user score record: a fixed 36 bytes, little-endian, written by the nightly
 * scorer into Redis and read by the online service in one round trip.
 *
 * | bytes | field |
 * |---|---|
 * | 0 | format version (2) |
 * | 1 | flags: bit0 = user had no recent activity (defaults used); bits 1-2 KYC tier, bit 3 credit eligible, bit 4 opted out of in-app messages, bit 5 = bits 1-4 are set (the profile the online gates need); bits 6-7 reserved |
 * | 2-3 | u16 model tag: low 16 bits of md5_number_lower(model version), see {@link modelTagOf} |
 * | 4-15 | six u16 scores in `ACTIONS` order: the calibrated uptake P(goal \| offered), round(p × 65535), clamped to 0..65535 (NaN → 0) |
 * | 16-27 | six i16 estimated uplifts in `ACTIONS` order: round(u × 32767), clamped to −1..1 (NaN → 0; `none` is 0) |
 * | 28-33 | six u8 best campaign index per action, 0xFF = none |
 * | 34 | u8 gate bits: bit i = action i passes its compliance gates at batch time |
 * | 35 | checksum: XOR of bytes 0-34 and {@link CHECKSUM_SEED} (non-zero, so all-zero bytes are invalid) |
 *
 * Format 1 (24 bytes, scores only) ended with the uplift models (issue 5): the policy needs both
 * the uplift (incremental value) and the uptake (what an offer costs).
 *
 * Pure: no I/O. The batch encoder writes straight from the scorer's typed arrays.
 */
import { hash } from 'node:crypto';
import { ACTIONS, type Action } from './actions';
import { ErrorCodes, PaydecideError } from './errors';

export const RECORD_BYTES = 36;
export const RECORD_FORMAT_VERSION = 2;
/** Number of actions a record holds (the length of `ACTIONS`). */
export const RECORD_ACTIONS = 6;
/** XORed into the checksum so an all-zero (or zero-filled) record never validates. */
export const CHECKSUM_SEED = 0x5a;
/** Campaign byte meaning "no campaign for this action". */
export const NO_CAMPAIGN = 0xff;
/** Largest score code: a probability of 1. */
export const SCORE_SCALE = 65535;
/** Uplift code of +1 (−1 is −UPLIFT_SCALE). */
export const UPLIFT_SCALE = 32767;

export const RECORD_FLAGS = {
  /** The user had no recent activity; the scorer used feature defaults. */
  NO_ACTIVITY: 1,
  /** Bits 1-4 carry the user's gate profile (see {@link profileFlags}). */
  HAS_PROFILE: 32,
} as const;

/** The profile bits of the flags byte: what the online service needs to re-run the gates. */
export interface RecordProfile {
  kycTier: number;
  creditEligible: boolean;
  optoutInApp: boolean;
}

/** Flags bits 1-5 for a user's gate profile (OR them with NO_ACTIVITY). */
export function profileFlags(kycTier: number, creditEligible: boolean, optoutInApp: boolean): number {
  return RECORD_FLAGS.HAS_PROFILE | ((kycTier & 3) << 1) | (creditEligible ? 8 : 0) | (optoutInApp ? 16 : 0);
}

/** The gate profile of a flags byte, or null when the record does not carry one. */
export function profileOf(flags: number): RecordProfile | null {
  if ((flags & RECORD_FLAGS.HAS_PROFILE) === 0) return null;
  return { kycTier: (flags >> 1) & 3, creditEligible: (flags & 8) !== 0, optoutInApp: (flags & 16) !== 0 };
}

const OFF_FLAGS = 1;
const OFF_TAG = 2;
const OFF_SCORES = 4;
const OFF_UPLIFT = 16;
const OFF_CAMPAIGNS = 28;
const OFF_GATES = 34;
const OFF_CHECK = 35;

if (ACTIONS.length !== RECORD_ACTIONS) throw new Error('score record holds exactly 6 actions');

/** A record as the encoder takes it. `gates` (by name) wins over `gateBits` when both are given. */
export interface ScoreRecordInput {
  flags?: number;
  modelTag: number;
  /** Probabilities in `ACTIONS` order. */
  scores: ArrayLike<number>;
  /** Estimated uplifts in `ACTIONS` order (−1..1); all 0 when absent. */
  uplift?: ArrayLike<number>;
  /** Best campaign index (0..254) per action, or null / 0xFF for none. */
  campaigns: ArrayLike<number | null>;
  gateBits?: number;
  gates?: Partial<Record<Action, boolean>>;
}

export interface DecodedScoreRecord {
  formatVersion: number;
  flags: number;
  modelTag: number;
  /** Dequantised probabilities (code / 65535) in `ACTIONS` order. */
  scores: number[];
  /** Dequantised uplifts (code / 32767) in `ACTIONS` order. */
  uplift: number[];
  campaigns: (number | null)[];
  gateBits: number;
  gates: Record<Action, boolean>;
}

/**
 * The model tag stored in records: md5(modelVersion) digest bytes 8..9 as a little-endian u16,
 * i.e. `md5_number_lower(model_version) & 65535` in DuckDB, so SQL and TypeScript agree.
 */
export function modelTagOf(modelVersion: string): number {
  return hash('md5', modelVersion, 'buffer').readUInt16LE(8);
}

/** Probability → u16 code: round half up, clamped; NaN and negatives → 0. */
export function quantiseScore(p: number): number {
  const v = p * SCORE_SCALE + 0.5;
  // `v > 0` is false for NaN, so NaN lands on 0 too.
  return v > 0 ? (v < SCORE_SCALE ? Math.floor(v) : SCORE_SCALE) : 0;
}

export function dequantiseScore(code: number): number {
  return code / SCORE_SCALE;
}

/** Uplift → i16 code (as its u16 bit pattern): round half up, clamped to ±1; NaN → 0. */
export function quantiseUplift(u: number): number {
  const v = Math.floor(u * UPLIFT_SCALE + 0.5);
  const c = v > -UPLIFT_SCALE ? (v < UPLIFT_SCALE ? v : UPLIFT_SCALE) : v <= -UPLIFT_SCALE ? -UPLIFT_SCALE : 0;
  return c & 0xffff;
}

export function dequantiseUplift(code: number): number {
  return ((code << 16) >> 16) / UPLIFT_SCALE;
}

function checkU16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${name} must be an integer 0..65535, got ${v}`);
}
function checkU8(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${name} must be an integer 0..255, got ${v}`);
}

/** Writes one record at `offset` (RECORD_BYTES). Throws RangeError on out-of-range tags, flags or campaigns. */
export function encodeRecordInto(buf: Uint8Array, offset: number, rec: ScoreRecordInput): void {
  if (offset < 0 || offset + RECORD_BYTES > buf.length) throw new RangeError(`record at ${offset} does not fit a buffer of ${buf.length} bytes`);
  const flags = rec.flags ?? 0;
  checkU8('flags', flags);
  checkU16('modelTag', rec.modelTag);
  if (rec.scores.length !== RECORD_ACTIONS) throw new RangeError(`scores must have ${RECORD_ACTIONS} entries`);
  if (rec.campaigns.length !== RECORD_ACTIONS) throw new RangeError(`campaigns must have ${RECORD_ACTIONS} entries`);
  if (rec.uplift && rec.uplift.length !== RECORD_ACTIONS) throw new RangeError(`uplift must have ${RECORD_ACTIONS} entries`);
  let gateBits = rec.gateBits ?? 0;
  if (rec.gates) {
    gateBits = 0;
    for (let i = 0; i < RECORD_ACTIONS; i++) if (rec.gates[ACTIONS[i]]) gateBits |= 1 << i;
  }
  checkU8('gateBits', gateBits);

  buf[offset] = RECORD_FORMAT_VERSION;
  buf[offset + OFF_FLAGS] = flags;
  buf[offset + OFF_TAG] = rec.modelTag & 0xff;
  buf[offset + OFF_TAG + 1] = rec.modelTag >>> 8;
  for (let i = 0; i < RECORD_ACTIONS; i++) {
    const q = quantiseScore(rec.scores[i]);
    buf[offset + OFF_SCORES + 2 * i] = q & 0xff;
    buf[offset + OFF_SCORES + 2 * i + 1] = q >>> 8;
    const u = quantiseUplift(rec.uplift ? rec.uplift[i] : 0);
    buf[offset + OFF_UPLIFT + 2 * i] = u & 0xff;
    buf[offset + OFF_UPLIFT + 2 * i + 1] = u >>> 8;
    const c = rec.campaigns[i];
    if (c === null || c === undefined) buf[offset + OFF_CAMPAIGNS + i] = NO_CAMPAIGN;
    else {
      checkU8(`campaigns[${i}]`, c);
      buf[offset + OFF_CAMPAIGNS + i] = c;
    }
  }
  buf[offset + OFF_GATES] = gateBits;
  let x = CHECKSUM_SEED;
  for (let i = 0; i < OFF_CHECK; i++) x ^= buf[offset + i];
  buf[offset + OFF_CHECK] = x;
}

/** One record as a fresh Buffer of RECORD_BYTES. */
export function encodeRecord(rec: ScoreRecordInput): Buffer {
  const b = Buffer.alloc(RECORD_BYTES);
  encodeRecordInto(b, 0, rec);
  return b;
}

/**
 * Encodes n records from the scorer's column arrays into one n×RECORD_BYTES Buffer (one
 * allocation). `scores` is n×6 row-major probabilities, `uplift` n×6 row-major uplifts,
 * `campaigns` n×6 indices (0xFF = none), `gates` and
 * `flags` one byte per user. Produces exactly what {@link encodeRecordInto} would, record by record.
 */
export function encodeRecords(n: number, scores: Float32Array, uplift: Float32Array, campaigns: Uint8Array, gates: Uint8Array, flags: Uint8Array, modelTag: number): Buffer {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  checkU16('modelTag', modelTag);
  if (scores.length < n * RECORD_ACTIONS) throw new RangeError(`scores holds ${scores.length} values, need ${n * RECORD_ACTIONS}`);
  if (uplift.length < n * RECORD_ACTIONS) throw new RangeError(`uplift holds ${uplift.length} values, need ${n * RECORD_ACTIONS}`);
  if (campaigns.length < n * RECORD_ACTIONS) throw new RangeError(`campaigns holds ${campaigns.length} values, need ${n * RECORD_ACTIONS}`);
  if (gates.length < n) throw new RangeError(`gates holds ${gates.length} values, need ${n}`);
  if (flags.length < n) throw new RangeError(`flags holds ${flags.length} values, need ${n}`);
  // allocUnsafe is safe here: every byte of every record is written below.
  const out = Buffer.allocUnsafeSlow(n * RECORD_BYTES);
  const tagLo = modelTag & 0xff;
  const tagHi = modelTag >>> 8;
  const headCheck = CHECKSUM_SEED ^ RECORD_FORMAT_VERSION ^ tagLo ^ tagHi;
  for (let u = 0, o = 0, s = 0; u < n; u++, o += RECORD_BYTES, s += RECORD_ACTIONS) {
    const f = flags[u];
    const g = gates[u];
    out[o] = RECORD_FORMAT_VERSION;
    out[o + 1] = f;
    out[o + 2] = tagLo;
    out[o + 3] = tagHi;
    let x = headCheck ^ f ^ g;
    for (let i = 0; i < RECORD_ACTIONS; i++) {
      const v = scores[s + i] * SCORE_SCALE + 0.5;
      const q = v > 0 ? (v < SCORE_SCALE ? Math.floor(v) : SCORE_SCALE) : 0;
      const lo = q & 0xff;
      const hi = q >>> 8;
      const uv = Math.floor(uplift[s + i] * UPLIFT_SCALE + 0.5);
      const uq = (uv > -UPLIFT_SCALE ? (uv < UPLIFT_SCALE ? uv : UPLIFT_SCALE) : uv <= -UPLIFT_SCALE ? -UPLIFT_SCALE : 0) & 0xffff;
      const ulo = uq & 0xff;
      const uhi = uq >>> 8;
      const c = campaigns[s + i];
      out[o + OFF_SCORES + 2 * i] = lo;
      out[o + OFF_SCORES + 2 * i + 1] = hi;
      out[o + OFF_UPLIFT + 2 * i] = ulo;
      out[o + OFF_UPLIFT + 2 * i + 1] = uhi;
      out[o + OFF_CAMPAIGNS + i] = c;
      x ^= lo ^ hi ^ ulo ^ uhi ^ c;
    }
    out[o + OFF_GATES] = g;
    out[o + OFF_CHECK] = x;
  }
  return out;
}

function corrupt(why: string): PaydecideError {
  return new PaydecideError(ErrorCodes.RECORD_CORRUPT, `score record is corrupt: ${why}`, { details: { why } });
}

/** True when `buf[offset..offset+RECORD_BYTES)` has the right version and checksum. Never throws. */
export function isValidRecord(buf: Uint8Array, offset = 0): boolean {
  if (offset < 0 || offset + RECORD_BYTES > buf.length) return false;
  if (buf[offset] !== RECORD_FORMAT_VERSION) return false;
  let x = CHECKSUM_SEED;
  for (let i = 0; i < OFF_CHECK; i++) x ^= buf[offset + i];
  return x === buf[offset + OFF_CHECK];
}

/**
 * Decodes one record. `buf` must be exactly RECORD_BYTES (a Redis value), or pass `offset` to
 * read one record out of a larger n×RECORD_BYTES buffer. Throws PaydecideError RECORD_CORRUPT on a wrong
 * length, format version or checksum.
 */
export function decodeRecord(buf: Uint8Array, offset?: number): DecodedScoreRecord {
  const o = offset ?? 0;
  if (offset === undefined) {
    if (buf.length !== RECORD_BYTES) throw corrupt(`length ${buf.length}, expected ${RECORD_BYTES}`);
  } else if (o < 0 || o + RECORD_BYTES > buf.length) throw corrupt(`offset ${o} outside a buffer of ${buf.length} bytes`);
  if (buf[o] !== RECORD_FORMAT_VERSION) throw corrupt(`format version ${buf[o]}, expected ${RECORD_FORMAT_VERSION}`);
  let x = CHECKSUM_SEED;
  for (let i = 0; i < OFF_CHECK; i++) x ^= buf[o + i];
  if (x !== buf[o + OFF_CHECK]) throw corrupt('checksum mismatch');

  const scores: number[] = new Array(RECORD_ACTIONS);
  const uplift: number[] = new Array(RECORD_ACTIONS);
  const campaigns: (number | null)[] = new Array(RECORD_ACTIONS);
  const gateBits = buf[o + OFF_GATES];
  const gates = {} as Record<Action, boolean>;
  for (let i = 0; i < RECORD_ACTIONS; i++) {
    scores[i] = (buf[o + OFF_SCORES + 2 * i] | (buf[o + OFF_SCORES + 2 * i + 1] << 8)) / SCORE_SCALE;
    uplift[i] = dequantiseUplift(buf[o + OFF_UPLIFT + 2 * i] | (buf[o + OFF_UPLIFT + 2 * i + 1] << 8));
    const c = buf[o + OFF_CAMPAIGNS + i];
    campaigns[i] = c === NO_CAMPAIGN ? null : c;
    gates[ACTIONS[i]] = (gateBits & (1 << i)) !== 0;
  }
  return {
    formatVersion: buf[o],
    flags: buf[o + OFF_FLAGS],
    modelTag: buf[o + OFF_TAG] | (buf[o + OFF_TAG + 1] << 8),
    scores,
    uplift,
    campaigns,
    gateBits,
    gates,
  };
}
