package etl.bench.flink;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.formats.parquet.ParquetWriterFactory;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;

/**
 * The sink of both jobs: Flink's FileSink with the Parquet bulk format (parquet-avro, Snappy, as
 * our processor writes), one bucket per partition of our default template, a part file rolled at
 * every checkpoint (bulk formats can only roll there) and committed when the checkpoint completes.
 */
public final class PartitionedParquet {
  private PartitionedParquet() {}

  public static FileSink<GenericRecord> sink(String directory, TripEventCodec codec) {
    String schemaJson = codec.avroSchemaJson();
    ParquetWriterFactory<GenericRecord> writers = new ParquetWriterFactory<>(out -> {
      Schema schema = new Schema.Parser().parse(schemaJson);
      return AvroParquetWriter.<GenericRecord>builder(out)
          .withSchema(schema)
          .withDataModel(GenericData.get())
          .withCompressionCodec(CompressionCodecName.SNAPPY)
          .build();
    });
    return FileSink.forBulkFormat(new Path(directory), writers)
        .withBucketAssigner(new Partitions(codec))
        .withRollingPolicy(OnCheckpointRollingPolicy.build())
        .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".parquet").build())
        .build();
  }

  static final class Partitions implements BucketAssigner<GenericRecord, String> {
    private static final long serialVersionUID = 1L;
    private final TripEventCodec codec;

    Partitions(TripEventCodec codec) {
      this.codec = codec;
    }

    @Override
    public String getBucketId(GenericRecord element, Context context) {
      return codec.partition(element);
    }

    @Override
    public SimpleVersionedSerializer<String> getSerializer() {
      return SimpleVersionedStringSerializer.INSTANCE;
    }
  }
}
