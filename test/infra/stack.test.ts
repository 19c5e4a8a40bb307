/**
 * Assertion tests of the pipeline stack (the `cdk deploy` variant): each point of the issue —
 * network, storage, processor service, runtime properties, IAM, replay host, dashboard, query, outputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { APPLICATION_PROPERTIES_ENV, PROCESSOR_METRICS, PROPERTY_GROUP_ID } from '../../common/properties/index.js';
import { PROPERTY_SPECS } from '../../processor/config/catalogue.js';
import { HEALTH_CHECK_COMMAND } from '../../lib/processor-service.js';
import { TRIP_EVENT_COLUMNS } from '../../lib/query.js';
import { SESSION_MANAGER_ACTIONS } from '../../lib/replay-host.js';
import { Evaluator, onlyResource, resourcesOfType, synthesize } from './fixtures.js';

// Synthesized once for the whole file.
const { template, json } = synthesize({ imageSource: 'asset' });

/** The statements of every IAM policy attached to a role, by the role's logical id. */
function statementsOfRole(roleId: string): { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return resourcesOfType(json, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: never[] }).Statement);
}
function roleIdOf(description: string): string {
  const found = resourcesOfType(json, 'AWS::IAM::Role').find(([, r]) => r.Properties?.Description === description);
  assert.ok(found, `role "${description}" exists`);
  return found[0];
}
const taskRoleId = roleIdOf('streaming-etl processor task role');
const taskStatements = statementsOfRole(taskRoleId);
function statement(sid: string) {
  const s = taskStatements.find((x) => x.Sid === sid);
  assert.ok(s, `statement ${sid} exists`);
  return s;
}
function ssmDocument(params: Record<string, string> = {}): { PropertyGroupId: string; PropertyMap: Record<string, string> }[] {
  const p = onlyResource<{ Properties: { Value: unknown } }>(json, 'AWS::SSM::Parameter');
  return JSON.parse(new Evaluator(json, params).value(p.Properties.Value) as string);
}

