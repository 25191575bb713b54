"""Did the network help? The mentees' next ratings against a like-for-like baseline, and the network's health.

The comparison (what leadership reads; docs and the page say it in plain words, `EXPLANATION`):

- **Timing.** A cycle's self-assessment describes the state at the start of that cycle's year. An exchange counts
  from the day it was held (`held_at`): its mentee's change in each of the exchange's areas runs from the last
  rating at or before the year it was held (cycle `cycle` below, rating `start`) to the first rating of a later
  cycle (`next_cycle`, `next`). An exchange held during 2024 starts from the 2024 rating and ends at the 2025 one.
  An exchange that was held counts whatever happened next (closed, or declined after it was held); one declined
  before it was held, and one not yet held, is not an exchange here. Several exchanges of one mentee in one area
  held in the same year make one unit.
- **A gap.** A change over more than one cycle (the state skipped a cycle) is not comparable with one-cycle
  changes: such a unit is left out and counted (`note` "rated again N cycles later"), on both sides.
- **Baseline.** A state that sought guidance (`seeks_help`) in the area in a cycle, was rated again in the next
  cycle, and had no exchange in that area under way over that span: from the cycle its need was raised (or it was
  proposed) to the year it was held; still open: to this day. A request never accepted, and an exchange declined
  before it was held, are none. The baseline is computed from **every** exchange in the store, whoever is viewing;
  a program manager sees its own exchanges' mentees against it, and only aggregates leave `figures`.
- **Like for like.** An exchange unit is compared only with baseline units of the same area, the same starting
  cycle and the same starting rating (a *stratum*); one with no such baseline unit is counted and left out.
- **The figure.** Mean change *with*: over the exchange units compared. *Without*: each exchange unit's own
  stratum's baseline mean, averaged over the exchange units. *Difference*: with minus without.
- **The interval and the verdict.** A state's areas move together (one office, one budget, one year), so the
  resampling unit is the state: a jackknife leaves each state out in turn, with all of its units on both sides,
  and recomputes the difference; the standard error is the jackknife's, the 95% interval the difference ±
  Student's t (states in the comparison less one degrees of freedom) × that error. It is deterministic: the same
  data gives the same figures on every rerun. `tests/unit/test_impact_calibration.py` simulates worlds where exchanges
  change nothing (a yearly drift shared by a state's areas, per-area noise, exchanges drawn at random) and worlds
  with a planted +1 level, and checks that false findings stay at or below the 5% promised and the planted effect
  is found.
- **Counts are states.** Below `MIN_N` distinct states on either side (mentee states, baseline states): the
  counts and "too few", no means, no difference. `compared` counts the mentee state-areas compared.
- **Many verdicts.** The all-areas comparison is the headline. The eight areas are read together: their verdicts
  are adjusted for multiple comparisons (Holm, on the t test's p-values), so an area says "rose more" only where
  the adjusted p-value is below 5%; its interval is shown unadjusted.
- `other` is left out: each state's "other" area is its own, so its ratings are not comparable.

What it is not: the ratings are self-assessed; the numbers are small; states chose to take part (those that seek an
exchange may differ from those that do not), so a difference is an association, not proof that the exchange caused
it.

Network health: days from proposed to first contact (introduced) and to exchange held (median, 90th percentile),
the share declined and why, exchanges stuck with no change recorded for `stuck_days` (a setting, default 30), mentor
capacity used per cycle, needs referred to technical assistance per cycle.

Pure pandas/numpy functions of frames (tests build them by hand); `gather` reads what they need from the store as
a viewer may see it (the stuck threshold is shisn.store.settings). No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shisn.domain import auth, catalog, coverage, exchange_rules, jurisdictions
from shisn.domain.pairing import DEFAULT_CAPACITY
from shisn.services import outcomes
from shisn.services.exchanges import list_exchanges, ta_referrals
from shisn.store import settings
from shisn.store.db import query_df

MIN_N = 5  # fewer distinct states than this on either side: "too few"
LEVEL = 0.95
ALPHA = 1 - LEVEL
ALL = "all"
EXCHANGE, BASELINE, UNSEEN = "exchange", "baseline", "unseen"  # UNSEEN: an exchange unit the viewer may not see
COUNTED = (exchange_rules.HELD, exchange_rules.CLOSED)
ROSE_MORE, ROSE_LESS, NO_CLEAR, TOO_FEW = "rose more", "rose less", "no clear difference", "too few"
VERDICTS = (ROSE_MORE, ROSE_LESS, NO_CLEAR, TOO_FEW)
VERDICT_WORDS = {
    ROSE_MORE: "mentees rose more than the baseline",
    ROSE_LESS: "mentees rose less than the baseline",
    NO_CLEAR: "no clear difference",
    TOO_FEW: "too few to compare",
}
TOO_FEW_TEXT = VERDICT_WORDS[TOO_FEW]
AWAITING, NO_START = "awaiting the next rating", "no rating before the exchange"
AREAS: tuple[str, ...] = tuple(a for a in catalog.AREA_SLUGS if a != catalog.OTHER)
_FOREVER = 10_000  # the last year of an exchange still under way

# The impact page's views, one tab each; the label is the URL parameter VIEW_KEY's value (shared links).
VIEW_IMPACT, VIEW_PEOPLE, VIEW_HEALTH = "Impact", "Mentors and program managers", "Network health"
VIEWS = (VIEW_IMPACT, VIEW_PEOPLE, VIEW_HEALTH)
VIEW_KEY = "impact_view"
CYCLE_KEY = "impact_cycle"

UNIT_COLUMNS = [
    "state",
    "program_area",
    "cycle",
    "start",
    "next_cycle",
    "next",
    "change",
    "group",
    "held_in",
    "exchange_ids",
    "mentors",
    "note",
]
COMPARE_COLUMNS = [
    "scope",
    "label",
    "mentee_states",
    "baseline_states",
    "compared",
    "mean_with",
    "mean_without",
    "difference",
    "low",
    "high",
    "p",
    "p_adjusted",
    "enough",
    "verdict",
    "awaiting",
    "no_baseline",
    "no_start",
    "gap",
]
# The command line's columns (`python -m shisn impact`), in this order.
CLI_COLUMNS = [
    "area",
    "mentee_states",
    "baseline_states",
    "compared",
    "mentee_change",
    "baseline_change",
    "difference",
    "low",
    "high",
    "verdict",
    "awaiting",
]

EXPLANATION = (
    "**What this compares.** For every exchange that was held (whatever came next, even a decline), we take the "
    "mentee's self-assessed rating in each area of the exchange from the last cycle before it was held (a cycle's "
    "rating describes the state at the start of that year) and see how it changed by the next cycle. We compare "
    "that with states that also asked for guidance in the same area, from the same rating in the same cycle, and "
    "had no exchange in that area over the same year. The difference is how much more (or less) the mentees moved "
    "than those like-for-like states. The baseline is drawn from every exchange in the network, whoever is "
    "looking. A state rated again only after skipping a cycle is left out and counted.\n\n"
    "**How sure.** The range is a 95% interval. A state's areas move together, so it is computed by leaving out "
    "one state at a time, with all its areas (a jackknife), and it is the same on every rerun. We checked it on "
    "simulated networks where exchanges change nothing: it claims a difference in about 5 in 100 of them or "
    "fewer. The all-areas line is the headline. The eight areas are read together, adjusted for multiple "
    "comparisons (Holm): by chance alone, one of eight areas would often look different, so an area reads "
    "*rose more* or *rose less* only when the difference survives that adjustment.\n\n"
    "**What it is not.** The ratings are the states' own, not an audit. The numbers are small, so one state can "
    "move an average. States chose to take part, and those that seek an exchange may differ from those that do "
    "not, so a difference is an association, not proof that the exchange caused it. Where either side has fewer "
    f"than {MIN_N} states we show the counts and say *{TOO_FEW_TEXT}*."
)


# --- units ------------------------------------------------------------------------------------------------------


def exchange_areas(exchanges: pd.DataFrame) -> pd.DataFrame:
    """One row per exchange × program area: exchange_id, mentor, mentee, program_area, cycle, status, proposed_at,
    held_at (NaT where absent)."""
    cols = ["exchange_id", "mentor", "mentee", "program_area", "cycle", "status", "proposed_at", "held_at"]
    if exchanges is None or exchanges.empty:
        return pd.DataFrame(columns=cols)
    df = exchanges.assign(program_area=exchanges["program_areas"].str.split(",")).explode("program_area")
    for c in ("held_at", "proposed_at"):
        if c not in df.columns:
            df[c] = pd.NaT
    return df[cols].reset_index(drop=True)


def _under_way(ea: pd.DataFrame) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """(mentee, area) → the years its exchanges there were under way: from the need's cycle (or the year proposed,
    if earlier) to the year held, or without end while open. Requests never accepted (no proposed_at) and exchanges
    declined before they were held are none."""
    out: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for r in ea.itertuples(index=False):
        if pd.isna(r.proposed_at):
            continue
        held = not pd.isna(r.held_at)
        if r.status == exchange_rules.DECLINED and not held:
            continue
        first = min(int(r.cycle), pd.Timestamp(r.proposed_at).year)
        out.setdefault((r.mentee, r.program_area), []).append(
            (first, pd.Timestamp(r.held_at).year if held else _FOREVER)
        )
    return out


def _span_note(c0, c1) -> str:
    return f"rated again {c1 - c0} cycles later" if c1 - c0 > 1 else ""


def units(assessments: pd.DataFrame, exchanges: pd.DataFrame, visible=None) -> pd.DataFrame:
    """Every exchange unit and baseline unit (see the module docstring) with its starting cycle and rating, next
    cycle and rating, and change. `exchanges`: every exchange in the store (the baseline needs them all);
    `visible`: the ids of the exchanges the viewer may see (None: all). An exchange unit none of whose exchanges the
    viewer may see is in group UNSEEN (neither side), and a unit's `exchange_ids`/`mentors` name only visible ones.
    Columns UNIT_COLUMNS: `cycle` the starting cycle, `held_in` the year held (a baseline unit: its cycle); `note`
    says why a unit cannot be compared (or '')."""
    a = assessments.loc[
        assessments["program_area"] != catalog.OTHER, ["state", "program_area", "cycle", "maturity", "seeks_help"]
    ].copy()
    a["cycle"] = a["cycle"].astype(int)
    a["maturity"] = a["maturity"].astype(float)
    a = a.sort_values(["state", "program_area", "cycle"]).reset_index(drop=True)
    g = a.groupby(["state", "program_area"], sort=False)
    a["next_cycle"] = g["cycle"].shift(-1)
    a["next"] = g["maturity"].shift(-1)
    rated = {k: (grp["cycle"].to_numpy(), grp["maturity"].to_numpy()) for k, grp in g}

    ea = exchange_areas(exchanges)
    ea = ea[ea["program_area"] != catalog.OTHER]
    under_way = _under_way(ea)
    held = ea[ea["held_at"].notna() & ea["proposed_at"].notna()]
    held = held.assign(held_in=pd.to_datetime(held["held_at"]).dt.year.astype(int))
    seen = None if visible is None else {int(i) for i in visible}
    no_rating = (np.array([], dtype=int), np.array([], dtype=float))
    rows = []
    for (mentee, area, year), grp in held.groupby(["mentee", "program_area", "held_in"], sort=True):
        cycles, levels = rated.get((mentee, area), no_rating)
        before, after = np.flatnonzero(cycles <= year), np.flatnonzero(cycles > year)
        c0 = int(cycles[before[-1]]) if len(before) else None
        c1 = int(cycles[after[0]]) if len(after) else None
        start = float(levels[before[-1]]) if len(before) else None
        nxt = float(levels[after[0]]) if len(after) else None
        note = NO_START if c0 is None else AWAITING if c1 is None else _span_note(c0, c1)
        ids = sorted(int(i) for i in grp["exchange_id"])
        shown = ids if seen is None else [i for i in ids if i in seen]
        mentors = sorted(set(grp.loc[grp["exchange_id"].astype(int).isin(shown), "mentor"]))
        rows.append(
            [
                mentee,
                area,
                int(year) if c0 is None else c0,
                start,
                c1,
                nxt,
                None if note else nxt - start,
                EXCHANGE if shown else UNSEEN,
                int(year),
                ",".join(str(i) for i in shown),
                ", ".join(mentors),
                note,
            ]
        )
    for r in a[a["seeks_help"].astype(bool)].itertuples(index=False):
        c0 = int(r.cycle)
        c1 = None if pd.isna(r.next_cycle) else int(r.next_cycle)
        last = c0 if c1 is None else c1 - 1  # the years the change spans
        if any(first <= last and end >= c0 for first, end in under_way.get((r.state, r.program_area), ())):
            continue
        note = AWAITING if c1 is None else _span_note(c0, c1)
        rows.append(
            [
                r.state,
                r.program_area,
                c0,
                float(r.maturity),
                c1,
                None if c1 is None else float(r.next),
                None if note else float(r.next) - float(r.maturity),
                BASELINE,
                c0,
                "",
                "",
                note,
            ]
        )
    out = pd.DataFrame(rows, columns=UNIT_COLUMNS)
    for c in ("start", "next", "change"):
        out[c] = out[c].astype(float)
    out["next_cycle"] = out["next_cycle"].astype("Int64")
    return out


# --- the comparison ---------------------------------------------------------------------------------------------


def _stratum(df: pd.DataFrame) -> pd.Series:
    return df["program_area"] + "|" + df["cycle"].astype(str) + "|" + df["start"].astype(int).astype(str)


def _differences(ye, ke, ge, yb, kb, gb, keep: np.ndarray) -> np.ndarray:
    """The difference (mean over exchange units of change minus the unit's stratum baseline mean) for each row of
    `keep` (rows × states, 1 = the state is in): row 0 all states, then one row per state left out. An exchange unit
    whose stratum has no baseline unit left is left out of that row."""
    n_strata = int(max(ke.max(), kb.max())) + 1
    onehot = np.zeros((len(yb), n_strata))
    onehot[np.arange(len(yb)), kb] = 1.0
    wb, we = keep[:, gb], keep[:, ge]
    count = wb @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        base_mean = (wb * yb) @ onehot / count
    w = we * (count[:, ke] > 0)
    gap = np.where(w > 0, ye - np.nan_to_num(base_mean[:, ke]), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * gap).sum(axis=1) / w.sum(axis=1)


def compare_one(u: pd.DataFrame, scope: str = ALL, label: str = "All areas", *, min_n: int = MIN_N) -> dict:
    """The comparison over the units `u` (any subset of `units(...)`): one dict in COMPARE_COLUMNS."""
    ex_all = u[u["group"] == EXCHANGE]
    no_start = int((ex_all["note"] == NO_START).sum())
    awaiting = int((ex_all["note"] == AWAITING).sum())
    gap = int(ex_all["note"].str.startswith("rated again").sum())
    ex = ex_all[ex_all["change"].notna()]
    base = u[(u["group"] == BASELINE) & u["change"].notna()]
    ex_s, base_s = _stratum(ex), _stratum(base)
    matched = ex_s.isin(set(base_s)).to_numpy()
    ex, ex_s = ex[matched], ex_s[matched]
    used = base_s.isin(set(ex_s)).to_numpy()
    base, base_s = base[used], base_s[used]
    out = {
        "scope": scope,
        "label": label,
        "mentee_states": int(ex["state"].nunique()),
        "baseline_states": int(base["state"].nunique()),
        "compared": int(len(ex)),
        "mean_with": None,
        "mean_without": None,
        "difference": None,
        "low": None,
        "high": None,
        "p": None,
        "p_adjusted": None,
        "enough": False,
        "verdict": TOO_FEW,
        "awaiting": awaiting,
        "no_baseline": int((~matched).sum()),
        "no_start": no_start,
        "gap": gap,
    }
    if out["mentee_states"] < min_n or out["baseline_states"] < min_n:
        return out
    strata = {k: i for i, k in enumerate(sorted(set(ex_s)))}
    states = {s: i for i, s in enumerate(sorted(set(ex["state"]) | set(base["state"])))}
    ye, yb = ex["change"].to_numpy(float), base["change"].to_numpy(float)
    ke, kb = ex_s.map(strata).to_numpy(), base_s.map(strata).to_numpy()
    ge, gb = ex["state"].map(states).to_numpy(), base["state"].map(states).to_numpy()
    n = len(states)
    keep = np.vstack([np.ones(n), 1.0 - np.eye(n)])
    d = _differences(ye, ke, ge, yb, kb, gb, keep)
    diff, left_out = float(d[0]), d[1:][~np.isnan(d[1:])]
    m = len(left_out)
    se = float(np.sqrt((m - 1) / m * ((left_out - left_out.mean()) ** 2).sum())) if m > 1 else 0.0
    dof = n - 1
    if se > 0:
        from scipy import stats  # 59 MB resident: imported on the Impact page's first figures, not on every page

        half = float(stats.t.ppf(1 - ALPHA / 2, dof)) * se
        p = float(2 * stats.t.sf(abs(diff) / se, dof))
    else:  # no spread at all: the interval is the difference itself
        half, p = 0.0, (0.0 if abs(diff) > 1e-12 else 1.0)
    mean_with = float(ye.mean())
    out.update(
        mean_with=mean_with,
        mean_without=mean_with - diff,
        difference=diff,
        low=diff - half,
        high=diff + half,
        p=p,
        p_adjusted=p,
        enough=True,
        verdict=_verdict(diff, p),
    )
    return out


def _verdict(diff: float, p: float) -> str:
    if p < ALPHA:
        return ROSE_MORE if diff > 0 else ROSE_LESS
    return NO_CLEAR


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of `p_values` (family-wise error at most the level for any dependence)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(len(p))
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def compare(u: pd.DataFrame, *, min_n: int = MIN_N) -> pd.DataFrame:
    """One row per program area (catalog order, `other` left out; verdicts Holm-adjusted across the areas that have
    enough states) and a last row for all areas together (the headline, not adjusted)."""
    rows = [compare_one(u[u["program_area"] == a], a, catalog.area_short(a), min_n=min_n) for a in AREAS]
    tested = [r for r in rows if r["enough"]]
    for r, p in zip(tested, holm([r["p"] for r in tested])):
        r["p_adjusted"] = float(p)
        r["verdict"] = _verdict(r["difference"], float(p))
    rows.append(compare_one(u, ALL, "All areas", min_n=min_n))
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def compare_by_cycle(u: pd.DataFrame, *, min_n: int = MIN_N) -> pd.DataFrame:
    """All areas together, one row per year the exchanges were held in (their baseline: the same starting cycle)."""
    years = sorted(int(c) for c in u.loc[u["group"] == EXCHANGE, "held_in"].unique())
    rows = [compare_one(u[u["held_in"] == y], str(y), f"Held in {y}", min_n=min_n) for y in years]
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def known_by(u: pd.DataFrame, cycle: int) -> pd.DataFrame:
    """The units as they stood when `cycle` was reported: started before it, next rating no later than it."""
    u = u[u["cycle"] < int(cycle)].copy()
    late = u["next_cycle"].notna() & (u["next_cycle"].astype(float) > int(cycle))
    u.loc[late, ["next_cycle", "next", "change"]] = [pd.NA, np.nan, np.nan]
    u.loc[late, "note"] = AWAITING
    return u


def cli_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison in the command line's columns (CLI_COLUMNS): `area` a slug or `all`, figures rounded to 4
    places (empty where too few), `verdict` one of VERDICTS."""

    def r4(v):
        return None if v is None or pd.isna(v) else round(float(v), 4)

    return pd.DataFrame(
        {
            "area": comparison["scope"],
            "mentee_states": comparison["mentee_states"].astype(int),
            "baseline_states": comparison["baseline_states"].astype(int),
            "compared": comparison["compared"].astype(int),
            "mentee_change": [r4(v) for v in comparison["mean_with"]],
            "baseline_change": [r4(v) for v in comparison["mean_without"]],
            "difference": [r4(v) for v in comparison["difference"]],
            "low": [r4(v) for v in comparison["low"]],
            "high": [r4(v) for v in comparison["high"]],
            "verdict": comparison["verdict"],
            "awaiting": comparison["awaiting"].astype(int),
        },
        columns=CLI_COLUMNS,
    )


def by_mentor(u: pd.DataFrame) -> pd.DataFrame:
    """Per mentor state: its mentees' areas (exchange units), how many have a next rating, how many rose, stayed or
    slipped, and the mean change. A unit with two mentors counts for each."""
    ex = u[u["group"] == EXCHANGE].assign(mentor=lambda d: d["mentors"].str.split(", ")).explode("mentor")
    cols = [
        "mentor",
        "mentor_name",
        "mentee_areas",
        "rated_again",
        "rose",
        "same",
        "slipped",
        "mean_change",
        "awaiting",
    ]
    if ex.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for m, g in ex.groupby("mentor"):
        ch = g["change"].dropna()
        rows.append(
            [
                m,
                jurisdictions.names().get(m, m),
                len(g),
                len(ch),
                int((ch > 0).sum()),
                int((ch == 0).sum()),
                int((ch < 0).sum()),
                float(ch.mean()) if len(ch) else None,
                int((g["note"] == AWAITING).sum()),
            ]
        )
    return (
        pd.DataFrame(rows, columns=cols)
        .sort_values(["mentee_areas", "mentor"], ascending=[False, True])
        .reset_index(drop=True)
    )


def usefulness(views: pd.DataFrame, exchanges: pd.DataFrame) -> dict:
    """The states' own view of their exchanges (`outcomes.visible`, limited to `exchanges`): views recorded and
    mean usefulness (1–5), for the mentees and the mentors, and per mentor state the mentees' mean rating."""
    v = views[views["exchange_id"].isin(exchanges["exchange_id"])] if len(views) else views
    out = {"views": int(len(v)), "exchanges_with_view": int(v["exchange_id"].nunique()) if len(v) else 0}
    for part in ("mentee", "mentor"):
        p = v[v["part"] == part]["useful"] if len(v) else pd.Series(dtype=float)
        out[f"{part}_n"], out[f"{part}_mean"] = int(len(p)), (float(p.mean()) if len(p) else None)
    mentee_views = (
        v[v["part"] == "mentee"].merge(exchanges[["exchange_id", "mentor"]], on="exchange_id")
        if len(v)
        else pd.DataFrame(columns=["mentor", "useful"])
    )
    out["by_mentor"] = (
        mentee_views.groupby("mentor")["useful"]
        .agg(["count", "mean"])
        .rename(columns={"count": "mentee_views", "mean": "mentee_useful"})
        if len(mentee_views)
        else pd.DataFrame(columns=["mentee_views", "mentee_useful"])
    )
    return out


# --- facilitation: program managers and network health -------------------------------------------------------------


def exchanges_only(exchanges: pd.DataFrame) -> pd.DataFrame:
    """Without introduction requests that never became exchanges (no proposed_at: waiting or declined)."""
    return exchanges[exchanges["proposed_at"].notna()]


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return ((pd.to_datetime(later) - pd.to_datetime(earlier)).dt.total_seconds() / 86400).astype(float)


def _spread(days: pd.Series) -> dict:
    d = days.dropna()
    return {
        "n": int(len(d)),
        "median": float(d.median()) if len(d) else None,
        "p90": float(np.percentile(d.to_numpy(), 90)) if len(d) else None,
    }


def by_pm(exchanges: pd.DataFrame, pms: pd.DataFrame, states: list[str] | None = None) -> pd.DataFrame:
    """Per program manager (the assignments are keyed by e-mail; `states` limits the rows to the program managers
    of those states: a PM viewer's own): their states, and the exchanges either of whose states is theirs: total,
    open, held (held or closed), declined, median days to first contact."""
    cols = ["pm", "states", "exchanges", "open", "held", "declined", "median_days_to_first_contact"]
    exchanges = exchanges_only(exchanges)
    pms = pms.assign(key=pms["email"].fillna("").str.strip().str.lower())
    if states is not None:
        pms = pms[pms["key"].isin(set(pms.loc[pms["state"].isin(states), "key"]))]
    rows = []
    for _, g in pms.groupby("key", sort=False):
        own = set(g["state"])
        ex = exchanges[exchanges["mentor"].isin(own) | exchanges["mentee"].isin(own)]
        days = _days(ex["introduced_at"], ex["proposed_at"]).dropna() if len(ex) else pd.Series(dtype=float)
        rows.append(
            [
                str(g["name"].iloc[0]),
                ", ".join(sorted(own)),
                len(ex),
                int(ex["status"].isin(exchange_rules.OPEN_STATUSES).sum()),
                int(ex["status"].isin(COUNTED).sum()),
                int((ex["status"] == exchange_rules.DECLINED).sum()),
                float(days.median()) if len(days) else None,
            ]
        )
    return pd.DataFrame(rows, columns=cols).sort_values("pm", kind="stable").reset_index(drop=True)


@dataclass
class Health:
    exchanges: int
    first_contact: dict  # n, median, p90 days from proposed to introduced
    to_held: dict  # n, median, p90 days from proposed to exchange held
    declined: int
    declined_share: float | None  # of all exchanges
    decline_reasons: pd.DataFrame  # reason, exchanges
    stuck_days: int
    stuck: pd.DataFrame  # exchange_id, mentor, mentee, areas, status, last_change, days_without_change
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)  # per cycle
    referrals: pd.DataFrame = field(default_factory=pd.DataFrame)  # per cycle


