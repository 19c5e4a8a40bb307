package etl.bench.flink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * Decodes TripEvent JSON into Avro records, driven by the same schema file as our processor
 * (processor/formats/schemas/trip-event.json): int, long (64-bit, exact), double, string and
 * timestamp-millis (an ISO-8601 instant or epoch milliseconds) fields, nullable where the schema says
 * so. A streaming Jackson parser, one pass, no tree. Also computes the partition path of our
 * processor's default template, {@code pickup_location=%03d/year=%04d/month=%02d/}, in UTC.
 * Serializable: the Flink operators carry it (the Avro schema is rebuilt from its JSON after
 * deserialization).
 */
public final class TripEventCodec implements Serializable {
  private static final long serialVersionUID = 1L;

  enum Kind { INT, LONG, DOUBLE, STRING, TIMESTAMP_MILLIS }

  private final String avroSchemaJson;
  private final String[] names;
  private final Kind[] kinds;
  private final boolean[] nullable;
  private final String locationField;
  private final String timeField;
  private transient Schema schema;
  private transient Map<String, Integer> index;
  private transient JsonFactory json;
  private transient int locationPos;
  private transient int timePos;

  private TripEventCodec(String avroSchemaJson, String[] names, Kind[] kinds, boolean[] nullable, String locationField, String timeField) {
    this.avroSchemaJson = avroSchemaJson;
    this.names = names;
    this.kinds = kinds;
    this.nullable = nullable;
    this.locationField = locationField;
    this.timeField = timeField;
  }

  /** Reads our schema file; the partition fields are pickup_location_id and the schema's timeField. */
  public static TripEventCodec fromSchemaFile(Path file) throws IOException {
    JsonNode root = new ObjectMapper().readTree(Files.readAllBytes(file));
    String timeField = root.path("timeField").asText("pickup_datetime");
    List<String> names = new ArrayList<>();
    List<Kind> kinds = new ArrayList<>();
    List<Boolean> nulls = new ArrayList<>();
    StringBuilder avro = new StringBuilder("{\"type\":\"record\",\"name\":\"").append(root.path("name").asText("TripEvent")).append("\",\"fields\":[");
    for (JsonNode f : root.path("fields")) {
      String name = f.path("name").asText();
      String type = f.path("type").asText();
      Kind kind = switch (type) {
        case "int" -> Kind.INT;
        case "long" -> Kind.LONG;
        case "double" -> Kind.DOUBLE;
        case "string" -> Kind.STRING;
        case "timestamp-millis" -> Kind.TIMESTAMP_MILLIS;
        default -> throw new IllegalArgumentException("schema " + file + ": field " + name + " has type " + type + ", which this peer does not handle");
      };
      boolean isNullable = f.path("nullable").asBoolean(false);
      String avroType = switch (kind) {
        case INT -> "\"int\"";
        case LONG -> "\"long\"";
        case DOUBLE -> "\"double\"";
        case STRING -> "\"string\"";
        case TIMESTAMP_MILLIS -> "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}";
      };
      if (names.size() > 0) avro.append(',');
      avro.append("{\"name\":\"").append(name).append("\",\"type\":").append(isNullable ? "[\"null\"," + avroType + "],\"default\":null" : avroType).append('}');
      names.add(name);
      kinds.add(kind);
      nulls.add(isNullable);
    }
    avro.append("]}");
    boolean[] nullable = new boolean[nulls.size()];
    for (int i = 0; i < nullable.length; i++) nullable[i] = nulls.get(i);
    TripEventCodec codec = new TripEventCodec(avro.toString(), names.toArray(new String[0]), kinds.toArray(new Kind[0]), nullable, "pickup_location_id", timeField);
    codec.init();
    return codec;
  }

