"""Peak memory of the real app at county scale: `benchmarks/county_app.py` (app.py, unchanged, on the 3,100
synthetic jurisdictions of benchmarks/synthetic.py) served like the real app and driven in headless Chromium.

    python benchmarks/bench_memory.py [--quick] [--json]

The store is seeded with 3,100 jurisdictions x 9 areas x 5 cycles (139,500 rows). The server's VmHWM (peak RSS)
and VmRSS are read from /proc after the landing page (National coverage) is ready and after each further page,
clicked in the sidebar: State profile, Exchanges, Data, Program managers, Users and audit and, last (not with
--quick), Pairings, which solves the national pairing for 3,100 jurisdictions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import HERE, Server, memory_mb

ORDER = ["State profile", "Exchanges", "Data", "Program managers", "Users and audit", "Pairings"]


def run(quick: bool = False) -> dict:
    import bench_pages as B
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="shisn-bench-memory-"))
    store = work / "county.duckdb"
    subprocess.run(
        [sys.executable, str(HERE / "synthetic.py"), "--seed-store", str(store)], check=True, capture_output=True
    )
    t0 = time.perf_counter()
    srv = Server(HERE / "county_app.py", store, work / "server.log")
    steps = [{"page": "(server started)", "ms": None, "memory": memory_mb(srv.pid)}]
    try:
        with sync_playwright() as pw:
            browser = B.Browser(pw)
            try:
                t = time.perf_counter()
                ctx, page, errors = B._session(browser, srv.base)
                steps.append(
                    {"page": "National coverage", "ms": (time.perf_counter() - t) * 1000, "memory": memory_mb(srv.pid)}
                )
                titles = [t for t, _ in B._nav_links(page)]
                for title in [t for t in ORDER if t in titles and not (quick and t == "Pairings")]:
                    ms, _, _ = B._nav(page, title, None)
                    steps.append({"page": title, "ms": ms, "memory": memory_mb(srv.pid)})
                ctx.close()
            finally:
                browser.close()
    finally:
        srv.stop()
    return {"steps": steps, "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = run(args.quick)
    if args.json:
        print(json.dumps(r))
        return 0
    for s in r["steps"]:
        ms = "" if s["ms"] is None else f"{s['ms']:8.0f} ms"
        print(
            f"{s['page']:20s} {ms:>12s}  peak {s['memory']['peak_rss_mb']:7.0f} MB  now {s['memory']['rss_mb']:7.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
