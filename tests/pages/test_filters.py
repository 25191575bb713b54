"""The pages' filter panels (shisn.web.widgets.filters) in Streamlit's AppTest: a page opens with its filters in a closed
panel whose label says what is shown, the URL's values apply while it is closed, opening it shows the select boxes
on those values, and a choice made there stays (in the label, the URL and the figures) after it is closed again.
A shared link thus opens with no select box for the browser to load, and nothing of the filters is lost."""

import pytest

from shisn.domain import auth, catalog, coverage
from shisn.store import queries
from tests.support import ROOT, page_as

NATIONAL = ROOT / "pages" / "national.py"
PAIRINGS = ROOT / "pages" / "pairings.py"
PROFILE = ROOT / "pages" / "state_profile.py"
LEAD = auth.Viewer(auth.LEADERSHIP, "L")


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def labels(at) -> list[str]:
    return [e.label for e in at.expander]


def reporting(at) -> str:
    return next(m.value for m in at.metric if m.label == "Reporting")


@pytest.fixture
def latest(demo_db):
    from shisn.store import db

    con = db.connect(demo_db, read_only=True)
    cycles = queries.cycles(con)
    rows = {c: queries.assessments(con, c) for c in cycles}
    con.close()
    return cycles, rows


def test_a_link_opens_with_its_filters_applied_and_named_in_the_closed_panel(demo_db, latest):
    cycles, rows = latest
    older = cycles[1]
    at = ok(page_as(LEAD, NATIONAL, {"cycle": older, "area": "exercises", "region": 4}))
    assert not at.get("selectbox")  # the panel is closed: no select box drawn
    assert f"Filters · {older} · {catalog.area_short('exercises')} · Region IV" in labels(at)
    k = coverage.kpis(rows[older], region=4, area="exercises")
    assert reporting(at) == f"{k['reporting']} of 8"  # the filters apply while the panel is closed


def test_a_choice_made_in_the_opened_panel_stays_after_it_is_closed(demo_db, latest):
    cycles, rows = latest
    at = ok(page_as(LEAD, NATIONAL, {"area": "training"}, filters_open=True))
    assert at.selectbox(key="cycle").value == cycles[0] and at.selectbox(key="area").value == "training"
    at.selectbox(key="region").set_value(3).run()
    assert at.query_params["region"] == "3"
    at.session_state["filters_open"] = False  # what closing the panel sets
    at.run()
    ok(at)
    assert not at.get("selectbox")
    assert f"Filters · {cycles[0]} · {catalog.area_short('training')} · Region III" in labels(at)
    assert at.query_params["region"] == "3" and at.query_params["area"] == "training"
    k = coverage.kpis(rows[cycles[0]], region=3, area="training")
    assert reporting(at) == f"{k['reporting']} of 6"  # Region III has 6 jurisdictions
    at.run()  # and in the runs after (the select boxes' own state is gone by then)
    assert f"Filters · {cycles[0]} · {catalog.area_short('training')} · Region III" in labels(at)
    assert reporting(at) == f"{k['reporting']} of 6"


def test_program_areas_chosen_on_pairings_are_kept_while_the_panel_is_closed(demo_db, latest):
    cycles, _ = latest
    at = ok(page_as(LEAD, PAIRINGS, filters_open=True))
    every = len(at.dataframe[0].value)
    at.multiselect(key="areas").set_value(["exercises", "training"]).run()
    chosen = at.dataframe[0].value
    assert 0 < len(chosen) < every
    assert set(chosen["Program area"]) <= {catalog.area_short("exercises"), catalog.area_short("training")}
    at.session_state["filters_open"] = False
    at.run()
    at.run()
    ok(at)
    assert not at.get("multiselect")
    assert f"Filters · {cycles[0]} · Exercises, Training systems · All regions" in labels(at)
    assert at.dataframe[0].value.equals(chosen)


def test_the_state_profile_names_its_state_and_cycle_and_a_choice_changes_them(demo_db, latest):
    cycles, _ = latest
    at = ok(page_as(LEAD, PROFILE, {"state": "virginia"}))
    assert not at.get("selectbox")
    assert f"State and cycle · Virginia (VA) · {cycles[0]}" in labels(at)
    assert at.header[0].value == "Virginia (VA)"
    at.session_state["filters_open"] = True
    at.run()
    at.selectbox(key="state").set_value("MT").run()
    assert at.header[0].value == "Montana (MT)" and at.query_params["state"] == "MT"
    assert f"State and cycle · Montana (MT) · {cycles[0]}" in labels(at)
