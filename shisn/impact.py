"""Did the network help? The mentees' next ratings against a like-for-like baseline, and the network's health.

The comparison (what leadership reads; the README says it in plain words):

- A *unit* is one state × program area × cycle. An **exchange unit**: the mentee of an exchange that was held or
  closed, in each of the exchange's areas, in the exchange's cycle. A **baseline unit**: a state that sought guidance
  (`seeks_help`) in that area in that cycle and had no exchange there (none open, held or closed; a declined one that
  was never held counts as none).
- Each unit's *change* is its maturity in the area at its next reported cycle minus its maturity in the cycle (next
  reported: the first later cycle in which the state rated that area). Units not yet rated again are counted as
  "awaiting the next rating" and left out.
- Like for like: an exchange unit is compared only with baseline units of the same area, the same cycle and the
  same starting maturity (a *stratum*); an exchange unit with no such baseline unit is counted and left out.
- Mean change *with* an exchange: the mean over the exchange units compared. *Without*: each exchange unit's own
  stratum's baseline mean, averaged over the exchange units (so the baseline is weighted like the exchange units).
  The *difference* is with minus without. n on each side: exchange units compared; baseline units in the strata used.
- The 95% interval: a stratified bootstrap with a fixed seed (resample the exchange units and the baseline units
  within each stratum, `SAMPLES` times; the 2.5th and 97.5th percentiles of the difference), so a rerun gives the
  same figures. Below `MIN_N` units on either side: the counts and "too few to compare", no means, no difference.
- `other` is left out: each state's "other" area is its own, so its ratings are not comparable.

What it is not: the ratings are self-assessed; the numbers are small; states chose to take part (those that seek an
exchange may differ from those that do not), so a difference is an association, not proof that the exchange caused
it. The same mentee can appear in several areas.

Network health: days from proposed to first contact (introduced) and to exchange held (median, 90th percentile),
the share declined and why, exchanges stuck with no change recorded for `stuck_days` (a setting, default 30), mentor
capacity used per cycle, needs referred to technical assistance per cycle.

Pure pandas/numpy functions of frames (tests build them by hand); `gather` reads what they need from the store as
a viewer may see it, and `stuck_days`/`set_stuck_days` keep the one setting. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import audit, auth, catalog, coverage
from . import exchanges as X
from . import jurisdictions as J
from .db import query_df, transaction
from .pairing import DEFAULT_CAPACITY

MIN_N = 5                # fewer units than this on either side: "too few to compare"
SAMPLES = 2000           # bootstrap resamples
SEED = 2004              # the bootstrap's fixed seed: the same data gives the same interval on every rerun
LEVEL = 0.95
ALL = "all"
EXCHANGE, BASELINE = "exchange", "baseline"
COUNTED = (X.HELD, X.CLOSED)
TOO_FEW = "too few to compare"
STUCK_DAYS_KEY, DEFAULT_STUCK_DAYS, MAX_STUCK_DAYS = "stuck_days", 30, 365
AREAS: tuple[str, ...] = tuple(a for a in catalog.AREA_SLUGS if a != catalog.OTHER)

# The impact page's views, one tab each; the label is the URL parameter VIEW_KEY's value (shared links).
VIEW_IMPACT, VIEW_PEOPLE, VIEW_HEALTH = "Impact", "Mentors and program managers", "Network health"
VIEWS = (VIEW_IMPACT, VIEW_PEOPLE, VIEW_HEALTH)
VIEW_KEY = "impact_view"
CYCLE_KEY = "impact_cycle"

UNIT_COLUMNS = ["state", "program_area", "cycle", "start", "next_cycle", "next", "change", "group", "exchange_ids",
                "mentors", "note"]
COMPARE_COLUMNS = ["scope", "label", "n_exchange", "n_baseline", "mean_with", "mean_without", "difference", "low",
                   "high", "enough", "verdict", "awaiting", "no_baseline", "no_start"]

EXPLANATION = (
    "**What this compares.** For every exchange that was held or closed, we take the mentee's self-assessed rating "
    "in each area of the exchange and look at how it changed by the next cycle the state rated that area again. We "
    "compare that with states that also asked for guidance in the same area, in the same cycle, starting at the "
    "same rating, but had no exchange. The difference is how much more (or less) the mentees moved than those "
    "like-for-like states. The range after it is a 95% interval: the figures it could plausibly have been, given "
    "how few states there are (computed the same way on every rerun).\n\n"
    "**What it is not.** The ratings are the states' own, not an audit. The numbers are small, so one state can "
    "move an average. States chose to take part, and those that seek an exchange may differ from those that do "
    "not, so a difference is an association, not proof that the exchange caused it. Where either side has fewer "
    f"than {MIN_N} states we show the counts and say *{TOO_FEW}*.")


# --- units ------------------------------------------------------------------------------------------------------

def exchange_areas(exchanges: pd.DataFrame) -> pd.DataFrame:
    """One row per exchange × program area: exchange_id, mentor, mentee, program_area, cycle, status, held_at."""
    cols = ["exchange_id", "mentor", "mentee", "program_area", "cycle", "status", "held_at"]
    if exchanges is None or exchanges.empty:
        return pd.DataFrame(columns=cols)
    df = exchanges.assign(program_area=exchanges["program_areas"].str.split(",")).explode("program_area")
    if "held_at" not in df.columns:
        df["held_at"] = pd.NaT
    return df[cols].reset_index(drop=True)


def units(assessments: pd.DataFrame, exchanges: pd.DataFrame) -> pd.DataFrame:
    """Every exchange unit and baseline unit (see the module docstring) with its starting rating, next reported
    cycle and rating, and change. Columns UNIT_COLUMNS; `note` says why a unit cannot be compared (or '')."""
    a = assessments.loc[assessments["program_area"] != catalog.OTHER,
                        ["state", "program_area", "cycle", "maturity", "seeks_help"]].copy()
    a["cycle"] = a["cycle"].astype(int)
    a["maturity"] = a["maturity"].astype(float)
    a = a.sort_values(["state", "program_area", "cycle"]).reset_index(drop=True)
    g = a.groupby(["state", "program_area"], sort=False)
    a["next_cycle"] = g["cycle"].shift(-1)
    a["next"] = g["maturity"].shift(-1)
    rated = a.set_index(["state", "program_area", "cycle"])

    ea = exchange_areas(exchanges)
    ea = ea[ea["program_area"] != catalog.OTHER]
    counted = ea[ea["status"].isin(COUNTED)]
    # any exchange other than one declined before it was held takes the state out of that area's baseline
    touched = ea[(ea["status"] != X.DECLINED) | ea["held_at"].notna()]
    touched_keys = set(zip(touched["mentee"], touched["program_area"], touched["cycle"].astype(int)))

    rows = []
    for (mentee, area, cycle), grp in counted.groupby(["mentee", "program_area", "cycle"], sort=True):
        key = (mentee, area, int(cycle))
        r = rated.loc[key] if key in rated.index else None
        start = None if r is None else float(r["maturity"])
        nxt_c = None if r is None or pd.isna(r["next_cycle"]) else int(r["next_cycle"])
        nxt = None if nxt_c is None else float(r["next"])
        note = ("no rating in the exchange's cycle" if start is None else
                "awaiting the next rating" if nxt is None else "")
        rows.append([mentee, area, int(cycle), start, nxt_c, nxt, None if note else nxt - start, EXCHANGE,
                     ",".join(str(int(i)) for i in sorted(grp["exchange_id"])),
                     ", ".join(sorted(set(grp["mentor"]))), note])
    base = a[a["seeks_help"].astype(bool)]
    for r in base.itertuples(index=False):
        if (r.state, r.program_area, int(r.cycle)) in touched_keys:
            continue
        nxt_c = None if pd.isna(r.next_cycle) else int(r.next_cycle)
        rows.append([r.state, r.program_area, int(r.cycle), float(r.maturity), nxt_c,
                     None if nxt_c is None else float(r.next),
                     None if nxt_c is None else float(r.next) - float(r.maturity), BASELINE, "", "",
                     "" if nxt_c is not None else "awaiting the next rating"])
    out = pd.DataFrame(rows, columns=UNIT_COLUMNS)
    for c in ("start", "next", "change"):
        out[c] = out[c].astype(float)
    out["next_cycle"] = out["next_cycle"].astype("Int64")
    return out


# --- the comparison ---------------------------------------------------------------------------------------------

def _stratum(df: pd.DataFrame) -> pd.Series:
    return df["program_area"] + "|" + df["cycle"].astype(str) + "|" + df["start"].astype(int).astype(str)


def compare_one(u: pd.DataFrame, scope: str = ALL, label: str = "All areas", *, min_n: int = MIN_N,
                samples: int = SAMPLES, seed: int = SEED) -> dict:
    """The comparison over the units `u` (any subset of `units(...)`): one dict in COMPARE_COLUMNS."""
    ex = u[u["group"] == EXCHANGE]
    no_start = int(ex["start"].isna().sum())
    awaiting = int((ex["start"].notna() & ex["change"].isna()).sum())
    ex = ex[ex["change"].notna()]
    base = u[(u["group"] == BASELINE) & u["change"].notna()]
    ex_s, base_s = _stratum(ex), _stratum(base)
    base_groups = {k: g.to_numpy(float) for k, g in base["change"].groupby(base_s.to_numpy())}
    matched = ex_s.isin(list(base_groups)).to_numpy()
    t, t_s = ex[matched], ex_s[matched]
    used = sorted(set(t_s))
    n_t, n_b = len(t), int(sum(len(base_groups[k]) for k in used))
    out = {"scope": scope, "label": label, "n_exchange": n_t, "n_baseline": n_b, "mean_with": None,
           "mean_without": None, "difference": None, "low": None, "high": None, "enough": False,
           "verdict": TOO_FEW, "awaiting": awaiting, "no_baseline": int((~matched).sum()), "no_start": no_start}
    if n_t < min_n or n_b < min_n:
        return out
    base_mean = {k: float(v.mean()) for k, v in base_groups.items()}
    mean_with = float(t["change"].mean())
    mean_without = float(np.mean([base_mean[k] for k in t_s]))
    rng = np.random.default_rng(seed)
    diffs = np.zeros(samples)
    for k in used:  # sorted: the same draws in the same order on every run
        tv = t["change"].to_numpy(float)[t_s.to_numpy() == k]
        bv = base_groups[k]
        ti = rng.integers(0, len(tv), size=(samples, len(tv)))
        bi = rng.integers(0, len(bv), size=(samples, len(bv)))
        diffs += len(tv) / n_t * (tv[ti].mean(axis=1) - bv[bi].mean(axis=1))
    low, high = (float(q) for q in np.quantile(diffs, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2]))
    diff = mean_with - mean_without
    verdict = ("mentees rose more than the baseline" if low > 0 else
               "mentees rose less than the baseline" if high < 0 else "no clear difference")
    out.update(mean_with=mean_with, mean_without=mean_without, difference=diff, low=low, high=high, enough=True,
               verdict=verdict)
    return out


def compare(u: pd.DataFrame, *, min_n: int = MIN_N, samples: int = SAMPLES, seed: int = SEED) -> pd.DataFrame:
    """One row per program area (catalog order, `other` left out) and a last row for all areas together."""
    rows = [compare_one(u[u["program_area"] == a], a, catalog.area_short(a), min_n=min_n, samples=samples, seed=seed)
            for a in AREAS]
    rows.append(compare_one(u, ALL, "All areas", min_n=min_n, samples=samples, seed=seed))
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def compare_by_cycle(u: pd.DataFrame, *, min_n: int = MIN_N, samples: int = SAMPLES, seed: int = SEED) -> pd.DataFrame:
    """All areas together, one row per cycle the exchanges were held in (the units' starting cycle)."""
    cycles = sorted(int(c) for c in u.loc[u["group"] == EXCHANGE, "cycle"].unique())
    rows = [compare_one(u[u["cycle"] == c], str(c), f"Exchanges of {c}", min_n=min_n, samples=samples, seed=seed)
            for c in cycles]
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def known_by(u: pd.DataFrame, cycle: int) -> pd.DataFrame:
    """The units as they stood when `cycle` was reported: started before it, next rating no later than it."""
    u = u[u["cycle"] < int(cycle)].copy()
    late = u["next_cycle"].notna() & (u["next_cycle"].astype(float) > int(cycle))
    u.loc[late, ["next_cycle", "next", "change"]] = [pd.NA, np.nan, np.nan]
    u.loc[late, "note"] = "awaiting the next rating"
    return u


def by_mentor(u: pd.DataFrame) -> pd.DataFrame:
    """Per mentor state: its mentees' areas (exchange units), how many have a next rating, how many rose, stayed or
    slipped, and the mean change. A unit with two mentors counts for each."""
    ex = u[u["group"] == EXCHANGE].assign(mentor=lambda d: d["mentors"].str.split(", ")).explode("mentor")
    cols = ["mentor", "mentor_name", "mentee_areas", "rated_again", "rose", "same", "slipped", "mean_change",
            "awaiting"]
    if ex.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for m, g in ex.groupby("mentor"):
        ch = g["change"].dropna()
        rows.append([m, J.names().get(m, m), len(g), len(ch), int((ch > 0).sum()), int((ch == 0).sum()),
                     int((ch < 0).sum()), float(ch.mean()) if len(ch) else None,
                     int((g["start"].notna() & g["change"].isna()).sum())])
    return pd.DataFrame(rows, columns=cols).sort_values(["mentee_areas", "mentor"], ascending=[False, True]) \
        .reset_index(drop=True)


def usefulness(views: pd.DataFrame, exchanges: pd.DataFrame) -> dict:
    """The states' own view of their exchanges (`outcomes.visible`, limited to `exchanges`): views recorded and
    mean usefulness (1–5), for the mentees and the mentors, and per mentor state the mentees' mean rating."""
    v = views[views["exchange_id"].isin(exchanges["exchange_id"])] if len(views) else views
    out = {"views": int(len(v)), "exchanges_with_view": int(v["exchange_id"].nunique()) if len(v) else 0}
    for part in ("mentee", "mentor"):
        p = v[v["part"] == part]["useful"] if len(v) else pd.Series(dtype=float)
        out[f"{part}_n"], out[f"{part}_mean"] = int(len(p)), (float(p.mean()) if len(p) else None)
    mentee_views = v[v["part"] == "mentee"].merge(exchanges[["exchange_id", "mentor"]], on="exchange_id") \
        if len(v) else pd.DataFrame(columns=["mentor", "useful"])
    out["by_mentor"] = mentee_views.groupby("mentor")["useful"].agg(["count", "mean"]).rename(
        columns={"count": "mentee_views", "mean": "mentee_useful"}) if len(mentee_views) else \
        pd.DataFrame(columns=["mentee_views", "mentee_useful"])
    return out


# --- facilitation: program managers and network health -------------------------------------------------------------

def exchanges_only(exchanges: pd.DataFrame) -> pd.DataFrame:
    """Without introduction requests that never became exchanges (no proposed_at: waiting or declined)."""
    return exchanges[exchanges["proposed_at"].notna()]


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return ((pd.to_datetime(later) - pd.to_datetime(earlier)).dt.total_seconds() / 86400).astype(float)


def _spread(days: pd.Series) -> dict:
    d = days.dropna()
    return {"n": int(len(d)), "median": float(d.median()) if len(d) else None,
            "p90": float(np.percentile(d.to_numpy(), 90)) if len(d) else None}


def by_pm(exchanges: pd.DataFrame, pms: pd.DataFrame, names: list[str] | None = None) -> pd.DataFrame:
    """Per program manager (by name; `names` limits the rows): their states, and the exchanges either of whose
    states is theirs: total, open, held (held or closed), declined, median days to first contact."""
    cols = ["pm", "states", "exchanges", "open", "held", "declined", "median_days_to_first_contact"]
    exchanges = exchanges_only(exchanges)
    rows = []
    for name, g in pms.groupby("name", sort=True):
        if names is not None and name not in names:
            continue
        states = set(g["state"])
        ex = exchanges[exchanges["mentor"].isin(states) | exchanges["mentee"].isin(states)]
        days = _days(ex["introduced_at"], ex["proposed_at"]).dropna() if len(ex) else pd.Series(dtype=float)
        rows.append([name, ", ".join(sorted(states)), len(ex), int(ex["status"].isin(X.OPEN_STATUSES).sum()),
                     int(ex["status"].isin(COUNTED).sum()), int((ex["status"] == X.DECLINED).sum()),
                     float(days.median()) if len(days) else None])
    return pd.DataFrame(rows, columns=cols)


@dataclass
class Health:
    exchanges: int
    first_contact: dict            # n, median, p90 days from proposed to introduced
    to_held: dict                  # n, median, p90 days from proposed to exchange held
    declined: int
    declined_share: float | None   # of all exchanges
    decline_reasons: pd.DataFrame  # reason, exchanges
    stuck_days: int
    stuck: pd.DataFrame            # exchange_id, mentor, mentee, areas, status, last_change, days_without_change
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)   # per cycle
    referrals: pd.DataFrame = field(default_factory=pd.DataFrame)  # per cycle


