"""The numbers behind the national page, checked by hand on a tiny data set loaded through the real loader.

2025 (the selected cycle)                                  2024 (the previous cycle)
state area        maturity offers seeks                    VA exercises 4 offers
VA    exercises   5        yes    -     eligible mentor    MD exercises 2 seeks  (VA can mentor: covered)
MD    exercises   2        -      yes   need: VA, NY       PA training  1 seeks  (nobody: uncovered)
NY    exercises   4        yes    -     eligible mentor
PA    exercises   3        yes    -     offer below 4: not eligible
VA    recovery    2        -      yes   need: MD, NY
MD    recovery    4        yes    -     eligible mentor
NY    recovery    4        yes    yes   eligible, and a need nobody can meet (MD is 4, not above 4; NY is itself)
PA    training    1        -      yes   need: no mentor in training
CA    training    4        -      -
VA    other       5        yes    -     "Cybersecurity": eligible mentor
PA    other       2        -      yes   "cybersecurity " : VA matches (same named area, any case)
NY    other       1        -      yes   "Port security": no match
VA, MD, PA are in FEMA Region III (6 jurisdictions); NY in Region II; CA in Region IX.
"""

import csv
import io

import numpy as np
import pandas as pd
import pytest

from shisn.domain import catalog, coverage, jurisdictions, safe_text
from shisn.store import db, ingest, queries
from tests.support import make_csv

HEADER = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "other_area", "notes"]
ROWS_2025 = [
    ["VA", "exercises", 2025, 5, "yes", "no", "", "Runs the regional exercise series"],
    ["MD", "exercises", 2025, 2, "no", "yes", "", "Need an exercise design"],
    ["NY", "exercises", 2025, 4, "yes", "no", "", ""],
    ["PA", "exercises", 2025, 3, "yes", "no", "", ""],
    ["VA", "recovery", 2025, 2, "no", "yes", "", ""],
    ["MD", "recovery", 2025, 4, "yes", "no", "", "+2 staff; -1 vacancy"],
    ["NY", "recovery", 2025, 4, "yes", "yes", "", ""],
    ["PA", "training", 2025, 1, "no", "yes", "", ""],
    ["CA", "training", 2025, 4, "no", "no", "", ""],
    ["VA", "other", 2025, 5, "yes", "no", "Cybersecurity", ""],
    ["PA", "other", 2025, 2, "no", "yes", "cybersecurity ", ""],
    ["NY", "other", 2025, 1, "no", "yes", "Port security", ""],
]
ROWS_2024 = [
    ["VA", "exercises", 2024, 4, "yes", "no", "", ""],
    ["MD", "exercises", 2024, 2, "no", "yes", "", ""],
    ["PA", "training", 2024, 1, "no", "yes", "", ""],
]


@pytest.fixture(scope="module")
def cycles(tmp_path_factory):
    """The hand-built set, loaded once through the validated loader and read back by `queries.assessments`."""
    con = db.connect(tmp_path_factory.mktemp("coverage") / "hand.duckdb")
    ingest.load(con, [("hand.csv", make_csv(ROWS_2025 + ROWS_2024, header=HEADER))], "tester", this_year=2026)
    frames = {2025: queries.assessments(con, 2025), 2024: queries.assessments(con, 2024)}
    con.close()
    return frames


@pytest.fixture
def df(cycles):
    return cycles[2025].copy()


# --- KPIs -----------------------------------------------------------------------------------------------------


def test_kpis_of_the_whole_nation(df):
    assert coverage.kpis(df) == {
        "jurisdictions": 56,
        "reporting": 5,
        "mentors_offered": 6,
        "eligible_mentors": 5,
        "needs": 6,
        "needs_covered": 3,
        "needs_uncovered": 3,
        "covered_pct": 50.0,
    }


