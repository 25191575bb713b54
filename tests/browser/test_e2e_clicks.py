"""Browser tests of the clickable views, on the real app in Debian's Chromium (server fixture and helpers
from tests/browser/test_e2e.py): a click on the national map at a state's position and a click on a heatmap cell open the
right panel, the mentors listed are eligible ones, the URL holds the selection, and reopening that URL in a new
session restores it. Run alone with `pytest -m e2e tests/browser/test_e2e_clicks.py`."""

from __future__ import annotations

import math
import time
import urllib.parse

import pytest

from shisn import demo
from shisn.domain import catalog, jurisdictions
from shisn.render import maps
from tests.browser import session as base

pytestmark = pytest.mark.e2e

TALL = {"width": 1440, "height": 2300}  # everything on screen: no scrolling between measuring and clicking


def _yes(v) -> bool:
    return str(v).strip().lower() in ("yes", "y", "true", "1")


@pytest.fixture(scope="module")
def latest():
    """The demo data the server seeded (default seed), latest cycle, with plain booleans."""
    rows = demo.generate()
    rows = rows[rows["cycle"] == rows["cycle"].max()].copy()
    rows["offers"] = rows["offers_help"].map(_yes)
    rows["seeks"] = rows["seeks_help"].map(_yes)
    rows["maturity"] = rows["maturity"].astype(int)
    return rows


def session(browser, server, path: str) -> base.Session:
    s = base.Session(browser, server["base"])
    s.page.set_viewport_size(TALL)
    s.open("/")  # the app shell first (the role switcher), then the link
    s.open(path)
    return s


def params(s: base.Session) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(s.page.url).query).items()}


def wait_for_param(s: base.Session, **want):
    """Until the URL holds every `want` (the click's rerun has finished), then until the script is done."""
    end = time.time() + 90
    while time.time() < end:
        if all(params(s).get(k) == v for k, v in want.items()):
            s.wait_ready()
            return
        s.page.wait_for_timeout(200)
    raise AssertionError(f"the URL never got {want}: {s.page.url}")


def click(s: base.Session, x: float, y: float):
    """A user's click: hover first (deck.gl picks on the way), then press and release in place."""
    s.page.mouse.move(x - 6, y - 4)
    s.page.wait_for_timeout(150)
    s.page.mouse.move(x, y)
    s.page.wait_for_timeout(300)
    s.page.mouse.click(x, y)


