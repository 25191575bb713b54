"""The state profile's numbers, checked by hand against a small data set: medians, strengths and gaps, POETE,
trend words, offers with their eligibility note, recommended partners, and what a viewer without detail gets."""

import pandas as pd
import pytest

from shisn.domain import auth, catalog, profile
from shisn.domain.auth import Viewer
from shisn.store import ingest, queries
from tests.support import HEADER, make_csv

H = HEADER + ["other_area", *catalog.POETE]
NOTE_HTML = "<script>alert(1)</script> & <b>bold</b> [link](http://example.com)"


def r(state, area, cycle, m, offers="no", seeks="no", notes="", other="", poete=("",) * 5):
    return [state, area, cycle, m, offers, seeks, notes, other, *poete]


ROWS = [
    # 2026 ----------------------------------------------------------------------------------------------------------
    r("VA", "exercises", 2026, 5, "yes", "no", NOTE_HTML, poete=(5, 4, 5, "", 5)),
    r("VA", "recovery", 2026, 2, "no", "yes", "Recovery plan still in draft"),
    r("VA", "training", 2026, 4, "yes", "no"),
    r("VA", "strategy", 2026, 3, "yes", "no"),  # offer below 4: kept, not eligible
    r("VA", "prevention", 2026, 1, "no", "no"),  # a gap it did not flag as sought
    r("VA", "other", 2026, 4, "yes", "no", other="Cybersecurity"),
    r("MD", "exercises", 2026, 2, "no", "yes", "MD wants an exercise design"),
    r("MD", "recovery", 2026, 4, "yes", "no", "MD recovery playbook ready to share"),
    r("MD", "training", 2026, 1, "no", "yes"),
    r("MD", "other", 2026, 2, "no", "yes", other="cybersecurity"),  # same other area, other spelling
    r("PA", "exercises", 2026, 4, "yes", "no"),
    r("PA", "recovery", 2026, 5, "yes", "no"),
    r("PA", "training", 2026, 3),
    r("PA", "prevention", 2026, 4, "yes", "no"),
    r("DC", "exercises", 2026, 1, "no", "yes"),
    r("DC", "recovery", 2026, 3),
    r("DC", "training", 2026, 2, "no", "yes"),
    r("NY", "exercises", 2026, 3),
    r("NY", "recovery", 2026, 5, "yes", "no"),
    r("NY", "prevention", 2026, 5, "yes", "no"),
    r("NY", "other", 2026, 2, "no", "yes", other="Port security"),  # a different other area: never paired with VA
    r("CA", "exercises", 2026, 4),  # not offering: never a mentor
    r("CA", "recovery", 2026, 4, "yes", "no"),
    r("CA", "training", 2026, 2, "no", "yes"),
    # 2025 ----------------------------------------------------------------------------------------------------------
    r("VA", "exercises", 2025, 4, "yes", "no"),
    r("VA", "recovery", 2025, 3),
    r("VA", "training", 2025, 4, "yes", "no"),
    r("VA", "strategy", 2025, 3),
    r("VA", "prevention", 2025, 1),
    r("VA", "other", 2025, 3, other="Agroterrorism"),  # renamed other area: not a trend
    r("GU", "exercises", 2025, 2, "no", "yes"),  # Guam reported in 2025 only
    r("GU", "recovery", 2025, 1, "no", "yes"),
]

LEAD = Viewer(auth.LEADERSHIP, "Lead")
VA_USER = Viewer(auth.STATE, "VA user", ("VA",))
PM_VA_MD = Viewer(auth.PROGRAM_MANAGER, "PM", ("MD", "VA"))


def load_small(con):
    ingest.load(con, [("small.csv", make_csv(ROWS, header=H))], "t", this_year=2026)
    cur = con.cursor()
    cur.execute(
        "INSERT INTO program_managers VALUES ('VA', 'Pat <Doe>', 'pat@example.org'), "
        "('MD', 'Sam Roe', 'sam@example.org')"
    )
    cur.close()
    return queries.assessments(con)


@pytest.fixture
def small(con):
    return load_small(con)


def row(table, slug):
    return table.set_index("program_area").loc[slug]


def test_national_and_region_medians(small):
    nat = profile.national_medians(small, 2026)
    assert nat.loc["exercises", "median"] == 3.5 and nat.loc["exercises", "n"] == 6  # 1 2 3 4 4 5
    assert nat.loc["recovery", "median"] == 4.0  # 2 3 4 4 5 5
    assert nat.loc["training", "median"] == 2.0  # 1 2 2 3 4
    assert nat.loc["prevention", "median"] == 4.0  # 1 4 5
    assert "other" not in nat.index  # each state's 'other' is its own area: no median
    reg = profile.region_medians(small, 2026, 3)  # Region III: VA MD PA DC
    assert reg.loc["exercises", "median"] == 3.0 and reg.loc["exercises", "n"] == 4  # 1 2 4 5
    assert reg.loc["recovery", "median"] == 3.5  # 2 3 4 5
    assert reg.loc["training", "median"] == 2.5  # 1 2 3 4
    assert reg.loc["prevention", "median"] == 2.5  # 1 4


