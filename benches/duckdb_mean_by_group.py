"""DuckDB side of the comparison harness (benches/compare.rs runs it).

Times `mean-by-group` as one SQL query over the same Parquet file with one
DuckDB thread, inside Python (interpreter start and import excluded): one
warm-up run, then RUNS timed runs. Prints one JSON object on stdout:
{"duckdb": version, "times_ms": [...], "groups": [[region, count, avg], ...]}.

Usage: python duckdb_mean_by_group.py FILE.parquet RUNS
"""

import json
import sys
import time

import duckdb


def main() -> None:
    path, runs = sys.argv[1], int(sys.argv[2])
    con = duckdb.connect()
    con.execute("SET threads = 1")
    literal = "'" + path.replace("'", "''") + "'"
    query = (
        "SELECT region, count(amount), avg(amount) "
        f"FROM read_parquet({literal}) GROUP BY region"
    )
    groups = con.execute(query).fetchall()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        groups = con.execute(query).fetchall()
        times.append((time.perf_counter() - started) * 1000.0)
    groups.sort(key=lambda g: (g[0] is None, g[0] or ""))
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(
        json.dumps(
            {
                "duckdb": duckdb.__version__,
                "threads": threads,
                "times_ms": times,
                "groups": [[g[0], g[1], g[2]] for g in groups],
            }
        )
    )


if __name__ == "__main__":
    main()
