import * as path from 'node:path';
import { CfnOutput, Fn, Stack, Token, Validations } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { Dashboard } from './dashboard.js';
import { ImageBuild } from './image-build.js';
import { Network } from './network.js';
import { OutputLocation } from './output-location.js';
import { ProcessorRole } from './processor-role.js';
import { ProcessorService } from './processor-service.js';
import { Query } from './query.js';
import { ReplayHost } from './replay-host.js';
import type { ReplaySource } from './replay-host.js';
import { RuntimeProperties } from './runtime-properties.js';
import { StackParameters } from './stack-parameters.js';
import type { ImageSource, PinnedSource } from './stack-parameters.js';
import { Storage } from './storage.js';

/** Files of the repository that neither the image nor the replay host's source archive needs. */
export const SOURCE_EXCLUDES = ['node_modules', 'cdk.out', 'dist', '.cache', '.git', '.local-data', 'output', '**/__pycache__', '.venv'];

/** Properties of {@link StreamingEtlStack}. */
export interface StreamingEtlStackProps extends StackProps {
  /**
   * `asset` (for `cdk deploy`): the processor image is built from the repository's Dockerfile and
   * the replay host gets the repository as an S3 asset. `build` (the one-click template): no assets
   * at all; the stack builds the image from the pinned source archive (or pulls a given image by
   * digest) and the replay host installs from the same archive.
   * @default 'asset'
   */
  readonly imageSource?: ImageSource;
  /**
   * The repository root (holding the Dockerfile), for `imageSource: 'asset'`.
   * @default the folder above lib/
   */
  readonly repoRoot?: string;
  /**
   * The pinned source archive (URL and SHA-256): the defaults of SourceArchiveUrl and SourceSha256.
   * Required with `imageSource: 'build'`.
   * @default - none
   */
  readonly source?: PinnedSource;
}

/** The console's parameter groups, in order: each a label and the parameters (logical ids) in it. */
export type ParameterGroups = readonly { readonly label: string; readonly parameters: readonly string[] }[];

/**
 * The streaming ETL pipeline: network, stream, bucket, lease table, the processor on Fargate
 * configured from CloudFormation parameters, the replay host, the dashboard and the query-ready
 * Glue table. This class only wires the constructs of lib/.
 */
export class StreamingEtlStack extends Stack {
  /** The console's parameter groups (also the template's AWS::CloudFormation::Interface). */
  readonly parameterGroups: ParameterGroups;

