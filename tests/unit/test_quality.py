"""Data-quality flags (shisn.domain.quality): every rule pinned on hand-built assessments, including a state with a single
cycle and a stale state; confirmations with a note stay visible but count apart."""

import datetime as dt

import pandas as pd
import pytest

from shisn.domain import auth, catalog, quality
from shisn.domain.auth import Viewer
from shisn.store import flag_confirmations

NAMED = [a for a in catalog.AREA_SLUGS if a != "other"]


def row(state, cycle, area, maturity, offers=False, seeks=False, other_area=None, **poete):
    r = {
        "state": state,
        "program_area": area,
        "cycle": cycle,
        "maturity": maturity,
        "offers_help": offers,
        "seeks_help": seeks,
        "other_area": other_area,
        "notes": None,
    }
    r.update({p: poete.get(p) for p in catalog.POETE})
    return r


def full(state, cycle, levels=(1, 2, 3, 4, 3, 2, 3, 4), over=None):
    """All eight named areas, varied levels (no flag of their own); `over` = {area: (maturity, offers, seeks)}."""
    out, over = [], over or {}
    for area, m in zip(NAMED, levels):
        m, o, s = over.get(area, (m, False, False))
        out.append(row(state, cycle, area, m, o, s))
    return out


def frame(*groups):
    return pd.DataFrame([r for g in groups for r in g])


def rules_of(f, state=None, cycle=None):
    if state is not None:
        f = f[f["state"] == state]
    if cycle is not None:
        f = f[f["cycle"] == cycle]
    return sorted(zip(f["rule"], f["program_area"]))


def test_a_clean_assessment_has_no_flags():
    assert quality.flags(frame(full("VA", 2025), full("VA", 2026))).empty


def test_rating_moved_two_levels_since_the_previous_cycle_is_flagged_both_ways():
    before = full("VA", 2024)
    after = full(
        "VA",
        2026,
        over={"exercises": (5, False, False), "interoperability": (1, False, False), "training": (1, False, False)},
    )  # training: 2 → 1, one level only
    f = quality.flags(frame(before, after))
    assert rules_of(f) == [("big_change", "exercises"), ("big_change", "interoperability")]
    ex = f[f["program_area"] == "exercises"].iloc[0]
    assert ex["cycle"] == 2026
    assert ex["explanation"] == (
        "Exercises: rated 3 in 2024 and 5 in 2026, 2 levels up since the state's previous cycle."
    )
    assert (
        "rated 4 in 2024 and 1 in 2026, 3 levels down"
        in f[f["program_area"] == "interoperability"].iloc[0]["explanation"]
    )


def test_one_level_of_change_is_not_flagged_and_the_previous_cycle_is_the_states_own():
    # VA skipped 2025: 2026 is compared with 2024; MD's 2025 does not count for VA
    va = frame(full("VA", 2024), full("VA", 2026, over={"exercises": (4, False, False)}))
    md = frame(full("MD", 2025, over={"exercises": (1, False, False)}))
    assert quality.flags(pd.concat([va, md]), with_stale=False).empty


def test_a_state_with_a_single_cycle_gets_no_change_flag_but_every_other_rule():
    rows = frame(
        [
            row("GU", 2026, "exercises", 5, seeks=True),
            row("GU", 2026, "training", 2, offers=True),
            row("GU", 2026, "recovery", 2),
        ]
    )
    f = quality.flags(rows)
    assert rules_of(f) == [("missing_areas", ""), ("offer_below_4", "training"), ("seeks_at_5", "exercises")]


def test_seeks_guidance_at_maturity_5():
    f = quality.flags(frame(full("VA", 2026, over={"recovery": (5, False, True), "strategy": (4, False, True)})))
    assert rules_of(f) == [("seeks_at_5", "recovery")]
    assert f.iloc[0]["explanation"] == (
        "Recovery: seeks guidance while rated 5 (Nationally leading), the top of the scale."
    )


