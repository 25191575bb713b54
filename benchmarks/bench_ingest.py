"""Validated ingest throughput: shisn.store.ingest.load of a 100,000-row CSV into a temp DuckDB store, against DuckDB's
own read_csv of the same file into a table.

    python benchmarks/bench_ingest.py [--quick] [--json]

The file: 100,000 rows of the self-assessment template's columns (state, program_area, cycle, maturity,
offers_help, seeks_help, other_area, notes and the five POETE sub-ratings), valid, one row per state x area x
cycle. 56 jurisdictions x 9 areas x the 25 allowed cycles hold only 12,600 distinct rows, so the rows are for the
3,100 synthetic county-scale jurisdictions (benchmarks/synthetic.py swaps them into shisn.domain.jurisdictions in this
process, so the loader's state check accepts them).

Each repetition loads into a fresh store (the loader's write into an empty table) and a fresh DuckDB file, both
timed in this process, from the same file on disk (shisn's time includes reading the file's bytes, as read_csv's
does), in alternating order:
- shisn:  ingest.load(con, [(name, file bytes)], user): read + validate + one transaction (the load-summary
          queries, the replace, the check that one row per key remains, the load log and audit rows) into
          `assessments` (CHECK constraints; one row per key is kept by the loader, not by a key index).
- floor:  CREATE TABLE t AS SELECT * FROM read_csv('file') (auto-detected types; no validation, no constraints).
- also:   INSERT INTO assessments ... SELECT ... FROM read_csv('file'): DuckDB loading the same file straight into
          shisn's table (its checks, no validation), to show what the table itself costs.
Throughput = rows / second; the figure is the median of the repetitions (after one warm-up). The split (read,
validate, write) is from medians of separate runs of the read alone and of read + validate.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _util import median

ROWS = 100_000


def run(quick: bool = False) -> dict:
    import synthetic as S

    jur = S.patch_jurisdictions()
    import duckdb

    from shisn.store import db, ingest

    rows = S.county_rows(jur).head(ROWS)
    data = S.to_csv_bytes(rows)
    work = Path(tempfile.mkdtemp(prefix="shisn-bench-ingest-"))
    f = work / "assessments-100k.csv"
    f.write_bytes(data)
    reps = 3 if quick else 7
    shisn_s, floor_s, schema_s = [], [], []
    cols = ", ".join(ingest.DB_COLUMNS)
    summary = None

    def floor(i: int) -> float:
        c = duckdb.connect(str(work / f"floor{i}.duckdb"))
        t = time.perf_counter()
        c.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{f}')").fetchall()
        took = time.perf_counter() - t
        n = c.execute("SELECT count(*) FROM t").fetchall()[0][0]
        c.close()
        assert n == ROWS, n
        return took

    def shisn(i: int) -> float:
        nonlocal summary
        con = db.connect(work / f"shisn{i}.duckdb")
        t = time.perf_counter()
        summary = ingest.load(con, [(f.name, f.read_bytes())], "benchmark")
        took = time.perf_counter() - t
        n = con.cursor().execute("SELECT count(*) FROM assessments").fetchall()[0][0]
        con.close()
        assert n == ROWS, n
        return took

    for i in range(reps + 1):  # the first repetition warms imports and caches; not counted
        if i % 2:
            dt_floor, dt_shisn = floor(i), shisn(i)
        else:
            dt_shisn, dt_floor = shisn(i), floor(i)

        con = db.connect(work / f"schema{i}.duckdb")
        cur = con.cursor()
        t = time.perf_counter()
        cur.execute(
            f"INSERT INTO assessments ({cols}, load_id) SELECT state, program_area, cycle, maturity, "
            "offers_help = 'yes', seeks_help = 'yes', other_area, notes, planning, organization, equipment, "
            f"training, exercises, 1 FROM read_csv('{f}')"
        ).fetchall()
        dt_schema = time.perf_counter() - t
        con.close()
        if i:
            shisn_s.append(dt_shisn)
            floor_s.append(dt_floor)
            schema_s.append(dt_schema)
    s, fl, sc = median(shisn_s), median(floor_s), median(schema_s)
    # where the loader's time goes: the read alone and read + validate, each the median of a few more runs
    read_s, check_s = [], []
    for _ in range(reps):
        t = time.perf_counter()
        ingest._read(f.name, f.read_bytes())
        read_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        checked = ingest.check(f.name, f.read_bytes())
        check_s.append(time.perf_counter() - t)
    t_read, t_check = median(read_s), median(check_s)
    return {
        "rows": ROWS,
        "bytes": len(data),
        "reps": reps,
        "jurisdictions": len(jur),
        "shisn_seconds": s,
        "shisn_all": shisn_s,
        "floor_seconds": fl,
        "floor_all": floor_s,
        "schema_seconds": sc,
        "schema_all": schema_s,
        "shisn_rows_per_s": ROWS / s,
        "floor_rows_per_s": ROWS / fl,
        "schema_rows_per_s": ROWS / sc,
        "throughput_ratio": fl / s,
        "throughput_ratio_vs_schema": sc / s,
        "split_seconds": {"read": t_read, "validate": t_check - t_read, "write": max(s - t_check, 0.0)},
        "ok": checked.ok,
        "summary": summary[0].line() if summary else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = run(args.quick)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"shisn  {r['shisn_seconds'] * 1000:6.0f} ms  {r['shisn_rows_per_s']:>10,.0f} rows/s")
    print(f"floor  {r['floor_seconds'] * 1000:6.0f} ms  {r['floor_rows_per_s']:>10,.0f} rows/s  (read_csv -> table)")
    print(
        f"schema {r['schema_seconds'] * 1000:6.0f} ms  {r['schema_rows_per_s']:>10,.0f} rows/s  "
        "(read_csv -> assessments)"
    )
    print(
        f"ratio  {r['throughput_ratio']:.2f}x of the floor's throughput "
        f"({r['throughput_ratio_vs_schema']:.2f}x of DuckDB into the same table); split: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in r["split_seconds"].items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
