"""Twelve people working at once on one app server: every download arrives, and no session loses its
connection. One Chromium, twelve browser contexts (each its own Streamlit session), all on the loopback, all at
the same time: open the national view (a region's supply and demand), download the table, switch views, open a state profile and
download its printable report, open the pairings, come back and download the table again. Each download's
content is checked; each page records any moment its connection state left CONNECTED after it first connected
(Streamlit's 'CONNECTING' banner) and every websocket that closed. Waits are for states (script finished, a
heading drawn, a download started), never fixed sleeps; every wait and the whole run are bounded.

Part of the default run; alone: `pytest -m load`. `benchmarks/loop_probe.py` runs the same sessions against
a server that records its event loop's lag."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.browser.session import CHROMIUM, running_app
from tests.support import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.load]
async_api = pytest.importorskip("playwright.async_api")

ARTIFACTS = ROOT / "test-artifacts" / "e2e-load"
SESSIONS = 12
CONTEXTS = 3  # browser contexts (each with its own cookies and cache); sessions are tabs in them
# Bounds only, so a hang fails instead of blocking the suite: this test is about sessions staying connected and
# files arriving, not speed (a quiet 2-core machine runs the twelve sessions in ~55 s; benchmarks/loop_probe.py
# measures the server's event loop under the same load). A busy machine is slower, never wrong.
STEP_WAIT_MS = 180_000  # one page or view under load
DOWNLOAD_WAIT_MS = 120_000  # a click until the browser starts the download
RUN_LIMIT_S = 600  # the whole concurrent run
STATES = [
    ("VA", "Virginia"),
    ("MD", "Maryland"),
    ("TX", "Texas"),
    ("CA", "California"),
    ("NY", "New York"),
    ("FL", "Florida"),
    ("WA", "Washington"),
    ("OH", "Ohio"),
    ("GA", "Georgia"),
    ("AZ", "Arizona"),
    ("MI", "Michigan"),
    ("CO", "Colorado"),
]
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
]

# In every page, before the app loads: after the first CONNECTED, record each connection state other than
# CONNECTED (what the user sees as 'CONNECTING' or 'Connection error'), with the time.
WATCH_CONNECTION = """
(() => {
  const w = window.__shisn_conn = {connected: false, lost: []};
  const check = () => {
    const app = document.querySelector('[data-testid=stApp]');
    const state = app && app.getAttribute('data-test-connection-state');
    if (!state) return;
    if (state === 'CONNECTED') { w.connected = true; return; }
    if (w.connected && (w.lost.length === 0 || w.lost[w.lost.length - 1].state !== state))
      w.lost.push({state, at: new Date().toISOString()});
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true,
                                                 attributeFilter: ['data-test-connection-state']});
})();
"""

# The page's script has finished: not running, nothing stale, and `ready` (a JS expression) holds. (A chart may still
# be painting in the browser; no step here needs it.)
SETTLED = """(ready) => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid=stStatusWidget], [data-stale=true]')) return false;
  return Function('return (' + ready + ')')();
}"""


def heading(text: str) -> str:
    """JS: a heading starting with this text is drawn."""
    return "[...document.querySelectorAll('h1,h2,h3')].some(h => h.textContent.trim().startsWith(%r))" % text


class Worker:
    """One person: a browser context on the app, doing one realistic round of work."""

    def __init__(self, ctx, base: str, n: int):
        self.ctx, self.base, self.n = ctx, base, n
        self.code, self.name = STATES[n % len(STATES)]
        self.region = n % 10 + 1
        self.downloads: list[dict] = []  # one per download tried: what, ok, detail
        self.closed_sockets: list[str] = []
        self.problems: list[str] = []
        self.lost: list[dict] = []
        self.page = None
        self.steps: list[tuple[str, float]] = []  # (what, seconds) of each finished step
        self._t = time.monotonic()

    async def settle(self, ready: str = "true", what: str = ""):
        try:
            await self.page.wait_for_function(SETTLED, arg=ready, timeout=STEP_WAIT_MS, polling=100)
        except async_api.TimeoutError:
            raise AssertionError(
                f"session {self.n}: {what or ready} did not finish within "
                f"{STEP_WAIT_MS // 1000} s ({await self.describe()})"
            ) from None
        self.step(what)

    async def describe(self) -> str:
        """What the page shows now (for a failure message), and a screenshot in test-artifacts/e2e-load/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            await self.page.screenshot(path=str(ARTIFACTS / f"session-{self.n}.png"), full_page=True)
        except async_api.Error:
            pass
        return await self.page.evaluate("""() => {
          const app = document.querySelector('[data-testid=stApp]');
          return JSON.stringify({script: app && app.getAttribute('data-test-script-state'),
            connection: app && app.getAttribute('data-test-connection-state'),
            stale: document.querySelectorAll('[data-stale=true]').length,
            skeleton: document.querySelectorAll('[data-testid=stSkeleton]').length,
            status: document.querySelectorAll('[data-testid=stStatusWidget]').length,
            headings: [...document.querySelectorAll('h1,h2,h3')].map(h => h.textContent.trim()).slice(0, 6)});
        }""")

    def step(self, what: str):
        now = time.monotonic()
        self.steps.append((what, round(now - self._t, 2)))
        self._t = now

    async def nav(self, title: str, ready: str):
        await self.page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).first.click()
        await self.settle(ready, title)

    async def pick(self, label: str, typed: str, option: str, tries: int = 3):
        """Choose `option` in a select box as a user does: click it, type, click the option. If the list closed
        before the option showed (a busy browser can drop the click that opens it), open it again, as anyone
        would; the last try waits the full step time."""
        box = self.page.get_by_role("combobox", name=label, exact=True).first
        choice = self.page.get_by_role("option").filter(has_text=option).first
        for attempt in range(tries):
            await box.click()
            await box.fill(typed)
            try:
                await choice.click(timeout=STEP_WAIT_MS if attempt == tries - 1 else 20_000)
                return
            except async_api.TimeoutError:
                if attempt == tries - 1:
                    raise
                await self.page.keyboard.press("Escape")

    async def download(self, button: str, what: str, check):
        """Click a download button once, as a user would, and check what arrives."""
        # as a user clicks: once the page is drawn (charts painted, nothing loading)
        await self.settle("!document.querySelector('[data-testid=stSkeleton]')", f"the page before {what}")
        record = {"what": what, "ok": False, "detail": ""}
        self.downloads.append(record)
        started = time.monotonic()
        try:
            async with self.page.expect_download(timeout=DOWNLOAD_WAIT_MS) as info:
                await self.page.get_by_role("button", name=button).click()
            dl = await info.value
        except async_api.TimeoutError:
            record["detail"] = f"no download {DOWNLOAD_WAIT_MS // 1000} s after the click ({await self.describe()})"
            return
        failure = await dl.failure()
        if failure:
            record["detail"] = f"the download failed: {failure} ({dl.url})"
            return
        body = Path(await dl.path()).read_bytes()
        problem = check(dl.suggested_filename, body)
        record.update(ok=problem is None, detail=problem or f"{len(body)} bytes in {time.monotonic() - started:.1f} s")
        self.step(what)

    def check_csv(self, name: str, body: bytes):
        text = body.decode("utf-8-sig")
        lines = text.splitlines()
        if not (name.startswith("shisn-coverage-") and name.endswith(".csv")):
            return f"unexpected file name {name!r}"
        if not lines or not lines[0].startswith("state,") or len(lines) < 2:
            return f"not the coverage table: {text[:120]!r}"
        return None

    def check_report(self, name: str, body: bytes):
        html = body.decode("utf-8")
        if not name.endswith(".html"):
            return f"unexpected file name {name!r}"
        if "<svg" not in html or self.name not in html:
            return f"not {self.name}'s report: {html[:120]!r}"
        return None

    async def run(self):
        try:
            self.page = page = await self.ctx.new_page()
            page.on("websocket", self._on_websocket)
            page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
            await page.goto(
                f"{self.base}/national?region={self.region}&view=Supply+and+demand",
                wait_until="domcontentloaded",
                timeout=STEP_WAIT_MS,
            )
            await self.settle(heading("Supply and demand"), "the national page")
            await self.download("Download table (CSV)", "national CSV", self.check_csv)
            await page.get_by_role("tab", name="FEMA regions").click()
            await self.settle(heading("FEMA regions"), "the FEMA regions view")
            await self.nav("State profile", heading("State profile"))
            await page.locator("[data-testid=stExpander] summary").filter(has_text="State and cycle").first.click()
            # the select box is drawn by the rerun the panel's opening starts: wait for it in a finished page
            await self.settle(
                "!!document.querySelector('input[aria-label=\"State or territory\"]')", "the state and cycle panel"
            )
            await self.pick("State or territory", self.name, f"{self.name} ({self.code})")
            await self.settle(heading(f"{self.name} ({self.code})"), f"{self.name}'s profile")
            await self.download("Printable report", f"state report {self.code}", self.check_report)
            await self.nav("Pairings", heading("Suggested pairs"))
            await self.nav("National coverage", heading("FEMA regions"))
            await self.download("Download table (CSV)", "national CSV again", self.check_csv)
            self.lost = await page.evaluate("() => window.__shisn_conn.lost")
            exc = page.locator("[data-testid=stException]")
            if await exc.count():
                self.problems.append(f"exception: {(await exc.first.inner_text())[:300]}")
        except (AssertionError, async_api.Error) as e:
            waiting = [ln.strip() for ln in str(e).splitlines() if "waiting for" in ln][:1]
            where = ""
            if isinstance(e, async_api.Error):  # a settle failure already says what the page showed
                try:
                    where = f" ({await self.describe()})"
                except async_api.Error:
                    pass
            self.problems.append(" ".join([str(e).splitlines()[0], *waiting]) + where)
            if self.page is not None:
                self.lost = await self.page.evaluate("() => window.__shisn_conn && window.__shisn_conn.lost")
        finally:
            if self.page is not None:
                await self.page.close()

    def _on_websocket(self, ws):
        if "/_stcore/stream" in ws.url:
            ws.on("close", lambda _ws: self.closed_sockets.append(time.strftime("%H:%M:%S")))


