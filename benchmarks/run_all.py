"""Run the benchmarks of pages, widgets, ingest, pairing and memory, and write one report of their figures against
their floors (as ratios measured in one run) and targets.

    python benchmarks/run_all.py            # full run, about 8-10 minutes on 2 cores
    python benchmarks/run_all.py --quick    # fewer repetitions, no county-scale pairing / pairings page, < 3 min
    python benchmarks/run_all.py --only pages,widgets,ingest,pairing,memory

Each benchmark runs in its own process (so one's caches, imports and reference-data swap cannot touch another's
figures). The report goes to test-artifacts/benchmarks/report.md (report_<sections>.md with --only), the raw
results to test-artifacts/benchmarks/last_run.json (last_run_<sections>.json). It never writes BENCHMARKS.md:
that file has its own structure (the machine, a summary, one section per benchmark, some of them rewritten by
their own script's --write), and its sections are edited from this report by hand.
Not part of the test suite (pytest collects tests/ only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RAW = ROOT / "test-artifacts" / "benchmarks"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"  # never written here (see the module's docstring)
SECTIONS = ("pages", "widgets", "ingest", "pairing", "memory")

TARGETS = {
    "page": 1.5,  # page ready time <= 1.5 x the bare page
    "rerun_state_ms": 150,  # national page widget rerun, state scale
    "rerun_county_ms": 1000,
    "ingest": 0.5,  # >= 0.5 x DuckDB read_csv throughput
    "memory_mb": 400,
}


def _run(args: list[str], timeout: float) -> dict:
    """A benchmark script's JSON (its last stdout line), run from the project root."""
    t = time.perf_counter()
    p = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if p.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stderr[-4000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["_wall_seconds"] = time.perf_counter() - t
    return out


PAIRING_SNIPPET = """
import json, sys
sys.path.insert(0, {here!r})
import bench_pairing
r = bench_pairing.run({scale!r}, milp_time_limit={limit})
print(json.dumps(r, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
"""


def run_pairing(scale: str, limit: float) -> dict:
    if not (HERE / "bench_pairing.py").exists():
        return {"missing": True}
    return _run(["-c", PAIRING_SNIPPET.format(here=str(HERE), scale=scale, limit=limit)], timeout=limit + 600)


def run_county_server(quick: bool) -> dict:
    return _run([str(HERE / "bench_memory.py"), "--json"] + (["--quick"] if quick else []), timeout=900)


def machine() -> dict:
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        chromium = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except Exception:
        chromium = "not found"
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    pkgs = {}
    for name in ("streamlit", "pandas", "pyarrow", "numpy", "plotly", "pydeck", "duckdb", "scipy", "playwright"):
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pkgs[name] = "-"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "chromium": chromium,
        "packages": pkgs,
        "load_before": os.getloadavg(),
    }


# --- the report -----------------------------------------------------------------------------------------------


def _ok(passed) -> str:
    return "—" if passed is None else ("**pass**" if passed else "**MISS**")


def _ms(x) -> str:
    return "—" if x is None else f"{x:,.0f} ms"


def render(r: dict, quick: bool) -> str:
    m = r["machine"]
    sections = r.get("only") or list(SECTIONS)
    only = "" if set(sections) == set(SECTIONS) else f" --only {','.join(sections)}"
    L = []
    add = L.append
    add("# Benchmark report (run_all.py)")
    add("")
    add(
        "How fast each page, the widget reruns, the loader and the pairing are, each against its floor, measured "
        "in one run so that machine noise affects both sides alike. Written by "
        f"`python benchmarks/run_all.py{' --quick' if quick else ''}{only}` (`--quick` takes fewer "
        "repetitions and skips the county-scale pairing and Pairings page). This is a working report, not "
        "BENCHMARKS.md: that file's sections are edited from it. "
        "County-scale figures use 3,100 synthetic jurisdictions swapped into `shisn.domain.jurisdictions` by "
        "`benchmarks/synthetic.py` (the app ships the 56 real ones); each section says exactly what ran."
    )
    add("")
    add(
        f"**Machine.** {m['nproc']} CPUs ({m['cpu'] or 'unknown CPU'}), {m['memory_gb']} GB RAM, {m['platform']}; "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f"; {m['chromium']}. The run took {r['seconds'] / 60:.1f} min; load average "
        f"{m['load_before'][0]:.1f} before, {r['load_after'][0]:.1f} after"
        + (
            " — other jobs were running, so absolute times are noisy; the ratios are measured side by side."
            if max(m["load_before"][0], r["load_after"][0]) > 1.2
            else "."
        )
    )
    add("")
    rows = summary_rows(r)
    add("## Summary")
    add("")
    add("| figure | measured | floor | ratio | target | result |")
    add("|---|---|---|---|---|---|")
    for row in rows:
        add("| " + " | ".join(row) + " |")
    add("")
    if "pages" in r:
        add_pages(L, r["pages"], r.get("widgets", {}).get("state"))
    if "widgets" in r:
        add_widgets(L, r["widgets"])
    if "ingest" in r:
        add_ingest(L, r["ingest"])
    if "pairing" in r:
        add_pairing(L, r["pairing"])
    if "memory" in r or "pages" in r or "widgets" in r:
        add_memory(L, r)
    return "\n".join(L) + "\n"


