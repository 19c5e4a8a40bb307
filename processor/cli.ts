/**
 * `etl-processor`: the stream processor. Reads its runtime properties (flags, environment,
 * ApplicationProperties JSON; see `--help`), runs until SIGTERM/SIGINT, then stops reading, takes a
 * final checkpoint and exits 0, so a restart continues where it stopped. A fatal error exits 1
 * (the orchestrator restarts the task, which recovers from the last checkpoint).
 */
import { runCli } from '../common/cli.js';
import { createLogger } from '../common/log.js';
import { loadConfig, processorHelp } from './config/index.js';
import { startProcessor } from './processor.js';

async function main(): Promise<number> {
  const loaded = await loadConfig({ argv: process.argv.slice(2), env: process.env });
  if (loaded.help) {
    process.stdout.write(processorHelp());
    return 0;
  }
  const { config, warnings } = loaded;
  const log = createLogger('processor', { fields: { app: config.applicationName } });
  for (const warning of warnings) log.warn(warning);
  log.info('configuration', { properties: config.resolved });
  const processor = await startProcessor(config, { log });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn('second signal: exiting without the final checkpoint', { signal });
      process.exit(130);
    }
    signalled = true;
    log.info('signal received: stopping', { signal });
    void processor.stop().catch(() => undefined);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await processor.done;
  const stats = processor.stats();
  const cpu = process.cpuUsage();
  log.info('stopped', {
    eventsIn: stats.eventsIn,
    eventsRejected: stats.eventsRejected,
    eventsOut: stats.eventsOut,
    checkpoints: stats.checkpoints,
    cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  });
  return 0;
}

runCli('etl-processor', main);
