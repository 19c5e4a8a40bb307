import { CfnCondition, CfnParameter, CfnRule, Fn } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** How the processor image reaches the stack. */
export type ImageSource = 'asset' | 'build';

/** A source archive of this repository, pinned by its SHA-256. */
export interface PinnedSource {
  /** https URL of a .tar.gz of this repository with one top-level folder (a release asset or a commit archive). */
  readonly url: string;
  /** SHA-256 of the archive's bytes, 64 lower-case hex digits. */
  readonly sha256: string;
}

/** Properties of {@link StackParameters}. */
export interface StackParametersProps {
  /**
   * Where the processor image and the replay tool's source come from: `asset` (built from this
   * repository by `cdk deploy`) adds no parameters for them; `build` (the one-click template) adds
   * `SourceArchiveUrl`, `SourceSha256` and `ProcessorImageUri`.
   * @default 'asset'
   */
  readonly imageSource?: ImageSource;
  /**
   * The defaults of `SourceArchiveUrl` and `SourceSha256`; required with `imageSource: 'build'` (the
   * template must launch as it is, so there is no placeholder to fall back on).
   * @default - none (only allowed with `imageSource: 'asset'`)
   */
  readonly source?: PinnedSource;
}

/** An https URL of a .tar.gz archive (no quotes, spaces or shell metacharacters: it goes into a shell command). */
export const SOURCE_ARCHIVE_URL_PATTERN = '^https://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._~%/+=-]+\\.tar\\.gz$';
/** A SHA-256 in hex. */
export const SHA256_PATTERN = '^[0-9a-f]{64}$';
/** An image in a private ECR repository, pinned by digest (or '' to build the image in the stack). */
export const PINNED_IMAGE_URI_PATTERN = '^([0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[a-z0-9._/-]+@sha256:[0-9a-f]{64})?$';

/** Valid Fargate memory sizes (MiB) for each CPU size, as the TaskMemory rules enforce them. */
export const FARGATE_MEMORY_BY_CPU: Readonly<Record<string, readonly number[]>> = {
  '256': [512, 1024, 2048],
  '512': steps(1024, 4096, 1024),
  '1024': steps(2048, 8192, 1024),
  '2048': steps(4096, 16384, 1024),
  '4096': steps(8192, 30720, 1024),
  '8192': steps(16384, 61440, 4096),
  '16384': steps(32768, 122880, 8192),
};

/**
 * The task counts MinTaskCount and MaxTaskCount offer: a short list, so that Rules can refuse a
 * minimum above the maximum (CloudFormation Rules compare strings, not numbers).
 */
export const TASK_COUNTS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64] as const;

