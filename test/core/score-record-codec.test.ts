import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import {
  CHECKSUM_SEED,
  decodeRecord,
  encodeRecord,
  encodeRecordInto,
  encodeRecords,
  quantiseUplift,
  dequantiseUplift,
  isValidRecord,
  modelTagOf,
  quantiseScore,
  RECORD_BYTES,
  RECORD_FLAGS,
  type ScoreRecordInput,
} from '../../core/score-record-codec';

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectCorrupt(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PaydecideError);
    expect((e as PaydecideError).code).toBe(ErrorCodes.RECORD_CORRUPT);
    return;
  }
  throw new Error('expected RECORD_CORRUPT');
}

const sample: ScoreRecordInput = {
  flags: RECORD_FLAGS.NO_ACTIVITY,
  modelTag: 0xbeef,
  scores: [0, 0.25, 0.5, 0.999, 1, 0.0001],
  uplift: [-0.02, 0.031, 0, -1, 0.5, 0],
  campaigns: [3, null, 0, 254, 17, null],
  gates: { cashback: true, referral_prompt: false, autopay_setup: true, card_on_file: true, installment_offer: false, none: true },
};

describe('score record codec', () => {
  it('is 36 bytes and round-trips every field', () => {
    const b = encodeRecord(sample);
    expect(b.length).toBe(RECORD_BYTES);
    const d = decodeRecord(b);
    expect(RECORD_BYTES).toBe(36);
    expect(d.formatVersion).toBe(2);
    expect(d.flags).toBe(RECORD_FLAGS.NO_ACTIVITY);
    expect(d.modelTag).toBe(0xbeef);
    expect(d.campaigns).toEqual([3, null, 0, 254, 17, null]);
    expect(d.gates).toEqual(sample.gates);
    expect(d.gateBits).toBe(0b101101);
    for (let i = 0; i < 6; i++) expect(Math.abs(d.scores[i] - (sample.scores[i] as number))).toBeLessThanOrEqual(0.5 / 65535 + 1e-12);
    for (let i = 0; i < 6; i++) expect(Math.abs(d.uplift[i] - (sample.uplift![i] as number))).toBeLessThanOrEqual(0.5 / 32767 + 1e-12);
    // Re-encoding a decoded record gives the same bytes.
    expect(encodeRecord({ ...d })).toEqual(b);
    expect(Object.keys(d.gates)).toEqual([...ACTIONS]);
  });

  it('quantises with round-half-up and clamps to [0, 1]', () => {
    expect(quantiseScore(0)).toBe(0);
    expect(quantiseScore(1)).toBe(65535);
    expect(quantiseScore(0.5)).toBe(32768); // 32767.5 rounds up
    expect(quantiseScore(1 / 65535)).toBe(1);
    expect(quantiseScore(0.49 / 65535)).toBe(0);
    expect(quantiseScore(-0.3)).toBe(0);
    expect(quantiseScore(1.7)).toBe(65535);
    expect(quantiseScore(Number.NaN)).toBe(0);
    expect(quantiseScore(Number.POSITIVE_INFINITY)).toBe(65535);
    expect(quantiseScore(Number.NEGATIVE_INFINITY)).toBe(0);
    const d = decodeRecord(encodeRecord({ ...sample, scores: [-1, 2, Number.NaN, 1, 0, 0.5] }));
    expect(d.scores.slice(0, 5)).toEqual([0, 1, 0, 1, 0]);
    expect(d.scores[5]).toBeCloseTo(32768 / 65535, 12);
  });

  it('round-trips random records within half a quantisation step', () => {
    const r = rng(1);
    const buf = new Uint8Array(RECORD_BYTES * 500 + 5);
    for (let k = 0; k < 500; k++) {
      const rec: ScoreRecordInput = {
        flags: Math.floor(r() * 256),
        modelTag: Math.floor(r() * 65536),
        scores: Array.from({ length: 6 }, () => r()),
        campaigns: Array.from({ length: 6 }, () => (r() < 0.2 ? null : Math.floor(r() * 255))),
        gateBits: Math.floor(r() * 64),
      };
      encodeRecordInto(buf, 5 + k * RECORD_BYTES, rec);
      const d = decodeRecord(buf, 5 + k * RECORD_BYTES);
      expect(d.flags).toBe(rec.flags);
      expect(d.modelTag).toBe(rec.modelTag);
      expect(d.gateBits).toBe(rec.gateBits);
      expect(d.campaigns).toEqual(rec.campaigns);
      for (let i = 0; i < 6; i++) expect(Math.abs(d.scores[i] - (rec.scores[i] as number))).toBeLessThanOrEqual(0.5 / 65535 + 1e-12);
    }
  });

  it('rejects a wrong length, version or any single corrupted byte', () => {
    const b = encodeRecord(sample);
    expectCorrupt(() => decodeRecord(b.subarray(0, 23)));
    expectCorrupt(() => decodeRecord(Buffer.concat([b, Buffer.alloc(1)])));
    expectCorrupt(() => decodeRecord(Buffer.alloc(0)));
    expectCorrupt(() => decodeRecord(Buffer.alloc(RECORD_BYTES))); // all zero
    expect(isValidRecord(Buffer.alloc(RECORD_BYTES))).toBe(false);
    expect(CHECKSUM_SEED).not.toBe(0);
    for (let i = 0; i < RECORD_BYTES; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const c = Buffer.from(b);
        c[i] ^= mask;
        expectCorrupt(() => decodeRecord(c));
        expect(isValidRecord(c)).toBe(false);
      }
    }
    // A version-2 record with a correct checksum is still refused.
    const v2 = Buffer.from(b);
    v2[0] = 2;
    v2[23] ^= 1 ^ 2;
    expectCorrupt(() => decodeRecord(v2));
    expect(isValidRecord(b)).toBe(true);
  });

  it('refuses out-of-range inputs when encoding', () => {
    expect(() => encodeRecord({ ...sample, modelTag: 65536 })).toThrow(RangeError);
    expect(() => encodeRecord({ ...sample, campaigns: [256, null, null, null, null, null] })).toThrow(RangeError);
    expect(() => encodeRecord({ ...sample, scores: [0, 0, 0] })).toThrow(RangeError);
    expect(() => encodeRecord({ ...sample, uplift: [0, 0] })).toThrow(RangeError);
    expect(() => encodeRecordInto(Buffer.alloc(30), 10, sample)).toThrow(RangeError);
  });

  it('quantises uplift symmetrically and clamps to [-1, 1]', () => {
    expect(dequantiseUplift(quantiseUplift(0))).toBe(0);
    expect(dequantiseUplift(quantiseUplift(1))).toBe(1);
    expect(dequantiseUplift(quantiseUplift(-1))).toBe(-1);
    expect(dequantiseUplift(quantiseUplift(-3))).toBe(-1);
    expect(dequantiseUplift(quantiseUplift(2))).toBe(1);
    expect(quantiseUplift(Number.NaN)).toBe(0);
    expect(dequantiseUplift(quantiseUplift(-0.0123))).toBeCloseTo(-0.0123, 4);
  });

  it('batch encoder equals the single encoder, record by record', () => {
    const n = 2000;
    const r = rng(7);
    const scores = new Float32Array(n * 6);
    const uplift = new Float32Array(n * 6);
    const campaigns = new Uint8Array(n * 6);
    const gates = new Uint8Array(n);
    const flags = new Uint8Array(n);
    const edge = [0, 1, -0.5, 1.5, Number.NaN, 0.5, 1 / 65535, 0.5 / 65535];
    for (let i = 0; i < n * 6; i++) {
      scores[i] = i < edge.length * 6 ? edge[i % edge.length] : r();
      uplift[i] = i < edge.length * 6 ? -edge[(i + 3) % edge.length] : r() * 0.4 - 0.2;
      campaigns[i] = r() < 0.2 ? 0xff : Math.floor(r() * 40);
    }
    for (let u = 0; u < n; u++) {
      gates[u] = Math.floor(r() * 64);
      flags[u] = r() < 0.1 ? RECORD_FLAGS.NO_ACTIVITY : 0;
    }
    const tag = modelTagOf('model-2024-01-01');
    const batch = encodeRecords(n, scores, uplift, campaigns, gates, flags, tag);
    expect(batch.length).toBe(n * RECORD_BYTES);
    const single = Buffer.alloc(n * RECORD_BYTES);
    for (let u = 0; u < n; u++) {
      encodeRecordInto(single, u * RECORD_BYTES, {
        flags: flags[u],
        modelTag: tag,
        scores: Array.from(scores.subarray(u * 6, u * 6 + 6)),
        uplift: Array.from(uplift.subarray(u * 6, u * 6 + 6)),
        campaigns: Array.from(campaigns.subarray(u * 6, u * 6 + 6), (c) => (c === 0xff ? null : c)),
        gateBits: gates[u],
      });
    }
    expect(batch.equals(single)).toBe(true);
    for (let u = 0; u < n; u += 97) expect(decodeRecord(batch.subarray(u * RECORD_BYTES, (u + 1) * RECORD_BYTES)).modelTag).toBe(tag);
    expect(encodeRecords(0, scores, uplift, campaigns, gates, flags, tag).length).toBe(0);
    expect(() => encodeRecords(n + 1, scores, uplift, campaigns, gates, flags, tag)).toThrow(RangeError);
  });

  it('model tag is stable and 16-bit', () => {
    expect(modelTagOf('a')).toBe(modelTagOf('a'));
    expect(modelTagOf('a')).not.toBe(modelTagOf('b'));
    expect(modelTagOf('x')).toBeGreaterThanOrEqual(0);
    expect(modelTagOf('x')).toBeLessThan(65536);
  });
});
