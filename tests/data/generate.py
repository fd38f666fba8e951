"""Writes the foreign-writer test files in tests/data/ with the real tools.

Each file is written by the tool named in its folder (DuckDB, pyarrow,
Polars), or in the convention named (R-style CSV, gzip CSV), and
`expected.json` holds what the tests check Sluice against: per file the
rows, per column the null count, and the `mean-by-group` answer (orders and
mean amount per region) computed by DuckDB over the very same file.

R itself cannot be installed here (CRAN is unreachable), so `r-style/`
is written by this script byte for byte as R's `write.csv` writes a data
frame: a quoted header with an empty first name (the row names), row
names and strings quoted, `NA` unquoted for missing values of every type,
logicals as `TRUE`/`FALSE`, dates as quoted `YYYY-MM-DD`.

Run from the repository root (versions are recorded in expected.json):

    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install duckdb pyarrow polars
    target/bench-venv/bin/python tests/data/generate.py
"""

import datetime as dt
import decimal
import gzip
import json
import os
import random
import shutil

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
REGIONS = ["north", "south", "east", "west", "central", "coast", "highlands", "islands",
           "lakes", "plains", "valley", "delta", "harbour", "forest", "ridge", "bay"]
ROWS = 300


def sales_rows(seed, rows=ROWS):
    """Rows of a small sales table: a 16-value key, a nullable float and more."""
    rnd = random.Random(seed)
    out = []
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(rows):
        region = None if rnd.random() < 0.03 else REGIONS[int(rnd.random() ** 2 * 16)]
        amount = None if rnd.random() < 0.1 else round(rnd.uniform(1, 500), 2)
        at = start + dt.timedelta(minutes=rnd.randrange(0, 60 * 24 * 200))
        out.append({
            "id": i + 1,
            "region": region,
            "amount": amount,
            "price": decimal.Decimal(f"{rnd.uniform(0.5, 99):.2f}"),
            "quantity": rnd.randrange(1, 9),
            "returned": rnd.random() < 0.05,
            "day": at.date(),
            "ordered_at": at,
        })
    return out


def table(rows):
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("id", pa.int64()),
        ("region", pa.string()),
        ("amount", pa.float64()),
        ("price", pa.decimal128(10, 2)),
        ("quantity", pa.int32()),
        ("returned", pa.bool_()),
        ("day", pa.date32()),
        ("ordered_at", pa.timestamp("us", tz="UTC")),
    ]))


def fresh(folder):
    path = os.path.join(HERE, folder)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def duckdb_files(con, rows):
    path = fresh("duckdb")
    con.register("rows_view", table(rows))
    con.execute("CREATE OR REPLACE TABLE sales AS SELECT * REPLACE "
                "(ordered_at::TIMESTAMPTZ AS ordered_at) FROM rows_view")
    con.execute(f"COPY sales TO '{path}/sales.parquet' "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 128)")
    hive = fresh("hive")
    con.execute(f"COPY (SELECT *, year(day) AS year, (month(day) <= 3) AS q1 FROM sales) "
                f"TO '{hive}' (FORMAT parquet, PARTITION_BY (year, q1), COMPRESSION snappy)")


