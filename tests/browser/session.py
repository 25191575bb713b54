"""The browser tests' tools: the real app (`streamlit run`, headless, on a free loopback port), a Session (one
browser tab in Debian's Chromium, driven by Playwright) recording every request that leaves the loopback and
every console error, and the waits and clicks a user makes."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
ROLES = {"leadership": "ODP leadership", "program_manager": "Program manager", "state": "State"}
PANELS = ("Filters", "State and cycle", "Select by name", "Rows and selection")  # shisn.web.widgets.filters panels

try:
    import playwright.sync_api as playwright
except ImportError:  # pip install -r requirements.txt brings it; tests/browser/conftest.py skips the tests without it
    playwright = None

# why the browser tests cannot run here (tests/browser/conftest.py skips them with it), or None
MISSING = (
    "Debian chromium is not installed (apt-get install chromium)"
    if not Path(CHROMIUM).exists()
    else "playwright is not installed (pip install -r requirements.txt)"
    if playwright is None
    else None
)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@contextlib.contextmanager
def running_app(work: Path, store: str | None = None, log_name: str = "server.log"):
    """`streamlit run app.py` on a free loopback port with its store in `work` (or at `store`, e.g. a PostgreSQL
    URL); yields the base URL."""
    port = _free_port()
    env = dict(os.environ, SHISN_DB=store or str(work / "shisn.duckdb"))
    log = open(work / log_name, "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    break
                time.sleep(0.25)
        else:
            pytest.fail("the app did not start: " + (work / log_name).read_text()[-2000:])
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class BrowserHung(Exception):
    """The headless browser tab stopped answering: not the app's fault (the app server still answers), so such a
    test is tried once more in a fresh tab (pyproject.toml: --only-rerun BrowserHung)."""


class Session:
    """One browser tab on the app, recording every request that leaves the loopback and every console error."""

    def __init__(self, browser, base: str):
        self.ctx = browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = self.ctx.new_page()
        self.base = base
        self.outbound: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", self._on_request)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _on_request(self, req):
        if req.url.startswith(("data:", "blob:", "about:")):
            return
        if (urllib.parse.urlparse(req.url).hostname or "") not in LOOPBACK:
            self.outbound.append(req.url)

    def open(self, path: str = "/"):
        self.page.goto(self.base + path, wait_until="domcontentloaded")
        self.wait_ready()

    # the page's script has finished: not running, no skeleton, no status widget (one check, run in the page)
    SETTLED = (
        "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state')"
        " === 'notRunning' && !document.querySelector('[data-testid=stSkeleton]')"
        " && !document.querySelector('[data-testid=stStatusWidget]')"
    )

    def wait_ready(self, timeout: float = 60):
        """Until the script has finished, and is still finished a moment later (not a pause between two runs, a
        page handing over to another); then charts have had time to paint. Every wait here is bounded by
        Playwright's own clock, so a browser tab that stops answering fails the test (BrowserHung) instead of
        hanging it."""
        end = time.time() + timeout
        self.page.wait_for_timeout(300)
        while True:
            left_ms = (end - time.time()) * 1000
            if left_ms <= 0 or not self._settled(left_ms):
                self._check_alive()
                raise AssertionError("the page script did not finish in time")
            self.page.wait_for_timeout(1200)
            if self._settled_now():
                return

    def _settled(self, timeout_ms: float) -> bool:
        try:
            self.page.wait_for_function(self.SETTLED, timeout=max(timeout_ms, 1), polling=100)
            return True
        except playwright.TimeoutError:
            return False

    def _settled_now(self) -> bool:
        """Finished at this moment: one check in the page (its answer is always truthy, so the wait returns at once),
        bounded like every other wait."""
        try:
            got = self.page.wait_for_function(f"() => ({self.SETTLED})() ? 'yes' : 'no'", timeout=10_000)
        except playwright.TimeoutError:
            self._check_alive()
            return False
        return got.json_value() == "yes"

    INPUT_TIMEOUT = 20_000  # ms: a key or a click the page has not taken by then fails (mouse/keyboard never time out)

    def press(self, key: str) -> None:
        """Press `key` where the focus is, as a user types it. Unlike page.keyboard.press this wait is bounded: a
        tab that stops answering fails the test (BrowserHung) instead of hanging it."""
        try:
            where = self.page.wait_for_function(
                "() => document.activeElement && document.activeElement !== document.body ? 'focus' : 'body'",
                timeout=self.INPUT_TIMEOUT,
            ).json_value()
            target = self.page.locator(":focus" if where == "focus" else "body").first
            target.press(key, timeout=self.INPUT_TIMEOUT)
        except playwright.TimeoutError:
            self._check_alive()
            raise

    def click_in(self, locator, x: float, y: float) -> None:
        """Click at (x, y) inside `locator`'s box (a canvas: a grid's cell, a map's point), bounded like `press`."""
        try:
            locator.click(position={"x": x, "y": y}, timeout=self.INPUT_TIMEOUT)
        except playwright.TimeoutError:
            self._check_alive()
            raise

    def _check_alive(self):
        """Raise BrowserHung when the tab no longer runs even a trivial script (its renderer stopped answering)."""
        try:
            self.page.wait_for_function("() => true", timeout=10_000)
        except playwright.TimeoutError:
            raise BrowserHung("the browser tab stopped answering (its renderer runs no script)") from None

    def open_panel(self, title: str) -> bool:
        """Open the collapsed panel (an expander) whose label starts with `title`, as a user would; False if the
        page has none. The pages keep their filters and select boxes in such panels, drawn when opened."""
        summary = self.page.locator("[data-testid=stExpander] summary").filter(has_text=title).first
        if not summary.count():
            return False
        if summary.locator("xpath=..").get_attribute("open", timeout=30_000) is None:
            summary.click()
            # the rerun the opening starts draws the panel's content: wait for it, then for the script to finish
            self.page.wait_for_function(
                "s => s.parentElement.querySelector('[data-testid=stElementContainer]')",
                arg=summary.element_handle(),
                timeout=60_000,
            )
            self.wait_ready()
        return True

    def choose(self, label: str, option: str):
        """Pick `option` in the selectbox labelled `label` (as a user would: click, then click the option), first
        opening the page's panel of filters or select boxes if the select box is in a closed one."""
        if not self.page.get_by_role("combobox", name=label, exact=True).count():
            for title in PANELS:
                if self.open_panel(title) and self.page.get_by_role("combobox", name=label, exact=True).count():
                    break
        box = self.page.get_by_role("combobox", name=label, exact=True).first
        box.click()
        box.fill(option)  # long lists are virtualised: typing filters them so the option is rendered
        self.page.get_by_role("option").filter(has_text=option).first.click()
        self.wait_ready()

    def nav_links(self) -> list[tuple[str, str]]:
        links = self.page.locator("[data-testid=stSidebarNav] a")
        # the link's text starts with the material icon's ligature name ("public"): the title is the last line
        return [
            (links.nth(i).inner_text().strip().split("\n")[-1].strip(), links.nth(i).get_attribute("href"))
            for i in range(links.count())
        ]

    def go(self, title: str):
        self.page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).first.click()
        self.wait_ready()

    def exceptions(self) -> list[str]:
        exc = self.page.locator("[data-testid=stException]")
        return [exc.nth(i).inner_text()[:300] for i in range(exc.count())]

    def drawn(self) -> bool:
        """A map or chart with data actually painted: a deck.gl canvas with varied pixels, or plotly SVG marks."""
        from PIL import Image, ImageStat

        for canvas in self.page.locator("[data-testid=stDeckGlJsonChart] canvas").all():
            im = Image.open(io.BytesIO(canvas.screenshot())).convert("L")
            if ImageStat.Stat(im).stddev[0] > 8:
                return True
        marks = self.page.locator(
            ".js-plotly-plot .plot path, .js-plotly-plot .heatmaplayer image, "
            ".js-plotly-plot .bars path, .js-plotly-plot .scatterlayer path"
        )
        return marks.count() > 0

    def shot(self, name: str):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self):
        self.ctx.close()


