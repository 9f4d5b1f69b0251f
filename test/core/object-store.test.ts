/**
 * One contract for every ObjectStore, run against a LocalObjectStore on a temporary directory and
 * an S3ObjectStore on a real S3-compatible server on loopback (test/helpers/s3-server.ts), then
 * the S3-only failures: a missing bucket, refused credentials, an endpoint that is down.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { S3Settings } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { LocalObjectStore, type ObjectStore } from '../../core/object-store';
import { openObjectStore } from '../../core/open-object-store';
import { S3ObjectStore } from '../../core/s3-object-store';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';

const MiB = 1024 * 1024;
const BUCKET = 'pd-test-bucket';

let tmp: string;
let s3: S3TestServer;
/** ~12 MiB of random bytes: above the 5 MiB part size, so S3 uploads it in 3 parts. */
let bigFile: string;
let bigSha: string;
const opened: ObjectStore[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-object-store-'));
  bigFile = path.join(tmp, 'big.bin');
  const big = randomBytes(12 * MiB + 12_345);
  fs.writeFileSync(bigFile, big);
  bigSha = sha256(big);
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
});

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

afterAll(async () => {
  await s3?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function uniq(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

function track<T extends ObjectStore>(s: T): T {
  opened.push(s);
  return s;
}

/** The rejection of a promise, which must be a PaydecideError. */
async function failure(p: Promise<unknown>): Promise<PaydecideError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected the call to fail').toBeInstanceOf(PaydecideError);
  return e as PaydecideError;
}

interface Kind {
  name: string;
  /** A fresh, empty store at a location named `name` (a directory, or a prefix in the bucket). */
  open(name: string): ObjectStore;
}

const kinds: Kind[] = [
  { name: 'LocalObjectStore', open: (name) => track(new LocalObjectStore(path.join(tmp, 'local', name))) },
  { name: 'S3ObjectStore', open: (name) => track(new S3ObjectStore(`s3://${BUCKET}/${name}`, s3.settings)) },
];

describe.each(kinds)('$name contract', (kind) => {
  it('put then get returns the same bytes (Buffer and string bodies)', async () => {
    const store = kind.open(uniq('roundtrip'));
    const bin = randomBytes(4096);
    await store.put('a/b/bin.dat', bin);
    await store.put('text.txt', 'héllo wörld\n');
    expect((await store.get('a/b/bin.dat')).equals(bin)).toBe(true);
    expect((await store.get('text.txt')).toString('utf8')).toBe('héllo wörld\n');
    await store.put('text.txt', 'replaced');
    expect((await store.get('text.txt')).toString()).toBe('replaced');
    await store.put('empty', Buffer.alloc(0));
    expect((await store.get('empty')).length).toBe(0);
  });

  it('putFile/getToFile of a file larger than the part size keeps every byte', async () => {
    const store = kind.open(uniq('big'));
    await store.putFile('data/big.bin', bigFile);
    const outDir = path.join(tmp, uniq('download'));
    const out = path.join(outDir, 'nested', 'big.copy');
    await store.getToFile('data/big.bin', out);
    expect(sha256(fs.readFileSync(out))).toBe(bigSha);
    // written under a temporary name, then renamed: nothing else is left beside it
    expect(fs.readdirSync(path.dirname(out))).toEqual(['big.copy']);
    expect(sha256(await store.get('data/big.bin'))).toBe(bigSha);
    expect(await store.list('data/')).toEqual([{ key: 'data/big.bin', size: fs.statSync(bigFile).size }]);
  });

  it('putFile of a small file round-trips', async () => {
    const store = kind.open(uniq('small'));
    const f = path.join(tmp, uniq('small.txt'));
    fs.writeFileSync(f, 'a,b\n1,2\n');
    await store.putFile('s.csv', f);
    expect((await store.get('s.csv')).toString()).toBe('a,b\n1,2\n');
  });

  it('list is recursive, relative to the store root, filtered by prefix and sorted', async () => {
    const name = uniq('list');
    const store = kind.open(name);
    // a sibling location whose name extends this one must not leak into it
    const sibling = kind.open(`${name}x`);
    await sibling.put('p/leak.txt', 'no');
    const keys = ['p/b/d/e.txt', 'q.txt', 'p/a.txt', 'pq/x.txt', 'p/b/c.txt', 'p/b.txt', 'p/B.txt'];
    for (const k of keys) await store.put(k, k);
    expect(await store.list('p/')).toEqual(
      ['p/B.txt', 'p/a.txt', 'p/b.txt', 'p/b/c.txt', 'p/b/d/e.txt'].map((key) => ({ key, size: key.length })),
    );
    // a prefix is a string prefix, not a directory: 'p' also matches 'pq/'
    expect((await store.list('p')).map((o) => o.key)).toEqual(['p/B.txt', 'p/a.txt', 'p/b.txt', 'p/b/c.txt', 'p/b/d/e.txt', 'pq/x.txt']);
    expect((await store.list('p/b/')).map((o) => o.key)).toEqual(['p/b/c.txt', 'p/b/d/e.txt']);
    expect((await store.list('')).map((o) => o.key)).toEqual([...keys].sort());
    expect(await store.list('nothing/')).toEqual([]);
    expect((await sibling.list('')).map((o) => o.key)).toEqual(['p/leak.txt']);
  });

  it('exists tells present from absent keys', async () => {
    const store = kind.open(uniq('exists'));
    await store.put('dir/here.txt', 'x');
    expect(await store.exists('dir/here.txt')).toBe(true);
    expect(await store.exists('dir/absent.txt')).toBe(false);
  });

  it('delete removes the given keys and ignores absent ones', async () => {
    const store = kind.open(uniq('delete'));
    for (const k of ['a/1', 'a/2', 'b/3']) await store.put(k, k);
    await store.delete(['a/1', 'b/3', 'a/never-there']);
    expect(await store.exists('a/1')).toBe(false);
    expect(await store.exists('b/3')).toBe(false);
    expect((await store.list('')).map((o) => o.key)).toEqual(['a/2']);
    await store.delete([]);
    expect((await store.get('a/2')).toString()).toBe('a/2');
  });

  it('get and getToFile of a missing key fail with PD_ERR_OBJECT_MISSING naming the key', async () => {
    const store = kind.open(uniq('missing'));
    const e = await failure(store.get('no/such.txt'));
    expect(e.code).toBe(ErrorCodes.OBJECT_MISSING);
    expect(e.message).toContain(`${store.url}/no/such.txt`);
    const outDir = path.join(tmp, uniq('missing-out'));
    fs.mkdirSync(outDir);
    expect((await failure(store.getToFile('no/such.txt', path.join(outDir, 'f')))).code).toBe(ErrorCodes.OBJECT_MISSING);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it("refuses keys that are absolute or contain '.' or '..'", async () => {
    const store = kind.open(uniq('keys'));
    const bad = ['../escape.txt', 'a/../../b', 'a/./b', '/abs', ''];
    for (const k of bad) {
      expect((await failure(store.put(k, 'x'))).code, k).toBe(ErrorCodes.STORE_URL);
      expect((await failure(store.get(k))).code, k).toBe(ErrorCodes.STORE_URL);
      expect((await failure(store.exists(k))).code, k).toBe(ErrorCodes.STORE_URL);
      expect((await failure(store.putFile(k, bigFile))).code, k).toBe(ErrorCodes.STORE_URL);
      expect((await failure(store.getToFile(k, path.join(tmp, 'never')))).code, k).toBe(ErrorCodes.STORE_URL);
      expect((await failure(store.delete([k]))).code, k).toBe(ErrorCodes.STORE_URL);
    }
    expect(fs.existsSync(path.join(tmp, 'local', 'escape.txt'))).toBe(false);
    expect(await store.list('')).toEqual([]);
  });

  it('counts requests and bytes', async () => {
    const store = kind.open(uniq('stats'));
    expect(store.stats).toEqual({ writeRequests: 0, readRequests: 0, bytesWritten: 0, bytesRead: 0 });
    await store.put('a.txt', 'hello');
    await store.put('b.bin', Buffer.alloc(1000, 7));
    expect(store.stats).toMatchObject({ writeRequests: 2, bytesWritten: 1005, readRequests: 0, bytesRead: 0 });
    expect((await store.get('a.txt')).toString()).toBe('hello');
    await store.getToFile('b.bin', path.join(tmp, uniq('stats-out')));
    expect(store.stats).toMatchObject({ readRequests: 2, bytesRead: 1005 });
    await store.exists('a.txt');
    expect(store.stats.readRequests).toBe(3);
    await store.list('');
    expect(store.stats).toEqual({ writeRequests: 3, readRequests: 3, bytesWritten: 1005, bytesRead: 1005 });
    await store.putFile('big.bin', bigFile);
    expect(store.stats.bytesWritten).toBe(1005 + fs.statSync(bigFile).size);
  });

  it('check() passes on a usable store', async () => {
    await kind.open(uniq('check')).check();
  });
});

describe('S3ObjectStore on S3', () => {
  function store(url: string, settings: Partial<S3Settings> = {}): S3ObjectStore {
    return track(new S3ObjectStore(url, { ...s3.settings, ...settings }));
  }

  it('uploads a file above the part size in parts (create, 3 parts, complete)', async () => {
    const name = uniq('multipart');
    const st = store(`s3://${BUCKET}/${name}`);
    await st.putFile('big.bin', bigFile);
    expect(st.stats).toEqual({ writeRequests: 5, readRequests: 0, bytesWritten: fs.statSync(bigFile).size, bytesRead: 0 });
    // the server's own view of the assembled object
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.settings.region, credentials: s3.settings.credentials, forcePathStyle: true });
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${name}/big.bin` }));
      expect(head.ContentLength).toBe(fs.statSync(bigFile).size);
    } finally {
      client.destroy();
    }
    expect(sha256(await st.get('big.bin'))).toBe(bigSha);
  });

  it('uploads a file below the part size in one PUT', async () => {
    const st = store(`s3://${BUCKET}/${uniq('single')}`);
    const f = path.join(tmp, uniq('under-part'));
    fs.writeFileSync(f, randomBytes(5 * MiB - 1));
    await st.putFile('f.bin', f);
    expect(st.stats.writeRequests).toBe(1);
    expect(sha256(await st.get('f.bin'))).toBe(sha256(fs.readFileSync(f)));
  });

  it('lists more than 1000 keys in pages (continuation tokens) and deletes them in batches of 1000', async () => {
    const st = store(`s3://${BUCKET}/${uniq('many')}`);
    const keys = Array.from({ length: 1003 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((k) => st.put(k, 'x')));
    // s3rver deletes a batch's keys concurrently and races when they empty a directory (a 500 that
    // the SDK retries, which would add an attempt to the count): one object stays, so none empties.
    await st.put('k/keep', 'x');
    let before = st.stats.writeRequests;
    expect((await st.list('k/')).map((o) => o.key)).toEqual([...keys, 'k/keep']);
    expect(st.stats.writeRequests - before).toBe(2);
    before = st.stats.writeRequests;
    await st.delete(keys);
    expect(st.stats.writeRequests - before).toBe(2);
    expect((await st.list('')).map((o) => o.key)).toEqual(['k/keep']);
  });

  it('a bucket that does not exist: check() and put fail with PD_ERR_STORE_NOT_FOUND naming it', async () => {
    const st = store('s3://pd-no-such-bucket/some/prefix');
    const c = await failure(st.check());
    expect(c.code).toBe(ErrorCodes.STORE_NOT_FOUND);
    expect(c.message).toContain('s3://pd-no-such-bucket/some/prefix');
    expect(c.message).toContain('"pd-no-such-bucket"');
    const p = await failure(st.put('x.txt', 'x'));
    expect(p.code).toBe(ErrorCodes.STORE_NOT_FOUND);
    expect(p.message).toContain('"pd-no-such-bucket"');
    expect((await failure(st.putFile('big.bin', bigFile))).code).toBe(ErrorCodes.STORE_NOT_FOUND);
    expect((await failure(st.get('x.txt'))).code).toBe(ErrorCodes.STORE_NOT_FOUND);
    expect((await failure(st.list(''))).code).toBe(ErrorCodes.STORE_NOT_FOUND);
  });

  it('a wrong secret key fails with PD_ERR_STORE_ACCESS_DENIED (the server checks signatures)', async () => {
    const st = store(`s3://${BUCKET}/${uniq('denied')}`, { credentials: { accessKeyId: s3.settings.credentials!.accessKeyId, secretAccessKey: 'not-the-secret' } });
    const c = await failure(st.check());
    expect(c.code).toBe(ErrorCodes.STORE_ACCESS_DENIED);
    expect(c.message).toContain(`s3://${BUCKET}/`);
    const p = await failure(st.put('x.txt', 'x'));
    expect(p.code).toBe(ErrorCodes.STORE_ACCESS_DENIED);
    // refused because the signature is wrong, not for some other reason
    expect((p.cause as Error).name).toBe('SignatureDoesNotMatch');
    expect(p.retryable).toBe(false);
    expect((await failure(st.get('x.txt'))).code).toBe(ErrorCodes.STORE_ACCESS_DENIED);
  });

  it('an unknown access key fails with PD_ERR_STORE_ACCESS_DENIED', async () => {
    const st = store(`s3://${BUCKET}/${uniq('denied-id')}`, { credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' } });
    const e = await failure(st.list(''));
    expect(e.code).toBe(ErrorCodes.STORE_ACCESS_DENIED);
    expect((e.cause as Error).name).toBe('InvalidAccessKeyId');
  });

  it('an endpoint where nothing listens fails with PD_ERR_STORE_UNAVAILABLE, retryable', async () => {
    const port = await closedPort();
    for (const maxAttempts of [1, 2]) {
      const st = store(`s3://${BUCKET}/down`, { endpoint: `http://127.0.0.1:${port}`, maxAttempts });
      const c = await failure(st.check());
      expect(c.code).toBe(ErrorCodes.STORE_UNAVAILABLE);
      expect(c.retryable).toBe(true);
      expect(c.message).toContain(`127.0.0.1:${port}`);
      expect(c.message).toContain(`s3://${BUCKET}/down`);
      expect((await failure(st.put('x', 'x'))).code).toBe(ErrorCodes.STORE_UNAVAILABLE);
      expect((await failure(st.get('x'))).code).toBe(ErrorCodes.STORE_UNAVAILABLE);
    }
  });
});

describe('openObjectStore', () => {
  it('opens s3:// URLs on S3 and anything else as a local directory', () => {
    const a = track(openObjectStore(`s3://${BUCKET}/x/y/`, s3.settings));
    expect(a).toBeInstanceOf(S3ObjectStore);
    expect(a.url).toBe(`s3://${BUCKET}/x/y`);
    const b = track(openObjectStore(path.join(tmp, 'dir'), s3.settings));
    expect(b).toBeInstanceOf(LocalObjectStore);
    expect(b.url).toBe(path.join(tmp, 'dir'));
  });

  it('refuses an s3:// URL with an invalid bucket name', () => {
    expect(() => openObjectStore('s3://Bad_Bucket/x', s3.settings)).toThrow(expect.objectContaining({ code: ErrorCodes.STORE_URL }));
    expect(() => openObjectStore('s3://', s3.settings)).toThrow(expect.objectContaining({ code: ErrorCodes.STORE_URL }));
  });
});

/** A loopback port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
