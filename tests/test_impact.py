"""The impact figures pinned on hand-built sets (every number below is worked out by hand in the comments): the
mentees' changes, the like-for-like baseline, the difference, the interval's determinism, the too-few rule; the
per-mentor and per-PM tables; network health; the stuck setting; the demo set exercising it all."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from shisn import auth, demo, impact, queries
from shisn import exchanges as X

NOW = dt.datetime(2026, 6, 1, 12, 0)


def assess(rows):
    """rows: (state, area, cycle, maturity, seeks_help)."""
    return pd.DataFrame(rows, columns=["state", "program_area", "cycle", "maturity", "seeks_help"])


def exchanges(rows):
    """rows: (id, mentor, mentee, areas, cycle, status[, held])."""
    out = []
    for r in rows:
        ex_id, mentor, mentee, areas, cycle, status = r[:6]
        held = r[6] if len(r) > 6 else status in (X.HELD, X.CLOSED)
        out.append({"exchange_id": ex_id, "mentor": mentor, "mentee": mentee, "program_areas": areas, "cycle": cycle,
                    "status": status, "proposed_at": pd.Timestamp("2024-03-01"),
                    "held_at": pd.Timestamp("2024-05-01") if held else pd.NaT})
    return pd.DataFrame(out)


# Exercises, cycle 2024 -> 2025. Five mentees with a held/closed exchange, all starting at 2.
MENTEES = {"AL": 3, "AK": 3, "AZ": 2, "AR": 4, "CA": 3}            # changes 1, 1, 0, 2, 1 -> mean 1.0
# Five seekers at 2 with no exchange, and ID whose exchange was declined before it was held (counts as none).
BASELINE = {"CT": 2, "DE": 3, "DC": 2, "FL": 2, "GA": 1, "ID": 2}  # changes 0, 1, 0, 0, -1, 0 -> mean 0.0


def hand_set():
    rows = []
    for s, nxt in {**MENTEES, **BASELINE}.items():
        rows += [(s, "exercises", 2024, 2, True), (s, "exercises", 2025, nxt, False)]
    rows += [("HI", "exercises", 2024, 1, True), ("HI", "exercises", 2025, 3, True)]  # start 1: no mentee there
    rows += [("IL", "exercises", 2024, 2, True), ("IL", "exercises", 2025, 5, False)]  # exchange in contact: neither
    rows += [("CO", "exercises", 2024, 2, True)]                                      # mentee not rated again
    rows += [("IA", "exercises", 2024, 2, False), ("IA", "exercises", 2025, 5, False)]  # did not seek: not baseline
    rows += [("KS", "other", 2024, 1, True), ("KS", "other", 2025, 4, True)]           # 'other' is left out
    ex = exchanges([(1, "VA", "AL", "exercises", 2024, X.CLOSED), (2, "VA", "AK", "exercises", 2024, X.CLOSED),
                    (3, "VA", "AZ", "exercises", 2024, X.HELD), (4, "MD", "AR", "exercises", 2024, X.CLOSED),
                    (5, "MD", "CA", "exercises", 2024, X.CLOSED), (6, "MD", "CO", "exercises", 2024, X.CLOSED),
                    (7, "TX", "ID", "exercises", 2024, X.DECLINED), (8, "TX", "IL", "exercises", 2024, X.IN_CONTACT),
                    (9, "TX", "KS", "other", 2024, X.CLOSED)])
    return assess(rows), ex


def row(comparison, scope):
    return comparison.set_index("scope").loc[scope]


def test_units_are_the_mentees_changes_and_the_like_for_like_seekers():
    a, ex = hand_set()
    u = impact.units(a, ex)
    mine = u[u["group"] == impact.EXCHANGE].set_index("state")
    assert sorted(mine.index) == ["AK", "AL", "AR", "AZ", "CA", "CO"]  # KS's 'other' exchange is left out
    assert mine.loc[["AL", "AK", "AZ", "AR", "CA"], "change"].tolist() == [1, 1, 0, 2, 1]
    assert mine.loc["CO", "note"] == "awaiting the next rating" and pd.isna(mine.loc["CO", "change"])
    assert mine.loc["AL", "mentors"] == "VA" and mine.loc["AL", "exchange_ids"] == "1"
    base = u[(u["group"] == impact.BASELINE) & (u["cycle"] == 2024)].set_index("state")
    # ID's declined exchange counts as none; IL (open exchange) and IA (did not seek guidance) are not baseline
    assert sorted(base.index) == ["CT", "DC", "DE", "FL", "GA", "HI", "ID"]
    assert base.loc[["CT", "DE", "DC", "FL", "GA", "ID"], "change"].tolist() == [0, 1, 0, 0, -1, 0]


def test_the_comparison_by_hand():
    a, ex = hand_set()
    c = row(impact.compare(impact.units(a, ex)), "exercises")
    assert (c["n_exchange"], c["n_baseline"]) == (5, 6)   # HI (started at 1) has no mentee to compare with
    assert c["mean_with"] == pytest.approx(1.0) and c["mean_without"] == pytest.approx(0.0)
    assert c["difference"] == pytest.approx(1.0)
    assert c["awaiting"] == 1 and c["no_baseline"] == 0 and c["enough"]
    assert c["low"] <= 1.0 <= c["high"] and c["low"] > 0  # the bootstrap's worst draws still leave mentees ahead
    assert c["verdict"] == "mentees rose more than the baseline"
    overall = row(impact.compare(impact.units(a, ex)), impact.ALL)
    assert overall["difference"] == pytest.approx(1.0) and overall["n_exchange"] == 5


def test_the_baseline_is_weighted_like_the_mentees_not_pooled():
    # Start 1: mentees change 2, 2, 2; seekers without 1, 1.  Start 3: mentees 0, 0; seekers -1, -1, 1.
    # With: (2+2+2+0+0)/5 = 1.2. Without: each mentee's own stratum mean: (3 x 1 + 2 x (-1/3)) / 5 = 7/15.
    # Difference 1.2 - 7/15 = 11/15 (a pooled baseline, (1+1-1-1+1)/5 = 0.2, would give 1.0).
    rows, ex, n = [], [], 0
    for start, mentees, seekers in ((1, [2, 2, 2], [1, 1]), (3, [0, 0], [-1, -1, 1])):
        for ch in mentees:
            n += 1
            s = f"M{n}"
            rows += [(s, "recovery", 2023, start, True), (s, "recovery", 2024, start + ch, True)]
            ex.append((n, "FL", s, "recovery", 2023, X.CLOSED))
        for i, ch in enumerate(seekers):
            s = f"S{start}{i}"
            rows += [(s, "recovery", 2023, start, True), (s, "recovery", 2024, start + ch, True)]
    c = row(impact.compare(impact.units(assess(rows), exchanges(ex))), "recovery")
    assert (c["n_exchange"], c["n_baseline"]) == (5, 5)
    assert c["mean_with"] == pytest.approx(1.2)
    assert c["mean_without"] == pytest.approx(7 / 15)
    assert c["difference"] == pytest.approx(11 / 15)


def test_the_interval_is_the_same_on_every_rerun_and_follows_the_seed():
    a, ex = hand_set()
    u = impact.units(a, ex)
    first, again = row(impact.compare(u), "exercises"), row(impact.compare(u), "exercises")
    assert (first["low"], first["high"]) == (again["low"], again["high"])
    other = row(impact.compare(u, seed=impact.SEED + 1), "exercises")
    assert (other["low"], other["high"]) != (first["low"], first["high"])
    assert other["difference"] == first["difference"]  # the seed moves only the interval


def test_an_interval_with_no_spread_is_exactly_the_difference():
    rows, ex = [], []
    for i in range(5):
        rows += [(f"M{i}", "training", 2024, 2, True), (f"M{i}", "training", 2025, 3, True)]
        ex.append((i + 1, "OH", f"M{i}", "training", 2024, X.CLOSED))
        rows += [(f"S{i}", "training", 2024, 2, True), (f"S{i}", "training", 2025, 2, True)]
    c = row(impact.compare(impact.units(assess(rows), exchanges(ex))), "training")
    assert (c["difference"], c["low"], c["high"]) == (1.0, 1.0, 1.0)


def test_below_the_minimum_the_counts_and_too_few_to_compare():
    a, ex = hand_set()
    u = impact.units(a, ex)
    u = u[u["state"] != "CA"]  # four mentees left
    c = row(impact.compare(u), "exercises")
    assert (c["n_exchange"], c["n_baseline"]) == (4, 6)
    assert c["verdict"] == impact.TOO_FEW and not c["enough"]
    assert c["difference"] is None and c["mean_with"] is None and c["low"] is None
    shown = impact.display_table(impact.compare(u)).set_index("Program area").loc["Exercises"]
    assert shown["Difference"] == impact.TOO_FEW and shown["Mentees compared"] == 4
    # the same data with a lower minimum compares
    # the same data with a lower minimum compares: mentees 1, 1, 0, 2 -> 1.0; baseline 0.0
    assert row(impact.compare(u, min_n=4), "exercises")["difference"] == pytest.approx(1.0)
    # areas with nothing: zero counts, too few
    empty = row(impact.compare(u), "strategy")
    assert (empty["n_exchange"], empty["n_baseline"], empty["verdict"]) == (0, 0, impact.TOO_FEW)


def test_known_by_a_cycle_leaves_out_later_ratings():
    a, ex = hand_set()
    a = pd.concat([a, assess([("AL", "exercises", 2026, 5, False)])])
    u = impact.units(a, ex)
    assert row(impact.compare(impact.known_by(u, 2024)), "exercises")["n_exchange"] == 0  # started before 2024: none
    assert row(impact.compare(impact.known_by(u, 2025)), "exercises")["n_exchange"] == 5


def test_per_mentor_how_its_mentees_moved():
    a, ex = hand_set()
    m = impact.by_mentor(impact.units(a, ex)).set_index("mentor")
    # VA: AL +1, AK +1, AZ 0.  MD: AR +2, CA +1, CO awaiting.
    assert m.loc["VA", ["mentee_areas", "rated_again", "rose", "same", "slipped"]].tolist() == [3, 3, 2, 1, 0]
    assert m.loc["VA", "mean_change"] == pytest.approx(2 / 3)
    assert m.loc["MD", ["mentee_areas", "rated_again", "awaiting"]].tolist() == [3, 2, 1]
    assert m.loc["MD", "mean_change"] == pytest.approx(1.5)
    assert "TX" not in m.index  # its exchanges were declined, open, or in 'other'


def timed(rows):
    """rows: (id, mentor, mentee, status, proposed day, introduced day, held day, updated day, why) in June 2026."""
    out = []
    for ex_id, mentor, mentee, status, p, i, h, u, why in rows:
        def day(d):
            return pd.NaT if d is None else pd.Timestamp(2026, 1, 1) + pd.Timedelta(days=d)
        out.append({"exchange_id": ex_id, "mentor": mentor, "mentee": mentee, "program_areas": "exercises",
                    "cycle": 2026, "status": status, "proposed_at": day(p), "introduced_at": day(i),
                    "held_at": day(h), "updated_at": day(u), "decline_why": why})
    return pd.DataFrame(out)


HEALTH = timed([
    # first contact after 2, 4, 10, 20 days; held after 30 and 50 days
    (1, "VA", "MD", X.CLOSED, 0, 2, 30, 60, None),
    (2, "VA", "PA", X.HELD, 10, 14, 60, (NOW - dt.datetime(2026, 1, 1)).days - 5, None),
    (3, "OH", "WV", X.IN_CONTACT, 20, 30, None, (NOW - dt.datetime(2026, 1, 1)).days - 31, None),  # stuck 31 days
    (4, "OH", "KY", X.INTRODUCED, 100, 120, None, (NOW - dt.datetime(2026, 1, 1)).days - 29, None),  # 29: not
    (5, "TX", "NM", X.DECLINED, 5, None, None, 40, "no staff this cycle"),
    (6, "TX", "OK", "requested", None, None, None, 150, None),
])


def test_network_health_by_hand():
    h = impact.health(HEALTH, NOW, stuck_days=30)
    assert h.exchanges == 5  # the request never accepted is not an exchange
    # first contact: 2, 4, 10, 20 -> median 7; 90th percentile 10 + 0.7 x (20 - 10) = 17
    assert h.first_contact == {"n": 4, "median": 7.0, "p90": pytest.approx(17.0)}
    # held: 30 and 50 days -> median 40; 90th percentile 30 + 0.9 x 20 = 48
    assert h.to_held == {"n": 2, "median": 40.0, "p90": pytest.approx(48.0)}
    assert (h.declined, h.declined_share) == (1, pytest.approx(0.2))
    assert h.decline_reasons.to_dict("records") == [{"reason": "no staff this cycle", "exchanges": 1}]
    assert h.stuck["exchange_id"].tolist() == [3] and h.stuck["days_without_change"].tolist() == [31]
    assert impact.health(HEALTH, NOW, stuck_days=20).stuck["exchange_id"].tolist() == [3, 4]


def test_a_decline_without_a_reason_says_so():
    h = impact.health(HEALTH.assign(decline_why=None), NOW)
    assert h.decline_reasons.to_dict("records") == [{"reason": impact.NO_REASON, "exchanges": 1}]


def test_per_program_manager():
    pms = pd.DataFrame({"state": ["MD", "VA", "PA", "OH", "TX"], "name": ["Pat", "Pat", "Pat", "Ohm", "Tex"],
                        "email": ["p@x", "p@x", "p@x", "o@x", "t@x"]})
    t = impact.by_pm(HEALTH, pms).set_index("pm")
    # Pat (MD, VA, PA): exchanges 1 and 2, both held or closed; first contact 2 and 4 days -> median 3
    assert t.loc["Pat", ["exchanges", "open", "held", "declined"]].tolist() == [2, 1, 2, 0]
    assert t.loc["Pat", "median_days_to_first_contact"] == 3.0
    # Tex: the declined exchange (the request is not counted); no first contact
    assert t.loc["Tex", ["exchanges", "declined"]].tolist() == [1, 1]
    assert pd.isna(t.loc["Tex", "median_days_to_first_contact"])
    assert impact.by_pm(HEALTH, pms, names=["Ohm"])["pm"].tolist() == ["Ohm"]


def test_mentor_capacity_used_per_cycle():
    a = pd.DataFrame({"state": ["VA", "OH", "MD"], "program_area": ["exercises"] * 3, "cycle": [2026] * 3,
                      "maturity": [5, 4, 2], "eligible_mentor": [True, True, False]})
    h = impact.capacity_used(HEALTH, a, capacity=3).iloc[0]
    # eligible VA and OH -> capacity 6; areas mentored: VA 2, OH 2 (TX's declined one does not count) -> 4 of 6
    assert (h["eligible_mentors"], h["mentoring"], h["areas_mentored"], h["capacity"]) == (2, 2, 4, 6)
    assert h["share_used"] == pytest.approx(4 / 6) and h["at_capacity"] == ""
    assert impact.capacity_used(HEALTH, a, capacity=2).iloc[0]["at_capacity"] == "OH, VA"


def test_stuck_days_setting_defaults_validates_and_is_audited(con):
    from shisn import audit
    assert impact.stuck_days(con) == impact.DEFAULT_STUCK_DAYS == 30
    for bad in (0, 366, "x", 2.5, None):
        with pytest.raises(ValueError):
            impact.set_stuck_days(con, bad, "Lee")
    assert impact.stuck_days(con) == 30
    assert impact.set_stuck_days(con, 45, "Lee") == 45 and impact.stuck_days(con) == 45
    assert impact.set_stuck_days(con, "14", "Lee") == 14 and impact.stuck_days(con) == 14
    assert "setting stuck_days = 14 (was 45)" in audit.log(con)["detail"].tolist()


def test_the_demo_set_exercises_the_impact_view(con):
    demo.write_demo(con)
    lead = auth.Viewer(auth.LEADERSHIP, "L")
    inputs = impact.gather(con, lead, queries.assessments(con))
    ex = inputs.exchanges
    held = ex[ex["status"].isin(impact.COUNTED)]
    assert held["cycle"].nunique() >= 3 and ex["synthetic"].all()
    assert len(inputs.views) > 20 and inputs.views["synthetic"].all()
    f = impact.figures(inputs, NOW)
    overall = f.by_area.iloc[-1]
    assert overall["enough"] and overall["n_exchange"] >= impact.MIN_N and overall["n_baseline"] >= impact.MIN_N
    assert np.isfinite([overall["difference"], overall["low"], overall["high"]]).all()
    assert (f.by_area["verdict"] == impact.TOO_FEW).any() or f.by_area["enough"].all()
    assert f.health.decline_reasons["reason"].ne(impact.NO_REASON).all()  # every demo decline says why
    # the demo plants nothing: the plan is drawn before and apart from any rating (same plan for the same seed)
    assert demo.exchange_plan(queries.assessments(con), [2023], seed=7) == \
        demo.exchange_plan(queries.assessments(con), [2023], seed=7)