NO_REASON = "no reason recorded"


def health(exchanges: pd.DataFrame, now: dt.datetime, stuck_days: int = DEFAULT_STUCK_DAYS, *,
           assessments: pd.DataFrame | None = None, referrals: pd.DataFrame | None = None,
           capacity: int = DEFAULT_CAPACITY, states: list[str] | None = None) -> Health:
    """The network's health over `exchanges` (as `gather` gives them, or a hand-built frame with exchange_id,
    mentor, mentee, program_areas, cycle, status, proposed_at, introduced_at, held_at, updated_at and optionally
    decline_why). `assessments` (every cycle) for mentor capacity, `referrals` (ta_referrals) per cycle; `states`
    limits the capacity to those mentor states (a PM's). Introduction requests never accepted (no proposed_at)
    are not exchanges and are left out, as on the Exchanges page."""
    ex = exchanges_only(exchanges)
    n = len(ex)
    declined = ex[ex["status"] == X.DECLINED]
    why = declined["decline_why"] if "decline_why" in declined.columns else pd.Series([None] * len(declined))
    why = [w if isinstance(w, str) and w.strip() else NO_REASON for w in why]
    reasons = (pd.Series(why, dtype=object).value_counts().rename_axis("reason").reset_index(name="exchanges")
               if why else pd.DataFrame(columns=["reason", "exchanges"]))
    open_ = ex[ex["status"].isin(X.OPEN_STATUSES)]
    idle = ((pd.Timestamp(now) - pd.to_datetime(open_["updated_at"])).dt.total_seconds() / 86400).astype(float)
    stuck = open_.assign(days_without_change=np.floor(idle))[idle >= stuck_days]  # whole days elapsed
    stuck = pd.DataFrame({
        "exchange_id": stuck["exchange_id"].astype(int), "mentor": stuck["mentor"], "mentee": stuck["mentee"],
        "areas": [", ".join(catalog.area_short(a) for a in s.split(",")) for s in stuck["program_areas"]],
        "status": [X.status_label(s) for s in stuck["status"]], "last_change": pd.to_datetime(stuck["updated_at"]),
        "days_without_change": stuck["days_without_change"].astype(int)}).sort_values(
        "days_without_change", ascending=False).reset_index(drop=True)
    return Health(
        exchanges=n, first_contact=_spread(_days(ex["introduced_at"], ex["proposed_at"])),
        to_held=_spread(_days(ex["held_at"], ex["proposed_at"])), declined=len(declined),
        declined_share=len(declined) / n if n else None, decline_reasons=reasons, stuck_days=int(stuck_days),
        stuck=stuck,
        capacity=capacity_used(ex, assessments, capacity, states) if assessments is not None else pd.DataFrame(),
        referrals=referrals_per_cycle(referrals, assessments, states) if referrals is not None else pd.DataFrame())