NO_REASON = "no reason recorded"


def health(
    exchanges: pd.DataFrame,
    now: dt.datetime,
    stuck_days: int = settings.DEFAULT_STUCK_DAYS,
    *,
    assessments: pd.DataFrame | None = None,
    referrals: pd.DataFrame | None = None,
    capacity: int = DEFAULT_CAPACITY,
    states: list[str] | None = None,
) -> Health:
    """The network's health over `exchanges` (as `gather` gives them, or a hand-built frame with exchange_id,
    mentor, mentee, program_areas, cycle, status, proposed_at, introduced_at, held_at, updated_at and optionally
    decline_why). `assessments` (every cycle) for mentor capacity, `referrals` (ta_referrals) per cycle; `states`
    limits the capacity to those mentor states (a PM's). Introduction requests never accepted (no proposed_at)
    are not exchanges and are left out, as on the Exchanges page."""
    ex = exchanges_only(exchanges)
    n = len(ex)
    declined = ex[ex["status"] == exchange_rules.DECLINED]
    why = declined["decline_why"] if "decline_why" in declined.columns else pd.Series([None] * len(declined))
    why = [w if isinstance(w, str) and w.strip() else NO_REASON for w in why]
    reasons = (
        pd.Series(why, dtype=object).value_counts().rename_axis("reason").reset_index(name="exchanges")
        if why
        else pd.DataFrame(columns=["reason", "exchanges"])
    )
    open_ = ex[ex["status"].isin(exchange_rules.OPEN_STATUSES)]
    idle = ((pd.Timestamp(now) - pd.to_datetime(open_["updated_at"])).dt.total_seconds() / 86400).astype(float)
    stuck = open_.assign(days_without_change=np.floor(idle))[idle >= stuck_days]  # whole days elapsed
    stuck = (
        pd.DataFrame(
            {
                "exchange_id": stuck["exchange_id"].astype(int),
                "mentor": stuck["mentor"],
                "mentee": stuck["mentee"],
                "areas": [", ".join(catalog.area_short(a) for a in s.split(",")) for s in stuck["program_areas"]],
                "status": [exchange_rules.status_label(s) for s in stuck["status"]],
                "last_change": pd.to_datetime(stuck["updated_at"]),
                "days_without_change": stuck["days_without_change"].astype(int),
            }
        )
        .sort_values("days_without_change", ascending=False)
        .reset_index(drop=True)
    )
    return Health(
        exchanges=n,
        first_contact=_spread(_days(ex["introduced_at"], ex["proposed_at"])),
        to_held=_spread(_days(ex["held_at"], ex["proposed_at"])),
        declined=len(declined),
        declined_share=len(declined) / n if n else None,
        decline_reasons=reasons,
        stuck_days=int(stuck_days),
        stuck=stuck,
        capacity=capacity_used(ex, assessments, capacity, states) if assessments is not None else pd.DataFrame(),
        referrals=referrals_per_cycle(referrals, assessments, states) if referrals is not None else pd.DataFrame(),
    )


