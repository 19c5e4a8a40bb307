/**
 * The local services: Kinesis (kinesalite) and S3 (s3rver) in this process, DynamoDB (moto's server,
 * a child process: it has TransactWriteItems, which dynalite lacks), all on loopback, on free ports
 * unless ports are given. With `s3: 'moto'` S3 is served by moto too, for tests that need
 * AbortMultipartUpload and ListMultipartUploads (s3rver has neither). s3rver stores objects with
 * {@link CheckedFilesystemStore}: a write that fails (a full disk) is answered with an error and
 * logged naming the service, and the other services keep running. Used by `etl-local`,
 * `npm start`, the integration tests and the benchmarks. What they do and do not do is written in
 * DESIGN.md ("Local services").
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kinesalite from 'kinesalite';
import S3rver from 's3rver';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { baseClientConfig } from '../common/aws.js';
import { describeError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { sleep } from '../common/retry.js';
import { LocalServiceError } from './errors.js';
import { startMoto, type MotoServer } from './moto.js';
import { CheckedFilesystemStore } from './s3-store.js';
import { serveBothProtocols, type TwoProtocolServer } from './two-protocols.js';

/** The loopback address every local service listens on. */
export const LOCAL_HOST = '127.0.0.1';
/** The region and credentials the local services are used with (any values work; these are fixed for clarity). */
export const LOCAL_REGION = 'us-east-1';
const LOCAL_ACCESS_KEY_ID = 'S3RVER'; // s3rver accepts only its own key pair
const LOCAL_SECRET_ACCESS_KEY = 'S3RVER';

/** What to start and create. */
export interface LocalServicesOptions {
  /** Kinesis port; 0 or absent for a free port. */
  readonly kinesisPort?: number;
  /** S3 port; 0 or absent for a free port. */
  readonly s3Port?: number;
  /** DynamoDB port; 0 or absent for a free port. */
  readonly dynamodbPort?: number;
  /** Which S3 server: s3rver (in-process, the default) or moto (aborts, ListMultipartUploads). */
  readonly s3?: 's3rver' | 'moto';
  /** Where s3rver keeps its objects; a new temporary directory (removed on stop) when absent. */
  readonly s3Directory?: string;
  /** Streams to create, with their shard counts. */
  readonly streams?: readonly { name: string; shards: number }[];
  /** Buckets to create. */
  readonly buckets?: readonly string[];
  /** Lease/checkpoint tables to create (see {@link LEASE_TABLE_KEYS}). */
  readonly tables?: readonly string[];
  /** Where a service's failures are logged (each line names the service); `local-services` on stderr when absent. */
  readonly log?: Logger;
}

/** The running services. */
export interface LocalServices {
  /** Endpoint URLs of each service. */
  readonly endpoints: { readonly kinesis: string; readonly s3: string; readonly dynamodb: string };
  /** Exactly the environment variables another process needs to use these services. */
  readonly env: Readonly<Record<string, string>>;
  /** The directory s3rver stores objects in. */
  readonly s3Directory: string;
  /** Creates a stream (waits until ACTIVE). */
  createStream(name: string, shards: number): Promise<void>;
  /** Creates a bucket (one that exists already, as in a reused s3Directory, is kept). */
  createBucket(name: string): Promise<void>;
  /** Creates a checkpoint table. */
  createTable(name: string): Promise<void>;
  /** Stops every server (and removes the temporary S3 directory if it made one). */
  stop(): Promise<void>;
}

function listen(server: NetServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Logs every request s3rver answered with a server error (a failed write: ENOSPC, EIO, ...), naming
 * the service, the request and the error. Client errors (404, 409, ...) are answers, not failures.
 */
function reportFailures(s3: S3rver, log: Logger): void {
  s3.on('error', (error, ctx) => {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status < 500) return;
    if ((error as { code?: unknown }).code === 'ECONNRESET') {
      log.warn('a client went away before its request was complete; request dropped', { service: 's3', method: ctx?.method, path: ctx?.path, error: describeError(error) });
      return;
    }
    log.error('local service failed a request', {
      service: 's3',
      method: ctx?.method,
      path: ctx?.path,
      code: (error as { code?: unknown }).code,
      error: describeError(error),
    });
  });
}

/**
 * kinesalite throws from a request's 'error' event, so a client that went away before its request
 * body was complete (ECONNRESET) crashed the whole process, every other local service with it.
 * Here that request is dropped and logged instead. kinesalite adds its listener synchronously
 * when it takes the request, so it is replaced right after.
 */
function survivePartialRequests(server: HttpServer, log: Logger): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    for (const handler of handlers) handler(req, res);
    req.removeAllListeners('error');
    req.on('error', (error) => {
      log.warn('a client went away before its request was complete; request dropped', { service: 'kinesis', method: req.method, error: describeError(error) });
      res.destroy();
    });
  });
}

/** The lease table's key schema, as the CDK stack creates it: partition key `application`, sort key `leaseKey`. */
export const LEASE_TABLE_KEYS = { partition: 'application', sort: 'leaseKey', ttl: 'expiresAt' } as const;

