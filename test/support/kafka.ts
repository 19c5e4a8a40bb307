/**
 * One real Kafka broker per test file: `const broker = useKafka()` inside a `describe` starts it
 * before the tests and stops it after them; `broker.get()` gives the running broker, and
 * `uniqueTopic()` a fresh topic name for each test.
 */
import { after, before } from 'node:test';
import { KAFKA_JAVA, startKafka, type LocalKafka, type LocalKafkaOptions } from '../../local/kafka.js';
import { uniqueName, waitUntil } from './local.js';
import { javaServicesSkipReason } from './java-services.js';

/** The skip reason for a `describe` that needs Kafka (false when it can run). */
export function kafkaSkipReason(): string | false {
  return javaServicesSkipReason(KAFKA_JAVA);
}

/** A unique topic name for one test. */
export function uniqueTopic(prefix = 'topic'): string {
  return uniqueName(prefix);
}

/** Starts a broker before the tests of the enclosing `describe` and stops it after them. */
export function useKafka(options: LocalKafkaOptions = {}): { get(): LocalKafka } {
  let broker: LocalKafka | undefined;
  before(async () => {
    broker = await startKafka(options);
  });
  after(async () => {
    await broker?.stop();
  });
  return {
    get() {
      if (!broker) throw new Error('the Kafka broker is not running (did before() fail?)');
      return broker;
    },
  };
}

/** The shared poll (`waitUntil`), with the longer default wait a round through the broker needs. */
export function waitForBroker(what: string, condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  return waitUntil(what, condition, timeoutMs);
}
