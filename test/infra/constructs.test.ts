/**
 * Validation in the construct constructors: a wrong prop fails at synth time with the prop's name
 * and the value received; unresolved tokens are not validated.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Dashboard } from '../../lib/dashboard.js';
import { ImageBuild } from '../../lib/image-build.js';
import { Network } from '../../lib/network.js';
import { ProcessorService } from '../../lib/processor-service.js';
import { Query } from '../../lib/query.js';
import { RuntimeProperties } from '../../lib/runtime-properties.js';
import { StackParameters } from '../../lib/stack-parameters.js';
import type { ImageSource } from '../../lib/stack-parameters.js';
import { Storage } from '../../lib/storage.js';
import { newApp } from './fixtures.js';

function stack(): Stack {
  return new Stack(newApp(), 'S');
}

describe('construct validation', () => {
  test('Network: natGateways must be 1 or 2, cidr a literal /16-/22', () => {
    assert.throws(() => new Network(stack(), 'N', { natGateways: 3 }), /natGateways must be 1 or 2, got 3/);
    assert.throws(() => new Network(stack(), 'N', { cidr: '10.0.0.0/8' }), /cidr .* got '10\.0\.0\.0\/8'/);
    const s = stack();
    const p = new CfnParameter(s, 'P', { type: 'String' });
    assert.ok(new Network(s, 'N', { natGateways: p.valueAsString }).twoNatGateways, 'a token builds the conditional second gateway');
    assert.equal(new Network(stack(), 'N', { natGateways: 2 }).twoNatGateways, undefined);
  });

  test('Storage: shardCount 1-10000, streamMode PROVISIONED|ON_DEMAND, token mode needs the condition', () => {
    assert.throws(() => new Storage(stack(), 'S', { shardCount: 0 }), /shardCount must be an integer from 1 to 10000, got 0/);
    assert.throws(() => new Storage(stack(), 'S', { streamMode: 'BURST' }), /streamMode must be PROVISIONED or ON_DEMAND, got 'BURST'/);
    const s = stack();
    const p = new CfnParameter(s, 'P', { type: 'String' });
    assert.throws(() => new Storage(s, 'S', { streamMode: p.valueAsString }), /streamMode needs onDemandCondition/);
  });

  test('RuntimeProperties: fixed names known properties, without JSON specials', () => {
    const deps = (s: Stack) => {
      const st = new Storage(s, 'Storage');
      return { stream: st.stream, bucket: st.bucket, checkpointTable: st.checkpointTable };
    };
    let s = stack();
    assert.throws(() => new RuntimeProperties(s, 'R', { ...deps(s), fixed: { Nope: 'x' } as never }), /fixed names an unknown property 'Nope'/);
    s = stack();
    assert.throws(() => new RuntimeProperties(s, 'R', { ...deps(s), fixed: { ApplicationName: 'a"b' } }), /fixed\.ApplicationName .* got "a\\"b"/);
  });

  test('ProcessorService: counts are positive integers, maxCount >= desiredCount', () => {
    const base = () => {
      const s = stack();
      const n = new Network(s, 'N');
      return { s, props: { vpc: n.vpc } };
    };
    const { s, props } = base();
    const required = { image: undefined as never, taskRole: undefined as never, propertiesParameter: undefined as never, propertiesVersion: 'v', metricsNamespace: 'n', applicationName: 'a' };
    assert.throws(() => new ProcessorService(s, 'P', { ...props, ...required, cpu: 1.5 }), /cpu must be a positive integer, got 1\.5/);
    assert.throws(() => new ProcessorService(s, 'Q', { ...props, ...required, minCount: 3, maxCount: 2 }), /maxCount \(2\) must be at least minCount \(3\)/);
  });

  test('ImageBuild: a literal source is an https .tar.gz with a SHA-256', () => {
    const sha256 = 'a'.repeat(64);
    assert.throws(() => new ImageBuild(stack(), 'B', { sourceUrl: 'https://x.net/main.zip', sourceSha256: sha256 }), /sourceUrl must be an https URL of a \.tar\.gz, got 'https:\/\/x\.net\/main\.zip'/);
    assert.throws(() => new ImageBuild(stack(), 'B', { sourceUrl: 'https://x.net/a.tar.gz', sourceSha256: 'ABC' }), /sourceSha256 must be 64 lower-case hex digits, got 'ABC'/);
    assert.ok(new ImageBuild(stack(), 'B', { sourceUrl: 'https://x.net/a.tar.gz', sourceSha256: sha256 }).imageUri);
  });

  test('Dashboard: period in whole minutes; Query: lastYear in range; StackParameters: imageSource known', () => {
    assert.throws(() => new Dashboard(stack(), 'D', { period: Duration.seconds(90) } as never), /period must be a whole number of minutes, got 1 minute 30 seconds/);
    assert.throws(() => new Query(stack(), 'Q', { lastYear: 1999 } as never), /lastYear must be an integer from 2009 to 9999, got 1999/);
    assert.throws(() => new StackParameters(stack(), 'P', { imageSource: 'docker' as ImageSource }), /imageSource must be 'asset' or 'build', got 'docker'/);
    assert.throws(() => new StackParameters(stack(), 'P', { imageSource: 'build' }), /imageSource 'build' needs source/);
    assert.throws(() => new StackParameters(stack(), 'P', { imageSource: 'build', source: { url: 'http://x.net/a.tar.gz', sha256: 'a'.repeat(64) } }), /source\.url must be an https URL of a \.tar\.gz, got 'http:\/\/x\.net\/a\.tar\.gz'/);
    assert.throws(() => new StackParameters(stack(), 'P', { imageSource: 'build', source: { url: 'https://x.net/a.tar.gz', sha256: 'abc' } }), /source\.sha256 must be 64 lower-case hex digits, got 'abc'/);
  });
});
