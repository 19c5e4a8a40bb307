#!/usr/bin/env python3
"""Writes the partitioned Parquet output a run over JSON lines must produce, independently of the
processor's code (pyarrow only): the oracle of the pipeline bench's read-back (bench/pipeline.ts).

Usage:
  .cache/venv/bin/python scripts/expected-output.py --schema SCHEMA.json --template T EVENTS.jsonl OUT_DIR

SCHEMA.json is the processor's event schema (processor/formats/schemas/trip-event.json): its
fields, in order, become the columns (int -> int32, long -> int64, double -> float64, string ->
string, boolean -> bool, timestamp-millis -> timestamp[ms, tz=UTC]); fields not in the schema are
ignored, a missing nullable field is null. Every line must be a valid event (the bench writes only
valid ones); a line that does not convert stops the script with pyarrow's error.

T is the partition template, one of:
  default   pickup_location={pickup_location_id:%03d}/year={pickup_datetime:yyyy}/month={pickup_datetime:MM}/
  a literal (no '{'), e.g. all/
Anything else exits with status 2 naming the template: this oracle implements only those two.

Writes one file per partition directory (OUT_DIR/<partition>/expected.parquet), which is what
scripts/compare-parquet.py needs (it compares rows, not files). Prints one JSON line:
{"rows": N, "partitions": N}.
"""
import argparse
import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

TYPES = {
    "int": pa.int32(),
    "long": pa.int64(),
    "double": pa.float64(),
    "string": pa.string(),
    "boolean": pa.bool_(),
    "timestamp-millis": pa.timestamp("ms", tz="UTC"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schema", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("events")
    parser.add_argument("out")
    args = parser.parse_args()
    with open(args.schema, encoding="utf-8") as f:
        fields = json.load(f)["fields"]
    schema = pa.schema([pa.field(x["name"], TYPES[x["type"]], nullable=bool(x.get("nullable", False))) for x in fields])
    table = pj.read_json(args.events, parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"))
    table = table.select(schema.names).cast(schema)

    if args.template == "default":
        location = pc.cast(table.column("pickup_location_id"), pa.int64()).to_pylist()
        pickup = table.column("pickup_datetime")
        years = pc.year(pickup).to_pylist()
        months = pc.month(pickup).to_pylist()
        partitions = [f"pickup_location={l:03d}/year={y:04d}/month={m:02d}" for l, y, m in zip(location, years, months)]
    elif "{" not in args.template:
        literal = "/".join(p for p in args.template.split("/") if p)
        partitions = [literal] * table.num_rows
    else:
        print(f"expected-output: --template {args.template!r} is not supported (only 'default' or a literal)", file=sys.stderr)
        sys.exit(2)

    groups = {}
    for i, p in enumerate(partitions):
        groups.setdefault(p, []).append(i)
    for partition, rows in groups.items():
        directory = os.path.join(args.out, partition) if partition else args.out
        os.makedirs(directory, exist_ok=True)
        pq.write_table(table.take(pa.array(rows, pa.int64())), os.path.join(directory, "expected.parquet"))
    print(json.dumps({"rows": table.num_rows, "partitions": len(groups)}))


if __name__ == "__main__":
    main()
