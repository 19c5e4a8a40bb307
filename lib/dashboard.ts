import { Aws, Duration, Fn } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PROCESSOR_METRICS } from '../common/properties/index.js';
import { BUCKET_METRICS_FILTER_ID } from './storage.js';

/** Properties of {@link Dashboard}. */
export interface DashboardProps {
  /** The input stream. */
  readonly stream: kinesis.IStream;
  /** The output bucket (its request metrics filter is {@link BUCKET_METRICS_FILTER_ID}). */
  readonly bucket: s3.IBucket;
  /** The processor service (CPU and memory). */
  readonly service: ecs.FargateService;
  /** The processor's metrics namespace (MetricsNamespace property, a token). */
  readonly metricsNamespace: string;
  /** The processor's ApplicationName property (the metrics dimension, a token). */
  readonly applicationName: string;
  /**
   * Period of every graph.
   * @default Duration.minutes(1)
   */
  readonly period?: Duration;
}

/**
 * The pipeline's CloudWatch dashboard: what enters the stream, how the processor keeps up
 * (its embedded-metric-format metrics and the stream's iterator age), and what lands in S3.
 */
export class Dashboard extends Construct {
  /** The dashboard. */
  readonly dashboard: cloudwatch.Dashboard;
  /** The console link of the dashboard. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(1);
    if (period.toSeconds() < 60 || period.toSeconds() % 60 !== 0) {
      throw new Error(`Dashboard: period must be a whole number of minutes, got ${period.toHumanString()}`);
    }
    const processor = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { ApplicationName: props.applicationName },
        statistic,
        period,
        label,
      });
    const s3Metric = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/S3',
        metricName,
        dimensionsMap: { BucketName: props.bucket.bucketName, FilterId: BUCKET_METRICS_FILTER_ID },
        statistic: cloudwatch.Stats.SUM,
        period,
        label,
      });
    const s = props.stream;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: Fn.join('-', [Aws.STACK_NAME, 'pipeline']),
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Stream: incoming records',
        left: [s.metricIncomingRecords({ statistic: cloudwatch.Stats.SUM, period })],
        right: [s.metricIncomingBytes({ statistic: cloudwatch.Stats.SUM, period })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Stream: GetRecords',
        left: [s.metricGetRecordsSuccess({ statistic: cloudwatch.Stats.SUM, period }), s.metricGetRecords({ statistic: cloudwatch.Stats.SUM, period })],
        right: [s.metricGetRecordsLatency({ statistic: cloudwatch.Stats.AVERAGE, period })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Stream: iterator age (ms)',
        left: [s.metricGetRecordsIteratorAgeMilliseconds({ statistic: cloudwatch.Stats.MAXIMUM, period })],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Processor: events',
        left: [
          processor(PROCESSOR_METRICS.eventsIn, cloudwatch.Stats.SUM, 'in'),
          processor(PROCESSOR_METRICS.eventsOut, cloudwatch.Stats.SUM, 'out'),
          processor(PROCESSOR_METRICS.eventsRejected, cloudwatch.Stats.SUM, 'rejected (dead letters)'),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Processor: lag (MillisBehindLatest)',
        left: [processor(PROCESSOR_METRICS.millisBehindLatest, cloudwatch.Stats.MAXIMUM, 'max ms behind latest')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Processor: checkpoints',
        left: [
          processor(PROCESSOR_METRICS.checkpointDuration, cloudwatch.Stats.AVERAGE, 'duration avg (ms)'),
          processor(PROCESSOR_METRICS.checkpointDuration, cloudwatch.Stats.MAXIMUM, 'duration max (ms)'),
        ],
        right: [processor(PROCESSOR_METRICS.checkpointsCompleted, cloudwatch.Stats.SUM, 'completed')],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'S3: PUT requests',
        left: [s3Metric('PutRequests', 'PUT'), s3Metric('PostRequests', 'POST (multipart)')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'S3: bytes uploaded', left: [s3Metric('BytesUploaded', 'bytes')], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Processor tasks: CPU and memory (%)',
        left: [props.service.metricCpuUtilization({ period }), props.service.metricMemoryUtilization({ period })],
        width: 8,
      }),
    );
    this.url = Fn.join('', [
      'https://',
      Aws.REGION,
      '.console.aws.amazon.com/cloudwatch/home?region=',
      Aws.REGION,
      '#dashboards:name=',
      this.dashboard.dashboardName,
    ]);
  }
}
