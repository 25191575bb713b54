"""The store's cost, side by side in one run: the national page's widget reruns and validated ingest on
DuckDB and on PostgreSQL, and what opening the DuckDB file only while it is used costs the page.

    python benchmarks/bench_store.py [--quick] [--json] [--write]

`--write` puts the figures in BENCHMARKS.md (the section between `<!-- store:start -->` and `<!-- store:end -->`,
added at the end if missing; the rest of the file is left as it is).

national rerun: Streamlit's AppTest of pages/national.py as leadership on the demo set (as bench_widgets.py),
    changing cycle / area / region; ms per rerun, median. Four stores, measured in alternating order:
    - duckdb held:   the DuckDB file kept open by the process (`IDLE_RELEASE` infinite)
    - duckdb warm:   the file opened only while used, reruns back to back (the file stays open between them)
    - duckdb cold:   the same, with a pause longer than IDLE_RELEASE before each rerun, so every rerun opens the
                     file again (the worst case: a user clicking once every second or slower)
    - postgresql:    a throwaway local cluster (tests/pgcluster.py), the app's pool
ingest: shisn.store.ingest.load of a 100,000-row valid CSV (benchmarks/synthetic.py's county-scale rows, as
    bench_ingest.py) into a fresh store, DuckDB vs PostgreSQL (COPY into a temporary table, then one INSERT …
    SELECT under the load lock); seconds, median.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _util import ROOT, median, write_benchmarks_section

sys.path.insert(0, str(ROOT / "tests"))

KEYS = ("cycle", "area", "region")


def _national(target: str):
    from streamlit.testing.v1 import AppTest

    import shisn.domain.auth

    os.environ["SHISN_DB"] = target
    at = AppTest.from_file(str(ROOT / "pages" / "national.py"), default_timeout=600)
    at.session_state["shisn_viewer"] = shisn.domain.auth.Viewer("leadership", "Benchmark")
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    for key in KEYS:  # warm every option's caches once
        for i in range(len(at.selectbox(key=key).options)):
            at.selectbox(key=key).select_index(i)
            at.run()
        at.selectbox(key=key).select_index(0)
        at.run()
    return at


def _one_change(at, key: str, i: int, target: str) -> float:
    os.environ["SHISN_DB"] = target
    box = at.selectbox(key=key)
    n = len(box.options)
    box.select_index((i + 1) % n)
    t = time.perf_counter()
    at.run()
    took = (time.perf_counter() - t) * 1000
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    return took


def national_reruns(reps: int, pg_url: str | None) -> dict:
    from shisn.store import db

    work = Path(tempfile.mkdtemp(prefix="shisn-bench-store-"))
    stores = {
        "duckdb held": str(work / "held.duckdb"),
        "duckdb warm": str(work / "warm.duckdb"),
        "duckdb cold": str(work / "cold.duckdb"),
    }
    if pg_url:
        stores["postgresql"] = pg_url
    apps = {name: _national(t) for name, t in stores.items()}
    db.shared(stores["duckdb held"]).idle_release = 1e9  # kept open for as long as the process runs: as before
    times: dict[str, list[float]] = {name: [] for name in stores}
    for r in range(reps):
        order = list(stores) if r % 2 == 0 else list(reversed(stores))
        for name in order:
            key = KEYS[r % len(KEYS)]
            if name == "duckdb cold":
                store = db.shared(stores[name])
                deadline = time.monotonic() + 30
                while store._con is not None and time.monotonic() < deadline:
                    time.sleep(0.05)  # until the file has been let go (a state, not a fixed time)
            times[name].append(_one_change(apps[name], key, r, stores[name]))
    return {name: {"median_ms": median(v), "all_ms": v} for name, v in times.items()}


def ingest(reps: int, pg) -> dict:
    import synthetic as S

    jur = S.patch_jurisdictions()
    from shisn.store import db
    from shisn.store.ingest import load

    rows = S.county_rows(jur).head(100_000)
    data = S.to_csv_bytes(rows)
    work = Path(tempfile.mkdtemp(prefix="shisn-bench-store-ingest-"))
    out: dict[str, list[float]] = {"duckdb": [], "postgresql": []}
    for i in range(reps + 1):
        engines = ["duckdb", "postgresql"] if i % 2 == 0 else ["postgresql", "duckdb"]
        for engine in engines:
            if engine == "postgresql" and pg is None:
                continue
            target = str(work / f"i{i}.duckdb") if engine == "duckdb" else pg.url(pg.create_database())
            con = db.connect(target)
            t = time.perf_counter()
            load(con, [("rows-100k.csv", data)], "benchmark")
            took = time.perf_counter() - t
            n = con.scalar("SELECT count(*) FROM assessments")
            con.close()
            assert n == 100_000, n
            if i:
                out[engine].append(took)
    return {e: {"median_s": median(v), "all_s": v, "rows_per_s": 100_000 / median(v)} for e, v in out.items() if v}


def render(r: dict, quick: bool) -> str:
    import datetime as dt
    import platform

    nat, ing = r["national_rerun"], r["ingest_100k"]
    held = nat["duckdb held"]["median_ms"]
    lines = [
        "<!-- store:start -->",
        "## The store: DuckDB and PostgreSQL",
        "",
        f"`python benchmarks/bench_store.py{' --quick' if quick else ''} --write`, "
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; load average {r['load_average_at_start'][0]:.1f} at the start and "
        f"{r['load_average_at_end'][0]:.1f} at the end (above 2 the machine was busy with other work and "
        "every figure is slower than on a quiet machine; the stores were measured alternately, so the "
        "ratios still compare like with like).",
        "",
        "National page, one widget change and rerun (AppTest, leadership, demo set; median of "
        f"{len(nat['duckdb held']['all_ms'])} per store):",
        "",
        "| store | rerun (ms) | vs DuckDB held |",
        "|---|---:|---:|",
    ]
    labels = {
        "duckdb held": "DuckDB, file held open by the process (held for the process's lifetime)",
        "duckdb warm": "DuckDB, opened only while used, reruns back to back (file still open)",
        "duckdb cold": "DuckDB, opened only while used, after the file was let go (reopened by the rerun)",
        "postgresql": "PostgreSQL (local throwaway cluster, the app's pool)",
    }
    for name, v in nat.items():
        lines.append(f"| {labels.get(name, name)} | {v['median_ms']:.0f} | {v['median_ms'] / held:.2f}× |")
    lines += [
        "",
        "Validated ingest of a 100,000-row file into a fresh store (median of "
        f"{len(next(iter(ing.values()))['all_s'])}):",
        "",
        "| store | seconds | rows/s |",
        "|---|---:|---:|",
    ]
    for name, v in ing.items():
        lines.append(f"| {name} | {v['median_s']:.2f} | {v['rows_per_s']:,.0f} |")
    lines += [
        "",
        "What it means: the cost of letting other processes use the DuckDB file is the reopen on the first "
        "rerun after the app was idle for `IDLE_RELEASE` (0.5 s): the *cold* row against the *held* row. "
        "Reruns in quick succession (the *warm* row) find the file still open. PostgreSQL adds a network round "
        "trip per read; loads go through `COPY` into a temporary table and one `INSERT … SELECT`.",
        "<!-- store:end -->",
    ]
    return "\n".join(lines) + "\n"


def write_section(r: dict, quick: bool) -> None:
    write_benchmarks_section("store", render(r, quick))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", action="store_true", help="update the store section of BENCHMARKS.md")
    args = ap.parse_args(argv)
    import pgcluster

    pg = None
    if pgcluster.unavailable_reason() is None:
        pg = pgcluster.Cluster().start()
    try:
        load_avg = os.getloadavg()
        nat = national_reruns(6 if args.quick else 18, pg.url(pg.create_database()) if pg else None)
        ing = ingest(2 if args.quick else 5, pg)
        result = {
            "national_rerun": nat,
            "ingest_100k": ing,
            "load_average_at_start": load_avg,
            "load_average_at_end": os.getloadavg(),
        }
    finally:
        if pg:
            pg.stop()
    if args.json:
        print(json.dumps(result))
        return 0
    if args.write:
        write_section(result, args.quick)
    print("national page rerun (AppTest, ms, median):")
    for name, v in nat.items():
        print(f"  {name:<12} {v['median_ms']:7.1f}")
    print("validated ingest, 100,000 rows (s, median):")
    for name, v in ing.items():
        print(f"  {name:<12} {v['median_s']:7.2f}  ({v['rows_per_s']:,.0f} rows/s)")
    print(f"load average: start {load_avg[0]:.1f}, end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
