/** A verified Parquet part as CSV (header row, RFC 4180 quoting), for CRM tools that want CSV. */
import fs from 'node:fs';
import { closeDuckDB, openDuckDB, sqlString } from '../duckdb';

export async function parquetToCsv(parquet: string, csv: string): Promise<void> {
  const d = await openDuckDB({ threads: 1, memory: '512MB' });
  try {
    const tmp = `${csv}.${process.pid}.tmp`;
    await d.conn.run(`COPY (SELECT * FROM read_parquet(${sqlString(parquet)}, hive_partitioning = false)) TO ${sqlString(tmp)} (FORMAT csv, HEADER true)`);
    fs.renameSync(tmp, csv);
  } finally {
    closeDuckDB(d);
  }
}
