import { CfnCondition, CfnParameter, Fn } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Processor tasks the stack allows: one, until the processor shares a stream's shards between tasks. */
export const MAX_PROCESSOR_TASKS = 1;

/** How the processor image reaches the stack. */
export type ImageSource = 'asset' | 'parameter';

/** Properties of {@link StackParameters}. */
export interface StackParametersProps {
  /**
   * Where the processor image and the replay tool's source come from: `asset` (built from this
   * repository by `cdk deploy`) adds no parameters for them; `parameter` (the one-click template)
   * adds `ProcessorImageUri` and `SourceArchiveUrl`.
   * @default 'asset'
   */
  readonly imageSource?: ImageSource;
  /**
   * Default of `ProcessorImageUri` (only with `imageSource: 'parameter'`).
   * @default a placeholder the user must replace (see the parameter description)
   */
  readonly defaultImageUri?: string;
  /**
   * Default of `SourceArchiveUrl` (only with `imageSource: 'parameter'`).
   * @default a placeholder the user must replace (see the parameter description)
   */
  readonly defaultSourceArchiveUrl?: string;
}

/** The placeholder default of `ProcessorImageUri`: replace it with an image built from this repository. */
export const PLACEHOLDER_IMAGE_URI = 'public.ecr.aws/REPLACE-ME/streaming-etl:latest';
/** The placeholder default of `SourceArchiveUrl`: replace it with a .tar.gz of this repository. */
export const PLACEHOLDER_SOURCE_ARCHIVE_URL = 'https://github.com/REPLACE-ME/streaming-etl/archive/refs/heads/main.tar.gz';

/** The CloudFormation parameter groups (console layout), in order. */
export const INFRASTRUCTURE_GROUP = 'Infrastructure';

/**
 * The infrastructure parameters of the stack (network, stream, task size, scaling, optional
 * integrations), as opposed to the processor's runtime properties (`RuntimeProperties`).
 * Each parameter has a description and a default that deploys as is.
 */
export class StackParameters extends Construct {
  /** Number of NAT gateways: 1 (shared, cheaper) or 2 (one per AZ, highly available). */
  readonly natGateways: CfnParameter;
  /** Shards of the created stream when provisioned. */
  readonly shardCount: CfnParameter;
  /** PROVISIONED or ON_DEMAND. */
  readonly streamMode: CfnParameter;
  /** Task vCPU units. */
  readonly taskCpu: CfnParameter;
  /** Task memory (MiB). */
  readonly taskMemory: CfnParameter;
  /** Tasks when the service starts (and the auto-scaling minimum). */
  readonly desiredCount: CfnParameter;
  /** The auto-scaling maximum. */
  readonly maxTaskCount: CfnParameter;
  /** ARN of an OpenSearch domain the processor may write to ('' = none). */
  readonly openSearchDomainArn: CfnParameter;
  /** ARN of an MSK cluster the processor may use with IAM auth ('' = none). */
  readonly mskClusterArn: CfnParameter;
  /** Instance type of the replay host. */
  readonly replayInstanceType: CfnParameter;
  /** The replay host's AMI (an SSM parameter path resolved at deploy time). */
  readonly replayHostImage: CfnParameter;
  /** Glue database name of the query-ready table. */
  readonly glueDatabaseName: CfnParameter;
  /** The processor image URI (only with `imageSource: 'parameter'`). */
  readonly processorImageUri?: CfnParameter;
  /** URL of a .tar.gz of this repository for the replay host (only with `imageSource: 'parameter'`). */
  readonly sourceArchiveUrl?: CfnParameter;
  /** True when the stream is on-demand. */
  readonly isOnDemand: CfnCondition;
  /** True when an OpenSearch domain ARN is given. */
  readonly hasOpenSearchDomain: CfnCondition;
  /** True when an MSK cluster ARN is given. */
  readonly hasMskCluster: CfnCondition;
  /** The logical ids of every parameter created here, for the console's parameter groups. */
  readonly parameterIds: readonly string[];

