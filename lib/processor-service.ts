import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { OptionalEgress } from './egress.js';
import { leastEgressSecurityGroup } from './egress.js';
import { APPLICATION_PROPERTIES_ENV, PROCESSOR_METRICS } from '../common/properties/index.js';
import { HEALTH_CHECK_PORT } from './runtime-properties.js';

/** The container's health check: GET /health on the processor's health port. */
export const HEALTH_CHECK_COMMAND = `node -e "fetch('http://127.0.0.1:${HEALTH_CHECK_PORT}/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`;

/** Fargate's longest stop timeout: time between SIGTERM and SIGKILL for the final checkpoint. */
export const STOP_TIMEOUT = Duration.seconds(120);

/** The task volume mounted at /tmp (the root filesystem is read-only). */
export const TMP_VOLUME = 'tmp';

/** Consumer lag (ms) above which the service adds tasks, and below which it removes them. */
export const SCALING_LAG_MS = { scaleIn: 10_000, scaleOut: 60_000, scaleOutFast: 300_000 } as const;

/** Properties of {@link ProcessorService}. */
export interface ProcessorServiceProps {
  /** The VPC; tasks run in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The processor image. */
  readonly image: ecs.ContainerImage;
  /** The task role (see ProcessorRole). */
  readonly taskRole: iam.IRole;
  /** The SSM parameter with the ApplicationProperties JSON, injected as the secret APPLICATION_PROPERTIES_JSON. */
  readonly propertiesParameter: ssm.IStringParameter;
  /** Changes whenever a property changes (see RuntimeProperties.version); set as PROPERTIES_VERSION. */
  readonly propertiesVersion: string;
  /** The processor's metrics namespace (MetricsNamespace property). */
  readonly metricsNamespace: string;
  /** The processor's ApplicationName property (the metrics dimension). */
  readonly applicationName: string;
  /**
   * Task vCPU units (a number or a token).
   * @default 1024
   */
  readonly cpu?: number;
  /**
   * Task memory in MiB (a number or a token).
   * @default 2048
   */
  readonly memoryMiB?: number;
  /**
   * Tasks the service runs at least (and starts with): the minimum of the auto scaling (a number or a token).
   * @default 1
   */
  readonly minCount?: number;
  /**
   * Maximum tasks of the auto scaling (a number or a token).
   * @default 4
   */
  readonly maxCount?: number;
  /**
   * Conditions of the optional egress rules (Kafka, OpenSearch ports).
   * @default - HTTPS (443) only
   */
  readonly egress?: OptionalEgress;
  /**
   * Retention of the processor's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The processor as a Fargate service, the managed-Flink equivalent: Container Insights, private
 * subnets, least egress, a read-only root filesystem, circuit breaker with rollback, rolling
 * deployments, health check, graceful stop, and auto scaling between the minimum and maximum task
 * counts on the consumer lag the processor reports (MillisBehindLatest, Maximum).
 */
export class ProcessorService extends Construct {
  /** The cluster. */
  readonly cluster: ecs.Cluster;
  /** The task definition. */
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The processor container. */
  readonly container: ecs.ContainerDefinition;
  /** The service. */
  readonly service: ecs.FargateService;
  /** The processor's log group (its status lines carry the embedded-format metrics). */
  readonly logGroup: logs.LogGroup;
  /** The scaling metric: the processor's consumer lag. */
  readonly lagMetric: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: ProcessorServiceProps) {
    super(scope, id);
    const cpu = props.cpu ?? 1024;
    const memoryMiB = props.memoryMiB ?? 2048;
    const minCount = props.minCount ?? 1;
    const maxCount = props.maxCount ?? 4;
    for (const [name, value] of Object.entries({ cpu, memoryMiB, minCount, maxCount })) {
      if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1)) {
        throw new Error(`ProcessorService: ${name} must be a positive integer, got ${value}`);
      }
    }
    if (!Token.isUnresolved(minCount) && !Token.isUnresolved(maxCount) && maxCount < minCount) {
      throw new Error(`ProcessorService: maxCount (${maxCount}) must be at least minCount (${minCount})`);
    }

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu,
      memoryLimitMiB: memoryMiB,
      taskRole: props.taskRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.container = this.taskDefinition.addContainer('processor', {
      image: props.image,
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'processor', mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
      secrets: { [APPLICATION_PROPERTIES_ENV]: ecs.Secret.fromSsmParameter(props.propertiesParameter) },
      environment: { PROPERTIES_VERSION: props.propertiesVersion },
      healthCheck: {
        command: ['CMD-SHELL', HEALTH_CHECK_COMMAND],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      stopTimeout: STOP_TIMEOUT,
      readonlyRootFilesystem: true,
    });
    // The root filesystem is read-only; /tmp is a task volume (Fargate ephemeral storage) for whatever
    // a dependency or Node.js itself writes there (diagnostic reports, temporary files).
    this.taskDefinition.addVolume({ name: TMP_VOLUME });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: TMP_VOLUME, readOnly: false });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The one plain environment variable, PROPERTIES_VERSION, holds no secret: it mirrors the (non-secret) stack parameters so a parameter change rolls the service; the properties themselves arrive as a secret from SSM.',
    });

    const securityGroup = leastEgressSecurityGroup(
      this,
      'SecurityGroup',
      props.vpc,
      'streaming-etl processor tasks: no inbound; outbound HTTPS, and Kafka/OpenSearch ports only when configured',
      props.egress,
    );
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: minCount,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      // Rolling: new tasks start before old ones stop. Tasks share the shards through leases; a
      // stopping task checkpoints and releases its leases on SIGTERM, and the others take them.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      enableExecuteCommand: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.lagMetric = new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: PROCESSOR_METRICS.millisBehindLatest,
      dimensionsMap: { ApplicationName: props.applicationName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    });
    const scaling = this.service.autoScaleTaskCount({ minCapacity: minCount, maxCapacity: maxCount });
    scaling.scaleOnMetric('ScaleOnLag', {
      metric: this.lagMetric,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: SCALING_LAG_MS.scaleIn, change: -1 },
        { lower: SCALING_LAG_MS.scaleOut, change: +1 },
        { lower: SCALING_LAG_MS.scaleOutFast, change: +2 },
      ],
      cooldown: Duration.minutes(5),
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    });
  }
}