def summary_rows(r: dict) -> list[list[str]]:
    rows = []
    if "pages" in r:
        p = r["pages"]
        for pg in p["pages"]:
            rows.append(
                [
                    f"page ready, {pg['page']} (sidebar click, first view, median of {p['rounds']})",
                    _ms(pg["nav_ms"]),
                    f"{_ms(p['floor_nav_ms'])} (bare page)",
                    f"{pg['nav_ratio']:.1f}×",
                    f"≤ {TARGETS['page']}×",
                    _ok(pg["nav_ratio"] <= TARGETS["page"]),
                ]
            )
        for pg in p["pages"]:
            views = [v for v in pg.get("views", []) if v["ratio"] > 0.5]  # client-side tabs (no rerun) left out
            if views:
                worst = max(views, key=lambda v: v["ms"])
                rows.append(
                    [
                        f"view ready, {pg['page']}, slowest tab: {worst['view']} (tab click, median of {p['rounds']})",
                        _ms(worst["ms"]),
                        f"{_ms(p['floor_nav_ms'])} (bare page)",
                        f"{worst['ratio']:.1f}×",
                        f"≤ {TARGETS['page']}×",
                        _ok(worst["ratio"] <= TARGETS["page"]),
                    ]
                )
    if "widgets" in r:
        for scale, key in (("state", "rerun_state_ms"), ("county", "rerun_county_ms")):
            w = r["widgets"].get(scale)
            if not w:
                continue
            c = w["changes"]
            worst = max(c[k]["median_ms"] for k in ("cycle", "area", "region"))
            how = "AppTest of pages/national.py" + (" on 3,100 synthetic jurisdictions" if scale == "county" else "")
            floor = f"{w['apptest_floor']['median_ms']:.0f} ms (AppTest, one selectbox)" if scale == "state" else "—"
            rows.append(
                [
                    f"widget rerun, {scale} scale (slowest of cycle/area/region; {how})",
                    _ms(worst),
                    floor,
                    "—",
                    f"≤ {TARGETS[key]} ms",
                    _ok(worst <= TARGETS[key]),
                ]
            )
    if "ingest" in r:
        i = r["ingest"]
        rows.append(
            [
                f"validated ingest, {i['rows']:,} rows (ingest.load)",
                f"{i['shisn_rows_per_s']:,.0f} rows/s",
                f"{i['floor_rows_per_s']:,.0f} rows/s (DuckDB read_csv → table)",
                f"{i['throughput_ratio']:.2f}×",
                f"≥ {TARGETS['ingest']}×",
                _ok(i["throughput_ratio"] >= TARGETS["ingest"]),
            ]
        )
    if "pairing" in r:
        for scale, pr in r["pairing"].items():
            if pr.get("missing") or pr.get("skipped"):
                continue
            rows.append(
                [
                    f"pairing, {scale} scale ({pr['candidates']:,} candidate edges)",
                    f"{pr['engine_seconds']:.3f} s",
                    f"{pr['milp_seconds']:.3f} s (scipy milp)",
                    f"{pr['milp_seconds'] / pr['engine_seconds']:.1f}× faster" if pr["engine_seconds"] else "—",
                    "same optimum",
                    _ok(pr["equal"]) + f" ({pr['verdict']})",
                ]
            )
    mem = memory_figures(r)
    for label, mb, note in mem:
        rows.append(
            [
                f"peak RSS, {label}",
                f"{mb:,.0f} MB",
                "—",
                "—",
                f"≤ {TARGETS['memory_mb']} MB" + note,
                _ok(mb <= TARGETS["memory_mb"]),
            ]
        )
    return rows


