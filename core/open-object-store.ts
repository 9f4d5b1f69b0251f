/**
 * The one place that turns a store URL into an ObjectStore, so every job and command accepts the
 * same forms: s3://bucket/prefix for S3 (or an S3-compatible server, per the S3 settings), and
 * anything else as a local directory.
 */
import type { S3Settings } from './config';
import { isS3Url, LocalObjectStore, type ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';

export function openObjectStore(url: string, s3: S3Settings): ObjectStore {
  // S3ObjectStore's constructor validates the URL (parseS3Url): a bad bucket name fails here,
  // with PD_ERR_STORE_URL, before any request is made.
  return isS3Url(url) ? new S3ObjectStore(url, s3) : new LocalObjectStore(url);
}
