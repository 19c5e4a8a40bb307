/** The batching Kinesis PutRecords writer shared by the replay tool and the processor's Kinesis sink. */
export { PutRecordsWriter, KINESIS_LIMITS, RETRIABLE_ENTRY_ERRORS, kinesisRecordSize, splitIntoBatches } from './put-records-writer.js';
export type { KinesisRecord, PutRecordsClient, PutRecordsWriterOptions, PutRecordsWriterStats } from './put-records-writer.js';
export { KinesisWriteError, KinesisRecordRejectedError, KinesisWriterClosedError } from './errors.js';
export type { FailedRecord } from './errors.js';
