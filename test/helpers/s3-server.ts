/**
 * A real S3-compatible server on loopback for the tests, started by the suite itself: s3rver (the
 * maintained @20minutes fork, a devDependency) in a child process on 127.0.0.1, a free port and a
 * temporary directory that stop() removes.
 *
 * Why this server and these settings:
 * - The original `s3rver` 3.x does not verify SigV4 signatures (any secret is accepted, so a
 *   "refused credentials" test would test nothing). The fork verifies them and refuses a wrong
 *   secret with SignatureDoesNotMatch.
 * - The fork builds the canonical URI of a path-style bucket-level request as "/bucket" while the
 *   current AWS SDK signs "/bucket/" (CreateBucket, HeadBucket, ListObjectsV2, DeleteObjects), so
 *   every such request would be refused even with the right secret. The child corrects that one
 *   step (see SERVER): signatures are still verified in full, over the URI the client really sent.
 * - It encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through its
 *   legacy provider: without --openssl-legacy-provider any listing of more than 1000 keys fails
 *   with InternalError. That flag is per process, hence the child process (and a server in its own
 *   process is closer to the real thing anyway).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../core/config';

/** s3rver's built-in account: the only key pair it accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3TestServer {
  endpoint: string;
  /** Working settings for this server: its credentials, path-style addressing, 5 MiB parts. */
  settings: S3Settings;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The child's program (CommonJS, run with `node -e`; argv: s3rver's module path, data directory).
 * It prints {"port":N} once listening, and exits when its stdin ends, so it dies with the test
 * process even if that one is killed.
 *
 * The inserted middleware runs after s3rver's vhost middleware and before its router (and so
 * before its authentication). s3rver builds the canonical URI as mountPath + "/" + bucket, except
 * for virtual-host requests where it is "/" + bucket + mountPath: marking a "/bucket/" request as
 * virtual-host with mountPath "/" gives exactly "/bucket/". The flag changes nothing else here (it
 * only matters to static-website buckets, which the tests never configure).
 */
const SERVER = `
const [modulePath, directory] = process.argv.slice(1);
const S3rver = require(modulePath);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, allowMismatchedSignatures: false, vhostBuckets: false });
const at = server.middleware.findIndex((m) => m.name === 'vhost');
if (at < 0) {
  console.error('s3rver: its vhost middleware was not found; recheck the canonical-URI fix in test/helpers/s3-server.ts');
  process.exit(2);
}
server.middleware.splice(at + 1, 0, (ctx, next) => {
  if (!ctx.state.vhost && /^\\/[^/]+\\/$/.test(ctx.path)) {
    ctx.state.vhost = true;
    ctx.mountPath = '/';
  }
  return next();
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (e) => { console.error(e); process.exit(1); },
);
`;

/** Waits for the child's {"port":N} line; fails with its stderr if it exits first. */
function portOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      child.stdout!.off('data', onData);
      resolve((JSON.parse(line) as { port: number }).port);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code} before listening: ${err.trim()}`)));
    child.once('error', reject);
  });
}

export async function startS3Server(): Promise<S3TestServer> {
  const modulePath = createRequire(import.meta.url).resolve('@20minutes/s3rver');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', SERVER, modulePath, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await portOf(child);
  } catch (e) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  // Keep draining the pipes so the child never blocks on a full one.
  child.stdout!.resume();
  child.stderr!.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  const settings: S3Settings = {
    endpoint,
    region: 'us-east-1',
    credentials: { ...S3RVER_CREDENTIALS },
    forcePathStyle: true,
    // S3's minimum part size (every part but the last must be at least 5 MiB).
    partBytes: 5 * 1024 * 1024,
    maxAttempts: 2,
  };
  return {
    endpoint,
    settings,
    async createBucket(name: string): Promise<void> {
      const client = new S3Client({ endpoint, region: settings.region, credentials: settings.credentials, forcePathStyle: true, maxAttempts: 1 });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
