"""The store's cost, side by side in one run: the national page's widget reruns and validated ingest on
DuckDB and on PostgreSQL, and what opening the DuckDB file only while it is used costs the page.

    python benchmarks/bench_store.py [--quick] [--json] [--write]

`--write` puts the figures in BENCHMARKS.md (the section between `<!-- store:start -->` and `<!-- store:end -->`,
added at the end if missing; the rest of the file is left as it is).

national rerun: Streamlit's AppTest of pages/national.py as leadership on the demo set (as bench_widgets.py),
    changing cycle / area / region; ms per rerun, median. Four stores, measured in alternating order:
    - duckdb held:   the DuckDB file kept open by the process (`IDLE_RELEASE` infinite)
    - duckdb warm:   the file opened only while used, reruns back to back (the file stays open between them)
    - duckdb cold:   the same, but each rerun waits until the file has been let go (a user who clicks again after
                     more than `IDLE_RELEASE` idle), so a rerun that reads from the store opens the file again; a
                     rerun whose figures are all cached for the file's unchanged version reads nothing. The opens
                     are counted, and the reruns that opened the file are set beside the same changes on the
                     held store.
                     This store's idle release is shortened to COLD_IDLE_RELEASE so that the wait is short: a
                     reopen costs the same whatever the idle time before it, and the other stores' files are
                     not let go during the wait (the warm store's reruns stay well under `IDLE_RELEASE` apart)
    - postgresql:    a throwaway local cluster (tests/support/pgcluster.py), the app's pool
The page is driven as a user does: its "Filters" panel opened (session state `filters_open` = True, what a click on
the panel sets; closed, it draws no select box), then a select box changed by key.
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
import textwrap
import time
from pathlib import Path

from _util import ROOT, median, write_benchmarks_section

KEYS = ("cycle", "area", "region")
FILTERS_PANEL = "filters_open"  # the national page's filter panel, open (shisn.web.widgets.filters' default key)
COLD_IDLE_RELEASE = 0.5  # seconds: the "duckdb cold" store's idle release (see the docstring)


def _national(target: str):
    from streamlit.testing.v1 import AppTest

    import shisn.domain.auth

    os.environ["SHISN_DB"] = target
    at = AppTest.from_file(str(ROOT / "pages" / "national.py"), default_timeout=600)
    at.session_state["shisn_viewer"] = shisn.domain.auth.Viewer("leadership", "Benchmark")
    at.session_state[FILTERS_PANEL] = True  # the filter panel opened, as a user does before changing a filter
    at.run()
    _check(at, "national page, first run")
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
    _check(at, f"national page, {key} changed")
    return took


def _check(at, what: str) -> None:
    """The page ran without error and its opened filter panel drew the three select boxes."""
    if at.exception:
        raise RuntimeError(f"{what}: {at.exception[0].message}")
    missing = set(KEYS) - {b.key for b in at.selectbox}
    if missing:
        raise RuntimeError(
            f"{what}: select boxes {sorted(missing)} not drawn with the filter panel opened "
            f"(session state {FILTERS_PANEL!r} = True): has pages/national.py's filter panel changed?"
        )


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
    db.shared(stores["duckdb held"]).idle_release = 1e9  # kept open for as long as the process runs
    apps = {name: _national(t) for name, t in stores.items()}
    db.shared(stores["duckdb cold"]).idle_release = COLD_IDLE_RELEASE  # let go soon after each rerun
    opens = {name: 0 for name in stores if name.startswith("duckdb")}  # the file opened during the measured reruns

    def counting(name, store):
        open_file = store._open_file

        def counted():
            opens[name] += 1
            return open_file()

        store._open_file = counted  # this store object only (the one the page's reads go through)

    for name in opens:
        counting(name, db.shared(stores[name]))
    times: dict[str, list[float]] = {name: [] for name in stores}
    opened: dict[str, list[int]] = {name: [] for name in opens}  # the rounds whose rerun opened the file
    for r in range(reps):
        order = list(stores) if r % 2 == 0 else list(reversed(stores))
        for name in order:
            key = KEYS[r % len(KEYS)]
            if name == "duckdb cold":
                store = db.shared(stores[name])
                deadline = time.monotonic() + 30
                while store._con is not None and time.monotonic() < deadline:
                    time.sleep(0.05)  # until the file has been let go (a state, not a fixed time)
            before = opens.get(name)
            times[name].append(_one_change(apps[name], key, r, stores[name]))
            if before is not None and opens[name] > before:
                opened[name].append(r)
    held = times["duckdb held"]
    return {
        name: {
            "median_ms": median(v),
            "all_ms": v,
            "file_opens": opens.get(name),
            # the reruns that opened the file, and the same rounds' reruns (same change) on the held store
            "opening_median_ms": median([v[r] for r in opened.get(name, [])]),
            "held_same_reruns_ms": median([held[r] for r in opened.get(name, [])]),
        }
        for name, v in times.items()
    }


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
    """The store section of BENCHMARKS.md: what ran, the figures, what they mean. No date: the history of the figures
    is the git history of BENCHMARKS.md."""
    from shisn.store import db

    nat, ing = r["national_rerun"], r["ingest_100k"]
    held = nat["duckdb held"]["median_ms"]
    idle = f"{db.IDLE_RELEASE:g} s"
    load = max(r["load_average_at_start"][0], r["load_average_at_end"][0])
    lines = [
        "<!-- store:start -->",
        "## The store: DuckDB and PostgreSQL",
        "",
        "`benchmarks/bench_store.py`. **No target:** a comparison of the two engines, and of the DuckDB file held "
        "open against opened only while used. **Reproduce:** "
        f"`python benchmarks/bench_store.py{' --quick' if quick else ''} --write` ("
        + (f"the run took {r['seconds']:.0f} s; " if r.get("seconds") else "")
        + "it rewrites this section). "
        f"{os.cpu_count()} cores; load average {r['load_average_at_start'][0]:.1f} at the start and "
        f"{r['load_average_at_end'][0]:.1f} at the end"
        + (
            " (the machine was busy with other work: every figure is slower than on a quiet machine; the stores "
            "were measured alternately, so the ratios still compare like with like)."
            if load > (os.cpu_count() or 1)
            else "."
        ),
        "",
        "National page, one widget change and rerun (AppTest, leadership, demo set, the page's filter panel "
        f"opened; cycle, area and region changed in turn; median of {len(nat['duckdb held']['all_ms'])} per store, "
        "measured alternately):",
        "",
        "| store | rerun (ms) | vs DuckDB held | reruns that opened the file | those reruns (ms) | the same "
        "changes, held (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "duckdb held": "DuckDB, file held open by the process (held for the process's lifetime)",
        "duckdb warm": "DuckDB, opened only while used, reruns back to back (file still open)",
        "duckdb cold": "DuckDB, opened only while used, after the file was let go (opened again if the rerun reads it)",
        "postgresql": "PostgreSQL (local throwaway cluster, the app's pool)",
    }
    for name, v in nat.items():
        n, o, h = v.get("file_opens"), v.get("opening_median_ms"), v.get("held_same_reruns_ms")
        lines.append(
            f"| {labels.get(name, name)} | {v['median_ms']:.0f} | {v['median_ms'] / held:.2f}× | "
            + ("—" if n is None else f"{n} of {len(v['all_ms'])}")
            + " | "
            + ("—" if o is None else f"{o:.0f}")
            + " | "
            + ("—" if h is None else f"{h:.0f}")
            + " |"
        )
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
        "What it means: letting other processes use the DuckDB file costs a reopen on the first rerun that "
        f"reads from the store after the app was idle for `IDLE_RELEASE` ({idle}, `shisn/store/db.py`): the "
        "*cold* row's last two columns (the reruns that opened the file, and the same changes on the held store, "
        "same round). A rerun whose figures are all cached for the file's "
        "unchanged version reads nothing and does not open it, hence the few reruns that did. To keep the run "
        f"short, the cold store lets its file go {COLD_IDLE_RELEASE:g} s after each rerun (a reopen costs the same "
        "whatever the idle time before it). Reruns in quick succession (the *warm* row) find the file still "
        "open. PostgreSQL adds a network round trip per read; loads go through `COPY` into a temporary table "
        "and one `INSERT … SELECT`.",
        "<!-- store:end -->",
    ]
    # prose wrapped at 120 characters, as the rest of BENCHMARKS.md; table rows and markers as they are
    wrapped = [
        line
        if line.startswith(("|", "<!--", "#"))
        else textwrap.fill(line, 120, break_long_words=False, break_on_hyphens=False)
        for line in lines
    ]
    return "\n".join(wrapped) + "\n"


def write_section(r: dict, quick: bool) -> None:
    write_benchmarks_section("store", render(r, quick))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", action="store_true", help="update the store section of BENCHMARKS.md")
    args = ap.parse_args(argv)
    from tests.support import pgcluster

    pg = None
    if pgcluster.unavailable_reason() is None:
        pg = pgcluster.Cluster().start()
    try:
        t0 = time.perf_counter()
        load_avg = os.getloadavg()
        nat = national_reruns(6 if args.quick else 18, pg.url(pg.create_database()) if pg else None)
        ing = ingest(2 if args.quick else 5, pg)
        result = {
            "national_rerun": nat,
            "ingest_100k": ing,
            "load_average_at_start": load_avg,
            "load_average_at_end": os.getloadavg(),
            "seconds": time.perf_counter() - t0,
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
        opened = (
            ""
            if v.get("file_opens") is None
            else f"  (file opened by {v['file_opens']} of {len(v['all_ms'])}"
            + (
                ""
                if v.get("opening_median_ms") is None
                else f", median {v['opening_median_ms']:.1f}; held, same changes {v['held_same_reruns_ms']:.1f}"
            )
            + ")"
        )
        print(f"  {name:<12} {v['median_ms']:7.1f}{opened}")
    print("validated ingest, 100,000 rows (s, median):")
    for name, v in ing.items():
        print(f"  {name:<12} {v['median_s']:7.2f}  ({v['rows_per_s']:,.0f} rows/s)")
    print(f"load average: start {load_avg[0]:.1f}, end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
