"""Text alternatives for the maps and charts (shisn.render.alt_text) on hand-built frames: the sentence says what the
figure shows, counted from the same frame, and the table holds the data behind it. And the pages place them: the
sentence under the figure, the table in a closed panel that draws it only when opened."""

import re
import types

import numpy as np
import pandas as pd
import pytest

from shisn.domain import auth
from shisn.render import alt_text
from tests.support import ROOT, page_as

NAN = float("nan")


def values(*rows):
    """coverage.state_values-like rows: (code, name, maturity, eligible, seeks, in_scope)."""
    return pd.DataFrame(
        [
            {
                "state": c,
                "name": n,
                "region_label": "Region III",
                "maturity": m,
                "areas": 0 if m != m else 1,
                "offers": e,
                "eligible": e,
                "seeks": s,
                "in_scope": scope,
                "reported": m == m,
            }
            for c, n, m, e, s, scope in rows
        ]
    )


MAP = values(
    ("VA", "Virginia", 5.0, 1, 0, True),
    ("MD", "Maryland", 4.0, 0, 0, True),
    ("DE", "Delaware", 2.0, 0, 1, True),
    ("PA", "Pennsylvania", 1.0, 0, 1, True),
    ("WV", "West Virginia", NAN, 0, 0, True),
    ("NY", "New York", 1.0, 0, 1, False),
)


def test_listing_and_count_read_as_words():
    assert alt_text.listing([]) == "" and alt_text.listing(["A"]) == "A" and alt_text.listing(["A", "B"]) == "A and B"
    assert alt_text.listing(["A", "B", "C"]) == "A, B and C"
    assert alt_text.listing(list("ABCDEF"), limit=4) == "A, B, C, D and 2 more"
    assert alt_text.count(1, "pair") == "1 pair" and alt_text.count(2, "pair") == "2 pairs"
    assert alt_text.count(2, "need has", "needs have") == "2 needs have"
    assert (
        alt_text.number(3.0) == "3"
        and alt_text.number(3.25) == "3.2"
        and alt_text.number(NAN) == ""
        and alt_text.number(pd.NA) == ""
    )


def test_extremes_name_ties_together_and_say_when_all_are_equal():
    assert alt_text.extremes([4, 2, 4, NAN], ["A", "B", "C", "D"]) == "highest A and C (4), lowest B (2)"
    assert alt_text.extremes([3, 3], ["A", "B"]) == "all at 3"
    assert alt_text.extremes([NAN], ["A"]) == ""


def test_map_sentence_counts_one_area_in_scope():
    text = alt_text.coverage_map(MAP, "Exercise programs", True, 2026, " in Region III", uncovered=1)
    assert text == (
        "Exercise programs, 2026: 2 of 5 jurisdictions in Region III rate 4 or 5 (1 of them eligible "
        "mentors) and 2 rate 1 or 2; 2 seek guidance, 1 of them with no eligible mentor; 1 did not "
        "report."
    )
    assert "each with an eligible mentor" in alt_text.coverage_map(MAP, "Exercise programs", True, 2026, uncovered=0)


def test_map_sentence_of_the_mean_names_the_highest_and_lowest():
    text = alt_text.coverage_map(MAP, "All areas (mean)", False, 2026)
    assert text.startswith(
        "Mean maturity over the named program areas, 2026: 2 of 5 jurisdictions average 3.5 or "
        "more and 2 below 2.5; highest Virginia (5), lowest Pennsylvania (1);"
    )
    assert "1 can mentor in at least one area and 2 seek guidance in at least one; 1 did not report." in text
    assert "New York" not in text  # outside the region filter


def test_map_sentence_when_nobody_reported():
    none = values(("VA", "Virginia", NAN, 0, 0, True))
    assert (
        alt_text.coverage_map(none, "Recovery operations", True, 2026)
        == "Recovery operations, 2026: none of 1 jurisdiction reported."
    )


def test_map_table_lists_the_jurisdictions_in_scope_by_name():
    one = alt_text.coverage_map_table(MAP, True)
    assert list(one.columns) == ["Jurisdiction", "FEMA region", "Maturity", "Eligible mentor", "Seeks guidance"]
    assert one["Jurisdiction"].tolist() == [
        "Delaware (DE)",
        "Maryland (MD)",
        "Pennsylvania (PA)",
        "Virginia (VA)",
        "West Virginia (WV)",
    ]
    assert one.iloc[3].tolist()[2:] == ["5 Nationally leading", "yes", "no"]
    assert one.iloc[4].tolist()[2:] == ["not reported", "", ""]
    mean = alt_text.coverage_map_table(MAP, False)
    assert list(mean.columns)[2:] == [
        "Mean maturity",
        "Areas reported",
        "Can mentor in (areas)",
        "Seeks guidance in (areas)",
    ]
    assert mean.iloc[0, 2] == "2.0"