def memory_figures(r: dict) -> list[tuple[str, float, str]]:
    out = []
    if "pages" in r and r["pages"].get("app_memory_after_all_pages"):
        out.append(
            (
                "app server after every page, state scale (real app, Chromium)",
                r["pages"]["app_memory_after_all_pages"]["peak_rss_mb"],
                "",
            )
        )
    srv = r.get("memory")
    if srv and not srv.get("error"):
        pages = [s for s in srv["steps"] if s["ms"] is not None]
        for i, step in enumerate(pages):
            if step["page"] == "National coverage" or (step["page"] == "Pairings" and i):
                before = ", ".join(s["page"] for s in pages[: i + 1])
                out.append(
                    (
                        f"app server on county-scale data (real app, Chromium) after: {before}",
                        step["memory"]["peak_rss_mb"],
                        "",
                    )
                )
        if pages and pages[-1]["page"] != "Pairings":
            out.append(
                (
                    f"app server on county-scale data (real app, Chromium) after: "
                    f"{', '.join(s['page'] for s in pages)}",
                    pages[-1]["memory"]["peak_rss_mb"],
                    "",
                )
            )
    w = r.get("widgets", {}).get("county")
    if w:
        out.append(
            (
                "county-scale process: AppTest of the national page (Streamlit + page, 5 cycles cached)",
                w["memory"]["peak_rss_mb"],
                "",
            )
        )
    return out


def add_pages(L, p: dict, state_widgets: dict | None):
    add = L.append
    add("## Page ready time (headless Chromium)")
    add("")
    add(
        f"The real app and a bare two-page Streamlit app (`benchmarks/floor_app.py`, the floor) run side by side, "
        "each started with `python -m streamlit run … --server.headless true --server.port P --server.address "
        "127.0.0.1` (SHISN_DB in a temp dir, demo data seeded), viewed as leadership. **Sidebar click** (the "
        "reported figure): one browser session; every page is visited once to warm it, then the sidebar link of "
        f"each page is clicked {p['rounds']} times (median), timed in the page from the click until the script has "
        "finished (`data-test-script-state` = notRunning, no skeleton or status widget), the page's heading is the "
        "new page's, and every plotly chart has drawn its SVG and every deck.gl map its canvas; the state must hold "
        f"for {p['quiet_ms']} ms (not counted) so a follow-up rerun is not missed. **Cold open**: a new browser "
        "context (new session, empty HTTP cache) opens the page's URL (`page.goto`), timed from navigation start; "
        f"median of {p['cold_reps']}. **Script alone**: the page script, warm, in AppTest (the server's share; the "
        "browser renders elements while the script streams them, so the rest is mostly drawing)."
    )
    add("")
    add(
        "The pages with several views (National coverage, Pairings, State profile, Exchanges) show them as tabs "
        'that run only when open (`st.tabs(..., on_change="rerun", bind="query-params")`): a sidebar click '
        "measures the first view; each further view is timed below from the click on its tab to ready (same "
        "conditions, the new tab's panel filled). Program managers' tabs switch in the browser without a rerun."
    )
    add("")
    add("| page | sidebar click | ratio | cold open | ratio | script alone (AppTest) |")
    add("|---|---|---|---|---|---|")
    add(f"| floor: bare page | {_ms(p['floor_nav_ms'])} | 1.0× | {_ms(p['floor_cold_ms'])} | 1.0× | — |")
    for e in p.get("elements", []):
        add(
            f"| reference: a bare page holding only {e['element']} | {_ms(e['nav_ms'])} | {e['nav_ratio']:.1f}× | "
            f"{_ms(e['cold_ms'])} | {e['cold_ratio']:.1f}× | — |"
        )
    scripts = (state_widgets or {}).get("page_script_ms", {})
    files = {
        "National coverage": "national.py",
        "Pairings": "pairings.py",
        "State profile": "state_profile.py",
        "Exchanges": "exchanges.py",
        "Program managers": "program_managers.py",
        "Data": "data.py",
        "Users and audit": "users.py",
    }
    for pg in p["pages"]:
        add(
            f"| {pg['page']} | {_ms(pg['nav_ms'])} | {pg['nav_ratio']:.1f}× | {_ms(pg['cold_ms'])} | "
            f"{pg['cold_ratio']:.1f}× | {_ms(scripts.get(files.get(pg['page'], ''), None))} |"
        )
    add("")
    add(
        "The reference rows are `benchmarks/floor_app.py` pages that hold one element each, with the app's own "
        "data and settings (the national map, the jurisdiction heatmap, one table): what the chart and table "
        "libraries cost in this browser on their own. A page's first view cannot be faster than its heaviest "
        "element alone."
    )
    add("")
    views = [(pg["page"], v) for pg in p["pages"] for v in pg.get("views", [])]
    if views:
        add("| page | view (tab) | tab click until ready | ratio to the bare page | all runs |")
        add("|---|---|---|---|---|")
        for page, v in views:
            add(
                f"| {page} | {v['view']} | {_ms(v['ms'])} | {v['ratio']:.1f}× | "
                + ", ".join(f"{x:.0f}" for x in v["all"])
                + " |"
            )
        add("")


