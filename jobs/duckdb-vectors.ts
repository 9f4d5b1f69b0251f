/**
 * Zero-copy access to DuckDB result vectors as typed arrays. The node-api exposes each numeric
 * vector's native buffer as `items` (a typed array) and its validity mask as 64-bit words; reading
 * those directly avoids one JS call per value, which matters at millions of rows × dozens of
 * columns. NULLs become NaN in `numericColumn`.
 */
import type { DuckDBDataChunk, DuckDBResult } from '@duckdb/node-api';

type Items = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
interface RawVector {
  items?: unknown;
  validity?: { data: BigUint64Array | null; offset: number };
}

function rawItems(chunk: DuckDBDataChunk, col: number): { items: Items; valid: Uint32Array | null } {
  const vec = chunk.getColumnVector(col) as unknown as RawVector;
  const items = vec.items;
  if (!ArrayBuffer.isView(items) || items instanceof DataView || items instanceof BigInt64Array || items instanceof BigUint64Array) {
    throw new Error(`column ${col} (${chunk.getColumnVector(col).type}) is not a numeric vector with a typed buffer`);
  }
  const data = vec.validity?.data ?? null;
  if (data && vec.validity!.offset !== 0) throw new Error('sliced validity masks are not supported');
  return { items: items as Items, valid: data ? new Uint32Array(data.buffer, data.byteOffset, data.length * 2) : null };
}

/**
 * Column `col` of a chunk as a Float64Array copy; NULL → NaN. Always the same array type, so
 * the loops that consume it stay monomorphic (mixing typed-array kinds made them ~10× slower).
 */
export function numericColumn(chunk: DuckDBDataChunk, col: number): Float64Array {
  const { items, valid } = rawItems(chunk, col);
  const n = chunk.rowCount;
  const out = new Float64Array(n);
  if (!valid) {
    out.set(items.subarray(0, n));
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = (valid[i >>> 5] >>> (i & 31)) & 1 ? items[i] : NaN;
  return out;
}

/** Column `col` of a chunk as its typed buffer (no NULLs allowed: the query must not produce any). */
export function typedColumn(chunk: DuckDBDataChunk, col: number): Items {
  const { items, valid } = rawItems(chunk, col);
  const n = chunk.rowCount;
  if (valid) {
    for (let i = 0; i < n; i++) if (!((valid[i >>> 5] >>> (i & 31)) & 1)) throw new Error(`column ${col} has a NULL at row ${i}`);
  }
  return items.subarray(0, n);
}

/** Column `col` as a Uint32Array (copied when DuckDB's type differs); no NULLs allowed. */
export function uint32Column(chunk: DuckDBDataChunk, col: number): Uint32Array {
  const t = typedColumn(chunk, col);
  return t instanceof Uint32Array ? t : Uint32Array.from(t);
}

/** Column `col` as a Uint8Array (copied when DuckDB's type differs); no NULLs allowed. */
export function uint8Column(chunk: DuckDBDataChunk, col: number): Uint8Array {
  const t = typedColumn(chunk, col);
  return t instanceof Uint8Array ? t : Uint8Array.from(t);
}

/** Calls `fn` for every chunk of a result, in order. */
export async function forEachChunk(result: DuckDBResult, fn: (chunk: DuckDBDataChunk) => void): Promise<number> {
  let rows = 0;
  for (;;) {
    const c = await result.fetchChunk();
    if (!c || c.rowCount === 0) break;
    fn(c);
    rows += c.rowCount;
  }
  return rows;
}
