import { Aws, Fn, Stack, Validations } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import type { OptionalEgress } from './egress.js';
import { leastEgressSecurityGroup } from './egress.js';

/** Where the replay host installs the tool from. */
export type ReplaySource =
  /** An S3 asset (zip) of this repository, uploaded by `cdk deploy`. */
  | { readonly kind: 'asset'; readonly asset: s3assets.Asset }
  /** An https URL of a .tar.gz of this repository with one top-level folder, and its SHA-256 (checked before use). */
  | { readonly kind: 'url'; readonly url: string; readonly sha256: string };

/** The unprivileged user that installs the replay tool's dependencies (npm never runs as root). */
export const INSTALL_USER = 'etl-install';
/** What Session Manager needs on the instance (the actions of AmazonSSMManagedInstanceCore without its ssm:GetParameter* on *). */
export const SESSION_MANAGER_ACTIONS = [
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
] as const;

/** The folder the replay tool is installed in on the host. */
export const INSTALL_DIR = '/opt/streaming-etl';
/** The sample the ReplayCommand replays (shipped in the repository). */
export const SAMPLE_PATH = 'data/nyc-tlc/yellow_tripdata_2018-01_sample.csv';
/** Replay speed-up of the ReplayCommand (as the original: a month in a few minutes). */
export const REPLAY_SPEEDUP = 6480;

/** Properties of {@link ReplayHost}. */
export interface ReplayHostProps {
  /** The VPC; the host runs in a private subnet. */
  readonly vpc: ec2.IVpc;
  /** The stream it replays into. */
  readonly stream: kinesis.IStream;
  /** The bucket it may read input from (`s3://bucket/data/…`). */
  readonly bucket: s3.IBucket;
  /** Where the tool's source comes from. */
  readonly source: ReplaySource;
  /**
   * Conditions of the optional egress rules (the replay tool can write to Kafka).
   * @default - HTTPS (443) only
   */
  readonly egress?: OptionalEgress;
  /**
   * Instance type (a string or a token).
   * @default 't3.medium'
   */
  readonly instanceType?: string;
  /**
   * The AMI: an SSM parameter path of an Amazon Linux 2023 image, or a token resolving to an image id.
   * @default the latest Amazon Linux 2023 (x86_64) through its public SSM parameter
   */
  readonly imageId?: string;
}

/**
 * The replay host: an Amazon Linux 2023 instance in a private subnet, reachable through Session
 * Manager only (no SSH, no inbound rule), whose user data installs Node.js 22 and the replay tool,
 * so the ReplayCommand output can be pasted into a session.
 */
export class ReplayHost extends Construct {
  /** The instance. */
  readonly instance: ec2.Instance;
  /** The command to paste into a Session Manager session on the host. */
  readonly replayCommand: string;
  /** The console link that opens a session on the host. */
  readonly sessionUrl: string;

  constructor(scope: Construct, id: string, props: ReplayHostProps) {
    super(scope, id);
    if (props.source.kind !== 'asset' && props.source.kind !== 'url') {
      throw new Error(`ReplayHost: source.kind must be 'asset' or 'url', got '${String((props.source as { kind: unknown }).kind)}'`);
    }
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'streaming-etl replay host: Session Manager, write the input stream, read the bucket',
    });
    role.addToPolicy(new iam.PolicyStatement({ sid: 'SessionManager', actions: [...SESSION_MANAGER_ACTIONS], resources: ['*'] }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'The Session Manager agent actions (ssm:UpdateInstanceInformation, ssmmessages:*Channel, ec2messages:*) support no resource-level permission; no parameter read is granted.',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteInputStream',
        actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        resources: [props.stream.streamArn],
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadBucket', actions: ['s3:GetObject'], resources: [props.bucket.arnForObjects('data/*')] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListBucketData',
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['data/*'] } },
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(props.bucket)}.Arn>/data/*]`,
      reason: 'The host reads replay input under the bucket\'s data/ prefix only; file names are the user\'s.',
    });

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'set -euxo pipefail',
      'dnf install -y nodejs22 nodejs22-npm tar gzip unzip',
      `mkdir -p ${INSTALL_DIR}`,
    );
    if (props.source.kind === 'asset') {
      const archive = userData.addS3DownloadCommand({
        bucket: props.source.asset.bucket,
        bucketKey: props.source.asset.s3ObjectKey,
        localFile: '/tmp/streaming-etl.zip',
      });
      userData.addCommands(`unzip -q -o ${archive} -d ${INSTALL_DIR}`);
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSourceAsset',
          actions: ['s3:GetObject'],
          resources: [props.source.asset.bucket.arnForObjects(props.source.asset.s3ObjectKey)],
        }),
      );
    } else {
      userData.addCommands(
        `curl -fsSL --retry 5 --proto '=https' -o /tmp/streaming-etl.tar.gz '${props.source.url}'`,
        // The archive is used only when it is the pinned one.
        `echo '${props.source.sha256}  /tmp/streaming-etl.tar.gz' | sha256sum --check --strict -`,
        `tar -xzf /tmp/streaming-etl.tar.gz --strip-components=1 --no-same-owner -C ${INSTALL_DIR}`,
      );
    }
    userData.addCommands(
      `useradd --system --home-dir ${INSTALL_DIR} --shell /sbin/nologin ${INSTALL_USER}`,
      `chown -R ${INSTALL_USER}: ${INSTALL_DIR}`,
      `cd ${INSTALL_DIR}`,
      // tsx (a runtime dependency) runs the replay tool from its TypeScript source: no build step.
      // As an unprivileged user and without install scripts (package.json's allowScripts: none is needed).
      `runuser -u ${INSTALL_USER} -- env HOME=${INSTALL_DIR} npm_config_cache=/tmp/${INSTALL_USER}-npm npm-22 ci --omit=dev --ignore-scripts --no-audit --no-fund`,
      "cat > /usr/local/bin/etl-replay <<'EOF'",
      '#!/bin/sh',
      `exec /usr/bin/node-22 ${INSTALL_DIR}/scripts/launch/etl-replay.mjs "$@"`,
      'EOF',
      'chmod 755 /usr/local/bin/etl-replay',
    );

    const securityGroup = leastEgressSecurityGroup(
      this,
      'SecurityGroup',
      props.vpc,
      'streaming-etl replay host: no inbound (Session Manager); outbound HTTPS, and Kafka ports only when configured',
      props.egress,
    );
    const imageId = props.imageId ?? ec2.MachineImage.latestAmazonLinux2023().getImage(this).imageId;
    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      instanceType: new ec2.InstanceType(props.instanceType ?? 't3.medium'),
      machineImage: { getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData }) },
      userData,
      userDataCausesReplacement: true,
      role,
      securityGroup,
      requireImdsv2: true,
      detailedMonitoring: true,
      ssmSessionPermissions: false,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(20, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason: 'The replay host is disposable (it holds no data and is rebuilt from user data); termination protection would only block stack deletion.',
    });

    this.replayCommand = Fn.join('', [
      'cloud-init status --wait >/dev/null; etl-replay',
      ` --input ${INSTALL_DIR}/${SAMPLE_PATH}`,
      ' --stream-name ',
      props.stream.streamName,
      ' --region ',
      Aws.REGION,
      ` --speedup ${REPLAY_SPEEDUP}`,
    ]);
    this.sessionUrl = Fn.join('', [
      'https://',
      Aws.REGION,
      '.console.aws.amazon.com/systems-manager/session-manager/',
      this.instance.instanceId,
      '?region=',
      Aws.REGION,
    ]);
  }
}

function logicalIdOf(c: Construct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
}