def capacity_used(
    exchanges: pd.DataFrame,
    assessments: pd.DataFrame,
    capacity: int = DEFAULT_CAPACITY,
    states: list[str] | None = None,
) -> pd.DataFrame:
    """Per cycle: eligible mentor states (offer help at maturity 4+ in some area), those mentoring, the areas they
    mentor in exchanges not declined, the capacity (eligible states × `capacity`, the pairing's limit), the share
    used, and the mentor states at or over the limit."""
    cols = ["cycle", "eligible_mentors", "mentoring", "areas_mentored", "capacity", "share_used", "at_capacity"]
    ea = exchange_areas(exchanges_only(exchanges))
    ea = ea[ea["status"] != exchange_rules.DECLINED]
    rows = []
    for c in sorted(int(c) for c in assessments["cycle"].unique()):
        a = assessments[(assessments["cycle"] == c) & assessments["eligible_mentor"].fillna(False).astype(bool)]
        eligible = set(a["state"]) if states is None else set(a["state"]) & set(states)
        e = ea[ea["cycle"].astype(int) == c]
        if states is not None:
            e = e[e["mentor"].isin(states)]
        load = e.groupby("mentor").size()
        cap = len(eligible) * capacity
        used = int(load.sum())
        rows.append(
            [
                c,
                len(eligible),
                int((load > 0).sum()),
                used,
                cap,
                used / cap if cap else None,
                ", ".join(sorted(load[load >= capacity].index)),
            ]
        )
    return pd.DataFrame(rows, columns=cols)


