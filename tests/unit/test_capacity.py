"""Capacity planning (shisn/domain/capacity.py): one more slot per mentor state, worked out by hand and checked against
solving the pairing again with that state's capacity + 1; needs per area; the CLI; the Pairings page's view."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from shisn.domain import auth, capacity, pairing, pairing_tables
from tests.support import ROOT, make_csv

JUR = pd.DataFrame(
    [
        ("VA", "Virginia", 3, 8_000_000),
        ("PA", "Pennsylvania", 3, 13_000_000),
        ("MD", "Maryland", 3, 6_000_000),
        ("WV", "West Virginia", 3, 1_800_000),
        ("OH", "Ohio", 5, 11_800_000),
        ("CA", "California", 9, 39_000_000),
        ("NM", "New Mexico", 6, 2_100_000),
        ("TX", "Texas", 6, 29_000_000),
        ("NC", "North Carolina", 4, 10_000_000),
    ],
    columns=["code", "name", "fema_region", "population"],
)
# score = 1 + gap/4: the other terms weigh nothing, so every score below is worked out by hand
GAP_ONLY = pairing.Weights(
    base=1.0, maturity_gap=1.0, same_region=0.0, shared_border=0.0, similar_population=0.0, breadth=0.0
)
# (state, area, maturity, offers, seeks)
HAND = [
    ("VA", "exercises", 5, True, False),
    ("VA", "training", 5, True, False),
    ("PA", "exercises", 4, True, False),
    ("MD", "exercises", 2, False, True),
    ("WV", "exercises", 1, False, True),
    ("OH", "training", 1, False, True),
    ("CA", "strategy", 4, True, False),
    ("NM", "strategy", 3, False, True),
    ("CA", "prevention", 4, True, False),
    ("NM", "prevention", 4, False, True),  # none rated above NM
    ("TX", "recovery", 1, False, True),
    ("NC", "recovery", 3, True, False),
]  # NC offers below 4
# Candidates and scores: MD-exercises: VA 1.75, PA 1.5; WV-exercises: VA 2.0, PA 1.75; OH-training: VA 2.0;
# NM-strategy: CA 1.25. With capacity 1 the best plan is VA→OH 2.0 + PA→WV 1.75 (3.75; VA→WV + PA→MD is 3.5) and
# CA→NM 1.25: 5.0 in all, MD left for lack of capacity, TX and NM-prevention with no possible mentor.
#   PA + 1: PA also takes MD (1.5): one more need, +1.5, one pair changed.
#   VA + 1: VA also takes MD (1.75): one more need, +1.75. (VA→OH, VA→WV, PA→MD scores the same 5.5 but moves
#           WV too; the smallest change is taken.)
#   CA + 1: nothing: NM was its only possible mentee.


def hand_frame(rows=HAND) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["state", "program_area", "maturity", "offers_help", "seeks_help"])
    df["cycle"] = 2026
    return df


def plan(df=None, cap=1, overrides=None, weights=GAP_ONLY):
    return capacity.plan(
        hand_frame() if df is None else df, weights, cap, overrides, jurisdictions=JUR, borders=frozenset()
    )


def suggest(df=None, cap=1, overrides=None, weights=GAP_ONLY):
    return pairing.suggest(
        hand_frame() if df is None else df,
        weights,
        cap,
        overrides,
        jurisdictions=JUR,
        borders=frozenset(),
        with_candidates=False,
    )


def test_one_more_slot_worked_out_by_hand():
    cp = plan()
    assert (cp.needs, cp.served, cp.total_score, cp.mentors) == (6, 3, 5.0, 3)
    s = cp.slots.set_index("mentor")
    assert list(cp.slots["mentor"]) == ["VA", "PA", "CA"]  # most needs served, then most score
    assert s.loc["VA", ["capacity", "extra_needs_served", "extra_score", "changed_pairs"]].tolist() == [1, 1, 1.75, 1]
    assert s.loc["VA", "newly_served"] == "MD:exercises" and s.loc["VA", "areas"] == "exercises"
    assert s.loc["PA", ["extra_needs_served", "extra_score", "changed_pairs"]].tolist() == [1, 1.5, 1]
    assert s.loc["PA", "newly_served"] == "MD:exercises"
    assert s.loc["CA", ["extra_needs_served", "extra_score", "changed_pairs", "newly_served"]].tolist() == [0, 0, 0, ""]
    assert (cp.slots["no_longer_served"] == "").all()
    assert s.loc["VA", "explanation"] == "Serves 1 more need: Maryland · Exercise programs (mentor: Virginia)."
    assert s.loc["CA", "explanation"] == "Serves no more needs: every need it could mentor is already served."


def test_the_figures_agree_with_solving_the_pairing_again_with_one_more_slot():
    base = suggest()
    assert len(base.pairs) == 3 and base.total_score == pytest.approx(5.0)
    for r in plan().slots.itertuples():
        again = suggest(overrides={r.mentor: r.capacity + 1})
        assert len(again.pairs) - len(base.pairs) == r.extra_needs_served
        assert again.total_score - base.total_score == pytest.approx(r.extra_score, abs=1e-9)
    # the one more slot is that state's alone: the others keep theirs
    assert suggest(overrides={"VA": 2}).mentor_load.set_index("mentor")["capacity"].to_dict() == {
        "CA": 1,
        "PA": 1,
        "VA": 2,
    }


def test_needs_per_area_split_capacity_from_no_possible_mentor():
    a = plan().areas.set_index("program_area")
    assert list(a.index) == ["training", "exercises", "strategy", "prevention", "recovery"]  # catalog order
    assert a.loc["exercises", ["needs", "served", "at_capacity", "no_mentor"]].tolist() == [2, 1, 1, 0]
    assert a.loc["exercises", "at_capacity_states"] == "MD" and a.loc["exercises", "slot_states"] == "PA;VA"
    assert a.loc["recovery", ["needs", "served", "at_capacity", "no_mentor"]].tolist() == [1, 0, 0, 1]
    assert a.loc["prevention", "no_mentor_states"] == "NM"  # an offer, but not rated above the seeker
    assert a.loc["strategy", ["served", "slot_states"]].tolist() == [1, ""]
    # the same split as the pairing's referrals
    ref = suggest().referrals.groupby("reason_code")["mentee"].apply(sorted).to_dict()
    assert ref == {pairing.AT_CAPACITY: ["MD"], pairing.NO_ELIGIBLE_MENTOR: ["TX"], pairing.NO_MENTOR_AHEAD: ["NM"]}


def test_a_state_with_a_free_slot_is_not_listed_and_gains_nothing():
    cp = plan(overrides={"CA": 2})
    assert "CA" not in set(cp.slots["mentor"])
    base = suggest(overrides={"CA": 2})
    again = suggest(overrides={"CA": 3})
    assert (len(again.pairs), again.total_score) == (len(base.pairs), base.total_score)


def test_the_summary_sentence():
    cp = plan()
    assert cp.summary() == (
        "3 of 3 mentor states are at capacity, and one more slot would serve one more need for 2 "
        "of them (VA, PA); 1 need is unmet only for lack of capacity, and 2 needs no offer can "
        "meet (candidates for technical assistance)."
    )
    roomy = plan(cap=3)
    # at capacity 3 VA takes all its three possible mentees (each scores more with VA than with PA): full, and
    # every need with a possible mentor is served
    assert list(roomy.slots["mentor"]) == ["VA"] and roomy.slots["extra_score"].tolist() == [0.0]
    assert roomy.summary() == (
        "1 of 3 mentor states is at capacity, but one more slot for any of them would serve "
        "no more needs; no need is unmet only for lack of capacity, and 2 needs no offer can "
        "meet (candidates for technical assistance)."
    )


def test_random_instances_agree_with_solving_again():
    rng = np.random.default_rng(7)
    codes = [f"S{i:02d}" for i in range(12)]
    jur = pd.DataFrame(
        {
            "code": codes,
            "name": codes,
            "fema_region": rng.integers(1, 4, 12),
            "population": rng.integers(10**5, 10**7, 12),
        }
    )
    borders = frozenset((codes[i], codes[j]) for i in range(12) for j in range(i + 1, 12) if rng.random() < 0.3)
    for trial in range(6):
        rows = [
            (s, a, int(rng.integers(1, 6)), bool(rng.random() < 0.5), bool(rng.random() < 0.4))
            for s in codes
            for a in ("training", "exercises", "recovery")
        ]
        df = pd.DataFrame(rows, columns=["state", "program_area", "maturity", "offers_help", "seeks_help"])
        cap = int(trial % 3)
        kw = dict(jurisdictions=jur, borders=borders)
        cp = capacity.plan(df, capacity=cap, **kw)
        base = pairing.suggest(df, capacity=cap, with_candidates=False, **kw)
        assert cp.served == len(base.pairs) and cp.total_score == pytest.approx(base.total_score)
        listed = cp.slots.set_index("mentor")
        for m in base.mentor_load["mentor"]:
            again = pairing.suggest(df, capacity=cap, capacity_overrides={m: cap + 1}, with_candidates=False, **kw)
            gain = round(again.total_score - base.total_score, 3)
            if m in listed.index:
                assert gain == pytest.approx(listed.loc[m, "extra_score"], abs=1e-9)
                assert len(again.pairs) - len(base.pairs) == listed.loc[m, "extra_needs_served"]
            else:
                assert gain == 0 and len(again.pairs) == len(base.pairs)
        # a chain: at most one need more, none taken away
        assert cp.slots["extra_needs_served"].isin([0, 1]).all() and (cp.slots["no_longer_served"] == "").all()
        assert (
            cp.slots["newly_served"].map(lambda v: len(v.split(";")) if v else 0) == cp.slots["extra_needs_served"]
        ).all()


def test_view_tables_and_filters():
    cp = plan()
    t = pairing_tables.capacity_slots_table(cp.slots)
    assert list(t.columns) == [
        "Mentor state",
        "Capacity",
        "More needs served",
        "Score gain",
        "Pairs changed",
        "What one more slot does",
    ]
    assert t["Mentor state"].iloc[0] == "VA · Virginia"
    assert list(pairing_tables.filter_capacity_slots(cp.slots, ["exercises"], None)["mentor"]) == ["VA", "PA"]
    assert list(pairing_tables.filter_capacity_slots(cp.slots, None, {"CA"})["mentor"]) == ["CA"]
    a = pairing_tables.capacity_areas_table(pairing_tables.filter_capacity_areas(cp.areas, ["recovery"]))
    assert {k: v for k, v in a.iloc[0].items() if k != "Program area"} == {
        "Needs": 1,
        "Served": 0,
        "Unmet for lack of capacity": 0,
        "No possible mentor (TA)": 1,
        "One more slot at": "",
        "No possible mentor for": "TX",
    }
    assert pairing_tables.VIEW_CAPACITY in pairing_tables.views(auth.Viewer(auth.LEADERSHIP, "L"))
    assert pairing_tables.VIEW_CAPACITY not in pairing_tables.views(auth.Viewer(auth.PROGRAM_MANAGER, "P", ("VA",)))


# --- CLI ------------------------------------------------------------------------------------------------------


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_capacity(tmp_path):
    f = tmp_path / "rows.csv"
    f.write_bytes(make_csv([[s, a, 2025, m, "yes" if o else "no", "yes" if k else "no", ""] for s, a, m, o, k in HAND]))
    db = tmp_path / "c.duckdb"
    assert run("load", f, "--db", db).returncode == 0
    r = run("capacity", "--db", db, "--capacity", 1)
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False)
    assert (
        list(out.columns)
        == capacity.SLOT_EXPORT
        == [
            "mentor",
            "capacity",
            "extra_needs_served",
            "extra_score",
            "changed_pairs",
            "areas",
            "newly_served",
            "no_longer_served",
            "explanation",
        ]
    )
    assert set(out["mentor"]) == {"VA", "PA", "CA"}  # the default weights: same states at capacity
    assert out.set_index("mentor").loc["CA", "extra_needs_served"] == 0
    r = run("capacity", "--db", db, "--cycle", 2025, "--capacity", 1, "--areas", "--format", "json")
    assert r.returncode == 0, r.stderr
    areas = json.loads(r.stdout)
    assert list(areas[0]) == capacity.AREA_EXPORT
    rec = next(a for a in areas if a["program_area"] == "recovery")
    assert (rec["no_mentor"], rec["no_mentor_states"]) == (1, "TX")
    bad = run("capacity", "--db", db, "--cycle", 1999)
    assert bad.returncode == 2 and "no assessments for cycle 1999" in bad.stderr


# --- the page (AppTest) ---------------------------------------------------------------------------------------


def test_the_page_shows_capacity_planning_to_leadership_only(demo_db):
    from tests import support

    page = ROOT / "pages" / "pairings.py"
    params = {pairing_tables.VIEW_KEY: pairing_tables.VIEW_CAPACITY}
    at = support.page_as(auth.Viewer(auth.LEADERSHIP, "Lee"), page, params)
    assert not at.exception
    assert [t.label for t in at.tabs] == list(pairing_tables.VIEWS)
    assert any(h.value == "Capacity planning" for h in at.header)
    assert [s.value for s in at.subheader] == ["One more slot per mentor state", "Needs per program area"]
    slots, areas = at.dataframe[0].value, at.dataframe[1].value
    assert list(slots.columns)[:3] == ["Mentor state", "Capacity", "More needs served"] and len(slots)
    assert "No possible mentor (TA)" in areas.columns
    assert any("mentor states are at capacity" in m.value for m in at.markdown)

    pm = support.page_as(auth.Viewer(auth.PROGRAM_MANAGER, "P", ("MD", "VA")), page, params)
    assert not pm.exception
    assert pairing_tables.VIEW_CAPACITY not in [t.label for t in pm.tabs]
    assert not any(h.value == "Capacity planning" for h in pm.header)

    state = support.page_as(auth.Viewer(auth.STATE, "S", ("VA",)), page, params)
    assert not state.exception and not state.header and len(state.dataframe) == 0
    assert "This page is for" in state.warning[0].value
