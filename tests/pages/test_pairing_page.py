"""The Pairings page's view logic and the pairings/referrals CLI (the engine itself: test_pairing.py)."""

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from shisn.domain import auth, catalog, pairing, pairing_tables
from shisn.services import exchanges
from shisn.store import ingest, queries
from tests.support import ROOT, make_csv

# VA and PA mentor exercises; MD and WV (Region III) and TX (Region VI) seek help there; OK seeks recovery where
# nobody offers eligible help (NC offers at maturity 3: kept, not eligible).
ROWS = [
    ["VA", "exercises", 2025, 5, "yes", "no", "VA notes"],
    ["PA", "exercises", 2025, 4, "yes", "no", ""],
    ["MD", "exercises", 2025, 2, "no", "yes", "MD secret"],
    ["WV", "exercises", 2025, 1, "no", "yes", ""],
    ["TX", "exercises", 2025, 2, "no", "yes", ""],
    ["OK", "recovery", 2025, 1, "no", "yes", ""],
    ["NC", "recovery", 2025, 3, "yes", "no", ""],
]


@pytest.fixture
def loaded(con):
    ingest.load(con, [("f.csv", make_csv(ROWS))], "t", this_year=2026)
    return con


def test_region_filter_keeps_pairs_touching_the_region(loaded):
    r = pairing.suggest(queries.assessments(loaded, 2025), capacity=3)
    region3 = pairing_tables.scope_states(auth.Viewer("leadership", "L"), 3)
    shown = pairing_tables.filter_pairs(r.pairs, None, region3)
    assert set(shown["mentee"]) == {"MD", "WV", "TX"} & set(r.pairs["mentee"])  # TX's mentor is VA or PA (III)
    assert set(pairing_tables.filter_referrals(r.referrals, None, region3)["mentee"]) == set()
    region6 = pairing_tables.scope_states(auth.Viewer("leadership", "L"), 6)
    assert list(pairing_tables.filter_referrals(r.referrals, None, region6)["mentee"]) == ["OK"]
    assert pairing_tables.filter_pairs(r.pairs, ["recovery"], None).empty


def test_my_states_option_only_for_program_managers():
    pm = auth.Viewer("program_manager", "P", ("MD", "VA"))
    assert pairing_tables.region_options(pm)[0] == pairing_tables.MY_STATES
    assert pairing_tables.scope_states(pm, pairing_tables.MY_STATES) == {"MD", "VA"}
    assert pairing_tables.MY_STATES not in pairing_tables.region_options(auth.Viewer("leadership", "L"))


def test_summary_counts_served_share(loaded):
    r = pairing.suggest(queries.assessments(loaded, 2025), capacity=1)
    s = pairing_tables.summary(r.pairs, r.referrals)
    assert s["needs"] == 4 and s["pairs"] == 2 and s["referrals"] == 2  # 2 mentors × capacity 1
    assert s["served_share"] == pytest.approx(0.5)


def test_side_by_side_hides_notes_the_viewer_may_not_see(loaded):
    df = queries.assessments(loaded, 2025)
    state_user = auth.Viewer("state", "S", ("VA",))
    t = pairing_tables.side_by_side(df, "VA", "MD", state_user)
    assert "VA notes" in t["VA notes"].tolist()
    assert "MD notes" not in t.columns
    lead = pairing_tables.side_by_side(df, "VA", "MD", auth.Viewer("leadership", "L"))
    assert "MD secret" in lead["MD notes"].tolist()


def test_arcs_run_from_mentor_to_mentee(loaded):
    r = pairing.suggest(queries.assessments(loaded, 2025))
    a = pairing_tables.arcs(r.pairs)
    assert len(a) == len(r.pairs)
    assert list(a["from_code"]) == list(r.pairs["mentor"]) and list(a["to_code"]) == list(r.pairs["mentee"])
    assert a["colour"].eq(pairing_tables.AREA_COLOURS["exercises"]).all()


