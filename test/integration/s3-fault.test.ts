/**
 * The local S3 dies mid-commit and comes back: a checkpoint is persisted, then S3 (s3rver,
 * in-process) is stopped before the commit completes the uploads, so the processor fails. S3 is
 * started again on the same port and directory, a new processor recovers the persisted checkpoint,
 * and the output holds every event exactly once, in files that independent readers accept.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { LOCAL_HOST, type LocalServices } from '../../local/services.js';
import { downloadPrefix, startServicesForTest, uniqueName, waitFor } from '../support/local.js';
import { readParquet } from '../support/parquet.js';
import { s3PipelineFlags, startTestProcessor } from '../support/processor.js';
import { Producer } from '../support/scale-out.js';

const EVENTS = 300;

/** s3rver in this process, restartable on the same port and directory. */
class RestartableS3 {
  readonly #directory: string;
  #server: S3rver | undefined;
  port = 0;

  constructor(directory: string) {
    this.#directory = directory;
  }

  async start(): Promise<void> {
    this.#server = new S3rver({ address: LOCAL_HOST, port: this.port, silent: true, directory: this.#directory, vhostBuckets: false });
    this.port = (await this.#server.run()).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    server?.httpServer?.closeAllConnections?.();
    await server?.close();
  }
}

describe('the local S3 killed mid-commit', () => {
  let services: LocalServices;
  let s3Dir: string;
  let s3Server: RestartableS3;
  let savedEndpoint: string | undefined;
  before(async () => {
    services = await startServicesForTest();
    s3Dir = await mkdtemp(join(tmpdir(), 'etl-s3-fault-'));
    s3Server = new RestartableS3(s3Dir);
    await s3Server.start();
    savedEndpoint = process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL_S3 = `http://${LOCAL_HOST}:${s3Server.port}`;
  });
  after(async () => {
    process.env.AWS_ENDPOINT_URL_S3 = savedEndpoint;
    await s3Server.stop();
    await services.stop();
    await rm(s3Dir, { recursive: true, force: true });
  });

  test('a checkpoint persisted while S3 died is committed by the next run once S3 is back: every event once, every file readable', async () => {
    // Given a stream with events, a bucket on the restartable S3 and a checkpoint table
    const names = { stream: uniqueName('trips'), bucket: uniqueName('out'), table: uniqueName('ckpt') };
    await services.createStream(names.stream, 2);
    await services.createTable(names.table);
    const s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
    const kinesis = new KinesisClient(baseClientConfig());
    const producer = new Producer(kinesis, names.stream);
    const ids = Array.from({ length: EVENTS }, (_, i) => i);
    await producer.put(ids);
    const flags = [...s3PipelineFlags(names), '--CheckpointInterval', '3600000', '--ApplicationName', 's3-fault'];

    // When the first run has read everything, persists a checkpoint, and S3 dies before the commit
    let killedAfter: number | undefined;
    const first = await startTestProcessor(flags, {
      afterCheckpointPhase: async (phase, checkpointId) => {
        if (phase === 'persist' && killedAfter === undefined) {
          killedAfter = checkpointId;
          await s3Server.stop();
        }
      },
    });
    first.done.catch(() => undefined);
    await waitFor('the first run to read every event', () => first.stats().eventsIn >= EVENTS);
    await assert.rejects(first.checkpointNow(), 'the commit fails while S3 is down');
    await assert.rejects(first.done, 'the first run fails');
    assert.notEqual(killedAfter, undefined, 'S3 died right after a checkpoint persisted');

    // And S3 comes back on the same port and directory, and a new run starts
    await s3Server.start();
    const second = await startTestProcessor(flags);
    // (it takes the leases once the dead run's expire; taking a lease first commits the record its checkpoint names)
    await waitFor('the second run to take both leases', () => second.stats().ownedPartitions >= 2, 120_000);
    await second.checkpointNow();
    await second.stop();

    // Then the second run read nothing again, and the output holds every event exactly once, readable
    assert.equal(second.stats().eventsIn, 0, 'the persisted positions were kept');
    const { dir } = await downloadPrefix(s3, names.bucket, 'parquet/');
    try {
      const report = await readParquet([join(dir, 'parquet')], { values: ['trip_id'] });
      const written = (report.combined.pyarrow.values?.trip_id ?? []).map(Number).sort((a, b) => a - b);
      assert.deepEqual(written, ids);
      assert.equal(report.combined.duckdb.rows, EVENTS);
    } finally {
      await rm(dir, { recursive: true, force: true });
      s3.destroy();
      kinesis.destroy();
    }
  });
});