def referrals_per_cycle(
    referrals: pd.DataFrame, assessments: pd.DataFrame | None = None, states: list[str] | None = None
) -> pd.DataFrame:
    """Per cycle: needs referred to technical assistance (recorded) and the states they came from; with the
    assessments also the needs that had no eligible mentor at all that cycle (national page's "→ TA")."""
    cycles = set(int(c) for c in referrals["cycle"]) if len(referrals) else set()
    if assessments is not None:
        cycles |= set(int(c) for c in assessments["cycle"].unique())
    rows = []
    for c in sorted(cycles):
        r = referrals[referrals["cycle"].astype(int) == c] if len(referrals) else referrals
        row = [c, len(r), int(r["state"].nunique()) if len(r) else 0]
        if assessments is not None:
            rows_c = assessments[assessments["cycle"] == c]
            uncovered = coverage.uncovered_needs(rows_c) if len(rows_c) else pd.DataFrame(columns=["state"])
            if states is not None:
                uncovered = uncovered[uncovered["state"].isin(states)]
            row.append(len(uncovered))
        rows.append(row)
    cols = ["cycle", "referred", "states"] + (["no_eligible_mentor"] if assessments is not None else [])
    return pd.DataFrame(rows, columns=cols)


# --- the store: what the views need, as the viewer may see it -------------------------------------------------

