"""Widget rerun time of the national page (change cycle, area, region) at state and county scale.

    python benchmarks/bench_widgets.py [--quick] [--json] [--scale state|county|both]

state:  Streamlit's AppTest of the real page (`pages/national.py`) as leadership, on a temp SHISN_DB seeded
        with the demo set, its "Filters" panel opened (session state `filters_open` = True, what a click on the
        panel sets; closed, the panel draws no select box): set a selectbox by key ("cycle", "area", "region")
        and time `at.run()`.
        Also the AppTest floor (a script with one selectbox and nothing else), and each page's warm script
        time in AppTest (where a page's browser time goes: the server's share).
county: 3,100 synthetic jurisdictions x 9 areas x 5 cycles (139,500 rows). shisn's modules know the 56 real
        jurisdictions, so benchmarks/synthetic.py swaps shisn.domain.jurisdictions' reference data in this process for
        the synthetic set (names, regions, populations, borders, one square of geometry each) and writes the
        rows straight into a temp store. Two measures:
        - "page logic": the same shisn.domain.coverage / charts / maps calls the page makes, in the same order, on the
          frame `queries.assessments` returns, plus the JSON the browser is sent (deck, figures); no Streamlit.
        - "AppTest": the real page script in AppTest on that store, filter panel opened as above (everything
          the page does, Streamlit included).
        Peak resident memory (VmHWM) of the county process is reported too (the process holds the store's
        connection, the cached frames of every cycle and the page's figures).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import HERE, ROOT, median, memory_mb

KEYS = ("cycle", "area", "region")
# The national page draws its select boxes only inside its "Filters" panel (shisn.web.widgets.filters, a lazy
# expander), closed when the page opens. The panel's open state is this session-state key (the default `key=` of
# widgets.filters; pages/national.py passes none): True is what a user's click on the panel sets, and a choice made
# inside keeps it True (widgets._keep_open), so the select boxes stay drawn for every rerun measured.
FILTERS_PANEL = "filters_open"


def _apptest(page: str, viewer_role: str = "leadership"):
    from streamlit.testing.v1 import AppTest

    import shisn.domain.auth

    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=600)
    at.session_state["shisn_viewer"] = shisn.domain.auth.Viewer(viewer_role, "Benchmark")
    if page == "national.py":
        at.session_state[FILTERS_PANEL] = True  # the filter panel opened, as a user does before changing a filter
    return at


def _check(at, what: str):
    if at.exception:
        raise RuntimeError(f"{what}: {at.exception[0].message} {at.exception[0].stack_trace[-3:]}")


def _check_filters(at, what: str):
    """The national page ran without error and its opened filter panel drew the three select boxes."""
    _check(at, what)
    missing = set(KEYS) - {b.key for b in at.selectbox}
    if missing:
        raise RuntimeError(
            f"{what}: select boxes {sorted(missing)} not drawn with the filter panel opened "
            f"(session state {FILTERS_PANEL!r} = True): has pages/national.py's filter panel changed?"
        )


def time_widget_changes(at, reps: int) -> dict:
    """For each key: step through its options (cycling), `reps` changes; ms per at.run()."""
    out = {}
    for key in KEYS:
        opts = list(at.selectbox(key=key).options)
        times = []
        for i in range(reps):
            box = at.selectbox(key=key)
            box.select_index((opts.index(box.format_func(box.value)) + 1) % len(opts) if box.value is not None else 0)
            t = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - t) * 1000)
            _check_filters(at, f"national page, {key} -> option {i}")
        # back to the first option, so the next key starts from the default view
        at.selectbox(key=key).select_index(0)
        at.run()
        out[key] = {"median_ms": median(times), "all_ms": times, "options": len(opts)}
    out["all_median_ms"] = median([x for k in KEYS for x in out[k]["all_ms"]])
    return out


def apptest_floor(reps: int) -> dict:
    """AppTest's own cost: a script with one selectbox, changed and rerun."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string("import streamlit as st\nst.selectbox('x', [1, 2, 3], key='x')\n")
    at.run()
    times = []
    for i in range(reps):
        at.selectbox(key="x").select_index((i + 1) % 3)
        t = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": median(times), "all_ms": times}


PAGES = ["national.py", "pairings.py", "state_profile.py", "exchanges.py", "program_managers.py", "data.py", "users.py"]