describe('network', () => {
  test('a VPC over two AZs with public and private subnets', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false, AvailabilityZone: { 'Fn::Select': [1, { 'Fn::GetAZs': '' }] } });
  });

  test('NAT gateways: a parameter (default 1); the second exists only under a condition and the route falls back to the first', () => {
    assert.deepEqual(json.Parameters.NatGateways?.AllowedValues, ['1', '2']);
    assert.equal(json.Parameters.NatGateways?.Default, '1');
    const nats = resourcesOfType(json, 'AWS::EC2::NatGateway');
    assert.equal(nats.length, 2);
    assert.deepEqual(nats.map(([, r]) => r.Condition).sort(), [undefined, 'TwoNatGateways'].sort());
    assert.equal(resourcesOfType(json, 'AWS::EC2::EIP').filter(([, r]) => r.Condition === 'TwoNatGateways').length, 1);
    const [firstNat] = nats.find(([, r]) => !r.Condition) ?? [];
    const [secondNat] = nats.find(([, r]) => r.Condition) ?? [];
    const natRoutes = resourcesOfType(json, 'AWS::EC2::Route').filter(([, r]) => r.Properties?.NatGatewayId);
    assert.equal(natRoutes.length, 2);
    for (const params of [{ NatGateways: '1' }, { NatGateways: '2' }]) {
      const ev = new Evaluator(json, params);
      const targets = natRoutes.map(([, r]) => ev.value(r.Properties?.NatGatewayId)).sort();
      assert.deepEqual(targets, params.NatGateways === '1' ? [`<${firstNat}>`, `<${firstNat}>`] : [`<${firstNat}>`, `<${secondNat}>`].sort());
    }
  });

  test('gateway endpoints for S3 and DynamoDB, interface endpoints with private DNS', () => {
    const endpoints = resourcesOfType(json, 'AWS::EC2::VPCEndpoint');
    const services = endpoints.map(([, r]) => JSON.stringify(r.Properties?.ServiceName));
    for (const svc of ['.s3', '.dynamodb']) {
      assert.ok(endpoints.some(([, r]) => r.Properties?.VpcEndpointType === 'Gateway' && JSON.stringify(r.Properties.ServiceName).includes(svc)), svc);
    }
    for (const svc of ['.kinesis-streams', '.logs', '.monitoring', '.ecr.api', '.ecr.dkr', '.ssm', '.sts']) {
      const ep = endpoints.find(([, r]) => JSON.stringify(r.Properties?.ServiceName).includes(`${svc}"`));
      assert.ok(ep, `interface endpoint ${svc} in ${services.join(' ')}`);
      assert.equal(ep[1].Properties?.VpcEndpointType, 'Interface');
      assert.equal(ep[1].Properties?.PrivateDnsEnabled, true);
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Interface endpoints'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443 })],
    });
  });

  test('VPC flow logs to a log group with retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('storage', () => {
  test('the stream: encrypted, 16 shards by default, on-demand as an option (no ShardCount then)', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: { Ref: 'StreamMode' } },
    });
    assert.equal(json.Parameters.ShardCount?.Default, 16);
    assert.deepEqual(json.Parameters.StreamMode?.AllowedValues, ['PROVISIONED', 'ON_DEMAND']);
    const stream = onlyResource<{ Properties: Record<string, unknown> }>(json, 'AWS::Kinesis::Stream');
    assert.equal(new Evaluator(json).value(stream.Properties.ShardCount), '16');
    const onDemand = new Evaluator(json, { StreamMode: 'ON_DEMAND' }).value(stream.Properties) as Record<string, unknown>;
    assert.equal('ShardCount' in onDemand, false);
  });

  test('the bucket: encryption, public access blocked, versioning, multipart abort after 7 days, access logs, TLS only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' })]) },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      MetricsConfigurations: [{ Id: 'EntireBucket' }],
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('the lease table: application (S) + leaseKey (S), on demand, PITR, TTL on expiresAt, encrypted, retained', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'application', KeyType: 'HASH' }, { AttributeName: 'leaseKey', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'application', AttributeType: 'S' }, { AttributeName: 'leaseKey', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('stream, output bucket and lease table are all retained on stack deletion', () => {
    for (const type of ['AWS::Kinesis::Stream', 'AWS::DynamoDB::Table']) {
      assert.ok(resourcesOfType(json, type).every(([, r]) => r.DeletionPolicy === 'Retain'), type);
    }
    const bucket = resourcesOfType(json, 'AWS::S3::Bucket').find(([, r]) => r.Properties?.LoggingConfiguration)?.[1];
    assert.equal(bucket?.DeletionPolicy, 'Retain');
  });
});

describe('processor service', () => {
  test('cluster with Container Insights', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  test('task size and task counts from parameters (1 vCPU / 2 GiB / 1 to 4 tasks by default)', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: { Ref: 'TaskCpu' },
      Memory: { Ref: 'TaskMemory' },
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
    });
    assert.equal(json.Parameters.TaskCpu?.Default, '1024');
    assert.equal(json.Parameters.TaskMemory?.Default, '2048');
    assert.equal(json.Parameters.MinTaskCount?.Default, '1');
    assert.equal(json.Parameters.MaxTaskCount?.Default, '4');
    assert.deepEqual(json.Parameters.MaxTaskCount?.AllowedValues, ['1', '2', '3', '4', '6', '8', '12', '16', '24', '32', '48', '64']);
    assert.equal(json.Parameters.DesiredCount, undefined);
  });

  test('service in private subnets, circuit breaker with rollback, rolling deployments (new tasks start before old ones stop)', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: { Ref: 'MinTaskCount' },
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100, MaximumPercent: 200 },
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED', Subnets: Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp('PrivateSubnet') })]) } },
    });
  });

  test('container: image asset, properties as an SSM secret, version env, health check, stop timeout, logs', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Image: { 'Fn::Sub': Match.stringLikeRegexp('cdk-hnb659fds-container-assets') },
          Secrets: [{ Name: APPLICATION_PROPERTIES_ENV, ValueFrom: Match.anyValue() }],
          Environment: [{ Name: 'PROPERTIES_VERSION', Value: Match.anyValue() }],
          HealthCheck: Match.objectLike({ Command: ['CMD-SHELL', HEALTH_CHECK_COMMAND], Retries: 3 }),
          StopTimeout: 120,
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
    assert.match(HEALTH_CHECK_COMMAND, /127\.0\.0\.1:8080\/health/);
  });

  test('auto scaling on the processor\'s MillisBehindLatest (Maximum), between MinTaskCount and MaxTaskCount', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: { Ref: 'MinTaskCount' },
      MaxCapacity: { Ref: 'MaxTaskCount' },
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: PROCESSOR_METRICS.millisBehindLatest,
      Namespace: { Ref: 'MetricsNamespace' },
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'ApplicationName', Value: { Ref: 'ApplicationName' } }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 2);
  });
});