def as_role(browser, server, role: str, **extra) -> Session:
    s = Session(browser, server["base"])
    s.open("/")
    if role != "leadership":  # the demo role switcher: a panel in the sidebar with a row of buttons (a radio group)
        sidebar = s.page.locator("[data-testid=stSidebar]")
        sidebar.get_by_text("Viewing as: ODP leadership (demo)").click()
        s.wait_ready()
        sidebar.get_by_role("radio", name=ROLES[role], exact=True).click()
        s.wait_ready()
        playwright.expect(sidebar.get_by_text(f"Viewing as: {ROLES[role]}")).to_be_visible()
    for label, option in extra.items():
        s.choose(label, option)
    return s


# Pages whose first view is a chart or map; each must show one drawn (the Pairings map, a second view, is checked
# in test_views_are_tabs_and_downloads_are_built_on_click).


def download(s: Session, button: str):
    """Click a download button and return the download. The file is drawn with the button (displays.download); a click
    that lands while a rerun is still drawing can be dropped by the browser, so a second click is allowed (as a user
    would click again) before failing."""
    for attempt in range(2):
        try:
            with s.page.expect_download(timeout=20_000) as got:
                s.page.get_by_role("button", name=button).click()
            return got
        except playwright.TimeoutError:
            if attempt:
                raise
            s.wait_ready()
