"""Real-browser end-to-end tests: the real app (`streamlit run`, headless, on a free loopback port) driven by
Playwright in Debian's Chromium. For every role and every page: the script finishes, no exception element, no
console error, the main chart or map is drawn, and not one request leaves the loopback.
Run alone with `pytest -m e2e`; screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.browser.session import ROLES, Session, as_role, download, playwright, running_app

pytestmark = pytest.mark.e2e
CHART_PAGES = {"National coverage", "State profile"}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_for_every_role_is_clean_offline(browser, server, role):
    s = as_role(browser, server, role)
    try:
        titles = [t for t, _ in s.nav_links()] or [None]  # one page only: no menu, the page is already open
        failures = []
        for title in titles:
            if title:
                s.errors.clear()
                s.go(title)
            title = title or "home"
            s.shot(f"{role}-{title.lower().replace(' ', '_')}")
            if s.exceptions():
                failures.append(f"{title}: exception {s.exceptions()[0]}")
            errs = [e for e in s.errors if "Failed to load resource" not in e]
            if errs:
                failures.append(f"{title}: console errors {errs[:3]}")
            if title in CHART_PAGES and not s.drawn():
                failures.append(f"{title}: no chart or map drawn")
        assert not failures, failures
        assert s.outbound == [], f"requests left the loopback: {s.outbound[:10]}"
    finally:
        s.close()


def test_direct_page_url_without_session_role_is_guarded(browser, server):
    """A page URL opened directly still runs through the entry point: the viewer is resolved first."""
    s = Session(browser, server["base"])
    try:
        s.open("/data")
        assert not s.exceptions()
        # the role is resolved and labelled as demo (the sidebar's switcher panel names it)
        sidebar = s.page.locator("[data-testid=stSidebar]")
        assert sidebar.get_by_text("Viewing as: ODP leadership (demo)").count() == 1
        assert s.outbound == []
    finally:
        s.close()


def test_the_role_panel_opened_the_moment_it_appears_on_the_landing_link_opens_on_its_buttons(browser, server):
    """`/` hands over to the viewer's landing page. A user who clicks the sidebar's role panel as soon as it shows
    (before the page has settled) gets the role buttons, not an open, empty panel: `/` itself draws no widget (a
    click on a widget of the page being left is lost), so the panel first shows at the landing page's address."""
    s = Session(browser, server["base"])
    try:
        s.ctx.add_init_script("""
            window.__panelAt = [];
            new MutationObserver(() => {
                const panel = document.querySelector('[data-testid=stSidebar] [data-testid=stExpander]');
                if (panel && !window.__panelAt.includes(location.pathname)) window.__panelAt.push(location.pathname);
            }).observe(document, {subtree: true, childList: true});""")
        s.page.goto(server["base"] + "/")
        sidebar = s.page.locator("[data-testid=stSidebar]")
        panel = sidebar.get_by_text("Viewing as: ODP leadership (demo)")
        panel.wait_for(timeout=60_000)
        panel.click()
        s.wait_ready()
        assert s.page.evaluate("window.__panelAt") == ["/national"]
        assert sidebar.get_by_role("radio", name=ROLES["program_manager"], exact=True).count() == 1
        assert not s.exceptions()
    finally:
        s.close()


# --- one journey per role -------------------------------------------------------------------------------------


def test_journey_leadership_filters_by_region_and_opens_a_state(browser, server):
    s = as_role(browser, server, "leadership")
    try:
        s.go("National coverage")
        s.choose("FEMA region", "Region III")
        assert "region=3" in s.page.url  # the view is a shareable link
        # the filters stay open for the next choice (the panel's label, now naming Region III, is a new expander)
        assert s.page.get_by_role("combobox", name="Program area", exact=True).is_visible()
        s.choose("Program area", "Exercise programs")
        assert "area=exercises" in s.page.url and "region=3" in s.page.url
        assert not s.exceptions() and s.drawn()
        s.shot("journey-leadership-region")
        s.go("State profile")
        s.choose("State or territory", "Virginia")
        assert s.page.get_by_role("heading", name="Virginia (VA)").count() == 1
        assert s.page.get_by_text("(rated 4–5)").count() >= 1
        assert not s.exceptions() and s.outbound == []
        s.shot("journey-leadership-state")
    finally:
        s.close()


