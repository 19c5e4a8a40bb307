/**
 * Helpers for the scale-out tests and the soak (test/integration/scale-out.test.ts,
 * scripts/soak.ts): generated TripEvents with known trip ids and partitions, a producer that
 * remembers the last sequence number it put on each shard, the lease table read straight from
 * DynamoDB, the S3 output read back with pyarrow/DuckDB and checked id by id, and the bucket's
 * open multipart uploads.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { downloadPrefix, listKeys } from './local.js';
import { readParquet } from './parquet.js';
import { aggregate } from '../../processor/sources/kinesis/kpl.js';

/** Fresh SDK clients on this process's (local services) environment. */
export function testClients(): { kinesis: KinesisClient; s3: S3Client; dynamo: DynamoDBClient; destroy(): void } {
  const kinesis = new KinesisClient(baseClientConfig());
  const s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
  const dynamo = new DynamoDBClient(baseClientConfig());
  return {
    kinesis,
    s3,
    dynamo,
    destroy: () => {
      kinesis.destroy();
      s3.destroy();
      dynamo.destroy();
    },
  };
}

/** Pickup locations cycle through this many values (and months through January and February 2018): few partitions, few files. */
const LOCATIONS = 3;
const MONTHS = 2;

/** Where an event with this trip id belongs: `pickup_location=NNN/year=2018/month=MM/`. */
export function expectedPartition(id: number): string {
  const location = 1 + (id % LOCATIONS);
  const month = 1 + (Math.floor(id / LOCATIONS) % MONTHS);
  return `pickup_location=${String(location).padStart(3, '0')}/year=2018/month=${String(month).padStart(2, '0')}/`;
}

/** A valid TripEvent (JSON text) with trip id `id`, in the partition {@link expectedPartition} names. */
export function tripEvent(id: number): string {
  const location = 1 + (id % LOCATIONS);
  const month = 1 + (Math.floor(id / LOCATIONS) % MONTHS);
  const pickup = Date.UTC(2018, month - 1, 1 + (id % 28), id % 24, id % 60, id % 60);
  return JSON.stringify({
    vendor_id: 1 + (id % 2),
    pickup_datetime: new Date(pickup).toISOString(),
    dropoff_datetime: new Date(pickup + 600_000).toISOString(),
    passenger_count: 1 + (id % 4),
    trip_distance: 1.5,
    ratecode_id: 1,
    store_and_fwd_flag: 'N',
    pickup_location_id: location,
    dropoff_location_id: 1 + ((id * 7) % LOCATIONS),
    payment_type: 1,
    fare_amount: 10,
    extra: 0.5,
    mta_tax: 0.5,
    tip_amount: 1,
    tolls_amount: 0,
    improvement_surcharge: 0.3,
    total_amount: 12.3,
    trip_id: id,
    type: 'trip',
  });
}

/** Puts events on a stream and remembers, per shard, the last sequence number put there. */
export class Producer {
  readonly #kinesis: KinesisClient;
  readonly #stream: string;
  readonly lastSequence = new Map<string, bigint>();
  /** Trip ids put (acknowledged by Kinesis). */
  readonly ids: number[] = [];

  readonly #aggregate: number;

  /** `aggregate`: user records per KPL aggregate (0: plain records, one event each). */
  constructor(kinesis: KinesisClient, stream: string, options: { aggregate?: number } = {}) {
    this.#kinesis = kinesis;
    this.#stream = stream;
    this.#aggregate = options.aggregate ?? 0;
  }