def add_widgets(L, w: dict):
    add = L.append
    add("## Widget rerun time, national page")
    add("")
    s = w.get("state")
    if s:
        c = s["changes"]
        add(
            f"**State scale** (56 jurisdictions, demo data): AppTest of `pages/national.py` as leadership on a temp "
            "store, its Filters panel opened (session state `filters_open` = True, what a click on it sets); a "
            "selectbox is set by key and `at.run()` timed; every option was visited once first (warm "
            "caches, as a user's session would have them). Median of "
            f"{len(c['cycle']['all_ms'])} changes per key. AppTest's own floor (a script with one selectbox): "
            f"{s['apptest_floor']['median_ms']:.0f} ms."
        )
        add("")
        add("| change | median | all runs |")
        add("|---|---|---|")
        for k in ("cycle", "area", "region"):
            add(f"| {k} | {_ms(c[k]['median_ms'])} | " + ", ".join(f"{x:.0f}" for x in c[k]["all_ms"]) + " |")
        add("")
    k = w.get("county")
    if k:
        c = k["changes"]
        add(
            f"**County scale** ({k['jurisdictions']:,} synthetic jurisdictions × 9 areas × 5 cycles = "
            f"{k['rows']:,} rows). shisn's modules know only the 56 real jurisdictions, so "
            "`benchmarks/synthetic.py` swaps `shisn.domain.jurisdictions`' reference data (codes, names, FEMA regions, "
            "populations, borders, one square of geometry each) in the benchmark's process and writes the rows "
            "straight into a temp store. Measured two ways: the real page script in AppTest on that store (its "
            "first view, the map), and the page's logic alone for each view — the same `shisn.domain.coverage` / `charts` "
            "/ `maps` calls the page makes, in its order, on the frame `queries.assessments` returns, plus the JSON "
            "each chart is sent as (no Streamlit; the CSV download is built only on click and not counted)."
        )
        add("")
        add("| change (AppTest) | median | all runs |")
        add("|---|---|---|")
        for key in ("cycle", "area", "region"):
            add(f"| {key} | {_ms(c[key]['median_ms'])} | " + ", ".join(f"{x:.0f}" for x in c[key]["all_ms"]) + " |")
        add(f"| first run (cold caches) | {_ms(k['apptest_first_run_ms'])} | |")
        add("")
        add("| page logic alone (view) | total | largest steps |")
        add("|---|---|---|")
        for view, steps in k["page_logic_ms"].items():
            top = sorted(((a, b) for a, b in steps.items() if a != "total"), key=lambda x: -x[1])[:5]
            add(f"| {view} | {_ms(steps['total'])} | " + ", ".join(f"{a} {b:.0f}" for a, b in top) + " |")
        add("")


