/**
 * The one-click template (`npm run template`): self-contained (no asset, no bootstrap reference),
 * launches with every default — no placeholder, every build input pinned — and a console form
 * whose constraints refuse what the processor would refuse.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { BUILD_SPEC, TRIGGER_CODE } from '../../lib/image-build.js';
import { PINNED_IMAGE_URI_PATTERN } from '../../lib/stack-parameters.js';
import { SOURCE_ARCHIVE_NAME, synthesizeOneClickTemplate } from '../../scripts/template.js';
import type { CfnTemplate } from './fixtures.js';
import { Evaluator, REPO_ROOT, RELEASE_URL, onlyResource, releaseSource, resourcesOfType, synthesize } from './fixtures.js';

// Synthesized once for the whole file: the one-click template, and the deploy variant as a control.
const source = releaseSource();
const oneClick = synthesizeOneClickTemplate(source) as unknown as CfnTemplate;
const deploy = synthesize({ imageSource: 'asset' }).json;
const GIVEN_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/etl@sha256:${'d'.repeat(64)}`;

/** Every place a template refers to CDK assets or the bootstrap stack. */
function bootstrapReferences(t: CfnTemplate): string[] {
  const text = JSON.stringify(t);
  const found: string[] = [];
  for (const pattern of [/cdk-hnb659fds/g, /AssetParameters/g, /BootstrapVersion/g, /CheckBootstrapVersion/g, /aws:asset:/g, /\/cdk-bootstrap\//g]) {
    for (const m of text.matchAll(pattern)) found.push(m[0]);
  }
  return found;
}

/** Values no shipped default may hold: the placeholders of old and their kin. */
const PLACEHOLDER = /REPLACE|CHANGE[-_ ]?ME|TODO|FIXME|example\.(com|org)|<[a-z-]+>|:latest\b|refs\/heads\//i;

/** The evaluated task definition image and user data for the given parameters. */
function launched(params: Record<string, string> = {}) {
  const ev = new Evaluator(oneClick, params);
  const td = onlyResource<{ Properties: { ContainerDefinitions: { Image: unknown }[] } }>(oneClick, 'AWS::ECS::TaskDefinition');
  const instance = onlyResource<{ Properties: { UserData: unknown } }>(oneClick, 'AWS::EC2::Instance');
  return { ev, image: String(ev.value(td.Properties.ContainerDefinitions[0]?.Image)), userData: String(ev.value(instance.Properties.UserData)) };
}

describe('one-click template: launches with every default', () => {
  test('has no asset or bootstrap reference (and the detector finds them in the deploy variant)', () => {
    assert.deepEqual(bootstrapReferences(oneClick), []);
    assert.ok(bootstrapReferences(deploy).length > 0, 'the cdk deploy variant references assets and the bootstrap version');
  });

  test('every default is accepted by its own constraints and by the Rules, and none is a placeholder', () => {
    const ev = new Evaluator(oneClick);
    assert.deepEqual(ev.refusals(), []);
    for (const [name, p] of Object.entries(oneClick.Parameters)) {
      assert.ok(p.Description && p.Description.length >= 20, `${name} has a description`);
      assert.notEqual(p.Default, undefined, `${name} has a default`);
      assert.doesNotMatch(String(p.Default), PLACEHOLDER, `${name}'s default is not a placeholder`);
    }
    // The detector is not blind: the old defaults are caught.
    for (const old of ['public.ecr.aws/REPLACE-ME/streaming-etl:latest', 'https://github.com/REPLACE-ME/streaming-etl/archive/refs/heads/main.tar.gz']) {
      assert.match(old, PLACEHOLDER);
    }
  });

  test('the source is pinned: the release URL and the SHA-256 of the archive the release publishes', () => {
    assert.equal(oneClick.Parameters.SourceArchiveUrl?.Default, RELEASE_URL);
    assert.match(String(oneClick.Parameters.SourceSha256?.Default), /^[0-9a-f]{64}$/);
    // What scripts/template.ts archives is what the default hash names.
    const dir = mkdtempSync(path.join(tmpdir(), 'streaming-etl-archive-'));
    const file = path.join(dir, SOURCE_ARCHIVE_NAME);
    const r = spawnSync('git', ['archive', '--format=tar.gz', '--prefix=streaming-etl/', '-o', file, 'HEAD'], { cwd: REPO_ROOT });
    assert.equal(r.status, 0);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), oneClick.Parameters.SourceSha256?.Default);
    assert.equal(source.sha256, oneClick.Parameters.SourceSha256?.Default);
  });

  test('by default the stack builds the image: CodeBuild from the pinned archive, checked, into its own repository, pulled by digest', () => {
    const { ev, image } = launched();
    assert.equal(ev.condition('BuildsProcessorImage'), true);
    const [repoId, repo] = resourcesOfType(oneClick, 'AWS::ECR::Repository')[0] ?? [];
    assert.ok(repoId && repo);
    assert.equal(repo.Condition, 'BuildsProcessorImage');
    assert.equal(repo.Properties?.ImageTagMutability, 'IMMUTABLE');
    assert.equal(repo.Properties?.EmptyOnDelete, true);
    const [crId] = resourcesOfType(oneClick, 'Custom::ProcessorImage')[0] ?? [];
    // (The registry host is split out of the repository ARN, which the evaluator leaves symbolic.)
    assert.match(image, new RegExp(`\\.dkr\\.ecr\\..*/<${repoId}>@<${crId}\\.ImageDigest>$`));
    const project = onlyResource<{ Condition: string; Properties: { Environment: { PrivilegedMode: boolean; EnvironmentVariables: { Name: string; Value: unknown }[] }; Source: { BuildSpec: string } } }>(oneClick, 'AWS::CodeBuild::Project');
    assert.equal(project.Condition, 'BuildsProcessorImage');
    const env = Object.fromEntries(project.Properties.Environment.EnvironmentVariables.map((v) => [v.Name, ev.value(v.Value)]));
    assert.equal(env.SOURCE_URL, RELEASE_URL);
    assert.equal(env.SOURCE_SHA256, source.sha256);
    const commands = (JSON.parse(project.Properties.Source.BuildSpec) as typeof BUILD_SPEC).phases.build.commands.join('\n');
    assert.match(commands, /echo "\$SOURCE_SHA256 {2}\/tmp\/source\.tar\.gz" \| sha256sum --check --strict - && .*docker build/s, 'the hash is checked before the build uses the archive');
    assert.deepEqual(BUILD_SPEC.env['exported-variables'], ['IMAGE_DIGEST']);
    // Every resource of the build is conditional; the custom resource reruns when the source changes.
    const cr = onlyResource<{ Condition: string; Properties: Record<string, unknown> }>(oneClick, 'Custom::ProcessorImage');
    assert.equal(cr.Condition, 'BuildsProcessorImage');
    assert.deepEqual(Object.keys(cr.Properties).sort(), ['ProjectName', 'ServiceToken', 'SourceSha256', 'SourceUrl']);
    for (const type of ['AWS::Lambda::Function', 'AWS::CodeBuild::Project', 'AWS::ECR::Repository']) {
      assert.ok(resourcesOfType(oneClick, type).every(([, r]) => r.Condition === 'BuildsProcessorImage'), type);
    }
  });

  test('the build trigger is inline code within the 4 KB ZipFile limit, waiting for the digest and failing the stack on a failed build', () => {
    const fn = onlyResource<{ Properties: { Code: { ZipFile: string }; Timeout: number } }>(oneClick, 'AWS::Lambda::Function');
    assert.equal(fn.Properties.Code.ZipFile, TRIGGER_CODE);
    assert.ok(TRIGGER_CODE.length <= 4096, `${TRIGGER_CODE.length} characters`);
    assert.match(TRIGGER_CODE, /BatchGetBuildsCommand/);
    assert.match(TRIGGER_CODE, /'FAILED'/);
    assert.match(TRIGGER_CODE, /sha256:\[0-9a-f\]\{64\}/);
    assert.equal(fn.Properties.Timeout, 900);
  });

  test('a given image must be pinned by digest; it replaces the build, and the execution role pulls only its repository', () => {
    const pattern = new RegExp(PINNED_IMAGE_URI_PATTERN);
    for (const bad of ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:latest', 'public.ecr.aws/x/etl@sha256:' + 'a'.repeat(64), 'etl']) {
      assert.doesNotMatch(bad, pattern, bad);
      assert.ok(new Evaluator(oneClick, { ProcessorImageUri: bad }).refusals().some((r) => r.startsWith('ProcessorImageUri')), bad);
    }
    const { ev, image } = launched({ ProcessorImageUri: GIVEN_IMAGE });
    assert.deepEqual(ev.refusals(), []);
    assert.equal(ev.condition('BuildsProcessorImage'), false);
    assert.equal(image, GIVEN_IMAGE);
    const pull = pullStatement();
    assert.equal(ev.value(pull.Resource), 'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/team/etl');
    const [repoId] = resourcesOfType(oneClick, 'AWS::ECR::Repository')[0] ?? [];
    assert.equal(new Evaluator(oneClick).value(pull.Resource), `<${repoId}.Arn>`);
  });

  test('the replay host downloads the pinned archive, checks its SHA-256 before unpacking, and installs without root or install scripts', () => {
    const { userData } = launched();
    const download = userData.indexOf(`curl -fsSL --retry 5 --proto '=https' -o /tmp/streaming-etl.tar.gz '${RELEASE_URL}'`);
    const check = userData.indexOf(`echo '${source.sha256}  /tmp/streaming-etl.tar.gz' | sha256sum --check --strict -`);
    const unpack = userData.indexOf('tar -xzf /tmp/streaming-etl.tar.gz');
    assert.ok(download >= 0 && check > download && unpack > check, userData);
    assert.match(userData, /set -euxo pipefail/, 'a failed check stops the user data');
    assert.doesNotMatch(userData, /\| tar/, 'nothing is piped into tar');
    assert.match(userData, /runuser -u etl-install -- env .* npm-22 ci --omit=dev --ignore-scripts/);
    assert.doesNotMatch(userData.replace(/runuser -u etl-install -- env [^\n]* npm-22 ci/, ''), /npm-22 ci/, 'npm ci runs only as the install user');
  });
});

