/**
 * Least privilege, grant by grant: the security groups' egress (443 always, Kafka/OpenSearch ports
 * only under their conditions), the VPC endpoints and their policies, the task role's DynamoDB
 * actions, the execution role's image pull, the read-only root filesystem. Both variants.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CHECKPOINT_TABLE_ACTIONS } from '../../lib/processor-role.js';
import type { CfnTemplate } from './fixtures.js';
import { Evaluator, oneClickProps, onlyResource, resourcesOfType, synthesize } from './fixtures.js';

const variants = { asset: synthesize({ imageSource: 'asset' }).json, build: synthesize(oneClickProps()).json };

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };

function securityGroup(t: CfnTemplate, description: RegExp): string {
  const found = resourcesOfType(t, 'AWS::EC2::SecurityGroup').filter(([, r]) => description.test(String(r.Properties?.GroupDescription)));
  assert.equal(found.length, 1, String(description));
  return found[0]?.[0] as string;
}

/** The egress of a security group as CloudFormation would create it for the parameters: inline rules plus separate egress resources whose condition holds. */
function egress(t: CfnTemplate, groupId: string, params: Record<string, string> = {}): string[] {
  const ev = new Evaluator(t, params);
  const inline = (t.Resources[groupId]?.Properties?.SecurityGroupEgress as Record<string, unknown>[] | undefined) ?? [];
  const separate = resourcesOfType(t, 'AWS::EC2::SecurityGroupEgress')
    .filter(([, r]) => JSON.stringify(r.Properties?.GroupId).includes(`"${groupId}"`))
    .filter(([, r]) => r.Condition === undefined || ev.condition(r.Condition))
    .map(([, r]) => r.Properties as Record<string, unknown>);
  return [...inline, ...separate].map((r) => `${String(r.IpProtocol)} ${String(r.FromPort)}-${String(r.ToPort)} ${String(r.CidrIp)}`).sort();
}