MATRIX = pd.DataFrame([[5.0, 4.0], [2.0, NAN], [1.0, 3.0]], index=["VA", "MD", "DE"], columns=["exercises", "recovery"])
DETAILS = pd.DataFrame(
    [
        [{"eligible": True, "seeks": False}, {"eligible": False, "seeks": True}],
        [{"eligible": False, "seeks": True}, None],
        [None, {"eligible": False, "seeks": False}],
    ],
    index=MATRIX.index,
    columns=MATRIX.columns,
    dtype=object,
)


def test_heatmap_sentence_counts_ratings_marks_and_areas():
    assert alt_text.heatmap(MATRIX, DETAILS) == (
        "3 jurisdictions × 2 program areas: of 5 ratings, 2 are 4 or 5 and 2 are 1 or 2 (1 cell not reported); "
        "by program area, highest mean Recovery (3.5), lowest Exercises (2.7); 1 cells mark an eligible mentor "
        "and 2 a state seeking guidance."
    )
    assert alt_text.heatmap(MATRIX * NAN) == "3 jurisdictions × 2 program areas: nothing reported."


def test_heatmap_table_keeps_the_row_order_and_lists_each_rows_areas():
    t = alt_text.heatmap_table(MATRIX, {"VA": "Virginia", "MD": "Maryland", "DE": "Delaware"}, DETAILS)
    assert list(t.columns) == [
        "Jurisdiction",
        "Strengths (4–5)",
        "Established (3)",
        "Gaps (1–2)",
        "Not reported",
        "Can mentor in",
        "Seeks guidance in",
    ]
    assert t["Jurisdiction"].tolist() == ["Virginia (VA)", "Maryland (MD)", "Delaware (DE)"]
    assert t.iloc[0].tolist()[1:] == ["Exercises (5), Recovery (4)", "", "", "", "Exercises", "Recovery"]
    assert t.iloc[1].tolist()[1:] == ["", "", "Exercises (2)", "Recovery", "", "Exercises"]
    assert t.iloc[2].tolist()[1:] == ["", "Recovery (3)", "Exercises (1)", "", "", ""]
    assert alt_text.heatmap_table(MATRIX, {}).iloc[2, 0] == "DE (DE)"  # no details: no marks


SD = pd.DataFrame(
    {
        "program_area": ["exercises", "recovery", "other"],
        "label": ["Exercises", "Recovery", "Other"],
        "eligible": [5, 2, 0],
        "seekers": [3, 6, 2],
        "uncovered": [0, 1, 2],
    }
)


def test_supply_demand_sentence_and_table():
    assert alt_text.supply_demand(SD) == (
        "Per program area, eligible mentors against states seeking guidance: more seekers than mentors in Recovery "
        "and Other; most seekers in Recovery (6, with 2 mentors); 3 needs have no eligible mentor (Recovery 1, "
        "Other 2)."
    )
    met = SD.assign(uncovered=0, seekers=[1, 1, 0])
    assert alt_text.supply_demand(met, " in Region III").endswith(
        "no area has more seekers than mentors; most seekers in Exercises (1, with 5 mentors); every need has an "
        "eligible mentor."
    )
    assert alt_text.supply_demand_table(SD).iloc[1].tolist() == ["Recovery", 2, 6, 1]


def test_regions_sentence_and_table():
    summary = pd.DataFrame(
        {
            "region_label": ["Region I", "Region I", "Region II", "Region II"],
            "program_area": ["exercises", "recovery"] * 2,
            "median": [4.5, 2.0, 3.0, NAN],
        }
    )
    assert alt_text.regions(summary) == (
        "Median maturity in 2 FEMA regions × 2 program areas: highest Region I in "
        "Exercises (4.5), lowest Region I in Recovery (2); 1 cell with no state reporting."
    )
    t = alt_text.regions_table(summary)
    assert t.columns.tolist() == ["Program area", "Region I", "Region II"]
    assert t.values.tolist() == [["Exercises", "4.5", "3"], ["Recovery", "2", ""]]


def test_pairs_map_sentence():
    pairs = pd.DataFrame(
        {
            "mentor": ["VA", "VA", "MD"],
            "mentee": ["DE", "PA", "DE"],
            "program_area": ["exercises", "recovery", "exercises"],
        }
    )
    assert alt_text.pairs_map(pairs) == (
        "3 suggested pairs as arcs from mentor to mentee: 2 mentor states and 2 mentee states; most in Exercises (2)."
    )
    assert alt_text.pairs_map(pairs.iloc[:0]) == "No suggested pair in this view, so the map shows no arc."