async def run_sessions(base: str, n: int = SESSIONS) -> tuple[list[Worker], float]:
    """n people working at once against the app at `base` (one Chromium, n contexts); returns the workers (with
    their downloads, lost connections and problems) and the seconds it took. Also used by benchmarks/loop_probe.py."""
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            contexts = []
            for _ in range(min(CONTEXTS, n)):
                ctx = await browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
                await ctx.add_init_script(WATCH_CONNECTION)
                contexts.append(ctx)
            # one page per context first: the server's first session (it hands pages over to app.py's
            # navigation), and the app's scripts in each context's cache, as a returning user has them
            await _warm(contexts[0], base)
            await asyncio.gather(*(_warm(ctx, base) for ctx in contexts[1:]))
            workers = [Worker(contexts[i % len(contexts)], base, i) for i in range(n)]
            started = time.monotonic()
            tasks = {asyncio.ensure_future(w.run()): w for w in workers}
            _, late = await asyncio.wait(tasks, timeout=RUN_LIMIT_S)
            for task in late:  # bounded: a session still working at the limit is a failure, reported as such
                tasks[task].problems.append(f"still working after {RUN_LIMIT_S} s (steps done: {tasks[task].steps})")
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            return workers, time.monotonic() - started
        finally:
            await browser.close()


