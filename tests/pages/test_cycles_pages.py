"""A reporting cycle as an office runs it, on the demo store: one state's early report for the next cycle leaves
every page on the last closed cycle (the open one chosen is labelled in progress and provisional); leadership opens
a cycle with a due date (the form opens on it and says so) and closes it (the pages move to it)."""

import datetime as dt

import pytest

from shisn.domain import auth, quality
from shisn.store import db, ingest, queries, reporting_cycles
from tests import support
from tests.support import ROOT, make_csv

LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
STATE_MD = auth.Viewer(auth.STATE, "MD user", ("MD",))
PAGES = ROOT / "pages"
NEXT = 2027


@pytest.fixture
def store(demo_db):
    con = db.connect(demo_db)
    yield con
    con.close()


def early_report(con, state="VA", cycle=NEXT):
    """`state` reports for `cycle` before anyone else (its 2026 ratings again), through the validated loader."""
    rows = queries.assessments(con, 2026, [state])
    data = make_csv(
        [
            [
                r.state,
                r.program_area,
                cycle,
                int(r.maturity),
                "yes" if r.offers_help else "no",
                "yes" if r.seeks_help else "no",
                "",
            ]
            for r in rows.itertuples(index=False)
            if r.program_area != "other"
        ]
    )
    ingest.load(con, [(f"{state}-{cycle}.csv", data)], f"{state} user", this_year=cycle)


def page(viewer, name, session=None, **params):
    at = support.page_as(viewer, PAGES / f"{name}.py", params, **(session or {}))
    assert not at.exception, at.exception
    return at


def infos(at):
    return " ".join(i.value for i in at.info)


def test_an_early_report_leaves_every_page_on_the_last_closed_cycle(store):
    early_report(store)
    assert queries.cycles(store)[0] == NEXT
    assert queries.latest_cycle(store) == 2026
    at = page(LEAD, "national")
    assert at.query_params["cycle"] == "2026"
    assert {m.label: m.value for m in at.metric}["Reporting"] != "1 of 56"
    assert "in progress" not in infos(at)
    profile = page(LEAD, "state_profile", state="MD")
    assert profile.query_params["cycle"] == "2026"
    assert page(LEAD, "pairings").query_params["cycle"] == "2026"
    # no stale flag for the 55 states whose report for the open cycle is not yet due
    rows = queries.assessments(store)
    flags = quality.flags(rows, latest_cycle=queries.latest_cycle(store))
    assert not len(flags[(flags["rule"] == quality.STALE) & (flags["cycle"] == NEXT)])


def test_the_open_cycle_chosen_is_labelled_in_progress_and_provisional(store):
    early_report(store)
    at = page(LEAD, "national", cycle=str(NEXT))
    assert at.query_params["cycle"] == str(NEXT)
    assert f"Cycle {NEXT} is in progress: 1 of 56 reported" in infos(at) and "provisional" in infos(at)
    assert any(e.label.startswith(f"Filters · {NEXT} (in progress)") for e in at.expander)
    for name in ("pairings", "state_profile"):
        assert "provisional" in infos(page(LEAD, name, cycle=str(NEXT), state="VA"))
    assert "provisional" not in infos(page(LEAD, "national", cycle="2026"))


def test_leadership_opens_a_cycle_the_form_opens_on_it_and_closing_moves_the_pages(store):
    reporting_cycles.open_cycle(store, NEXT, "2027-03-31", "Lee Leader", now=dt.datetime(2026, 12, 1))
    form = page(STATE_MD, "assessment")
    assert form.query_params["cycle"] == str(NEXT)
    assert any(f"Self-assessment for {NEXT}, due 2027-03-31" in c.value for c in form.caption)
    early_report(store)
    early_report(store, "MD")
    assert page(LEAD, "national").query_params["cycle"] == "2026"
    assert "2 of 56 reported, due 2027-03-31" in infos(page(LEAD, "national", cycle=str(NEXT)))
    reporting_cycles.close_cycle(store, NEXT, "Lee Leader", now=dt.datetime(2027, 4, 2))
    assert queries.latest_cycle(store) == NEXT
    at = page(LEAD, "national")
    assert at.query_params["cycle"] == str(NEXT) and "in progress" not in infos(at)
    # closed, the states that did not report are now late: the stale flag is raised
    flags = quality.flags(queries.assessments(store), latest_cycle=queries.latest_cycle(store))
    assert len(flags[(flags["rule"] == quality.STALE) & (flags["cycle"] == NEXT)]) >= 50


def test_leadership_opens_and_closes_a_cycle_on_the_data_page(store):
    at = page(LEAD, "data", {"cycles_open": True})
    [year] = [n for n in at.number_input if n.label == "Cycle (year)"]
    assert year.value == NEXT
    year.set_value(NEXT)
    [due] = [d for d in at.date_input if d.label == "Due on"]
    due.set_value(dt.date(2027, 3, 31))
    [opening] = [b for b in at.button if b.label == "Open for reporting"]
    at = opening.click().run()
    assert not at.exception
    assert f"Cycle {NEXT} is open for reporting, due 2027-03-31." in [s.value for s in at.success]
    c = reporting_cycles.collecting(reporting_cycles.status(store))
    assert (c.cycle, c.due_on) == (NEXT, dt.date(2027, 3, 31))
    table = [d.value for d in at.dataframe if "due_on" in d.value.columns][0]
    assert table.iloc[0]["status"] == "open"
    at.selectbox[0].set_value(NEXT)
    at = [b for b in at.button if b.label == "Close the cycle"][0].click().run()
    assert f"Cycle {NEXT} is closed (0 of 56 reported)." in [s.value for s in at.success]
    assert reporting_cycles.find(reporting_cycles.status(store), NEXT).status == "closed"


def test_others_see_the_cycles_but_cannot_change_them(store):
    for viewer in (STATE_MD, auth.Viewer(auth.PROGRAM_MANAGER, "Pat", ("MD",))):
        at = page(viewer, "data", {"cycles_open": True})
        assert any("due_on" in d.value.columns for d in at.dataframe)
        assert not [b for b in at.button if b.label in ("Open for reporting", "Close the cycle")]
        assert not any(e.label == "Open or close a cycle" for e in at.expander)