def capacity_used(exchanges: pd.DataFrame, assessments: pd.DataFrame, capacity: int = DEFAULT_CAPACITY,
                  states: list[str] | None = None) -> pd.DataFrame:
    """Per cycle: eligible mentor states (offer help at maturity 4+ in some area), those mentoring, the areas they
    mentor in exchanges not declined, the capacity (eligible states × `capacity`, the pairing's limit), the share
    used, and the mentor states at or over the limit."""
    cols = ["cycle", "eligible_mentors", "mentoring", "areas_mentored", "capacity", "share_used", "at_capacity"]
    ea = exchange_areas(exchanges_only(exchanges))
    ea = ea[ea["status"] != X.DECLINED]
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
        rows.append([c, len(eligible), int((load > 0).sum()), used, cap, used / cap if cap else None,
                     ", ".join(sorted(load[load >= capacity].index))])
    return pd.DataFrame(rows, columns=cols)


def referrals_per_cycle(referrals: pd.DataFrame, assessments: pd.DataFrame | None = None,
                        states: list[str] | None = None) -> pd.DataFrame:
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

@dataclass
class Inputs:
    viewer: auth.Viewer | None
    assessments: pd.DataFrame   # every cycle (scores and offer/seek flags, which every role may see)
    exchanges: pd.DataFrame     # the exchanges the viewer may see, with decline_why
    referrals: pd.DataFrame     # TA referrals the viewer may see
    pms: pd.DataFrame           # program-manager assignments (state, name, email)
    stuck_days: int
    views: pd.DataFrame = field(default_factory=pd.DataFrame)  # the states' views (outcomes.visible)

    @property
    def pm_names(self) -> list[str] | None:
        """Whose rows the PM table shows: everyone's for leadership, a PM's own."""
        if self.viewer is None or self.viewer.role == auth.LEADERSHIP:
            return None
        return [self.viewer.name]

    @property
    def states(self) -> list[str] | None:
        if self.viewer is None or self.viewer.role == auth.LEADERSHIP:
            return None
        return list(self.viewer.states)


