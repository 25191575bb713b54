"""Browser test of the whole self-assessment loop on the real app in Debian's Chromium: a state user fills
in its form and submits it, its program manager finds it in the review list and accepts it, and the national page
and the state profile show the new ratings. Run with `pytest -m e2e`; screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser.session import Session, as_role, running_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path_factory):
    """A server and store of its own, new for every attempt: this test writes a new cycle, which other browser
    tests (and a second attempt of this one) must not see."""
    work = tmp_path_factory.mktemp("e2e_assessment")
    with running_app(work) as base:
        yield {"base": base, "work": work}


def cell(s: Session, grid_name: str, slug: str, column: int):
    """Select an area's cell in one of the form's grids (`asmt_ratings`, `asmt_poete`) as a keyboard user does:
    click the area's name, then ArrowRight `column` times. Returns the grid."""
    from shisn.domain import catalog

    grid = s.page.locator(f"[class*=st-key-{grid_name}] [data-testid=stDataFrame]")
    grid.scroll_into_view_if_needed()
    grid.locator("canvas").first.wait_for()
    row_px = 35  # glide's row height in Streamlit; the header is one row
    row = catalog.AREA_SLUGS.index(slug)
    selected = grid.locator(f"[data-testid=glide-cell-{column}-{row}][aria-selected=true]")
    for _ in range(60):  # until the grid has taken the click (it may still be settling after the scroll)
        s.click_in(grid, 20, row_px * (1 + row) + row_px // 2)  # the area's name
        for _ in range(column):
            s.press("ArrowRight")
        try:
            selected.wait_for(state="attached", timeout=1000)
            break
        except PlaywrightTimeout:
            continue
    return grid


def choose_in_cell(s: Session, grid_name: str, slug: str, column: int, option: str):
    """Open the cell's list (Enter) and pick `option`; the grid then shows it."""
    from shisn.domain import catalog

    shown = None
    for _ in range(30):  # on a busy machine the grid may drop the key or the pick while it settles: select, try again
        grid = cell(s, grid_name, slug, column)
        shown = grid.locator(f"[data-testid=glide-cell-{column}-{catalog.AREA_SLUGS.index(slug)}]")
        if shown.inner_text().strip() == option:
            return
        s.press("Enter")
        try:
            s.page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            expect(shown).to_have_text(option, timeout=10_000)  # the grid holds it
            return
        except (PlaywrightTimeout, AssertionError):
            s.press("Escape")  # close a list left open, then start again from the cell
            continue
    expect(shown).to_have_text(option)


def tick(s: Session, grid_name: str, slug: str, column: int):
    """Make the area's checkbox cell ticked (Space toggles a selected one)."""
    from shisn.domain import catalog

    shown = None
    for _ in range(30):  # the grid may drop a key while it settles after an edit: select the cell and try again
        grid = cell(s, grid_name, slug, column)
        shown = grid.locator(f"[data-testid=glide-cell-{column}-{catalog.AREA_SLUGS.index(slug)}]")
        if shown.inner_text().strip() == "true":
            return
        s.press(" ")
        try:
            expect(shown).to_have_text("true", timeout=2000)
            return
        except AssertionError:
            continue
    expect(shown).to_have_text("true")


def test_state_fills_in_and_submits_the_pm_accepts_and_the_new_ratings_show(browser, server):
    from shisn import demo

    cycle = demo.DEMO_CYCLES[-1] + 1

    # 0. leadership opens next cycle for reporting on the Data page, due 31 March
    s = as_role(browser, server, "leadership")
    try:
        s.go("Data")
        assert s.open_panel("Open or close a cycle")
        year = s.page.get_by_label("Cycle (year)")
        year.fill(str(cycle))
        # the due date offered: 31 March of the next cycle
        assert s.page.get_by_role("spinbutton", name="year, Due on").inner_text() == str(cycle)
        s.page.get_by_role("button", name="Open for reporting").click()
        s.wait_ready()
        assert s.page.get_by_text(f"Cycle {cycle} is open for reporting, due {cycle}-03-31.").count() == 1, (
            s.page.inner_text("body")[:1500]
        )
        s.shot("cycles-leadership-opened")
    finally:
        s.close()

    # 1. the Virginia state user fills in next cycle's self-assessment (prefilled from this cycle) and submits it
    s = as_role(browser, server, "state")  # the demo state user is Virginia
    try:
        s.go("Self-assessment")
        assert "/assessment?" in s.page.url and "state=VA" in s.page.url and f"cycle={cycle}" in s.page.url
        assert s.page.get_by_role("heading", name=f"Virginia (VA) · {cycle}").count() == 1
        assert s.page.get_by_text(f"Self-assessment for {cycle}, due {cycle}-03-31").count() == 1
        assert s.page.get_by_text(f"Prefilled from the {cycle - 1} self-assessment.").count() == 1
        # the ratings grid: area, in the last cycle, maturity, offers help, seeks guidance, notes
        choose_in_cell(s, "asmt_ratings", "recovery", 2, "1 · Not started")
        tick(s, "asmt_ratings", "recovery", 4)  # seeks guidance
        # the POETE sub-ratings: a static table until asked for; opening the grid keeps the unsaved edits above
        s.page.get_by_role("button", name="Edit the POETE sub-ratings").click()
        s.wait_ready()
        from shisn.domain import catalog

        expect(
            s.page.locator(
                f"[class*=st-key-asmt_ratings] [data-testid=glide-cell-2-{catalog.AREA_SLUGS.index('recovery')}]"
            )
        ).to_have_text("1 · Not started")
        choose_in_cell(s, "asmt_poete", "recovery", 1, "5")  # planning, in the POETE grid
        s.page.get_by_role("button", name="Submit for review").click()
        s.wait_ready()
        assert s.page.get_by_text(f"Submitted VA {cycle} for review").count() == 1, s.page.inner_text("body")[:800]
        assert s.page.get_by_text("Status: submitted, awaiting review").count() == 1
        assert s.page.get_by_role("button", name="Accept").count() == 0  # a state does not review
        assert not s.exceptions() and s.outbound == []
        s.shot("assessment-state-submitted")
    finally:
        s.close()

    # 2. Virginia's program manager opens it from the review list, sees the flags and accepts it
    s = as_role(browser, server, "program_manager", **{"Program manager": "Morgan Okafor (demo)"})
    try:
        s.go("Self-assessment")
        s.page.get_by_text("Awaiting your review (1)").click()
        s.page.get_by_role("button", name=f"Virginia (VA) {cycle}").click()
        s.wait_ready()
        assert s.page.get_by_role("heading", name=f"Virginia (VA) · {cycle}").count() == 1
        assert s.page.get_by_role("heading", name="Data-quality checks").count() == 1
        assert s.page.get_by_role("heading", name="Review").count() == 1
        s.shot("assessment-pm-review")
        s.page.get_by_role("button", name="Accept").click()
        s.wait_ready()
        assert s.page.get_by_text("Accepted: loaded form, submitted by").count() == 1, s.page.inner_text("body")[:800]
        # accepted: read-only until someone starts a correction
        assert s.page.get_by_role("button", name="Save draft").count() == 0
        assert s.page.get_by_role("button", name="Start a correction").count() == 1
        from shisn.store import db, queries

        accepted = queries.assessments(db.connect(server["work"] / "shisn.duckdb", read_only=True), cycle, ["VA"])
        got = accepted.set_index("program_area").loc["recovery"]  # the grids' edits arrived
        assert (got["maturity"], bool(got["seeks_help"]), got["planning"]) == (1, True, 5)

        # 3. one early report does not move the national page: it opens on the last closed cycle; the new one,
        # chosen, is in progress and its figures provisional
        s.go("National coverage")
        assert (
            s.page.locator("[data-testid=stExpander] summary").filter(has_text=f"Filters · {cycle - 1} ·").count() == 1
        )
        assert "1 of 56" not in s.page.locator("[data-testid=stMetric]").filter(has_text="Reporting").inner_text()
        s.choose("Assessment cycle", f"{cycle} (in progress)")
        reporting = s.page.locator("[data-testid=stMetric]").filter(has_text="Reporting")
        assert "1 of 56" in reporting.inner_text()
        assert s.page.get_by_text(f"Cycle {cycle} is in progress: 1 of 56 reported, due {cycle}-03-31").count() == 1
        assert s.page.get_by_text(f"Data-quality flags, {cycle}:").count() == 1
        assert not s.exceptions() and s.drawn()
        s.shot("assessment-national-after")
        assert s.outbound == []
    finally:
        s.close()

    # 4. the state profile shows the new rating: recovery is now a gap rated 1
    s = as_role(browser, server, "state")
    try:
        s.go("State profile")
        s.choose("Assessment cycle", str(cycle))
        assert s.page.get_by_role("heading", name="Virginia (VA)").count() == 1
        assert s.page.get_by_text("Recovery operations (1)").count() >= 1, s.page.inner_text("body")[:1500]
        assert not s.exceptions() and s.outbound == []
        s.shot("assessment-profile-after")
    finally:
        s.close()