def add_ingest(L, i: dict):
    add = L.append
    sp = i["split_seconds"]
    add("## Validated ingest")
    add("")
    add(
        f"A valid {i['rows']:,}-row CSV ({i['bytes'] / 1e6:.1f} MB, every template column; rows for "
        f"{i['jurisdictions']:,} synthetic county-scale jurisdictions, since 56 states × 9 areas × the 25 allowed "
        "cycles hold only 12,600 distinct rows) loaded into a fresh temp store, median of "
        f"{i['reps']} (after one warm-up)."
    )
    add("")
    add("| what | time | rows/s | shisn's throughput as a share |")
    add("|---|---|---|---|")
    add(
        f"| `shisn.store.ingest.load` (read, validate, one transaction into `assessments`) | "
        f"{_ms(i['shisn_seconds'] * 1000)} | {i['shisn_rows_per_s']:,.0f} | |"
    )
    add(
        f"| floor: DuckDB `CREATE TABLE t AS SELECT * FROM read_csv(file)` | {_ms(i['floor_seconds'] * 1000)} | "
        f"{i['floor_rows_per_s']:,.0f} | {i['throughput_ratio']:.2f}× |"
    )
    add(
        f"| reference: DuckDB `INSERT INTO assessments … FROM read_csv(file)` (same table and checks; "
        f"no validation) | {_ms(i['schema_seconds'] * 1000)} | {i['schema_rows_per_s']:,.0f} | "
        f"{i['throughput_ratio_vs_schema']:.2f}× |"
    )
    add("")
    add(
        f"Where shisn's time goes: read {sp['read'] * 1000:.0f} ms, validate {sp['validate'] * 1000:.0f} ms, "
        f"write {sp['write'] * 1000:.0f} ms (the write: the states × cycles the file replaces are counted and "
        "deleted, the rows inserted from Arrow, a uniqueness check, the load log and audit rows, commit)."
    )
    add("")


def add_pairing(L, pr: dict):
    add = L.append
    add("## Pairing (via `benchmarks/bench_pairing.py`)")
    add("")
    add(
        "`bench_pairing.run(scale)`: the engine (`pairing.suggest`, with every candidate explained) against "
        "`scipy.optimize.milp` on the same instance (the engine's integer scores and constraints); see "
        "`benchmarks/README_pairing.md`."
    )
    add("")
    add("| scale | instance | engine | no candidate text | solver alone | milp | optimum |")
    add("|---|---|---|---|---|---|---|")
    for scale, r in pr.items():
        if r.get("missing"):
            add(f"| {scale} | benchmarks/bench_pairing.py not present | | | | | |")
            continue
        if r.get("skipped"):
            add(f"| {scale} | {r['skipped']} | | | | | |")
            continue
        add(
            f"| {scale} | {r['jurisdictions']:,} jurisdictions, {r['needs']:,} needs, {r['candidates']:,} edges | "
            f"{r['engine_seconds']:.3f} s | {r['engine_seconds_no_candidate_text']:.3f} s | "
            f"{r['solver_seconds']:.3f} s | {r['milp_seconds']:.3f} s | {r['verdict']} "
            f"(engine {r['engine_total']:,.3f}, milp "
            + ("—" if r["milp_total"] is None else f"{r['milp_total']:,.3f}")
            + ") |"
        )
    add("")