def test_recording_referrals_is_idempotent(loaded):
    r = pairing.suggest(queries.assessments(loaded, 2025))
    assert exchanges.refer_all(loaded, r.referrals, 2025, "pm") == len(r.referrals) == 1
    assert exchanges.refer_all(loaded, r.referrals, 2025, "pm") == 0


# --- CLI ------------------------------------------------------------------------------------------------------


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def cli_db(tmp_path):
    f = tmp_path / "rows.csv"
    f.write_bytes(make_csv(ROWS))
    db = tmp_path / "p.duckdb"
    assert run("load", f, "--db", db).returncode == 0
    return db


def test_cli_pairings_csv_and_candidates_file(cli_db, tmp_path):
    cand = tmp_path / "cand.csv"
    r = run("pairings", "--db", cli_db, "--candidates", cand)
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(io.StringIO(r.stdout))
    assert list(out.columns) == ["mentor", "mentee", "program_area", "score", "reasons"]
    assert set(out["mentee"]) == {"MD", "WV", "TX"} and set(out["mentor"]) <= {"VA", "PA"}
    c = pd.read_csv(cand)
    assert list(c.columns) == ["mentor", "mentee", "program_area", "score"]
    assert len(c) == 6  # 2 mentors × 3 exercise needs; nobody can take OK's recovery need
    # the chosen pairs are an optimum over the written candidates (capacity 3 does not bind for 3 needs, so the
    # optimum takes each need's best candidate)
    best = c.groupby("mentee")["score"].max().sum()
    assert out["score"].sum() == pytest.approx(best, abs=1e-6)


def test_cli_pairings_json_capacity_and_cycle(cli_db):
    r = run("pairings", "--db", cli_db, "--cycle", 2025, "--capacity", 1, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == 2
    bad = run("pairings", "--db", cli_db, "--cycle", 1999)
    assert bad.returncode == 2 and "no assessments for cycle 1999" in bad.stderr


def test_cli_referrals(cli_db):
    r = run("referrals", "--db", cli_db)
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(io.StringIO(r.stdout))
    assert list(out.columns) == ["state", "program_area", "reason"]
    assert out.iloc[0]["state"] == "OK" and "no state offers eligible help" in out.iloc[0]["reason"]
    assert "North Carolina" in out.iloc[0]["reason"]  # the offer below maturity 4 is named, with why


# --- the page (AppTest) ---------------------------------------------------------------------------------------


def page_as(viewer, tmp_path, monkeypatch, **query):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SHISN_DB", str(tmp_path / "page.duckdb"))
    at = AppTest.from_file(str(ROOT / "pages" / "pairings.py"), default_timeout=90)
    at.session_state["shisn_viewer"] = viewer
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_page_as_leadership_shows_pairs_map_and_referrals(tmp_path, monkeypatch):
    at = page_as(auth.Viewer("leadership", "L"), tmp_path, monkeypatch)
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Suggested pairs", "Needs served", "Referred to TA"]
    assert int(at.metric[0].value) > 20
    assert len(at.dataframe[0].value) == int(at.metric[0].value)  # the pairs are the first view
    assert not at.get("deck_gl_json_chart")  # the map is its own view, computed only when its tab is open
    at = page_as(
        auth.Viewer("leadership", "L"), tmp_path, monkeypatch, **{pairing_tables.VIEW_KEY: pairing_tables.VIEW_MAP}
    )
    assert not at.exception and len(at.get("deck_gl_json_chart")) == 1
    layers = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]
    arcs = [layer for layer in layers if layer["id"] == "arcs"]
    assert len(arcs[0]["data"]) == int(at.metric[0].value)  # one arc per pair in view
    at = page_as(
        auth.Viewer("leadership", "L"), tmp_path, monkeypatch, **{pairing_tables.VIEW_KEY: pairing_tables.VIEW_TA}
    )
    assert not at.exception and any(s.value == "Referred to technical assistance" for s in at.header)
    assert len(at.dataframe[0].value) == int(at.metric[2].value)  # one row per referral in view