describe('runtime properties', () => {
  test('one parameter per catalogue entry (HealthCheckPort and InputFile fixed), described, default = catalogue default or empty', () => {
    for (const spec of PROPERTY_SPECS) {
      const p = json.Parameters[spec.name];
      if (spec.name === 'HealthCheckPort' || spec.name === 'InputFile') {
        assert.equal(p, undefined, `${spec.name} is fixed`);
        continue;
      }
      assert.ok(p, `parameter ${spec.name}`);
      assert.equal(p.Type, 'String');
      assert.equal(p.Default, 'default' in spec ? spec.default : '', `${spec.name} default`);
      assert.ok(p.Description?.startsWith(spec.description), `${spec.name} description`);
      if (spec.type === 'enum') assert.deepEqual(p.AllowedValues, spec.values);
      if (spec.type === 'boolean') assert.deepEqual(p.AllowedValues, ['true', 'false']);
    }
  });

  test('string parameters reject JSON specials; the documented resource defaults are explained', () => {
    assert.equal(new RegExp(json.Parameters.OutputPartitionTemplate?.AllowedPattern ?? '').test('a"b'), false);
    assert.equal(new RegExp(json.Parameters.OutputPartitionTemplate?.AllowedPattern ?? '').test(PROPERTY_SPECS.find((s) => s.name === 'OutputPartitionTemplate')?.default ?? ''), true);
    assert.match(json.Parameters.InputKinesisStream?.Description ?? '', /Empty: the stream this stack creates/);
    assert.match(json.Parameters.OutputBucket?.Description ?? '', /Empty: the bucket this stack creates/);
    assert.match(json.Parameters.CheckpointTable?.Description ?? '', /Empty: the lease table this stack creates/);
  });

  test('the SSM document is valid ApplicationProperties JSON wiring in the created stream, bucket and table', () => {
    const doc = ssmDocument();
    assert.equal(doc.length, 1);
    assert.equal(doc[0]?.PropertyGroupId, PROPERTY_GROUP_ID);
    const map = doc[0]?.PropertyMap ?? {};
    assert.deepEqual(Object.keys(map), PROPERTY_SPECS.map((s) => s.name));
    const streamId = resourcesOfType(json, 'AWS::Kinesis::Stream')[0]?.[0];
    const bucketId = resourcesOfType(json, 'AWS::S3::Bucket').find(([, r]) => r.Properties?.LoggingConfiguration)?.[0];
    const tableId = resourcesOfType(json, 'AWS::DynamoDB::Table')[0]?.[0];
    assert.equal(map.InputKinesisStream, `<${streamId}>`);
    assert.equal(map.OutputBucket, `<${bucketId}>`);
    assert.equal(map.CheckpointTable, `<${tableId}>`);
    assert.equal(map.HealthCheckPort, '8080');
    assert.equal(map.InputFile, '', 'the bounded file source is for the command line, not the service');
    assert.equal(map.OutputPrefix, 'parquet/');
    assert.equal(map.ParquetConversion, 'true');
    assert.equal(map.InputKafkaBootstrapServers, '');
  });

  test('parameter values land in the document; a Kafka source drops the created stream; "-" disables the bucket', () => {
    const map = ssmDocument({ InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b-1:9098', OutputBucket: '-', ParquetConversion: 'false' })[0]?.PropertyMap ?? {};
    assert.equal(map.InputKinesisStream, '');
    assert.equal(map.InputKafkaTopic, 'trips');
    assert.equal(map.OutputBucket, '');
    assert.equal(map.ParquetConversion, 'false');
    const custom = ssmDocument({ InputKinesisStream: 'other', CheckpointTable: 'cp' })[0]?.PropertyMap ?? {};
    assert.equal(custom.InputKinesisStream, 'other');
    assert.equal(custom.CheckpointTable, 'cp');
  });

  test('the task definition carries a version that changes with any parameter (so an update rolls the service)', () => {
    const td = onlyResource<{ Properties: { ContainerDefinitions: { Environment: { Value: unknown }[] }[] } }>(json, 'AWS::ECS::TaskDefinition');
    const version = td.Properties.ContainerDefinitions[0]?.Environment[0]?.Value;
    const base = new Evaluator(json).value(version);
    for (const spec of PROPERTY_SPECS.filter((s) => s.name !== 'HealthCheckPort' && s.name !== 'InputFile')) {
      const changed = new Evaluator(json, { [spec.name]: spec.type === 'boolean' ? (spec.default === 'true' ? 'false' : 'true') : spec.type === 'enum' ? ((spec.values ?? []).find((v) => v !== spec.default) ?? '') : '7' }).value(version);
      assert.notEqual(changed, base, `changing ${spec.name} changes PROPERTIES_VERSION`);
    }
  });
});

describe('IAM: the task role', () => {
  test('reads the input stream (created, or the named one)', () => {
    const s = statement('ReadInputStream');
    assert.deepEqual([s.Action].flat().sort(), [
      'kinesis:DescribeStream', 'kinesis:DescribeStreamConsumer', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords',
      'kinesis:GetShardIterator', 'kinesis:ListShards', 'kinesis:SubscribeToShard',
    ]);
    const streamId = resourcesOfType(json, 'AWS::Kinesis::Stream')[0]?.[0];
    assert.equal(new Evaluator(json).value(s.Resource), `<${streamId}.Arn>`);
    assert.equal(new Evaluator(json, { InputKinesisStream: 'other' }).value(s.Resource), 'arn:<AWS::Partition>:kinesis:<AWS::Region>:<AWS::AccountId>:stream/other');
  });

  test('writes only the output and error prefixes of the bucket, lists the bucket', () => {
    const s = statement('WriteOutputPrefixes');
    assert.deepEqual([s.Action].flat().sort(), ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject']);
    const bucketId = resourcesOfType(json, 'AWS::S3::Bucket').find(([, r]) => r.Properties?.LoggingConfiguration)?.[0];
    assert.deepEqual((new Evaluator(json).value(s.Resource) as string[]).sort(), [`arn:<AWS::Partition>:s3:::<${bucketId}>/errors/*`, `arn:<AWS::Partition>:s3:::<${bucketId}>/parquet/*`]);
    assert.deepEqual(new Evaluator(json).value(statement('ListOutputBucket').Resource), `arn:<AWS::Partition>:s3:::<${bucketId}>`);
  });

  test('uses the checkpoint table and puts metrics only in its namespace', () => {
    const tableId = resourcesOfType(json, 'AWS::DynamoDB::Table')[0]?.[0];
    const cp = statement('CheckpointTable');
    assert.equal(new Evaluator(json).value(cp.Resource), `<${tableId}.Arn>`);
    assert.ok([cp.Action].flat().includes('dynamodb:UpdateItem'));
    const m = statement('PutMetricsInOwnNamespace');
    assert.deepEqual(m.Condition, { StringEquals: { 'cloudwatch:namespace': { Ref: 'MetricsNamespace' } } });
  });

  test('optional permissions exist only under their conditions', () => {
    const policies = resourcesOfType(json, 'AWS::IAM::Policy').filter(([, p]) => p.Condition);
    const bySid = (sid: string) => policies.find(([, p]) => JSON.stringify(p.Properties?.PolicyDocument).includes(`"${sid}"`))?.[1];
    assert.equal(bySid('WriteOutputStream')?.Condition, 'HasOutputKinesisStream');
    assert.equal(bySid('WriteOpenSearchDomain')?.Condition, 'UsesOpenSearchDomain');
    assert.equal(bySid('ConnectMskCluster')?.Condition, 'UsesMskIam');
    assert.equal(bySid('ReadMskSourceTopic')?.Condition, 'InputUsesMskIam');
    assert.equal(bySid('WriteMskSinkTopic')?.Condition, 'OutputUsesMskIam');
    assert.equal(new Evaluator(json).condition('UsesMskIam'), false);
    // Each grant of MSK IAM auth: test/infra/msk-iam.test.ts.
  });

  test('no "*" resource except PutMetricData (which has no resource-level permission)', () => {
    const wildcards = taskStatements.filter((s) => [new Evaluator(json).value(s.Resource)].flat().includes('*')).map((s) => s.Sid);
    assert.deepEqual(wildcards, ['PutMetricsInOwnNamespace']);
  });
});

describe('replay host', () => {
  test('Amazon Linux 2023 (SSM parameter), IMDSv2, encrypted disk, private subnet, no key pair, no inbound', () => {
    assert.equal(json.Parameters.ReplayHostImage?.Type, 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>');
    assert.match(String(json.Parameters.ReplayHostImage?.Default), /al2023-ami/);
    template.hasResourceProperties('AWS::EC2::Instance', {
      ImageId: { Ref: 'ReplayHostImage' },
      InstanceType: { Ref: 'ReplayInstanceType' },
      KeyName: Match.absent(),
      SubnetId: { Ref: Match.stringLikeRegexp('PrivateSubnet') },
      BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
      Monitoring: true,
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } } });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('replay host'), SecurityGroupIngress: Match.absent() });
  });

  test('role: Session Manager without parameter reads, write the stream, read the bucket\'s data/ and its own source asset', () => {
    const roleId = roleIdOf('streaming-etl replay host: Session Manager, write the input stream, read the bucket');
    const role = json.Resources[roleId];
    assert.equal(role?.Properties?.ManagedPolicyArns, undefined, 'no managed policy (AmazonSSMManagedInstanceCore grants ssm:GetParameter* on *)');
    const statements = statementsOfRole(roleId);
    assert.deepEqual(statements.map((s) => s.Sid).sort(), ['ListBucketData', 'ReadBucket', 'ReadSourceAsset', 'SessionManager', 'WriteInputStream']);
    const actions = statements.flatMap((s) => [s.Action].flat());
    assert.deepEqual(actions.filter((a) => /^ssm:GetParameter|^ssm:\*|^s3:\*|^s3:List\*|^s3:GetObject\*/.test(a)), []);
    assert.deepEqual([statementsOfRole(roleId).find((s) => s.Sid === 'SessionManager')?.Action].flat().sort(), [...SESSION_MANAGER_ACTIONS].sort());
    // The asset: one object, by its key.
    const asset = statements.find((s) => s.Sid === 'ReadSourceAsset');
    assert.deepEqual(asset?.Action, 's3:GetObject');
    assert.match(String(new Evaluator(json).value(asset?.Resource)), /^arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>\/[0-9a-f]{64}\.zip$/);
  });

  test('user data installs Node.js 22 and the tool from the source asset', () => {
    const instance = onlyResource<{ Properties: { UserData: unknown } }>(json, 'AWS::EC2::Instance');
    const userData = JSON.stringify(instance.Properties.UserData);
    assert.match(userData, /dnf install -y nodejs22 nodejs22-npm/);
    assert.match(userData, /aws s3 cp/);
    assert.match(userData, /runuser -u etl-install -- env .*npm-22 ci --omit=dev --ignore-scripts/);
    assert.match(userData, /scripts\/launch\/etl-replay\.mjs/);
  });
});

