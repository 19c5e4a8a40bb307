/**
 * Validation shared by the Kafka source and the Kafka sink: a topic with its bootstrap servers, and
 * how to connect (`<Input|Output>KafkaSecurityProtocol`, `…SaslMechanism`, `…SaslUsername`, `…SaslPassword`).
 */
import type { KafkaSecurity as KafkaClientSecurity } from '../../common/kafka/client.js';
import { regionOfMskHost } from '../../common/kafka/msk-host.js';
import type { PropertyReader } from '../connector.js';

/** How a Kafka client connects: plaintext, TLS, TLS with SCRAM, or TLS with MSK IAM auth. */
export type KafkaSecurity = KafkaClientSecurity;

/** The security property names of one direction. */
export type KafkaSecurityPropertyName<D extends 'Input' | 'Output'> =
  | `${D}KafkaSecurityProtocol`
  | `${D}KafkaSaslMechanism`
  | `${D}KafkaSaslUsername`
  | `${D}KafkaSaslPassword`;

const SERVER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * The security of a Kafka direction (`Input` or `Output`): SCRAM needs a user name and a password;
 * AWS_MSK_IAM takes neither (it signs with the AWS credentials of the task) and needs a signing
 * region for every broker host: the region an MSK host names, else AWS_REGION (`awsRegion`).
 */
export function kafkaSecurity<D extends 'Input' | 'Output'>(
  direction: D,
  values: PropertyReader<KafkaSecurityPropertyName<D> | `${D}KafkaBootstrapServers`>,
  awsRegion: string | undefined,
): KafkaSecurity | undefined {
  const protocol = values.str(`${direction}KafkaSecurityProtocol`) ?? 'PLAINTEXT';
  if (protocol === 'PLAINTEXT' || protocol === 'SSL') return { protocol };
  const mechanism = values.str(`${direction}KafkaSaslMechanism`) ?? 'SCRAM-SHA-512';
  const username = values.str(`${direction}KafkaSaslUsername`);
  const password = values.str(`${direction}KafkaSaslPassword`);
  if (mechanism === 'AWS_MSK_IAM') {
    const iamProblem = 'is not used with AWS_MSK_IAM (IAM auth signs with the AWS credentials of the task role); unset it, or use a SCRAM mechanism';
    if (username !== undefined) values.problem(`${direction}KafkaSaslUsername`, iamProblem);
    if (password !== undefined) values.problem(`${direction}KafkaSaslPassword`, iamProblem);
    const serversName = `${direction}KafkaBootstrapServers` as const;
    const region = awsRegion?.trim() ? awsRegion.trim() : undefined;
    let regionOk = true;
    for (const server of (values.str(serversName) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const host = SERVER.exec(server)?.[1] ?? server;
      if (region === undefined && regionOfMskHost(host) === undefined) {
        values.problem(serversName, `has broker host "${host}", which names no AWS region (an MSK broker is …kafka.<region>.amazonaws.com), and AWS_REGION is not set: AWS_MSK_IAM needs the region to sign for; set AWS_REGION or use the MSK broker host names`);
        regionOk = false;
        break;
      }
    }
    if (username !== undefined || password !== undefined || !regionOk) return undefined;
    return { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM', ...(region !== undefined ? { region } : {}), property: serversName };
  }
  if (username === undefined) values.problem(`${direction}KafkaSaslUsername`, `needed with ${direction}KafkaSecurityProtocol=SASL_SSL and ${mechanism}`);
  if (password === undefined) values.problem(`${direction}KafkaSaslPassword`, `needed with ${direction}KafkaSecurityProtocol=SASL_SSL and ${mechanism}`);
  if (username === undefined || password === undefined) return undefined;
  return { protocol: 'SASL_SSL', mechanism: mechanism as 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username, password };
}

/** A Kafka topic with its bootstrap servers: both or neither; servers are host:port, comma-separated. */
export function kafkaPair<N extends string>(values: PropertyReader<N>, topicName: N, serversName: N): { topic: string; bootstrapServers: string[] } | undefined {
  const topic = values.str(topicName);
  const servers = values.str(serversName);
  if (topic === undefined) {
    values.problem(serversName, `needs ${topicName} too, which is not set (a Kafka topic needs both)`);
    return undefined;
  }
  if (servers === undefined) {
    values.problem(topicName, `needs ${serversName} too, which is not set (a Kafka topic needs both)`);
    return undefined;
  }
  let valid = true;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    values.problem(topicName, 'expected a Kafka topic name: 1 to 249 letters, digits, ".", "_" or "-"');
    valid = false;
  }
  const list = servers.split(',').map((server) => server.trim()).filter((server) => server !== '');
  const bad = list.filter((server) => {
    const match = SERVER.exec(server);
    const port = Number(match?.[2] ?? 0);
    return !match || port < 1 || port > 65535;
  });
  if (list.length === 0 || bad.length > 0) {
    values.problem(serversName, `expected comma-separated host:port pairs such as broker-1:9092,broker-2:9092${bad.length > 0 ? ` (not host:port: ${bad.join(', ')})` : ''}`);
    valid = false;
  }
  return valid ? { topic, bootstrapServers: list } : undefined;
}
