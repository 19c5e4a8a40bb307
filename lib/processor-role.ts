import { Aws, CfnCondition, Fn, Stack, Validations } from 'aws-cdk-lib';
import type { ICfnConditionExpression } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import type { OutputLocation } from './output-location.js';
import type { RuntimeProperties } from './runtime-properties.js';

/** Properties of {@link ProcessorRole}. */
export interface ProcessorRoleProps {
  /** The runtime properties (their parameters and conditions decide what the role may do). */
  readonly properties: RuntimeProperties;
  /** The created input stream. */
  readonly stream: kinesis.IStream;
  /** Where the S3 sink writes (the bucket and the path of OutputBucket, OutputPrefix, OutputErrorPrefix). */
  readonly location: OutputLocation;
  /** The created checkpoint table. */
  readonly checkpointTable: dynamodb.ITable;
  /** ARN of the OpenSearch domain the processor may write to ('' or a token that may be ''). */
  readonly openSearchDomainArn: string;
  /** Holds when `openSearchDomainArn` is not empty. */
  readonly hasOpenSearchDomain: CfnCondition;
  /** ARN of the MSK cluster the processor may use with IAM auth ('' or a token that may be ''). */
  readonly mskClusterArn: string;
  /** Holds when `mskClusterArn` is not empty. */
  readonly hasMskCluster: CfnCondition;
}

/** The Kinesis actions a consumer needs (polling and enhanced fan-out). */
export const KINESIS_READ_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamConsumer',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
  'kinesis:SubscribeToShard',
] as const;

/**
 * The DynamoDB actions of the lease table: read, take, renew and release leases, and checkpoint them
 * in one TransactWriteItems (which IAM authorises through the Put/Update/Delete/ConditionCheck
 * actions of its items). No Scan, no batch writes.
 */