describe('dashboard, query, outputs', () => {
  test('dashboard shows the stream, the processor\'s metrics and S3 requests', () => {
    const d = onlyResource<{ Properties: { DashboardBody: unknown } }>(json, 'AWS::CloudWatch::Dashboard');
    const body = JSON.parse(new Evaluator(json).value(d.Properties.DashboardBody) as string) as { widgets: { properties: { metrics: unknown[] } }[] };
    const metrics = JSON.stringify(body.widgets.map((w) => w.properties.metrics));
    for (const name of ['IncomingRecords', 'IncomingBytes', 'GetRecords.Success', 'GetRecords.IteratorAgeMilliseconds', 'PutRequests', 'BytesUploaded', ...Object.values(PROCESSOR_METRICS)]) {
      assert.ok(metrics.includes(`"${name}"`), `dashboard has ${name}`);
    }
    assert.ok(metrics.includes('"StreamingEtl"'), 'processor metrics in the MetricsNamespace');
  });

  test('Glue table over the Parquet output with partition projection matching the partition template', () => {
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: { Ref: 'GlueDatabaseName' } } });
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: { Ref: 'GlueDatabaseName' },
      TableInput: Match.objectLike({
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [{ Name: 'pickup_location', Type: 'string' }, { Name: 'year', Type: 'string' }, { Name: 'month', Type: 'string' }],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.pickup_location.type': 'integer',
          'projection.pickup_location.range': '1,265',
          'projection.pickup_location.digits': '3',
          'projection.year.range': '2009,2030',
          'projection.month.range': '1,12',
          'projection.month.digits': '2',
        }),
        StorageDescriptor: Match.objectLike({
          Columns: TRIP_EVENT_COLUMNS.map((c) => ({ Name: c.name, Type: c.type })),
          SerdeInfo: Match.objectLike({ SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' }),
        }),
      }),
    });
    const table = onlyResource<{ Properties: { TableInput: { Parameters: Record<string, unknown> } } }>(json, 'AWS::Glue::Table');
    const bucketId = resourcesOfType(json, 'AWS::S3::Bucket').find(([, r]) => r.Properties?.LoggingConfiguration)?.[0];
    assert.equal(
      new Evaluator(json).value(table.Properties.TableInput.Parameters['storage.location.template']),
      `s3://<${bucketId}>/parquet/pickup_location=\${pickup_location}/year=\${year}/month=\${month}/`,
    );
    assert.equal(TRIP_EVENT_COLUMNS.length, 20);
  });

  test('outputs: replay command, session link, dashboard, bucket/prefix, Athena query', () => {
    for (const name of ['ReplayCommand', 'ReplayHostSession', 'DashboardUrl', 'OutputLocation', 'AthenaQuery', 'AthenaWorkGroup']) {
      assert.ok(json.Outputs[name]?.Description, `output ${name}`);
    }
    const ev = new Evaluator(json);
    const streamId = resourcesOfType(json, 'AWS::Kinesis::Stream')[0]?.[0];
    assert.match(
      String(ev.value(json.Outputs.ReplayCommand?.Value)),
      new RegExp(`etl-replay --input /opt/streaming-etl/data/nyc-tlc/yellow_tripdata_2018-01_sample\\.csv --stream-name <${streamId}> --region <AWS::Region> --speedup 6480$`),
    );
    assert.match(String(ev.value(json.Outputs.ReplayHostSession?.Value)), /^https:\/\/<AWS::Region>\.console\.aws\.amazon\.com\/systems-manager\/session-manager\/<\w+>\?region=/);
    assert.match(String(ev.value(json.Outputs.AthenaQuery?.Value)), /FROM "streaming_etl"\."trips" WHERE year = '2018'/);
    assert.match(String(ev.value(json.Outputs.OutputLocation?.Value)), /^s3:\/\/<\w+>\/parquet\/$/);
  });
});