def run_state(quick: bool) -> dict:
    os.environ["SHISN_DB"] = str(Path(tempfile.mkdtemp(prefix="shisn-bench-widgets-")) / "state.duckdb")
    reps = 6 if quick else 15
    t0 = time.perf_counter()
    at = _apptest("national.py")
    at.run()  # seeds the demo set
    _check_filters(at, "national page, first run")
    for key in KEYS:  # warm the caches of every cycle / option once
        for i in range(len(at.selectbox(key=key).options)):
            at.selectbox(key=key).select_index(i)
            at.run()
        at.selectbox(key=key).select_index(0)
        at.run()
    changes = time_widget_changes(at, reps)
    scripts = {}
    for page in PAGES:
        pat = _apptest(page)
        pat.run()
        _check(pat, page)
        times = []
        for _ in range(3 if quick else 5):
            t = time.perf_counter()
            pat.run()
            times.append((time.perf_counter() - t) * 1000)
        scripts[page] = median(times)
    return {
        "scale": "state",
        "jurisdictions": 56,
        "changes": changes,
        "apptest_floor": apptest_floor(reps),
        "page_script_ms": scripts,
        "memory": memory_mb(),
        "seconds": time.perf_counter() - t0,
    }


def page_logic(data, prev, cycles, cycle, area, region, sort="total", view=None) -> dict:
    """What pages/national.py computes after reading its widgets, in the same order, for its open view (the first,
    the map, unless `view` names another), with the JSON each chart is sent as (pydeck's to_json, plotly's
    to_json). The CSV behind "Download table" is built only when clicked, so it is not part of a rerun. Returns
    ms per step."""
    import plotly.io as pio

    from shisn.domain import auth, coverage, jurisdictions
    from shisn.render import charts, maps

    view = view or coverage.VIEW_MAP
    steps = {}

    def step(name, f, *a, **k):
        t = time.perf_counter()
        r = f(*a, **k)
        steps[name] = steps.get(name, 0.0) + (time.perf_counter() - t) * 1000
        return r

    viewer = auth.Viewer("leadership", "Benchmark")
    single = area != coverage.ALL_AREAS
    d = step("redact_notes", coverage.redact_notes, data, viewer.sees_detail_of)
    step("kpis", lambda: coverage.kpi_deltas(coverage.kpis(d, region, area), coverage.kpis(prev, region, area)))
    if view == coverage.VIEW_MAP:
        deck = step(
            "map_deck",
            lambda: maps.coverage_deck(
                jurisdictions.geojson(), coverage.state_values(d, area, region), "x", single_area=single
            ),
        )
        step("map_json", deck.to_json)
    elif view == coverage.VIEW_HEATMAP:
        m = step("heatmap_matrix", coverage.maturity_matrix, d, region, sort)
        fig = step(
            "heatmap_figure",
            lambda: charts.jurisdiction_heatmap(
                m,
                jurisdictions.names(),
                coverage.cell_details(d, m),
                coverage.row_groups(m, sort),
                area if single else None,
            ),
        )
        step("heatmap_json", pio.to_json, fig, validate=False)
    elif view == coverage.VIEW_SUPPLY:
        f2 = step(
            "supply_demand",
            lambda: charts.supply_demand_bars(coverage.supply_demand(d, region), area if single else None),
        )
        step("supply_demand_json", pio.to_json, f2, validate=False)
        step("uncovered_needs", coverage.uncovered_needs, d, region, area)
    else:
        f3 = step("regions", lambda: charts.region_heatmap(coverage.region_summary(d, region)))
        step("regions_json", pio.to_json, f3, validate=False)
        step("region_totals", coverage.region_totals, d, region)
    steps["total"] = sum(steps.values())
    return steps