export const CHECKPOINT_TABLE_ACTIONS = [
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const;

/** MSK IAM auth: connecting to the cluster (both directions) and reading its metadata. */
export const MSK_CONNECT_ACTIONS = ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'] as const;
/** MSK IAM auth: the Kafka source's topic. */
export const MSK_SOURCE_TOPIC_ACTIONS = ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'] as const;
/** MSK IAM auth: the Kafka source's consumer group (join, sync, heartbeat, offset commits and fetches). */
export const MSK_GROUP_ACTIONS = ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'] as const;
/** MSK IAM auth: the Kafka sink's topic. */
export const MSK_SINK_TOPIC_ACTIONS = ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'] as const;
/** MSK IAM auth: the transactional Kafka sink's transactional ids. */
export const MSK_TRANSACTION_ACTIONS = ['kafka-cluster:AlterTransactionalId', 'kafka-cluster:DescribeTransactionalId'] as const;

/**
 * The processor's task role, least privilege: read the input stream, write the bucket's output and
 * dead-letter prefixes, use the checkpoint table, put metrics in its own namespace; plus, each as a
 * separate policy that exists only under a CloudFormation condition, write to an output Kinesis
 * stream, an OpenSearch domain, an MSK cluster with IAM auth (per direction) when the matching
 * properties are set.
 */
export class ProcessorRole extends Construct {
  /** The task role. */
  readonly role: iam.Role;
  /** The conditional policies, by integration. */
  readonly optionalPolicies: { readonly kinesisOutput: iam.Policy; readonly openSearch: iam.Policy; readonly msk: iam.Policy; readonly mskSource: iam.Policy; readonly mskSink: iam.Policy };

  constructor(scope: Construct, id: string, props: ProcessorRoleProps) {
    super(scope, id);
    const p = props.properties;
    const v = (name: Parameters<RuntimeProperties['value']>[0]) => p.value(name);
    const streamArnOf = (name: string) => `arn:${Aws.PARTITION}:kinesis:${Aws.REGION}:${Aws.ACCOUNT_ID}:stream/${name}`;

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'streaming-etl processor task role',
    });

    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadInputStream',
        actions: [...KINESIS_READ_ACTIONS],
        resources: [
          Fn.conditionIf(p.hasCustomInputStream.logicalId, streamArnOf(p.parameter('InputKinesisStream').valueAsString), props.stream.streamArn).toString(),
        ],
      }),
    );
    const objects = (path: string) => Fn.join('', [`arn:${Aws.PARTITION}:s3:::`, path, '*']);
    const dataObjects = objects(props.location.dataPath);
    const errorObjects = objects(props.location.errorPath);
    const writeResources = [dataObjects, errorObjects];
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOutputPrefixes',
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
        resources: writeResources,
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListOutputBucket',
        actions: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [props.location.bucketArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CheckpointTable',
        actions: [...CHECKPOINT_TABLE_ACTIONS],
        resources: [
          Fn.conditionIf(
            p.useCreatedCheckpointTable.logicalId,
            props.checkpointTable.tableArn,
            `arn:${Aws.PARTITION}:dynamodb:${Aws.REGION}:${Aws.ACCOUNT_ID}:table/${p.parameter('CheckpointTable').valueAsString}`,
          ).toString(),
        ],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PutMetricsInOwnNamespace',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': v('MetricsNamespace') } },
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudwatch:PutMetricData supports no resource-level permission; the statement is limited to the MetricsNamespace namespace by a cloudwatch:namespace condition.',
    });
    for (const [resource, prefix] of [[dataObjects, 'OutputPrefix'], [errorObjects, 'OutputErrorPrefix']] as const) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(this, resource)}]`,
        reason: `Part files get generated names under the location's path and ${prefix} (partition paths, part numbers), so the grant is on that prefix only.`,
      });
    }

    const kinesisOutput = this.#conditionalPolicy('KinesisOutput', p.hasOutputKinesisStream, [
      new iam.PolicyStatement({
        sid: 'WriteOutputStream',
        actions: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        resources: [streamArnOf(p.parameter('OutputKinesisStream').valueAsString)],
      }),
    ]);

    const domainArn = props.openSearchDomainArn;
    const openSearch = this.#conditionalPolicy(
      'OpenSearch',
      condition(this, 'UsesOpenSearchDomain', Fn.conditionAnd(p.hasOpenSearchEndpoint, props.hasOpenSearchDomain)),
      [
        new iam.PolicyStatement({
          sid: 'WriteOpenSearchDomain',
          actions: ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut'],
          resources: [domainArn, `${domainArn}/*`],
        }),
      ],
    );
    Validations.of(openSearch).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::<OpenSearchDomainArn>/*]',
      reason: 'OpenSearch index names come from the events (index per event type); the grant is on the one domain given by OpenSearchDomainArn.',
    });

    // MSK IAM auth: the kafka-cluster actions the Kafka source and sink perform, each direction only
    // while it is configured with SASL_SSL + AWS_MSK_IAM and MskClusterArn is set. Resource ARNs
    // derive from the cluster ARN: arn:…:cluster/NAME/UUID -> arn:…:topic/NAME/UUID/TOPIC.
    const clusterArn = props.mskClusterArn;
    const arnHead = Fn.select(0, Fn.split('cluster/', clusterArn));
    const clusterPath = Fn.select(1, Fn.split('cluster/', clusterArn));
    const mskArn = (kind: string, name: string) => Fn.join('', [arnHead, `${kind}/`, clusterPath, `/${name}`]);
    const groupId = Fn.conditionIf(
      condition(this, 'KafkaGroupIdIsEmpty', Fn.conditionEquals(p.parameter('InputKafkaGroupId').valueAsString, '')).logicalId,
      v('ApplicationName'),
      p.parameter('InputKafkaGroupId').valueAsString,
    ).toString();
    const usesIam = (direction: 'Input' | 'Output') =>
      condition(
        this,
        `${direction}UsesMskIam`,
        Fn.conditionAnd(
          props.hasMskCluster,
          Fn.conditionNot(Fn.conditionEquals(v(`${direction}KafkaBootstrapServers`), '')),
          Fn.conditionEquals(v(`${direction}KafkaSecurityProtocol`), 'SASL_SSL'),
          Fn.conditionEquals(v(`${direction}KafkaSaslMechanism`), 'AWS_MSK_IAM'),
        ),
      );
    const inputIam = usesIam('Input');
    const outputIam = usesIam('Output');
    const msk = this.#conditionalPolicy('Msk', condition(this, 'UsesMskIam', Fn.conditionOr(inputIam, outputIam)), [
      new iam.PolicyStatement({
        sid: 'ConnectMskCluster',
        actions: [...MSK_CONNECT_ACTIONS],
        resources: [clusterArn],
      }),
    ]);
    const mskSource = this.#conditionalPolicy('MskSource', inputIam, [
      new iam.PolicyStatement({ sid: 'ReadMskSourceTopic', actions: [...MSK_SOURCE_TOPIC_ACTIONS], resources: [mskArn('topic', v('InputKafkaTopic'))] }),
      new iam.PolicyStatement({ sid: 'UseMskConsumerGroup', actions: [...MSK_GROUP_ACTIONS], resources: [mskArn('group', groupId)] }),
    ]);
    // The transactional sink names its transactional ids <prefix>-<run id>-<n>, the prefix
    // (OutputKafkaTransactionalIdPrefix) defaulting to ApplicationName.
    const transactionalIdPrefix = Fn.conditionIf(
      condition(this, 'KafkaTransactionalIdPrefixIsEmpty', Fn.conditionEquals(p.parameter('OutputKafkaTransactionalIdPrefix').valueAsString, '')).logicalId,
      v('ApplicationName'),
      p.parameter('OutputKafkaTransactionalIdPrefix').valueAsString,
    ).toString();
    const transactionalIds = mskArn('transactional-id', `${transactionalIdPrefix}-*`);
    const mskSink = this.#conditionalPolicy('MskSink', outputIam, [
      // The producer is idempotent (InitProducerId without a transactional id), which MSK authorises
      // with WriteDataIdempotently on the cluster.
      new iam.PolicyStatement({ sid: 'WriteMskIdempotently', actions: ['kafka-cluster:WriteDataIdempotently'], resources: [clusterArn] }),
      new iam.PolicyStatement({ sid: 'WriteMskSinkTopic', actions: [...MSK_SINK_TOPIC_ACTIONS], resources: [mskArn('topic', v('OutputKafkaTopic'))] }),
      new iam.PolicyStatement({ sid: 'UseMskTransactionalIds', actions: [...MSK_TRANSACTION_ACTIONS], resources: [transactionalIds] }),
    ]);
    Validations.of(mskSink).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(this, transactionalIds)}]`,
      reason: 'The Kafka sink names its transactional ids per run and transaction (<OutputKafkaTransactionalIdPrefix, else ApplicationName>-<run id>-<n>); the grant is on the ids with that prefix in the one cluster given by MskClusterArn.',
    });
    this.optionalPolicies = { kinesisOutput, openSearch, msk, mskSource, mskSink };
  }

  /** A policy of the task role that exists only when `when` holds. */
  #conditionalPolicy(id: string, when: CfnCondition, statements: iam.PolicyStatement[]): iam.Policy {
    const policy = new iam.Policy(this, id, { roles: [this.role], statements });
    (policy.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = when;
    return policy;
  }
}

/**
 * How cdk-nag names a resource built by Fn::Join in an acknowledgement: literal parts as they are,
 * intrinsic parts as JSON.
 */
export function nagResource(scope: Construct, value: string): string {
  const resolved = Stack.of(scope).resolve(value) as unknown;
  const part = (p: unknown): string => {
    if (typeof p === 'string') return p;
    const ref = (p as { Ref?: string }).Ref;
    if (typeof ref === 'string') return `<${ref}>`;
    const att = (p as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    if (att) return `<${att[0]}.${att[1]}>`;
    return JSON.stringify(p);
  };
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  return join ? join[1].map(part).join(join[0]) : part(resolved);
}

/** A condition with a fixed logical id. */
function condition(scope: Construct, id: string, expression: ICfnConditionExpression): CfnCondition {
  const c = new CfnCondition(scope, id, { expression });
  c.overrideLogicalId(id);
  return c;
}
