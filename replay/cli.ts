/**
 * etl-replay: the command line over `replay()`. Prints the summary as one JSON line on stdout;
 * logs (statistics, warnings) go to stderr. Exit codes: 0 when it sent events, 3 when it finished
 * but sent nothing (the input was empty, or every row was invalid, rejected or before --seek; the
 * summary is still printed), 2 for a usage error (unknown flag, bad value), 1 for a failure (input
 * unreadable, records Kinesis would not take). SIGINT/SIGTERM stop the replay early (what was sent
 * is flushed and the summary printed, exit 0); a second signal exits at once (130).
 */
import { helpText, parseFlags, runCli } from '../common/cli.js';
import { REPLAY_FLAGS, optionsFromFlags } from './flags.js';
import { EXIT_NOTHING_SENT } from './constants.js';
import { nothingSentReason, replay } from './replay.js';

const USAGE = 'Usage: etl-replay --input <path | s3://bucket/prefix> --stream-name <name> [options]';
const SUMMARY =
  'Replays historic events (NYC TLC taxi CSV, or JSON lines; plain, gzip or LZ4) into a Kinesis stream or a Kafka topic, paced by their event time.';
const EPILOGUE =
  'The summary is printed as one JSON line on stdout. Exit codes: 0 sent, 3 sent nothing (empty input, or every row invalid or rejected), 2 usage error, 1 failure. amazon-kinesis-replay flag spellings are accepted.';

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, REPLAY_FLAGS);
  if (flags.get('help') === 'true') {
    process.stdout.write(helpText(USAGE, SUMMARY, REPLAY_FLAGS, EPILOGUE));
    return 0;
  }
  const options = optionsFromFlags(flags);
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const summary = await replay({ ...options, signal: controller.signal });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    const nothing = nothingSentReason(summary);
    if (nothing === undefined) return 0;
    process.stderr.write(`etl-replay: sent nothing to ${options.kafka ? `Kafka topic ${options.kafka.topic}` : options.streamName}: ${nothing}\n`);
    return EXIT_NOTHING_SENT;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

runCli('etl-replay', () => main(process.argv.slice(2)));