def test_maturity_table_lists_every_area_with_medians(small):
    t = profile.maturity_table(small, "VA", 2026)
    assert list(t["program_area"]) == list(catalog.AREA_SLUGS)  # eight standard areas + VA's 'other'
    ex = row(t, "exercises")
    assert (ex.maturity, ex.region_median, ex.national_median, ex.band) == (5, 3.0, 3.5, "strength")
    rp = row(t, "regional_planning")
    assert not rp.reported and pd.isna(rp.maturity) and pd.isna(rp.national_median) and rp.band == "not reported"
    other = row(t, "other")
    assert other.area == "Other: Cybersecurity" and other.maturity == 4 and pd.isna(other.national_median)
    assert "other" not in set(profile.maturity_table(small, "MD", 2025)["program_area"])


def test_strengths_and_gaps_in_words(small):
    t = profile.maturity_table(small, "VA", 2026)
    assert profile.strengths(t) == [
        ("Exercise programs", 5),
        (catalog.area_label("training"), 4),
        ("Other: Cybersecurity", 4),
    ]
    assert profile.gaps(t) == [("Prevention/deterrence", 1), ("Recovery operations", 2)]
    text = profile.strengths_gaps_text(t)
    assert text.startswith("Strengths: Exercise programs (5); ")
    assert "Gaps: Prevention/deterrence (1); Recovery operations (2)." in text
    assert "no strengths or gaps" in profile.strengths_gaps_text(profile.maturity_table(small, "GU", 2026))


def test_offer_below_mentor_level_carries_the_eligibility_note(small):
    t = profile.maturity_table(small, "VA", 2026)
    assert row(t, "strategy").offers_help and not row(t, "strategy").eligible_mentor
    assert "mentoring needs maturity 4" in row(t, "strategy").offer_note
    assert row(t, "exercises").eligible_mentor and row(t, "exercises").offer_note == ""


def test_poete_given_and_blank(small):
    po = profile.poete(small, "VA", 2026)
    assert list(po.columns) == ["Planning", "Organization", "Equipment", "Training", "Exercises"]
    assert list(po.loc["Exercises"].iloc[[0, 1, 2, 4]]) == [5, 4, 5, 5] and pd.isna(po.loc["Exercises", "Training"])
    assert po.loc["Recovery"].isna().all()
    assert "Other: Cybersecurity" in po.index


def test_trend_improved_slipped_and_renamed_other(small):
    assert profile.previous_cycle(small, "VA", 2026) == 2025
    ch = profile.changes(small, "VA", 2026).set_index("program_area")
    assert ch.loc["exercises", "change"] == "improved"
    assert (ch.loc["exercises", "before"], ch.loc["exercises", "after"]) == (4, 5)
    assert ch.loc["recovery", "change"] == "slipped"
    assert ch.loc["training", "change"] == "unchanged"
    assert ch.loc["other", "change"] == "new"  # Agroterrorism in 2025 is not Cybersecurity in 2026
    text = profile.trend_text(profile.changes(small, "VA", 2026), 2025, 2026, "Virginia")
    assert "Improved since 2025: Exercise programs (4 → 5)." in text
    assert "Slipped: Recovery operations (3 → 2)." in text
    assert "Unchanged: 3 areas." in text and "Newly reported: Other: Cybersecurity." in text
    tr = profile.trend(small, "VA")
    assert list(tr.columns) == [2025, 2026] and tr.loc["Exercises", 2025] == 4 and tr.loc["Exercises", 2026] == 5
    assert "first assessment cycle" in profile.trend_text(profile.changes(small, "VA", 2025), None, 2025, "Virginia")


def test_recommended_mentors_top_three_eligible_for_each_need(small):
    from shisn.domain import pairing

    m = profile.recommended_mentors(small, "VA", 2026)
    # needs: recovery (sought) and prevention (a gap, not flagged as sought)
    assert set(m["program_area"]) == {"recovery", "prevention"}
    rec = m[m["program_area"] == "recovery"]
    assert len(rec) == 3 and set(rec["partner"]) <= {"MD", "PA", "NY", "CA"}  # eligible: offer + maturity >= 4
    assert list(rec["score"]) == sorted(rec["score"], reverse=True)
    assert set(m.loc[m["program_area"] == "prevention", "partner"]) == {"PA", "NY"}
    assert (m["partner_maturity"] >= catalog.MENTOR_MIN).all() and m["reasons"].str.len().gt(0).all()
    # the same ranking pairing gives when VA asks for recovery help
    cycle = small[small["cycle"] == 2026][profile.PAIRING_INPUT].copy()
    cycle.loc[(cycle["state"] == "VA") & cycle["program_area"].isin(["recovery", "prevention"]), "seeks_help"] = True
    direct = pairing.candidates(cycle)
    direct = direct[(direct["mentee"] == "VA") & (direct["program_area"] == "recovery")]
    assert list(rec["partner"]) == list(direct.sort_values(["score", "mentor"], ascending=[False, True])["mentor"][:3])