POOL_COLUMNS = ["exchange_id", "mentor", "mentee", "program_areas", "cycle", "status", "proposed_at", "held_at"]


@dataclass
class Inputs:
    viewer: auth.Viewer | None
    assessments: pd.DataFrame  # every cycle (scores and offer/seek flags, which every role may see)
    exchanges: pd.DataFrame  # the exchanges the viewer may see, with decline_why
    referrals: pd.DataFrame  # TA referrals the viewer may see
    pms: pd.DataFrame  # program-manager assignments (state, name, email)
    stuck_days: int
    views: pd.DataFrame = field(default_factory=pd.DataFrame)  # the states' views (outcomes.visible)
    # every exchange in the store (POOL_COLUMNS only), whoever views: the baseline needs them all. Used inside
    # `figures` only; no row of it reaches a page, a report or the command line.
    pool: pd.DataFrame | None = None

    @property
    def states(self) -> list[str] | None:
        if self.viewer is None or self.viewer.role == auth.LEADERSHIP:
            return None
        return list(self.viewer.states)


def gather(con, viewer: auth.Viewer | None, assessments: pd.DataFrame) -> Inputs:
    """Read the exchanges, referrals, assignments and the stuck setting as `viewer` may see them. `assessments`:
    every cycle's rows (the app passes its cached, viewer-filtered frame; the CLI `queries.assessments(con)`)."""
    ex = list_exchanges(con, viewer)
    why = query_df(
        con,
        """
        SELECT e.exchange_id, e.decline_reason, e.outcome,
               (SELECT min(h.comment) FROM exchange_history h
                WHERE h.exchange_id = e.exchange_id AND h.to_status = 'declined'
                  AND (h.from_status IS NULL OR h.from_status <> 'declined')) AS comment
        FROM exchanges e WHERE e.status = 'declined'""",
    )
    reason = {}
    for r in why.itertuples(index=False):
        for v in (r.decline_reason, r.comment, r.outcome):
            if isinstance(v, str) and v.strip():
                reason[int(r.exchange_id)] = v.strip()
                break
    ex["decline_why"] = [
        reason.get(int(i)) if s == exchange_rules.DECLINED else None for i, s in zip(ex["exchange_id"], ex["status"])
    ]
    pool = query_df(con, f"SELECT {', '.join(POOL_COLUMNS)} FROM exchanges ORDER BY exchange_id")
    return Inputs(
        viewer=viewer,
        assessments=assessments,
        exchanges=ex,
        referrals=ta_referrals(con, viewer),
        pms=query_df(con, "SELECT state, name, email FROM program_managers ORDER BY state"),
        stuck_days=settings.stuck_days(con),
        views=outcomes.visible(con, viewer),
        pool=pool,
    )