/** Starts kinesalite, s3rver (or moto's S3) and moto's DynamoDB, then creates the requested streams, buckets and tables. */
export async function startLocalServices(options: LocalServicesOptions = {}): Promise<LocalServices> {
  const fronts: TwoProtocolServer[] = [];
  let s3: S3rver | undefined;
  let moto: MotoServer | undefined;
  let ownDirectory: string | undefined;
  const log = options.log ?? createLogger('local-services');
  try {
    const kinesisServer = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
    survivePartialRequests(kinesisServer, log);
    // kinesalite speaks HTTP/1.1; the SDK's default Kinesis client speaks HTTP/2 (h2c on http://).
    const kinesisFront = serveBothProtocols(kinesisServer);
    fronts.push(kinesisFront);
    const kinesisPort = await listen(kinesisFront.server, options.kinesisPort ?? 0);

    // A died moto is reported, not restarted: its tables (and S3 objects) were in its memory, and
    // an empty DynamoDB in their place would look like a checkpoint table that lost its items.
    moto = await startMoto(options.dynamodbPort ?? 0, (exit) =>
      log.error('local service died; the other services keep running', {
        service: options.s3 === 'moto' ? 'dynamodb+s3 (moto)' : 'dynamodb',
        code: exit.code,
        signal: exit.signal,
        stderr: exit.stderr.slice(-1000),
      }),
    );

    let s3Directory = options.s3Directory;
    let s3Endpoint: string;
    if (options.s3 === 'moto') {
      s3Endpoint = moto.endpoint;
      s3Directory = '';
    } else {
      if (s3Directory === undefined) {
        ownDirectory = await mkdtemp(join(tmpdir(), 'etl-s3-'));
        s3Directory = ownDirectory;
      } else {
        await mkdir(s3Directory, { recursive: true });
      }
      s3 = new S3rver({ address: LOCAL_HOST, port: options.s3Port ?? 0, silent: true, directory: s3Directory, vhostBuckets: false });
      s3.store = s3.context.store = new CheckedFilesystemStore(s3Directory);
      reportFailures(s3, log);
      s3Endpoint = `http://${LOCAL_HOST}:${(await s3.run()).port}`;
    }

    const endpoints = {
      kinesis: `http://${LOCAL_HOST}:${kinesisPort}`,
      s3: s3Endpoint,
      dynamodb: moto.endpoint,
    };
    const env = {
      AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: LOCAL_REGION,
      // The AWS CLI reads AWS_DEFAULT_REGION (and not AWS_REGION before v2).
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
    };
    const credentials = { accessKeyId: LOCAL_ACCESS_KEY_ID, secretAccessKey: LOCAL_SECRET_ACCESS_KEY };
    const kinesis = new KinesisClient({ ...baseClientConfig({ region: LOCAL_REGION, endpoint: endpoints.kinesis }), credentials });
    const s3Client = new S3Client({ ...baseClientConfig({ region: LOCAL_REGION, endpoint: endpoints.s3 }), credentials, forcePathStyle: true });
    const dynamo = new DynamoDBClient({ ...baseClientConfig({ region: LOCAL_REGION, endpoint: endpoints.dynamodb }), credentials });

    const services: LocalServices = {
      endpoints,
      env,
      s3Directory,
      async createStream(name, shards) {
        try {
          await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
          for (let i = 0; i < 200; i += 1) {
            const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
            if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
            await sleep(25);
          }
          throw new LocalServiceError(`stream ${name} did not become ACTIVE`);
        } catch (error) {
          if (error instanceof LocalServiceError) throw error;
          throw new LocalServiceError(`could not create stream ${name} with ${shards} shards`, { cause: error });
        }
      },
      async createBucket(name) {
        try {
          await s3Client.send(new CreateBucketCommand({ Bucket: name }));
        } catch (error) {
          // A reused s3Directory keeps its buckets: the bucket is there already, which is what was asked.
          const code = (error as { name?: string }).name;
          if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return;
          throw new LocalServiceError(`could not create bucket ${name}`, { cause: error });
        }
      },
      async createTable(name) {
        try {
          const { partition, sort, ttl } = LEASE_TABLE_KEYS;
          await dynamo.send(
            new CreateTableCommand({
              TableName: name,
              AttributeDefinitions: [
                { AttributeName: partition, AttributeType: 'S' },
                { AttributeName: sort, AttributeType: 'S' },
              ],
              KeySchema: [
                { AttributeName: partition, KeyType: 'HASH' },
                { AttributeName: sort, KeyType: 'RANGE' },
              ],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
          await dynamo.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl, Enabled: true } }));
        } catch (error) {
          throw new LocalServiceError(`could not create table ${name}`, { cause: error });
        }
      },
      async stop() {
        kinesis.destroy();
        s3Client.destroy();
        dynamo.destroy();
        await Promise.all([...fronts.map((f) => f.close()), s3?.close(), moto?.stop()]);
        if (ownDirectory) await rm(ownDirectory, { recursive: true, force: true });
      },
    };
    for (const stream of options.streams ?? []) await services.createStream(stream.name, stream.shards);
    for (const bucket of options.buckets ?? []) await services.createBucket(bucket);
    for (const table of options.tables ?? []) await services.createTable(table);
    return services;
  } catch (error) {
    await Promise.all([...fronts.map((f) => f.close()), s3?.httpServer ? s3.close() : undefined, moto?.stop()]);
    if (ownDirectory) await rm(ownDirectory, { recursive: true, force: true });
    if (error instanceof LocalServiceError) throw error;
    throw new LocalServiceError('could not start the local services', { cause: error });
  }
}
