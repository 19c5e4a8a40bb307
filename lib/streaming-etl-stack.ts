import * as path from 'node:path';
import { CfnOutput, Stack, Token } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Dashboard } from './dashboard.js';
import { Network } from './network.js';
import { ProcessorRole } from './processor-role.js';
import { ProcessorService } from './processor-service.js';
import { Query } from './query.js';
import { ReplayHost } from './replay-host.js';
import type { ReplaySource } from './replay-host.js';
import { RuntimeProperties } from './runtime-properties.js';
import { INFRASTRUCTURE_GROUP, StackParameters } from './stack-parameters.js';
import type { ImageSource } from './stack-parameters.js';
import { Storage } from './storage.js';

/** Files of the repository that neither the image nor the replay host's source archive needs. */
export const SOURCE_EXCLUDES = ['node_modules', 'cdk.out', 'dist', '.cache', '.git', '.local-data', 'output', '**/__pycache__', '.venv'];

/** Properties of {@link StreamingEtlStack}. */
export interface StreamingEtlStackProps extends StackProps {
  /**
   * `asset` (for `cdk deploy`): the processor image is built from the repository's Dockerfile and
   * the replay host gets the repository as an S3 asset. `parameter` (the one-click template): no
   * assets at all; the image URI and a source archive URL are CloudFormation parameters.
   * @default 'asset'
   */
  readonly imageSource?: ImageSource;
  /**
   * The repository root (holding the Dockerfile), for `imageSource: 'asset'`.
   * @default the folder above lib/
   */
  readonly repoRoot?: string;
  /**
   * Default of the ProcessorImageUri parameter (`imageSource: 'parameter'`).
   * @default a placeholder to replace
   */
  readonly defaultImageUri?: string;
  /**
   * Default of the SourceArchiveUrl parameter (`imageSource: 'parameter'`).
   * @default a placeholder to replace
   */
  readonly defaultSourceArchiveUrl?: string;
}

/**
 * The streaming ETL pipeline: network, stream, bucket, checkpoint table, the processor on
 * Fargate configured from CloudFormation parameters, the replay host, the dashboard and the
 * query-ready Glue table. This class only wires the constructs of lib/.
 */
export class StreamingEtlStack extends Stack {
  constructor(scope: Construct, id: string, props: StreamingEtlStackProps = {}) {
    super(scope, id, {
      description: 'streaming-etl: Kinesis -> processor on Fargate (managed-Flink equivalent) -> partitioned Parquet on S3, with replay host, dashboard and Athena table',
      ...props,
    });
    const imageSource = props.imageSource ?? 'asset';
    const repoRoot = props.repoRoot ?? path.resolve(import.meta.dirname, '..');

    const params = new StackParameters(this, 'Parameters', {
      imageSource,
      defaultImageUri: props.defaultImageUri,
      defaultSourceArchiveUrl: props.defaultSourceArchiveUrl,
    });
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
    const role = new ProcessorRole(this, 'ProcessorRole', {
      properties,
      stream: storage.stream,
      bucket: storage.bucket,
      checkpointTable: storage.checkpointTable,
      openSearchDomainArn: params.openSearchDomainArn.valueAsString,
      hasOpenSearchDomain: params.hasOpenSearchDomain,
      mskClusterArn: params.mskClusterArn.valueAsString,
      hasMskCluster: params.hasMskCluster,
    });

    const image =
      imageSource === 'asset'
        ? ecs.ContainerImage.fromAsset(repoRoot, { platform: Platform.LINUX_AMD64, exclude: SOURCE_EXCLUDES })
        : ecs.ContainerImage.fromRegistry(required(params.processorImageUri).valueAsString);
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
      desiredCount: params.desiredCount.valueAsNumber,
      maxCount: params.maxTaskCount.valueAsNumber,
    });
    const executionRole = processor.taskDefinition.obtainExecutionRole();
    if (imageSource === 'parameter') {
      // A private ECR image in this account needs these; a public image needs none (harmless).
      executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PullProcessorImage',
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          resources: [`arn:${this.partition}:ecr:${this.region}:${this.account}:repository/*`],
        }),
      );
      executionRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
      Validations.of(executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
        reason: 'The repository is only known at deploy time (ProcessorImageUri); pulls are limited to this account and region.',
      });
    }
    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken supports no resource-level permission (it is the registry login).',
    });

    const source: ReplaySource =
      imageSource === 'asset'
        ? { kind: 'asset', asset: new s3assets.Asset(this, 'SourceArchive', { path: repoRoot, exclude: [...SOURCE_EXCLUDES, 'Dockerfile', '.dockerignore'] }) }
        : { kind: 'url', url: required(params.sourceArchiveUrl).valueAsString };
    const replayHost = new ReplayHost(this, 'ReplayHost', {
      vpc: network.vpc,
      stream: storage.stream,
      bucket: storage.bucket,
      source,
      instanceType: params.replayInstanceType.valueAsString,
      imageId: params.replayHostImage.valueAsString,
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
      prefix: properties.value('OutputPrefix'),
      databaseName: params.glueDatabaseName.valueAsString,
    });

    const groups: { Label: { default: string }; Parameters: string[] }[] = [
      { Label: { default: INFRASTRUCTURE_GROUP }, Parameters: [...params.parameterIds] },
    ];
    for (const [group, names] of properties.groups) groups.push({ Label: { default: `Processor: ${group}` }, Parameters: [...names] });
    this.templateOptions.metadata = { 'AWS::CloudFormation::Interface': { ParameterGroups: groups } };

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('ReplayCommand', replayHost.replayCommand, 'Paste into a Session Manager session on the replay host (ReplayHostSession): replays the bundled taxi sample into the stream');
    output('ReplayHostSession', replayHost.sessionUrl, 'Opens a Session Manager session on the replay host');
    output('DashboardUrl', dashboard.url, 'The pipeline\'s CloudWatch dashboard');
    output('OutputBucketName', storage.bucket.bucketName, 'The created output bucket');
    output('OutputLocation', `s3://${storage.bucket.bucketName}/${properties.value('OutputPrefix')}`, 'Where the Parquet output lands (dead letters under errors/)');
    output('StreamName', storage.stream.streamName, 'The created input stream');
    output('AthenaWorkGroup', query.workGroup.ref, 'The Athena workgroup (results go to the bucket under athena-results/)');
    output('AthenaQuery', query.exampleQuery, 'An example Athena query over the output (run it in the AthenaWorkGroup)');
  }
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('StreamingEtlStack: internal error, a parameter of the chosen imageSource is missing');
  return value;
}
