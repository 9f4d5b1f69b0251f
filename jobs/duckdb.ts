/**
 * DuckDB access for the batch jobs: one instance per process with the configured threads and
 * memory, SQL files from sql/ with their header comment, and the one identifier/literal quoting
 * helper (values are bound parameters wherever DuckDB allows; file paths in read_parquet/COPY
 * cannot be bound, so they go through `sqlString`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';

const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'sql');

export interface DuckOptions { threads: number; memory: string; tempDir?: string }

export async function openDuckDB(opts: DuckOptions, file = ':memory:'): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(file, {
    threads: String(opts.threads),
    memory_limit: opts.memory,
    preserve_insertion_order: 'false',
    ...(opts.tempDir ? { temp_directory: opts.tempDir } : {}),
  });
  const conn = await instance.connect();
  return { instance, conn };
}

export function closeDuckDB(d: { instance: DuckDBInstance; conn: DuckDBConnection }): void {
  d.conn.closeSync();
  d.instance.closeSync();
}

const cache = new Map<string, string>();
/** Reads `sql/<name>.sql` (cached). */
export function loadSql(name: string): string {
  let s = cache.get(name);
  if (s === undefined) {
    s = fs.readFileSync(path.join(SQL_DIR, `${name}.sql`), 'utf8');
    cache.set(name, s);
  }
  return s;
}

/** Quotes an identifier for DuckDB. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal (for paths in read_parquet/COPY, which cannot be bound parameters). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A list literal of strings: ['a', 'b']. */
export function sqlStringList(items: readonly string[]): string {
  return `[${items.map(sqlString).join(', ')}]`;
}

/**
 * Replaces `{{name}}` placeholders in a SQL template with pre-quoted fragments (file lists,
 * (headers name them `<name>`, so a comment never receives a multi-line fragment)
 * identifiers). Only for fragments built by the helpers above; values go in as `$params`.
 */
export function fillTemplate(sql: string, fragments: Record<string, string>): string {
  return sql.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = fragments[k];
    if (v === undefined) throw new Error(`SQL template fragment {{${k}}} not provided`);
    return v;
  });
}

/** Runs SQL with the named parameters it actually uses (DuckDB refuses unused named parameters). */
export async function runWithParams(conn: DuckDBConnection, sql: string, params: Record<string, DuckDBValue>): Promise<void> {
  const used: Record<string, DuckDBValue> = {};
  for (const [k, v] of Object.entries(params)) if (new RegExp(`\\$${k}\\b`).test(sql)) used[k] = v;
  await conn.run(sql, used);
}