def gather(con, viewer: auth.Viewer | None, assessments: pd.DataFrame) -> Inputs:
    """Read the exchanges, referrals, assignments and the stuck setting as `viewer` may see them. `assessments`:
    every cycle's rows (the app passes its cached, viewer-filtered frame; the CLI `queries.assessments(con)`)."""
    ex = X.list_exchanges(con, viewer)
    why = query_df(con, """
        SELECT e.exchange_id, e.decline_reason, e.outcome,
               (SELECT min(h.comment) FROM exchange_history h
                WHERE h.exchange_id = e.exchange_id AND h.to_status = 'declined'
                  AND (h.from_status IS NULL OR h.from_status <> 'declined')) AS comment
        FROM exchanges e WHERE e.status = 'declined'""")
    reason = {}
    for r in why.itertuples(index=False):
        for v in (r.decline_reason, r.comment, r.outcome):
            if isinstance(v, str) and v.strip():
                reason[int(r.exchange_id)] = v.strip()
                break
    ex["decline_why"] = [reason.get(int(i)) if s == X.DECLINED else None
                         for i, s in zip(ex["exchange_id"], ex["status"])]
    from . import outcomes
    return Inputs(viewer=viewer, assessments=assessments, exchanges=ex, referrals=X.ta_referrals(con, viewer),
                  pms=query_df(con, "SELECT state, name, email FROM program_managers ORDER BY state"),
                  stuck_days=stuck_days(con), views=outcomes.visible(con, viewer))