/**
 * The infrastructure parameters of the stack (source, network, stream, task size, scaling, optional
 * integrations), as opposed to the processor's runtime properties (`RuntimeProperties`). Each has a
 * console label, a description, a default that deploys as is, and a constraint that rejects what
 * CloudFormation or the processor would reject later (patterns, ranges, and Rules for the Fargate
 * CPU/memory pairs).
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
  /** Tasks the service runs at least (and starts with). */
  readonly minTaskCount: CfnParameter;
  /** Tasks the auto scaling on consumer lag may run at most. */
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
  /** URL of the pinned source archive (only with `imageSource: 'build'`). */
  readonly sourceArchiveUrl?: CfnParameter;
  /** SHA-256 of the source archive (only with `imageSource: 'build'`). */
  readonly sourceSha256?: CfnParameter;
  /** A prebuilt processor image pinned by digest, or '' to build it in the stack (only with `imageSource: 'build'`). */
  readonly processorImageUri?: CfnParameter;
  /** True when the stream is on-demand. */
  readonly isOnDemand: CfnCondition;
  /** True when an OpenSearch domain ARN is given. */
  readonly hasOpenSearchDomain: CfnCondition;
  /** True when an MSK cluster ARN is given. */
  readonly hasMskCluster: CfnCondition;
  /** True when the stack builds the processor image (`imageSource: 'build'` and ProcessorImageUri empty). */
  readonly buildsImage?: CfnCondition;
  /** The console label of each parameter created here, by logical id. */
  readonly labels: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: StackParametersProps = {}) {
    super(scope, id);
    const imageSource = props.imageSource ?? 'asset';
    if (imageSource !== 'asset' && imageSource !== 'build') {
      throw new Error(`StackParameters: imageSource must be 'asset' or 'build', got '${String(imageSource)}'`);
    }
    if (imageSource === 'build') {
      if (!props.source) throw new Error('StackParameters: imageSource \'build\' needs source (the pinned source archive: url and sha256)');
      if (!new RegExp(SOURCE_ARCHIVE_URL_PATTERN).test(props.source.url)) {
        throw new Error(`StackParameters: source.url must be an https URL of a .tar.gz, got '${props.source.url}'`);
      }
      if (!new RegExp(SHA256_PATTERN).test(props.source.sha256)) {
        throw new Error(`StackParameters: source.sha256 must be 64 lower-case hex digits, got '${props.source.sha256}'`);
      }
    }
    const labels: Record<string, string> = {};
    const param = (name: string, label: string, options: ConstructorParameters<typeof CfnParameter>[2]): CfnParameter => {
      const p = new CfnParameter(this, name, options);
      p.overrideLogicalId(name);
      labels[name] = label;
      return p;
    };

    if (imageSource === 'build' && props.source) {
      this.sourceArchiveUrl = param('SourceArchiveUrl', 'Source archive URL', {
        type: 'String',
        default: props.source.url,
        allowedPattern: SOURCE_ARCHIVE_URL_PATTERN,
        constraintDescription: 'an https URL of a .tar.gz, without quotes or spaces',
        description:
          'https URL of a .tar.gz of this repository (one top-level folder). The stack builds the processor image from it (CodeBuild) and the replay host installs the replay tool from it; both check SourceSha256 first. The default is the release this template was published with.',
      });
      this.sourceSha256 = param('SourceSha256', 'Source archive SHA-256', {
        type: 'String',
        default: props.source.sha256,
        allowedPattern: SHA256_PATTERN,
        constraintDescription: '64 lower-case hex digits',
        description: 'SHA-256 of the archive at SourceArchiveUrl (sha256sum). The image build and the replay host refuse an archive whose hash differs.',
      });
      this.processorImageUri = param('ProcessorImageUri', 'Prebuilt processor image (optional)', {
        type: 'String',
        default: '',
        allowedPattern: PINNED_IMAGE_URI_PATTERN,
        constraintDescription: 'empty, or ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:DIGEST',
        description:
          'Empty (the default): the stack builds the processor image from the source archive into its own ECR repository. Otherwise a processor image in a private ECR repository, pinned by digest (REPOSITORY@sha256:…); the tasks may pull only that repository.',
      });
    }

    this.streamMode = param('StreamMode', 'Stream capacity mode', {
      type: 'String',
      default: 'PROVISIONED',
      allowedValues: ['PROVISIONED', 'ON_DEMAND'],
      description: 'Capacity mode of the created Kinesis stream: PROVISIONED (ShardCount shards) or ON_DEMAND.',
    });
    this.shardCount = param('ShardCount', 'Shards (provisioned)', {
      type: 'Number',
      default: 16,
      minValue: 1,
      maxValue: 10000,
      description: 'Shards of the created Kinesis stream when StreamMode is PROVISIONED (ignored for ON_DEMAND).',
    });
    this.taskCpu = param('TaskCpu', 'Task CPU units', {
      type: 'String',
      default: '1024',
      allowedValues: Object.keys(FARGATE_MEMORY_BY_CPU),
      description: 'vCPU units of a processor task (1024 = 1 vCPU). TaskMemory must be a valid Fargate combination for it.',
    });
    this.taskMemory = param('TaskMemory', 'Task memory (MiB)', {
      type: 'String',
      default: '2048',
      allowedPattern: '^[1-9][0-9]*$',
      constraintDescription: 'a number of MiB valid for TaskCpu on Fargate (e.g. 2048-8192 for 1024 CPU units)',
      description: 'Memory of a processor task in MiB; a Rule checks it is a valid Fargate combination with TaskCpu (1024 CPU: 2048-8192 in steps of 1024).',
    });
    this.minTaskCount = param('MinTaskCount', 'Minimum tasks', {
      type: 'Number',
      default: '1',
      allowedValues: TASK_COUNTS.map(String),
      description: 'Processor tasks the service runs at least (and starts with). Tasks share the shards through leases in the lease table.',
    });
    this.maxTaskCount = param('MaxTaskCount', 'Maximum tasks', {
      type: 'Number',
      default: '4',
      allowedValues: TASK_COUNTS.map(String),
      description: 'Processor tasks the auto scaling on consumer lag (MillisBehindLatest) may run at most; at least MinTaskCount. More tasks than shards leave the extra ones idle.',
    });
    this.openSearchDomainArn = param('OpenSearchDomainArn', 'OpenSearch domain ARN (optional)', {
      type: 'String',
      default: '',
      allowedPattern: '^(arn:aws[a-z-]*:es:[a-z0-9-]+:[0-9]{12}:domain/[a-z][a-z0-9-]{2,27})?$',
      constraintDescription: 'empty or an OpenSearch domain ARN',
      description: 'ARN of the OpenSearch domain behind OutputElasticsearchEndpoint; when set together with the endpoint, the task role may call es:ESHttp* on it. Empty: no OpenSearch permission.',
    });
    this.mskClusterArn = param('MskClusterArn', 'MSK cluster ARN (optional)', {
      type: 'String',
      default: '',
      allowedPattern: '^(arn:aws[a-z-]*:kafka:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9-]+/[A-Za-z0-9-]+)?$',
      constraintDescription: 'empty or an MSK cluster ARN',
      description: 'ARN of the MSK cluster behind the Kafka bootstrap servers; for each Kafka direction with SASL_SSL and AWS_MSK_IAM, the task role may connect and use that direction\'s topic, consumer group or transactional ids. Empty: no MSK permission.',
    });
    this.glueDatabaseName = param('GlueDatabaseName', 'Glue database', {
      type: 'String',
      default: 'streaming_etl',
      allowedPattern: '^[a-z0-9_]{1,128}$',
      constraintDescription: 'lower-case letters, digits and underscores',
      description: 'Glue database holding the Athena table over the Parquet output; must be unique in the account and region.',
    });
    this.natGateways = param('NatGateways', 'NAT gateways', {
      type: 'String',
      default: '1',
      allowedValues: ['1', '2'],
      description: 'NAT gateways for the private subnets: 1 (one shared gateway, cheaper) or 2 (one per Availability Zone, survives an AZ outage).',
    });
    this.replayInstanceType = param('ReplayInstanceType', 'Replay host instance type', {
      type: 'String',
      default: 't3.medium',
      allowedPattern: '^[a-z][a-z0-9-]*\\.[a-z0-9]+$',
      constraintDescription: 'an x86_64 EC2 instance type such as t3.medium',
      description: 'Instance type of the replay host (x86_64). Larger types replay faster at high speed-ups.',
    });
    this.replayHostImage = param('ReplayHostImage', 'Replay host AMI (SSM parameter)', {
      type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      description: 'Public SSM parameter naming the replay host\'s AMI: the latest Amazon Linux 2023 for x86_64 (user data uses dnf and Node.js 22 from AL2023).',
    });
    this.labels = labels;

    for (const [cpu, sizes] of Object.entries(FARGATE_MEMORY_BY_CPU)) {
      new CfnRule(this, `TaskMemoryFor${cpu}`, {
        ruleCondition: Fn.conditionEquals(this.taskCpu.valueAsString, cpu),
        assertions: [
          {
            assert: Fn.conditionContains(sizes.map(String), this.taskMemory.valueAsString),
            assertDescription: `With TaskCpu ${cpu}, TaskMemory must be one of ${sizes.join(', ')} (MiB), the Fargate sizes for that CPU.`,
          },
        ],
      }).overrideLogicalId(`TaskMemoryFitsTaskCpu${cpu}`);
    }

    for (const max of TASK_COUNTS.slice(0, -1)) {
      const allowed = TASK_COUNTS.filter((n) => n <= max).map(String);
      new CfnRule(this, `MinTasksUpTo${max}`, {
        ruleCondition: Fn.conditionEquals(this.maxTaskCount.valueAsString, String(max)),
        assertions: [
          {
            assert: Fn.conditionContains(allowed, this.minTaskCount.valueAsString),
            assertDescription: `With MaxTaskCount ${max}, MinTaskCount must be at most ${max}.`,
          },
        ],
      }).overrideLogicalId(`MinTaskCountAtMostMax${max}`);
    }

    const condition = (cid: string, expression: ReturnType<typeof Fn.conditionEquals>): CfnCondition => {
      const c = new CfnCondition(this, cid, { expression });
      c.overrideLogicalId(cid);
      return c;
    };
    this.isOnDemand = condition('StreamIsOnDemand', Fn.conditionEquals(this.streamMode.valueAsString, 'ON_DEMAND'));
    this.hasOpenSearchDomain = condition('HasOpenSearchDomainArn', Fn.conditionNot(Fn.conditionEquals(this.openSearchDomainArn.valueAsString, '')));
    this.hasMskCluster = condition('HasMskClusterArn', Fn.conditionNot(Fn.conditionEquals(this.mskClusterArn.valueAsString, '')));
    if (this.processorImageUri) {
      this.buildsImage = condition('BuildsProcessorImage', Fn.conditionEquals(this.processorImageUri.valueAsString, ''));
    }
  }
}

function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}