def _world(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    scale = maps.TILE_PX * 2**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * scale, (1 - y / math.pi) / 2 * scale


def map_position(s: base.Session, code: str) -> tuple[float, float]:
    """Where `code`'s label point is drawn on the national map (Web Mercator around the deck's initial view)."""
    view = maps.fit_view(maps.bounds(jurisdictions.geojson()), maps.MAP_WIDTH_PX, maps.MAP_HEIGHT_PX)
    props = next(f["properties"] for f in jurisdictions.geojson()["features"] if f["properties"]["code"] == code)
    box = s.page.locator("[data-testid=stDeckGlJsonChart] canvas").first.bounding_box()
    cx, cy = _world(view.longitude, view.latitude, view.zoom)
    px, py = _world(float(props["label_lon"]), float(props["label_lat"]), view.zoom)
    return box["x"] + box["width"] / 2 + (px - cx), box["y"] + box["height"] / 2 + (py - cy)


CELL_JS = """([x, y]) => {
  const gd = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  return [r.left + xa._offset + xa.d2p(x), r.top + ya._offset + ya.d2p(y)];
}"""


def table_rows(s: base.Session, header: str) -> list[list[str]]:
    """The body rows of the static table (displays.text_table: a Markdown table) whose header row has `header`."""
    for t in s.page.locator("[data-testid=stMarkdown] table").all():
        heads = [h.inner_text().strip() for h in t.locator("thead th").all()]
        if header in heads:
            return [[c.inner_text().strip() for c in r.locator("td, th").all()] for r in t.locator("tbody tr").all()]
    return []


def test_a_click_on_the_map_selects_that_state_and_its_link_reopens_it(browser, server):
    s = session(browser, server, "/national")
    try:
        assert s.drawn()
        click(s, *map_position(s, "MT"))
        wait_for_param(s, selected_state="MT")
        assert s.page.get_by_role("heading", name="Montana (MT) · Region VIII").count() == 1
        assert table_rows(s, "Offers / seeks"), "the panel lists Montana's ratings"
        assert s.page.get_by_role("link", name="Open its profile").count() == 1
        assert not s.exceptions() and s.outbound == []
        s.shot("clicks-map-montana")
        url = s.page.url
    finally:
        s.close()
    again = session(browser, server, url[url.index("/national") :])  # the shared link, in a new session
    try:
        assert params(again)["selected_state"] == "MT"
        assert again.page.get_by_role("heading", name="Montana (MT) · Region VIII").count() == 1
        # the keyboard alternative's panel names the selection, and its select box shows it when opened
        assert (
            again.page.locator("[data-testid=stExpander] summary")
            .filter(has_text="Select by name · Montana (MT)")
            .count()
            == 1
        )
        assert again.open_panel("Select by name")
        box = again.page.locator("[data-testid=stSelectbox]").filter(has_text="Jurisdiction").first
        shown = box.inner_text() + " " + " ".join(i.input_value() for i in box.locator("input").all())
        assert "Montana (MT)" in shown  # the keyboard alternative shows the same selection
    finally:
        again.close()


def test_a_click_on_a_heatmap_cell_lists_eligible_mentors_and_its_link_reopens_it(browser, server, latest):
    # a need with eligible mentors: (state, area) seeking guidance where others offer help at 4+ above it
    rows = latest[latest["program_area"] != catalog.OTHER]
    needs = rows[rows["seeks"]].sort_values(["state", "program_area"])
    target = None
    for n in needs.itertuples():
        ok = rows[
            (rows["program_area"] == n.program_area)
            & rows["offers"]
            & (rows["maturity"] >= catalog.MENTOR_MIN)
            & (rows["maturity"] > n.maturity)
            & (rows["state"] != n.state)
        ]
        if len(ok) >= 2:
            target, eligible = n, set(ok["state"])
            break
    assert target is not None
    code, area = target.state, target.program_area
    s = session(browser, server, "/national?view=Strengths+and+gaps")
    try:
        assert s.drawn()
        x, y = s.page.evaluate(CELL_JS, [catalog.area_short(area), f"{jurisdictions.names()[code]} ({code})"])
        click(s, x, y)
        wait_for_param(s, selected_state=code, selected_area=area)
        heading = f"{jurisdictions.names()[code]} ({code}) · {catalog.area_short(area)}"
        assert s.page.get_by_role("heading", name=heading).count() == 1
        listed = [r[0] for r in table_rows(s, "Score")]
        assert listed and set(listed) <= eligible, (listed, eligible)  # only eligible mentors, and some
        assert set(listed) == eligible  # every eligible mentor, best pairing score first
        scores = [float(r[3]) for r in table_rows(s, "Score")]
        assert scores == sorted(scores, reverse=True)
        assert s.open_panel("Open an exchange with")  # leadership may act: the form opens on request
        assert s.page.get_by_role("button", name="Open an exchange", exact=True).count() == 1
        assert not s.exceptions() and s.outbound == []
        s.shot("clicks-heatmap-cell")
        url = s.page.url
    finally:
        s.close()
    again = session(browser, server, url[url.index("/national") :])
    try:
        assert params(again)["selected_state"] == code and params(again)["selected_area"] == area
        assert again.page.get_by_role("heading", name=heading).count() == 1
        assert {r[0] for r in table_rows(again, "Score")} == eligible
    finally:
        again.close()


TOP_CELL_JS = """() => {
  const gd = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  const t = gd._fullData.find(d => d.type === 'heatmap');
  const ys = t.y.map(y => [y, ya.d2p(y)]).sort((a, b) => a[1] - b[1]);
  return [r.left + xa._offset + xa.d2p(t.x[0]), r.top + ya._offset + ys[0][1], ys[0][0], t.x[0]];
}"""


def test_the_answer_to_a_click_high_on_the_heatmap_is_brought_into_view(browser, server):
    s = base.Session(browser, server["base"])  # an ordinary window: 1440 x 900
    try:
        s.open("/")
        s.open("/national?view=Strengths+and+gaps")
        s.page.locator("[data-testid=stPlotlyChart]").first.scroll_into_view_if_needed()
        s.page.locator("[data-testid=stPlotlyChart] .js-plotly-plot").first.evaluate("e => e.scrollIntoView()")
        x, y, row, column = s.page.evaluate(TOP_CELL_JS)
        assert 0 < y < 900, y
        click(s, x, y)
        wait_for_param(s, selected_area=catalog.area_slug(column) or column)
        heading = s.page.get_by_role("heading", name=f"{row} · {column}")
        heading.wait_for(timeout=60_000)
        base.playwright.expect(heading).to_be_in_viewport(timeout=10_000)  # not left below the 1,200-pixel chart
        assert not s.exceptions() and s.outbound == []
    finally:
        s.close()
