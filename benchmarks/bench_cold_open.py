"""Cold open of a shared link, every view of every page, against a bare page holding only that view's heaviest
element.

    python benchmarks/bench_cold_open.py [--rounds N] [--app-root DIR] [--only TEXT[|TEXT...]] [--json]

A user opens a shared link: a NEW browser context (new session, empty HTTP cache) goes to the view's URL and the
time runs from navigation start until the page is ready and stays so for 400 ms (not counted): the script has
finished, no skeleton or status widget, every plotly chart has its SVG and every deck.gl map its canvas
(`bench_pages.COLD_JS`). Its floor is the same cold open of a bare Streamlit page (benchmarks/cold_floor_app.py)
holding ONLY that view's heaviest element, drawn by shisn's own code from the demo data: the national map, the
jurisdiction heatmap, the supply-and-demand bars, the FEMA-region heatmap, the pairs' arc map, a profile chart or
one table.

Both servers run side by side (`python -m streamlit run ...`, headless, loopback), viewed as the demo's default
role (leadership). Every URL is opened once first to warm both servers (not counted); then, `rounds` times, each
view and its floor are opened alternately, so machine load affects both alike; medians are reported with the
ratio view / floor (target: at most 1.2), and beside it the median of each round's own ratio (the view against the
floor opened right after it), which a slow stretch of the machine moves less.

`--app-root` serves app.py from another checkout (e.g. a `git worktree` of an earlier commit, for "before"
figures); the floor always comes from this checkout. Views the app does not have there are reported as errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _util import HERE, ROOT, Server, median
from bench_pages import COLD_JS, QUIET_MS, TIMEOUT_MS, Browser

TARGET = 1.2

# (page, view, URL path and query, floor element). The clickable views carry a selection in the URL.
VIEWS = [
    ("National coverage", "Map", "/national", "map"),
    ("National coverage", "Map, Montana selected", "/national?selected_state=MT", "map"),
    ("National coverage", "Strengths and gaps", "/national?view=Strengths+and+gaps", "heatmap"),
    (
        "National coverage",
        "Strengths and gaps, a cell selected",
        "/national?view=Strengths+and+gaps&selected_state=MT&selected_area=interoperability",
        "heatmap",
    ),
    ("National coverage", "Supply and demand", "/national?view=Supply+and+demand", "bars"),
    (
        "National coverage",
        "Supply and demand, an area selected",
        "/national?view=Supply+and+demand&selected_area=training",
        "bars",
    ),
    ("National coverage", "FEMA regions", "/national?view=FEMA+regions", "regions"),
    ("Pairings", "Suggested pairs", "/pairings", "table"),
    ("Pairings", "Suggested pairs, a pair selected", "/pairings?pair={pair}", "table"),
    ("Pairings", "Map", "/pairings?pairings_view=Map", "arcs"),
    ("Pairings", "Map, a pair selected", "/pairings?pairings_view=Map&pair={pair}", "arcs"),
    ("Pairings", "Referred to TA", "/pairings?pairings_view=Referred+to+TA", "table"),
    ("State profile", "Overview", "/state_profile?state=VA", "chart"),
    ("State profile", "POETE and trend", "/state_profile?state=VA&profile_view=POETE+and+trend", "chart"),
    ("State profile", "Partners and exchanges", "/state_profile?state=VA&profile_view=Partners+and+exchanges", "table"),
    ("Exchanges", "Exchanges", "/exchanges", "table"),
    ("Exchanges", "Map and counts", "/exchanges?exchanges_view=Map+and+counts", "arcs"),
    ("Exchanges", "Technical assistance", "/exchanges?exchanges_view=Technical+assistance", "table"),
    ("Impact", "Impact", "/impact", "chart"),
    ("Impact", "Mentors and program managers", "/impact?impact_view=Mentors+and+program+managers", "table"),
    ("Impact", "Network health", "/impact?impact_view=Network+health", "chart"),
    ("Work queue", "(one view)", "/queue", "table"),
    ("Self-assessment", "(one view)", "/assessment", "table"),
    ("Program managers", "(one view)", "/program_managers", "table"),
    ("Data", "(one view)", "/data", "table"),
    ("Users and audit", "(one view)", "/users", "table"),
    ("Offers and practices", "Search", "/offers", "table"),
    ("Offers and practices", "Search, with words", "/offers?q=tabletop+exercise", "table"),
    ("Offers and practices", "An offer", "/offers?offer=1", "table"),
]


def _a_pair() -> str:
    """A pair of the demo data's national plan (the app solves the same plan), as the `pair` URL value."""
    from shisn import demo
    from shisn.domain import pairing, selection
    from shisn.store import db, queries

    con = db.connect(":memory:")
    demo.write_demo(con)
    pairs = pairing.suggest(queries.assessments(con, queries.cycles(con)[0]), with_candidates=False).pairs
    return selection.pair_keys(pairs)[0]


