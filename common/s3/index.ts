export {
  CANONICAL_KEY_PREFIX_PATTERN,
  CANONICAL_OUTPUT_BUCKET_PATTERN,
  bucketNameProblem,
  joinKeyPrefix,
  parseS3Location,
  s3OutputPrefixes,
} from './location.js';
export type { S3Location, S3OutputPrefixes } from './location.js';
