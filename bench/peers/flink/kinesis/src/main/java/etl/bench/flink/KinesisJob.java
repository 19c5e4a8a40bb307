package etl.bench.flink;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.serialization.AbstractDeserializationSchema;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.formats.avro.typeutils.GenericRecordAvroTypeInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.connectors.kinesis.FlinkKinesisConsumer;
import org.apache.flink.streaming.connectors.kinesis.config.AWSConfigConstants;
import org.apache.flink.streaming.connectors.kinesis.config.ConsumerConfigConstants;

/**
 * The Flink peer of our processor (issue 11): FlinkKinesisConsumer (flink-connector-kinesis
 * 4.3.0-1.19, Flink 1.19.2) from TRIM_HORIZON of a local (kinesalite) stream, the TripEvent JSON
 * decoded, partitioned Snappy Parquet written by FileSink to a local directory, checkpointing on,
 * parallelism 1, in a local MiniCluster inside this JVM.
 *
 * <p>Bounded for the benchmark: once --events records have been decoded, the job is stopped with
 * a savepoint (a synchronous final checkpoint, which commits the part files), and the last line on
 * stdout is this process's figures (ProcessFigures). AWS_CBOR_DISABLE=true must be set for
 * kinesalite.
 *
 * <p>Arguments: --endpoint URL --region R --access-key K --secret-key S --stream NAME
 * --schema trip-event.json --output DIR --events N --checkpoint-interval MS --savepoints DIR
 */
public final class KinesisJob {
  /** Records decoded so far (the job runs in this JVM, at parallelism 1). */
  static final AtomicLong DECODED = new AtomicLong();

  static final class Decode implements MapFunction<byte[], GenericRecord> {
    private static final long serialVersionUID = 1L;
    private final TripEventCodec codec;

    Decode(TripEventCodec codec) {
      this.codec = codec;
    }

    @Override
    public GenericRecord map(byte[] value) throws Exception {
      GenericRecord record = codec.decode(value);
      DECODED.incrementAndGet();
      return record;
    }
  }

  static final class Bytes extends AbstractDeserializationSchema<byte[]> {
    private static final long serialVersionUID = 1L;

    @Override
    public byte[] deserialize(byte[] message) {
      return message;
    }
  }

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    if (!"true".equals(System.getenv("AWS_CBOR_DISABLE"))) throw new IllegalStateException("set AWS_CBOR_DISABLE=true: kinesalite does not speak CBOR");
    long events = args.number("events");
    TripEventCodec codec = TripEventCodec.fromSchemaFile(Path.of(args.get("schema")));
    Path savepoints = Files.createDirectories(Path.of(args.get("savepoints")));

    Properties aws = new Properties();
    aws.setProperty(AWSConfigConstants.AWS_REGION, args.get("region"));
    aws.setProperty(AWSConfigConstants.AWS_ENDPOINT, args.get("endpoint"));
    aws.setProperty(AWSConfigConstants.AWS_CREDENTIALS_PROVIDER, "BASIC");
    aws.setProperty(AWSConfigConstants.AWS_ACCESS_KEY_ID, args.get("access-key"));
    aws.setProperty(AWSConfigConstants.AWS_SECRET_ACCESS_KEY, args.get("secret-key"));
    aws.setProperty(ConsumerConfigConstants.STREAM_INITIAL_POSITION, "TRIM_HORIZON");

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(Configuration.fromMap(Map.of("restart-strategy.type", "none")));
    env.setParallelism(1);
    env.enableCheckpointing(args.number("checkpoint-interval"));
    env.addSource(new FlinkKinesisConsumer<>(args.get("stream"), new Bytes(), aws), "kinesis")
        .map(new Decode(codec))
        .returns(new GenericRecordAvroTypeInfo(codec.schema()))
        .name("decode")
        .sinkTo(PartitionedParquet.sink(args.get("output"), codec))
        .name("parquet");

    JobClient job = env.executeAsync("flink-peer-kinesis");
    while (DECODED.get() < events) {
      if (job.getJobStatus().get().isGloballyTerminalState()) throw new IllegalStateException("the job ended after " + DECODED.get() + " of " + events + " records: " + job.getJobStatus().get());
      Thread.sleep(20);
    }
    job.stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL).get(10, TimeUnit.MINUTES);
    job.getJobExecutionResult().get(10, TimeUnit.MINUTES);
    System.out.println(ProcessFigures.line(DECODED.get()));
    System.exit(0);
  }
}
