package etl.bench.flink;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.file.src.reader.TextLineInputFormat;
import org.apache.flink.formats.avro.typeutils.GenericRecordAvroTypeInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The file variant of the Flink peer (Flink 2.3.0): the bounded FileSource reading JSON lines,
 * the same decoding and the same partitioned Snappy Parquet sink, checkpointing on, parallelism 1,
 * in a local MiniCluster inside this JVM. The source ends at the end of the file and the final
 * checkpoint commits the part files; the last line on stdout is this process's figures.
 *
 * <p>Arguments: --input FILE --schema trip-event.json --output DIR --checkpoint-interval MS
 */
public final class FileJob {
  static final AtomicLong DECODED = new AtomicLong();

  static final class Decode implements MapFunction<String, GenericRecord> {
    private static final long serialVersionUID = 1L;
    private final TripEventCodec codec;

    Decode(TripEventCodec codec) {
      this.codec = codec;
    }

    @Override
    public GenericRecord map(String value) throws Exception {
      GenericRecord record = codec.decode(value);
      DECODED.incrementAndGet();
      return record;
    }
  }

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    TripEventCodec codec = TripEventCodec.fromSchemaFile(Path.of(args.get("schema")));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(Configuration.fromMap(Map.of("restart-strategy.type", "none")));
    env.setParallelism(1);
    env.enableCheckpointing(args.number("checkpoint-interval"));
    FileSource<String> lines = FileSource.forRecordStreamFormat(new TextLineInputFormat(), new org.apache.flink.core.fs.Path(args.get("input"))).build();
    env.fromSource(lines, WatermarkStrategy.noWatermarks(), "json-lines")
        .map(new Decode(codec))
        .returns(new GenericRecordAvroTypeInfo(codec.schema()))
        .name("decode")
        .sinkTo(PartitionedParquet.sink(args.get("output"), codec))
        .name("parquet");
    env.execute("flink-peer-file");
    System.out.println(ProcessFigures.line(DECODED.get()));
    System.exit(0);
  }
}
