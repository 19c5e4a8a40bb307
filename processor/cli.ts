/**
 * `etl-processor`: the stream processor. Reads its runtime properties (flags, environment,
 * ApplicationProperties JSON; see `--help`), runs until SIGTERM/SIGINT, then stops reading, takes a
 * final checkpoint and exits 0, so a restart continues where it stopped. A fatal error exits 1
 * (the orchestrator restarts the task, which recovers from the last checkpoint).
 *
 * Test hook (not a runtime property; for the kill -9 tests only): `ETL_FAULT_KILL_AFTER_PHASE=<phase>:<n>`
 * with phase `pre-commit`, `persist` or `commit` makes the process SIGKILL itself right after the
 * n-th checkpoint of this run finished that phase, so tests can place a crash inside the protocol.
 */
import { runCli } from '../common/cli.js';
import { ConfigError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { loadConfig, processorHelp } from './config/index.js';
import type { CheckpointPhase } from './checkpoint/coordinator.js';
import { startProcessor, type StartProcessorOptions } from './processor.js';
import { peakRssMiB } from '../common/peak-rss.js';

/** A stop must end before ECS's stop timeout (120 s) kills the task: after this, exit 1 with a clear error. */
const STOP_DEADLINE_MS = 110_000;

const FAULT_PHASES: readonly CheckpointPhase[] = ['pre-commit', 'persist', 'commit'];

/** The test-only fault hook from `ETL_FAULT_KILL_AFTER_PHASE` (see the file comment); throws on a malformed value. */
function faultHook(value: string | undefined): Pick<StartProcessorOptions, 'afterCheckpointPhase'> {
  if (value === undefined || value === '') return {};
  const match = /^(pre-commit|persist|commit):([1-9][0-9]*)$/.exec(value);
  const phase = FAULT_PHASES.find((p) => p === match?.[1]);
  if (!match || !phase) throw new ConfigError([`ETL_FAULT_KILL_AFTER_PHASE must be <pre-commit|persist|commit>:<checkpoint number ≥ 1>, got ${JSON.stringify(value)}`]);
  const n = Number(match[2]);
  return {
    afterCheckpointPhase: (p, checkpointId) => {
      if (p === phase && checkpointId === n) process.kill(process.pid, 'SIGKILL');
    },
  };
}

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
  const fault = faultHook(process.env.ETL_FAULT_KILL_AFTER_PHASE);
  if (fault.afterCheckpointPhase) log.warn('test fault hook armed: this process kills itself inside a checkpoint', { ETL_FAULT_KILL_AFTER_PHASE: process.env.ETL_FAULT_KILL_AFTER_PHASE });
  const processor = await startProcessor(config, { log, ...fault });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn('second signal: exiting without the final checkpoint', { signal });
      process.exit(130);
    }
    signalled = true;
    log.info('signal received: stopping', { signal, deadlineMs: STOP_DEADLINE_MS });
    setTimeout(() => {
      log.error('the final checkpoint did not finish in time: exiting without it; the next run resumes from the last persisted checkpoint', { signal, deadlineMs: STOP_DEADLINE_MS });
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
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
    ...(stats.sourceProgress ? { input: stats.sourceProgress } : {}),
    cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    peakRssMiB: peakRssMiB(),
  });
  return 0;
}

runCli('etl-processor', main);
