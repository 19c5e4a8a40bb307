/**
 * processor/config: where properties come from — the five sources and their precedence, aliases,
 * empty values, the ApplicationProperties JSON formats, and the command line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, UsageError } from '../../common/errors.js';
import { loadConfig } from '../../processor/config/index.js';
import type { LoadConfigInput, ProcessorConfig } from '../../processor/config/index.js';

/** A minimal valid environment: a Kinesis source and the discard sink. */
const MINIMAL = { InputKinesisStream: 'trips', OutputDiscarding: 'true' } as const;

function group(map: Record<string, unknown>, id = 'FlinkApplicationProperties'): { PropertyGroupId: string; PropertyMap: Record<string, unknown> } {
  return { PropertyGroupId: id, PropertyMap: map };
}

async function load(input: Partial<LoadConfigInput> & { files?: Record<string, string> }): Promise<{ config: ProcessorConfig; warnings: readonly string[] }> {
  const files = input.files ?? {};
  const result = await loadConfig({
    argv: input.argv ?? [],
    env: input.env ?? {},
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return text;
    },
  });
  assert.equal(result.help, false);
  if (result.help) throw new Error('unreachable');
  return result;
}

async function problemsOf(input: Partial<LoadConfigInput> & { files?: Record<string, string> }): Promise<readonly string[]> {
  try {
    await load(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('precedence: default < properties file < APPLICATION_PROPERTIES_JSON < environment < flag', () => {
  const file = JSON.stringify([group({ OutputPrefix: 'file/', StatusInterval: '1000', MetricsNamespace: 'FromFile', CheckpointInterval: '2000' })]);
  const envJson = JSON.stringify([group({ StatusInterval: '1001', MetricsNamespace: 'FromEnvJson', CheckpointInterval: '2001' })]);

  test('each source overrides the ones below it, property by property', async () => {
    // Given: four properties set in overlapping sources
    const env = { ...MINIMAL, OutputBucket: 'bucket-one', APPLICATION_PROPERTIES_JSON: envJson, MetricsNamespace: 'FromEnv', CheckpointInterval: '2002' };
    // When
    const { config } = await load({ env, argv: ['--properties', 'app.json', '--CheckpointInterval', '2003'], files: { 'app.json': file } });
    // Then: each takes the highest source that sets it
    assert.equal(config.resolved.ApplicationName?.from, 'default');
    assert.equal(config.applicationName, 'streaming-etl');
    assert.deepEqual(config.resolved.OutputPrefix, { value: 'file/', from: 'properties-file' });
    assert.deepEqual(config.resolved.StatusInterval, { value: '1001', from: 'environment-json' });
    assert.equal(config.statusIntervalMs, 1001);
    assert.deepEqual(config.resolved.MetricsNamespace, { value: 'FromEnv', from: 'environment' });
    assert.equal(config.metricsNamespace, 'FromEnv');
    assert.deepEqual(config.resolved.CheckpointInterval, { value: '2003', from: 'flag' });
    assert.equal(config.checkpointIntervalMs, 2003);
    const s3 = config.sinks.find((sink) => sink.kind === 's3');
    assert.equal(s3?.prefix, 'file/');
  });

  test('an unset property is absent from resolved; a default is reported as such', async () => {
    const { config } = await load({ env: MINIMAL });
    assert.equal(config.resolved.CheckpointTable, undefined);
    assert.equal(config.checkpointTable, undefined);
    assert.deepEqual(config.resolved.InputStreamInitalPosition, { value: 'LATEST', from: 'default' });
  });
});

describe('empty values mean unset', () => {
  test('an empty environment variable does not override the JSON document, and a blank flag not the environment', async () => {
    // Given: CloudFormation-style empty parameters
    const env = { ...MINIMAL, APPLICATION_PROPERTIES_JSON: JSON.stringify([group({ MetricsNamespace: 'FromJson' })]), MetricsNamespace: '', StatusInterval: '2000' };
    // When
    const { config } = await load({ env, argv: ['--StatusInterval', '  '] });
    // Then
    assert.equal(config.metricsNamespace, 'FromJson');
    assert.equal(config.statusIntervalMs, 2000);
  });

  test('an empty value of a property with a default gives the default; values are trimmed', async () => {
    const { config } = await load({ env: { ...MINIMAL, CheckpointInterval: '', StatusInterval: ' 500 ' } });
    assert.deepEqual(config.resolved.CheckpointInterval, { value: '60000', from: 'default' });
    assert.equal(config.statusIntervalMs, 500);
  });

  test('an empty required property counts as missing', async () => {
    const problems = await problemsOf({ env: { InputKinesisStream: '', OutputDiscarding: 'true' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /^no source: set InputKinesisStream .* InputKafkaTopic and InputKafkaBootstrapServers/);
  });

  test('an empty APPLICATION_PROPERTIES_JSON is no document', async () => {
    const { config, warnings } = await load({ env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: '' } });
    assert.equal(config.source.kind, 'kinesis');
    assert.deepEqual(warnings, []);
  });
});

describe('aliases', () => {
  for (const [source, input] of [
    ['environment', { env: { ...MINIMAL, InputStreamInitialPosition: 'TRIM_HORIZON' } }],
    ['flag', { env: MINIMAL, argv: ['--InputStreamInitialPosition', 'TRIM_HORIZON'] }],
    ['kebab-case flag', { env: MINIMAL, argv: ['--input-stream-initial-position=TRIM_HORIZON'] }],
    ['properties file', { env: MINIMAL, argv: ['--properties', 'p.json'], files: { 'p.json': JSON.stringify([group({ InputStreamInitialPosition: 'TRIM_HORIZON' })]) } }],
    ['APPLICATION_PROPERTIES_JSON', { env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: JSON.stringify({ InputStreamInitialPosition: 'TRIM_HORIZON' }) } }],
  ] as const) {
    test(`the corrected spelling InputStreamInitialPosition works from the ${source}`, async () => {
      const { config } = await load(input);
      assert.equal(config.source.kind === 'kinesis' && config.source.initialPosition.type, 'TRIM_HORIZON');
      assert.equal(config.resolved.InputStreamInitalPosition?.value, 'TRIM_HORIZON');
    });
  }

  test('both spellings with different values in one source are a problem naming both', async () => {
    const problems = await problemsOf({ env: { ...MINIMAL, InputStreamInitalPosition: 'LATEST', InputStreamInitialPosition: 'TRIM_HORIZON' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /InputStreamInitalPosition and InputStreamInitialPosition are the same property with different values, "LATEST" \(from environment\) and "TRIM_HORIZON" \(from environment\)/);
  });

  test('both spellings with the same value, or one of them empty, are fine', async () => {
    const same = await load({ env: { ...MINIMAL, InputStreamInitalPosition: 'LATEST', InputStreamInitialPosition: 'LATEST' } });
    assert.equal(same.config.resolved.InputStreamInitalPosition?.from, 'environment');
    const oneEmpty = await load({ env: { ...MINIMAL, InputStreamInitalPosition: '', InputStreamInitialPosition: 'TRIM_HORIZON' } });
    assert.equal(oneEmpty.config.resolved.InputStreamInitalPosition?.value, 'TRIM_HORIZON');
  });

  test('different spellings in different sources follow the precedence', async () => {
    const { config } = await load({ env: { ...MINIMAL, InputStreamInitalPosition: 'LATEST' }, argv: ['--InputStreamInitialPosition', 'TRIM_HORIZON'] });
    assert.deepEqual(config.resolved.InputStreamInitalPosition, { value: 'TRIM_HORIZON', from: 'flag' });
  });

  test('the same flag twice with different values is a problem', async () => {
    const problems = await problemsOf({ env: MINIMAL, argv: ['--StatusInterval', '1000', '--status-interval', '2000'] });
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /StatusInterval: given twice with different values, "1000" \(from flag --StatusInterval\) and "2000" \(from flag --status-interval\)/);
  });
});

describe('ApplicationProperties JSON', () => {
  test('the managed-Flink format: FlinkApplicationProperties is read, other groups are ignored with a warning', async () => {
    // Given
    const document = JSON.stringify([group({ InputKinesisStream: 'from-file', OutputDiscarding: 'true' }), group({ InputKinesisStream: 'other' }, 'ConsumerConfigProperties')]);
    // When
    const { config, warnings } = await load({ argv: ['--properties', 'app.json'], files: { 'app.json': document } });
    // Then
    assert.equal(config.source.kind === 'kinesis' && config.source.streamName, 'from-file');
    assert.deepEqual(warnings, ['properties file app.json: property group "ConsumerConfigProperties" ignored (only FlinkApplicationProperties is read)']);
  });

  test('a single group object and a plain object are read too; JSON numbers and booleans count as their text', async () => {
    const single = await load({ env: { APPLICATION_PROPERTIES_JSON: JSON.stringify(group({ InputKinesisStream: 'a', OutputDiscarding: true, StatusInterval: 1500 })) } });
    assert.equal(single.config.statusIntervalMs, 1500);
    assert.deepEqual(single.config.sinks, [{ kind: 'discard' }]);
    const plain = await load({ env: { APPLICATION_PROPERTIES_JSON: JSON.stringify({ InputKinesisStream: 'b', OutputDiscarding: 'true', StatusInterval: null }) } });
    assert.equal(plain.config.source.kind === 'kinesis' && plain.config.source.streamName, 'b');
    assert.equal(plain.config.resolved.StatusInterval?.from, 'default');
  });

  test('unknown property names are warnings, with a hint for a wrong case', async () => {
    const { warnings } = await load({ env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: JSON.stringify([group({ SomeOtherAppKey: 'x', outputbucket: 'y' })]) } });
    assert.deepEqual(warnings, [
      'environment variable APPLICATION_PROPERTIES_JSON, group FlinkApplicationProperties, PropertyMap: unknown property "SomeOtherAppKey" ignored',
      'environment variable APPLICATION_PROPERTIES_JSON, group FlinkApplicationProperties, PropertyMap: unknown property "outputbucket" ignored (did you mean OutputBucket?)',
    ]);
  });

  test('a document without the FlinkApplicationProperties group is a warning', async () => {
    const { warnings } = await load({ env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: JSON.stringify([group({}, 'Other')]) } });
    assert.ok(warnings.includes('environment variable APPLICATION_PROPERTIES_JSON: no property group "FlinkApplicationProperties"; nothing read from it'), warnings.join('\n'));
  });

  test('malformed JSON is a problem naming the file, reported with the other problems', async () => {
    const problems = await problemsOf({ env: { ...MINIMAL, StatusInterval: 'soon' }, argv: ['--properties', 'bad.json'], files: { 'bad.json': '[{"PropertyGroupId": ' } });
    assert.equal(problems.length, 2);
    assert.match(problems[0] as string, /^properties file bad\.json: not valid JSON \(/);
    assert.match(problems[1] as string, /^StatusInterval: expected an integer >= 100, got "soon" \(from environment\)$/);
  });

  test('malformed JSON in the environment variable is a problem naming the variable', async () => {
    const problems = await problemsOf({ env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: '{not json' } });
    assert.deepEqual(problems.length, 1);
    assert.match(problems[0] as string, /^environment variable APPLICATION_PROPERTIES_JSON: not valid JSON/);
  });

  test('wrong shapes are problems: a scalar document, a group without a map, an object value', async () => {
    assert.match((await problemsOf({ env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: '42' } }))[0] as string, /expected a JSON array of property groups or an object of properties, got number 42/);
    assert.match(
      (await problemsOf({ env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: JSON.stringify([{ PropertyGroupId: 'FlinkApplicationProperties' }]) } }))[0] as string,
      /PropertyMap: expected an object of property names to string values, got undefined/,
    );
    assert.match(
      (await problemsOf({ env: { ...MINIMAL, APPLICATION_PROPERTIES_JSON: JSON.stringify({ OutputPrefix: { a: 1 } }) } }))[0] as string,
      /^OutputPrefix: expected a string value, got an object \(from environment variable APPLICATION_PROPERTIES_JSON\)$/,
    );
  });

  test('a properties file that cannot be read is a problem naming the file', async () => {
    const problems = await problemsOf({ env: MINIMAL, argv: ['--properties=missing.json'] });
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /^--properties missing\.json: cannot read the file \(ENOENT/);
  });
});