# --- everything the page and the report show -----------------------------------------------------------------


@dataclass
class Figures:
    units: pd.DataFrame  # the viewer's exchange units only (no baseline unit, no unseen exchange)
    by_area: pd.DataFrame
    by_cycle: pd.DataFrame
    mentors: pd.DataFrame  # by_mentor, with the mentees' mean usefulness (mentee_views, mentee_useful)
    pms: pd.DataFrame
    health: Health
    useful: dict  # usefulness(...)
    cycle: int | None = None
    exchanges: int = 0  # the viewer's exchanges (introduction requests never accepted left out)
    held: int = 0  # of which held (whatever happened next)


def figures(inputs: Inputs, now: dt.datetime | None = None, *, cycle: int | None = None) -> Figures:
    """Every figure of the impact page, or of the cycle report for `cycle` (the impact as known when `cycle` was
    reported, the exchanges raised in `cycle`). The comparison's exchange side is the viewer's exchanges, its
    baseline drawn from every exchange in the store (`inputs.pool`); only aggregates and the viewer's own units
    are returned."""
    now = now or dt.datetime.now().replace(microsecond=0)
    pool = inputs.exchanges if inputs.pool is None else inputs.pool
    u = units(inputs.assessments, pool, visible=inputs.exchanges["exchange_id"])
    ex = inputs.exchanges
    if cycle is not None:
        u = known_by(u, cycle)
        ex = ex[ex["cycle"].astype(int) == int(cycle)]
    refs = inputs.referrals
    a = inputs.assessments
    if cycle is not None:
        a = a[a["cycle"] == int(cycle)]
        refs = refs[refs["cycle"].astype(int) == int(cycle)] if len(refs) else refs
    useful = usefulness(inputs.views, exchanges_only(ex))
    mentors = by_mentor(u)
    mentors = mentors.merge(useful["by_mentor"], left_on="mentor", right_index=True, how="left")
    mentors["mentee_views"] = mentors["mentee_views"].fillna(0).astype(int)
    mine = exchanges_only(ex)
    return Figures(
        units=u[u["group"] == EXCHANGE].reset_index(drop=True),
        by_area=compare(u),
        by_cycle=compare_by_cycle(u),
        mentors=mentors,
        pms=by_pm(ex, inputs.pms, inputs.states),
        health=health(ex, now, inputs.stuck_days, assessments=a, referrals=refs, states=inputs.states),
        useful=useful,
        cycle=cycle,
        exchanges=len(mine),
        held=int(mine["held_at"].notna().sum()),
    )