async def _warm(ctx, base: str):
    page = await ctx.new_page()
    await page.goto(base + "/national?view=Strengths+and+gaps", wait_until="domcontentloaded", timeout=STEP_WAIT_MS)
    await page.wait_for_function(
        SETTLED, arg=heading("Strengths and gaps by jurisdiction"), timeout=STEP_WAIT_MS, polling=100
    )
    await page.close()


def summary(workers: list[Worker]) -> dict:
    downloads = [d for w in workers for d in w.downloads]
    return {
        "downloads_ok": sum(d["ok"] for d in downloads),
        "downloads": len(downloads),
        "failed_downloads": [
            f"session {w.n} {d['what']}: {d['detail']}" for w in workers for d in w.downloads if not d["ok"]
        ],
        "lost_connection": [f"session {w.n}: {w.lost}" for w in workers if w.lost],
        "closed_websockets": [f"session {w.n}: {w.closed_sockets}" for w in workers if w.closed_sockets],
        "problems": [f"session {w.n}: {p}" for w in workers for p in w.problems],
    }


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("e2e-load")) as base:
        yield base


def test_twelve_sessions_at_once_every_download_arrives_and_no_session_drops(load_server):
    workers, took = asyncio.run(run_sessions(load_server))
    s = summary(workers)
    print(f"\n{SESSIONS} sessions in {took:.0f} s: {s['downloads_ok']}/{s['downloads']} downloads arrived")
    for key in ("failed_downloads", "lost_connection", "closed_websockets", "problems"):
        for line in s[key]:
            print(f"  {key}: {line}")
    assert s["problems"] == [], s
    assert s["failed_downloads"] == [], s
    assert s["downloads"] == 3 * SESSIONS
    assert s["lost_connection"] == [], s
    assert s["closed_websockets"] == [], s
