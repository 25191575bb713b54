"""The impact figures pinned on hand-built sets (every number below is worked out by hand in the comments): the
mentees' changes, the like-for-like baseline, the difference, the interval's determinism, the too-few rule; the
per-mentor and per-PM tables; network health; the stuck setting; the demo set exercising it all."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from shisn import demo
from shisn.domain import auth, exchange_rules
from shisn.services import impact
from shisn.store import queries, settings

NOW = dt.datetime(2026, 6, 1, 12, 0)


def assess(rows):
    """rows: (state, area, cycle, maturity, seeks_help)."""
    return pd.DataFrame(rows, columns=["state", "program_area", "cycle", "maturity", "seeks_help"])


def exchanges(rows):
    """rows: (id, mentor, mentee, areas, cycle, status[, held]); held on 1 May of the cycle's year unless `held`
    is a date (or False: not held)."""
    out = []
    for r in rows:
        ex_id, mentor, mentee, areas, cycle, status = r[:6]
        held = r[6] if len(r) > 6 else status in (exchange_rules.HELD, exchange_rules.CLOSED)
        out.append(
            {
                "exchange_id": ex_id,
                "mentor": mentor,
                "mentee": mentee,
                "program_areas": areas,
                "cycle": cycle,
                "status": status,
                "proposed_at": pd.Timestamp(f"{cycle}-03-01"),
                "introduced_at": pd.Timestamp(f"{cycle}-03-05"),
                "updated_at": pd.Timestamp(f"{cycle}-06-01"),
                "held_at": (
                    pd.Timestamp(held) if isinstance(held, str) else pd.Timestamp(f"{cycle}-05-01") if held else pd.NaT
                ),
            }
        )
    return pd.DataFrame(out)


# Exercises, cycle 2024 -> 2025. Five mentees with a held/closed exchange, all starting at 2.
MENTEES = {"AL": 3, "AK": 3, "AZ": 2, "AR": 4, "CA": 3}  # changes 1, 1, 0, 2, 1 -> mean 1.0
# Five seekers at 2 with no exchange, and ID whose exchange was declined before it was held (counts as none).
BASELINE = {"CT": 2, "DE": 3, "DC": 2, "FL": 2, "GA": 1, "ID": 2}  # changes 0, 1, 0, 0, -1, 0 -> mean 0.0


def hand_set():
    rows = []
    for s, nxt in {**MENTEES, **BASELINE}.items():
        rows += [(s, "exercises", 2024, 2, True), (s, "exercises", 2025, nxt, False)]
    rows += [("HI", "exercises", 2024, 1, True), ("HI", "exercises", 2025, 3, True)]  # start 1: no mentee there
    rows += [("IL", "exercises", 2024, 2, True), ("IL", "exercises", 2025, 5, False)]  # exchange in contact: neither
    rows += [("CO", "exercises", 2024, 2, True)]  # mentee not rated again
    rows += [("IA", "exercises", 2024, 2, False), ("IA", "exercises", 2025, 5, False)]  # did not seek: not baseline
    rows += [("KS", "other", 2024, 1, True), ("KS", "other", 2025, 4, True)]  # 'other' is left out
    ex = exchanges(
        [
            (1, "VA", "AL", "exercises", 2024, exchange_rules.CLOSED),
            (2, "VA", "AK", "exercises", 2024, exchange_rules.CLOSED),
            (3, "VA", "AZ", "exercises", 2024, exchange_rules.HELD),
            (4, "MD", "AR", "exercises", 2024, exchange_rules.CLOSED),
            (5, "MD", "CA", "exercises", 2024, exchange_rules.CLOSED),
            (6, "MD", "CO", "exercises", 2024, exchange_rules.CLOSED),
            (7, "TX", "ID", "exercises", 2024, exchange_rules.DECLINED),
            (8, "TX", "IL", "exercises", 2024, exchange_rules.IN_CONTACT),
            (9, "TX", "KS", "other", 2024, exchange_rules.CLOSED),
        ]
    )
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
    assert (c["mentee_states"], c["baseline_states"], c["compared"]) == (5, 6, 5)  # HI (started at 1): unmatched
    assert c["mean_with"] == pytest.approx(1.0) and c["mean_without"] == pytest.approx(0.0)
    assert c["difference"] == pytest.approx(1.0)
    assert c["awaiting"] == 1 and c["no_baseline"] == 0 and c["enough"]
    assert c["low"] <= 1.0 <= c["high"] and c["low"] > 0  # the bootstrap's worst draws still leave mentees ahead
    assert c["verdict"] == impact.ROSE_MORE
    overall = row(impact.compare(impact.units(a, ex)), impact.ALL)
    assert overall["difference"] == pytest.approx(1.0) and overall["mentee_states"] == 5


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
            ex.append((n, "FL", s, "recovery", 2023, exchange_rules.CLOSED))
        for i, ch in enumerate(seekers):
            s = f"S{start}{i}"
            rows += [(s, "recovery", 2023, start, True), (s, "recovery", 2024, start + ch, True)]
    c = row(impact.compare(impact.units(assess(rows), exchanges(ex))), "recovery")
    assert (c["mentee_states"], c["baseline_states"]) == (5, 5)
    assert c["mean_with"] == pytest.approx(1.2)
    assert c["mean_without"] == pytest.approx(7 / 15)
    assert c["difference"] == pytest.approx(11 / 15)


def test_the_interval_is_the_same_on_every_rerun_whatever_the_rows_order():
    a, ex = hand_set()
    u = impact.units(a, ex)
    first, again = row(impact.compare(u), "exercises"), row(impact.compare(u), "exercises")
    shuffled = row(impact.compare(u.sample(frac=1, random_state=3)), "exercises")
    assert (first["low"], first["high"]) == (again["low"], again["high"])
    assert (shuffled["low"], shuffled["high"]) == pytest.approx((first["low"], first["high"]))


def test_the_interval_is_a_jackknife_over_states_by_hand():
    # One stratum: mentees 1, 1, 0, 2, 1 (mean 1), baseline 0, 1, 0, 0, -1, 0 (mean 0): difference 1.
    # Leaving out a mentee with change c moves the difference to (5 - c) / 4; a baseline state with change b to
    # 1 - (0 - b) / 5... i.e. 1 + b/5 ... (baseline mean without it: -b / 5). Jackknife variance (n-1)/n x sum of
    # squared deviations over the 11 states; interval 1 +- t(10) x its root.
    a, ex = hand_set()
    c = row(impact.compare(impact.units(a, ex)), "exercises")
    left_out = [(5 - m) / 4 for m in (1, 1, 0, 2, 1)] + [1 + b / 5 for b in (0, 1, 0, 0, -1, 0)]
    left_out = np.array(left_out)
    se = np.sqrt(10 / 11 * ((left_out - left_out.mean()) ** 2).sum())
    from scipy import stats

    half = stats.t.ppf(0.975, 10) * se
    assert (c["low"], c["high"]) == pytest.approx((1 - half, 1 + half))
    assert c["p"] == pytest.approx(2 * stats.t.sf(1 / se, 10))


def test_an_interval_with_no_spread_is_exactly_the_difference():
    rows, ex = [], []
    for i in range(5):
        rows += [(f"M{i}", "training", 2024, 2, True), (f"M{i}", "training", 2025, 3, True)]
        ex.append((i + 1, "OH", f"M{i}", "training", 2024, exchange_rules.CLOSED))
        rows += [(f"S{i}", "training", 2024, 2, True), (f"S{i}", "training", 2025, 2, True)]
    c = row(impact.compare(impact.units(assess(rows), exchanges(ex))), "training")
    assert (c["difference"], c["low"], c["high"]) == (1.0, 1.0, 1.0)


def test_below_the_minimum_the_counts_and_too_few_to_compare():
    a, ex = hand_set()
    u = impact.units(a, ex)
    u = u[u["state"] != "CA"]  # four mentees left
    c = row(impact.compare(u), "exercises")
    assert (c["mentee_states"], c["baseline_states"]) == (4, 6)
    assert c["verdict"] == impact.TOO_FEW and not c["enough"]
    assert c["difference"] is None and c["mean_with"] is None and c["low"] is None
    shown = impact.display_table(impact.compare(u)).set_index("Program area").loc["Exercises"]
    assert shown["Difference"] == "too few to compare" and shown["Mentee states"] == 4
    # the same data with a lower minimum compares
    # the same data with a lower minimum compares: mentees 1, 1, 0, 2 -> 1.0; baseline 0.0
    assert row(impact.compare(u, min_n=4), "exercises")["difference"] == pytest.approx(1.0)
    # areas with nothing: zero counts, too few
    empty = row(impact.compare(u), "strategy")
    assert (empty["mentee_states"], empty["baseline_states"], empty["verdict"]) == (0, 0, impact.TOO_FEW)


def test_known_by_a_cycle_leaves_out_later_ratings():
    a, ex = hand_set()
    a = pd.concat([a, assess([("AL", "exercises", 2026, 5, False)])])
    u = impact.units(a, ex)
    assert row(impact.compare(impact.known_by(u, 2024)), "exercises")["compared"] == 0  # started before 2024: none
    assert row(impact.compare(impact.known_by(u, 2025)), "exercises")["compared"] == 5


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

        out.append(
            {
                "exchange_id": ex_id,
                "mentor": mentor,
                "mentee": mentee,
                "program_areas": "exercises",
                "cycle": 2026,
                "status": status,
                "proposed_at": day(p),
                "introduced_at": day(i),
                "held_at": day(h),
                "updated_at": day(u),
                "decline_why": why,
            }
        )
    return pd.DataFrame(out)


HEALTH = timed(
    [
        # first contact after 2, 4, 10, 20 days; held after 30 and 50 days
        (1, "VA", "MD", exchange_rules.CLOSED, 0, 2, 30, 60, None),
        (2, "VA", "PA", exchange_rules.HELD, 10, 14, 60, (NOW - dt.datetime(2026, 1, 1)).days - 5, None),
        (
            3,
            "OH",
            "WV",
            exchange_rules.IN_CONTACT,
            20,
            30,
            None,
            (NOW - dt.datetime(2026, 1, 1)).days - 31,
            None,
        ),  # stuck 31 days
        (
            4,
            "OH",
            "KY",
            exchange_rules.INTRODUCED,
            100,
            120,
            None,
            (NOW - dt.datetime(2026, 1, 1)).days - 29,
            None,
        ),  # 29: not
        (5, "TX", "NM", exchange_rules.DECLINED, 5, None, None, 40, "no staff this cycle"),
        (6, "TX", "OK", "requested", None, None, None, 150, None),
    ]
)


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
    pms = pd.DataFrame(
        {
            "state": ["MD", "VA", "PA", "OH", "TX"],
            "name": ["Pat", "Pat", "Pat", "Ohm", "Tex"],
            "email": ["p@x", "p@x", "p@x", "o@x", "t@x"],
        }
    )
    t = impact.by_pm(HEALTH, pms).set_index("pm")
    # Pat (MD, VA, PA): exchanges 1 and 2, both held or closed; first contact 2 and 4 days -> median 3
    assert t.loc["Pat", ["exchanges", "open", "held", "declined"]].tolist() == [2, 1, 2, 0]
    assert t.loc["Pat", "median_days_to_first_contact"] == 3.0
    # Tex: the declined exchange (the request is not counted); no first contact
    assert t.loc["Tex", ["exchanges", "declined"]].tolist() == [1, 1]
    assert pd.isna(t.loc["Tex", "median_days_to_first_contact"])
    # a program manager's own row: found by its states (the assignments are keyed by e-mail, not by name)
    assert impact.by_pm(HEALTH, pms, states=["OH"])["pm"].tolist() == ["Ohm"]
    renamed = pms.assign(name=["Pat", "Pat", "Pat", "Ohm", "Tex"], email=["P@X", "p@x", "p@x", "o@x", "t@x"])
    assert impact.by_pm(HEALTH, renamed, states=["MD", "VA"])["states"].tolist() == ["MD, PA, VA"]


def test_mentor_capacity_used_per_cycle():
    a = pd.DataFrame(
        {
            "state": ["VA", "OH", "MD"],
            "program_area": ["exercises"] * 3,
            "cycle": [2026] * 3,
            "maturity": [5, 4, 2],
            "eligible_mentor": [True, True, False],
        }
    )
    h = impact.capacity_used(HEALTH, a, capacity=3).iloc[0]
    # eligible VA and OH -> capacity 6; areas mentored: VA 2, OH 2 (TX's declined one does not count) -> 4 of 6
    assert (h["eligible_mentors"], h["mentoring"], h["areas_mentored"], h["capacity"]) == (2, 2, 4, 6)
    assert h["share_used"] == pytest.approx(4 / 6) and h["at_capacity"] == ""
    assert impact.capacity_used(HEALTH, a, capacity=2).iloc[0]["at_capacity"] == "OH, VA"


def test_stuck_days_setting_defaults_validates_and_is_audited(con):
    from shisn.store import audit

    lead = auth.Viewer(auth.LEADERSHIP, "Lee")
    assert settings.stuck_days(con) == settings.DEFAULT_STUCK_DAYS == 30
    with pytest.raises(PermissionError):
        settings.set_stuck_days(con, 45, auth.Viewer(auth.PROGRAM_MANAGER, "Pat", ("VA",)))
    for bad in (0, 366, "x", 2.5, None):
        with pytest.raises(ValueError):
            settings.set_stuck_days(con, bad, lead)
    assert settings.stuck_days(con) == 30
    assert settings.set_stuck_days(con, 45, lead) == 45 and settings.stuck_days(con) == 45
    assert settings.set_stuck_days(con, "14", lead) == 14 and settings.stuck_days(con) == 14
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
    assert overall["enough"] and overall["mentee_states"] >= impact.MIN_N
    assert overall["baseline_states"] >= impact.MIN_N
    assert np.isfinite([overall["difference"], overall["low"], overall["high"]]).all()
    assert (f.by_area["verdict"] == impact.TOO_FEW).any() or f.by_area["enough"].all()
    # the demo plants no effect, and no verdict claims one (unadjusted, Exercises' interval misses zero: the
    # areas are read together)
    assert set(f.by_area["verdict"]) <= {impact.NO_CLEAR, impact.TOO_FEW}
    assert f.health.decline_reasons["reason"].ne(impact.NO_REASON).all()  # every demo decline says why
    # the demo plants nothing: the plan is drawn before and apart from any rating (same plan for the same seed)
    assert demo.exchange_plan(queries.assessments(con), [2023], seed=7) == demo.exchange_plan(
        queries.assessments(con), [2023], seed=7
    )


# --- what the comparison counts, and when ------------------------------------------------------------------------


def five_areas_one_mentee():
    """One mentee state (M) with one exchange in five areas, each +1; five baseline states per area, each 0."""
    areas = list(impact.AREAS[:5])
    rows = [("M", ar, 2024, 2, True) for ar in areas] + [("M", ar, 2025, 3, True) for ar in areas]
    for s in ("B1", "B2", "B3", "B4", "B5"):
        rows += [(s, ar, c, 2, True) for ar in areas for c in (2024, 2025)]
    return assess(rows), exchanges([(1, "VA", "M", ",".join(areas), 2024, exchange_rules.CLOSED)])


def test_counts_are_states_not_state_areas():
    a, ex = five_areas_one_mentee()
    c = impact.compare(impact.units(a, ex))
    overall = row(c, impact.ALL)
    # one state is not five: too few, however many of its areas moved
    assert (overall["mentee_states"], overall["baseline_states"], overall["compared"]) == (1, 5, 5)
    assert overall["verdict"] == impact.TOO_FEW and overall["difference"] is None
    shown = impact.display_table(c).set_index("Program area").loc["All areas"]
    assert (shown["Mentee states"], shown["Baseline states"], shown["State-areas compared"]) == (1, 5, 5)


def test_the_exchange_counts_from_the_day_it_was_held():
    # Need raised in 2023, exchange held on 2025-03-03: the mentee's change runs 2025 -> 2026, and its 2023 -> 2024
    # and 2024 -> 2025 changes (exchange under way) are no baseline either.
    a = assess(
        [
            ("MD", "training", 2023, 1, True),
            ("MD", "training", 2024, 2, True),
            ("MD", "training", 2025, 2, True),
            ("MD", "training", 2026, 4, False),
        ]
    )
    ex = exchanges([(1, "VA", "MD", "training", 2023, exchange_rules.CLOSED, "2025-03-03")])
    u = impact.units(a, ex)
    assert len(u) == 1
    r = u.iloc[0]
    assert r["group"] == impact.EXCHANGE and (r["cycle"], r["next_cycle"], r["held_in"]) == (2025, 2026, 2025)
    assert (r["start"], r["next"], r["change"]) == (2.0, 4.0, 2.0)


def test_grouped_by_the_year_held_not_the_cycle_of_the_need():
    rows, ex = [], []
    for i in range(5):
        rows += [(f"M{i}", "training", c, lvl, True) for c, lvl in ((2023, 1), (2024, 2), (2025, 3))]
        rows += [(f"S{i}", "training", c, lvl, True) for c, lvl in ((2023, 1), (2024, 2), (2025, 2))]
        ex.append(
            (i + 1, "OH", f"M{i}", "training", 2023, exchange_rules.CLOSED, "2024-06-01")
        )  # raised 2023, held 2024
    by_cycle = impact.compare_by_cycle(impact.units(assess(rows), exchanges(ex)))
    assert by_cycle["scope"].tolist() == ["2024"] and by_cycle["label"].tolist() == ["Held in 2024"]
    assert by_cycle.iloc[0]["difference"] == pytest.approx(1.0)  # 2 -> 3 against 2 -> 2


def test_held_then_declined_counts_as_held_and_declined_before_is_none():
    a = assess([(s, "recovery", c, 2, True) for s in ("AA", "BB") for c in (2024, 2025)])
    ex = exchanges(
        [
            (1, "VA", "AA", "recovery", 2024, exchange_rules.DECLINED, "2024-04-01"),  # held, then declined
            (2, "VA", "BB", "recovery", 2024, exchange_rules.DECLINED, False),
        ]
    )  # declined before it was held
    u = impact.units(a, ex).query("cycle == 2024").set_index("state")
    assert u.loc["AA", "group"] == impact.EXCHANGE and u.loc["AA", "exchange_ids"] == "1"
    assert u.loc["BB", "group"] == impact.BASELINE


def test_a_change_over_a_skipped_cycle_is_left_out_and_counted():
    a = assess(
        [
            ("MD", "training", 2024, 2, True),
            ("MD", "training", 2026, 4, True),  # skipped 2025
            ("PA", "training", 2024, 2, True),
            ("PA", "training", 2026, 3, True),
        ]
    )
    ex = exchanges([(1, "VA", "MD", "training", 2024, exchange_rules.CLOSED)])
    u = impact.units(a, ex).query("cycle == 2024").set_index("state")
    assert u.loc["MD", "note"] == "rated again 2 cycles later" and pd.isna(u.loc["MD", "change"])
    assert u.loc["PA", "note"] == "rated again 2 cycles later" and pd.isna(u.loc["PA", "change"])
    c = row(impact.compare(impact.units(a, ex)), "training")
    assert (c["gap"], c["compared"], c["awaiting"]) == (1, 0, 0)


def test_the_baseline_leaves_out_every_exchange_in_the_store_whoever_views():
    # Five mentees of the viewer's exchanges (+1), five seekers without (0), and MX, another PM's mentee (+3).
    rows, ex = [], []
    for i in range(5):
        rows += [(f"M{i}", "training", 2024, 2, True), (f"M{i}", "training", 2025, 3, True)]
        rows += [(f"S{i}", "training", 2024, 2, True), (f"S{i}", "training", 2025, 2, True)]
        ex.append((i + 1, "OH", f"M{i}", "training", 2024, exchange_rules.CLOSED))
    rows += [("MX", "training", 2024, 2, True), ("MX", "training", 2025, 5, True)]
    ex.append((9, "TX", "MX", "training", 2024, exchange_rules.CLOSED))
    a, every = assess(rows), exchanges(ex)
    mine = every[every["exchange_id"] != 9]
    u = impact.units(a, every, visible=mine["exchange_id"]).query("cycle == 2024").set_index("state")
    assert u.loc["MX", "group"] == impact.UNSEEN and u.loc["MX", "exchange_ids"] == ""
    c = row(impact.compare(u.reset_index()), "training")
    assert (c["mean_without"], c["difference"], c["baseline_states"]) == (0.0, 1.0, 5)
    # through `figures`, as the page gets it: the same comparison, and no unit the viewer may not see
    pm = auth.Viewer(auth.PROGRAM_MANAGER, "Pat", ("OH",))
    inputs = impact.Inputs(
        viewer=pm,
        assessments=a.assign(eligible_mentor=False, offers_help=False, other_area="", name="", region_label=""),
        exchanges=mine,
        referrals=pd.DataFrame(columns=["cycle", "state"]),
        pms=pd.DataFrame(columns=["state", "name", "email"]),
        stuck_days=30,
        pool=every,
    )
    f = impact.figures(inputs, NOW)
    assert row(f.by_area, "training")["difference"] == 1.0
    assert set(f.units["state"]) == {f"M{i}" for i in range(5)} and set(f.units["group"]) == {impact.EXCHANGE}
    # without the whole store the other PM's mentee would count as "no exchange" and pull the baseline up
    leaky = impact.compare(impact.units(a, mine))
    assert row(leaky, "training")["mean_without"] > 0


def test_holm_adjustment_by_hand_and_in_the_area_verdicts():
    # p 0.01, 0.04, 0.03, 0.2 -> sorted x 4, 3, 2, 1 with a running maximum: 0.04, 0.09, 0.09 (0.08 -> 0.09), 0.2
    assert impact.holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    from tests.unit.test_impact_calibration import world

    c = impact.compare(impact.units(*world(5002, 0.5)))
    areas = c[c["enough"] & (c["scope"] != impact.ALL)]
    assert areas["p_adjusted"].tolist() == pytest.approx(list(impact.holm(areas["p"])))
    recovery = row(c, "recovery")  # significant alone (p 0.026), not among eight areas
    assert recovery["p"] < 0.05 <= recovery["p_adjusted"] and recovery["high"] < 0
    assert recovery["verdict"] == impact.NO_CLEAR
    overall = row(c, impact.ALL)
    assert overall["p_adjusted"] == overall["p"]  # the headline is not adjusted


def test_the_command_lines_table():
    a, ex = hand_set()
    t = impact.cli_table(impact.compare(impact.units(a, ex)))
    assert list(t.columns) == impact.CLI_COLUMNS
    assert t["area"].tolist() == list(impact.AREAS) + ["all"]
    e = t.set_index("area").loc["exercises"]
    assert (e["mentee_states"], e["baseline_states"], e["compared"], e["verdict"]) == (5, 6, 5, "rose more")
    assert (e["mentee_change"], e["baseline_change"], e["difference"]) == (1.0, 0.0, 1.0)
    assert set(t["verdict"]) <= set(impact.VERDICTS)
    strategy = t.set_index("area").loc["strategy"]
    assert strategy["verdict"] == "too few" and pd.isna(strategy["difference"])
