/**
 * The one-click template (`npm run template`): self-contained (no asset, no bootstrap reference),
 * every parameter described with a sane default, artifacts from parameters.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PLACEHOLDER_IMAGE_URI, PLACEHOLDER_SOURCE_ARCHIVE_URL } from '../../lib/stack-parameters.js';
import { synthesizeOneClickTemplate } from '../../scripts/template.js';
import type { CfnTemplate } from './fixtures.js';
import { Evaluator, onlyResource, resourcesOfType, synthesize } from './fixtures.js';

// Synthesized once for the whole file: the one-click template, and the deploy variant as a control.
const oneClick = synthesizeOneClickTemplate() as unknown as CfnTemplate;
const deploy = synthesize({ imageSource: 'asset' }).json;

/** Every place a template refers to CDK assets or the bootstrap stack. */
function bootstrapReferences(t: CfnTemplate): string[] {
  const text = JSON.stringify(t);
  const found: string[] = [];
  for (const pattern of [/cdk-hnb659fds/g, /AssetParameters/g, /BootstrapVersion/g, /CheckBootstrapVersion/g, /aws:asset:/g, /\/cdk-bootstrap\//g]) {
    for (const m of text.matchAll(pattern)) found.push(m[0]);
  }
  if (t.Rules && Object.keys(t.Rules).length > 0) found.push(`Rules: ${Object.keys(t.Rules).join()}`);
  return found;
}

describe('one-click template', () => {
  test('has no asset or bootstrap reference (and the detector finds them in the deploy variant)', () => {
    assert.deepEqual(bootstrapReferences(oneClick), []);
    assert.ok(bootstrapReferences(deploy).length > 0, 'the cdk deploy variant references assets and the bootstrap version');
    assert.ok(!('BootstrapVersion' in oneClick.Parameters));
  });

  test('every parameter has a description and a default that satisfies its own constraints', () => {
    for (const [name, p] of Object.entries(oneClick.Parameters)) {
      assert.ok(p.Description && p.Description.length >= 20, `${name} has a description`);
      assert.notEqual(p.Default, undefined, `${name} has a default`);
      const value = String(p.Default);
      if (p.AllowedValues) assert.ok(p.AllowedValues.map(String).includes(value), `${name} default in AllowedValues`);
      if (p.AllowedPattern) assert.match(value, new RegExp(p.AllowedPattern), `${name} default matches AllowedPattern`);
    }
  });

  test('the image and the replay tool come from parameters', () => {
    assert.equal(oneClick.Parameters.ProcessorImageUri?.Default, PLACEHOLDER_IMAGE_URI);
    assert.match(oneClick.Parameters.ProcessorImageUri?.Description ?? '', /Replace the default/);
    assert.equal(oneClick.Parameters.SourceArchiveUrl?.Default, PLACEHOLDER_SOURCE_ARCHIVE_URL);
    const td = onlyResource<{ Properties: { ContainerDefinitions: { Image: unknown }[] } }>(oneClick, 'AWS::ECS::TaskDefinition');
    assert.deepEqual(td.Properties.ContainerDefinitions[0]?.Image, { Ref: 'ProcessorImageUri' });
    const instance = onlyResource<{ Properties: { UserData: unknown } }>(oneClick, 'AWS::EC2::Instance');
    const userData = String(new Evaluator(oneClick, { SourceArchiveUrl: 'https://example.com/src.tar.gz' }).value(instance.Properties.UserData));
    assert.match(userData, /curl -fsSL --retry 5 'https:\/\/example\.com\/src\.tar\.gz' \| tar -xz --strip-components=1 -C \/opt\/streaming-etl/);
    assert.doesNotMatch(userData, /aws s3 cp/);
  });

  test('release defaults can be baked in', () => {
    const t = synthesizeOneClickTemplate({ imageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:1.0', sourceArchiveUrl: 'https://example.com/a.tar.gz' }) as unknown as CfnTemplate;
    assert.equal(t.Parameters.ProcessorImageUri?.Default, '123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:1.0');
    assert.equal(t.Parameters.SourceArchiveUrl?.Default, 'https://example.com/a.tar.gz');
  });

  test('the execution role may pull from ECR in the account (a private image)', () => {
    const statements = resourcesOfType(oneClick, 'AWS::IAM::Policy').flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: { Sid?: string }[] }).Statement);
    assert.ok(statements.some((s) => s.Sid === 'PullProcessorImage'));
  });

  test('the console groups the parameters', () => {
    const groups = (oneClick as unknown as { Metadata: { 'AWS::CloudFormation::Interface': { ParameterGroups: { Parameters: string[] }[] } } }).Metadata['AWS::CloudFormation::Interface'].ParameterGroups;
    assert.deepEqual(groups.flatMap((g) => g.Parameters).sort(), Object.keys(oneClick.Parameters).sort());
  });
});