def all_types(rows=48):
    """One column per flat Arrow type a Parquet reader produces, plus
    nested ones (for `none` columns), every column with nulls."""
    rnd = random.Random(7)

    def maybe(v, i):
        return None if i % 7 == 3 else v

    n = range(rows)
    base = dt.datetime(2023, 3, 1, 12, 30, tzinfo=dt.timezone.utc)
    cols = {
        "i8": pa.array([maybe(i - 20, i) for i in n], pa.int8()),
        "i16": pa.array([maybe(i * 300, i) for i in n], pa.int16()),
        "i32": pa.array([maybe(i * 70000, i) for i in n], pa.int32()),
        "i64": pa.array([maybe(i * 10**12, i) for i in n], pa.int64()),
        "u8": pa.array([maybe(i + 200, i) if i < 50 else None for i in n], pa.uint8()),
        "u16": pa.array([maybe(i * 1000, i) for i in n], pa.uint16()),
        "u32": pa.array([maybe(i * 80000000, i) for i in n], pa.uint32()),
        "u64": pa.array([maybe(i * 10**15, i) for i in n], pa.uint64()),
        "f16": pa.array([maybe(float(i) / 4, i) for i in n], pa.float32()).cast(pa.float16()),
        "f32": pa.array([maybe(i * 1.5, i) for i in n], pa.float32()),
        "f64": pa.array([maybe(i * 2.25, i) for i in n], pa.float64()),
        "dec128": pa.array([maybe(decimal.Decimal(f"{i}.{i % 100:02d}"), i) for i in n],
                           pa.decimal128(10, 2)),
        "dec256": pa.array([maybe(decimal.Decimal(f"{i}.00001"), i) for i in n],
                           pa.decimal256(40, 5)),
        "d32": pa.array([maybe(dt.date(2020, 1, 1) + dt.timedelta(days=i * 40), i) for i in n],
                        pa.date32()),
        "d64": pa.array([maybe(dt.date(1969, 12, 1) + dt.timedelta(days=i), i) for i in n],
                        pa.date64()),
        "ts_s": pa.array([maybe(base + dt.timedelta(hours=i), i) for i in n],
                         pa.timestamp("s")),
        "ts_ms_berlin": pa.array([maybe(base + dt.timedelta(hours=i), i) for i in n],
                                 pa.timestamp("ms", tz="Europe/Berlin")),
        "ts_us_utc": pa.array([maybe(base + dt.timedelta(hours=i), i) for i in n],
                              pa.timestamp("us", tz="UTC")),
        "ts_ns": pa.array([maybe(base + dt.timedelta(hours=i), i) for i in n],
                          pa.timestamp("ns")),
        "t32": pa.array([maybe(dt.time(i % 24, i % 60), i) for i in n], pa.time32("ms")),
        "t64": pa.array([maybe(dt.time(i % 24, 0, 0, i), i) for i in n], pa.time64("us")),
        "flag": pa.array([maybe(i % 2 == 0, i) for i in n], pa.bool_()),
        "s": pa.array([maybe(f"s{i % 5}", i) for i in n], pa.string()),
        "ls": pa.array([maybe(f"large{i % 3}", i) for i in n], pa.large_string()),
        "sv": pa.array([maybe(f"view{i % 4}", i) for i in n], pa.string_view()),
        "dict": pa.array([maybe(REGIONS[i % 6], i) for i in n]).dictionary_encode(),
        "bin": pa.array([maybe(bytes([i, 255 - i]), i) for i in n], pa.binary()),
        "fsb": pa.array([maybe(bytes([i] * 4), i) for i in n], pa.binary(4)),
        "list": pa.array([maybe([i, i + 1], i) for i in n], pa.list_(pa.int64())),
        "st": pa.array([maybe({"a": i, "b": str(i)}, i) for i in n],
                       pa.struct([("a", pa.int64()), ("b", pa.string())])),
        "map": pa.array([maybe([("k", i)], i) for i in n], pa.map_(pa.string(), pa.int64())),
    }
    del rnd
    return pa.table(cols)


def pyarrow_files(rows):
    path = fresh("pyarrow")
    pq.write_table(all_types(), f"{path}/types.parquet", compression="zstd",
                   row_group_size=20, data_page_size=256, store_schema=True)
    t = table(rows)
    for codec in ["snappy", "zstd", "gzip", "lz4", "brotli", "none"]:
        pq.write_table(t, f"{path}/sales-{codec}.parquet", compression=codec,
                       row_group_size=200, use_dictionary=["region"], data_page_size=1024)
    pq.write_table(t, f"{path}/sales-plain.parquet", compression="zstd",
                   use_dictionary=False, row_group_size=200, data_page_size=1024)