describe('command line', () => {
  test('--Name value, --Name=value and kebab-case --name value are the same property', async () => {
    const { config } = await load({ argv: ['--InputKinesisStream', 'a', '--StatusInterval=700', '--metrics-namespace', 'Ns', '--output-discarding'] });
    assert.equal(config.source.kind === 'kinesis' && config.source.streamName, 'a');
    assert.equal(config.statusIntervalMs, 700);
    assert.equal(config.metricsNamespace, 'Ns');
    assert.deepEqual(config.sinks, [{ kind: 'discard' }]);
  });

  test('a boolean flag without a value is true; with one, the value is used', async () => {
    const bare = await load({ argv: ['--OutputDiscarding', '--InputKinesisStream', 'a'] });
    assert.deepEqual(bare.config.resolved.OutputDiscarding, { value: 'true', from: 'flag' });
    const explicit = await load({ env: MINIMAL, argv: ['--OutputDiscarding', 'FALSE', '--OutputBucket', 'my-bucket'] });
    assert.deepEqual(explicit.config.sinks.map((sink) => sink.kind), ['s3']);
  });

  test('--help returns the help request without validating anything', async () => {
    const result = await loadConfig({ argv: ['--StatusInterval', 'x', '--help'], env: {} });
    assert.deepEqual(result, { help: true });
    assert.deepEqual(await loadConfig({ argv: ['-h'], env: {} }), { help: true });
  });

  for (const [argv, message] of [
    [['--NoSuchProperty', 'x'], /^unknown flag "--NoSuchProperty"$/],
    [['--inputkinesisstream', 'x'], /^unknown flag "--inputkinesisstream" \(did you mean InputKinesisStream\?\)$/],
    [['trips'], /^unexpected argument "trips"/],
    [['--InputKinesisStream'], /^flag --InputKinesisStream needs a value/],
    [['--OutputPrefix', '--StatusInterval', '5'], /^flag --OutputPrefix needs a value/],
    [['--properties'], /^--properties needs a file path$/],
    [['--properties', 'a.json', '--properties', 'b.json'], /^--properties given twice/],
  ] as const) {
    test(`${argv.join(' ')} is a usage error`, async () => {
      await assert.rejects(loadConfig({ argv, env: MINIMAL }), (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('a value starting with -- goes through --Name=value', async () => {
    const { config } = await load({ env: { ...MINIMAL, OutputBucket: 'my-bucket' }, argv: ['--OutputPrefix=--odd--'] });
    assert.equal(config.sinks[0]?.kind === 's3' && config.sinks[0].prefix, '--odd--/');
  });
});
