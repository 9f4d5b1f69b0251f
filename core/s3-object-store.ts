/**
 * The ObjectStore on an S3 bucket and prefix (s3://bucket/prefix), for AWS S3 and S3-compatible
 * servers (MinIO, Ceph, s3rver, ...). Keys live under `prefix/`. Large files go up as multipart
 * uploads read one part at a time, so memory stays at one part whatever the file size, and an
 * object only becomes visible once its upload completed (the atomicity of object-store.ts).
 * SDK failures become PaydecideErrors that name the s3:// URL and say what to fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { S3Settings } from './config';
import { ErrorCodes, PaydecideError } from './errors';
import { checkKey, emptyStats, missing, parseS3Url, type ObjectInfo, type ObjectStore } from './object-store';

/** S3 accepts at most 10,000 parts per upload and up to 1,000 keys per DeleteObjects. */
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;

/** S3 bills GET/HEAD as reads and PUT/POST/LIST/DELETE as writes; the cost report follows that. */
type RequestClass = 'read' | 'write';

/** Network-level failures: the endpoint is down, unreachable or too slow (after the SDK's retries). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);
/** Error codes S3 answers when the credentials are wrong or lack a permission. */
const DENIED_NAMES = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem', 'CredentialsProviderError']);

/** What the SDK attaches to its errors (service errors, and network errors after retries). */
interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  readonly stats = emptyStats();
  private readonly bucket: string;
  /** '' or 'some/prefix/' (with the slash, so 'p' never matches the keys of a sibling 'pq/'). */
  private readonly keyPrefix: string;
  private readonly client: S3Client;
  private readonly settings: S3Settings;

  constructor(url: string, s: S3Settings) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.keyPrefix = prefix ? `${prefix}/` : '';
    this.url = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.settings = s;
    this.client = new S3Client({
      endpoint: s.endpoint,
      region: s.region,
      credentials: s.credentials,
      forcePathStyle: s.forcePathStyle,
      maxAttempts: s.maxAttempts,
      // Since 3.729 the SDK adds a CRC32 checksum to every upload by default (an
      // x-amz-checksum-crc32 header; for streamed bodies an `aws-chunked` body with a checksum
      // trailer, signed as STREAMING-UNSIGNED-PAYLOAD-TRAILER) and validates response checksums.
      // Many S3-compatible servers predate those "default integrity protections": some refuse the
      // headers or the chunked body, others store the chunk framing as the object's bytes
      // (s3rver 3.x does, checked). 'WHEN_REQUIRED' sends checksums only where S3 itself demands
      // one (DeleteObjects). Uploads here are Buffers, so each request
      // still carries its SigV4 payload hash (x-amz-content-sha256), which S3 verifies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK sets no timeouts by default: an endpoint that accepts no connection (firewalled)
      // would hang a job forever instead of failing with PD_ERR_STORE_UNAVAILABLE.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
    });
  }

  private fullKey(key: string): string {
    return this.keyPrefix + checkKey(key);
  }

  /**
   * One operation, counted with every attempt the SDK made for it (it retries transient failures
   * itself, and S3 bills each attempt, failed ones included); failures are mapped by mapError.
   */
  private async send<T extends { $metadata?: { attempts?: number } }>(kind: RequestClass, op: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    let attempts = 1;
    try {
      const res = await run();
      attempts = res.$metadata?.attempts ?? 1;
      return res;
    } catch (e) {
      attempts = (e as SdkError).$metadata?.attempts ?? 1;
      throw this.mapError(e, op, key);
    } finally {
      if (kind === 'read') this.stats.readRequests += attempts;
      else this.stats.writeRequests += attempts;
    }
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    const k = this.fullKey(key);
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    await this.send('write', 'put', key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: buf, ContentLength: buf.length })));
    this.stats.bytesWritten += buf.length;
  }

  async putFile(key: string, file: string): Promise<void> {
    const k = this.fullKey(key);
    const size = fs.statSync(file).size;
    if (size < this.settings.partBytes) {
      // Below one part the file is read whole: a Buffer body can be re-sent by the SDK's retries
      // (a consumed stream cannot) and gets a signed payload hash.
      const buf = fs.readFileSync(file);
      await this.send('write', 'put', key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: buf, ContentLength: buf.length })));
      this.stats.bytesWritten += buf.length;
      return;
    }
    await this.multipartUpload(key, k, file, size);
  }

  private async multipartUpload(key: string, k: string, file: string, size: number): Promise<void> {
    // Grow the part size when the file would need more than S3's 10,000 parts.
    const partSize = Math.max(this.settings.partBytes, Math.ceil(size / MAX_PARTS));
    const created = await this.send('write', 'start multipart upload', key, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k })));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`${this.url}/${key}: the server started a multipart upload without an UploadId`);
    const fh = await fs.promises.open(file, 'r');
    try {
      const parts: CompletedPart[] = [];
      // One part buffer, reused: memory stays at partSize however large the file is. Parts go up
      // one at a time; the buffer must not be overwritten while the SDK may still retry a part.
      const buf = Buffer.allocUnsafe(Math.min(partSize, size));
      for (let offset = 0, n = 1; offset < size; offset += partSize, n++) {
        const len = Math.min(partSize, size - offset);
        const { bytesRead } = await fh.read(buf, 0, len, offset);
        if (bytesRead !== len) throw new Error(`${file}: changed while uploading (read ${bytesRead} of ${len} bytes at offset ${offset})`);
        const body = buf.subarray(0, len);
        const res = await this.send('write', `upload part ${n}`, key, () =>
          this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: len })),
        );
        parts.push({ PartNumber: n, ETag: res.ETag });
        this.stats.bytesWritten += len;
      }
      await this.send('write', 'complete multipart upload', key, () =>
        this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId, MultipartUpload: { Parts: parts } })),
      );
    } catch (e) {
      // Uploaded parts of an unfinished upload are stored (and billed) until aborted.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId })).catch(() => {
        // the original failure is what the caller needs; a bucket lifecycle rule cleans up the rest
      });
      throw e;
    } finally {
      await fh.close();
    }
  }

  /** A byte counter on the body stream, so a failed transfer still counts what it read. */
  private counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.stats.bytesRead += chunk.length;
        cb(null, chunk);
      },
    });
  }

  private async openBody(op: string, key: string): Promise<Readable> {
    const k = this.fullKey(key);
    const res = await this.send('read', op, key, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k })));
    // In Node the SDK's body is an http.IncomingMessage (a Readable) with helper methods mixed in;
    // streaming it keeps memory flat for large objects.
    const body: unknown = res.Body;
    if (!(body instanceof Readable)) throw new Error(`${this.url}/${key}: ${op}: the SDK returned no readable body`);
    return body;
  }

  async get(key: string): Promise<Buffer> {
    const body = await this.openBody('get', key);
    const chunks: Buffer[] = [];
    try {
      await pipeline(body, this.counter(), async (src: AsyncIterable<Buffer>) => {
        for await (const c of src) chunks.push(c);
      });
    } catch (e) {
      throw this.mapError(e, 'get', key);
    }
    return Buffer.concat(chunks);
  }

  async getToFile(key: string, file: string): Promise<void> {
    const body = await this.openBody('download', key);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // Written under a temporary name and renamed, so a reader never sees half a file.
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await pipeline(body, this.counter(), fs.createWriteStream(tmp));
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw this.mapError(e, 'download', key);
    }
  }

  async exists(key: string): Promise<boolean> {
    const k = this.fullKey(key);
    try {
      await this.send('read', 'look up', key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k })));
      return true;
    } catch (e) {
      // A HEAD answer has no body, so a missing key and a missing bucket both read as 404: both
      // mean "no such object here"; check() tells the missing bucket apart.
      if (e instanceof PaydecideError && e.code === ErrorCodes.OBJECT_MISSING) return false;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix !== '') checkKey(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.send('write', `list ${JSON.stringify(prefix)}`, undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix + prefix, ContinuationToken: token })),
      );
      for (const o of res.Contents ?? []) {
        // Keys ending in '/' are "folder" placeholders that consoles create, not objects.
        if (!o.Key || o.Key.endsWith('/')) continue;
        out.push({ key: o.Key.slice(this.keyPrefix.length), size: o.Size ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    // S3 lists in UTF-8 byte order; sort as LocalObjectStore does so both stores agree.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const full = keys.map((k) => this.fullKey(k));
    for (let i = 0; i < full.length; i += DELETE_BATCH) {
      const batch = full.slice(i, i + DELETE_BATCH);
      const res = await this.send('write', 'delete', undefined, () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      // DeleteObjects answers 200 even when single keys failed: they are listed in Errors.
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        const rel = (first.Key ?? '').slice(this.keyPrefix.length);
        throw this.mapError({ name: first.Code, message: `${first.Message ?? first.Code} (${failed.length} of ${batch.length} keys not deleted)` }, 'delete', rel);
      }
    }
  }

  async check(): Promise<void> {
    await this.send('read', 'check', undefined, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  close(): void {
    this.client.destroy();
  }

  /** An SDK failure as a PaydecideError naming this store (or the original error, with context). */
  private mapError(e: unknown, op: string, key: string | undefined): Error {
    if (e instanceof PaydecideError) return e;
    const err = (e ?? {}) as SdkError;
    const name = err.name ?? '';
    const status = err.$metadata?.httpStatusCode;
    const where = key ? `${this.url}/${key}` : this.url;
    const at = this.settings.endpoint ?? `AWS S3 (${this.settings.region})`;
    // Answers without a body (HEAD) carry no error code: the SDK calls them "Unknown"/"UnknownError".
    const bodiless = !name || name === 'Unknown' || name === 'Error' || err.message === 'UnknownError';
    const detail = bodiless && status !== undefined ? `HTTP ${status}` : `${name && name !== 'Error' ? `${name}: ` : ''}${err.message ?? String(e)}`;

    // Without a key (HeadBucket, LIST, DELETE) a 404 can only be about the bucket; a HEAD answer
    // has no body, so its 404 carries no NoSuchBucket code.
    if (name === 'NoSuchBucket' || (key === undefined && (status === 404 || name === 'NotFound'))) {
      return new PaydecideError(ErrorCodes.STORE_NOT_FOUND, `${this.url}: bucket "${this.bucket}" does not exist at ${at}; create it or fix the URL`, { cause: e });
    }
    if (key !== undefined && (name === 'NoSuchKey' || name === 'NotFound' || status === 404)) return missing(this.url, key);
    if (DENIED_NAMES.has(name) || status === 403) {
      return new PaydecideError(
        ErrorCodes.STORE_ACCESS_DENIED,
        `${where}: ${op}: access refused by ${at} (${detail}); check PAYDECIDE_S3_ACCESS_KEY_ID / PAYDECIDE_S3_SECRET_ACCESS_KEY and the bucket's permissions`,
        { cause: e },
      );
    }
    const code = err.code ?? '';
    const attempts = err.$metadata?.attempts;
    const tries = attempts ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : '';
    if (NETWORK_CODES.has(code) || name === 'TimeoutError' || name === 'RequestTimeout' || (status !== undefined && status >= 500)) {
      return new PaydecideError(ErrorCodes.STORE_UNAVAILABLE, `${where}: ${op}: ${at} unavailable${tries} (${code || detail})`, { retryable: true, cause: e });
    }
    return new Error(`${where}: ${op}: ${detail}`, { cause: e });
  }
}