def _open(browser: Browser, url: str) -> float:
    """One cold open: a new context, page.goto, ms from navigation start until ready and quiet."""
    ctx = browser.context()
    try:
        page = ctx.new_page()
        page.goto(url, wait_until="commit")
        r = page.evaluate(COLD_JS, [None, QUIET_MS, TIMEOUT_MS])
        if "error" in r:
            raise RuntimeError(f"{url}: {r['error']}")
        if page.locator("[data-testid=stException]").count():
            raise RuntimeError(f"{url}: the page raised")
        return r["ms"]
    finally:
        ctx.close()


def run(rounds: int = 5, app_root: Path | None = None, only: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    pair = _a_pair()
    views = [
        (p, v, path.format(pair=pair), e)
        for p, v, path, e in VIEWS
        if not only or any(o.strip().lower() in f"{p} {v}".lower() for o in only.split("|"))
    ]
    work = Path(tempfile.mkdtemp(prefix="shisn-bench-cold-"))
    t0 = time.perf_counter()
    floor = Server(HERE / "cold_floor_app.py", work / "floor.duckdb", work / "floor.log")
    try:
        app = Server((app_root or ROOT) / "app.py", work / "shisn.duckdb", work / "app.log")
    except Exception:
        floor.stop()
        raise
    out = {"rounds": rounds, "quiet_ms": QUIET_MS, "app_root": str(app_root or ROOT), "views": []}
    try:
        with sync_playwright() as pw:
            browser = Browser(pw)
            try:
                _open(browser, app.base + "/")  # the server's first session (app shell, demo seeding)
                errors, times, floors = {}, {}, {}
                for i, (_, _, path, element) in enumerate(views):  # warm both servers (not counted)
                    for target, key in ((app.base + path, ("app", i)), (f"{floor.base}/{element}", ("floor", i))):
                        try:
                            _open(browser, target)
                        except Exception as e:  # noqa: BLE001 - reported, the other views still run
                            errors[key] = str(e)[:200]
                print(f"warmed {len(views)} views; errors: {errors}", file=sys.stderr, flush=True)
                for n in range(rounds):
                    print(f"round {n + 1} of {rounds}", file=sys.stderr, flush=True)
                    for i, (_, _, path, element) in enumerate(views):
                        if ("app", i) in errors or ("floor", i) in errors:
                            continue
                        times.setdefault(i, []).append(_open(browser, app.base + path))
                        floors.setdefault(i, []).append(_open(browser, f"{floor.base}/{element}"))
            finally:
                browser.close()
        for i, (page, view, path, element) in enumerate(views):
            row = {"page": page, "view": view, "url": path, "element": element}
            if i in times:
                a, f = median(times[i]), median(floors[i])
                paired = median([t / fl for t, fl in zip(times[i], floors[i])])  # each round's view / its floor
                row.update(
                    {"ms": a, "floor_ms": f, "ratio": a / f, "paired": paired, "all": times[i], "floor_all": floors[i]}
                )
            else:
                row["error"] = errors.get(("app", i)) or errors.get(("floor", i))
            out["views"].append(row)
    finally:
        app.stop()
        floor.stop()
    out["seconds"] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--app-root", type=Path, default=None, help="serve app.py from this checkout")
    ap.add_argument(
        "--only", default=None, help="only the views whose 'page view' contains this text (several: separated by |)"
    )
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = ap.parse_args(argv)
    r = run(args.rounds, args.app_root, args.only)
    if args.json:
        print(json.dumps(r))
        return 0
    for v in r["views"]:
        if "error" in v:
            print(f"{v['page']:18s} {v['view']:40s} error: {v['error']}")
        else:
            mark = "ok" if v["ratio"] <= TARGET else "MISS"
            print(
                f"{v['page']:18s} {v['view']:40s} {v['ms']:6.0f} ms  floor ({v['element']}) {v['floor_ms']:6.0f} ms"
                f"  {v['ratio']:.2f}x {mark}  (median of the rounds' own ratios {v['paired']:.2f}x)"
            )
    print(f"{r['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