def test_offers_help_below_4_reuses_the_pairing_explanation():
    f = quality.flags(frame(full("VA", 2026, over={"exercises": (3, True, False), "training": (4, True, False)})))
    assert rules_of(f) == [("offer_below_4", "exercises")]
    why = catalog.mentor_ineligibility(True, 3)
    assert f.iloc[0]["explanation"] == f"Exercises: {why}."


def test_poete_median_two_levels_from_the_maturity():
    rows = full("VA", 2026)
    rows[2] = row("VA", 2026, "exercises", 4, planning=2, organization=2, equipment=1)  # median 2: 2 away
    rows[3] = row("VA", 2026, "interoperability", 4, planning=3, organization=3, equipment=2)  # median 3: 1 away
    rows[4] = row("VA", 2026, "assessment_validation", 1, planning=3, training=4)  # median 3.5: 2.5
    rows[5] = row("VA", 2026, "strategy", 2)  # none given
    f = quality.flags(frame(rows))
    assert rules_of(f) == [("poete_far", "assessment_validation"), ("poete_far", "exercises")]
    ex = f[f["program_area"] == "exercises"].iloc[0]
    assert ex["explanation"] == "Exercises: the median of its 3 POETE sub-ratings is 2, 2 levels from its maturity 4."
    assert "is 3.5, 2.5 levels" in f[f["program_area"] == "assessment_validation"].iloc[0]["explanation"]


def test_fewer_than_the_eight_named_areas_other_does_not_count():
    rows = full("VA", 2026)[:7] + [row("VA", 2026, "other", 3, other_area="Cybersecurity")]
    f = quality.flags(frame(rows))
    assert rules_of(f) == [("missing_areas", "")]
    assert f.iloc[0]["explanation"] == "Rates 7 of the 8 named program areas; not rated: Recovery."


def test_straight_lining_every_area_the_same():
    f = quality.flags(frame(full("VA", 2026, levels=(3,) * 8)))
    assert rules_of(f) == [("straight_line", "")]
    assert f.iloc[0]["explanation"].startswith("All 8 rated areas are rated 3 (Established)")
    # two areas alike is not straight-lining (too few to say)
    two = frame([row("GU", 2026, "exercises", 3), row("GU", 2026, "training", 3)])
    assert ("straight_line", "") not in rules_of(quality.flags(two))


def test_stale_no_assessment_in_the_latest_cycle_names_the_last_cycle_seen():
    rows = frame(full("VA", 2024), full("VA", 2025), full("MD", 2026), full("MD", 2025))
    f = quality.flags(rows)
    assert rules_of(f) == [("stale", "")]
    s = f.iloc[0]
    assert (s["state"], s["cycle"]) == ("VA", 2026)
    assert s["explanation"] == "No self-assessment for 2026; the last one on record is from 2025."
    # the latest cycle can be given (e.g. the store's latest when only some states' rows are at hand)
    alone = quality.flags(frame(full("MD", 2025)), latest_cycle=2026)
    assert rules_of(alone) == [("stale", "")] and alone.iloc[0]["explanation"].endswith("from 2025.")
    assert quality.flags(rows, with_stale=False).empty


def test_other_areas_compare_only_with_the_same_named_area():
    rows = frame(
        full("VA", 2025) + [row("VA", 2025, "other", 1, other_area="Cybersecurity")],
        full("VA", 2026) + [row("VA", 2026, "other", 4, other_area="Public health")],
    )
    assert quality.flags(rows).empty
    rows = frame(
        full("VA", 2025) + [row("VA", 2025, "other", 1, other_area="Cybersecurity")],
        full("VA", 2026) + [row("VA", 2026, "other", 4, other_area=" cybersecurity ")],
    )
    f = quality.flags(rows)
    assert rules_of(f) == [("big_change", "other")] and f.iloc[0]["explanation"].startswith("Other: cybersecurity")


