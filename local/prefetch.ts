/**
 * `scripts/local-java-services.sh` (CI's pre-warming step): downloads the Kafka jars and the
 * OpenSearch distribution into the cache (`~/.cache/streaming-etl`), with progress logs, so tests
 * start the servers at once. Prints one JSON line per service: where it is cached, its size, and
 * whether it was downloaded now.
 *
 * Without Java or Maven it prints why and exits 0 (the tests that need them skip, saying why),
 * unless `ETL_REQUIRE_JAVA_SERVICES=1`, when it exits 1.
 */
import { helpText, parseFlags, runCli, type FlagSpec } from '../common/cli.js';
import { createLogger } from '../common/log.js';
import { MissingToolError } from './errors.js';
import { cacheRoot } from './java.js';
import { ensureKafka } from './kafka.js';
import { ensureOpenSearch } from './opensearch.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'kafka', boolean: true, description: 'Only Kafka (default: both).' },
  { name: 'opensearch', boolean: true, description: 'Only OpenSearch (default: both).' },
  { name: 'help', boolean: true, description: 'Print this help.' },
];

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.get('help') === 'true') {
    process.stdout.write(helpText('Usage: scripts/local-java-services.sh [--kafka] [--opensearch]', `Downloads the Kafka jars and the OpenSearch distribution into ${cacheRoot()}.`, FLAGS));
    return 0;
  }
  const kafka = flags.get('kafka') === 'true';
  const opensearch = flags.get('opensearch') === 'true';
  const both = !kafka && !opensearch;
  const log = createLogger('local.prefetch');
  try {
    if (kafka || both) {
      const started = Date.now();
      const install = await ensureKafka({ log: log.child('kafka') });
      process.stdout.write(`${JSON.stringify({ service: 'kafka', version: install.version, dir: install.dir, downloaded: install.downloaded, seconds: (Date.now() - started) / 1000, java: install.java.home })}\n`);
    }
    if (opensearch || both) {
      const started = Date.now();
      const install = await ensureOpenSearch({ log: log.child('opensearch') });
      process.stdout.write(`${JSON.stringify({ service: 'opensearch', version: install.version, dir: install.home, downloaded: install.downloaded, seconds: (Date.now() - started) / 1000, java: install.java.home })}\n`);
    }
  } catch (error) {
    if (!(error instanceof MissingToolError)) throw error;
    process.stderr.write(`local-java-services: ${error.message}\nThe tests that need Kafka or OpenSearch will be skipped.\n`);
    return process.env.ETL_REQUIRE_JAVA_SERVICES === '1' ? 1 : 0;
  }
  return 0;
}

runCli('local-java-services', main);
