/**
 * The Kinesis sink: copies each valid event's original bytes to another stream, partitioned by the
 * event id (the trip id), through the replay tool's batching PutRecords writer. Pre-commit waits
 * until everything written is acknowledged, so a checkpoint never runs ahead of the output; but
 * Kinesis has no idempotent put, so after a crash the records since the last checkpoint are sent
 * again: at-least-once.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { baseClientConfig } from '../../../common/aws.js';
import { PutRecordsWriter, type KinesisRecord } from '../../../common/kinesis/index.js';
import type { Logger } from '../../../common/log.js';
import type { KinesisSinkConfig } from '../../config/types.js';
import type { EventSchema } from '../../formats/types.js';
import { BaseSink, type SinkRecord } from '../../lifecycle.js';

/** Copies events to a Kinesis stream, at least once. */
export class KinesisSink extends BaseSink {
  readonly name = 'kinesis';
  readonly #client: KinesisClient;
  readonly #writer: PutRecordsWriter;
  readonly #idIndex: number;

  constructor(options: { config: KinesisSinkConfig; schema: EventSchema; log: Logger; client?: KinesisClient }) {
    super();
    const { config } = options;
    this.#client = options.client ?? new KinesisClient(baseClientConfig(config.region ? { region: config.region } : {}));
    this.#writer = new PutRecordsWriter({ client: this.#client, stream: config.streamArn ?? config.streamName, logger: options.log });
    this.#idIndex = options.schema.idField ? options.schema.fields.findIndex((f) => f.name === options.schema.idField) : -1;
  }

  async write(records: readonly SinkRecord[]): Promise<void> {
    const out: KinesisRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i += 1) {
      const r = records[i]!;
      const id = this.#idIndex >= 0 ? r.event.values[this.#idIndex] : null;
      // Without an id, the record's own partition key (a KPL user record's) keeps its grouping;
      // failing that, the source position spreads records over the shards.
      out[i] = {
        data: r.raw,
        partitionKey: id === null || id === undefined ? r.origin.partitionKey || r.origin.position || '0' : String(id),
        ...(id === null || id === undefined ? (r.origin.explicitHashKey ? { explicitHashKey: r.origin.explicitHashKey } : {}) : {}),
      };
    }
    await this.#writer.write(out);
  }

  override async preCommit(): Promise<undefined> {
    await this.#writer.flush();
    this.eventsOut = this.#writer.stats.recordsSent;
    return undefined;
  }

  override async close(): Promise<void> {
    await this.#writer.close();
    this.#client.destroy();
  }
}
