/**
 * Worlds in an object store. DuckDB reads local files here (its httpfs extension would be
 * downloaded at run time, which the batch machines cannot count on), so an s3:// world is
 * mirrored into PAYDECIDE_CACHE_DIR first: world.json, then every file it lists that is missing
 * locally or changed since it was last fetched (its size in the store or its sha256 in world.json
 * differ from what `.mirror.json` recorded). The nightly then verifies each file's sha256 as for
 * a local world, and writes its snapshot and payment state into the mirror.
 * `publishWorld` is the other direction: a generated world uploaded file by file, world.json last.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { isS3Url, parseS3Url } from '../../core/object-store';
import { openObjectStore } from '../../core/open-object-store';
import { WORLD_MANIFEST_FILE, WORLD_TABLES, readWorldManifest, type WorldManifest } from './world-manifest';

const MIRROR_RECORD = '.mirror.json';

/** Where an s3:// world is mirrored: <cache>/s3/<bucket>/<prefix>. */
export function mirrorDir(cfg: Pick<Config, 'cacheDir'>, url: string): string {
  const { bucket, prefix } = parseS3Url(url);
  return path.join(cfg.cacheDir, 's3', bucket, ...prefix.split('/').filter(Boolean));
}

/** A local directory holding the world at `url` (the url itself when it is a directory). */
export async function resolveWorldDir(cfg: Config, url: string, log?: Logger): Promise<string> {
  if (!isS3Url(url)) return url;
  const local = mirrorDir(cfg, url);
  const store = openObjectStore(url, cfg.s3);
  try {
    await store.check();
    fs.mkdirSync(local, { recursive: true });
    let manifestBytes: Buffer;
    try {
      manifestBytes = await store.get(WORLD_MANIFEST_FILE);
    } catch (e) {
      if (e instanceof PaydecideError && e.code === ErrorCodes.OBJECT_MISSING) {
        throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${url}/${WORLD_MANIFEST_FILE} not found: not a complete world (generate one with paydecide gen --out ${url})`);
      }
      throw e;
    }
    const tmpManifest = path.join(local, `${WORLD_MANIFEST_FILE}.${process.pid}.tmp`);
    fs.writeFileSync(tmpManifest, manifestBytes);
    fs.renameSync(tmpManifest, path.join(local, WORLD_MANIFEST_FILE));
    const m = readWorldManifest(local);
    const recordFile = path.join(local, MIRROR_RECORD);
    const record: Record<string, { size: number; sha256: string }> = fs.existsSync(recordFile) ? JSON.parse(fs.readFileSync(recordFile, 'utf8')) : {};
    const remote = new Map((await store.list('')).map((o) => [o.key, o.size]));
    let fetched = 0;
    let bytes = 0;
    for (const rel of WORLD_TABLES.flatMap((t) => m.files[t])) {
      const size = remote.get(rel);
      if (size === undefined) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${url}/${rel}: listed in world.json but not in the store`);
      const file = path.join(local, ...rel.split('/'));
      const r = record[rel];
      const fresh = r && r.size === size && r.sha256 === m.sha256[rel] && fs.existsSync(file) && fs.statSync(file).size === size;
      if (fresh) continue;
      await store.getToFile(rel, file);
      record[rel] = { size, sha256: m.sha256[rel] };
      fetched++;
      bytes += size;
    }
    fs.writeFileSync(recordFile, JSON.stringify(record));
    log?.info({ url, local, fetched, bytes }, 'world mirrored from the object store');
    return local;
  } finally {
    store.close();
  }
}

/** Uploads a local world to `url` (s3://…): every listed file, then world.json. */
export async function publishWorld(cfg: Config, dir: string, m: WorldManifest, url: string, log?: Logger): Promise<void> {
  const store = openObjectStore(url, cfg.s3);
  try {
    await store.check();
    for (const rel of WORLD_TABLES.flatMap((t) => m.files[t])) await store.putFile(rel, path.join(dir, ...rel.split('/')));
    await store.putFile(WORLD_MANIFEST_FILE, path.join(dir, WORLD_MANIFEST_FILE));
    log?.info({ url, files: store.stats.writeRequests, bytes: store.stats.bytesWritten }, 'world uploaded');
  } finally {
    store.close();
  }
}
