"""Page-ready time of every page in headless Chromium, against a bare Streamlit page on the same server build.

    python benchmarks/bench_pages.py [--quick] [--json]

Starts the real app (`python -m streamlit run app.py ...`, SHISN_DB in a temp dir, so the demo set is seeded on
the first run) and benchmarks/floor_app.py (two bare pages) the same way, and drives both with Playwright in
Debian's Chromium, viewing as leadership (who sees every page).

- nav: in one browser session, click a page's sidebar link (as tests/browser/test_e2e.py does) and time, in the page,
  from the click to "ready": the script has finished (data-test-script-state = notRunning, no skeleton, no
  status widget) and every plotly chart has its SVG and every deck.gl map its canvas, and it stays so for a
  quiet period (so a follow-up rerun is not missed; the quiet period is not counted). Every page is visited once
  to warm caches, then `rounds` times; the median is reported. The floor is the same click between the two bare
  pages.
- cold: a new browser context (new session, empty HTTP cache) opens the page URL with page.goto; time from
  navigation start (performance.timeOrigin) to ready. Same floor.
Also the app server's resident memory after every page was visited (VmRSS now, VmHWM peak).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _util import CHROMIUM, CHROMIUM_ARGS, HERE, ROOT, Server, median, memory_mb
from floor_app_titles import ELEMENT_TITLES, FLOOR_TITLES

QUIET_MS = 400
TIMEOUT_MS = 90_000

READY_JS = """
(h1, noCharts) => {
  const head = document.querySelector('[data-testid=stMain] h1');
  if (!head || (h1 && head.innerText.trim() !== h1)) return false;
  if (document.querySelector('[data-testid=stMain] [data-stale=true]')) return false;
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid=stSkeleton]') || document.querySelector('[data-testid=stStatusWidget]'))
    return false;
  if (noCharts) return true;
  for (const el of document.querySelectorAll('[data-testid=stPlotlyChart]'))
    if (!el.querySelector('.main-svg')) return false;
  for (const el of document.querySelectorAll('[data-testid=stDeckGlJsonChart]'))
    if (!el.querySelector('canvas')) return false;
  return true;
}
"""

# Click a sidebar link and wait, in the page, until ready and quiet. Returns ms from the click to ready.
NAV_JS = """
async ([title, h1, quietMs, timeoutMs]) => {
  const ready = %s;
  const links = [...document.querySelectorAll('[data-testid=stSidebarNav] a')];
  const a = links.find(l => l.innerText.trim().split('\\n').pop().trim() === title);
  if (!a) return {error: 'no link ' + title};
  const before = document.querySelector('[data-testid=stMain] h1')?.innerText.trim();
  if (h1 !== null && before === h1) return {error: 'already on ' + title};
  const want = h1;
  const isReady = (noCharts) => want !== null ? ready(want, noCharts) : (ready(null, noCharts) &&
      document.querySelector('[data-testid=stMain] h1')?.innerText.trim() !== before);
  const t0 = performance.now();
  a.click();
  let readyAt = null, doneAt = null;
  while (performance.now() - t0 < timeoutMs) {
    await new Promise(r => setTimeout(r, 5));
    if (isReady(false)) {
      if (readyAt === null) readyAt = performance.now();
      if (performance.now() - readyAt >= quietMs) break;
    } else {
      readyAt = null;
      if (isReady(true)) { if (doneAt === null) doneAt = performance.now(); } else doneAt = null;
    }
  }
  const got = document.querySelector('[data-testid=stMain] h1')?.innerText.trim();
  if (doneAt === null || doneAt > readyAt) doneAt = readyAt;
  return readyAt === null ? {error: 'timeout'} : {ms: readyAt - t0, done: doneAt - t0, h1: got};
}
""" % READY_JS.strip()

# Click a tab (a page's view) and wait until that tab is selected, its panel has content, the script has finished
# and every chart is drawn, and it stays so. Returns ms from the click to ready.
TAB_JS = """
async ([label, h1, quietMs, timeoutMs]) => {
  const ready = %s;
  const tabs = [...document.querySelectorAll('[data-testid=stMain] [role=tab]')];
  const tab = tabs.find(t => t.innerText.trim() === label);
  if (!tab) return {error: 'no tab ' + label};
  const isReady = () => {
    if (tab.getAttribute('aria-selected') !== 'true') return false;
    const panel = document.getElementById(tab.getAttribute('aria-controls'));
    if (!panel || !panel.querySelector('[data-testid=stElementContainer]')) return false;
    return ready(h1, false);
  };
  const t0 = performance.now();
  tab.click();
  let readyAt = null;
  while (performance.now() - t0 < timeoutMs) {
    await new Promise(r => setTimeout(r, 5));
    if (isReady()) {
      if (readyAt === null) readyAt = performance.now();
      if (performance.now() - readyAt >= quietMs) break;
    } else readyAt = null;
  }
  return readyAt === null ? {error: 'timeout'} : {ms: readyAt - t0};
}
""" % READY_JS.strip()

TABS_JS = "() => [...document.querySelectorAll('[data-testid=stMain] [role=tab]')].map(t => t.innerText.trim())"

# After page.goto: wait until ready and quiet; ms since navigation start.
COLD_JS = """
async ([h1, quietMs, timeoutMs]) => {
  const ready = %s;
  let readyAt = null;
  while (performance.now() < timeoutMs) {
    await new Promise(r => setTimeout(r, 5));
    if (ready(h1, false)) {
      if (readyAt === null) readyAt = performance.now();
      if (performance.now() - readyAt >= quietMs) break;
    } else readyAt = null;
  }
  const got = document.querySelector('[data-testid=stMain] h1')?.innerText.trim();
  return readyAt === null ? {error: 'timeout'} : {ms: readyAt, h1: got};
}
""" % READY_JS.strip()


class Browser:
    def __init__(self, pw):
        self.browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    def context(self):
        return self.browser.new_context(viewport={"width": 1440, "height": 900})

    def close(self):
        self.browser.close()


def _cold(browser: Browser, url: str, h1: str) -> float:
    ctx = browser.context()
    try:
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, wait_until="commit")
        r = page.evaluate(COLD_JS, [h1, QUIET_MS, TIMEOUT_MS])
        if "error" in r:
            raise RuntimeError(f"cold open of {url}: {r['error']} {errors[:2]}")
        return r["ms"]
    finally:
        ctx.close()


def _nav_links(page) -> list[tuple[str, str]]:
    links = page.locator("[data-testid=stSidebarNav] a")
    return [
        (links.nth(i).inner_text().strip().split("\n")[-1].strip(), links.nth(i).get_attribute("href"))
        for i in range(links.count())
    ]


def _session(browser: Browser, base: str):
    ctx = browser.context()
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/", wait_until="commit")
    r = page.evaluate(COLD_JS, [None, QUIET_MS, TIMEOUT_MS])
    if "error" in r:
        raise RuntimeError(f"{base}: the first page never got ready {errors[:2]}")
    return ctx, page, errors


def _nav(page, title: str, h1: str | None) -> tuple[float, str]:
    r = page.evaluate(NAV_JS, [title, h1, QUIET_MS, TIMEOUT_MS])
    if "error" in r:
        raise RuntimeError(f"nav to {title}: {r['error']}")
    if page.locator("[data-testid=stException]").count():
        raise RuntimeError(
            f"nav to {title}: the page raised: " + page.locator("[data-testid=stException]").first.inner_text()[:300]
        )
    return r["ms"], r["h1"], r["done"]


def _tab(page, label: str, h1: str) -> float:
    r = page.evaluate(TAB_JS, [label, h1, QUIET_MS, TIMEOUT_MS])
    if "error" in r:
        raise RuntimeError(f"tab {label}: {r['error']}")
    if page.locator("[data-testid=stException]").count():
        raise RuntimeError(f"tab {label}: the page raised")
    return r["ms"]


def measure_app(browser: Browser, base: str, rounds: int, cold_reps: int, pid: int | None = None) -> dict:
    """Warm every page once (learning each page's heading and tabs), then `rounds` passes of sidebar clicks over
    every page (starting from the second: the session opens on the first); then, on each page with tabs (views),
    `rounds` passes of clicks on each further tab and back to the first; then cold opens."""
    ctx, page, errors = _session(browser, base)
    try:
        links = _nav_links(page)
        titles = [t for t, _ in links]
        order = titles[1:] + titles[:1]
        heading, tabs = {}, {}
        for t in order:  # warm: every page once (caches, first-run imports); learn its h1 and its tabs
            heading[t] = _nav(page, t, None)[1]
            tabs[t] = page.evaluate(TABS_JS)
            for label in tabs[t][1:] + tabs[t][:1]:
                _tab(page, label, heading[t])
        nav = {t: [] for t in titles}
        done = {t: [] for t in titles}
        for _ in range(rounds):
            for t in order:
                ms, _, finished = _nav(page, t, heading[t])
                nav[t].append(ms)
                done[t].append(finished)
        views = {}
        for t in order:
            if len(tabs[t]) < 2:
                continue
            _nav(page, t, heading[t])
            views[t] = {label: [] for label in tabs[t]}
            for _ in range(rounds):
                for label in tabs[t][1:] + tabs[t][:1]:
                    views[t][label].append(_tab(page, label, heading[t]))
        mem = memory_mb(pid) if pid else None
    finally:
        ctx.close()
    cold = {t: [] for t in titles}
    for _ in range(cold_reps):
        for t, href in links:
            url = href if href.startswith("http") else base.rstrip("/") + "/" + href.lstrip("/")
            cold[t].append(_cold(browser, url, heading[t]))
    return {
        "titles": titles,
        "headings": heading,
        "nav_ms": nav,
        "done_ms": done,
        "cold_ms": cold,
        "memory": mem,
        "views_ms": views,
        "page_errors": errors[:5],
    }


def run(quick: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    rounds, cold_reps = (3, 1) if quick else (5, 2)
    work = Path(tempfile.mkdtemp(prefix="shisn-bench-pages-"))
    out: dict = {"rounds": rounds, "cold_reps": cold_reps, "quiet_ms": QUIET_MS}
    t0 = time.perf_counter()
    floor = Server(HERE / "floor_app.py", work / "floor.duckdb", work / "floor.log")
    try:
        app = Server(ROOT / "app.py", work / "shisn.duckdb", work / "app.log")
    except Exception:
        floor.stop()
        raise
    try:
        with sync_playwright() as pw:
            browser = Browser(pw)
            try:
                # Floor and app measured alternately in the same browser, so drift affects both alike.
                f = measure_app(browser, floor.base, rounds * 2, cold_reps * 2)
                a = measure_app(browser, app.base, rounds, cold_reps, pid=app.pid)
            finally:
                browser.close()
        bare = [t for t in f["titles"] if t in FLOOR_TITLES]
        floor_nav = median([x for t in bare for x in f["nav_ms"][t]])
        floor_cold = median([x for t in bare for x in f["cold_ms"][t]])
        pages = []
        for t in a["titles"]:
            nav, cold = median(a["nav_ms"][t]), median(a["cold_ms"][t])
            views = [
                {"view": label, "ms": median(xs), "all": xs, "ratio": median(xs) / floor_nav}
                for label, xs in a["views_ms"].get(t, {}).items()
            ]
            pages.append(
                {
                    "page": t,
                    "nav_ms": nav,
                    "nav_all": a["nav_ms"][t],
                    "nav_ratio": nav / floor_nav,
                    "done_ms": median(a["done_ms"][t]),
                    "views": views,
                    "cold_ms": cold,
                    "cold_all": a["cold_ms"][t],
                    "cold_ratio": cold / floor_cold,
                }
            )
        elements = [
            {
                "element": ELEMENT_TITLES[t],
                "nav_ms": median(f["nav_ms"][t]),
                "nav_ratio": median(f["nav_ms"][t]) / floor_nav,
                "cold_ms": median(f["cold_ms"][t]),
                "cold_ratio": median(f["cold_ms"][t]) / floor_cold,
            }
            for t in f["titles"]
            if t in ELEMENT_TITLES
        ]
        out.update(
            {
                "floor_nav_ms": floor_nav,
                "floor_nav_all": {t: f["nav_ms"][t] for t in bare},
                "floor_cold_ms": floor_cold,
                "floor_done_ms": median([x for t in bare for x in f["done_ms"][t]]),
                "elements": elements,
                "pages": pages,
                "app_memory_after_all_pages": a["memory"],
                "page_errors": a["page_errors"],
                "seconds": time.perf_counter() - t0,
            }
        )
    finally:
        app.stop()
        floor.stop()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = ap.parse_args(argv)
    r = run(args.quick)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"floor: nav {r['floor_nav_ms']:.0f} ms, cold {r['floor_cold_ms']:.0f} ms")
    for e in r["elements"]:
        print(f"  element alone: {e['element']:40s} nav {e['nav_ms']:7.0f} ms ({e['nav_ratio']:.2f}x)")
    for p in r["pages"]:
        print(
            f"{p['page']:20s} nav {p['nav_ms']:7.0f} ms ({p['nav_ratio']:.2f}x)   "
            f"cold {p['cold_ms']:7.0f} ms ({p['cold_ratio']:.2f}x)"
        )
        for v in p["views"]:
            print(f"    tab {v['view']:28s} {v['ms']:7.0f} ms ({v['ratio']:.2f}x)")
    print("app memory after every page:", r["app_memory_after_all_pages"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