  constructor(scope: Construct, id: string, props: StackParametersProps = {}) {
    super(scope, id);
    const imageSource = props.imageSource ?? 'asset';
    if (imageSource !== 'asset' && imageSource !== 'parameter') {
      throw new Error(`StackParameters: imageSource must be 'asset' or 'parameter', got '${String(imageSource)}'`);
    }
    const ids: string[] = [];
    const param = (name: string, options: ConstructorParameters<typeof CfnParameter>[2]): CfnParameter => {
      const p = new CfnParameter(this, name, options);
      p.overrideLogicalId(name);
      ids.push(name);
      return p;
    };

    this.natGateways = param('NatGateways', {
      type: 'String',
      default: '1',
      allowedValues: ['1', '2'],
      description: 'NAT gateways for the private subnets: 1 (one shared gateway, cheaper) or 2 (one per Availability Zone, survives an AZ outage).',
    });
    this.shardCount = param('ShardCount', {
      type: 'Number',
      default: 16,
      minValue: 1,
      maxValue: 10000,
      description: 'Shards of the created Kinesis stream when StreamMode is PROVISIONED (ignored for ON_DEMAND).',
    });
    this.streamMode = param('StreamMode', {
      type: 'String',
      default: 'PROVISIONED',
      allowedValues: ['PROVISIONED', 'ON_DEMAND'],
      description: 'Capacity mode of the created Kinesis stream: PROVISIONED (ShardCount shards) or ON_DEMAND.',
    });
    this.taskCpu = param('TaskCpu', {
      type: 'String',
      default: '1024',
      allowedValues: ['256', '512', '1024', '2048', '4096', '8192', '16384'],
      description: 'vCPU units of a processor task (1024 = 1 vCPU). TaskMemory must be a valid Fargate combination for it.',
    });
    this.taskMemory = param('TaskMemory', {
      type: 'String',
      default: '2048',
      allowedPattern: '^[0-9]+$',
      constraintDescription: 'a number of MiB valid for TaskCpu on Fargate (e.g. 2048-8192 for 1024 CPU units)',
      description: 'Memory of a processor task in MiB; must be a valid Fargate combination with TaskCpu (1024 CPU: 2048-8192).',
    });
    // One task until the processor shares shards between tasks (shard leases, the scale-out
    // issue): today every task takes the whole stream's checkpoint lease, so a second task would
    // fence the first at each checkpoint and they would take turns instead of sharing the work.
    // The auto scaling on lag is in place; raising these limits is all scale-out will need here.
    this.desiredCount = param('DesiredCount', {
      type: 'Number',
      default: 1,
      minValue: 1,
      maxValue: MAX_PROCESSOR_TASKS,
      description: `Processor tasks to run; also the minimum of the auto scaling on consumer lag. At most ${MAX_PROCESSOR_TASKS} until the processor shares shards between tasks.`,
    });
    this.maxTaskCount = param('MaxTaskCount', {
      type: 'Number',
      default: 1,
      minValue: 1,
      maxValue: MAX_PROCESSOR_TASKS,
      description: `Maximum processor tasks the auto scaling on consumer lag may run. At most ${MAX_PROCESSOR_TASKS} until the processor shares shards between tasks (more tasks would take the checkpoint lease from each other).`,
    });
    this.openSearchDomainArn = param('OpenSearchDomainArn', {
      type: 'String',
      default: '',
      allowedPattern: '^(arn:aws[a-z-]*:es:[a-z0-9-]+:[0-9]{12}:domain/[a-z0-9-]+)?$',
      constraintDescription: 'empty or an OpenSearch domain ARN',
      description: 'ARN of the OpenSearch domain behind OutputElasticsearchEndpoint; when set (with the endpoint), the task role may call es:ESHttp* on it. Empty: no OpenSearch permission.',
    });
    this.mskClusterArn = param('MskClusterArn', {
      type: 'String',
      default: '',
      allowedPattern: '^(arn:aws[a-z-]*:kafka:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9-]+/[A-Za-z0-9-]+)?$',
      constraintDescription: 'empty or an MSK cluster ARN',
      description: 'ARN of the MSK cluster (IAM auth) behind the Kafka bootstrap servers; when set, the task role may connect and use the input/output topics. Empty: no MSK permission.',
    });
    this.replayInstanceType = param('ReplayInstanceType', {
      type: 'String',
      default: 't3.medium',
      allowedPattern: '^[a-z0-9]+\\.[a-z0-9]+$',
      constraintDescription: 'an EC2 instance type such as t3.medium',
      description: 'Instance type of the replay host (x86_64). Larger types replay faster at high speed-ups.',
    });
    this.replayHostImage = param('ReplayHostImage', {
      type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      description: 'Public SSM parameter naming the replay host\'s AMI: the latest Amazon Linux 2023 for x86_64 (user data uses dnf and Node.js 22 from AL2023).',
    });
    this.glueDatabaseName = param('GlueDatabaseName', {
      type: 'String',
      default: 'streaming_etl',
      allowedPattern: '^[a-z0-9_]{1,128}$',
      constraintDescription: 'lower-case letters, digits and underscores',
      description: 'Glue database holding the Athena table over the Parquet output; must be unique in the account and region.',
    });
    if (imageSource === 'parameter') {
      this.processorImageUri = param('ProcessorImageUri', {
        type: 'String',
        default: props.defaultImageUri ?? PLACEHOLDER_IMAGE_URI,
        minLength: 1,
        description:
          'Container image of the processor, built from this repository\'s Dockerfile and pushed to a registry the tasks can pull from (ECR in this account, or a public registry). Replace the default unless it names your image.',
      });
      this.sourceArchiveUrl = param('SourceArchiveUrl', {
        type: 'String',
        default: props.defaultSourceArchiveUrl ?? PLACEHOLDER_SOURCE_ARCHIVE_URL,
        allowedPattern: '^https://.+$',
        constraintDescription: 'an https URL',
        description:
          'https URL of a .tar.gz of this repository (one top-level folder, as GitHub archives have); the replay host downloads it and installs the replay tool with npm ci. Replace the default unless it names your copy.',
      });
    }
    this.parameterIds = ids;

    this.isOnDemand = new CfnCondition(this, 'IsOnDemand', { expression: Fn.conditionEquals(this.streamMode.valueAsString, 'ON_DEMAND') });
    this.isOnDemand.overrideLogicalId('StreamIsOnDemand');
    this.hasOpenSearchDomain = new CfnCondition(this, 'HasOpenSearchDomain', {
      expression: Fn.conditionNot(Fn.conditionEquals(this.openSearchDomainArn.valueAsString, '')),
    });
    this.hasOpenSearchDomain.overrideLogicalId('HasOpenSearchDomainArn');
    this.hasMskCluster = new CfnCondition(this, 'HasMskCluster', {
      expression: Fn.conditionNot(Fn.conditionEquals(this.mskClusterArn.valueAsString, '')),
    });
    this.hasMskCluster.overrideLogicalId('HasMskClusterArn');
  }
}