  constructor(scope: Construct, id: string, props: StreamingEtlStackProps = {}) {
    super(scope, id, {
      description: 'streaming-etl: Kinesis -> processor on Fargate (managed-Flink equivalent) -> partitioned Parquet on S3, with replay host, dashboard and Athena table',
      ...props,
    });
    const imageSource = props.imageSource ?? 'asset';
    const repoRoot = props.repoRoot ?? path.resolve(import.meta.dirname, '..');

    const params = new StackParameters(this, 'Parameters', { imageSource, source: props.source });
    const network = new Network(this, 'Network', { natGateways: params.natGateways.valueAsString });
    const storage = new Storage(this, 'Storage', {
      shardCount: params.shardCount.valueAsNumber,
      streamMode: params.streamMode.valueAsString,
      onDemandCondition: params.isOnDemand,
    });
    const properties = new RuntimeProperties(this, 'RuntimeProperties', {
      stream: storage.stream,
      bucket: storage.bucket,
      checkpointTable: storage.checkpointTable,
    });
    const location = new OutputLocation(this, 'Output', {
      createdBucket: storage.bucket,
      outputBucket: properties.parameter('OutputBucket').valueAsString,
      outputPrefix: properties.parameter('OutputPrefix').valueAsString,
      errorPrefix: properties.parameter('OutputErrorPrefix').valueAsString,
      useCreatedBucket: properties.useCreatedBucket,
      noBucket: properties.noBucket,
    });
    const role = new ProcessorRole(this, 'ProcessorRole', {
      properties,
      stream: storage.stream,
      location,
      checkpointTable: storage.checkpointTable,
      openSearchDomainArn: params.openSearchDomainArn.valueAsString,
      hasOpenSearchDomain: params.hasOpenSearchDomain,
      mskClusterArn: params.mskClusterArn.valueAsString,
      hasMskCluster: params.hasMskCluster,
    });

    let image: ecs.ContainerImage;
    let build: ImageBuild | undefined;
    if (imageSource === 'asset') {
      image = ecs.ContainerImage.fromAsset(repoRoot, { platform: Platform.LINUX_AMD64, exclude: SOURCE_EXCLUDES });
    } else {
      build = new ImageBuild(this, 'ImageBuild', {
        sourceUrl: required(params.sourceArchiveUrl).valueAsString,
        sourceSha256: required(params.sourceSha256).valueAsString,
        condition: required(params.buildsImage),
      });
      image = ecs.ContainerImage.fromRegistry(
        Fn.conditionIf(required(params.buildsImage).logicalId, build.imageUri, required(params.processorImageUri).valueAsString).toString(),
      );
    }
    const processor = new ProcessorService(this, 'Processor', {
      vpc: network.vpc,
      image,
      taskRole: role.role,
      propertiesParameter: properties.ssmParameter,
      propertiesVersion: properties.version,
      metricsNamespace: properties.value('MetricsNamespace'),
      applicationName: properties.value('ApplicationName'),
      cpu: Token.asNumber(params.taskCpu.valueAsString),
      memoryMiB: Token.asNumber(params.taskMemory.valueAsString),
      minCount: params.minTaskCount.valueAsNumber,
      maxCount: params.maxTaskCount.valueAsNumber,
      egress: { kafka: properties.usesKafka, openSearch: properties.hasOpenSearchEndpoint },
    });
    const executionRole = processor.taskDefinition.obtainExecutionRole();
    if (build && params.processorImageUri && params.buildsImage) {
      // Pull only the processor's repository: the one the stack builds into, or the given image's
      // (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:…). The padding keeps every
      // Fn::Select in range even while ProcessorImageUri is empty.
      const given = params.processorImageUri.valueAsString;
      const field = (separator: string, index: number, text: string) => Fn.select(index, Fn.split(separator, Fn.join('', [text, separator.repeat(index + 1)])));
      const givenRepositoryArn = Fn.join('', [
        `arn:${this.partition}:ecr:`,
        field('.', 3, given),
        ':',
        field('.', 0, given),
        ':repository/',
        field('@', 0, field('.amazonaws.com/', 1, given)),
      ]);
      executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PullProcessorImage',
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          resources: [Fn.conditionIf(params.buildsImage.logicalId, build.repository.repositoryArn, givenRepositoryArn).toString()],
        }),
      );
      executionRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    }
    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken supports no resource-level permission (it is the registry login).',
    });

    const source: ReplaySource =
      imageSource === 'asset'
        ? { kind: 'asset', asset: new s3assets.Asset(this, 'SourceArchive', { path: repoRoot, exclude: [...SOURCE_EXCLUDES, 'Dockerfile', '.dockerignore'] }) }
        : { kind: 'url', url: required(params.sourceArchiveUrl).valueAsString, sha256: required(params.sourceSha256).valueAsString };
    const replayHost = new ReplayHost(this, 'ReplayHost', {
      vpc: network.vpc,
      stream: storage.stream,
      bucket: storage.bucket,
      source,
      instanceType: params.replayInstanceType.valueAsString,
      imageId: params.replayHostImage.valueAsString,
      egress: { kafka: properties.usesKafka },
    });
    const dashboard = new Dashboard(this, 'Dashboard', {
      stream: storage.stream,
      bucket: storage.bucket,
      service: processor.service,
      metricsNamespace: properties.value('MetricsNamespace'),
      applicationName: properties.value('ApplicationName'),
    });
    const query = new Query(this, 'Query', {
      bucket: storage.bucket,
      location: location.dataUrl,
      databaseName: params.glueDatabaseName.valueAsString,
    });

    this.parameterGroups = parameterGroups(params, properties);
    const labels: Record<string, { default: string }> = {};
    for (const [name, text] of Object.entries({ ...params.labels, ...properties.labels })) labels[name] = { default: text };
    this.templateOptions.metadata = {
      'AWS::CloudFormation::Interface': {
        ParameterGroups: this.parameterGroups.map((g) => ({ Label: { default: g.label }, Parameters: [...g.parameters] })),
        ParameterLabels: labels,
      },
    };

    const output = (oid: string, value: string, description: string) => new CfnOutput(this, oid, { value, description });
    output('ReplayCommand', replayHost.replayCommand, 'Paste into a Session Manager session on the replay host (ReplayHostSession): replays the bundled taxi sample into the stream');
    output('ReplayHostSession', replayHost.sessionUrl, 'Opens a Session Manager session on the replay host');
    output('DashboardUrl', dashboard.url, 'The pipeline\'s CloudWatch dashboard');
    output('OutputBucketName', storage.bucket.bucketName, 'The created output bucket');
    output('OutputLocation', location.dataUrl, 'Where the Parquet output lands (dead letters under OutputErrorPrefix)');
    output('StreamName', storage.stream.streamName, 'The created input stream');
    output('AthenaWorkGroup', query.workGroup.ref, 'The Athena workgroup (results go to the bucket under athena-results/)');
    output('AthenaQuery', query.exampleQuery, 'An example Athena query over the output (run it in the AthenaWorkGroup)');
  }
}

