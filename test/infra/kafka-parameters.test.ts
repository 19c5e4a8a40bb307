/**
 * The Kafka connection parameters of the stack: the SCRAM passwords are NoEcho (not shown by the
 * console or DescribeStacks); the other new Kafka properties are ordinary parameters with their
 * catalogue defaults and values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { synthesize } from './fixtures.js';

test('Kafka SASL passwords are NoEcho parameters; the security protocol, mechanism, starting position and compression are enums with the catalogue defaults', () => {
  const { json } = synthesize();
  const parameters = json.Parameters as Record<string, { NoEcho?: boolean; Default?: unknown; AllowedValues?: unknown[] }>;
  for (const name of ['InputKafkaSaslPassword', 'OutputKafkaSaslPassword']) assert.equal(parameters[name]?.NoEcho, true, `${name} is NoEcho`);
  for (const name of ['InputKafkaSaslUsername', 'OutputKafkaBootstrapServers']) assert.notEqual(parameters[name]?.NoEcho, true, `${name} is shown`);
  assert.deepEqual(parameters.InputKafkaSecurityProtocol?.AllowedValues, ['PLAINTEXT', 'SSL', 'SASL_SSL']);
  assert.equal(parameters.OutputKafkaSaslMechanism?.Default, 'SCRAM-SHA-512');
  assert.equal(parameters.InputKafkaStartingPosition?.Default, 'LATEST');
  assert.deepEqual(parameters.OutputKafkaCompression?.AllowedValues, ['none', 'gzip', 'snappy', 'lz4', 'zstd']);
});
