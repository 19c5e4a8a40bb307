#!/usr/bin/env python3
"""Reads Parquet files back with two independent readers, pyarrow and DuckDB, and prints one
JSON document describing what each reader sees, for tests to assert on.

Usage:
  .cache/venv/bin/python scripts/read-parquet.py [--values COL]... [--distinct COL]... PATH...

PATH is a Parquet file or a directory (searched recursively for *.parquet). Output:
  {
    "files": [
      {"path": "...",
       "pyarrow": READING, "duckdb": READING}
    ],
    "combined": {"files": N, "pyarrow": READING, "duckdb": READING}   # all files together
  }
  READING = {
    "rows": 1000,
    "schema": {"col": "type"},   # pyarrow: Arrow type string (e.g. "timestamp[ms, tz=UTC]", "int64");
                                 # DuckDB: its SQL type (e.g. "TIMESTAMP WITH TIME ZONE", "BIGINT")
    "columns": {"col": {"nulls": 0, "min": ..., "max": ..., "sum": ..., "distinct_count": 3}},
    "values": {"col": [...]},    # --values COL: every value in file order
    "distinct": {"col": [...]},  # --distinct COL: sorted distinct non-null values
    "dictionary": {"col": true}  # pyarrow, one file only: whether the first row group's chunk of
                                 # the column has a dictionary page
  }
Value encoding (the same for both readers, so they compare equal): 64-bit integers (int64,
BIGINT, HUGEINT sums) as decimal strings, exact; timestamps as ISO-8601 UTC strings with
milliseconds ("2018-01-01T07:21:05.000Z"; a timestamp without zone has no "Z"); 32-bit
integers, doubles and booleans as JSON numbers/booleans; strings as strings; null as null.
"sum" exists for numeric columns (doubles summed with math.fsum by pyarrow, by DuckDB's sum),
"min"/"max" for numeric, timestamp and string columns. Exit status 1 when a path holds no
Parquet file or a reader fails.
"""
import argparse
import datetime as dt
import json
import math
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

EPOCH = dt.datetime(1970, 1, 1)
UNIT_PER_MS = {"s": None, "ms": 1, "us": 1000, "ns": 1000000}


def iso_ms(ms, utc):
    """Epoch milliseconds as ISO-8601 like JavaScript's toISOString (any year 1..9999)."""
    if ms is None:
        return None
    t = EPOCH + dt.timedelta(milliseconds=ms)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond // 1000:03d}"
    return text + "Z" if utc else text


def find_files(paths):
    files = []
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, names in os.walk(path):
                files.extend(os.path.join(root, n) for n in names if n.endswith(".parquet"))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise SystemExit(f"read-parquet: no such file or directory: {path}")
    return sorted(files)


# ---------------------------------------------------------------------------------------------
# pyarrow


def arrow_kind(t):
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_integer(t):
        return "int64" if t.bit_width == 64 else "int"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    return "other"


