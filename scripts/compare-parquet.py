#!/usr/bin/env python3
"""Compares two partitioned Parquet outputs row for row (the Flink peer's and ours, bench/flink.ts).

Usage:
  .cache/venv/bin/python scripts/compare-parquet.py --key trip_id LEFT_DIR RIGHT_DIR

Each directory is searched recursively for *.parquet; every row gets the directory of its file,
relative to LEFT_DIR or RIGHT_DIR, as its partition ("pickup_location=041/year=2018/month=01").
Both sides are sorted by KEY and compared value by value over the columns they share, partition
included. Prints one JSON document:
  {"left":  {"files": N, "bytes": N, "rows": N, "distinctKeys": N, "schema": {"col": "arrow type"}},
   "right": {...},
   "columnsOnlyLeft": [...], "columnsOnlyRight": [...], "typeDifferences": {"col": ["left", "right"]},
   "compared": N, "mismatches": N, "firstMismatches": [{"key": "...", "column": "...", "left": ..., "right": ...}],
   "equal": true}
"equal" is true when both have the same rows (count and keys), no key repeats, the same columns,
and every value and partition matches. Exit status 0 either way (1 only when a side has no file).
"""
import argparse
import json
import os

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def load(root):
    parts = []
    files = 0
    size = 0
    for directory, _dirs, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith(".parquet"):
                continue
            path = os.path.join(directory, name)
            files += 1
            size += os.path.getsize(path)
            table = pq.read_table(path)
            partition = os.path.relpath(directory, root)
            parts.append(table.append_column("_partition", pa.array([partition] * table.num_rows, pa.string())))
    if not parts:
        raise SystemExit(f"compare-parquet: no Parquet file under {root}")
    table = pa.concat_tables(parts, promote_options="default")
    return table, files, size


def plain(value):
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", required=True)
    parser.add_argument("left")
    parser.add_argument("right")
    args = parser.parse_args()
    sides = {}
    tables = {}
    for name, root in (("left", args.left), ("right", args.right)):
        table, files, size = load(root)
        if args.key not in table.column_names:
            raise SystemExit(f"compare-parquet: {root} has no column {args.key}")
        table = table.sort_by(args.key)
        tables[name] = table
        sides[name] = {
            "files": files,
            "bytes": size,
            "rows": table.num_rows,
            "distinctKeys": len(pc.unique(table.column(args.key))),
            "schema": {f.name: str(f.type) for f in table.schema if f.name != "_partition"},
        }
    left, right = tables["left"], tables["right"]
    only_left = [c for c in left.column_names if c not in right.column_names]
    only_right = [c for c in right.column_names if c not in left.column_names]
    shared = [c for c in left.column_names if c in right.column_names]
    types = {c: [str(left.schema.field(c).type), str(right.schema.field(c).type)] for c in shared if left.schema.field(c).type != right.schema.field(c).type}
    rows = min(left.num_rows, right.num_rows)
    mismatches = 0
    first = []
    keys = left.column(args.key).to_pylist()
    for column in shared:
        a = left.column(column).to_pylist()
        b = right.column(column).to_pylist()
        for i in range(rows):
            if a[i] != b[i]:
                mismatches += 1
                if len(first) < 10:
                    first.append({"key": str(keys[i]), "column": column, "left": plain(a[i]), "right": plain(b[i])})
    equal = (
        left.num_rows == right.num_rows
        and sides["left"]["distinctKeys"] == left.num_rows
        and sides["right"]["distinctKeys"] == right.num_rows
        and not only_left
        and not only_right
        and mismatches == 0
    )
    print(json.dumps({
        "left": sides["left"], "right": sides["right"],
        "columnsOnlyLeft": only_left, "columnsOnlyRight": only_right, "typeDifferences": types,
        "compared": rows, "mismatches": mismatches, "firstMismatches": first, "equal": equal,
    }, default=str))


if __name__ == "__main__":
    main()
