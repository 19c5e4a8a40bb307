/**
 * `etl-replay --kafka-bootstrap-servers … --topic …` (issue 7, "Replay"): the replay CLI writes to a
 * topic of the real local broker with the same pacing, statistics and bad-row handling as to
 * Kinesis: every valid row once, keyed by its trip id, invalid rows skipped and counted in the
 * summary; each --kafka-compression codec is accepted by the broker (it validates compressed
 * batches) and shows in the segment.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaClient } from '../../common/kafka/client.js';
import { createLogger } from '../../common/log.js';
import { kafkaSkipReason, uniqueTopic, useKafka } from '../support/kafka.js';
import { readTopicIds } from '../support/kafka-pipeline.js';
import { tripEvent } from '../support/scale-out.js';

const LAUNCHER = fileURLToPath(new URL('../../scripts/launch/etl-replay.mjs', import.meta.url));
const log = createLogger('test.replay-kafka', { level: 'warn' });

/** Runs the replay CLI; resolves with its exit code, stdout and stderr. */
function runReplay(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('etl-replay into Kafka', { skip: kafkaSkipReason() }, () => {
  const broker = useKafka();

  test('every valid row once, keyed by its trip id; invalid rows skipped and counted; each codec accepted by the broker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'replay-kafka-'));
    const input = join(dir, 'events.jsonl');
    const ids = Array.from({ length: 200 }, (_, i) => i);
    const lines = ids.map((id) => tripEvent(id));
    lines.splice(50, 0, '{"not": "an event"');
    lines.splice(120, 0, 'garbage');
    await writeFile(input, lines.join('\n') + '\n');
    const kafka = createKafkaClient({ brokers: broker.get().brokers, clientId: 'replay-kafka-test', log });

    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const topic = uniqueTopic(`replay-${codec}`);
      await broker.get().createTopic(topic, 2);
      const result = await runReplay(['--input', input, '--kafka-bootstrap-servers', broker.get().bootstrapServers, '--topic', topic, '--kafka-compression', codec, '--speedup', '100000000', '--statistics-frequency', '0', '--no-progress']);
      assert.equal(result.code, 0, `replay with ${codec}:\n${result.stderr}`);
      const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { eventsRead: number; eventsSent: number; invalidRows: number };
      assert.equal(summary.eventsRead, ids.length, `${codec}: rows read`);
      assert.equal(summary.eventsSent, ids.length, `${codec}: events acknowledged`);
      assert.equal(summary.invalidRows, 2, `${codec}: the two bad rows counted`);
      const read = await readTopicIds(kafka, topic);
      assert.deepEqual([...read].sort((a, b) => a - b), ids, `${codec}: every valid row once`);
      if (codec === 'none') continue;
      // The segment files say which codec the batches carry.
      const codecs = new Set<string>();
      for (const partition of [0, 1]) {
        const partitionDir = join(broker.get().dataDir, `${topic}-${partition}`);
        const segment = (await readdir(partitionDir)).find((f) => f.endsWith('.log'));
        const dump = await broker.get().runTool('kafka.tools.DumpLogSegments', ['--files', join(partitionDir, segment!)]);
        for (const m of dump.stdout.matchAll(/^baseOffset: .* compresscodec: (\w+)/gm)) codecs.add(m[1]!.toLowerCase());
      }
      assert.deepEqual([...codecs], [codec], `every batch is ${codec}`);
    }
  });

  test('flags: a topic without servers, both destinations, --aggregate with Kafka, a bad codec are usage errors (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--input', 'x.jsonl', '--topic', 't'], /--topic needs --kafka-bootstrap-servers/],
      [['--input', 'x.jsonl', '--topic', 't', '--kafka-bootstrap-servers', 'b:9092', '--stream-name', 's'], /either --stream-name/],
      [['--input', 'x.jsonl', '--topic', 't', '--kafka-bootstrap-servers', 'b:9092', '--aggregate'], /Kinesis only/],
      [['--input', 'x.jsonl', '--topic', 't', '--kafka-bootstrap-servers', 'b:9092', '--kafka-compression', 'brotli'], /--kafka-compression needs one of/],
    ];
    for (const [args, message] of cases) {
      const result = await runReplay(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
