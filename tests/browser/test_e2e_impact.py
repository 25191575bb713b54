"""The printable cycle report in a real browser (Debian's Chromium, headless) opened from a file with every network
request recorded and blocked: it draws its charts and tables and asks for nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"

if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed (apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    from shisn import demo
    from shisn.domain import auth
    from shisn.render import cycle_report
    from shisn.services import impact
    from shisn.store import db, queries

    work = tmp_path_factory.mktemp("cycle-report")
    con = db.connect(work / "demo.duckdb")
    demo.write_demo(con)
    cycle = queries.latest_cycle(con)
    inputs = impact.gather(con, auth.Viewer(auth.LEADERSHIP, "L"), queries.assessments(con))
    html = cycle_report.render(
        cycle,
        queries.assessments(con, cycle),
        impact.figures(inputs, cycle=cycle),
        queries.data_status(con),
        previous=queries.assessments(con, cycle - 1),
    )
    con.close()
    path = work / cycle_report.file_name(cycle)
    path.write_text(html, encoding="utf-8")
    return path, cycle


def test_the_cycle_report_renders_offline_in_chromium(report_file):
    path, cycle = report_file
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            requests: list[str] = []

            def block(route):
                requests.append(route.request.url)
                if route.request.url == path.as_uri():
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", block)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            page.locator("#impact-chart").wait_for(state="visible")
            assert page.get_by_role("heading", name=f"Cycle report {cycle}").count() == 1
            for section in (
                "kpi-section",
                "coverage-area-section",
                "coverage-region-section",
                "impact-section",
                "health-section",
                "uncovered-section",
            ):
                assert page.locator(f"#{section}").is_visible(), section
            # drawn: the intervals and dots of the impact chart and the coverage bars have a size on screen
            dots = page.locator("#impact-chart circle.difference")
            assert dots.count() >= 1
            box = dots.first.bounding_box()
            assert box and box["width"] > 3 and box["height"] > 3
            bars = page.locator("svg rect.bar.covered")
            assert bars.count() >= 8 and bars.first.bounding_box()["width"] > 10
            assert page.locator("table#impact tbody tr").count() == 9
            assert "not proof that the exchange caused it" in page.inner_text("#impact-section")
            assert page.locator(".demo").inner_text().startswith("SYNTHETIC DEMO DATA")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "cycle-report.png"), full_page=True)
            page.emulate_media(media="print")  # the print layout draws too
            assert page.locator("#impact-chart").is_visible()
        finally:
            browser.close()
    assert requests == [path.as_uri()], f"the report asked for more than itself: {requests[:10]}"
    assert errors == []
