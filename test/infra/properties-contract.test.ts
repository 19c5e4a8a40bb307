/**
 * The contract between the stack and the processor: the ApplicationProperties JSON the stack puts
 * into the SSM parameter (and so into APPLICATION_PROPERTIES_JSON) is read by the processor's own
 * property module into a valid configuration, with the stack's defaults and with user choices.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { APPLICATION_PROPERTIES_ENV } from '../../common/properties/index.js';
import { loadConfig } from '../../processor/config/index.js';
import type { ProcessorConfig } from '../../processor/config/index.js';
import { Evaluator, oneClickProps, onlyResource, synthesize } from './fixtures.js';

const { json } = synthesize(oneClickProps());
const ssm = onlyResource<{ Properties: { Value: unknown } }>(json, 'AWS::SSM::Parameter');
const task = onlyResource<{ Properties: { ContainerDefinitions: { Secrets: { Name: string }[] }[] } }>(json, 'AWS::ECS::TaskDefinition');

/** A physical name as CloudFormation would generate for a resource (the evaluator gives `<LogicalId>`). */
function physicalName(logicalId: string): string {
  return `streamingetl-${logicalId.toLowerCase()}-1a2b3c4d`;
}

/** The processor's configuration for the given stack parameter values. */
async function processorConfigFor(parameters: Record<string, string> = {}): Promise<ProcessorConfig> {
  const evaluated = new Evaluator(json, parameters).value(ssm.Properties.Value) as string;
  const document = evaluated.replace(/<([A-Za-z0-9]+)>/g, (_, id: string) => physicalName(id));
  const loaded = await loadConfig({ argv: [], env: { [APPLICATION_PROPERTIES_ENV]: document } });
  if (loaded.help) throw new Error('unexpected --help');
  return loaded.config;
}

describe('stack -> SSM parameter -> processor properties', () => {
  test('the container gets the document as the APPLICATION_PROPERTIES_JSON secret', () => {
    assert.deepEqual(task.Properties.ContainerDefinitions[0]?.Secrets.map((s) => s.Name), [APPLICATION_PROPERTIES_ENV]);
  });

  test('with every default, the processor reads the created stream into the created bucket, checkpointing in the created table', async () => {
    const config = await processorConfigFor();
    assert.equal(config.source.kind, 'kinesis');
    assert.match(config.source.kind === 'kinesis' ? config.source.streamName : '', /^streamingetl-storagestream[0-9a-f]{8}-1a2b3c4d$/);
    const s3 = config.sinks.find((s) => s.kind === 's3');
    assert.ok(s3 && s3.kind === 's3');
    assert.match(s3.bucket, /^streamingetl-storagebucket[0-9a-f]{8}-1a2b3c4d$/);
    assert.equal(s3.prefix, 'parquet/');
    assert.equal(s3.format, 'parquet');
    assert.match(config.checkpointTable ?? '', /^streamingetl-storagecheckpointtable[0-9a-f]{8}-1a2b3c4d$/);
    assert.equal(config.healthCheckPort, 8080);
    assert.equal(config.checkpointIntervalMs, 60_000);
    assert.equal(config.sinks.length, 1);
  });

  test('user choices arrive as typed properties', async () => {
    const config = await processorConfigFor({
      ParquetConversion: 'false',
      OutputPrefix: 'taxi/',
      OutputKinesisStream: 'enriched-trips',
      CheckpointInterval: '30000',
      InputStreamInitalPosition: 'TRIM_HORIZON',
    });
    const s3 = config.sinks.find((s) => s.kind === 's3');
    assert.ok(s3 && s3.kind === 's3' && s3.format === 'json' && s3.prefix === 'taxi/');
    const kinesisSink = config.sinks.find((s) => s.kind === 'kinesis');
    assert.equal(kinesisSink?.kind === 'kinesis' && kinesisSink.streamName, 'enriched-trips');
    assert.equal(config.checkpointIntervalMs, 30_000);
    assert.equal(config.source.kind === 'kinesis' && config.source.initialPosition.type, 'TRIM_HORIZON');
  });

  test('a bad parameter value reaches the processor as a clear configuration error', async () => {
    await assert.rejects(processorConfigFor({ InputStreamInitalPosition: 'EARLIEST' }), /InputStreamInitalPosition.*EARLIEST/);
  });
});