def arrow_values(column):
    """The column as JSON-ready Python values (see the value encoding above)."""
    t = column.type
    kind = arrow_kind(t)
    if kind == "timestamp":
        raw = pc.cast(column, pa.int64()).to_pylist()
        if t.unit == "s":
            ms = [None if v is None else v * 1000 for v in raw]
        else:
            div = UNIT_PER_MS[t.unit]
            ms = [None if v is None else v // div for v in raw]
        return kind, ms
    return kind, column.to_pylist()


def render(kind, value, utc=True):
    if value is None:
        return None
    if kind == "timestamp":
        return iso_ms(value, utc)
    if kind == "int64":
        return str(value)
    return value


def describe(kind, values, utc):
    present = [v for v in values if v is not None]
    info = {"nulls": len(values) - len(present)}
    if kind in ("int", "int64", "double", "timestamp", "string") and present:
        info["min"] = render(kind, min(present), utc)
        info["max"] = render(kind, max(present), utc)
    if kind in ("int", "int64"):
        info["sum"] = str(sum(present)) if kind == "int64" else sum(present)
    elif kind == "double":
        info["sum"] = math.fsum(present)
    if kind in ("string", "boolean", "int", "int64"):
        info["distinct_count"] = len(set(present))
    return info


def read_pyarrow(files, wanted_values, wanted_distinct):
    tables = [pq.read_table(f) for f in files]
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
    reading = {"rows": table.num_rows, "schema": {}, "columns": {}, "values": {}, "distinct": {}}
    for field in table.schema:
        reading["schema"][field.name] = str(field.type)
        kind, values = arrow_values(table.column(field.name))
        utc = kind != "timestamp" or field.type.tz is not None
        reading["columns"][field.name] = describe(kind, values, utc)
        if field.name in wanted_values:
            reading["values"][field.name] = [render(kind, v, utc) for v in values]
        if field.name in wanted_distinct:
            reading["distinct"][field.name] = [render(kind, v, utc) for v in sorted({v for v in values if v is not None})]
    if len(files) == 1:
        metadata = pq.ParquetFile(files[0]).metadata
        if metadata.num_row_groups > 0:
            group = metadata.row_group(0)
            reading["dictionary"] = {group.column(j).path_in_schema: group.column(j).has_dictionary_page for j in range(group.num_columns)}
    return reading


# ---------------------------------------------------------------------------------------------
# DuckDB (aggregates computed by DuckDB itself, in SQL)


def duck_kind(sql_type):
    if sql_type.startswith("TIMESTAMP"):
        return "timestamp"
    if sql_type in ("BIGINT", "UBIGINT", "HUGEINT"):
        return "int64"
    if sql_type in ("INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return "int"
    if sql_type in ("DOUBLE", "FLOAT", "REAL") or sql_type.startswith("DECIMAL"):
        return "double"
    if sql_type == "BOOLEAN":
        return "boolean"
    if sql_type == "VARCHAR":
        return "string"
    return "other"


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def read_duckdb(files, wanted_values, wanted_distinct):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    source = "read_parquet(?, hive_partitioning = false, union_by_name = true)"
    params = [files]
    columns = con.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()
    rows = con.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    reading = {"rows": rows, "schema": {}, "columns": {}, "values": {}, "distinct": {}}
    for name, sql_type, *_rest in columns:
        reading["schema"][name] = sql_type
        kind = duck_kind(sql_type)
        utc = sql_type == "TIMESTAMP WITH TIME ZONE"
        col = quote(name)
        # timestamps as epoch milliseconds (no time-zone libraries involved)
        expr = f"epoch_ms({col})" if kind == "timestamp" else col
        selects = [f"count(*) - count({col})"]
        if kind in ("int", "int64", "double", "timestamp", "string"):
            selects += [f"min({expr})", f"max({expr})"]
        if kind in ("int", "int64", "double"):
            selects.append(f"sum({col})")
        if kind in ("string", "boolean", "int", "int64"):
            selects.append(f"count(DISTINCT {col})")
        result = list(con.execute(f"SELECT {', '.join(selects)} FROM {source}", params).fetchone())
        info = {"nulls": result.pop(0)}
        if kind in ("int", "int64", "double", "timestamp", "string"):
            low, high = result.pop(0), result.pop(0)
            if low is not None:
                info["min"] = render(kind, low, utc)
                info["max"] = render(kind, high, utc)
        if kind in ("int", "int64", "double"):
            total = result.pop(0)
            if kind == "int64":
                info["sum"] = "0" if total is None else str(int(total))
            elif kind == "int":
                info["sum"] = 0 if total is None else int(total)
            else:
                info["sum"] = 0.0 if total is None else float(total)
        if kind in ("string", "boolean", "int", "int64"):
            info["distinct_count"] = result.pop(0)
        reading["columns"][name] = info
        if name in wanted_values:
            values = con.execute(f"SELECT {expr} FROM {source}", params).fetchall()
            reading["values"][name] = [render(kind, v[0], utc) for v in values]
        if name in wanted_distinct:
            values = con.execute(f"SELECT DISTINCT {expr} AS v FROM {source} WHERE v IS NOT NULL ORDER BY v", params).fetchall()
            reading["distinct"][name] = [render(kind, v[0], utc) for v in values]
    con.close()
    return reading


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="Parquet files or directories")
    parser.add_argument("--values", action="append", default=[], metavar="COL", help="list every value of COL")
    parser.add_argument("--distinct", action="append", default=[], metavar="COL", help="list the distinct values of COL")
    args = parser.parse_args()
    files = find_files(args.paths)
    if not files:
        print(f"read-parquet: no .parquet file under {' '.join(args.paths)}", file=sys.stderr)
        return 1
    wanted_values, wanted_distinct = set(args.values), set(args.distinct)
    out = {"files": [], "combined": None}
    for f in files:
        out["files"].append({
            "path": f,
            "pyarrow": read_pyarrow([f], wanted_values, wanted_distinct),
            "duckdb": read_duckdb([f], wanted_values, wanted_distinct),
        })
    out["combined"] = {
        "files": len(files),
        "pyarrow": read_pyarrow(files, wanted_values, wanted_distinct),
        "duckdb": read_duckdb(files, wanted_values, wanted_distinct),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