/**
 * The console layout: what a person fills in first comes first. A property group placed nowhere
 * below (a new connector's) gets its own console group before Operations.
 */
function parameterGroups(params: StackParameters, properties: RuntimeProperties): ParameterGroups {
  const placed = new Set<string>();
  const groupOf = (name: string) => {
    placed.add(name);
    return [...(properties.groups.get(name) ?? [])];
  };
  const existing = (ids: (string | undefined)[]) => ids.filter((x): x is string => x !== undefined && x in { ...params.labels, ...properties.labels });
  const groups: { label: string; parameters: string[] }[] = [
    { label: 'Source code and processor image', parameters: existing(['SourceArchiveUrl', 'SourceSha256', 'ProcessorImageUri']) },
    { label: 'Input stream', parameters: existing(['StreamMode', 'ShardCount', ...groupOf('Source'), 'MskClusterArn']) },
    { label: 'Output: S3 (Parquet) and Athena', parameters: existing([...groupOf('S3 sink'), 'GlueDatabaseName']) },
    { label: 'Checkpoints', parameters: groupOf('Checkpoints') },
    { label: 'Processor tasks', parameters: existing(['TaskCpu', 'TaskMemory', 'MinTaskCount', 'MaxTaskCount']) },
    { label: 'Output: Kinesis stream (optional)', parameters: groupOf('Kinesis sink') },
    { label: 'Output: OpenSearch (optional)', parameters: existing([...groupOf('OpenSearch sink'), 'OpenSearchDomainArn']) },
    { label: 'Output: Kafka (optional)', parameters: groupOf('Kafka sink') },
    { label: 'Output: discard (measuring)', parameters: groupOf('Discard sink') },
  ];
  groups.push(
    ...[...properties.groups.keys()]
      .filter((name) => !placed.has(name) && name !== 'Operations')
      .map((name) => ({ label: name.endsWith(' sink') ? `Output: ${name.slice(0, -' sink'.length)} (optional)` : name, parameters: groupOf(name) })),
    { label: 'Operations', parameters: groupOf('Operations') },
    { label: 'Network', parameters: ['NatGateways'] },
    { label: 'Replay host', parameters: ['ReplayInstanceType', 'ReplayHostImage'] },
  );
  return groups.filter((g) => g.parameters.length > 0);
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('StreamingEtlStack: internal error, a parameter of the chosen imageSource is missing');
  return value;
}
