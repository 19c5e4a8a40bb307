import { CfnResource, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { CfnCondition, CfnElement } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SHA256_PATTERN, SOURCE_ARCHIVE_URL_PATTERN } from './stack-parameters.js';

/** Properties of {@link ImageBuild}. */
export interface ImageBuildProps {
  /** https URL of the source archive (a token: the SourceArchiveUrl parameter). */
  readonly sourceUrl: string;
  /** SHA-256 of the archive (a token: the SourceSha256 parameter); the build refuses any other archive. */
  readonly sourceSha256: string;
  /**
   * When set, every resource of the build exists only while this condition holds.
   * @default - always
   */
  readonly condition?: CfnCondition;
  /**
   * Retention of the build's and the trigger's log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** How long the trigger waits for the build (a Lambda function runs at most 15 minutes). */
export const BUILD_TIMEOUT = Duration.minutes(13);

/**
 * The build: download the archive, check its SHA-256, build the Dockerfile, push the image tagged
 * with the archive's hash (an immutable tag, so a rebuild of the same source reuses the image), and
 * export the image's digest.
 */
export const BUILD_SPEC = {
  version: '0.2',
  env: { shell: 'bash', 'exported-variables': ['IMAGE_DIGEST'] },
  phases: {
    build: {
      commands: [
        'set -euo pipefail',
        'TAG="source-$SOURCE_SHA256"',
        'REPOSITORY_NAME="${REPOSITORY_URI#*/}"',
        'if aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$TAG" >/dev/null 2>&1; then echo "image $TAG exists (immutable tags): reusing it"; else '
          + 'curl -fsSL --retry 5 --proto \'=https\' -o /tmp/source.tar.gz "$SOURCE_URL" && '
          + 'echo "$SOURCE_SHA256  /tmp/source.tar.gz" | sha256sum --check --strict - && '
          + 'mkdir -p /tmp/source && tar -xzf /tmp/source.tar.gz --strip-components=1 --no-same-owner -C /tmp/source && '
          + 'aws ecr get-login-password | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}" && '
          + 'docker build --pull -t "$REPOSITORY_URI:$TAG" /tmp/source && docker push "$REPOSITORY_URI:$TAG"; fi',
        'IMAGE_DIGEST="$(aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$TAG" --query "imageDetails[0].imageDigest" --output text)"',
        'echo "built $REPOSITORY_URI@$IMAGE_DIGEST"',
      ],
    },
  },
} as const;

/**
 * The trigger: a CloudFormation custom resource (inline code, so the template needs no asset) that
 * starts the build on create and whenever the source changes, waits for it, and returns the image
 * digest, or fails the stack operation with the build's status and id.
 */
export const TRIGGER_CODE = `
const { CodeBuildClient, StartBuildCommand, BatchGetBuildsCommand, StopBuildCommand } = require('@aws-sdk/client-codebuild');
const codebuild = new CodeBuildClient({});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function respond(event, status, reason, data) {
  const body = JSON.stringify({ Status: status, Reason: String(reason).slice(0, 2000), PhysicalResourceId: event.PhysicalResourceId || event.LogicalResourceId,
    StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId, Data: data });
  for (let i = 0; ; i++) {
    try { const r = await fetch(event.ResponseURL, { method: 'PUT', headers: { 'content-type': '' }, body }); if (r.ok) return; throw new Error('HTTP ' + r.status); }
    catch (e) { if (i >= 4) throw e; await sleep(1000 * 2 ** i); }
  }
}
exports.handler = async (event, context) => {
  if (event.RequestType === 'Delete') return respond(event, 'SUCCESS', 'the image stays in the repository, which is emptied with it', {});
  try {
    const { build } = await codebuild.send(new StartBuildCommand({ projectName: event.ResourceProperties.ProjectName }));
    for (;;) {
      await sleep(15000);
      const { builds } = await codebuild.send(new BatchGetBuildsCommand({ ids: [build.id] }));
      const b = builds[0];
      if (b.buildStatus === 'SUCCEEDED') {
        const digest = (b.exportedEnvironmentVariables || []).find((v) => v.name === 'IMAGE_DIGEST');
        if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest.value)) throw new Error('build ' + b.id + ' exported no image digest');
        return respond(event, 'SUCCESS', 'built ' + digest.value, { ImageDigest: digest.value });
      }
      if (b.buildStatus !== 'IN_PROGRESS') throw new Error('build ' + b.id + ' ended ' + b.buildStatus + ' (see its CodeBuild log)');
      if (context.getRemainingTimeInMillis() < 60000) {
        await codebuild.send(new StopBuildCommand({ id: build.id }));
        throw new Error('build ' + b.id + ' did not finish in time; stopped');
      }
    }
  } catch (error) {
    await respond(event, 'FAILED', error && error.message ? error.message : error, {});
  }
};
`.trim();

/**
 * The processor image built inside the stack, so the one-click template launches with nothing built
 * or published by hand: an ECR repository the stack owns (immutable tags, scan on push, emptied on
 * deletion), a CodeBuild project that builds the repository's Dockerfile from the pinned source
 * archive, and a custom resource that runs the build and waits for it. The service then pulls the
 * image by digest.
 */
export class ImageBuild extends Construct {
  /** The repository the image is pushed to. */
  readonly repository: ecr.Repository;
  /** The CodeBuild project. */
  readonly project: codebuild.Project;
  /** The image, pinned by digest: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:…` (a token). */
  readonly imageUri: string;