def test_journey_program_manager_accepts_a_pair_and_opens_an_exchange(browser, server):
    s = as_role(browser, server, "program_manager")
    try:
        s.go("Pairings")
        grid = s.page.locator("[data-testid=stDataFrame]").first
        grid.scroll_into_view_if_needed()
        # the first data row's selection checkbox (row height 35 px, header 35 px, checkbox column ~ 30 px)
        s.click_in(grid, 16, 35 + 17)
        s.wait_ready()
        s.page.get_by_role("button", name="Open an exchange for this pair").click()
        s.wait_ready()
        assert s.page.get_by_text("opened (status: proposed)").count() == 1, s.page.inner_text("body")[:500]
        s.shot("journey-pm-opened")
        link = s.page.locator("[data-testid=stMain] [data-testid=stPageLink] a").filter(has_text="Go to Exchanges")
        ex_id = re.search(r"exchange=(\d+)", link.get_attribute("href")).group(1)  # the link opens the new one
        link.click()
        s.wait_ready()
        playwright.expect(s.page.get_by_text(f"Exchange {ex_id}:").first).to_be_visible(timeout=60_000)
        assert s.page.get_by_text("Proposed").count() >= 1
        assert not s.exceptions() and s.outbound == []
    finally:
        s.close()


def test_journey_state_uploads_a_corrected_self_assessment_and_sees_its_profile_change(browser, server, tmp_path):
    from shisn import demo

    rows = demo.generate()  # the server seeded the same synthetic set (default seed)
    va = rows[(rows["state"] == "VA") & (rows["cycle"] == rows["cycle"].max())].copy()
    va.loc[va["program_area"] == "recovery", ["maturity", "seeks_help"]] = [1, "yes"]
    f = tmp_path / "va-corrected.csv"
    va.to_csv(f, index=False)
    s = as_role(browser, server, "state")  # the demo state user is Virginia
    try:
        s.go("State profile")
        assert s.page.get_by_text("Recovery operations (1)").count() == 0
        s.go("Data")
        s.page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(f))
        s.page.locator("[data-testid=stFileUploader]").get_by_text("va-corrected.csv").wait_for()  # it arrived
        s.wait_ready()
        s.page.get_by_role("button", name="Validate and load").click()
        s.wait_ready()
        assert s.page.get_by_text("loaded va-corrected.csv").count() == 1, s.page.inner_text("body")[:800]
        s.shot("journey-state-loaded")
        s.go("State profile")
        assert s.page.get_by_text("Recovery operations (1)").count() >= 1
        assert not s.exceptions() and s.outbound == []
        s.shot("journey-state-profile-after")
    finally:
        s.close()


