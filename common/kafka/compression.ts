/** The compression of the record batches a Kafka producer writes (the sink's and the replay's property values). */
import kafkajs from 'kafkajs';

/** A compression property value, as the Java producer's `compression.type`. */
export type KafkaCompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Every compression property value. */
export const KAFKA_COMPRESSION_NAMES: readonly KafkaCompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** kafkajs's codec for each compression property value. */
export const KAFKA_COMPRESSION: Readonly<Record<KafkaCompressionName, kafkajs.CompressionTypes>> = {
  none: kafkajs.CompressionTypes.None,
  gzip: kafkajs.CompressionTypes.GZIP,
  snappy: kafkajs.CompressionTypes.Snappy,
  lz4: kafkajs.CompressionTypes.LZ4,
  zstd: kafkajs.CompressionTypes.ZSTD,
};
