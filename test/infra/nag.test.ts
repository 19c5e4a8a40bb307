/**
 * cdk-nag's AwsSolutions pack over both stack variants: zero unacknowledged findings (errors and
 * warnings), and every acknowledgement names its reason. cdk-nag 3 reports through the CDK
 * validation plugin API (not Annotations), so the pack is run with validateScope and, for the app
 * path, as a registered plugin during synth.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { StreamingEtlStack } from '../../lib/streaming-etl-stack.js';
import { newApp, oneClickProps, synthesize } from './fixtures.js';

const variants = { asset: synthesize({ imageSource: 'asset' }), build: synthesize(oneClickProps()) };

function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`));
}

function acknowledgements(scope: IConstruct): { path: string; id: string; reason: unknown }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
  );
}

describe('cdk-nag AwsSolutions', () => {
  for (const [name, { stack }] of Object.entries(variants)) {
    test(`${name} variant: no unacknowledged finding`, () => {
      assert.deepEqual(findings(stack), []);
    });

    test(`${name} variant: every acknowledgement names its reason`, () => {
      const acks = acknowledgements(stack);
      assert.ok(acks.length > 0);
      for (const a of acks) {
        assert.equal(typeof a.reason, 'string', `${a.id} at ${a.path}`);
        assert.ok((a.reason as string).length >= 40, `${a.id} at ${a.path} has a real reason: ${String(a.reason)}`);
      }
    });
  }

  test('the IAM wildcard acknowledgements are the expected ones, no more', () => {
    const normalised = (stack: IConstruct) =>
      [...new Set(acknowledgements(stack).map((a) => a.id.replace(/^annotation::/i, '')))]
        .filter((id) => id.startsWith('AwsSolutions-IAM5'))
        .map((id) => id.replace(/<[A-Za-z0-9]+\.Arn>/g, '<Bucket.Arn>'))
        // The output location's grants: bucket/path/ (from OutputBucket) + OutputPrefix or OutputErrorPrefix.
        .map((id) => id.replace(/s3:::\{"Fn::If":\["UseCreatedOutputBucket".*"(Output(?:Error)?PrefixIsRoot)".*\}\*\]$/, 's3:::<bucket/path/><$1>*]'))
        .sort();
    const shared = [
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::<Bucket.Arn>/data/*]',
      'AwsSolutions-IAM5[Resource::<OpenSearchDomainArn>/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<bucket/path/><OutputErrorPrefixIsRoot>*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<bucket/path/><OutputPrefixIsRoot>*]',
      'AwsSolutions-IAM5[Resource::{"Fn::Select":[0,{"Fn::Split":["cluster/",{"Ref":"MskClusterArn"}]}]}transactional-id/{"Fn::Select":[1,{"Fn::Split":["cluster/",{"Ref":"MskClusterArn"}]}]}/{"Fn::If":["KafkaTransactionalIdPrefixIsEmpty",{"Ref":"ApplicationName"},{"Ref":"OutputKafkaTransactionalIdPrefix"}]}-*]',
    ];
    assert.deepEqual(normalised(variants.asset.stack), [...shared].sort());
    assert.deepEqual(
      normalised(variants.build.stack),
      [
        ...shared,
        'AwsSolutions-IAM5[Resource::<Bucket.Arn>:log-stream:*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<ImageBuildProject1EE40F3B>-*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<ImageBuildProject1EE40F3B>:*]',
      ].sort(),
    );
  });

  test('the check can fail: a bare bucket is reported, also as an app plugin', () => {
    const app = newApp();
    const stack = new Stack(app, 'Bad');
    new s3.Bucket(stack, 'Bucket');
    const found = findings(stack).join('\n');
    assert.match(found, /AwsSolutions-S1/);
    assert.match(found, /AwsSolutions-S10/);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    assert.throws(() => app.synth(), /Validation failed/);
    assert.match(readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'), /AwsSolutions-S1\b/);
  });

  test('as an app plugin, synthesis of the deploy variant succeeds', () => {
    const app = newApp();
    new StreamingEtlStack(app, 'StreamingEtl', { imageSource: 'asset' });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    assert.doesNotThrow(() => app.synth());
  });
});