def test_flags_of_one_cycle_and_one_state():
    rows = frame(
        full("VA", 2025, over={"interoperability": (5, False, True)}),
        full("VA", 2026, over={"recovery": (5, False, True)}),
        full("MD", 2026, over={"recovery": (2, True, False)}),
    )
    assert rules_of(quality.flags(rows, cycle=2025)) == [("seeks_at_5", "interoperability")]
    assert rules_of(quality.flags(rows, cycle=2026)) == [("offer_below_4", "recovery"), ("seeks_at_5", "recovery")]
    assert rules_of(quality.flags(rows, cycle=2026, states=["VA"])) == [("seeks_at_5", "recovery")]


def test_preview_replaces_the_cycle_with_the_candidate_and_compares_with_history():
    stored = frame(full("VA", 2025), full("VA", 2026, over={"exercises": (1, False, True)}))
    candidate = frame(full("VA", 2026, over={"exercises": (5, False, True)}))
    f = quality.preview(stored, candidate, "VA", 2026)
    assert rules_of(f) == [("big_change", "exercises"), ("seeks_at_5", "exercises")]
    assert "rated 3 in 2025 and 5 in 2026" in f.iloc[0]["explanation"]


# --- confirmations (the store) -----------------------------------------------------------------------------------

LEAD = Viewer(auth.LEADERSHIP, "Lead")
VA_USER = Viewer(auth.STATE, "VA user", ("VA",))
MD_USER = Viewer(auth.STATE, "MD user", ("MD",))


def test_confirmed_flags_stay_visible_but_count_apart(con):
    rows = frame(full("VA", 2026, over={"exercises": (5, False, True), "training": (2, True, False)}))
    flag_confirmations.confirm(
        con,
        VA_USER,
        "VA",
        2026,
        "seeks_at_5",
        "exercises",
        "We seek peer review of our new program.",
        now=dt.datetime(2026, 11, 1, 9, 0),
    )
    f = flag_confirmations.state_flags(con, rows, "VA", 2026, 2026)
    assert len(f) == 2
    assert quality.counts(f) == {"open": 1, "confirmed": 1}
    c = f[f["confirmed"]].iloc[0]
    assert (c["rule"], c["note"], c["confirmed_by"]) == (
        "seeks_at_5",
        "We seek peer review of our new program.",
        "VA user",
    )
    shown = quality.display_frame(f, show_notes=lambda s: False)
    assert shown["note"].isna().all() and shown["confirmed"].tolist().count(True) == 1
    # confirming again replaces the note; the audit log has both
    flag_confirmations.confirm(con, LEAD, "VA", 2026, "seeks_at_5", "exercises", "Checked with the state.")
    f = flag_confirmations.state_flags(con, rows, "VA", 2026, 2026)
    assert f[f["confirmed"]].iloc[0]["note"] == "Checked with the state."
    from shisn.store import audit

    assert audit.log(con)["detail"].str.contains("flag seeks_at_5 exercises confirmed for VA 2026").sum() == 2


@pytest.mark.parametrize(
    "viewer,note,rule,message",
    [
        (MD_USER, "fine", "seeks_at_5", "only VA, its program manager or leadership"),
        (VA_USER, "   ", "seeks_at_5", "needs a note"),
        (VA_USER, "fine", "made_up", "is not a flag rule"),
    ],
)
def test_a_confirmation_that_may_not_be_written_writes_nothing(con, viewer, note, rule, message):
    with pytest.raises(quality.FlagError, match=message):
        flag_confirmations.confirm(con, viewer, "VA", 2026, rule, "exercises", note)
    assert flag_confirmations.confirmations(con).empty


def test_an_assessment_without_flags_counts_none(con):
    flag_confirmations.confirm(con, LEAD, "MD", 2026, "seeks_at_5", "exercises", "Another state's confirmation.")
    f = flag_confirmations.state_flags(con, frame(full("VA", 2026)), "VA", 2026, 2026)
    assert f.empty and quality.counts(f) == {"open": 0, "confirmed": 0}
