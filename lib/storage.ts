import { Duration, Fn, RemovalPolicy, Token } from 'aws-cdk-lib';
import type { CfnCondition } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The S3 request-metrics filter id the dashboard reads (S3 publishes request metrics only with one). */
export const BUCKET_METRICS_FILTER_ID = 'EntireBucket';

/**
 * The key schema of the lease table (KCL style): one item per lease, keyed by the application and
 * the lease (a shard, or the application's checkpoint), with expired items removed by TTL.
 */
export const LEASE_TABLE_KEY = { partition: 'application', sort: 'leaseKey', ttl: 'expiresAt' } as const;

/** Properties of {@link Storage}. */
export interface StorageProps {
  /**
   * Shards of the stream when provisioned: a number (1-10000) or a token (a Number parameter).
   * @default 16 (as the original)
   */
  readonly shardCount?: number;
  /**
   * When set, the stream is on-demand while this condition holds and provisioned with `shardCount`
   * shards otherwise; `streamMode` must then be a token whose value is PROVISIONED or ON_DEMAND.
   * @default - always provisioned
   */
  readonly onDemandCondition?: CfnCondition;
  /**
   * The stream mode, 'PROVISIONED' | 'ON_DEMAND' or a token (with `onDemandCondition`).
   * @default 'PROVISIONED'
   */
  readonly streamMode?: string;
  /**
   * Retention of the stream.
   * @default Duration.hours(24)
   */
  readonly streamRetention?: Duration;
}

/**
 * Where the data lives: the input Kinesis stream (encrypted), the output bucket (encrypted, TLS
 * only, versioned, access-logged, incomplete multipart uploads aborted after 7 days) and the
 * DynamoDB lease table of checkpoints and shard leases; all three are retained when the stack is deleted.
 */
export class Storage extends Construct {
  /** The input stream the replay tool writes and the processor reads. */
  readonly stream: kinesis.Stream;
  /** The output bucket: Parquet under the output prefix, dead letters under errors/. */
  readonly bucket: s3.Bucket;
  /** The bucket receiving the output bucket's server access logs. */
  readonly accessLogsBucket: s3.Bucket;
  /** The checkpoint/lease table: partition key `application`, sort key `leaseKey` (strings), TTL on `expiresAt`. */
  readonly checkpointTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const shardCount = props.shardCount ?? 16;
    if (!Token.isUnresolved(shardCount) && (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 10000)) {
      throw new Error(`Storage: shardCount must be an integer from 1 to 10000, got ${shardCount}`);
    }
    const streamMode = props.streamMode ?? 'PROVISIONED';
    if (!Token.isUnresolved(streamMode) && streamMode !== 'PROVISIONED' && streamMode !== 'ON_DEMAND') {
      throw new Error(`Storage: streamMode must be PROVISIONED or ON_DEMAND, got '${streamMode}'`);
    }
    if (Token.isUnresolved(streamMode) && !props.onDemandCondition) {
      throw new Error('Storage: a token streamMode needs onDemandCondition (the shard count must be omitted for ON_DEMAND)');
    }

    this.stream = new kinesis.Stream(this, 'Stream', {
      encryption: kinesis.StreamEncryption.MANAGED,
      retentionPeriod: props.streamRetention ?? Duration.hours(24),
      ...(Token.isUnresolved(streamMode) || streamMode === 'PROVISIONED'
        ? { shardCount: Token.isUnresolved(shardCount) ? 1 : shardCount, streamMode: kinesis.StreamMode.PROVISIONED }
        : { streamMode: kinesis.StreamMode.ON_DEMAND }),
    });
    const cfnStream = this.stream.node.defaultChild as kinesis.CfnStream;
    if (props.onDemandCondition) {
      // CloudFormation rejects ShardCount with ON_DEMAND, so it is present only when provisioned.
      cfnStream.shardCount = Fn.conditionIf(props.onDemandCondition.logicalId, Fn.ref('AWS::NoValue'), shardCount) as unknown as number;
      cfnStream.streamModeDetails = { streamMode };
    } else if (Token.isUnresolved(shardCount)) {
      cfnStream.shardCount = shardCount;
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'output-bucket/',
      metrics: [{ id: BUCKET_METRICS_FILTER_ID }],
      lifecycleRules: [
        // The processor keeps multipart uploads open only between two checkpoints; anything older is
        // debris of a crash that recovery did not clean up.
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { noncurrentVersionExpiration: Duration.days(30) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.checkpointTable = new dynamodb.Table(this, 'CheckpointTable', {
      partitionKey: { name: LEASE_TABLE_KEY.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEASE_TABLE_KEY.sort, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: LEASE_TABLE_KEY.ttl,
      // Like the stream and the bucket: the checkpoints say which output is committed, so deleting the
      // stack must not lose them while the output they describe is kept.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