  constructor(scope: Construct, id: string, props: ImageBuildProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.sourceUrl) && !new RegExp(SOURCE_ARCHIVE_URL_PATTERN).test(props.sourceUrl)) {
      throw new Error(`ImageBuild: sourceUrl must be an https URL of a .tar.gz, got '${props.sourceUrl}'`);
    }
    if (!Token.isUnresolved(props.sourceSha256) && !new RegExp(SHA256_PATTERN).test(props.sourceSha256)) {
      throw new Error(`ImageBuild: sourceSha256 must be 64 lower-case hex digits, got '${props.sourceSha256}'`);
    }
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.repository = new ecr.Repository(this, 'Repository', {
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      imageScanOnPush: true,
      emptyOnDelete: true,
      removalPolicy: RemovalPolicy.DESTROY,
      lifecycleRules: [{ description: 'Keep the last 10 images', maxImageCount: 10 }],
    });

    const buildLogs = new logs.LogGroup(this, 'BuildLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    this.project = new codebuild.Project(this, 'Project', {
      description: 'streaming-etl: builds the processor image from the pinned source archive',
      buildSpec: codebuild.BuildSpec.fromObject(BUILD_SPEC),
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: codebuild.ComputeType.MEDIUM,
        privileged: true,
      },
      environmentVariables: {
        SOURCE_URL: { value: props.sourceUrl },
        SOURCE_SHA256: { value: props.sourceSha256 },
        REPOSITORY_URI: { value: this.repository.repositoryUri },
      },
      timeout: BUILD_TIMEOUT,
      logging: { cloudWatch: { logGroup: buildLogs } },
    });
    this.repository.grantPullPush(this.project);
    this.repository.grantRead(this.project);
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB3',
      reason: 'Privileged mode is what CodeBuild needs to run docker build; the build runs only the pinned, hash-checked source.',
    });
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB4',
      reason: 'The build produces no artifacts (the image goes to ECR, encrypted with AES-256); CodeBuild encrypts its logs and cache with the AWS managed key.',
    });
    const projectId = Stack.of(this).getLogicalId(this.project.node.defaultChild as CfnElement);
    Validations.of(this.project).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${projectId}>:*]`,
      reason: 'CodeBuild\'s own grant on the project\'s default log group (streams are named per build); the build logs go to the BuildLogs group.',
    });
    Validations.of(this.project).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<${projectId}>-*]`,
      reason: 'CodeBuild\'s own grant on the project\'s test-report groups (named after the project); the build spec defines no report.',
    });
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken supports no resource-level permission (it is the registry login).',
    });

    const triggerLogs = new logs.LogGroup(this, 'TriggerLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    const triggerRole = new iam.Role(this, 'TriggerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'streaming-etl image build trigger: run the one build project, write its own log group',
    });
    triggerRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'RunBuild', actions: ['codebuild:BatchGetBuilds', 'codebuild:StartBuild', 'codebuild:StopBuild'], resources: [this.project.projectArn] }),
    );
    triggerRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${triggerLogs.logGroupArn}:log-stream:*`] }),
    );
    Validations.of(triggerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(triggerLogs.node.defaultChild as CfnElement)}.Arn>:log-stream:*]`,
      reason: 'Lambda names its log streams per execution environment; the grant is on the trigger\'s own log group only.',
    });
    const trigger = new lambda.Function(this, 'Trigger', {
      description: 'streaming-etl: runs the processor image build and waits for it (CloudFormation custom resource)',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(TRIGGER_CODE),
      timeout: Duration.minutes(15),
      memorySize: 256,
      role: triggerRole,
      logGroup: triggerLogs,
    });
    const image = new CustomResource(this, 'Image', {
      serviceToken: trigger.functionArn,
      resourceType: 'Custom::ProcessorImage',
      // A change of the source (or the project) runs a new build; the digest changes with the image.
      properties: { ProjectName: this.project.projectName, SourceUrl: props.sourceUrl, SourceSha256: props.sourceSha256 },
    });
    // The build may push only once its role's policy exists.
    image.node.addDependency(this.project.role ?? this.project);
    this.imageUri = `${this.repository.repositoryUri}@${image.getAttString('ImageDigest')}`;

    if (props.condition) {
      for (const c of this.node.findAll()) {
        if (CfnResource.isCfnResource(c)) c.cfnOptions.condition = props.condition;
      }
    }
  }
}