def add_memory(L, r: dict):
    add = L.append
    add("## Peak memory (resident set)")
    add("")
    add("VmHWM (peak RSS) from /proc, in MB:")
    add("")
    add("| process | what it did | peak RSS | RSS at the end |")
    add("|---|---|---|---|")
    p = r.get("pages", {})
    if p.get("app_memory_after_all_pages"):
        mm = p["app_memory_after_all_pages"]
        add(
            f"| real app server, state scale | every page in Chromium, warm-up + {p['rounds']} rounds | "
            f"{mm['peak_rss_mb']:,.0f} | {mm['rss_mb']:,.0f} |"
        )
    srv = r.get("memory")
    if srv and not srv.get("error"):
        for step in srv["steps"]:
            what = (
                "started, before any page"
                if step["ms"] is None
                else f"then {step['page']} ({_ms(step['ms'])} until ready in Chromium)"
            )
            add(
                f"| real app server, county scale (`benchmarks/county_app.py`) | {what} | "
                f"{step['memory']['peak_rss_mb']:,.0f} | {step['memory']['rss_mb']:,.0f} |"
            )
    elif srv and srv.get("error"):
        add(f"| real app server, county scale | failed: {srv['error'][:200]} | | |")
    k = r.get("widgets", {}).get("county")
    if k:
        add(
            f"| AppTest process, county scale | national page: first run, every cycle, "
            f"{len(k['changes']['cycle']['all_ms']) * 3} widget changes | {k['memory']['peak_rss_mb']:,.0f} | "
            f"{k['memory']['rss_mb']:,.0f} |"
        )
        add(
            f"| same process, then the page logic alone | 4 views × repetitions (frames of 2 cycles) | "
            f"{k['memory_after_logic']['peak_rss_mb']:,.0f} | {k['memory_after_logic']['rss_mb']:,.0f} |"
        )
        add(
            f"| (same process before the app ran) | imports, reference-data swap | "
            f"{k['memory_at_start']['peak_rss_mb']:,.0f} | |"
        )
    add("")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions; no county-scale pairing")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    ap.add_argument(
        "--out",
        help="where to write the report (default: test-artifacts/benchmarks/report.md, or report_<sections>.md "
        "with --only); never BENCHMARKS.md",
    )
    ap.add_argument(
        "--from-json",
        help="re-render the report from a saved run (test-artifacts/benchmarks/last_run.json) instead of measuring",
    )
    args = ap.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    # the full run's files keep their names; a run of some sections writes beside them, named after its sections
    suffix = "" if set(only) == set(SECTIONS) else "_" + "_".join(only)
    if args.from_json:
        stem = Path(args.from_json).stem
        suffix = stem[len("last_run") :] if stem.startswith("last_run") else "_" + stem
    out = Path(args.out) if args.out else RAW / f"report{suffix}.md"
    if out.resolve() == BENCHMARKS_MD.resolve():
        ap.error(
            "run_all.py does not write BENCHMARKS.md (its sections are edited from the report, or rewritten by "
            "their own script's --write); leave out --out to write test-artifacts/benchmarks/report.md"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        failed = saved.pop("failed", {})
        text = render(saved, saved.get("quick", False))
        if failed:
            text += "\n## Failed in this run\n\n" + "\n".join(f"- {k}: {v[:500]}" for k, v in failed.items()) + "\n"
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out} from {args.from_json}")
        return 0
    q = ["--quick"] if args.quick else []
    t0 = time.perf_counter()
    r: dict = {"machine": machine(), "quick": args.quick, "only": only}

    def step(name, f):
        print(f"[{time.perf_counter() - t0:6.0f}s] {name} ...", flush=True)
        try:
            return f()
        except Exception as e:  # keep going: a failed benchmark is reported, the others still run
            print(f"    FAILED: {e}", flush=True)
            return {"error": str(e)}

    if "pages" in only:
        r["pages"] = step("pages (Chromium)", lambda: _run([str(HERE / "bench_pages.py"), "--json", *q], 1800))
    if "widgets" in only:
        r["widgets"] = {
            "state": step(
                "widgets, state scale (AppTest)",
                lambda: _run([str(HERE / "bench_widgets.py"), "--json", "--scale", "state", *q], 900),
            ),
            "county": step(
                "widgets, county scale",
                lambda: _run([str(HERE / "bench_widgets.py"), "--json", "--scale", "county", *q], 1800),
            ),
        }
    if "ingest" in only:
        r["ingest"] = step("ingest", lambda: _run([str(HERE / "bench_ingest.py"), "--json", *q], 900))
    if "pairing" in only:
        r["pairing"] = {"state": step("pairing, state scale", lambda: run_pairing("state", 120))}
        if args.quick:
            r["pairing"]["county"] = {"skipped": "not run with --quick (the milp reference takes ~3 minutes)"}
        else:
            r["pairing"]["county"] = step(
                "pairing, county scale (milp takes minutes)", lambda: run_pairing("county", 400)
            )
    if "memory" in only:
        r["memory"] = step("memory: real app on county-scale data (Chromium)", lambda: run_county_server(args.quick))
    r["seconds"] = time.perf_counter() - t0
    r["load_after"] = os.getloadavg()
    # drop failed sections from the report's tables, but say so
    failed = {k: v["error"] for k, v in r.items() if isinstance(v, dict) and "error" in v}
    for k in failed:
        r.pop(k)
    for k in ("widgets", "pairing"):
        if k in r:
            for s, v in list(r[k].items()):
                if isinstance(v, dict) and "error" in v:
                    failed[f"{k} {s}"] = v["error"]
                    r[k].pop(s)
    RAW.mkdir(parents=True, exist_ok=True)
    raw = RAW / f"last_run{suffix}.json"
    raw.write_text(json.dumps({**r, "failed": failed}, indent=1, default=str))
    text = render(r, args.quick)
    if failed:
        text += "\n## Failed in this run\n\n" + "\n".join(f"- {k}: {v[:500]}" for k, v in failed.items()) + "\n"
    out.write_text(text, encoding="utf-8")
    print(f"[{r['seconds']:6.0f}s] wrote {out} and {raw} (BENCHMARKS.md is edited from them)")
    for row in summary_rows(r):
        print(" | ".join(row))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
