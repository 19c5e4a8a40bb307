/**
 * MSK IAM auth in the stack: the task role gets kafka-cluster actions only when MskClusterArn is set
 * and a Kafka direction uses SASL_SSL + AWS_MSK_IAM, and then exactly what that direction's code
 * does — connect and describe the cluster; the source reads its topic and uses its consumer group;
 * the sink writes its topic (idempotently) and uses its transactional ids — each scoped to the
 * cluster's topic, group and transactional-id ARNs. The MSK IAM port 9098 is open to the tasks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CfnTemplate } from './fixtures.js';
import { Evaluator, resourcesOfType, synthesize } from './fixtures.js';

const t = synthesize({ imageSource: 'asset' }).json;

const CLUSTER = 'arn:aws:kafka:eu-west-1:123456789012:cluster/demo/abc-1';
const SERVERS = 'b-1.demo.abc.c2.kafka.eu-west-1.amazonaws.com:9098';
const SOURCE_IAM = { InputKafkaTopic: 'trips', InputKafkaBootstrapServers: SERVERS, InputKafkaSecurityProtocol: 'SASL_SSL', InputKafkaSaslMechanism: 'AWS_MSK_IAM' };
const SINK_IAM = { OutputKafkaTopic: 'enriched', OutputKafkaBootstrapServers: SERVERS, OutputKafkaSecurityProtocol: 'SASL_SSL', OutputKafkaSaslMechanism: 'AWS_MSK_IAM' };

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };

/** Every kafka-cluster grant of the task role that CloudFormation would create for the parameters, as "action resource" lines. */
function kafkaGrants(template: CfnTemplate, params: Record<string, string>): string[] {
  const ev = new Evaluator(template, params);
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, r]) => r.Condition === undefined || ev.condition(r.Condition))
    .flatMap(([, r]) => (ev.value(r.Properties?.PolicyDocument) as { Statement: Statement[] }).Statement)
    .flatMap((s) => [s.Action].flat().filter((a) => a.startsWith('kafka-cluster:')).flatMap((a) => [s.Resource].flat().map((res) => `${a} ${String(res)}`)))
    .sort();
}

const connect = [`kafka-cluster:Connect ${CLUSTER}`, `kafka-cluster:DescribeCluster ${CLUSTER}`];
const source = (group: string) => [
  `kafka-cluster:AlterGroup arn:aws:kafka:eu-west-1:123456789012:group/demo/abc-1/${group}`,
  `kafka-cluster:DescribeGroup arn:aws:kafka:eu-west-1:123456789012:group/demo/abc-1/${group}`,
  'kafka-cluster:DescribeTopic arn:aws:kafka:eu-west-1:123456789012:topic/demo/abc-1/trips',
  'kafka-cluster:ReadData arn:aws:kafka:eu-west-1:123456789012:topic/demo/abc-1/trips',
];
const sink = (application: string) => [
  `kafka-cluster:AlterTransactionalId arn:aws:kafka:eu-west-1:123456789012:transactional-id/demo/abc-1/${application}-*`,
  'kafka-cluster:DescribeTopic arn:aws:kafka:eu-west-1:123456789012:topic/demo/abc-1/enriched',
  `kafka-cluster:DescribeTransactionalId arn:aws:kafka:eu-west-1:123456789012:transactional-id/demo/abc-1/${application}-*`,
  `kafka-cluster:WriteDataIdempotently ${CLUSTER}`,
  'kafka-cluster:WriteData arn:aws:kafka:eu-west-1:123456789012:topic/demo/abc-1/enriched',
];

test('no kafka-cluster grant without MskClusterArn, or without AWS_MSK_IAM', () => {
  assert.deepEqual(kafkaGrants(t, {}), []);
  assert.deepEqual(kafkaGrants(t, { MskClusterArn: CLUSTER }), [], 'a cluster ARN alone grants nothing');
  assert.deepEqual(kafkaGrants(t, SOURCE_IAM), [], 'IAM auth without the cluster ARN grants nothing');
  assert.deepEqual(kafkaGrants(t, { ...SOURCE_IAM, InputKafkaSaslMechanism: 'SCRAM-SHA-512', MskClusterArn: CLUSTER }), [], 'SCRAM needs no IAM grant');
  assert.deepEqual(kafkaGrants(t, { ...SOURCE_IAM, InputKafkaSecurityProtocol: 'SSL', MskClusterArn: CLUSTER }), [], 'TLS alone needs no IAM grant');
  assert.deepEqual(kafkaGrants(t, { ...SINK_IAM, OutputKafkaSecurityProtocol: 'PLAINTEXT', MskClusterArn: CLUSTER }), []);
});

