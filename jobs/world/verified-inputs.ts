/**
 * Input integrity of a chunk's slice: every file must match the sha256 that world.json records.
 * Hashing the whole slice each night costs ~0.3 CPU-s per 125K users although most files (the
 * users table, last month's payments) did not change since yesterday, so a chunk remembers which
 * files it has hashed, keyed by what the file system says about each: device, inode, size, and
 * mtime and ctime in nanoseconds. Any write to a file (or a rename over it, a copy, a restore)
 * changes its ctime, which no user call can set back, so such a file is hashed again; a file
 * untouched since it was hashed is not. What this does not catch is corruption without a write
 * (a failing disk): PAYDECIDE_VERIFY_INPUTS=always hashes every file every night.
 *
 * The record is one small JSON per chunk range, W/features/verified/buckets=lo-hi.json, written
 * by that chunk only (temp file + rename), holding the slice's files and nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { sha256File } from './world-manifest';

export type VerifyMode = 'changed' | 'always';

const stampSchema = z.object({ sha256: z.string(), dev: z.string(), ino: z.string(), size: z.string(), mtime_ns: z.string(), ctime_ns: z.string() });
const recordSchema = z.object({ format: z.literal(1), files: z.record(z.string(), stampSchema) });
type Stamp = z.infer<typeof stampSchema>;

export function verifiedRecordFile(worldDir: string, bucketLo: number, bucketHi: number): string {
  return path.join(worldDir, 'features', 'verified', `buckets=${bucketLo}-${bucketHi}.json`);
}

function stampOf(file: string, sha256: string): Stamp {
  const s = fs.statSync(file, { bigint: true });
  return { sha256, dev: String(s.dev), ino: String(s.ino), size: String(s.size), mtime_ns: String(s.mtimeNs), ctime_ns: String(s.ctimeNs) };
}

const sameStamp = (a: Stamp, b: Stamp) =>
  a.sha256 === b.sha256 && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtime_ns === b.mtime_ns && a.ctime_ns === b.ctime_ns;

function readRecord(file: string): Record<string, Stamp> {
  try {
    const r = recordSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return r.success ? r.data.files : {};
  } catch {
    return {}; // absent or unreadable: every file is hashed
  }
}

/**
 * Checks `files` against `expected(file)` (a file without an expected sum is only checked for
 * existence). Throws INPUT_MISSING or INPUT_CORRUPT naming the file. With mode 'changed', files
 * unchanged since this record last saw them match are not hashed again. Returns the counts.
 */
export async function verifySliceFiles(
  files: readonly string[],
  expected: (file: string) => string | undefined,
  opts: { recordFile: string; mode: VerifyMode },
): Promise<{ hashed: number; skipped: number }> {
  const known = opts.mode === 'changed' ? readRecord(opts.recordFile) : {};
  const next: Record<string, Stamp> = {};
  let hashed = 0;
  let skipped = 0;
  for (const f of files) {
    if (!fs.existsSync(f)) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `missing input file ${f}`, { details: { file: f } });
    const want = expected(f);
    if (!want) continue;
    const key = path.resolve(f);
    const before = stampOf(f, want);
    const seen = known[key];
    if (seen && sameStamp(seen, before)) {
      next[key] = seen;
      skipped++;
      continue;
    }
    const actual = await sha256File(f);
    hashed++;
    if (actual !== want) {
      throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `input file ${f} does not match its sha256 in world.json (corrupt or changed)`, { details: { file: f, expected: want, actual } });
    }
    // a write while hashing changes the stamp: then the next night hashes the file again
    next[key] = stampOf(f, want);
    if (!sameStamp(next[key], before)) delete next[key];
  }
  if (hashed > 0 || Object.keys(known).length !== Object.keys(next).length) {
    fs.mkdirSync(path.dirname(opts.recordFile), { recursive: true });
    const tmp = `${opts.recordFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify({ format: 1, files: next })}\n`);
    fs.renameSync(tmp, opts.recordFile);
  }
  return { hashed, skipped };
}