def test_could_help_lists_seekers_in_eligible_offered_areas(small):
    h = profile.could_help(small, "VA", 2026)
    pairs = set(zip(h["program_area"], h["partner"]))
    assert pairs == {
        ("exercises", "MD"),
        ("exercises", "DC"),
        ("training", "MD"),
        ("training", "DC"),
        ("training", "CA"),
        ("other", "MD"),
    }
    # strategy is offered at 3 (not eligible); NY's 'other' is Port security, not VA's Cybersecurity
    assert "strategy" not in set(h["program_area"]) and "NY" not in set(h["partner"])


def test_build_full_profile_for_leadership(small, con):
    p = profile.build(small, "VA", 2026, LEAD, queries.program_managers(con))
    assert p.detail and p.reported and p.reported_cycles == [2026, 2025]
    assert p.program_manager == {"name": "Pat <Doe>", "email": "pat@example.org"}
    assert row(p.table, "exercises").notes == NOTE_HTML
    assert p.since == 2025 and "Improved since 2025" in p.trend_text
    assert len(p.mentors) and len(p.mentees) and p.unmatched == []
    assert set(p.mentors["partner_notes"]) - {""} == {"MD recovery playbook ready to share"}


def test_state_user_never_sees_other_states_notes(small, con):
    own = profile.build(small, "VA", 2026, VA_USER, queries.program_managers(con))
    assert own.detail and row(own.table, "recovery").notes == "Recovery plan still in draft"
    assert (own.mentors["partner_notes"] == "").all() and (own.mentees["partner_notes"] == "").all()
    other = profile.build(small, "MD", 2026, VA_USER, queries.program_managers(con))
    assert not other.detail
    assert (other.table["notes"] == "").all() and (other.table["offer_note"] == "").all()
    assert other.poete is None and other.trend is None and other.program_manager is None
    assert other.mentors is None and other.mentees is None
    assert row(other.table, "exercises").maturity == 2 and row(other.table, "exercises").seeks_help


def test_program_manager_sees_notes_of_assigned_partners_only(small, con):
    p = profile.build(small, "VA", 2026, PM_VA_MD, queries.program_managers(con))
    notes = dict(zip(zip(p.mentors["program_area"], p.mentors["partner"]), p.mentors["partner_notes"]))
    if ("recovery", "MD") in notes:
        assert notes[("recovery", "MD")] == "MD recovery playbook ready to share"
    assert all(n == "" for (a, s), n in notes.items() if s not in PM_VA_MD.states)
    helped = dict(zip(zip(p.mentees["program_area"], p.mentees["partner"]), p.mentees["partner_notes"]))
    assert helped[("exercises", "MD")] == "MD wants an exercise design"
    assert helped[("exercises", "DC")] == ""
    assert not profile.build(small, "PA", 2026, PM_VA_MD).detail


def test_jurisdiction_without_data_in_the_cycle(small):
    p = profile.build(small, "GU", 2026, LEAD)
    assert not p.reported and p.latest_reported == 2025 and p.table["maturity"].isna().all()
    assert row(p.table, "exercises").national_median == 3.5  # medians still shown for reference
    assert p.strengths == [] and p.gaps == [] and len(p.mentors) == 0 and len(p.mentees) == 0
    never = profile.build(small, "AS", 2026, LEAD)
    assert never.reported_cycles == [] and never.latest_reported is None and never.trend.empty


def test_default_state_and_request_resolution():
    assert profile.default_state(LEAD) == profile.state_options()[0] == "AL"  # Alabama, first by name
    assert profile.default_state(VA_USER) == "VA"
    assert profile.default_state(PM_VA_MD) == "MD"
    assert profile.default_state(LEAD, "virginia") == "VA" and profile.default_state(LEAD, "gu") == "GU"
    assert profile.default_state(VA_USER, "nowhere") == "VA"
    assert len(profile.state_options()) == 56


def test_fmt():
    assert [profile.fmt(v) for v in (4, 3.5, 3.0, None, float("nan"), pd.NA)] == ["4", "3.5", "3", "—", "—", "—"]