# --- the one setting --------------------------------------------------------------------------------------------

def stuck_days(con) -> int:
    """Days without a recorded change after which an open exchange counts as stuck (setting, default 30)."""
    got = query_df(con, "SELECT value FROM settings WHERE key = ?", [STUCK_DAYS_KEY])
    try:
        v = int(got["value"].iloc[0]) if len(got) else DEFAULT_STUCK_DAYS
    except ValueError:
        v = DEFAULT_STUCK_DAYS
    return v if 1 <= v <= MAX_STUCK_DAYS else DEFAULT_STUCK_DAYS


def set_stuck_days(con, days, by: str, *, now: dt.datetime | None = None) -> int:
    """Leadership sets the stuck threshold (1–365 days). Audited; raises ValueError (nothing written) when invalid."""
    try:
        v = int(days)
        if float(days) != v:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{days!r} is not a whole number of days") from None
    if not 1 <= v <= MAX_STUCK_DAYS:
        raise ValueError(f"the days without a change must be between 1 and {MAX_STUCK_DAYS}, not {v}")
    if not str(by or "").strip():
        raise ValueError("who is changing the setting must be named")
    now = (now or dt.datetime.now()).replace(microsecond=0)
    with transaction(con) as cur:
        old = cur.scalar("SELECT value FROM settings WHERE key = ?", [STUCK_DAYS_KEY])
        cur.execute("INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, "
                    "updated_at = excluded.updated_at", [STUCK_DAYS_KEY, str(v), by, now]).fetchall()
        audit.record_in(cur, by, "edit", f"setting {STUCK_DAYS_KEY} = {v} (was {old or DEFAULT_STUCK_DAYS})")
    return v


