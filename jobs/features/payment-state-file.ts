/**
 * Stores a slice's payment state (core/payment-state.ts) between nights: one binary file per
 * chunk of buckets and date, `<world>/features/state/buckets=<lo>-<hi>/as_of=<date>.bin`. Layout:
 * 8-byte magic, a uint32 header length, a JSON header (format, as-of date, users, feature-set
 * hash, sections with type, offset and length), then the sections (typed arrays, 8-byte
 * aligned, little-endian as the machine; a float64 array whose values are all exact in float32
 * is stored as float32 and widened on reading) and the users' ids. Written to a temporary name and
 * renamed, so a reader sees a whole file or none; a file that does not parse is reported and the
 * night falls back to a full rebuild.
 */
import fs from 'node:fs';
import path from 'node:path';
import { version as duckdbVersion } from '@duckdb/node-api';
import { epochDay } from '../../core/dates';
import { FEATURE_SET_HASH } from '../../core/feature-registry';
import { PaymentState } from '../../core/payment-state';

const MAGIC = Buffer.from('PDSTATE1');
const MERCHANT_HASH = `duckdb ${duckdbVersion()} hash()`;
const TYPES = { f64: Float64Array, f32: Float32Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array } as const;
type TypeName = keyof typeof TYPES;

export interface StoredState {
  state: PaymentState;
  /** The users of the rows, in row order. */
  userIds: string[];
  asOf: string;
}

interface Header {
  format: 1;
  as_of: string;
  n: number;
  feature_set_hash: string;
  /** Who hashed the merchant ids of the pairs (DuckDB's hash(), which may change between releases). */
  merchant_hash: string;
  /** `widen`: a Float64Array stored as float32 because every value fit exactly (read back as f64). */
  sections: { name: string; type: TypeName; offset: number; length: number; widen?: true }[];
}

/** `v` as float32 when every value survives the round trip exactly (counts, most cent sums), else null. */
function narrow(v: Float64Array): Float32Array | null {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    out[i] = x;
    if (out[i] !== x && x === x) return null; // NaN (no value yet) survives as NaN
  }
  return out;
}

export function stateFile(worldDir: string, bucketLo: number, bucketHi: number, asOf: string): string {
  return path.join(worldDir, 'features', 'state', `buckets=${bucketLo}-${bucketHi}`, `as_of=${asOf}.bin`);
}

export function writeStateFile(file: string, s: StoredState): number {
  // float64 sections that hold exact float32 values (counts, cents under 2^24) are stored at half size
  const secs: [string, ArrayBufferView, boolean][] = Object.entries(s.state.sections()).map(([name, v]) => {
    const n32 = v instanceof Float64Array ? narrow(v) : null;
    return n32 ? [name, n32, true] : [name, v, false];
  });
  secs.push(['userIds', Buffer.from(s.userIds.join('\n')), false]);
  const header: Header = { format: 1, as_of: s.asOf, n: s.state.n, feature_set_hash: FEATURE_SET_HASH, merchant_hash: MERCHANT_HASH, sections: [] };
  // offsets are relative to the end of the header block; sizes first, then one pass of writes
  let off = 0;
  for (const [name, v, widen] of secs) {
    header.sections.push({ name, type: typeName(v), offset: off, length: (v as Uint8Array).length, ...(widen ? { widen: true as const } : {}) });
    off = align8(off + v.byteLength);
  }
  const head = Buffer.from(JSON.stringify(header));
  const pre = Buffer.alloc(align8(MAGIC.length + 4 + head.length));
  MAGIC.copy(pre, 0);
  pre.writeUInt32LE(head.length, MAGIC.length);
  head.copy(pre, MAGIC.length + 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, pre);
    let pos = pre.length;
    for (let i = 0; i < secs.length; i++) {
      const v = secs[i][1];
      const at = pre.length + header.sections[i].offset;
      if (at > pos) fs.writeSync(fd, Buffer.alloc(at - pos));
      fs.writeSync(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      pos = at + v.byteLength;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return pre.length + off;
}

/** Reads a state file; throws an Error saying what is wrong when it is not a usable state. */
export function readStateFile(file: string): StoredState {
  const buf = fs.readFileSync(file);
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${file}: not a payment state file`);
  const hlen = buf.readUInt32LE(MAGIC.length);
  const header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen).toString()) as Header;
  if (header.format !== 1) throw new Error(`${file}: unknown state format ${header.format}`);
  if (header.feature_set_hash !== FEATURE_SET_HASH) throw new Error(`${file}: written for feature set ${header.feature_set_hash}, this build has ${FEATURE_SET_HASH}`);
  // merchant pairs merge by hash: another DuckDB's hash() would count a merchant twice
  if (header.merchant_hash !== MERCHANT_HASH) throw new Error(`${file}: merchant ids hashed by ${header.merchant_hash ?? 'an unrecorded function'}, this build uses ${MERCHANT_HASH}`);
  const base = align8(MAGIC.length + 4 + hlen);
  const sec: Record<string, ArrayBufferView> = {};
  for (const s of header.sections) {
    const T = TYPES[s.type];
    if (!T) throw new Error(`${file}: section ${s.name} has unknown type ${s.type}`);
    const start = buf.byteOffset + base + s.offset;
    const bytes = s.length * T.BYTES_PER_ELEMENT;
    if (base + s.offset + bytes > buf.length) throw new Error(`${file}: truncated in section ${s.name}`);
    // copy when the file buffer is not aligned for the element type
    const v = start % T.BYTES_PER_ELEMENT === 0 ? new T(buf.buffer, start, s.length) : new T(buf.buffer.slice(start, start + bytes));
    if (!s.widen) {
      sec[s.name] = v;
      continue;
    }
    if (!(v instanceof Float32Array)) throw new Error(`${file}: section ${s.name} is marked widen but is ${s.type}`);
    sec[s.name] = new Float64Array(s.length);
    (sec[s.name] as Float64Array).set(v);
  }
  const ids = sec.userIds as Uint8Array | undefined;
  if (!ids) throw new Error(`${file}: no user ids`);
  const userIds = header.n === 0 ? [] : Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength).toString().split('\n');
  if (userIds.length !== header.n) throw new Error(`${file}: ${userIds.length} user ids for ${header.n} rows`);
  return { state: PaymentState.fromSections(header.n, epochDay(header.as_of), sec), userIds, asOf: header.as_of };
}

/** Deletes this chunk's state files older than `keepFrom` (the previous night's stays for reruns). */
export function pruneStateFiles(file: string, keepFrom: string): void {
  const dir = path.dirname(file);
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const m = /^as_of=(\d{4}-\d{2}-\d{2})\.bin$/.exec(f);
    const full = path.join(dir, f);
    // temporary files of a writer that died, once surely not in use
    const staleTmp = f.endsWith('.tmp') && Date.now() - fs.statSync(full).mtimeMs > 3_600_000;
    if ((m && m[1] < keepFrom) || staleTmp) fs.rmSync(full, { force: true });
  }
}

function typeName(v: ArrayBufferView): TypeName {
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint32Array) return 'u32';
  if (v instanceof Uint8Array) return 'u8';
  throw new Error('unsupported section type');
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