def fmt_change(v, signed: bool = True) -> str:
    """A change in rating levels for people: '+0.42', '−0.10', '0.00', '–' when missing."""
    if v is None or pd.isna(v):
        return "–"
    s = f"{abs(float(v)):.2f}"
    if not signed:
        return s
    return ("+" if v > 0.005 else "−" if v < -0.005 else "±") + s


def fmt_interval(low, high) -> str:
    if low is None or pd.isna(low):
        return "–"
    return f"{fmt_change(low)} to {fmt_change(high)}"


def headline(overall) -> str:
    """The all-areas comparison in one or two sentences (the page, the cycle report, the chart's text alternative)."""
    if not overall["enough"]:
        return (
            f"Too few to compare over all areas: {int(overall['mentee_states'])} mentee states and "
            f"{int(overall['baseline_states'])} like-for-like baseline states (at least {MIN_N} of each "
            "needed)."
        )
    return (
        f"Over all areas, {int(overall['mentee_states'])} mentee states ({int(overall['compared'])} "
        f"state-areas) moved {fmt_change(overall['mean_with'])} levels on average, like-for-like states "
        f"without an exchange ({int(overall['baseline_states'])} states) {fmt_change(overall['mean_without'])}: "
        f"a difference of {fmt_change(overall['difference'])} (95% interval "
        f"{fmt_interval(overall['low'], overall['high'])}), {VERDICT_WORDS[overall['verdict']]}."
    )