def polars_files(rows):
    path = fresh("polars")
    pl.from_arrow(table(rows)).write_parquet(f"{path}/sales.parquet")  # zstd by default


def r_value(v):
    if v is None:
        return "NA"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float, decimal.Decimal)):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, dt.datetime):
        return '"' + v.strftime("%Y-%m-%d %H:%M:%S") + '"'
    if isinstance(v, dt.date):
        return '"' + v.isoformat() + '"'
    return '"' + str(v).replace('"', '""') + '"'


def r_csv(rows):
    names = ["region", "amount", "quantity", "returned", "day", "ordered_at"]
    lines = ['"",' + ",".join(f'"{n}"' for n in names)]
    for i, r in enumerate(rows):
        lines.append(f'"{i + 1}",' + ",".join(r_value(r[n]) for n in names))
    return "\n".join(lines) + "\n"


def csv_files(rows):
    path = fresh("r-style")
    with open(f"{path}/sales.csv", "w", newline="") as f:
        f.write(r_csv(rows))
    path = fresh("gzip")
    with gzip.open(f"{path}/sales.csv.gz", "wt", newline="") as f:
        f.write(r_csv(rows))


def expectations(con, rows):
    """What DuckDB answers on each file: rows and mean-by-group."""
    def mbg(source):
        key = "region"
        if "#na-is-text" in source:
            source, key = source.replace("#na-is-text", ""), "coalesce(region, 'NA')"
        q = (f"SELECT {key} AS k, count(amount), avg(amount) FROM {source} "
             "GROUP BY k HAVING count(amount) > 0")
        groups = con.execute(q).fetchall()
        groups.sort(key=lambda g: (g[0] is None, g[0] or ""))
        return [[g[0], g[1], g[2]] for g in groups]

    def obm(source):
        q = (f"SELECT strftime(ordered_at::TIMESTAMP, '%Y-%m') AS m, count(*), avg(amount) "
             f"FROM {source} WHERE ordered_at IS NOT NULL AND amount IS NOT NULL "
             "GROUP BY m ORDER BY m")
        return [list(r) for r in con.execute(q).fetchall()]

    files = {
        "duckdb/sales.parquet": "read_parquet('{p}')",
        "polars/sales.parquet": "read_parquet('{p}')",
        "hive": "read_parquet('{p}/**/*.parquet', hive_partitioning = true)",
        # Sluice's default: NA is null in non-string columns only.
        # (the file writes every missing region as NA, so NA regions are the nulls)
        "r-style/sales.csv": "read_csv('{p}', nullstr = 'NA')#na-is-text",
        "gzip/sales.csv.gz": "read_csv('{p}', nullstr = 'NA')#na-is-text",
        # With `[csv] string_null_values = ["NA"]`.
        "r-style/sales.csv#string-na": "read_csv('{p}', nullstr = 'NA')",
    }
    for codec in ["snappy", "zstd", "gzip", "lz4", "brotli", "none", "plain"]:
        files[f"pyarrow/sales-{codec}.parquet"] = "read_parquet('{p}')"
    out = {"versions": {"duckdb": duckdb.__version__, "pyarrow": pa.__version__,
                        "polars": pl.__version__},
           "files": {}}
    for name, source in files.items():
        src = source.format(p=os.path.join(HERE, name.split("#")[0]))
        n = con.execute(f"SELECT count(*) FROM {src.split('#')[0]}").fetchone()[0]
        out["files"][name] = {"rows": n, "mean_by_group": mbg(src),
                              "orders_by_month": obm(src.split("#")[0])}
    t = all_types()
    out["types"] = {
        "rows": t.num_rows,
        "nulls": {c: t.column(c).null_count for c in t.column_names},
    }
    return out


def main():
    rows = sales_rows(20261126)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    duckdb_files(con, rows)
    pyarrow_files(rows)
    polars_files(rows)
    csv_files(rows)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expectations(con, rows), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