def test_kpis_change_against_the_previous_cycle(cycles):
    now, before = coverage.kpis(cycles[2025]), coverage.kpis(cycles[2024])
    assert before == {
        "jurisdictions": 56,
        "reporting": 3,
        "mentors_offered": 1,
        "eligible_mentors": 1,
        "needs": 2,
        "needs_covered": 1,
        "needs_uncovered": 1,
        "covered_pct": 50.0,
    }
    delta = coverage.kpi_deltas(now, before)
    assert (
        delta["reporting"],
        delta["mentors_offered"],
        delta["needs"],
        delta["needs_covered"],
        delta["needs_uncovered"],
        delta["covered_pct"],
    ) == (2, 5, 4, 2, 2, 0.0)
    assert set(coverage.kpi_deltas(now, None).values()) == {None}
    assert coverage.previous_cycle([2026, 2025, 2023], 2025) == 2023
    assert coverage.previous_cycle([2026, 2025], 2025) is None


def test_kpis_in_one_region_count_mentors_from_anywhere(df):
    k = coverage.kpis(df, region=3)
    # Region III has 6 jurisdictions; VA's recovery need is met by MD (Region III) and NY (Region II).
    assert k == {
        "jurisdictions": 6,
        "reporting": 3,
        "mentors_offered": 4,
        "eligible_mentors": 3,
        "needs": 4,
        "needs_covered": 3,
        "needs_uncovered": 1,
        "covered_pct": 75.0,
    }


def test_kpis_in_one_area(df):
    k = coverage.kpis(df, area="exercises")
    assert (
        k["reporting"],
        k["mentors_offered"],
        k["eligible_mentors"],
        k["needs"],
        k["needs_covered"],
        k["needs_uncovered"],
    ) == (4, 3, 2, 1, 1, 0)
    empty = coverage.kpis(df, region=3, area="strategy")
    assert empty["needs"] == 0 and empty["covered_pct"] is None and empty["reporting"] == 0


def test_need_needs_a_different_state_with_higher_maturity_in_the_same_area(df):
    needs = coverage.need_coverage(df).set_index(["state", "program_area"])
    assert needs.loc[("MD", "exercises"), "mentors"] == 2
    assert needs.loc[("MD", "exercises"), "mentor_states"] == "VA, NY"  # best first
    assert needs.loc[("VA", "recovery"), "mentor_states"] == "MD, NY"
    assert needs.loc[("NY", "recovery"), "mentors"] == 0  # MD is only equal; NY cannot mentor itself
    assert needs.loc[("PA", "training"), "mentors"] == 0  # CA is strong but does not offer
    assert needs.loc[("PA", "other"), "mentor_states"] == "VA"  # same named "other" area, any case
    assert needs.loc[("NY", "other"), "mentors"] == 0  # a different "other" area
    assert len(needs) == 6


def test_uncovered_needs_go_to_ta_lowest_maturity_first(df):
    ta = coverage.uncovered_needs(df)
    assert list(zip(ta["state"], ta["area"], ta["maturity"])) == [
        ("NY", "Other: Port security", 1),
        ("PA", "Training systems", 1),
        ("NY", "Recovery", 4),
    ]
    assert list(coverage.uncovered_needs(df, region=3)["state"]) == ["PA"]
    assert coverage.uncovered_needs(df, area="exercises").empty


# --- map values -----------------------------------------------------------------------------------------------


def test_state_values_cover_all_56_with_the_mean_over_named_areas(df):
    v = coverage.state_values(df).set_index("state")
    assert len(v) == 56 and v.index.is_unique
    assert v.loc["VA", "maturity"] == 3.5  # exercises 5, recovery 2; "other" is left out of the mean
    assert v.loc["PA", "maturity"] == 2.0 and v.loc["CA", "maturity"] == 4.0
    assert (v.loc["VA", "eligible"], v.loc["VA", "offers"], v.loc["VA", "seeks"]) == (1, 1, 1)
    assert (v.loc["NY", "eligible"], v.loc["NY", "seeks"]) == (2, 1)
    assert np.isnan(v.loc["TX", "maturity"]) and not v.loc["TX", "reported"]
    assert v["reported"].sum() == 5 and v["in_scope"].all()


def test_state_values_in_one_area_and_region(df):
    v = coverage.state_values(df, area="exercises", region=3).set_index("state")
    assert v.loc["VA", "maturity"] == 5 and v.loc["MD", "maturity"] == 2
    assert v.loc["PA", "offers"] == 1 and v.loc["PA", "eligible"] == 0  # offers at 3: not a mentor
    assert v.loc["MD", "seeks"] == 1
    assert set(v.index[v["in_scope"]]) == {"DC", "DE", "MD", "PA", "VA", "WV"}
    assert v.loc["NY", "reported"] and not v.loc["NY", "in_scope"]