/**
 * The base images a Dockerfile builds on that are not pinned by digest: each `FROM` resolved
 * through the `ARG` defaults declared before the first stage, skipping earlier stage names.
 */
function unpinnedBaseImages(dockerfile: string): string[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const unpinned: string[] = [];
  for (const line of dockerfile.split('\n').map((l) => l.trim())) {
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/.exec(line);
    if (arg?.[1] && arg[2]) args.set(arg[1], arg[2]);
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (!from?.[1]) continue;
    const image = from[1].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => args.get(name) ?? `<unset ${name}>`);
    if (!stages.has(image) && !/@sha256:[0-9a-f]{64}$/.test(image)) unpinned.push(image);
    if (from[2]) stages.add(from[2]);
  }
  return unpinned;
}

describe('the processor image: every base pinned by digest', () => {
  test('each FROM of the Dockerfile that CodeBuild and cdk deploy build names its image by digest', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'a build stage and a runtime stage');
    assert.deepEqual(unpinnedBaseImages(dockerfile), []);
    // The check is not blind: a tag, a moving ARG default and an unset ARG are each caught.
    assert.deepEqual(unpinnedBaseImages(dockerfile.replace(/@sha256:[0-9a-f]{64}/, '')), ['public.ecr.aws/docker/library/node:22-bookworm-slim', 'public.ecr.aws/docker/library/node:22-bookworm-slim']);
    assert.deepEqual(unpinnedBaseImages('FROM node:22 AS build\nFROM build\n'), ['node:22']);
    assert.deepEqual(unpinnedBaseImages('FROM ${BASE}\n'), ['<unset BASE>']);
  });
});

