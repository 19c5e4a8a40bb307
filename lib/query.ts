import { Aws, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The columns of the TripEvent schema, with their Glue/Hive types, in order. */
export const TRIP_EVENT_COLUMNS: readonly { readonly name: string; readonly type: string }[] = [
  { name: 'vendor_id', type: 'int' },
  { name: 'pickup_datetime', type: 'timestamp' },
  { name: 'dropoff_datetime', type: 'timestamp' },
  { name: 'passenger_count', type: 'int' },
  { name: 'trip_distance', type: 'double' },
  { name: 'ratecode_id', type: 'int' },
  { name: 'store_and_fwd_flag', type: 'string' },
  { name: 'pickup_location_id', type: 'int' },
  { name: 'dropoff_location_id', type: 'int' },
  { name: 'payment_type', type: 'int' },
  { name: 'fare_amount', type: 'double' },
  { name: 'extra', type: 'double' },
  { name: 'mta_tax', type: 'double' },
  { name: 'tip_amount', type: 'double' },
  { name: 'tolls_amount', type: 'double' },
  { name: 'improvement_surcharge', type: 'double' },
  { name: 'total_amount', type: 'double' },
  { name: 'trip_id', type: 'bigint' },
  { name: 'type', type: 'string' },
  { name: 'padding', type: 'string' },
];

/** The partition keys matching the default partition template (pickup_location=%03d/year=yyyy/month=MM/). */
export const PARTITION_KEYS = ['pickup_location', 'year', 'month'] as const;

/** The Glue table's name. */
export const TABLE_NAME = 'trips';

/** Properties of {@link Query}. */
export interface QueryProps {
  /** The created bucket: Athena writes its query results there (under athena-results/). */
  readonly bucket: s3.IBucket;
  /** The data's location, `s3://bucket/path/prefix/` (a token; see OutputLocation). */
  readonly location: string;
  /** The Glue database name (a token or a literal of lower-case letters, digits, underscores). */
  readonly databaseName: string;
  /**
   * Last year the partition projection covers.
   * @default 2030
   */
  readonly lastYear?: number;
}

/**
 * Query-ready output: a Glue database and a table over the Parquet output with partition
 * projection matching the processor's default partition template (no crawler, no MSCK REPAIR),
 * and an Athena workgroup writing its results into the bucket, so Athena can query right after deploy.
 */
export class Query extends Construct {
  /** The database. */
  readonly database: glue.CfnDatabase;
  /** The table. */
  readonly table: glue.CfnTable;
  /** The Athena workgroup. */
  readonly workGroup: athena.CfnWorkGroup;
  /** An example query (a token). */
  readonly exampleQuery: string;

  constructor(scope: Construct, id: string, props: QueryProps) {
    super(scope, id);
    const lastYear = props.lastYear ?? 2030;
    if (!Number.isInteger(lastYear) || lastYear < 2009 || lastYear > 9999) {
      throw new Error(`Query: lastYear must be an integer from 2009 to 9999, got ${lastYear}`);
    }
    const location = props.location;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: props.databaseName, description: 'streaming-etl output' },
    });
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: props.databaseName,
      tableInput: {
        name: TABLE_NAME,
        description: 'Trip events written by the streaming-etl processor (Parquet, partition projection)',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'parquet',
          EXTERNAL: 'TRUE',
          'parquet.compression': 'SNAPPY',
          'projection.enabled': 'true',
          'projection.pickup_location.type': 'integer',
          'projection.pickup_location.range': '1,265',
          'projection.pickup_location.digits': '3',
          'projection.year.type': 'integer',
          'projection.year.range': `2009,${lastYear}`,
          'projection.month.type': 'integer',
          'projection.month.range': '1,12',
          'projection.month.digits': '2',
          'storage.location.template': Fn.join('', [location, 'pickup_location=${pickup_location}/year=${year}/month=${month}/']),
        },
        partitionKeys: PARTITION_KEYS.map((name) => ({ name, type: 'string' })),
        storageDescriptor: {
          location,
          columns: TRIP_EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            parameters: { 'serialization.format': '1' },
          },
        },
      },
    });
    this.table.addResourceDependency(this.database);

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: Fn.join('-', [Aws.STACK_NAME, 'queries']),
      description: 'streaming-etl: queries over the output, results in the output bucket under athena-results/',
      recursiveDeleteOption: true,
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: Fn.join('', ['s3://', props.bucket.bucketName, '/athena-results/']),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    this.workGroup.applyRemovalPolicy(RemovalPolicy.DESTROY);

    this.exampleQuery = Fn.join('', [
      'SELECT pickup_location, count(*) AS trips, round(sum(total_amount), 2) AS revenue FROM "',
      props.databaseName,
      `"."${TABLE_NAME}" WHERE year = '2018' AND month = '01' GROUP BY pickup_location ORDER BY trips DESC LIMIT 10`,
    ]);
  }
}