const KAFKA = { InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b-1.msk.internal:9098' };
const OPENSEARCH = { OutputElasticsearchEndpoint: 'https://search-d.eu-west-1.es.amazonaws.com' };

for (const [name, t] of Object.entries(variants)) {
  describe(`${name} variant`, () => {
    test('processor tasks: egress 443 only; Kafka ports only with Kafka, the OpenSearch port only with OpenSearch', () => {
      const sg = securityGroup(t, /processor tasks/);
      assert.equal(t.Resources[sg]?.Properties?.SecurityGroupIngress, undefined);
      assert.deepEqual(egress(t, sg), ['tcp 443-443 0.0.0.0/0']);
      assert.deepEqual(egress(t, sg, KAFKA), ['tcp 443-443 0.0.0.0/0', 'tcp 9092-9098 0.0.0.0/0']);
      assert.deepEqual(egress(t, sg, { OutputKafkaTopic: 'out', OutputKafkaBootstrapServers: 'b:9092' }), ['tcp 443-443 0.0.0.0/0', 'tcp 9092-9098 0.0.0.0/0']);
      assert.deepEqual(egress(t, sg, OPENSEARCH), ['tcp 443-443 0.0.0.0/0', 'tcp 9200-9200 0.0.0.0/0']);
    });

    test('replay host: egress 443 only; Kafka ports only with Kafka; no inbound', () => {
      const sg = securityGroup(t, /replay host/);
      assert.equal(t.Resources[sg]?.Properties?.SecurityGroupIngress, undefined);
      assert.deepEqual(egress(t, sg), ['tcp 443-443 0.0.0.0/0']);
      assert.deepEqual(egress(t, sg, KAFKA), ['tcp 443-443 0.0.0.0/0', 'tcp 9092-9098 0.0.0.0/0']);
      assert.deepEqual(egress(t, sg, OPENSEARCH), ['tcp 443-443 0.0.0.0/0']);
    });

    test('Session Manager endpoints exist, and every interface endpoint admits only this account\'s principals', () => {
      const endpoints = resourcesOfType(t, 'AWS::EC2::VPCEndpoint').filter(([, r]) => r.Properties?.VpcEndpointType === 'Interface');
      const services = endpoints.map(([, r]) => String(new Evaluator(t).value(r.Properties?.ServiceName)));
      for (const svc of ['ssm', 'ssmmessages', 'ec2messages']) assert.ok(services.some((s) => s.endsWith(`.${svc}`)), `${svc} in ${services.join(' ')}`);
      for (const [id, r] of endpoints) {
        const doc = r.Properties?.PolicyDocument as { Statement: Statement[] } | undefined;
        assert.ok(doc, `${id} has a policy`);
        assert.deepEqual(doc.Statement, [
          { Sid: 'OnlyThisAccount', Effect: 'Allow', Principal: { AWS: '*' }, Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } } },
        ]);
      }
    });

    test('the task role: exactly the lease-table actions, on the lease table', () => {
      const statements = resourcesOfType(t, 'AWS::IAM::Policy').flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
      const dynamo = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
      assert.equal(dynamo.length, 1);
      assert.deepEqual([dynamo[0]?.Action].flat().sort(), [
        'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
      ]);
      assert.deepEqual([...CHECKPOINT_TABLE_ACTIONS].sort(), [dynamo[0]?.Action].flat().sort());
      const [tableId] = resourcesOfType(t, 'AWS::DynamoDB::Table')[0] ?? [];
      assert.equal(new Evaluator(t).value(dynamo[0]?.Resource), `<${tableId}.Arn>`);
      assert.equal(new Evaluator(t, { CheckpointTable: 'other' }).value(dynamo[0]?.Resource), 'arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/other');
    });

    test('the container: read-only root filesystem, /tmp a writable task volume', () => {
      const td = onlyResource<{ Properties: { ContainerDefinitions: { ReadonlyRootFilesystem: boolean; MountPoints: unknown[] }[]; Volumes: { Name: string }[] } }>(t, 'AWS::ECS::TaskDefinition');
      const c = td.Properties.ContainerDefinitions[0];
      assert.equal(c?.ReadonlyRootFilesystem, true);
      assert.deepEqual(c?.MountPoints, [{ ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'tmp' }]);
      assert.deepEqual(td.Properties.Volumes, [{ Name: 'tmp' }]);
    });

    test('the execution role pulls only the processor\'s repository', () => {
      const td = onlyResource<{ Properties: { ExecutionRoleArn: unknown } }>(t, 'AWS::ECS::TaskDefinition');
      const roleId = (td.Properties.ExecutionRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const statements = resourcesOfType(t, 'AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(`"${roleId}"`))
        .flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
      const pulls = statements.filter((s) => [s.Action].flat().includes('ecr:BatchGetImage'));
      assert.equal(pulls.length, 1);
      const resource = JSON.stringify(new Evaluator(t).value(pulls[0]?.Resource));
      assert.doesNotMatch(resource, /repository\/\*/);
      if (name === 'asset') assert.match(resource, /repository\/cdk-hnb659fds-container-assets-/);
      else assert.match(resource, /^"<ImageBuildRepository[0-9A-F]+\.Arn>"$/);
      const wildcard = statements.filter((s) => JSON.stringify(s.Resource) === '"*"');
      assert.deepEqual(wildcard.map((s) => s.Action), ['ecr:GetAuthorizationToken']);
    });
  });
}

describe('the image build (one-click)', () => {
  const t = variants.build;
  test('CodeBuild may push only to the stack\'s repository; the trigger may run only that project', () => {
    const statements = resourcesOfType(t, 'AWS::IAM::Policy').flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
    const push = statements.filter((s) => [s.Action].flat().includes('ecr:PutImage'));
    assert.equal(push.length, 1);
    assert.match(JSON.stringify(push[0]?.Resource), /"ImageBuildRepository[0-9A-F]+","Arn"/);
    const run = statements.find((s) => s.Sid === 'RunBuild');
    assert.deepEqual([run?.Action].flat().sort(), ['codebuild:BatchGetBuilds', 'codebuild:StartBuild', 'codebuild:StopBuild']);
    assert.match(JSON.stringify(run?.Resource), /"ImageBuildProject[0-9A-F]+","Arn"/);
  });
});