  /** Puts the events with these trip ids (partition key: the id), retrying entries Kinesis refused. */
  async put(ids: readonly number[]): Promise<void> {
    // One entry per Kinesis record: its trip ids and its bytes (a KPL aggregate of several, or one event).
    const entries: { ids: number[]; data: Uint8Array; key: string }[] = [];
    if (this.#aggregate > 0) {
      for (let i = 0; i < ids.length; i += this.#aggregate) {
        const group = ids.slice(i, i + this.#aggregate);
        const [record] = aggregate(group.map((id) => ({ data: Buffer.from(tripEvent(id)), partitionKey: `trip-${id}` })), { maxRecords: this.#aggregate });
        entries.push({ ids: group, data: record!.data, key: record!.partitionKey });
      }
    } else {
      for (const id of ids) entries.push({ ids: [id], data: Buffer.from(tripEvent(id)), key: `trip-${id}` });
    }
    for (let start = 0; start < entries.length; start += 500) {
      let batch = entries.slice(start, start + 500);
      for (let attempt = 1; batch.length > 0; attempt += 1) {
        if (attempt > 20) throw new Error(`Kinesis kept refusing ${batch.length} records`);
        const out = await this.#kinesis.send(new PutRecordsCommand({ StreamName: this.#stream, Records: batch.map((e) => ({ Data: e.data, PartitionKey: e.key })) }));
        const failed: typeof batch = [];
        (out.Records ?? []).forEach((r, i) => {
          const entry = batch[i]!;
          if (r.ErrorCode || !r.ShardId || !r.SequenceNumber) {
            failed.push(entry);
            return;
          }
          this.ids.push(...entry.ids);
          const seq = BigInt(r.SequenceNumber);
          if ((this.lastSequence.get(r.ShardId) ?? -1n) < seq) this.lastSequence.set(r.ShardId, seq);
        });
        batch = failed;
        if (failed.length > 0) await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }
}

/** A lease as the table holds it. */
export interface LeaseRow {
  readonly shard: string;
  readonly owner?: string;
  readonly checkpoint: string;
  readonly parents: readonly string[];
}

async function query(dynamo: DynamoDBClient, table: string, application: string, prefix: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'application = :a AND begins_with(leaseKey, :p)',
        ExpressionAttributeValues: { ':a': { S: application }, ':p': { S: prefix } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every lease of an application, read from the table. */
export async function readLeases(dynamo: DynamoDBClient, table: string, application: string): Promise<LeaseRow[]> {
  return (await query(dynamo, table, application, 'lease/')).map((item) => ({
    shard: item.leaseKey!.S!.slice('lease/'.length),
    ...(item.leaseOwner?.S ? { owner: item.leaseOwner.S } : {}),
    checkpoint: item.checkpoint?.S ?? '',
    parents: item.parentShardIds?.L?.map((v) => v.S ?? '') ?? [],
  }));
}

/** The run ids registered in the table. */
export async function readRuns(dynamo: DynamoDBClient, table: string, application: string): Promise<string[]> {
  return (await query(dynamo, table, application, 'run/')).map((item) => item.leaseKey!.S!.slice('run/'.length));
}

/** Commit records not marked committed. */
export async function uncommittedRecords(dynamo: DynamoDBClient, table: string, application: string): Promise<string[]> {
  return (await query(dynamo, table, application, 'commit/')).filter((item) => item.committed?.BOOL !== true).map((item) => item.leaseKey!.S!);
}

/** Leases per owner (free leases under ''), counting only leases not read to their end. */
export function leasesPerOwner(leases: readonly LeaseRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of leases) if (l.checkpoint !== 'SHARD_END') counts.set(l.owner ?? '', (counts.get(l.owner ?? '') ?? 0) + 1);
  return counts;
}

/** Whether every shard's checkpoint is at or after the last sequence number put there (or SHARD_END). */
export function caughtUp(leases: readonly LeaseRow[], lastSequence: ReadonlyMap<string, bigint>): boolean {
  const byShard = new Map(leases.map((l) => [l.shard, l.checkpoint]));
  for (const [shard, last] of lastSequence) {
    const checkpoint = byShard.get(shard);
    if (checkpoint === undefined) return false;
    if (checkpoint === 'SHARD_END') continue;
    if (!/^\d+$/.test(checkpoint) || BigInt(checkpoint) < last) return false;
  }
  return true;
}

/** Open multipart uploads in a bucket (every page). */
export async function openUploads(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const u of page.Uploads ?? []) if (u.Key) keys.push(u.Key);
    if (!page.IsTruncated) return keys;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** What the output holds, compared with the trip ids expected. */
export interface OutputCheck {
  readonly expected: number;
  readonly rows: number;
  readonly distinct: number;
  /** Ids written more than once (each counted once). */
  readonly duplicates: number[];
  /** Expected ids not written. */
  readonly missing: number[];
  /** Ids written that were never put. */
  readonly unexpected: number[];
  /** Rows in a partition other than the one their event names. */
  readonly misplaced: string[];
  readonly files: number;
}

/** Downloads the Parquet output, reads it back with pyarrow, and checks it against `expectedIds`. */
export async function checkOutput(s3: S3Client, bucket: string, expectedIds: readonly number[], prefix = 'parquet/'): Promise<OutputCheck> {
  const keys = await listKeys(s3, bucket, prefix);
  const seen = new Map<number, number>();
  const misplaced: string[] = [];
  let rows = 0;
  let files = 0;
  if (keys.length > 0) {
    const { dir } = await downloadPrefix(s3, bucket, prefix);
    try {
      const report = await readParquet([join(dir, prefix)], { values: ['trip_id'] });
      files = report.files.length;
      for (const file of report.files) {
        const values = file.pyarrow.values?.trip_id ?? [];
        for (const value of values) {
          const id = Number(value);
          rows += 1;
          seen.set(id, (seen.get(id) ?? 0) + 1);
          if (!file.path.includes(`/${prefix}${expectedPartition(id)}`)) misplaced.push(`${id} in ${file.path}`);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const expected = new Set(expectedIds);
  return {
    expected: expected.size,
    rows,
    distinct: seen.size,
    duplicates: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
    missing: [...expected].filter((id) => !seen.has(id)),
    unexpected: [...seen.keys()].filter((id) => !expected.has(id)),
    misplaced,
    files,
  };
}

/** The environment of a processor CLI on this stream, bucket and table, with quick leases and checkpoints. */
export function workerEnv(
  servicesEnv: Readonly<Record<string, string>>,
  resources: { stream: string; bucket: string; table: string; application: string },
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...servicesEnv,
    InputKinesisStream: resources.stream,
    InputStreamInitalPosition: 'TRIM_HORIZON',
    OutputBucket: resources.bucket,
    CheckpointTable: resources.table,
    ApplicationName: resources.application,
    CheckpointInterval: '1000',
    LeaseDuration: '5000',
    StatusInterval: '500',
    OutputInactivityInterval: '1000',
    ...extra,
  };
}
