/**
 * The S3 output location, parsed once for the processor and the CDK stack: `OutputBucket` is a
 * bucket name or an `s3://bucket/path/` URL, and `OutputPrefix` / `OutputErrorPrefix` are key
 * prefixes under that path (`/` means the path itself, the bucket's root when there is no path).
 *
 * The processor parses any value with {@link parseS3Location} and {@link joinKeyPrefix}. The stack
 * cannot run code on a CloudFormation parameter, so its parameters accept only the canonical forms
 * below ({@link CANONICAL_OUTPUT_BUCKET_PATTERN}, {@link CANONICAL_KEY_PREFIX_PATTERN}), for which a
 * few intrinsic functions compute the same bucket and prefixes (lib/output-location.ts; the infra
 * tests compare both over every form).
 */

/** A parsed OutputBucket: the bucket and the key path under it ('' or ending in '/', normalised). */
export interface S3Location {
  /** The bucket name. */
  readonly bucket: string;
  /** The key path from an `s3://bucket/path/` URL, normalised by {@link joinKeyPrefix}: '' or ending in '/'. */
  readonly path: string;
}

/** The key prefixes of the S3 sink: the location's path joined with OutputPrefix and OutputErrorPrefix. */
export interface S3OutputPrefixes {
  /** Key prefix of the data ('' or ending in '/'). */
  readonly data: string;
  /** Key prefix of the dead letters ('' or ending in '/'). */
  readonly errors: string;
}

/** One path segment of a canonical key prefix: no '/', no quotes or backslashes, no control characters. */
const SEGMENT = '[^/"\\\\\\x00-\\x1f]+';
/** An S3 bucket name by the naming rules' character set (the full rules are in {@link bucketNameProblem}). */
const BUCKET = '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]';

/**
 * The OutputBucket values the stack's parameter accepts: a bucket name, `s3://bucket/` or
 * `s3://bucket/path/…/` (segments non-empty, ending in '/'). Every one parses with
 * {@link parseS3Location}; the stack adds '' (the created bucket) and '-' (no S3 output).
 */
export const CANONICAL_OUTPUT_BUCKET_PATTERN = `(${BUCKET}|s3://${BUCKET}/(${SEGMENT}/)*)`;

/** The OutputPrefix / OutputErrorPrefix values the stack accepts: `/` (the root of the location) or `seg/…/`. */
export const CANONICAL_KEY_PREFIX_PATTERN = `(/|(${SEGMENT}/)+)`;

/**
 * Parses OutputBucket: a bucket name, or `s3://bucket/path/`. Returns the location, or a string that
 * says what was expected instead.
 */
export function parseS3Location(value: string): S3Location | string {
  let bucket = value;
  let path = '';
  const url = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(value);
  if (url) {
    bucket = url[1] ?? '';
    path = joinKeyPrefix(url[2] ?? '');
  } else if (value.includes('/') || value.includes(':')) {
    return 'expected a bucket name or an s3://bucket/prefix/ path';
  }
  const invalid = bucketNameProblem(bucket);
  return invalid === undefined ? { bucket, path } : `${invalid}${url ? ' (the bucket of an s3://bucket/prefix/ path)' : ''}`;
}

/** The data and dead-letter key prefixes under a location (`/` or '' as a prefix means the location's path itself). */
export function s3OutputPrefixes(location: S3Location, outputPrefix: string, errorPrefix: string): S3OutputPrefixes {
  return { data: joinKeyPrefix(location.path, outputPrefix), errors: joinKeyPrefix(location.path, errorPrefix) };
}

/** What is wrong with an S3 (general purpose) bucket name, by the S3 naming rules; undefined when nothing. */
export function bucketNameProblem(name: string): string | undefined {
  const rules = 'a bucket name of 3 to 63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit';
  if (name.length < 3 || name.length > 63) return `expected ${rules} (this one has ${name.length} characters)`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return `expected ${rules}`;
  if (name.includes('..')) return 'expected a bucket name without two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'expected a bucket name, not an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return 'expected a bucket name not starting with the reserved xn--, sthree- or amzn-s3-demo-';
  if (/(-s3alias|--ol-s3|\.mrap)$/.test(name)) return 'expected a bucket name not ending with the reserved -s3alias, --ol-s3 or .mrap';
  return undefined;
}

/**
 * Joins key-prefix pieces: runs of '/' collapse, no leading '/', and the result is '' or ends in '/'.
 * (`data` + `parquet` → `data/parquet/`; '' + '/' → ''.)
 */
export function joinKeyPrefix(...pieces: readonly string[]): string {
  const joined = pieces
    .join('/')
    .split('/')
    .filter((segment) => segment !== '')
    .join('/');
  return joined === '' ? '' : `${joined}/`;
}
