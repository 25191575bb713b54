"""Does the Impact comparison keep its promise? Simulated networks where the truth is known, run through the same
code the page, the cycle report and the command line use (`impact.units` and `impact.compare`).

A world: 56 states, 8 program areas, five yearly cycles. A state's latent level in an area is its own base, an area
bias, a yearly drift shared by all of the state's areas (the same office, budget and year) and per-area noise; the
self-assessed rating is that level rounded to 1–5. States seek guidance where they rate low. Each cycle 16 needs are
drawn at random among the seekers and become exchanges (sometimes with a second area of the same mentee), held on a
random day of that year; one in five is declined before it is held.

- **Null worlds**: exchanges change nothing. A 95% interval that keeps its promise claims a difference ("rose more"
  or "rose less") in at most about 5% of the comparisons; the Holm-adjusted area verdicts claim one in at most
  about 5% of the worlds.
- **Planted worlds**: every held exchange lifts its mentee by one level in its areas from the next cycle on. The
  all-areas comparison finds it in nearly every world, and the area verdicts in most.

The worlds are seeded, so the test gives the same counts on every run; the bounds allow for simulation error
(the rates' standard errors at these world counts are under 1.5 points).
"""

import numpy as np
import pandas as pd

from shisn.domain import exchange_rules
from shisn.services import impact

AREAS = list(impact.AREAS)
CYCLES = (2021, 2022, 2023, 2024, 2025)
NULL_WORLDS, PLANTED_WORLDS = 240, 60


def world(
    seed: int,
    effect: float = 0.0,
    n_states: int = 56,
    per_cycle: int = 16,
    drift_sd: float = 0.5,
    noise_sd: float = 0.35,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(assessments, exchanges) of one simulated network; `effect` levels added to a mentee's areas from the cycle
    after its exchange was held."""
    rng = np.random.default_rng(seed)
    states = [f"S{i:02d}" for i in range(n_states)]
    n_a, n_c = len(AREAS), len(CYCLES)
    base = rng.normal(2.8, 0.6, n_states)[:, None, None]
    bias = rng.normal(0, 0.6, (n_states, n_a))[:, :, None]
    drift = rng.normal(0.15, drift_sd, (n_states, n_c)).cumsum(axis=1)[:, None, :]  # shared by a state's areas
    latent = base + bias + drift + rng.normal(0, noise_sd, (n_states, n_a, n_c))
    lift = np.zeros_like(latent)
    rating = np.zeros(latent.shape, dtype=int)
    seeks = np.zeros(latent.shape, dtype=bool)
    exchanges = []
    for k, cycle in enumerate(CYCLES):
        rating[:, :, k] = np.clip(np.rint(latent[:, :, k] + lift[:, :, k]), 1, 5)
        draw = rng.random((n_states, n_a))
        seeks[:, :, k] = ((rating[:, :, k] <= 2) & (draw < 0.8)) | ((rating[:, :, k] == 3) & (draw < 0.2))
        if k == n_c - 1:
            break
        needs = np.argwhere(seeks[:, :, k])
        for i in rng.permutation(len(needs))[:per_cycle]:
            s, a = needs[i]
            areas = [int(a)]
            more = [int(x) for x in np.flatnonzero(seeks[s, :, k]) if x != a]
            if more and rng.random() < 0.3:
                areas.append(more[int(rng.integers(len(more)))])
            mentor = int(rng.integers(n_states - 1))
            mentor += mentor >= s
            declined = rng.random() < 0.2
            held = None if declined else pd.Timestamp(f"{cycle}-03-01") + pd.Timedelta(days=int(rng.integers(250)))
            exchanges.append(
                {
                    "exchange_id": len(exchanges) + 1,
                    "mentor": states[mentor],
                    "mentee": states[s],
                    "program_areas": ",".join(AREAS[x] for x in sorted(areas)),
                    "cycle": cycle,
                    "status": exchange_rules.DECLINED if declined else exchange_rules.CLOSED,
                    "proposed_at": pd.Timestamp(f"{cycle}-02-01"),
                    "held_at": held,
                }
            )
            if not declined:
                for x in areas:
                    lift[s, x, k + 1 :] += effect
    si, ai, ci = np.meshgrid(np.arange(n_states), np.arange(n_a), np.arange(n_c), indexing="ij")
    assessments = pd.DataFrame(
        {
            "state": np.array(states)[si.ravel()],
            "program_area": np.array(AREAS)[ai.ravel()],
            "cycle": np.array(CYCLES)[ci.ravel()],
            "maturity": rating.ravel(),
            "seeks_help": seeks.ravel(),
        }
    )
    return assessments, pd.DataFrame(exchanges)


def verdicts(worlds: range, effect: float):
    """Per world: the all-areas verdict, the areas' unadjusted and Holm-adjusted verdicts (compared areas only)."""
    overall, raw, adjusted = [], [], []
    for seed in worlds:
        c = impact.compare(impact.units(*world(seed, effect))).set_index("scope")
        overall.append(c.loc[impact.ALL, "verdict"])
        areas = c.drop(index=impact.ALL)
        areas = areas[areas["enough"]]
        raw.append([impact._verdict(d, p) for d, p in zip(areas["difference"], areas["p"])])
        adjusted.append(list(areas["verdict"]))
    return overall, raw, adjusted


def found(v) -> bool:
    return v in (impact.ROSE_MORE, impact.ROSE_LESS)


def test_where_exchanges_change_nothing_false_findings_stay_near_five_in_a_hundred():
    overall, raw, adjusted = verdicts(range(1000, 1000 + NULL_WORLDS), 0.0)
    assert overall.count(impact.TOO_FEW) == 0  # every world has enough states for the headline
    false_overall = sum(map(found, overall)) / len(overall)
    area_verdicts = [v for w in raw for v in w]
    assert len(area_verdicts) > 5 * NULL_WORLDS  # most areas have enough states in most worlds
    false_area = sum(map(found, area_verdicts)) / len(area_verdicts)
    false_family = sum(any(map(found, w)) for w in adjusted) / len(adjusted)
    # 5% promised; allowance for simulation error (standard errors ~1.4 points overall, ~0.5 per area)
    assert false_overall <= 0.085, false_overall
    assert false_area <= 0.065, false_area
    assert false_family <= 0.085, false_family  # Holm: any false area verdict in a world
    # and the interval is not simply so wide that it can never find anything
    assert false_area >= 0.01, false_area


def test_a_planted_effect_of_one_level_is_found():
    overall, raw, adjusted = verdicts(range(5000, 5000 + PLANTED_WORLDS), 1.0)
    assert overall.count(impact.ROSE_MORE) >= 0.9 * PLANTED_WORLDS
    area_verdicts = [v for w in raw for v in w]
    assert sum(v == impact.ROSE_MORE for v in area_verdicts) >= 0.5 * len(area_verdicts)
    assert sum(impact.ROSE_MORE in w for w in adjusted) >= 0.8 * PLANTED_WORLDS
    assert not any(v == impact.ROSE_LESS for w in adjusted for v in w)
