"""The national coverage page in Streamlit's AppTest, on the seeded demo data: leadership and program managers land
on it, the KPIs are the numbers shisn.domain.coverage computes, filters come from (and go to) the URL, notes in the heatmap
follow the viewer's rights, and the page refuses viewers it is not for."""

import json
import os

import pytest
from streamlit.testing.v1 import AppTest

from shisn import demo
from shisn.domain import auth, coverage
from shisn.domain.auth import Viewer
from shisn.store import db, queries
from tests.support import ROOT, static_tables

APP = str(ROOT / "app.py")
PAGE = str(ROOT / "pages" / "national.py")
KPI_LABELS = ["Reporting", "Mentors offered", "Needs raised", "Needs with a mentor", "Needs with none → TA"]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One freshly seeded demo store for the module (SHISN_DB points the app at it); yields its assessments and
    program-manager assignments."""
    path = tmp_path_factory.mktemp("national") / "demo.duckdb"
    con = db.connect(path)
    demo.write_demo(con)
    data = {c: queries.assessments(con, c) for c in queries.cycles(con)}
    pms = queries.program_managers(con)
    con.close()
    old = os.environ.get("SHISN_DB")
    os.environ["SHISN_DB"] = str(path)
    yield data, pms
    if old is None:
        os.environ.pop("SHISN_DB", None)
    else:
        os.environ["SHISN_DB"] = old


def app_as(role, query=None, **state):
    """The whole app viewed as `role` (demo switcher keys set before the first run), with URL query params."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["demo_role"] = role
    for k, v in state.items():
        at.session_state[k] = v
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at):
    return {m.label: m for m in at.metric}


def heatmap_spec(at):
    """The jurisdiction × area heatmap (the only plotly chart of the "Strengths and gaps" view)."""
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][1]["name"] == "maturity"
    return spec


def test_leadership_lands_on_national_coverage_with_every_part(demo_db):
    data, _ = demo_db
    at = ok(app_as("leadership"))
    assert at.title[0].value == "National coverage"
    assert list(metrics(at)) == KPI_LABELS
    assert len(at.get("deck_gl_json_chart")) == 1  # the map is the first view
    assert not at.get("plotly_chart")  # the other views are computed only when their tab is opened
    assert len(at.get("download_button")) == 1
    # the filters' panel opens closed (no select box for the browser to load) and says what is shown
    assert not at.get("selectbox")
    assert any(e.label == "Filters · 2026 · All areas (mean) · All regions" for e in at.expander)
    assert at.query_params["cycle"] == "2026" and at.query_params["area"] == "all"  # the view is a shareable link
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert len(deck["layers"][0]["data"]["features"]) == 56 and "http" not in json.dumps(deck)


@pytest.mark.parametrize(
    "view, chart, traces, tables, selects",
    [
        # clickable charts are keyed with the selection generation (widgets.chart_key); the heatmap's cells are points;
        # the tables beside a chart are static (Markdown, displays.text_table): the TA list, the region totals
        (coverage.VIEW_HEATMAP, "heatmap-0", {"heatmap", "scatter"}, 0, {"sort", "_pick_selected_state"}),
        (coverage.VIEW_SUPPLY, "supply_demand-0", {"bar"}, 1, {"_pick_selected_area"}),
        (coverage.VIEW_REGIONS, "regions", {"heatmap"}, 1, set()),
    ],
)
def test_each_view_is_one_tab_opened_from_the_url(demo_db, view, chart, traces, tables, selects):
    at = ok(app_as("leadership", {"view": view}, pick_open=True))  # the view's select boxes opened
    assert not at.get("deck_gl_json_chart")
    shown = at.get("plotly_chart")
    assert len(shown) == 1 and shown[0].proto.id.endswith("-" + chart)
    assert {t["type"] for t in json.loads(shown[0].proto.spec)["data"]} == traces
    assert len(static_tables(at)) == tables and not at.table and not at.dataframe
    assert selects <= {s.key for s in at.selectbox}
    assert at.query_params["view"] == view and list(metrics(at)) == KPI_LABELS  # KPIs stay above every view


