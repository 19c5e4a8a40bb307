import { Aws, CfnCondition, Fn } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Properties of {@link OutputLocation}. */
export interface OutputLocationProps {
  /** The created bucket: the location when `outputBucket` is '' (or '-', no S3 output). */
  readonly createdBucket: s3.IBucket;
  /**
   * OutputBucket as the stack receives it (a token): '', '-', a bucket name, `s3://bucket`,
   * `s3://bucket/` or `s3://bucket/path/…/` — the canonical forms of `common/s3`.
   */
  readonly outputBucket: string;
  /** OutputPrefix (a token): `/` or `seg/…/`. */
  readonly outputPrefix: string;
  /** OutputErrorPrefix (a token): `/` or `seg/…/`. */
  readonly errorPrefix: string;
  /** The condition "OutputBucket is empty" (the created bucket). */
  readonly useCreatedBucket: CfnCondition;
  /** The condition "OutputBucket is '-'" (no S3 output; grants fall back to the created bucket). */
  readonly noBucket: CfnCondition;
}

/**
 * Where the S3 sink writes, computed by CloudFormation from the parameters exactly as the
 * processor's `parseS3Location` + `s3OutputPrefixes` (common/s3) compute it from the same values:
 * the bucket, and the data and dead-letter key prefixes under the location's path. The task role's
 * grants, the Glue table and the outputs all follow from here.
 *
 * OutputPrefix `/` is the path itself (the bucket's root without a path).
 */
export class OutputLocation extends Construct {
  /** The bucket's name. */
  readonly bucketName: string;
  /** The bucket's ARN. */
  readonly bucketArn: string;
  /** `bucket/` + the location's path: the start of every key's S3 path (`bucket/path/`). */
  readonly bucketAndPath: string;
  /** `bucket/` + the data's key prefix. */
  readonly dataPath: string;
  /** `bucket/` + the dead letters' key prefix. */
  readonly errorPath: string;
  /** `s3://bucket/path/prefix/`: the data's location (the Glue table's location). */
  readonly dataUrl: string;

  constructor(scope: Construct, id: string, props: OutputLocationProps) {
    super(scope, id);
    // OutputBucket's canonical forms are `bucket`, `s3://bucket/` and `s3://bucket/path/`: an s3:// URL
    // ends in '/', so dropping the scheme leaves `bucket/` + path; a bare name gets the '/'. (The
    // padding keeps the Fn::Select in range whatever the value.)
    const afterScheme = (value: string, index: number) => Fn.select(index, Fn.split('s3://', Fn.join('', [value, 's3://'])));
    const isUrl = new CfnCondition(this, 'OutputBucketIsUrl', { expression: Fn.conditionEquals(afterScheme(props.outputBucket, 0), '') });
    isUrl.overrideLogicalId('OutputBucketIsUrl');
    const created = Fn.join('', [props.createdBucket.bucketName, '/']);
    this.bucketAndPath = Fn.conditionIf(
      props.useCreatedBucket.logicalId,
      created,
      Fn.conditionIf(
        props.noBucket.logicalId,
        created,
        Fn.conditionIf(isUrl.logicalId, afterScheme(props.outputBucket, 1), Fn.join('', [props.outputBucket, '/'])),
      ),
    ).toString();
    this.bucketName = Fn.select(0, Fn.split('/', this.bucketAndPath));
    this.bucketArn = Fn.join('', [`arn:${Aws.PARTITION}:s3:::`, this.bucketName]);
    const root = (cid: string, prefix: string) => {
      const c = new CfnCondition(this, cid, { expression: Fn.conditionEquals(prefix, '/') });
      c.overrideLogicalId(cid);
      return Fn.conditionIf(c.logicalId, '', prefix).toString();
    };
    const data = root('OutputPrefixIsRoot', props.outputPrefix);
    const errors = root('OutputErrorPrefixIsRoot', props.errorPrefix);
    this.dataPath = Fn.join('', [this.bucketAndPath, data]);
    this.errorPath = Fn.join('', [this.bucketAndPath, errors]);
    this.dataUrl = Fn.join('', ['s3://', this.dataPath]);
  }
}
