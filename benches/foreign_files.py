"""Foreign-file side of the benchmark harness (benches/foreign.rs runs it).

`prepare OWN.parquet OUT_DIR`: writes, from the harness's own sales file,
the same rows as other tools write them, once (skipped when present):
  duckdb-<name>.parquet   DuckDB COPY, zstd, row groups of 122,880 rows
                          (DuckDB's default), `region` a plain VARCHAR column
  pyarrow-<name>.parquet  pyarrow write_table, zstd, row groups of 500,000,
                          dictionary pages with plain fallback, nullable columns
  na-<name>.csv           DuckDB COPY to CSV with `NA` for nulls (the columns
                          region, amount, quantity, day)

`time FILE RUNS THREADS`: times `mean-by-group` as one SQL query with DuckDB
(`SET threads = THREADS`) on FILE (Parquet, or a CSV with `NA` nulls), one
warm-up then RUNS timed runs, inside Python (interpreter start and import
excluded). Prints {"duckdb", "threads", "times_ms", "groups"} as JSON.
"""

import json
import os
import sys
import time

import duckdb


def prepare(own, out):
    base = os.path.basename(own).removesuffix(".parquet")
    con = duckdb.connect()
    src = "read_parquet('" + own.replace("'", "''") + "')"
    target = os.path.join(out, f"duckdb-{base}.parquet")
    if not os.path.exists(target):
        con.execute(f"COPY (SELECT * FROM {src}) TO '{target}.partial' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        os.rename(target + ".partial", target)
    target = os.path.join(out, f"pyarrow-{base}.parquet")
    if not os.path.exists(target):
        import pyarrow as pa
        import pyarrow.parquet as pq
        t = pq.read_table(own)
        t = t.set_column(t.schema.get_field_index("region"), "region",
                         t.column("region").cast(pa.string()))
        pq.write_table(t, target + ".partial", compression="zstd", row_group_size=500_000)
        os.rename(target + ".partial", target)
    target = os.path.join(out, f"na-{base}.csv")
    if not os.path.exists(target):
        con.execute(f"COPY (SELECT region, amount, quantity, day FROM {src}) "
                    f"TO '{target}.partial' (FORMAT csv, HEADER, NULLSTR 'NA')")
        os.rename(target + ".partial", target)


def timed(path, runs, threads):
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    literal = "'" + path.replace("'", "''") + "'"
    source = (f"read_csv({literal}, nullstr = 'NA')" if path.endswith(".csv")
              else f"read_parquet({literal})")
    query = f"SELECT region, count(amount), avg(amount) FROM {source} GROUP BY region"
    groups = con.execute(query).fetchall()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        groups = con.execute(query).fetchall()
        times.append((time.perf_counter() - started) * 1000.0)
    groups = [g for g in groups if g[1] > 0]
    groups.sort(key=lambda g: (g[0] is None, g[0] or ""))
    print(json.dumps({
        "duckdb": duckdb.__version__,
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        "times_ms": times,
        "groups": [[g[0], g[1], g[2]] for g in groups],
    }))


def main():
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    else:
        timed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))


if __name__ == "__main__":
    main()