describe('one-click template: the console form', () => {
  const iface = () => (oneClick.Metadata as { 'AWS::CloudFormation::Interface': { ParameterGroups: { Label: { default: string }; Parameters: string[] }[]; ParameterLabels: Record<string, { default: string }> } })['AWS::CloudFormation::Interface'];

  test('every parameter is in exactly one group and has a label; the source comes first, the replay host last', () => {
    const groups = iface().ParameterGroups;
    const listed = groups.flatMap((g) => g.Parameters);
    assert.deepEqual([...listed].sort(), Object.keys(oneClick.Parameters).sort());
    assert.equal(new Set(listed).size, listed.length);
    assert.deepEqual(Object.keys(iface().ParameterLabels).sort(), Object.keys(oneClick.Parameters).sort());
    assert.deepEqual(groups[0]?.Parameters, ['SourceArchiveUrl', 'SourceSha256', 'ProcessorImageUri']);
    assert.deepEqual(groups.at(-1)?.Parameters, ['ReplayInstanceType', 'ReplayHostImage']);
    assert.equal(iface().ParameterLabels.InputKinesisStream?.default, 'Input Kinesis stream (InputKinesisStream)');
  });

  test('bad values are refused before anything is created', () => {
    const refused = (params: Record<string, string>) => new Evaluator(oneClick, params).refusals();
    const cases: [Record<string, string>, RegExp][] = [
      [{ CheckpointInterval: '-5' }, /^CheckpointInterval/],
      [{ OutputKafkaTransactionalIdPrefix: 'etl tx' }, /^OutputKafkaTransactionalIdPrefix/],
      [{ CheckpointInterval: '50' }, /^CheckpointInterval/],
      [{ CheckpointInterval: '1.5' }, /^CheckpointInterval/],
      [{ OutputRolloverSizeMb: '5001' }, /^OutputRolloverSizeMb/],
      [{ SourceSha256: 'abc' }, /^SourceSha256/],
      [{ SourceArchiveUrl: 'http://example.net/a.tar.gz' }, /^SourceArchiveUrl/],
      [{ SourceArchiveUrl: "https://example.net/a'$(id).tar.gz" }, /^SourceArchiveUrl/],
      [{ TaskCpu: '256', TaskMemory: '4096' }, /^TaskMemoryFitsTaskCpu256/],
      [{ TaskMemory: '1024' }, /^TaskMemoryFitsTaskCpu1024/],
      [{ MinTaskCount: '0' }, /^MinTaskCount/],
      [{ MinTaskCount: '5' }, /^MinTaskCount/],
      [{ MinTaskCount: '8', MaxTaskCount: '4' }, /^MinTaskCountAtMostMax4/],
      [{ MinTaskCount: '2', MaxTaskCount: '1' }, /^MinTaskCountAtMostMax1/],
      [{ InputKinesisStream: 'other', InputKafkaTopic: 't', InputKafkaBootstrapServers: 'b-1:9098' }, /^OneSource/],
      [{ InputKafkaTopic: 't' }, /^InputKafkaTopicNeedsServers/],
      [{ OutputKafkaBootstrapServers: 'b-1:9096' }, /^OutputKafkaBootstrapServersNeedTopic/],
      [{ InputKafkaBootstrapServers: 'b-1:80', InputKafkaTopic: 't' }, /^InputKafkaBootstrapServers/],
      [{ OutputElasticsearchEndpoint: 'http://search.example.net' }, /^OutputElasticsearchEndpoint/],
      [{ InputStreamInitalPosition: 'AT_TIMESTAMP' }, /^AtTimestampNeedsTimestamp/],
      [{ OutputPrefix: 'data/', OutputErrorPrefix: 'data/' }, /^ErrorPrefixDiffersFromDataPrefix/],
      [{ OutputPrefix: '' }, /^OutputPrefix/],
      [{ OutputBucket: 's3://Bad_Bucket/' }, /^OutputBucket/],
      [{ OutputBucket: 's3://bucket' }, /^OutputBucket/],
      [{ InputKinesisStream: 'arn:aws:kinesis:eu-west-1:123456789012:stream/trips' }, /^InputKinesisStream/],
      [{ CheckpointTable: 'ab' }, /^CheckpointTable/],
    ];
    for (const [params, expected] of cases) {
      const r = refused(params);
      assert.ok(r.some((x) => expected.test(x)), `${JSON.stringify(params)} refused as ${expected}: ${r.join('; ')}`);
    }
    const accepted: Record<string, string>[] = [
      { CheckpointInterval: '100' },
      { MinTaskCount: '4', MaxTaskCount: '4' },
      { MinTaskCount: '2', MaxTaskCount: '64' },
      { TaskCpu: '256', TaskMemory: '2048' },
      { TaskCpu: '8192', TaskMemory: '20480' },
      { InputKafkaTopic: 't', InputKafkaBootstrapServers: 'b-1.msk.example.net:9098,b-2.msk.example.net:9098' },
      { OutputElasticsearchEndpoint: 'https://search-d.eu-west-1.es.amazonaws.com' },
      { OutputBucket: 's3://other-bucket/a/b/', OutputPrefix: '/' },
      { InputStreamInitalPosition: 'AT_TIMESTAMP', InputStreamInitialTimestamp: '2018-01-01T00:00:00Z' },
    ];
    for (const params of accepted) {
      assert.deepEqual(refused(params), [], JSON.stringify(params));
    }
  });
});

function pullStatement(): { Sid: string; Resource: unknown } {
  const statements = resourcesOfType(oneClick, 'AWS::IAM::Policy').flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: { Sid: string; Resource: unknown }[] }).Statement);
  const pulls = statements.filter((s) => s.Sid === 'PullProcessorImage');
  assert.equal(pulls.length, 1);
  return pulls[0] as { Sid: string; Resource: unknown };
}
