import { Aws, Fn, Stack, Validations } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';

/** Where the replay host installs the tool from. */
export type ReplaySource =
  /** An S3 asset (zip) of this repository, uploaded by `cdk deploy`. */
  | { readonly kind: 'asset'; readonly asset: s3assets.Asset }
  /** An https URL of a .tar.gz of this repository with one top-level folder (a GitHub archive). */
  | { readonly kind: 'url'; readonly url: string };

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
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for Session Manager, the only way onto the host (no SSH).',
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
      props.source.asset.grantRead(role);
      for (const action of ['s3:GetBucket*', 's3:GetObject*', 's3:List*']) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: 'Granted by Asset.grantRead on the CDK asset bucket, read-only, to download this repository\'s source archive.',
        });
      }
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]`,
        reason: 'The CDK asset bucket holds the source archive under a content-hash key; read-only.',
      });
    } else {
      userData.addCommands(`curl -fsSL --retry 5 '${props.source.url}' | tar -xz --strip-components=1 -C ${INSTALL_DIR}`);
    }
    userData.addCommands(
      `cd ${INSTALL_DIR}`,
      // tsx (a runtime dependency) runs the replay tool from its TypeScript source: no build step.
      'npm-22 ci --omit=dev --no-audit --no-fund',
      "cat > /usr/local/bin/etl-replay <<'EOF'",
      '#!/bin/sh',
      `exec /usr/bin/node-22 ${INSTALL_DIR}/scripts/launch/etl-replay.mjs "$@"`,
      'EOF',
      'chmod 755 /usr/local/bin/etl-replay',
    );

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'streaming-etl replay host: no inbound (Session Manager), outbound for packages and AWS APIs',
      allowAllOutbound: true,
    });
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