def test_kpis_are_the_coverage_numbers_with_change_since_the_previous_cycle(demo_db):
    data, _ = demo_db
    at = ok(app_as("leadership"))
    now, before = coverage.kpis(data[2026]), coverage.kpis(data[2025])
    m = metrics(at)
    assert m["Reporting"].value == f"{now['reporting']} of 56"
    assert m["Mentors offered"].value == str(now["mentors_offered"])
    assert m["Needs raised"].value == str(now["needs"])
    assert m["Needs with a mentor"].value == f"{now['needs_covered']} · {now['covered_pct']:.0f}%"
    assert m["Needs with none → TA"].value == str(now["needs_uncovered"])
    assert now["needs_covered"] + now["needs_uncovered"] == now["needs"] > 0
    assert m["Mentors offered"].delta == str(now["mentors_offered"] - before["mentors_offered"])
    assert m["Needs with none → TA"].delta == str(now["needs_uncovered"] - before["needs_uncovered"])
    assert m["Needs with a mentor"].delta == str(round(now["covered_pct"] - before["covered_pct"]))  # in pp


def test_filters_come_from_the_url(demo_db):
    data, _ = demo_db
    at = ok(
        app_as(
            "leadership",
            {"cycle": "2024", "area": "exercises", "region": "4", "sort": "region", "view": coverage.VIEW_HEATMAP},
            filters_open=True,
        )
    )
    assert at.selectbox(key="cycle").value == 2024
    assert at.selectbox(key="area").value == "exercises"
    assert at.selectbox(key="region").value == 4
    assert any("Exercise programs" in h.value for h in at.header)
    k = coverage.kpis(data[2024], region=4, area="exercises")
    m = metrics(at)
    assert m["Reporting"].value == f"{k['reporting']} of 8"  # Region IV has 8 jurisdictions
    assert m["Needs raised"].value == str(k["needs"])
    heat = heatmap_spec(at)
    assert len(heat["data"][1]["y"]) == 8
    assert any("2024 · Exercise programs · Region IV" in (h.help or "") for h in at.header)


def test_unknown_url_values_fall_back_to_defaults(demo_db):
    at = ok(app_as("leadership", {"cycle": "1999", "area": "<script>", "region": "12"}, filters_open=True))
    assert at.selectbox(key="cycle").value == 2026
    assert at.selectbox(key="area").value == "all" and at.selectbox(key="region").value == "all"


def test_program_manager_sees_notes_only_for_assigned_states(demo_db):
    data, pms = demo_db
    name = sorted(pms["name"].unique())[0]
    assigned = set(pms.loc[pms["name"] == name, "state"])
    at = ok(app_as("program_manager", {"view": coverage.VIEW_HEATMAP}, demo_pm=name))
    assert list(metrics(at)) != KPI_LABELS  # a PM lands on the work queue: open National coverage from the menu
    at.switch_page("pages/national.py")
    at.query_params["view"] = coverage.VIEW_HEATMAP
    at = ok(at.run())
    assert list(metrics(at)) == KPI_LABELS
    cells = next(t for t in heatmap_spec(at)["data"] if t.get("name") == "cells")  # hover rides on the cell points
    rows = {}
    for y, text in zip(cells["y"], cells["hovertext"]):
        rows.setdefault(y[-3:-1], []).append(text)
    assert len(rows) == 56
    assigned_notes = [c for s, cells in rows.items() if s in assigned for c in cells if "Notes: " in c]
    others_notes = [c for s, cells in rows.items() if s not in assigned for c in cells if "Notes: " in c]
    assert assigned_notes and not others_notes
    assert any("shown to leadership" in c for s, cells in rows.items() if s not in assigned for c in cells)


def test_page_refuses_state_users_and_anonymous_visitors(demo_db, monkeypatch):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["shisn_viewer"] = Viewer(auth.STATE, "VA user", ("VA",))
    at.run()
    assert not at.exception and "This page is for" in at.warning[0].value
    assert not at.metric and not at.get("download_button")
    monkeypatch.setenv("SHISN_DEMO_ROLES", "0")  # outside demo mode nobody is signed in by default
    anon = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not anon.exception and "not signed in" in anon.warning[0].value and not anon.metric


def test_exchanges_can_be_shown_as_arcs_on_the_national_map(demo_db):
    import json

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["shisn_viewer"] = Viewer(auth.LEADERSHIP, "L")
    at.session_state["show_exchanges"] = "Show exchanges as arcs (mentor → mentee, coloured by status)"  # the chip
    at.run()
    assert not at.exception
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    arcs = [layer for layer in spec["layers"] if layer["id"] == "exchange-arcs"]
    assert arcs and len(arcs[0]["data"]) >= 6  # the demo exchanges, one arc per exchange × area
