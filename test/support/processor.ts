/**
 * Starting the processor in-process for a test: configuration through the real property reader
 * (flags), a quiet logger, and quick shard discovery.
 */
import { createLogger } from '../../common/log.js';
import { loadConfig } from '../../processor/config/index.js';
import type { ProcessorConfig } from '../../processor/config/index.js';
import { startProcessor, type ProcessorHandle, type StartProcessorOptions } from '../../processor/processor.js';

const quiet = createLogger('test', { level: 'warn' });

/** The flags of a processor reading `stream` from its start into `bucket`, checkpointing in `table`. */
export function s3PipelineFlags(resources: { stream: string; bucket: string; table: string }): string[] {
  return ['--InputKinesisStream', resources.stream, '--InputStreamInitalPosition', 'TRIM_HORIZON', '--OutputBucket', resources.bucket, '--CheckpointTable', resources.table];
}

/** A configuration read from flags, as the CLI reads them. */
export async function testConfig(flags: readonly string[]): Promise<ProcessorConfig> {
  const loaded = await loadConfig({ argv: flags, env: {} });
  if (loaded.help) throw new Error('unexpected --help');
  return loaded.config;
}

/** Starts a processor configured by `flags`. */
export async function startTestProcessor(flags: readonly string[], options: StartProcessorOptions = {}): Promise<ProcessorHandle> {
  return startProcessor(await testConfig(flags), { log: quiet, shardDiscoveryIntervalMs: 1000, ...options });
}
