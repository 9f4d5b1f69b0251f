/**
 * Input checksums are skipped only for files untouched since they were hashed: a rewrite of the
 * same size with its mtime put back is still caught (its ctime moved), a copy is hashed again,
 * and `always` hashes everything.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../jobs/world';
import { verifySliceFiles } from '../../jobs/world/verified-inputs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-verified-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function setup(name: string) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const a = path.join(dir, 'a.parquet');
  const b = path.join(dir, 'b.parquet');
  fs.writeFileSync(a, 'alpha-contents');
  fs.writeFileSync(b, 'beta-contents');
  const sums = new Map([[a, await sha256File(a)], [b, await sha256File(b)]]);
  const recordFile = path.join(dir, 'verified', 'buckets=0-1.json');
  return { dir, a, b, expected: (f: string) => sums.get(f), recordFile };
}

describe('verified inputs', () => {
  it('hashes once, then skips unchanged files', async () => {
    const s = await setup('once');
    expect(await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' })).toEqual({ hashed: 2, skipped: 0 });
    expect(await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' })).toEqual({ hashed: 0, skipped: 2 });
    expect(await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'always' })).toEqual({ hashed: 2, skipped: 0 });
  });

  it('catches a same-size rewrite whose mtime was put back', async () => {
    const s = await setup('rewrite');
    const when = new Date('2026-01-01T00:00:00Z');
    fs.utimesSync(s.a, when, when);
    await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' });
    const before = fs.statSync(s.a, { bigint: true });
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(s.a, 'ALPHA-contents');
    fs.utimesSync(s.a, when, when);
    const after = fs.statSync(s.a, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    await expect(verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' })).rejects.toMatchObject({ code: 'PD_ERR_INPUT_CORRUPT' });
  });

  it('hashes a file replaced by a copy of itself, and refuses a missing file', async () => {
    const s = await setup('copy');
    await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' });
    fs.copyFileSync(s.b, `${s.b}.copy`);
    fs.renameSync(`${s.b}.copy`, s.b);
    expect(await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' })).toEqual({ hashed: 1, skipped: 1 });
    fs.rmSync(s.a);
    await expect(verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' })).rejects.toMatchObject({ code: 'PD_ERR_INPUT_MISSING' });
  });

  it('treats an unreadable record as no record', async () => {
    const s = await setup('garbled');
    await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' });
    fs.writeFileSync(s.recordFile, '{"format": 1, "files": ');
    expect(await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' })).toEqual({ hashed: 2, skipped: 0 });
    expect(await verifySliceFiles([s.a, s.b], s.expected, { recordFile: s.recordFile, mode: 'changed' })).toEqual({ hashed: 0, skipped: 2 });
  });
});