def test_views_are_tabs_and_downloads_arrive_and_are_audited(browser, server):
    """The national page computes one view at a time (tabs bound to the URL); each download button (national CSV,
    state report, pairs CSV) hands over its file with the content of the view, and every click leaves an audit
    record."""
    import duckdb

    s = as_role(browser, server, "leadership")
    try:
        s.go("National coverage")
        s.page.get_by_role("tab", name="Strengths and gaps").click()
        s.wait_ready()
        assert "view=Strengths" in s.page.url
        assert s.page.locator("[data-testid=stDeckGlJsonChart]").count() == 0 and s.drawn()
        assert s.page.get_by_role("combobox", name="Order rows by").count() == 0  # in the closed panel
        assert s.open_panel("Rows and selection")
        assert s.page.get_by_role("combobox", name="Order rows by").count() == 1
        got = download(s, "Download table (CSV)")
        csv_text = Path(got.value.path()).read_text(encoding="utf-8-sig")  # with a BOM, for Excel
        assert csv_text.splitlines()[0].startswith("state,") and len(csv_text.splitlines()) > 56
        s.wait_ready()
        s.go("State profile")
        got = download(s, "Printable report")
        html = Path(got.value.path()).read_text(encoding="utf-8")
        assert got.value.suggested_filename.endswith(".html") and "<svg" in html and "Alabama" in html
        s.wait_ready()
        s.go("Pairings")
        got = download(s, "Download pairs (CSV)")
        pairs_csv = Path(got.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert got.value.suggested_filename.startswith("shisn-pairs-") and pairs_csv[0].startswith("mentor,mentee,")
        assert len(pairs_csv) > 10
        s.wait_ready()
        s.page.get_by_role("tab", name="Map").click()
        s.wait_ready()
        assert "pairings_view=Map" in s.page.url and s.drawn()
        assert not s.exceptions() and s.outbound == []
    finally:
        s.close()
    # the server holds the store's lock: read a copy (the file and its write-ahead log)
    copy = server["work"] / "audit-copy"
    copy.mkdir(exist_ok=True)
    for f in server["work"].glob("shisn.duckdb*"):
        shutil.copy(f, copy / f.name)
    con = duckdb.connect(str(copy / "shisn.duckdb"))
    try:
        actions = [r[0] for r in con.execute("SELECT detail FROM audit_log WHERE action = 'export'").fetchall()]
    finally:
        con.close()
    assert any("national coverage CSV" in a for a in actions) and any("state report AL" in a for a in actions)
    assert any(a.startswith("pairs CSV") for a in actions)


def test_a_link_opening_a_fresh_servers_first_session_gets_the_whole_app(browser, tmp_path):
    """The first session after the server starts, opened by a shared link to a page: the app's own menu, demo
    label and roles, the page the link names with its query string, and no "Page not found"."""
    with running_app(tmp_path) as base:
        s = Session(browser, base)
        try:
            s.open("/state_profile?state=virginia&profile_view=POETE+and+trend")
            # the page hands over to the app's navigation, which reopens it: wait for the page the link names
            playwright.expect(s.page.get_by_role("heading", name="Virginia (VA)")).to_have_count(1, timeout=90_000)
            s.wait_ready()
            assert s.page.get_by_text("Page not found").count() == 0
            assert [t for t, _ in s.nav_links()][:3] == ["Work queue", "National coverage", "Pairings"]
            assert s.page.get_by_role("heading", name="POETE sub-ratings").count() == 1
            assert s.page.get_by_text("Demo data.").count() >= 1
            assert not s.exceptions() and s.outbound == []
        finally:
            s.close()


def test_every_page_address_opens_that_page_with_its_query(browser, server):
    """Shared links: each page at its own address (the landing page too), filters and view from the query string,
    and never a "Page not found"."""
    s = Session(browser, server["base"])
    try:
        s.open("/national?region=3&view=FEMA+regions")
        assert s.page.get_by_text("Page not found").count() == 0
        assert s.page.get_by_role("heading", name="FEMA regions · Region III").count() == 1
        s.open("/?area=exercises")  # the bare address opens the landing page, keeping the query
        assert "/national?" in s.page.url and "area=exercises" in s.page.url
        for path, heading in (
            ("/pairings", "Pairing suggestions"),
            ("/state_profile?state=MD", "Maryland (MD)"),
            ("/exchanges", "Exchanges"),
            ("/data", "Self-assessment data"),
        ):
            s.open(path)
            assert s.page.get_by_text("Page not found").count() == 0, path
            assert s.page.get_by_role("heading", name=heading).count() >= 1, path
        assert not s.exceptions() and s.outbound == []
    finally:
        s.close()


# --- cold opens without lazily loaded widget code: the keyboard choices and forms are in panels, opened on request ---


def _summary(s: Session, title: str):
    return s.page.locator("[data-testid=stExpander] summary").filter(has_text=title).first


def test_exchanges_open_cold_without_a_select_box_and_a_row_click_still_opens_one(browser, server):
    """/exchanges opened cold draws no select box: the keyboard alternative to a row click is a closed panel named
    after the exchange shown. A row click opens an exchange and puts it in the URL as before; the opened panel
    chooses another by keyboard; a link naming an exchange opens it at once, the panel closed."""
    s = Session(browser, server["base"])
    try:
        s.open("/exchanges")
        assert s.page.get_by_role("combobox").count() == 0
        assert "none chosen" in _summary(s, "Exchange ·").inner_text()
        grid = s.page.locator("[data-testid=stDataFrame]").first
        grid.scroll_into_view_if_needed()
        s.click_in(grid, 16, 35 + 17)  # the first row's selection box
        s.wait_ready()
        assert "exchange=" in s.page.url, s.page.url
        ex_id = int(s.page.url.split("exchange=")[1].split("&")[0])
        assert s.page.get_by_role("heading").filter(has_text=f"Exchange {ex_id}:").count() == 1
        assert f"Exchange · {ex_id} · " in _summary(s, "Exchange ·").inner_text()
        assert s.open_panel("Exchange ·")
        combo = s.page.get_by_role("combobox", name="Exchange", exact=True)
        assert combo.count() == 1
        combo.click()
        options = s.page.get_by_role("option")
        texts = [options.nth(i).inner_text().strip() for i in range(options.count())]
        other = next(t for t in texts if t.split(" · ")[0].isdigit() and int(t.split(" · ")[0]) != ex_id)
        options.filter(has_text=other).first.click()
        s.wait_ready()
        other_id = int(other.split(" · ")[0])
        assert f"exchange={other_id}" in s.page.url
        assert s.page.get_by_role("heading").filter(has_text=f"Exchange {other_id}:").count() == 1
        s.open(f"/exchanges?exchange={ex_id}")
        assert s.page.get_by_role("heading").filter(has_text=f"Exchange {ex_id}:").count() == 1
        assert s.page.get_by_role("combobox", name="Exchange", exact=True).count() == 0
        assert f"Exchange · {ex_id} · " in _summary(s, "Exchange ·").inner_text()
        assert not s.exceptions() and s.outbound == []
    finally:
        s.close()


def test_impact_opens_cold_without_a_select_box_and_the_report_is_the_linked_cycles(browser, server):
    """/impact opened by a link naming an older cycle: no select box or number input; the closed Cycle report panel
    names that cycle and the printable report is that cycle's. A cycle chosen in the opened panel is the report's;
    leadership's stuck-days setting (Network health) opens on request."""
    from shisn import demo

    latest, older = sorted({int(c) for c in demo.generate()["cycle"]}, reverse=True)[:2]
    s = Session(browser, server["base"])
    try:
        s.open(f"/impact?impact_cycle={older}")
        assert s.page.get_by_role("combobox").count() == 0 and s.page.get_by_role("spinbutton").count() == 0
        assert f"Cycle report · {older}" in _summary(s, "Cycle report ·").inner_text()
        got = download(s, "Printable cycle report")
        assert got.value.suggested_filename == f"shisn-cycle-report-{older}.html"
        assert f"<h1>Cycle report {older}</h1>" in Path(got.value.path()).read_text(encoding="utf-8")
        s.wait_ready()
        assert s.open_panel("Cycle report ·")
        s.choose("Cycle report", str(latest))
        assert f"impact_cycle={latest}" in s.page.url
        got = download(s, "Printable cycle report")
        assert got.value.suggested_filename == f"shisn-cycle-report-{latest}.html"
        s.wait_ready()
        s.open("/impact?impact_view=Network+health")
        assert s.page.get_by_role("spinbutton").count() == 0 and s.page.get_by_role("combobox").count() == 0
        assert s.open_panel("When an exchange counts as stuck")
        assert s.page.get_by_role("spinbutton", name="Count an exchange as stuck after (days)").count() == 1
        assert not s.exceptions() and s.outbound == []
    finally:
        s.close()