  private void init() {
    if (schema != null) return;
    schema = new Schema.Parser().parse(avroSchemaJson);
    index = new HashMap<>();
    for (int i = 0; i < names.length; i++) index.put(names[i], i);
    json = new JsonFactory();
    Integer loc = index.get(locationField);
    Integer time = index.get(timeField);
    if (loc == null || kinds[loc] != Kind.INT) throw new IllegalArgumentException("the schema has no int field " + locationField);
    if (time == null || kinds[time] != Kind.TIMESTAMP_MILLIS) throw new IllegalArgumentException("the schema has no timestamp-millis field " + timeField);
    locationPos = loc;
    timePos = time;
  }

  /** The Avro schema of the records (and so of the Parquet files). */
  public Schema schema() {
    init();
    return schema;
  }

  public String avroSchemaJson() {
    return avroSchemaJson;
  }

  /** Decodes one JSON object; throws IllegalArgumentException naming the field and the value. */
  public GenericRecord decode(byte[] bytes) throws IOException {
    init();
    try (JsonParser p = json.createParser(bytes)) {
      return decode(p);
    }
  }

  public GenericRecord decode(String text) throws IOException {
    init();
    try (JsonParser p = json.createParser(text)) {
      return decode(p);
    }
  }

  private GenericRecord decode(JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) throw new IllegalArgumentException("a TripEvent must be a JSON object");
    GenericData.Record record = new GenericData.Record(schema);
    boolean[] seen = new boolean[names.length];
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      Integer pos = index.get(p.currentName());
      JsonToken v = p.nextToken();
      if (pos == null) {
        p.skipChildren();
        continue;
      }
      int i = pos;
      seen[i] = true;
      if (v == JsonToken.VALUE_NULL) {
        if (!nullable[i]) throw new IllegalArgumentException("field " + names[i] + " is null and the schema does not allow it");
        continue;
      }
      record.put(i, value(i, v, p));
    }
    if (t != JsonToken.END_OBJECT) throw new IllegalArgumentException("malformed TripEvent JSON at " + t);
    for (int i = 0; i < names.length; i++) {
      if (!seen[i] && !nullable[i]) throw new IllegalArgumentException("field " + names[i] + " is missing");
    }
    return record;
  }

  private Object value(int i, JsonToken v, JsonParser p) throws IOException {
    switch (kinds[i]) {
      case INT:
        if (v != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) throw bad(i, p);
        return p.getIntValue();
      case LONG:
        if (v != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) throw bad(i, p);
        return p.getLongValue();
      case DOUBLE:
        if (v != JsonToken.VALUE_NUMBER_INT && v != JsonToken.VALUE_NUMBER_FLOAT) throw bad(i, p);
        return p.getDoubleValue();
      case STRING:
        if (v != JsonToken.VALUE_STRING) throw bad(i, p);
        return p.getText();
      case TIMESTAMP_MILLIS:
        if (v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) return p.getLongValue();
        if (v != JsonToken.VALUE_STRING) throw bad(i, p);
        try {
          return Instant.parse(p.getText()).toEpochMilli();
        } catch (DateTimeParseException e) {
          throw new IllegalArgumentException("field " + names[i] + " has value " + p.getText() + ", not an ISO-8601 instant", e);
        }
      default:
        throw new IllegalStateException();
    }
  }

  private IllegalArgumentException bad(int i, JsonParser p) throws IOException {
    String value = p.currentToken() == JsonToken.VALUE_STRING ? "\"" + p.getText() + "\"" : p.getText();
    return new IllegalArgumentException("field " + names[i] + " has value " + value + ", not a " + kinds[i].name().toLowerCase().replace('_', '-'));
  }

  /** The partition directory of a record: {@code pickup_location=%03d/year=%04d/month=%02d} (UTC). */
  public String partition(GenericRecord record) {
    init();
    int location = (Integer) record.get(locationPos);
    ZonedDateTime time = Instant.ofEpochMilli((Long) record.get(timePos)).atZone(ZoneOffset.UTC);
    return String.format("pickup_location=%03d/year=%04d/month=%02d", location, time.getYear(), time.getMonthValue());
  }
}