def run_county(quick: bool) -> dict:
    import synthetic as S

    t0 = time.perf_counter()
    path = Path(tempfile.mkdtemp(prefix="shisn-bench-county-")) / "county.duckdb"
    # seed in a child process, so this process's peak memory is the app's, not the generator's
    p = subprocess.run(
        [sys.executable, str(HERE / "synthetic.py"), "--seed-store", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if p.returncode:
        raise RuntimeError("seeding the county store failed:\n" + p.stderr[-2000:])
    seeded_s = time.perf_counter() - t0
    jur = S.patch_jurisdictions()
    from shisn.store import db, queries

    os.environ["SHISN_DB"] = str(path)
    mem_start = memory_mb()
    # the real page in AppTest
    at = _apptest("national.py")
    t = time.perf_counter()
    at.run()
    first_ms = (time.perf_counter() - t) * 1000
    _check_filters(at, "national page (county), first run")
    for key in KEYS:  # warm the cached frames of each cycle
        if key == "cycle":
            for i in range(len(at.selectbox(key=key).options)):
                at.selectbox(key=key).select_index(i)
                at.run()
            at.selectbox(key=key).select_index(0)
            at.run()
    changes = time_widget_changes(at, 3 if quick else 6)
    mem_app = memory_mb()  # the app's page at county scale, before the pure-function replay below
    del at
    # page logic, pure functions
    con = db.connect(path)
    cycles = queries.cycles(con)
    frames = {c: queries.assessments(con, c) for c in cycles[:2]}
    con.close()
    data, prev = frames[cycles[0]], frames[cycles[1]]
    page_logic(data, prev, cycles, cycles[0], "all", "all")  # warm (imports, lru caches)
    from shisn.domain import coverage

    combos = [
        (coverage.VIEW_MAP, "all", "all"),
        (coverage.VIEW_MAP, "training", "all"),
        (coverage.VIEW_MAP, "all", 3),
        (coverage.VIEW_HEATMAP, "all", "all"),
        (coverage.VIEW_SUPPLY, "all", "all"),
        (coverage.VIEW_REGIONS, "all", "all"),
    ]
    logic = {}
    for view, area, region in combos:
        runs = [page_logic(data, prev, cycles, cycles[0], area, region, view=view) for _ in range(1 if quick else 3)]
        logic[f"{view}: area={area} region={region}"] = {k: median([r[k] for r in runs]) for k in runs[0]}
    del frames, data, prev
    return {
        "scale": "county",
        "jurisdictions": len(jur),
        "rows": len(jur) * 9 * len(S.CYCLES),
        "seed_seconds": seeded_s,
        "page_logic_ms": logic,
        "apptest_first_run_ms": first_ms,
        "changes": changes,
        "memory": mem_app,
        "memory_at_start": mem_start,
        "memory_after_logic": memory_mb(),
        "seconds": time.perf_counter() - t0,
    }


def run(quick: bool = False, scale: str = "both") -> dict:
    """Each scale in its own process (the county patch must not leak into the state figures)."""
    out = {}
    for s in ["state", "county"] if scale == "both" else [scale]:
        p = subprocess.run(
            [sys.executable, str(HERE / "bench_widgets.py"), "--json", "--scale", s] + (["--quick"] if quick else []),
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if p.returncode:
            raise RuntimeError(f"bench_widgets {s} failed:\n{p.stderr[-3000:]}")
        out[s] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scale", choices=["state", "county", "both"], default="both")
    args = ap.parse_args(argv)
    if args.json and args.scale != "both":
        import logging

        logging.disable(logging.WARNING)
        r = run_state(args.quick) if args.scale == "state" else run_county(args.quick)
        print(json.dumps(r))
        return 0
    r = run(args.quick, args.scale)
    if args.json:
        print(json.dumps(r))
        return 0
    for s, v in r.items():
        c = v["changes"]
        print(
            f"[{s}] rerun after a change: "
            + ", ".join(f"{k} {c[k]['median_ms']:.0f} ms" for k in KEYS)
            + f"; all {c['all_median_ms']:.0f} ms; peak RSS {v['memory'].get('peak_rss_mb', 0):.0f} MB"
        )
        if s == "state":
            print(
                f"[state] AppTest floor {v['apptest_floor']['median_ms']:.0f} ms; page scripts (warm): "
                + ", ".join(f"{p} {ms:.0f}" for p, ms in v["page_script_ms"].items())
            )
        else:
            for view, steps in v["page_logic_ms"].items():
                top = sorted(((k, ms) for k, ms in steps.items() if k != "total"), key=lambda x: -x[1])[:5]
                print(
                    f"[county] page logic {view}: {steps['total']:.0f} ms ("
                    + ", ".join(f"{k} {ms:.0f}" for k, ms in top)
                    + ")"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