def areas_sentence(comparison: pd.DataFrame) -> str:
    """What the per-area verdicts say, in one sentence (adjusted for comparing the areas together)."""
    areas = comparison[comparison["scope"] != ALL]
    compared = areas[areas["enough"]]
    more = compared.loc[compared["verdict"] == ROSE_MORE, "label"].tolist()
    less = compared.loc[compared["verdict"] == ROSE_LESS, "label"].tolist()
    few = len(areas) - len(compared)
    parts = []
    if more:
        parts.append(f"mentees rose more than the baseline in {', '.join(more)}")
    if less:
        parts.append(f"rose less in {', '.join(less)}")
    if not parts:
        parts.append(f"no area differs clearly from its baseline ({len(compared)} compared)")
    if few:
        parts.append(f"{few} {'area has' if few == 1 else 'areas have'} too few states to compare")
    return "By area, read together (Holm-adjusted for the areas compared): " + "; ".join(parts) + "."


def display_table(comparison: pd.DataFrame, first: str = "Program area") -> pd.DataFrame:
    """The comparison as the page and the report show it: words and rounded figures."""
    return pd.DataFrame(
        {
            first: comparison["label"],
            "Mentee states": comparison["mentee_states"],
            "Baseline states": comparison["baseline_states"],
            "State-areas compared": comparison["compared"],
            "Mean change with exchange": [fmt_change(v) for v in comparison["mean_with"]],
            "Mean change without": [fmt_change(v) for v in comparison["mean_without"]],
            "Difference": [
                fmt_change(v) if e else TOO_FEW_TEXT for v, e in zip(comparison["difference"], comparison["enough"])
            ],
            "95% interval": [fmt_interval(lo, hi) for lo, hi in zip(comparison["low"], comparison["high"])],
            "Reading": [VERDICT_WORDS[v] for v in comparison["verdict"]],
            "Awaiting next rating": comparison["awaiting"],
            "No like-for-like baseline": comparison["no_baseline"],
            "Gap of a cycle or more": comparison["gap"],
        }
    )
