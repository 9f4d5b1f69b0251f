/**
 * One batch of sink rows → one Parquet file (zstd), through DuckDB: the rows go to a temporary
 * NDJSON file that `read_json` reads with the table's declared column types, then COPY writes the
 * Parquet file. DuckDB's JSON reader parses and converts in C++, which beats one appender call
 * per value from JavaScript, and the declared types make every file of a table identical in schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, sqlString } from '../duckdb';
import type { SinkTable } from './sink-tables';

/** Writes `rows` to `file` (a local path; the caller publishes it) and returns its size in bytes. */
export async function writeParquetBatch(conn: DuckDBConnection, table: SinkTable, rows: readonly Record<string, unknown>[], file: string): Promise<number> {
  const ndjson = `${file}.ndjson`;
  try {
    const fd = fs.openSync(ndjson, 'w');
    try {
      // in slices, so a 50k-row batch never becomes one huge string
      for (let i = 0; i < rows.length; i += 2000) {
        fs.writeSync(fd, rows.slice(i, i + 2000).map((r) => JSON.stringify(r)).join('\n') + '\n');
      }
    } finally {
      fs.closeSync(fd);
    }
    const types = table.columns.map(([n, t]) => `${quoteIdent(n)}: ${sqlString(t)}`).join(', ');
    const cols = table.columns.map(([n]) => quoteIdent(n)).join(', ');
    await conn.run(
      `COPY (SELECT ${cols} FROM read_json(${sqlString(ndjson)}, format = 'newline_delimited', columns = {${types}}, maximum_object_size = 16777216)
             ORDER BY ${quoteIdent(table.ts)}, ${quoteIdent(table.key)})
       TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    return fs.statSync(file).size;
  } finally {
    fs.rmSync(ndjson, { force: true });
  }
}

export function tempParquetPath(dir: string, key: string): string {
  return path.join(dir, key.replaceAll('/', '_'));
}