# --- heatmap matrix -------------------------------------------------------------------------------------------


def test_matrix_holds_every_jurisdiction_and_area_sorted_by_total(df):
    m = coverage.maturity_matrix(df)
    assert m.shape == (56, 9) and list(m.columns) == [*coverage.MEAN_AREAS, catalog.OTHER]
    assert list(m.index[:5]) == ["CA", "NY", "VA", "MD", "PA"]  # 4.0, 4.0 (tie by code), 3.5, 3.0, 2.0
    assert list(m.index[5:]) == sorted(set(jurisdictions.codes()) - {"CA", "NY", "VA", "MD", "PA"})
    assert m.loc["VA", "exercises"] == 5 and m.loc["PA", "other"] == 2 and np.isnan(m.loc["CA", "exercises"])


def test_matrix_sorted_by_region_and_filtered_to_a_region(df):
    assert list(coverage.maturity_matrix(df, sort="region").index[:5]) == ["NY", "VA", "MD", "PA", "CA"]
    m3 = coverage.maturity_matrix(df, region=3, sort="region")
    assert list(m3.index) == ["VA", "MD", "PA", "DC", "DE", "WV"]
    assert coverage.row_groups(m3, "region") == ["Region III"] * 3 + ["Not reported"] * 3
    assert coverage.row_groups(m3, "total") is None
    with pytest.raises(ValueError):
        coverage.order_rows(m3, "alphabetical")


def test_clustering_puts_similar_profiles_together_deterministically():
    areas = list(coverage.MEAN_AREAS)
    profiles = {
        "VA": [5, 5, 4, 5, 4, 5, 4, 5],
        "MD": [5, 4, 4, 5, 4, 5, 5, 5],
        "TX": [1, 2, 1, 1, 2, 1, 1, 2],
        "OH": [1, 1, 2, 1, 1, 1, 2, 1],
        "CA": [3, 3, 3, 3, 3, 3, 3, 3],
        "WY": [np.nan] * 8,
    }
    m = pd.DataFrame(profiles, index=areas).T.astype(float)
    order = list(coverage.order_rows(m, "cluster").index)
    assert order == list(coverage.order_rows(m.sample(frac=1, random_state=1), "cluster").index)
    assert order[-1] == "WY"  # nothing reported: last
    assert set(order[:2]) == {"VA", "MD"} and order[2] == "CA" and set(order[3:5]) == {"OH", "TX"}


def test_cell_details_carry_flags_and_only_visible_notes(df):
    seen = coverage.redact_notes(df, lambda s: s == "VA")
    m = coverage.maturity_matrix(seen)
    d = coverage.cell_details(seen, m)
    assert d.loc["VA", "exercises"] == {
        "offers": True,
        "eligible": True,
        "seeks": False,
        "other": "",
        "note": "Runs the regional exercise series",
    }
    assert d.loc["MD", "exercises"]["note"] is None  # MD's note is not this viewer's to see
    assert d.loc["MD", "exercises"]["seeks"] is True
    assert d.loc["VA", "other"]["other"] == "Cybersecurity"
    assert d.loc["TX", "exercises"] is None


def test_redact_notes_blanks_other_states_notes(df):
    seen = coverage.redact_notes(df, lambda s: s == "VA")
    assert (seen.loc[seen["state"] != "VA", "notes"] == "").all()
    assert "Runs the regional exercise series" in set(seen["notes"])
    assert list(seen.loc[seen["state"] == "VA", "notes_visible"].unique()) == [True]
    assert df.loc[df["state"] == "MD", "notes"].str.len().max() > 0  # the input is untouched


# --- regions, supply and demand -------------------------------------------------------------------------------