# --- everything the page and the report show -----------------------------------------------------------------

@dataclass
class Figures:
    units: pd.DataFrame
    by_area: pd.DataFrame
    by_cycle: pd.DataFrame
    mentors: pd.DataFrame        # by_mentor, with the mentees' mean usefulness (mentee_views, mentee_useful)
    pms: pd.DataFrame
    health: Health
    useful: dict                 # usefulness(...)
    cycle: int | None = None


def figures(inputs: Inputs, now: dt.datetime | None = None, *, cycle: int | None = None) -> Figures:
    """Every figure of the impact page, or of the cycle report for `cycle` (the impact as known when `cycle` was
    reported, the exchanges raised in `cycle`)."""
    now = now or dt.datetime.now().replace(microsecond=0)
    u = units(inputs.assessments, inputs.exchanges)
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
    return Figures(units=u, by_area=compare(u), by_cycle=compare_by_cycle(u), mentors=mentors,
                   pms=by_pm(ex, inputs.pms, inputs.pm_names),
                   health=health(ex, now, inputs.stuck_days, assessments=a, referrals=refs, states=inputs.states),
                   useful=useful, cycle=cycle)


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


def display_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison as the page and the report show it: words and rounded figures."""
    return pd.DataFrame({
        "Program area": comparison["label"],
        "Mentees compared": comparison["n_exchange"],
        "Baseline states": comparison["n_baseline"],
        "Mean change with exchange": [fmt_change(v) for v in comparison["mean_with"]],
        "Mean change without": [fmt_change(v) for v in comparison["mean_without"]],
        "Difference": [fmt_change(v) if e else TOO_FEW for v, e in zip(comparison["difference"],
                                                                        comparison["enough"])],
        "95% interval": [fmt_interval(lo, hi) for lo, hi in zip(comparison["low"], comparison["high"])],
        "Reading": comparison["verdict"],
        "Awaiting next rating": comparison["awaiting"],
        "No like-for-like baseline": comparison["no_baseline"],
    })