@pytest.fixture
def profile():
    table = pd.DataFrame(
        {
            "short": ["Exercises", "Recovery", "Strategy"],
            "reported": [True, True, False],
            "maturity": pd.array([5, 2, None], dtype="Int64"),
            "region_median": [4.0, 2.5, 3.0],
            "national_median": [3.0, 2.0, 3.0],
        }
    )
    poete = pd.DataFrame(
        {"Planning": pd.array([4, 2], dtype="Int64"), "Equipment": pd.array([2, None], dtype="Int64")},
        index=pd.Index(["Exercises", "Recovery"], name="Program area"),
    )
    trend = pd.DataFrame(
        {
            2024: pd.array([4, 3], dtype="Int64"),
            2025: pd.array([5, None], dtype="Int64"),
            2026: pd.array([5, 2], dtype="Int64"),
        },
        index=pd.Index(["Exercises", "Recovery"], name="Program area"),
    )
    return types.SimpleNamespace(
        name="Virginia", cycle=2026, region_label="Region III", table=table, poete=poete, trend=trend
    )


def test_profile_sentences(profile):
    assert alt_text.profile_maturity(profile) == (
        "Virginia, 2026: above the national median in 1 of 2 areas, at it in 1, "
        "below it in 0; highest Exercises (5), lowest Recovery (2)."
    )
    assert alt_text.profile_poete(profile) == (
        "POETE sub-ratings, 2026, given for 2 of 2 areas: highest mean Planning (3), lowest Equipment (2)."
    )
    assert alt_text.profile_trend(profile) == (
        "Virginia's ratings 2024–2026 in 2 areas: between each area's first and "
        "latest rating 1 rose, 1 fell and 0 did not change."
    )
    nothing = types.SimpleNamespace(**{**vars(profile), "table": profile.table.assign(reported=False)})
    assert alt_text.profile_maturity(nothing).startswith("Virginia reported no self-assessment in 2026")
    one = types.SimpleNamespace(**{**vars(profile), "trend": profile.trend[[2026]]})
    assert alt_text.profile_trend(one) == "Virginia has one cycle on record (2026), so there is no trend yet."


def test_profile_tables(profile):
    t = alt_text.profile_maturity_table(profile)
    assert t.columns.tolist() == ["Program area", "Virginia", "Region III median", "National median"]
    assert t.values.tolist() == [
        ["Exercises", "5", "4", "3"],
        ["Recovery", "2", "2.5", "2"],
        ["Strategy", "not reported", "3", "3"],
    ]
    assert alt_text.frame_table(profile.trend).values.tolist() == [
        ["Exercises", "4", "5", "5"],
        ["Recovery", "3", "", "2"],
    ]
    assert alt_text.frame_table(profile.trend).columns.tolist() == ["Program area", "2024", "2025", "2026"]


def test_marks_without_details_are_empty():
    mentor, seeks = alt_text._marks(None, (2, 3))
    assert not mentor.any() and not seeks.any() and mentor.shape == (2, 3)
    assert isinstance(mentor, np.ndarray)


# --- the pages place them ---------------------------------------------------------------------------------------


def test_the_national_map_has_its_sentence_and_a_closed_data_panel(demo_db):
    lead = auth.Viewer(auth.LEADERSHIP, "L")
    at = page_as(lead, ROOT / "pages" / "national.py", {"area": "exercises"})
    assert not at.exception
    shown = [c.value.replace("\\", "") for c in at.caption]  # escaped Markdown
    assert any(re.match(r"Exercise programs, \d{4}: \d+ of 56 jurisdictions rate 4 or 5", c) for c in shown), shown
    panel = next(e for e in at.expander if e.label == "Data behind the map")
    assert not panel.markdown  # drawn only when opened
    at.session_state["map_data_open"] = True
    at.run()
    panel = next(e for e in at.expander if e.label == "Data behind the map")
    assert panel.markdown and panel.markdown[0].value.startswith("| Jurisdiction | FEMA region | Maturity |")


def test_the_exchanges_map_says_how_many_by_status_and_area():
    arcs = pd.DataFrame(
        {
            "exchange_id": [1, 1, 2, 3],
            "mentor": ["VA", "VA", "CA", "TX"],
            "mentee": ["MD", "MD", "NV", "NM"],
            "program_area": ["exercises", "training", "exercises", "recovery"],
            "status": ["closed", "closed", "proposed", "proposed"],
        }
    )
    assert alt_text.exchanges_map(arcs) == (
        "3 exchanges as arcs from mentor to mentee (4 program areas): 2 proposed, 1 closed; most in Exercises (2)."
    )
    t = alt_text.exchanges_map_table(arcs)
    assert list(t.columns) == ["Exchange", "Mentor", "Mentee", "Program area", "Status"] and len(t) == 4
    assert alt_text.exchanges_map(arcs.iloc[0:0]) == "No exchange on the map."
