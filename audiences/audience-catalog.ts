/**
 * Reading published audiences from the store: what exists (list), one manifest (describe), and
 * a verified download (pull). Pull checks every part's size and sha256 against the manifest and
 * refuses the whole audience when one does not match or the manifest is missing: nothing
 * unverified is left in the target folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCodes, PaydecideError } from '../core/errors';
import { sha256File, type ObjectStore } from '../core/object-store';
import { audienceManifestSchema, manifestKey, parseManifest, type AudienceManifest, type Part } from './audience-manifest';

export interface AudienceListing {
  audience: string;
  date: string;
  rows: number;
  rows_sent: number;
  campaign_id: number;
  action: string;
  channel: string;
  parts: number;
  bytes: number;
}

const MANIFEST_RE = /^([a-z0-9][a-z0-9_-]*)\/date=(\d{4}-\d{2}-\d{2})\/manifest\.json$/;

/** Every (audience, date) with a manifest, as {audience, date, key}, sorted. */
export async function manifestKeys(store: ObjectStore, audience?: string): Promise<{ audience: string; date: string; key: string }[]> {
  const objs = await store.list(audience ? `${audience}/` : '');
  const out: { audience: string; date: string; key: string }[] = [];
  for (const o of objs) {
    const m = MANIFEST_RE.exec(o.key);
    if (m && !m[1].startsWith('_')) out.push({ audience: m[1], date: m[2], key: o.key });
  }
  return out.sort((a, b) => (a.audience === b.audience ? (a.date < b.date ? -1 : 1) : a.audience < b.audience ? -1 : 1));
}

export async function readAudienceManifest(store: ObjectStore, audience: string, date?: string): Promise<AudienceManifest> {
  let d = date;
  if (!d) {
    const keys = await manifestKeys(store, audience);
    if (keys.length === 0) throw new PaydecideError(ErrorCodes.AUDIENCE_NOT_FOUND, `audience ${audience}: nothing published in ${store.url}`, { exitCode: 2 });
    d = keys[keys.length - 1].date;
  }
  const key = manifestKey(audience, d);
  let bytes: Buffer;
  try {
    bytes = await store.get(key);
  } catch (e) {
    if (e instanceof PaydecideError && e.code === ErrorCodes.OBJECT_MISSING) {
      throw new PaydecideError(ErrorCodes.AUDIENCE_NOT_FOUND, `audience ${audience} of ${d}: no manifest at ${store.url}/${key} (not published, or its run did not finish)`, { exitCode: 2 });
    }
    throw e;
  }
  const m = parseManifest(audienceManifestSchema, bytes, `${store.url}/${key}`);
  if (m.audience !== audience || m.date !== d) throw new PaydecideError(ErrorCodes.AUDIENCE_CORRUPT, `${store.url}/${key}: says audience ${m.audience} of ${m.date}`);
  return m;
}

/** One line per (audience, date), newest date last; `latestOnly` keeps each audience's newest. */
export async function listAudiences(store: ObjectStore, latestOnly = false): Promise<AudienceListing[]> {
  let keys = await manifestKeys(store);
  if (latestOnly) keys = keys.filter((k, i) => i === keys.length - 1 || keys[i + 1].audience !== k.audience);
  const out: AudienceListing[] = [];
  for (const k of keys) {
    const m = await readAudienceManifest(store, k.audience, k.date);
    out.push({ audience: m.audience, date: m.date, rows: m.rows, rows_sent: m.rows_sent, campaign_id: m.campaign_id, action: m.action, channel: m.channel, parts: m.parts.length, bytes: m.parts.reduce((a, p) => a + p.bytes, 0) });
  }
  return out;
}

/** Downloads one part to `file` and checks it; a mismatch removes the file and throws. */
export async function fetchVerifiedPart(store: ObjectStore, folder: string, part: Part, file: string): Promise<void> {
  const key = `${folder}/${part.file}`;
  await store.getToFile(key, file);
  const size = fs.statSync(file).size;
  const sha = await sha256File(file);
  if (size !== part.bytes || sha !== part.sha256) {
    fs.rmSync(file, { force: true });
    throw new PaydecideError(
      ErrorCodes.AUDIENCE_CORRUPT,
      `${store.url}/${key}: does not match its manifest (${size} bytes, sha256 ${sha.slice(0, 12)}…; manifest says ${part.bytes} bytes, ${part.sha256.slice(0, 12)}…); refusing it`,
    );
  }
}

export interface PullOptions {
  to: string;
  date?: string;
  /** Pull the added/removed users against the previous date instead of the whole audience. */
  delta?: boolean;
  /** Turns a verified Parquet file into CSV (jobs/ has DuckDB; audiences/ does not). */
  toCsv?: (parquet: string, csv: string) => Promise<void>;
}

export interface PullResult {
  manifest: AudienceManifest;
  dir: string;
  files: string[];
  rows: number;
}

/**
 * Writes `<to>/<audience>/date=<D>/` with the verified parts (or delta files), as Parquet or
 * CSV, and the manifest. Everything goes into a temporary folder first and is renamed into place
 * only once every part verified: a refused pull leaves `to` as it was.
 */
export async function pullAudience(store: ObjectStore, audience: string, o: PullOptions): Promise<PullResult> {
  const m = await readAudienceManifest(store, audience, o.date);
  const folder = `${audience}/date=${m.date}`;
  const dir = path.resolve(o.to, audience, `date=${m.date}`);
  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    const parts = o.delta ? [m.delta.parts.added, m.delta.parts.removed] : m.parts;
    const files: string[] = [];
    for (const p of parts) {
      const name = path.basename(p.file);
      const pq = path.join(tmp, name);
      await fetchVerifiedPart(store, folder, p, pq);
      if (o.toCsv) {
        const csv = pq.replace(/\.parquet$/, '.csv');
        await o.toCsv(pq, csv);
        fs.rmSync(pq);
        files.push(path.basename(csv));
      } else files.push(name);
    }
    fs.writeFileSync(path.join(tmp, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    const rows = o.delta ? m.delta.added + m.delta.removed : m.rows;
    return { manifest: m, dir, files: files.map((f) => path.join(dir, f)), rows };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

