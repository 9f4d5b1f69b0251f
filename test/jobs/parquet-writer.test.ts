/**
 * The hand-written Parquet writer must produce files that two independent readers accept with
 * the same values: DuckDB and parquet-wasm (the Rust `parquet` crate) — several row groups,
 * strings, key-value metadata, and the empty file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlString } from '../../jobs/duckdb';
import { writeParquetFile } from '../../jobs/features/parquet-writer';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-pqw-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function duck<T>(fn: (q: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

describe('parquet writer', () => {
  const n = 300_000; // three row groups
  const a = Float32Array.from({ length: n }, (_, i) => Math.fround(i * 0.25 - 7));
  const b = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : Math.fround(1 / (i + 1))));
  const ids = Array.from({ length: n }, (_, i) => (i % 1000 === 0 ? `ü-${i}` : `u${i}`));
  const file = path.join(tmp, 't.parquet');
  const bytes = writeParquetFile(file, [
    { name: 'id', type: 'string', values: ids },
    { name: 'a', type: 'float', values: a },
    { name: 'b', type: 'float', values: b },
  ], { note: 'hello', feature_names: 'a,b' });

  it('reads back in DuckDB: rows, row groups, values, metadata', async () => {
    expect(fs.statSync(file).size).toBe(bytes);
    await duck(async (q) => {
      const f = sqlString(file);
      const [c] = await q(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM read_parquet(${f})`);
      expect(c).toEqual({ n, ids: n });
      const [rg] = await q(`SELECT count(DISTINCT row_group_id)::INTEGER AS g FROM parquet_metadata(${f})`);
      expect(rg.g).toBe(3);
      const rows = await q(`SELECT id, a, b FROM read_parquet(${f}) WHERE id IN ('u1', 'ü-123000', 'u299999')`);
      for (const r of rows) {
        const i = Number(String(r.id).replace(/^u|^ü-/, ''));
        expect(r.a).toBe(a[i]);
        expect(r.b).toBe(b[i]);
      }
      expect(rows).toHaveLength(3);
      const kv = await q(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${f}) ORDER BY k`);
      expect(kv).toEqual([{ k: 'feature_names', v: 'a,b' }, { k: 'note', v: 'hello' }]);
    });
  });

  it('reads back in parquet-wasm value for value', () => {
    const t = tableFromIPC(readParquet(new Uint8Array(fs.readFileSync(file))).intoIPCStream());
    expect(t.numRows).toBe(n);
    const ta = t.getChild('a')!.toArray() as Float32Array;
    const tb = t.getChild('b')!.toArray() as Float32Array;
    for (let i = 0; i < n; i++) if (ta[i] !== a[i] || tb[i] !== b[i]) throw new Error(`row ${i}: ${ta[i]}/${tb[i]} vs ${a[i]}/${b[i]}`);
    expect(t.getChild('id')!.get(123_000)).toBe('ü-123000');
  });

  it('writes an empty table that readers accept', async () => {
    const e = path.join(tmp, 'empty.parquet');
    writeParquetFile(e, [{ name: 'id', type: 'string', values: [] }, { name: 'x', type: 'float', values: new Float32Array(0) }]);
    await duck(async (q) => {
      expect(await q(`SELECT * FROM read_parquet(${sqlString(e)})`)).toEqual([]);
      const cols = await q(`DESCRIBE SELECT * FROM read_parquet(${sqlString(e)})`);
      expect(cols.map((c) => [c.column_name, c.column_type])).toEqual([['id', 'VARCHAR'], ['x', 'FLOAT']]);
    });
  });

  it('refuses columns of different lengths', () => {
    expect(() => writeParquetFile(path.join(tmp, 'bad.parquet'), [{ name: 'x', type: 'float', values: new Float32Array(2) }, { name: 'y', type: 'float', values: new Float32Array(3) }])).toThrow(/column y has 3 values, expected 2/);
  });
});
