/**
 * AWS_MSK_IAM against a real broker. The local broker cannot speak AWS_MSK_IAM (that needs Amazon's
 * broker-side plugin), so this shows the other half: a client configured with IAM auth, as the
 * processor configures it (kafkaSecurityConfig), performs the SASL handshake on a SASL_PLAINTEXT
 * listener and fails at once with the broker's UNSUPPORTED_SASL_MECHANISM answer — no
 * hang, no retry loop. A PLAIN client logging in on the same listener shows the listener is real.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaSecurityConfig } from '../../common/kafka/client.js';
import { kafkaSkipReason, useKafka } from '../support/kafka.js';

describe('AWS_MSK_IAM against the local broker', { skip: kafkaSkipReason() }, () => {
  const broker = useKafka({ saslPlainUsers: { etl: 'etl-secret' } });
  const saslServers = (): string[] => {
    const servers = broker.get().saslPlaintextBootstrapServers;
    assert.ok(servers, 'the broker has a SASL_PLAINTEXT listener');
    return [servers];
  };

  test('the SASL_PLAINTEXT listener is real: a PLAIN client with the right password logs in and lists topics', async () => {
    const admin = new Kafka({ clientId: 'plain-login', brokers: saslServers(), sasl: { mechanism: 'plain', username: 'etl', password: 'etl-secret' }, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      assert.ok(Array.isArray(await admin.listTopics()));
    } finally {
      await admin.disconnect();
    }
  });

  test('a client configured for AWS_MSK_IAM does the SASL handshake and reports that the broker does not offer the mechanism, once, not retried', async () => {
    const { sasl } = kafkaSecurityConfig({ protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM', region: 'eu-west-1', property: 'InputKafkaBootstrapServers' });
    assert.equal((sasl as { mechanism: string }).mechanism, 'AWS_MSK_IAM');
    // TLS off: the local listener is SASL_PLAINTEXT; everything else as the processor configures it.
    const admin = new Kafka({ clientId: 'iam-login', brokers: saslServers(), sasl: sasl!, logLevel: logLevel.NOTHING }).admin();
    await assert.rejects(admin.connect(), (error: Error) => {
      // The broker answers the SaslHandshake with UNSUPPORTED_SASL_MECHANISM (error 33).
      assert.equal(error.name, 'KafkaJSProtocolError');
      assert.equal((error as { type?: string }).type, 'UNSUPPORTED_SASL_MECHANISM');
      assert.match(error.message, /The broker does not support the requested SASL mechanism/);
      assert.equal((error as { retriable?: boolean }).retriable, false);
      return true;
    });
    await admin.disconnect();
    // The broker saw exactly one handshake asking for AWS_MSK_IAM.
    const brokerLog = await readFile(broker.get().logFile, 'utf8');
    assert.equal(brokerLog.match(/Unsupported SASL mechanism AWS_MSK_IAM/g)?.length, 1, brokerLog.split('\n').filter((l) => /SASL|authentication/i.test(l)).join('\n'));
  });
});
