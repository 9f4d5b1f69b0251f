/**
 * One object-store interface for everything the batch jobs publish or read as files (CRM
 * audiences, world inputs, exposure ledgers): a local directory or an S3 bucket and prefix
 * (s3-object-store.ts). Keys are relative, '/'-separated paths under the store's root. A put is
 * atomic for readers: a local file appears whole (written under a temporary name, then renamed)
 * and an S3 object is only visible once its (multipart) upload completed. Every store counts the
 * requests and bytes it made, for the cost report.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, PaydecideError } from './errors';

export interface ObjectInfo {
  /** Relative to the store's root. */
  key: string;
  size: number;
}

export interface StoreStats {
  /** Writes: PUT, multipart parts, LIST and DELETE requests (S3 prices them alike). */
  writeRequests: number;
  /** Reads: GET and HEAD requests. */
  readRequests: number;
  bytesWritten: number;
  bytesRead: number;
}

export interface ObjectStore {
  /** Where the store points: an absolute directory or s3://bucket/prefix. */
  readonly url: string;
  readonly stats: StoreStats;
  put(key: string, body: Buffer | string): Promise<void>;
  /** Uploads a local file (multipart above the part size on S3). */
  putFile(key: string, file: string): Promise<void>;
  /** The object's bytes; PD_ERR_OBJECT_MISSING when there is none. */
  get(key: string): Promise<Buffer>;
  /** Downloads to a local file (written under a temporary name, then renamed). */
  getToFile(key: string, file: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, recursively, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(keys: readonly string[]): Promise<void>;
  /** Fails with a clear error when the store cannot be used (missing bucket, refused credentials). */
  check(): Promise<void>;
  close(): void;
}

export function emptyStats(): StoreStats {
  return { writeRequests: 0, readRequests: 0, bytesWritten: 0, bytesRead: 0 };
}

/** Refuses keys that are absolute or climb out of the root. */
export function checkKey(key: string): string {
  if (key === '' || key.startsWith('/') || key.split('/').some((s) => s === '..' || s === '.') || key.includes('\\')) {
    throw new PaydecideError(ErrorCodes.STORE_URL, `object key ${JSON.stringify(key)}: must be a relative path without '.' or '..' segments`);
  }
  return key;
}

export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/').replace(/\/{2,}/g, '/');
}

export function isS3Url(url: string): boolean {
  return url.startsWith('s3://');
}

/** s3://bucket/some/prefix → { bucket, prefix: 'some/prefix' } (no trailing slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  // S3 bucket naming rules: 3-63 chars, lower-case letters, digits, dots and hyphens.
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
    throw new PaydecideError(ErrorCodes.STORE_URL, `${url}: expected s3://bucket/prefix with a valid bucket name (3-63 lower-case letters, digits, '.' or '-')`);
  }
  return { bucket: m[1], prefix: m[2].replace(/\/+$/, '') };
}

export class LocalObjectStore implements ObjectStore {
  readonly url: string;
  readonly stats = emptyStats();

  constructor(root: string) {
    this.url = path.resolve(root);
  }

  private file(key: string): string {
    return path.join(this.url, ...checkKey(key).split('/'));
  }

  private tmp(file: string): string {
    return `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  }

  /** Writes the object under a temporary name (`write(tmp)`), then renames it into place. */
  private writeObject(key: string, write: (tmp: string) => void): void {
    const f = this.file(key);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    const t = this.tmp(f);
    write(t);
    fs.renameSync(t, f);
    this.stats.writeRequests++;
    this.stats.bytesWritten += fs.statSync(f).size;
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    this.writeObject(key, (t) => fs.writeFileSync(t, body));
  }

  async putFile(key: string, file: string): Promise<void> {
    this.writeObject(key, (t) => fs.copyFileSync(file, t));
  }

  async get(key: string): Promise<Buffer> {
    const f = this.file(key);
    let b: Buffer;
    try {
      b = fs.readFileSync(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(this.url, key);
      throw e;
    }
    this.stats.readRequests++;
    this.stats.bytesRead += b.length;
    return b;
  }

  async getToFile(key: string, file: string): Promise<void> {
    const f = this.file(key);
    if (!fs.existsSync(f)) throw missing(this.url, key);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const t = this.tmp(file);
    await pipeline(fs.createReadStream(f), fs.createWriteStream(t));
    fs.renameSync(t, file);
    this.stats.readRequests++;
    this.stats.bytesRead += fs.statSync(file).size;
  }

  async exists(key: string): Promise<boolean> {
    this.stats.readRequests++;
    // objects only, as on S3: a folder is not an object
    return fs.statSync(this.file(key), { throwIfNoEntry: false })?.isFile() ?? false;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.stats.writeRequests++;
    const out: ObjectInfo[] = [];
    const walk = (dir: string, rel: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const d of entries) {
        const k = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) {
          // descend only where the prefix can still match
          if (k.startsWith(prefix) || prefix.startsWith(`${k}/`)) walk(path.join(dir, d.name), k);
        } else if (d.isFile() && k.startsWith(prefix) && !d.name.endsWith('.tmp')) {
          out.push({ key: k, size: fs.statSync(path.join(dir, d.name)).size });
        }
      }
    };
    walk(this.url, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) {
      fs.rmSync(this.file(k), { force: true });
      this.stats.writeRequests++;
    }
  }

  async check(): Promise<void> {
    try {
      fs.mkdirSync(this.url, { recursive: true });
      fs.accessSync(this.url, fs.constants.W_OK);
    } catch (e) {
      throw new PaydecideError(ErrorCodes.STORE_ACCESS_DENIED, `${this.url}: cannot write there (${(e as Error).message})`, { cause: e });
    }
  }

  close(): void {}
}

/** sha256 (hex) of a local file, streamed: what manifests record for every object they list. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function missing(url: string, key: string): PaydecideError {
  return new PaydecideError(ErrorCodes.OBJECT_MISSING, `${url.replace(/\/$/, '')}/${key}: no such object`);
}
