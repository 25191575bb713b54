"""The pairing engine: candidate rules, explanations, referrals, optimality (brute force), determinism, weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shisn.domain import catalog, pairing
from shisn.domain.pairing import Weights, solve_bmatching, suggest

# Hand-built reference data, so the facts the tests rely on do not depend on the shipped files.
JUR = pd.DataFrame(
    [
        ("VA", "Virginia", 3, 8_000_000),
        ("MD", "Maryland", 3, 8_000_000),
        ("DC", "District of Columbia", 3, 700_000),
        ("PA", "Pennsylvania", 3, 13_000_000),
        ("WV", "West Virginia", 3, 1_800_000),
        ("OH", "Ohio", 5, 11_800_000),
        ("CA", "California", 9, 39_000_000),
        ("NV", "Nevada", 9, 3_100_000),
        ("TX", "Texas", 6, 29_000_000),
        ("NM", "New Mexico", 6, 2_100_000),
    ],
    columns=["code", "name", "fema_region", "population"],
)
BORDERS = frozenset(
    tuple(sorted(p))
    for p in [
        ("VA", "MD"),
        ("VA", "DC"),
        ("MD", "DC"),
        ("VA", "WV"),
        ("MD", "WV"),
        ("MD", "PA"),
        ("PA", "WV"),
        ("OH", "PA"),
        ("OH", "WV"),
        ("CA", "NV"),
        ("TX", "NM"),
    ]
)
CODES = list(JUR["code"])
COLS = ["state", "program_area", "maturity", "offers_help", "seeks_help"]


def frame(*rows, cycle=2026) -> pd.DataFrame:
    """rows: (state, area, maturity, offers, seeks)."""
    df = pd.DataFrame(list(rows), columns=COLS)
    df["cycle"] = cycle
    df["notes"] = "ignored"
    return df


def run(df, weights=Weights(), capacity=pairing.DEFAULT_CAPACITY, overrides=None, jur=JUR, borders=BORDERS):
    return suggest(df, weights, capacity, overrides, jurisdictions=jur, borders=borders)


def random_frame(rng, codes, areas, p_offer=0.5, p_seek=0.4) -> pd.DataFrame:
    rows = []
    for s in codes:
        for a in areas:
            rows.append((s, a, int(rng.integers(1, 6)), bool(rng.random() < p_offer), bool(rng.random() < p_seek)))
    return frame(*rows)


def random_jurisdictions(rng, n):
    codes = [f"S{i:02d}" for i in range(n)]
    jur = pd.DataFrame(
        {
            "code": codes,
            "name": [f"State {i}" for i in range(n)],
            "fema_region": rng.integers(1, 4, n),
            "population": rng.integers(10**5, 10**7, n),
        }
    )
    borders = frozenset((codes[i], codes[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.3)
    return codes, jur, borders


def brute_force(need, mentor, score, capacity, n_needs) -> int:
    """Best total over every feasible assignment (each need: one of its edges or none), by exhaustive search."""
    options = [[] for _ in range(n_needs)]
    for m, nd, s in zip(mentor, need, score):
        options[nd].append((int(m), int(s)))
    best = 0
    cap = list(capacity)

    def rec(i, total):
        nonlocal best
        if i == n_needs:
            best = max(best, total)
            return
        rec(i + 1, total)  # leave need i open
        for m, s in options[i]:
            if cap[m] > 0:
                cap[m] -= 1
                rec(i + 1, total + s)
                cap[m] += 1

    rec(0, 0)
    return best


def needs_and_caps(result, capacity, overrides):
    cand = result.candidates
    need = cand.groupby(["program_area", "mentee"], sort=True).ngroup().to_numpy()
    mentors = sorted(set(cand["mentor"]))
    mi = cand["mentor"].map({m: i for i, m in enumerate(mentors)}).to_numpy()
    caps = [(overrides or {}).get(m, capacity) for m in mentors]
    score = np.rint(cand["score"].to_numpy() * pairing.SCALE).astype(int)
    return need, mi, score, caps, (int(need.max()) + 1 if len(need) else 0)


# ------------------------------------------------------------------------------------------------ explanations


def test_explanation_for_hand_built_pair():
    df = frame(
        ("VA", "exercises", 5, True, False),
        ("MD", "exercises", 2, False, True),
        ("VA", "training", 4, True, False),
        ("VA", "recovery", 5, True, False),
    )
    r = run(df)
    assert len(r.pairs) == 1 and r.referrals.empty
    p = r.pairs.iloc[0]
    assert (p["mentor"], p["mentee"], p["program_area"]) == ("VA", "MD", "exercises")
    assert (p["mentor_name"], p["mentee_name"], p["area_label"]) == ("Virginia", "Maryland", "Exercise programs")
    assert (p["mentor_maturity"], p["mentee_maturity"]) == (5, 2)
    assert p["same_region"] and p["shared_border"]
    text = p["reasons"]
    assert text.startswith("Virginia (5) → Maryland (2), Exercise programs: ")
    for part in (
        "same FEMA Region III",
        "shared border",
        "similar population",
        "3 levels ahead",
        "can mentor in 3 areas",
    ):
        assert part in text
    # score: base 1 + gap 3/4 + region 1 + border 1 + population 0.5 * 1 + breadth 0.5 * (3 - 1) / 8
    assert p["score"] == pytest.approx(4.375)
    assert r.total_score == pytest.approx(4.375)
    assert r.candidates.loc[r.candidates["chosen"], "reasons"].tolist() == [text]


def test_explanation_without_shared_factors_and_zero_weights():
    df = frame(("CA", "strategy", 4, True, False), ("MD", "strategy", 3, False, True))
    text = run(df).pairs.iloc[0]["reasons"]
    assert (
        text == "California (4) → Maryland (3), State Homeland Security Strategy development and "
        "implementation: 1 level ahead"
    )
    # a factor with zero weight is not offered as a reason
    df = frame(("VA", "exercises", 5, True, False), ("MD", "exercises", 2, False, True))
    text = run(df, Weights(shared_border=0)).pairs.iloc[0]["reasons"]
    assert "same FEMA Region III" in text and "shared border" not in text


# ------------------------------------------------------------------------------------------------ candidates


def test_candidate_rules():
    df = frame(
        ("VA", "exercises", 5, True, True),  # eligible mentor that also seeks: never its own mentor
        ("OH", "exercises", 3, True, False),  # offers, not eligible
        ("PA", "exercises", 4, False, False),  # strong, does not offer
        ("MD", "exercises", 2, False, True),
        ("WV", "exercises", 1, False, False),  # weak but did not opt in
        ("CA", "exercises", 4, True, True),  # seeks, but VA (5) is ahead of it; CA cannot mentor itself
        ("TX", "exercises", 5, False, True),  # seeks at 5: nobody is ahead
    )
    c = pairing.candidates(df, jurisdictions=JUR, borders=BORDERS)
    assert list(c.columns[:9]) == [
        "mentor",
        "mentee",
        "program_area",
        "score",
        "mentor_maturity",
        "mentee_maturity",
        "same_region",
        "shared_border",
        "reasons",
    ]
    got = set(zip(c["mentor"], c["mentee"]))
    assert got == {("VA", "MD"), ("CA", "MD"), ("VA", "CA")}
    assert (c["score"] > 0).all()
    assert np.allclose(c["score"] * 1000, np.rint(c["score"] * 1000))
    assert (c["mentor_maturity"] > c["mentee_maturity"]).all()


def test_candidates_ignore_other_columns_and_accept_yes_no_text():
    df = frame(("VA", "exercises", 5, "yes", "no"), ("MD", "exercises", 2, "No", "Y"))
    df["planning"] = 3
    df["other_area"] = None
    c = pairing.candidates(df, jurisdictions=JUR, borders=BORDERS)
    assert list(zip(c["mentor"], c["mentee"])) == [("VA", "MD")]


# ------------------------------------------------------------------------------------------------ optimality


def test_solver_matches_brute_force_on_random_graphs():
    rng = np.random.default_rng(7)
    for trial in range(120):
        n_needs, n_m = int(rng.integers(1, 9)), int(rng.integers(1, 5))
        pairs = [(nd, m) for nd in range(n_needs) for m in range(n_m) if rng.random() < 0.6]
        if not pairs:
            continue
        need = np.array([p[0] for p in pairs])
        mentor = np.array([p[1] for p in pairs])
        hi = 3 if trial % 2 else 60  # every other instance is full of ties
        score = rng.integers(1, hi, len(pairs))
        cap = rng.integers(0, 3, n_m)
        chosen = solve_bmatching(need, mentor, score, cap, n_needs)
        assert len(set(need[chosen])) == len(chosen)
        assert (np.bincount(mentor[chosen], minlength=n_m) <= cap).all()
        assert int(score[chosen].sum()) == brute_force(need, mentor, score, cap, n_needs), trial


def test_solver_stays_exact_without_the_tie_break(monkeypatch):
    # very large instances or weights switch the tie-break off (float costs must stay exact integers)
    monkeypatch.setattr(pairing, "_EXACT_LIMIT", 0)
    rng = np.random.default_rng(9)
    for trial in range(20):
        n_needs, n_m = int(rng.integers(2, 8)), int(rng.integers(1, 4))
        pairs = [(nd, m) for nd in range(n_needs) for m in range(n_m) if rng.random() < 0.7]
        if not pairs:
            continue
        need, mentor = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        score = rng.integers(10**11, 10**11 + 5, len(pairs)) if trial % 2 else rng.integers(1, 4, len(pairs))
        cap = rng.integers(1, 3, n_m)
        chosen = solve_bmatching(need, mentor, score, cap, n_needs)
        assert int(score[chosen].sum()) == brute_force(need, mentor, score, cap, n_needs), trial


def test_suggest_is_optimal_against_brute_force():
    rng = np.random.default_rng(11)
    checked = 0
    for trial in range(60):
        codes = list(rng.choice(CODES, size=int(rng.integers(3, 7)), replace=False))
        areas = list(rng.choice(catalog.AREA_SLUGS, size=int(rng.integers(1, 4)), replace=False))
        df = random_frame(rng, codes, areas)
        capacity = int(rng.integers(1, 3))
        overrides = {codes[0]: int(rng.integers(0, 4))}
        r = run(df, capacity=capacity, overrides=overrides)
        need, mi, score, caps, n_needs = needs_and_caps(r, capacity, overrides)
        if n_needs > 8:
            continue
        checked += 1
        assert round(r.total_score * 1000) == brute_force(need, mi, score, caps, n_needs), trial
        assert r.total_score == pytest.approx(r.pairs["score"].sum())
    assert checked >= 30


def test_constraints_and_maximality_on_random_instances():
    rng = np.random.default_rng(3)
    for trial in range(12):
        codes, jur, borders = random_jurisdictions(rng, int(rng.integers(8, 25)))
        df = random_frame(rng, codes, catalog.AREA_SLUGS, p_offer=0.4, p_seek=0.35)
        capacity = int(rng.integers(0, 4))
        overrides = {c: int(rng.integers(0, 6)) for c in rng.choice(codes, 3, replace=False)}
        r = run(df, capacity=capacity, overrides=overrides, jur=jur, borders=borders)
        p = r.pairs
        facts = df.set_index(["state", "program_area"])
        # each need at most one mentor; pairs + referrals are exactly the needs
        assert not p.duplicated(["mentee", "program_area"]).any()
        needs = set(map(tuple, df.loc[df["seeks_help"], ["state", "program_area"]].to_numpy()))
        served = set(zip(p["mentee"], p["program_area"]))
        referred = set(zip(r.referrals["mentee"], r.referrals["program_area"]))
        assert served | referred == needs and not served & referred
        # load within capacity (with overrides)
        load = p["mentor"].value_counts()
        for m, n in load.items():
            assert n <= overrides.get(m, capacity)
        # only eligible mentors, opted-in mentees, mentor ahead, never self
        for row in p.itertuples():
            mf, ef = facts.loc[(row.mentor, row.program_area)], facts.loc[(row.mentee, row.program_area)]
            assert mf["offers_help"] and mf["maturity"] >= catalog.MENTOR_MIN
            assert ef["seeks_help"] and row.mentor != row.mentee
            assert row.mentor_maturity == mf["maturity"] > row.mentee_maturity == ef["maturity"]
        # maximality: an open need has no candidate mentor with spare capacity
        cand = r.candidates
        for row in r.referrals.itertuples():
            ms = cand.loc[(cand["mentee"] == row.mentee) & (cand["program_area"] == row.program_area), "mentor"]
            for m in ms:
                assert load.get(m, 0) >= overrides.get(m, capacity)
            assert (row.reason_code == pairing.AT_CAPACITY) == (len(ms) > 0)
        assert set(r.mentor_load["mentor"]) >= set(load.index)


def reference_slot_graph(need, mentor, score, capacity, n_needs):
    """The slot graph of the module docstring, written out plainly (one row per need, one entry per slot)."""
    live = [i for i in range(len(need)) if capacity[mentor[i]] > 0]
    live.sort(key=lambda i: (need[i], mentor[i]))
    n_m = len(capacity)
    degree = np.bincount([mentor[i] for i in live], minlength=n_m)
    slots = np.minimum(capacity, degree)
    off = np.concatenate([[0], np.cumsum(slots)])
    n_slots = int(off[-1])
    top = max(int(score[i]) for i in live) + 1
    big = n_needs * n_m + 1
    tie = (n_needs + 1) * top * big < pairing._EXACT_LIMIT
    big = big if tie else 1
    data, indices, indptr = [], [], [0]
    for r in range(n_needs):
        for i in (i for i in live if need[i] == r):
            for j in range(int(slots[mentor[i]])):
                indices.append(int(off[mentor[i]]) + j)
                data.append(float((top - int(score[i])) * big + (int(mentor[i]) if tie else 0)))
        indices.append(n_slots + r)
        data.append(float(top * big))
        indptr.append(len(data))
    return np.array(data), np.array(indices), np.array(indptr), n_slots


@pytest.mark.parametrize("exact_limit", [pairing._EXACT_LIMIT, 0])
def test_slot_graph_is_exactly_the_reference_expansion(monkeypatch, exact_limit):
    # the solver's input decides the pairs (also between equally good optima): building it in blocks, in place, must
    # give exactly the plain expansion, entry for entry
    monkeypatch.setattr(pairing, "_EXACT_LIMIT", exact_limit)
    rng = np.random.default_rng(21)
    for trial in range(60):
        n_needs, n_m = int(rng.integers(1, 12)), int(rng.integers(1, 7))
        pairs = [(nd, m) for nd in range(n_needs) for m in range(n_m) if rng.random() < 0.5]
        if not pairs:
            continue
        need = np.array([p[0] for p in pairs])
        mentor = np.array([p[1] for p in pairs])
        score = rng.integers(1, 4 if trial % 2 else 5000, len(pairs))
        cap = rng.integers(0, 4, n_m)
        if not (cap[mentor] > 0).any():
            continue
        ptr = np.concatenate([[0], np.cumsum(np.bincount(need, minlength=n_needs))])
        for block in (1, 3, 1 << 16):
            monkeypatch.setattr(pairing, "_BLOCK", block)
            graph, slots = pairing._slot_graph(ptr, mentor, score, cap)
            data, indices, indptr, n_slots = reference_slot_graph(need, mentor, score, cap, n_needs)
            assert graph.shape == (n_needs, n_slots + n_needs) and int(slots.sum()) == n_slots
            assert graph.indices.dtype == graph.indptr.dtype == np.int32 and graph.data.dtype == np.float64
            np.testing.assert_array_equal(graph.indptr, indptr)
            np.testing.assert_array_equal(graph.indices, indices)
            np.testing.assert_array_equal(graph.data, data)


def test_scipy_is_kept_from_copying_the_slot_graph():
    from scipy import sparse
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    rng = np.random.default_rng(4)
    dense = np.where(rng.random((6, 9)) < 0.6, rng.integers(1, 20, (6, 9)), 0).astype(float)
    dense[:, 3:] = np.where(np.eye(6, 6, dtype=bool), 50.0, dense[:, 3:])  # a full matching exists
    plain = sparse.csr_array(dense)
    graph = pairing._graph_type()(
        (plain.data, plain.indices.astype(np.int32), plain.indptr.astype(np.int32)), shape=plain.shape
    )
    assert graph.astype(np.double) is graph
    assert graph.astype(np.float32).dtype == np.float32
    for a, b in zip(min_weight_full_bipartite_matching(graph), min_weight_full_bipartite_matching(plain)):
        np.testing.assert_array_equal(a, b)


def test_solver_gives_the_same_edges_for_shuffled_input():
    rng = np.random.default_rng(8)
    for trial in range(40):
        n_needs, n_m = int(rng.integers(1, 30)), int(rng.integers(1, 8))
        pairs = [(nd, m) for nd in range(n_needs) for m in range(n_m) if rng.random() < 0.5]
        if not pairs:
            continue
        need, mentor = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        score, cap = rng.integers(1, 4, len(pairs)), rng.integers(0, 3, n_m)
        chosen = solve_bmatching(need, mentor, score, cap, n_needs)  # sorted input
        perm = rng.permutation(len(pairs))
        again = solve_bmatching(need[perm], mentor[perm], score[perm], cap, n_needs)
        assert sorted(zip(need[chosen], mentor[chosen])) == sorted(zip(need[perm][again], mentor[perm][again]))
        assert (np.diff(again) > 0).all()


def test_suggest_without_candidates_gives_the_same_result(monkeypatch):
    rng = np.random.default_rng(17)
    weights = [
        Weights(),
        Weights(same_region=0, shared_border=0, similar_population=0, breadth=0),  # many ties
        Weights(base=2.5, maturity_gap=0.3, similar_population=2),
    ]
    for trial in range(24):
        codes, jur, borders = random_jurisdictions(rng, int(rng.integers(2, 30)))
        df = random_frame(
            rng,
            codes,
            list(rng.choice(catalog.AREA_SLUGS, int(rng.integers(1, 10)), replace=False)),
            p_offer=float(rng.uniform(0.2, 0.8)),
            p_seek=float(rng.uniform(0.1, 0.8)),
        )
        capacity = int(rng.integers(0, 4))
        overrides = {c: int(rng.integers(0, 5)) for c in rng.choice(codes, 2, replace=False)}
        w = weights[trial % len(weights)]
        monkeypatch.setattr(pairing, "_BLOCK", 1 << 16)
        full = suggest(df, w, capacity, overrides, jurisdictions=jur, borders=borders)
        monkeypatch.setattr(pairing, "_BLOCK", [1, 5, 1 << 16][trial % 3])  # blocks change nothing either
        lean = suggest(df, w, capacity, overrides, jurisdictions=jur, borders=borders, with_candidates=False)
        for name in ("pairs", "referrals", "ineligible_offers", "mentor_load"):
            pd.testing.assert_frame_equal(getattr(full, name), getattr(lean, name), check_exact=True, obj=name)
        assert full.total_score == lean.total_score
        assert lean.candidates.empty
        pd.testing.assert_frame_equal(lean.candidates, full.candidates.iloc[:0].reset_index(drop=True))
        # the pairs are the chosen candidates, with the candidates' scores
        chosen = full.candidates[full.candidates["chosen"]].reset_index(drop=True)
        cols = [c for c in full.pairs.columns if c not in ("offer_id", "offer_title")]  # a pair's own, not an edge's
        pd.testing.assert_frame_equal(chosen[cols], full.pairs[cols], check_exact=True)


def test_compact_edges_hold_the_candidates_scores():
    rng = np.random.default_rng(2)
    codes, jur, borders = random_jurisdictions(rng, 25)
    df = random_frame(rng, codes, catalog.AREA_SLUGS, p_offer=0.5, p_seek=0.5)
    d = pairing._Data(df, jur, borders)
    e = pairing._Edges(d, Weights())
    c = pairing.candidates(df, jurisdictions=jur, borders=borders)
    assert len(e) == len(c) > 300
    assert e.mentor.dtype == np.int16 and e.score_int.dtype == np.int32
    np.testing.assert_array_equal(e.score_int, np.rint(c["score"].to_numpy() * pairing.SCALE))
    np.testing.assert_array_equal(d.codes[e.mentor], c["mentor"].to_numpy(dtype=object))
    np.testing.assert_array_equal(d.codes[e.need_state[e.need]], c["mentee"].to_numpy(dtype=object))
    huge = pairing._Edges(d, Weights(base=1e7))  # scores beyond int32 are kept exactly
    assert huge.score_int.dtype == np.int64 and huge.score_int.min() >= 10**10


# ------------------------------------------------------------------------------------------------ determinism


def test_same_input_shuffled_gives_identical_pairs():
    rng = np.random.default_rng(5)
    codes, jur, borders = random_jurisdictions(rng, 20)
    df = random_frame(rng, codes, catalog.AREA_SLUGS, p_offer=0.4, p_seek=0.35)
    base = run(df, capacity=2, jur=jur, borders=borders)
    assert len(base.pairs) > 20
    for seed in range(3):
        shuffled = df.sample(frac=1, random_state=seed)[list(reversed(df.columns))].reset_index(drop=True)
        again = run(shuffled, capacity=2, jur=jur.sample(frac=1, random_state=seed), borders=borders)
        pd.testing.assert_frame_equal(base.pairs, again.pairs)
        pd.testing.assert_frame_equal(base.referrals, again.referrals)
        assert base.total_score == again.total_score


def test_ties_go_to_the_mentor_whose_code_sorts_first():
    jur = pd.DataFrame(
        {
            "code": ["AA", "BB", "CC", "ZZ"],
            "name": ["A", "B", "C", "Z"],
            "fema_region": [1, 2, 3, 4],
            "population": [10**6] * 4,
        }
    )
    df = frame(
        ("CC", "training", 4, True, False),
        ("BB", "training", 4, True, False),
        ("ZZ", "training", 1, False, True),
        ("AA", "recovery", 4, True, False),
    )
    for seed in range(4):
        r = run(df.sample(frac=1, random_state=seed), jur=jur, borders=frozenset())
        assert r.pairs["mentor"].tolist() == ["BB"]


# ------------------------------------------------------------------------------------------------ referrals


def test_referral_when_no_state_offers_eligible_help():
    df = frame(
        ("MD", "recovery", 1, False, True), ("OH", "recovery", 3, True, False), ("VA", "recovery", 5, False, False)
    )
    r = run(df)
    assert r.pairs.empty
    ref = r.referrals.iloc[0]
    assert (ref["mentee"], ref["program_area"], ref["mentee_maturity"]) == ("MD", "recovery", 1)
    assert ref["reason_code"] == pairing.NO_ELIGIBLE_MENTOR
    assert ref["reason"].startswith("no state offers eligible help in Recovery operations")
    assert "Ohio " + catalog.mentor_ineligibility(True, 3) in ref["reason"]
    assert (ref["mentee_name"], ref["area_label"]) == ("Maryland", "Recovery operations")
    inel = r.ineligible_offers
    assert inel[["state", "program_area", "maturity"]].values.tolist() == [["OH", "recovery", 3]]
    assert inel["reason"].iloc[0] == catalog.mentor_ineligibility(True, 3)


def test_referral_when_eligible_mentors_are_at_capacity():
    df = frame(
        ("VA", "exercises", 5, True, False),
        ("OH", "exercises", 4, True, False),
        ("MD", "exercises", 2, False, True),
        ("DC", "exercises", 1, False, True),
        ("WV", "exercises", 2, False, True),
    )
    r = run(df, capacity=1)
    assert len(r.pairs) == 2 and len(r.referrals) == 1
    ref = r.referrals.iloc[0]
    assert ref["reason_code"] == pairing.AT_CAPACITY
    assert "eligible mentors (" in ref["reason"] and ref["reason"].endswith(") are at capacity")
    assert "Virginia" in ref["reason"] and "Ohio" in ref["reason"]
    assert set(ref["considered"].split(", ")) == {"VA", "OH"}
    # with room for one more, everybody is served
    assert run(df, capacity=1, overrides={"OH": 2}).referrals.empty


def test_referral_when_no_mentor_is_ahead_or_only_itself():
    df = frame(
        ("TX", "prevention", 4, False, True), ("CA", "prevention", 4, True, False), ("VA", "strategy", 5, True, True)
    )
    r = run(df)
    by_area = r.referrals.set_index("program_area")
    assert by_area.loc["prevention", "reason_code"] == pairing.NO_MENTOR_AHEAD
    assert "California (4)" in by_area.loc["prevention", "reason"]
    assert "Texas's 4" in by_area.loc["prevention", "reason"]
    assert by_area.loc["strategy", "reason_code"] == pairing.NO_ELIGIBLE_MENTOR
    assert by_area.loc["strategy", "reason"].startswith("no other state offers eligible help in")


def test_states_that_did_not_opt_in_are_never_paired():
    df = frame(
        ("VA", "exercises", 5, True, False),
        ("OH", "exercises", 5, True, False),
        ("WV", "exercises", 1, False, False),
        ("DC", "exercises", 1, False, False),
        ("MD", "exercises", 3, False, True),
    )
    r = run(df)
    assert r.pairs["mentee"].tolist() == ["MD"]
    assert r.referrals.empty
    assert set(r.candidates["mentee"]) == {"MD"}


# ------------------------------------------------------------------------------------------------ weights, capacity


def test_weights_change_the_choice():
    # MD needs exercises: California is further ahead, Pennsylvania is a neighbour in the same region
    df = frame(
        ("CA", "exercises", 5, True, False), ("PA", "exercises", 4, True, False), ("MD", "exercises", 2, False, True)
    )
    assert run(df).pairs["mentor"].tolist() == ["PA"]
    far = Weights(maturity_gap=3, same_region=0, shared_border=0, similar_population=0)
    assert run(df, far).pairs["mentor"].tolist() == ["CA"]
    near = Weights(maturity_gap=3, same_region=0, shared_border=2, similar_population=0)
    r = run(df, near)
    assert r.pairs["mentor"].tolist() == ["PA"]
    assert "shared border" in r.pairs["reasons"].iloc[0]


def test_capacity_counts_across_areas_and_overrides():
    df = frame(
        *[("VA", a, 5, True, False) for a in catalog.AREA_SLUGS[:4]],
        *[("MD", a, 1, False, True) for a in catalog.AREA_SLUGS[:4]],
        *[("DC", a, 1, False, True) for a in catalog.AREA_SLUGS[:4]],
    )
    assert len(run(df, capacity=3).pairs) == 3
    assert len(run(df, capacity=3, overrides={"VA": 5}).pairs) == 5
    r = run(df, capacity=3, overrides={"VA": 0})
    assert r.pairs.empty and (r.referrals["reason_code"] == pairing.AT_CAPACITY).all()
    load = r.mentor_load.set_index("mentor")
    assert (load.loc["VA", "capacity"], load.loc["VA", "assigned"], load.loc["VA", "mentor_areas"]) == (0, 0, 4)


def test_weights_describe_every_field():
    d = Weights.describe()
    assert list(d) == list(Weights().as_dict())
    for name, info in d.items():
        assert info["label"] and info["help"] and info["default"] == getattr(Weights(), name)


# ------------------------------------------------------------------------------------------------ input handling


def test_invalid_input_is_refused():
    good = frame(("VA", "exercises", 5, True, False), ("MD", "exercises", 2, False, True))
    with pytest.raises(ValueError, match="several cycles"):
        run(pd.concat([good, good.assign(cycle=2025)]))
    with pytest.raises(ValueError, match="several rows"):
        run(pd.concat([good, good.iloc[:1]]))
    with pytest.raises(ValueError, match="seeks_help"):
        run(good.drop(columns="seeks_help"))
    with pytest.raises(ValueError):
        Weights(shared_border=-1)
    with pytest.raises(ValueError):
        Weights(base=0)
    with pytest.raises(ValueError):
        run(good, capacity=-1)
    with pytest.raises(ValueError):
        run(good, overrides={"VA": -2})


def test_empty_input_gives_empty_frames_with_columns():
    r = run(frame())
    assert r.pairs.empty and list(r.pairs.columns) == pairing.PAIR_COLUMNS
    assert r.referrals.empty and list(r.referrals.columns) == pairing.REFERRAL_COLUMNS
    assert (
        r.candidates.empty and list(r.candidates.columns[: len(pairing.CANDIDATE_COLUMNS)]) == pairing.CANDIDATE_COLUMNS
    )
    assert r.total_score == 0
    # needs but no mentors at all: only referrals
    r = run(frame(("MD", "exercises", 2, False, True)))
    assert r.pairs.empty and r.referrals["reason_code"].tolist() == [pairing.NO_ELIGIBLE_MENTOR]


def test_nullable_dtypes_from_the_store_are_accepted():
    df = frame(
        ("VA", "exercises", 5, True, False), ("MD", "exercises", 2, None, True), ("OH", "exercises", 4, True, False)
    )
    df["maturity"] = df["maturity"].astype("Int64")
    df["offers_help"] = df["offers_help"].astype("boolean")  # MD: <NA> means no
    df["seeks_help"] = df["seeks_help"].astype("boolean")
    assert run(df).pairs[["mentor", "mentee"]].values.tolist() == [["VA", "MD"]]


def test_unknown_jurisdiction_falls_back_to_its_code():
    df = frame(("VA", "exercises", 5, True, False), ("ZZ", "exercises", 2, False, True))
    p = run(df).pairs.iloc[0]
    assert p["mentee_name"] == "ZZ" and not p["same_region"]
    assert p["reasons"].startswith("Virginia (5) → ZZ (2), Exercise programs: ")


def test_shipped_reference_data_is_the_default():
    from shisn.domain import jurisdictions

    if not (jurisdictions.DATA_DIR / "borders.csv").exists():
        pytest.skip("data/borders.csv not built yet")
    df = frame(("VA", "exercises", 5, True, False), ("MD", "exercises", 2, False, True))
    text = suggest(df).pairs.iloc[0]["reasons"]
    assert text.startswith("Virginia (5) → Maryland (2), Exercise programs: same FEMA Region III, shared border")


def test_other_needs_pair_only_with_mentors_naming_the_same_other_area():
    df = frame(
        ("VA", "other", 5, True, False),
        ("MD", "other", 1, False, True),
        ("PA", "other", 2, False, True),
        ("OH", "other", 5, True, False),
        ("WV", "other", 1, False, True),
        ("TX", "other", 1, False, True),
    )
    df["other_area"] = ["Cybersecurity", "  cyberSECURITY ", "Agriculture", "Port security", "Fusion centre", None]
    r = run(df)
    assert list(zip(r.pairs["mentor"], r.pairs["mentee"])) == [("VA", "MD")]  # same name, any case and spacing
    assert r.pairs["program_area"].tolist() == ["other"] and r.pairs["area_label"].tolist() == ["Other: Cybersecurity"]
    assert "Other: Cybersecurity" in r.pairs["reasons"][0]
    ref = r.referrals.set_index("mentee")
    assert set(ref.index) == {"PA", "WV", "TX"} and (ref["program_area"] == "other").all()
    assert ref.loc["PA", "reason"] == "no state offers eligible help in Other: Agriculture"
    assert ref.loc["PA", "area_label"] == "Other: Agriculture"
    assert ref.loc["TX", "reason_code"] == pairing.NO_ELIGIBLE_MENTOR  # an unnamed 'other' pairs with nobody
    cands = pairing.candidates(df, jurisdictions=JUR, borders=BORDERS)
    assert set(zip(cands["mentor"], cands["mentee"])) == {("VA", "MD")}
    shuffled = run(df.sample(frac=1, random_state=3))  # the label's spelling does not depend on row order
    assert shuffled.pairs["area_label"].tolist() == ["Other: Cybersecurity"]


def test_other_area_counts_once_in_a_mentors_breadth():
    df = frame(("VA", "other", 5, True, False), ("VA", "training", 5, True, False), ("MD", "other", 1, False, True))
    df["other_area"] = ["Cybersecurity", "", "Cybersecurity"]
    r = run(df)
    assert r.pairs["mentor"].tolist() == ["VA"] and "can mentor in 2 areas" in r.pairs["reasons"][0]
    assert r.mentor_load.set_index("mentor").loc["VA", "mentor_areas"] == 2


# --- published offers: their own capacity in their area -------------------------------------------------------------

OFFERS_CASE = frame(
    ("VA", "exercises", 5, True, False),
    ("VA", "training", 5, True, False),
    ("MD", "exercises", 2, False, True),
    ("DC", "exercises", 2, False, True),
    ("PA", "exercises", 2, False, True),
    ("WV", "training", 2, False, True),
    ("OH", "training", 2, False, True),
)


def offer(state, area, capacity, offer_id=7, title="Tabletop exercise design"):
    return pd.DataFrame(
        [(state, area, offer_id, title, capacity)], columns=["state", "program_area", "offer_id", "title", "capacity"]
    )


def test_a_published_offer_gives_its_area_its_own_capacity_and_the_pairs_name_it():
    # capacity 1: Virginia alone can mentor everyone, so without an offer it takes one need in all
    plain = run(OFFERS_CASE, capacity=1)
    assert len(plain.pairs) == 1 and len(plain.referrals) == 4
    # an offer of three in exercises: the three exercise needs through the offer, and one training need besides
    r = suggest(OFFERS_CASE, Weights(), 1, jurisdictions=JUR, borders=BORDERS, offers=offer("VA", "exercises", 3))
    ex = r.pairs[r.pairs["program_area"] == "exercises"]
    tr = r.pairs[r.pairs["program_area"] == "training"]
    assert sorted(ex["mentee"]) == ["DC", "MD", "PA"] and len(tr) == 1
    assert (ex["offer_id"] == 7).all() and tr["offer_id"].isna().all()
    assert all("Virginia's offer “Tabletop exercise design” (3 a cycle)" in x for x in ex["reasons"])
    assert not any("offer" in x for x in tr["reasons"])
    assert r.mentor_load.set_index("mentor").loc["VA", "capacity"] == 4 and len(r.referrals) == 1


def test_an_offer_caps_its_area_below_the_page_setting_too():
    r = suggest(OFFERS_CASE, Weights(), 3, jurisdictions=JUR, borders=BORDERS, offers=offer("VA", "exercises", 1))
    assert (r.pairs["program_area"] == "exercises").sum() == 1  # the offer takes one a cycle
    assert (r.pairs["program_area"] == "training").sum() == 2  # the page's 3 for the rest
    assert set(r.referrals["reason_code"]) == {pairing.AT_CAPACITY}


def test_capacity_planning_with_an_offer_matches_solving_again_with_one_more_slot():
    from shisn.domain import capacity

    offers = offer("VA", "exercises", 1)
    p = capacity.plan(OFFERS_CASE, Weights(), 1, jurisdictions=JUR, borders=BORDERS, offers=offers)
    va = p.slots.set_index("mentor").loc["VA"]
    base = suggest(OFFERS_CASE, Weights(), 1, jurisdictions=JUR, borders=BORDERS, offers=offers)
    more = suggest(
        OFFERS_CASE, Weights(), 1, {"VA": 2}, jurisdictions=JUR, borders=BORDERS, offers=offers
    )  # one more slot of Virginia's own: the training needs
    assert int(va["extra_needs_served"]) == len(more.pairs) - len(base.pairs) == 1
    # the offer already serves every exercise need: one more slot of Virginia's own serves none
    exercises_only = OFFERS_CASE[OFFERS_CASE["program_area"] == "exercises"]
    offers = offer("VA", "exercises", 3)
    p = capacity.plan(exercises_only, Weights(), 1, jurisdictions=JUR, borders=BORDERS, offers=offers)
    got = p.slots.set_index("mentor")
    assert "VA" not in got.index or int(got.loc["VA", "extra_needs_served"]) == 0
    base = suggest(exercises_only, Weights(), 1, jurisdictions=JUR, borders=BORDERS, offers=offers)
    more = suggest(exercises_only, Weights(), 1, {"VA": 2}, jurisdictions=JUR, borders=BORDERS, offers=offers)
    assert len(base.pairs) == len(more.pairs) == 3