def test_a_pair_in_the_link_opens_selected_with_both_states_side_by_side(tmp_path, monkeypatch):
    from shisn.domain import selection
    from tests.support import static_tables

    lead = auth.Viewer("leadership", "L")
    first = page_as(lead, tmp_path, monkeypatch)
    pair = first.dataframe[0].value.iloc[0]
    mentor, mentee = pair["Mentor"][:2], pair["Mentee"][:2]
    area = next(a for a in catalog.AREA_SLUGS if catalog.area_short(a) == pair["Program area"])
    key = selection.pair_key(mentor, mentee, area)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)  # in the app: the page links to others
    at.session_state["demo_role"] = "leadership"
    at.query_params[selection.PAIR_PARAM] = key
    at.run().switch_page("pages/pairings.py").run()
    assert not at.exception and any(s.value.startswith(f"{mentor} → {mentee} · ") for s in at.subheader)
    assert len(at.dataframe) == 1  # the pairs; the comparison beside them is a static table
    (both,) = static_tables(at)
    assert list(both.columns)[:5] == [
        "Program area",
        f"{mentor} maturity",
        f"{mentor} offers/seeks",
        f"{mentor} notes",
        f"{mentee} maturity",
    ]
    assert not at.get("page_link")  # nothing to go to yet: the link comes with the exchange
    assert any(b.label == "Open an exchange for this pair" for b in at.button)


def test_page_as_program_manager_defaults_to_their_states(tmp_path, monkeypatch):
    pm = auth.Viewer("program_manager", "P", ("MD", "VA"))
    at = page_as(pm, tmp_path, monkeypatch)
    assert not at.exception
    assert any(e.label == "Filters · 2026 · All program areas · My states" for e in at.expander)  # panel closed
    table = at.dataframe[0].value
    assert (
        len(table)
        and table.apply(lambda r: r["Mentor"][:2] in ("MD", "VA") or r["Mentee"][:2] in ("MD", "VA"), axis=1).all()
    )


def test_page_is_closed_to_state_users(tmp_path, monkeypatch):
    at = page_as(auth.Viewer("state", "S", ("VA",)), tmp_path, monkeypatch)
    assert not at.exception
    assert "This page is for" in at.warning[0].value and len(at.dataframe) == 0


def test_tables_name_other_areas_as_the_states_did():
    pairs = pd.DataFrame(
        {
            "mentor": ["VA", "VA"],
            "mentee": ["MD", "PA"],
            "program_area": ["other", "training"],
            "area_label": ["Other: Cybersecurity", "Training systems"],
            "mentor_maturity": [5, 5],
            "mentee_maturity": [1, 2],
            "score": [2.0, 2.1],
            "reasons": ["r1", "r2"],
        }
    )
    assert pairing_tables.pairs_table(pairs)["Program area"].tolist() == [
        "Other: Cybersecurity",
        catalog.area_short("training"),
    ]


def test_the_weights_are_drawn_only_when_opened_and_kept_while_closed(demo_db):
    """The capacity and score weights live in an expander drawn only when opened (a cold open of the page fetches
    no slider code); a capacity chosen there still applies after the expander is closed again."""
    from tests import support

    lead = auth.Viewer(auth.LEADERSHIP, "Lee")
    page = ROOT / "pages" / "pairings.py"

    def pairs(at):
        return int(next(m.value for m in at.metric if m.label == "Suggested pairs"))

    at = support.page_as(lead, page)
    assert not at.exception and not at.slider and pairs(at) > 0
    before = pairs(at)
    at.session_state["weights_open"] = True  # what a click on the expander sets
    at.run()
    assert len(at.slider) == 1 + len(pairing.Weights.describe())
    at.slider(key="capacity").set_value(0).run()
    through_offers = pairs(at)  # no mentor takes a need but through its published offers (their own capacity)
    assert through_offers < before
    at.session_state["weights_open"] = False
    at.run()
    assert not at.exception and not at.slider and pairs(at) == through_offers  # the choice is kept while closed
    at.session_state["weights_open"] = True
    at.run()
    assert at.slider(key="capacity").value == 0