def test_region_summary_median_mentors_needs(df):
    r = coverage.region_summary(df).set_index(["fema_region", "program_area"])
    assert len(r) == 10 * 9
    ex3 = r.loc[(3, "exercises")]
    assert (ex3["median"], ex3["states"], ex3["mentors"], ex3["needs"], ex3["uncovered"]) == (3.0, 3, 1, 1, 0)
    rec2 = r.loc[(2, "recovery")]
    assert (rec2["median"], rec2["mentors"], rec2["needs"], rec2["uncovered"]) == (4.0, 1, 1, 1)
    assert np.isnan(r.loc[(5, "exercises"), "median"]) and r.loc[(5, "exercises"), "needs"] == 0
    assert set(coverage.region_summary(df, region=3)["fema_region"]) == {3}


def test_region_totals(df):
    t = coverage.region_totals(df).set_index("Region")
    assert list(t.loc["Region III"]) == ["3 of 6", 3, 4, 1]
    assert list(t.loc["Region II"]) == ["1 of 4", 2, 2, 2]
    assert list(t.loc["Region V"]) == ["0 of 6", 0, 0, 0]


def test_supply_and_demand_per_area(df):
    sd = coverage.supply_demand(df).set_index("program_area")
    cols = ["offers", "eligible", "seekers", "covered", "uncovered"]
    assert list(sd.loc["exercises", cols]) == [3, 2, 1, 1, 0]
    assert list(sd.loc["training", cols]) == [0, 0, 1, 0, 1]
    assert list(sd.loc["recovery", cols]) == [2, 2, 2, 1, 1]
    assert list(sd.loc["other", cols]) == [1, 1, 2, 1, 1]
    assert sd.loc["training", "shortfall"] == 1 and sd.loc["exercises", "shortfall"] == -1
    assert list(sd.index) == [*coverage.MEAN_AREAS, "other"]
    assert sd[cols].sum().tolist() == [6, 5, 6, 3, 3]  # the same totals as the KPIs


# --- filters and export ---------------------------------------------------------------------------------------


def test_filter_options_and_labels():
    assert coverage.area_options()[0] == "all" and coverage.area_options()[1:] == list(catalog.AREA_SLUGS)
    assert coverage.area_option_label("all") == "All areas (mean)"
    assert coverage.area_option_label("exercises") == "Exercise programs"
    assert coverage.region_options() == ["all", *range(1, 11)]
    assert coverage.region_option_label(3) == "Region III" and coverage.region_option_label("all") == "All regions"
    assert len(coverage.scope_codes()) == 56 and sorted(coverage.scope_codes(2)) == ["NJ", "NY", "PR", "VI"]


def test_export_is_the_filtered_table_with_mentor_counts(df):
    seen = coverage.redact_notes(df, lambda s: True)
    t = coverage.export_table(seen, region=3, area="exercises")
    assert list(t["state"]) == ["MD", "PA", "VA"]
    md = t.set_index("state").loc["MD"]
    assert (md["maturity"], md["maturity_level"], md["seeks_help"], md["eligible_mentors_for_need"]) == (
        2,
        "Developing",
        True,
        2,
    )
    assert pd.isna(t.set_index("state").loc["VA", "eligible_mentors_for_need"])
    assert len(coverage.export_table(seen)) == 12


def test_export_leaves_out_notes_the_viewer_may_not_see(df):
    t = coverage.export_table(coverage.redact_notes(df, lambda s: s == "VA"))
    assert set(t.loc[t["state"] != "VA", "notes"]) == {""}


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_safe_csv_neutralises_formulas(text):
    data = safe_text.csv_file(pd.DataFrame({"notes": [text], "n": [-3]}))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["notes", "n"]
    assert rows[1][0] == "'" + text and rows[1][1] == "-3"  # numbers stay numbers


def test_safe_csv_leaves_plain_text_alone_and_neutralises_headers():
    data = safe_text.csv_file(pd.DataFrame({"=evil": ["plain", "a=b", ""], "ok": [True, False, True]}))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["'=evil", "ok"], ["plain", "True"], ["a=b", "False"], ["", "True"]]


def test_export_of_a_loaded_note_starting_with_a_sign_is_neutralised(df):
    # The loader refuses notes starting with "=", but "+2 staff" is a legitimate note a spreadsheet would evaluate.
    data = safe_text.csv_file(coverage.export_table(coverage.redact_notes(df, lambda s: True)))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    md = [r for r in rows if r["state"] == "MD" and r["program_area"] == "recovery"][0]
    assert md["notes"] == "'+2 staff; -1 vacancy"