test('the Kafka source with IAM auth: connect, describe the cluster, read its topic, use its consumer group (ApplicationName or InputKafkaGroupId)', () => {
  assert.deepEqual(kafkaGrants(t, { ...SOURCE_IAM, MskClusterArn: CLUSTER }), [...connect, ...source('streaming-etl')].sort());
  assert.deepEqual(kafkaGrants(t, { ...SOURCE_IAM, MskClusterArn: CLUSTER, ApplicationName: 'trips-etl' }), [...connect, ...source('trips-etl')].sort());
  assert.deepEqual(kafkaGrants(t, { ...SOURCE_IAM, MskClusterArn: CLUSTER, InputKafkaGroupId: 'readers' }), [...connect, ...source('readers')].sort());
});

test('the Kafka sink with IAM auth: connect, describe the cluster, write its topic idempotently, use its transactional ids (OutputKafkaTransactionalIdPrefix, else ApplicationName)', () => {
  assert.deepEqual(kafkaGrants(t, { ...SINK_IAM, MskClusterArn: CLUSTER }), [...connect, ...sink('streaming-etl')].sort());
  assert.deepEqual(kafkaGrants(t, { ...SINK_IAM, MskClusterArn: CLUSTER, ApplicationName: 'trips-etl' }), [...connect, ...sink('trips-etl')].sort());
  assert.deepEqual(kafkaGrants(t, { ...SINK_IAM, MskClusterArn: CLUSTER, ApplicationName: 'trips-etl', OutputKafkaTransactionalIdPrefix: 'etl-tx' }), [...connect, ...sink('etl-tx')].sort());
});

test('both directions with IAM auth: the union, the cluster grants once', () => {
  assert.deepEqual(kafkaGrants(t, { ...SOURCE_IAM, ...SINK_IAM, MskClusterArn: CLUSTER }), [...connect, ...source('streaming-etl'), ...sink('streaming-etl')].sort());
  // A SCRAM source and an IAM sink: only the sink's grants.
  assert.deepEqual(kafkaGrants(t, { ...SOURCE_IAM, InputKafkaSaslMechanism: 'SCRAM-SHA-512', ...SINK_IAM, MskClusterArn: CLUSTER }), [...connect, ...sink('streaming-etl')].sort());
});

test('the processor tasks may reach the MSK IAM port 9098 when IAM auth is configured', () => {
  const [sg] = resourcesOfType(t, 'AWS::EC2::SecurityGroup').find(([, r]) => /processor tasks/.test(String(r.Properties?.GroupDescription))) ?? [];
  assert.ok(sg);
  for (const params of [{ ...SOURCE_IAM, MskClusterArn: CLUSTER }, { ...SINK_IAM, MskClusterArn: CLUSTER }]) {
    const ev = new Evaluator(t, params);
    const open = resourcesOfType(t, 'AWS::EC2::SecurityGroupEgress')
      .filter(([, r]) => JSON.stringify(r.Properties?.GroupId).includes(`"${sg}"`))
      .filter(([, r]) => r.Condition === undefined || ev.condition(r.Condition))
      .map(([, r]) => r.Properties as { FromPort: number; ToPort: number });
    assert.ok(open.some((r) => r.FromPort <= 9098 && r.ToPort >= 9098), `9098 open for ${JSON.stringify(params)}`);
  }
});

test('the template refuses what the processor refuses: a SCRAM user or password with AWS_MSK_IAM, SCRAM without both', () => {
  const refusals = (params: Record<string, string>) => new Evaluator(t, params).refusals();
  assert.deepEqual(refusals({ ...SOURCE_IAM, MskClusterArn: CLUSTER }), []);
  assert.deepEqual(refusals({ ...SINK_IAM, MskClusterArn: CLUSTER }), []);
  assert.ok(refusals({ ...SOURCE_IAM, InputKafkaSaslPassword: 'x' }).some((r) => r.startsWith('InputKafkaIamTakesNoPassword')));
  assert.ok(refusals({ ...SINK_IAM, OutputKafkaSaslUsername: 'etl' }).some((r) => r.startsWith('OutputKafkaIamTakesNoPassword')));
  const scram = { ...SINK_IAM, OutputKafkaSaslMechanism: 'SCRAM-SHA-512' };
  assert.ok(refusals({ ...scram, OutputKafkaSaslUsername: 'etl' }).some((r) => r.startsWith('OutputKafkaScramNeedsCredentials')));
  assert.deepEqual(refusals({ ...scram, OutputKafkaSaslUsername: 'etl', OutputKafkaSaslPassword: 's3cret' }), []);
  // Not in use (no servers), or not SASL: nothing to refuse.
  assert.deepEqual(refusals({ InputKafkaSaslMechanism: 'AWS_MSK_IAM', InputKafkaSecurityProtocol: 'SASL_SSL', InputKafkaSaslUsername: 'etl' }), []);
  assert.deepEqual(refusals({ ...SOURCE_IAM, InputKafkaSecurityProtocol: 'SSL', InputKafkaSaslUsername: 'etl' }), []);
});
