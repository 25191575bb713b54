"""Text alternatives for the maps and charts (WCAG 1.1.1): for each, one sentence saying what it shows, computed from
the same frames the figure is drawn from, and the data behind it as a plain table (which the pages show on request,
shisn.web.displays.chart_text). Pure pandas, no Streamlit; the sentences are plain text (the page escapes them, as they can
name a state's own 'other' area).

Words follow the app's: a strength is a rating of 4-5, a gap 1-2; an eligible mentor offers help at 4 or more."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from shisn.domain import catalog, exchange_rules


def count(n: int, one: str, many: str | None = None) -> str:
    """'1 jurisdiction', '3 jurisdictions'."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def listing(items: Sequence[str], limit: int = 4) -> str:
    """'A', 'A and B', 'A, B and C', or the first `limit` and 'N more'."""
    items = list(items)
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def number(v: Any) -> str:
    """A median or mean as the charts print it: '3', '3.5'; '' when missing."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    v = float(v)
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def _floats(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype(float).to_numpy()


def extremes(values: pd.Series, labels: Sequence[str], high: str = "highest", low: str = "lowest") -> str:
    """'highest A (4.2), lowest B and C (1.5)' over the values given (ties named together), 'all at 3' when every
    value is the same, '' when there is none."""
    v = _floats(pd.Series(list(values), dtype=object))
    ok = ~np.isnan(v)
    if not ok.any():
        return ""
    lab = np.asarray(list(labels), dtype=object)
    top, bottom = float(np.nanmax(v)), float(np.nanmin(v))
    if top == bottom:
        return f"all at {number(top)}"

    def at(target: float) -> str:
        return f"{listing([str(x) for x in lab[ok & (v == target)]], limit=3)} ({number(target)})"

    return f"{high} {at(top)}, {low} {at(bottom)}"


# --- National coverage · Map (coverage.state_values) ----------------------------------------------------------


def coverage_map(
    values: pd.DataFrame, area_label: str, single_area: bool, cycle: int, where: str = "", uncovered: int | None = None
) -> str:
    """What the national map shows, over the jurisdictions in scope (`in_scope`), e.g. 'Exercise programs, 2026:
    12 of 56 jurisdictions rate 4 or 5 (10 of them eligible mentors) and 9 rate 1 or 2; 15 seek guidance, 3 of
    them with no eligible mentor; 2 did not report.' `where` names the region filter (' in Region III');
    `uncovered`: the needs in view with no eligible mentor (coverage.kpis' needs_uncovered)."""
    scope = values[values["in_scope"]]
    rep = scope[scope["reported"]]
    m = _floats(rep["maturity"])
    n, missing = len(scope), len(scope) - len(rep)
    of = f"of {count(n, 'jurisdiction')}{where}"
    not_reported = f"; {missing} did not report" if missing else ""
    if not len(rep):
        return f"{area_label}, {cycle}: none {of} reported."
    seekers = int((rep["seeks"] > 0).sum())
    if single_area:
        strong, weak = int((m >= catalog.STRENGTH_MIN).sum()), int((m <= catalog.GAP_MAX).sum())
        mentors = int((rep["eligible"] > 0).sum())
        need = (
            ""
            if uncovered is None or not seekers
            else ", each with an eligible mentor"
            if not uncovered
            else f", {uncovered} of them with no eligible mentor"
        )
        return (
            f"{area_label}, {cycle}: {strong} {of} rate 4 or 5 ({mentors} of them eligible mentors) and "
            f"{weak} rate 1 or 2; {seekers} seek guidance{need}{not_reported}."
        )
    strong, weak = int((m >= 3.5).sum()), int((m < 2.5).sum())
    mentors = int((rep["eligible"] > 0).sum())
    return (
        f"Mean maturity over the named program areas, {cycle}: {strong} {of} average 3.5 or more and {weak} "
        f"below 2.5; {extremes(rep['maturity'].round(1), rep['name'])}; {mentors} can mentor in at least one "
        f"area and {seekers} seek guidance in at least one{not_reported}."
    )


def coverage_map_table(values: pd.DataFrame, single_area: bool) -> pd.DataFrame:
    """The map's data: a row per jurisdiction in scope, by name; its maturity (or mean), and offers and needs."""
    scope = values[values["in_scope"]].sort_values("name")
    rep = scope["reported"].to_numpy()
    m = _floats(scope["maturity"])
    out = pd.DataFrame(
        {
            "Jurisdiction": [f"{nm} ({c})" for nm, c in zip(scope["name"], scope["state"])],
            "FEMA region": scope["region_label"].to_numpy(),
        }
    )
    if single_area:
        out["Maturity"] = [f"{int(v)} {catalog.level_name(int(v))}" if ok else "not reported" for v, ok in zip(m, rep)]
        out["Eligible mentor"] = ["yes" if ok and e else "no" if ok else "" for e, ok in zip(scope["eligible"], rep)]
        out["Seeks guidance"] = ["yes" if ok and s else "no" if ok else "" for s, ok in zip(scope["seeks"], rep)]
    else:
        out["Mean maturity"] = [f"{v:.1f}" if ok else "not reported" for v, ok in zip(m, rep)]
        out["Areas reported"] = scope["areas"].to_numpy()
        out["Can mentor in (areas)"] = scope["eligible"].to_numpy()
        out["Seeks guidance in (areas)"] = scope["seeks"].to_numpy()
    return out


# --- National coverage · Strengths and gaps (coverage.maturity_matrix, coverage.cell_details) -----------------


def _marks(details: pd.DataFrame | None, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(can mentor, seeks guidance) per cell, from cell_details' dicts (False without details)."""
    if details is None:
        return np.zeros(shape, bool), np.zeros(shape, bool)
    flat = details.to_numpy(dtype=object)
    mentor = np.array([[bool(d and d.get("eligible")) for d in row] for row in flat], dtype=bool).reshape(shape)
    seeks = np.array([[bool(d and d.get("seeks")) for d in row] for row in flat], dtype=bool).reshape(shape)
    return mentor, seeks


def heatmap(matrix: pd.DataFrame, details: pd.DataFrame | None = None, where: str = "") -> str:
    """What the jurisdiction × area heatmap shows, e.g. '56 jurisdictions × 8 program areas: of 440 ratings, 120
    are 4 or 5 and 80 are 1 or 2 (8 cells not reported); highest median Exercises (4), lowest Recovery (2); 40 cells
    mark an eligible mentor and 135 a state seeking guidance.'"""
    z = matrix.to_numpy(dtype=float)
    rows, cols = z.shape
    head = f"{count(rows, 'jurisdiction')}{where} × {count(cols, 'program area')}"
    rated = int((~np.isnan(z)).sum())
    if not rated:
        return f"{head}: nothing reported."
    strong, weak = int((z >= catalog.STRENGTH_MIN).sum()), int((z <= catalog.GAP_MAX).sum())
    means = matrix.astype(float).mean(axis=0, skipna=True).round(1)
    by_area = extremes(means, [catalog.area_short(a) for a in matrix.columns], "highest mean", "lowest")
    mentor, seeks = _marks(details, z.shape)
    unreported = z.size - rated
    return (
        f"{head}: of {count(rated, 'rating')}, {strong} are 4 or 5 and {weak} are 1 or 2"
        + (f" ({count(unreported, 'cell')} not reported)" if unreported else "")
        + f"; by program area, {by_area}; {int(mentor.sum())} cells mark an eligible mentor and "
        f"{int(seeks.sum())} a state seeking guidance."
    )


def heatmap_table(matrix: pd.DataFrame, names: dict[str, str], details: pd.DataFrame | None = None) -> pd.DataFrame:
    """The heatmap's data in its row order, a row per jurisdiction: its program areas by rating (strengths 4-5,
    established 3, gaps 1-2, each area with its rating), those not reported, and where it can mentor and seeks
    guidance. Lists rather than an area per column: nine columns of area names do not fit a page's width."""
    z = matrix.to_numpy(dtype=float)
    mentor, seeks = _marks(details, z.shape)
    areas = [catalog.area_short(a) for a in matrix.columns]

    def rated(i: int, keep) -> str:
        cells = sorted((-z[i, j], j) for j in range(len(areas)) if not math.isnan(z[i, j]) and keep(z[i, j]))
        return ", ".join(f"{areas[j]} ({int(-v)})" for v, j in cells)

    def where(i: int, mask: np.ndarray) -> str:
        return ", ".join(a for j, a in enumerate(areas) if mask[i, j])

    rows = range(len(matrix))
    return pd.DataFrame(
        {
            "Jurisdiction": [f"{names.get(c, c)} ({c})" for c in matrix.index],
            "Strengths (4–5)": [rated(i, lambda v: v >= catalog.STRENGTH_MIN) for i in rows],
            "Established (3)": [rated(i, lambda v: catalog.GAP_MAX < v < catalog.STRENGTH_MIN) for i in rows],
            "Gaps (1–2)": [rated(i, lambda v: v <= catalog.GAP_MAX) for i in rows],
            "Not reported": [where(i, np.isnan(z)) for i in rows],
            "Can mentor in": [where(i, mentor) for i in rows],
            "Seeks guidance in": [where(i, seeks) for i in rows],
        }
    )


# --- National coverage · Supply and demand (coverage.supply_demand) --------------------------------------------


def supply_demand(sd: pd.DataFrame, where: str = "") -> str:
    """What the supply and demand bars show, e.g. 'Per program area, eligible mentors against states seeking
    guidance: more seekers than mentors in Recovery and Prevention/deterrence; most seekers in Recovery (25, with 10
    mentors); 4 needs have no eligible mentor (Recovery 3, Other 1).'"""
    if not len(sd):
        return f"No program area has ratings{where}."
    short = sd[sd["seekers"] > sd["eligible"]]
    top = sd.loc[sd["seekers"].idxmax()]
    unmet = sd[sd["uncovered"] > 0]
    total = int(sd["uncovered"].sum())
    return (
        f"Per program area{where}, eligible mentors against states seeking guidance: "
        + (
            f"more seekers than mentors in {listing(list(short['label']))}"
            if len(short)
            else "no area has more seekers than mentors"
        )
        + (
            f"; most seekers in {top['label']} ({int(top['seekers'])}, with {count(int(top['eligible']), 'mentor')})"
            if int(top["seekers"])
            else "; no state seeks guidance"
        )
        + (
            f"; {count(total, 'need has', 'needs have')} no eligible mentor ("
            + ", ".join(f"{lab} {int(u)}" for lab, u in zip(unmet["label"], unmet["uncovered"]))
            + ")."
            if total
            else "; every need has an eligible mentor."
        )
    )


def supply_demand_table(sd: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Program area": sd["label"].to_numpy(),
            "Eligible mentors": sd["eligible"].to_numpy(),
            "States seeking guidance": sd["seekers"].to_numpy(),
            "Needs no state can mentor": sd["uncovered"].to_numpy(),
        }
    )


# --- National coverage · FEMA regions (coverage.region_summary) -------------------------------------------------


def regions(summary: pd.DataFrame) -> str:
    """What the region × area heatmap shows, e.g. 'Median maturity in 10 FEMA regions × 8 program areas: highest
    Region III in Exercises (4.5), lowest Region IX in Recovery (2); 3 cells with no state reporting.'"""
    n_regions, n_areas = summary["region_label"].nunique(), summary["program_area"].nunique()
    head = f"Median maturity in {count(n_regions, 'FEMA region')} × {count(n_areas, 'program area')}"
    labels = summary["region_label"] + " in " + summary["program_area"].map(catalog.area_short)
    ext = extremes(summary["median"], labels)
    if not ext:
        return f"{head}: no state reported."
    missing = int(summary["median"].isna().sum())
    return f"{head}: {ext}" + (f"; {count(missing, 'cell')} with no state reporting." if missing else ".")


def regions_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A row per program area, a column per FEMA region: the median maturity (blank: no state reported). Areas as
    rows: ten region columns fit a page's width, nine area names do not."""
    wide = summary.pivot(index="program_area", columns="region_label", values="median")
    wide = wide.reindex(
        index=list(dict.fromkeys(summary["program_area"])), columns=list(dict.fromkeys(summary["region_label"]))
    )
    out = pd.DataFrame({"Program area": [catalog.area_short(a) for a in wide.index]})
    for r in wide.columns:
        out[r] = [number(v) for v in wide[r]]
    return out


# --- Pairings · Map (the pairs in view) -------------------------------------------------------------------------


def pairs_map(pairs: pd.DataFrame) -> str:
    """What the pairs map shows, e.g. '24 suggested pairs as arcs from mentor to mentee: 15 mentor states and 22
    mentee states; most in Exercises (6).'"""
    if not len(pairs):
        return "No suggested pair in this view, so the map shows no arc."
    by_area = pairs["program_area"].value_counts()
    top = by_area[by_area == by_area.max()].index
    return (
        f"{count(len(pairs), 'suggested pair')} as arcs from mentor to mentee: "
        f"{count(pairs['mentor'].nunique(), 'mentor state')} and {count(pairs['mentee'].nunique(), 'mentee state')}"
        f"; most in {listing([catalog.area_short(a) for a in top])} ({int(by_area.max())})."
    )


# --- Exchanges · Map and counts (the exchanges the viewer sees) ---------------------------------------------------


def exchanges_map(arcs: pd.DataFrame) -> str:
    """What the exchanges map shows, e.g. '12 exchanges as arcs from mentor to mentee (14 program areas): 5 proposed,
    4 exchange held, 3 closed; most in Recovery (4).'"""
    if not len(arcs):
        return "No exchange on the map."
    per = arcs.drop_duplicates("exchange_id")
    statuses = per["status"].value_counts()
    by_area = arcs["program_area"].value_counts()
    top = by_area[by_area == by_area.max()].index
    return (
        f"{count(len(per), 'exchange')} as arcs from mentor to mentee ({count(len(arcs), 'program area')}): "
        + ", ".join(
            f"{int(statuses[s])} {exchange_rules.status_label(s)}" for s in exchange_rules.STATUSES if s in statuses
        )
        + f"; most in {listing([catalog.area_short(a) for a in top])} ({int(by_area.max())})."
    )


def exchanges_map_table(arcs: pd.DataFrame) -> pd.DataFrame:
    """The exchanges map's data: one row per exchange × program area."""
    return pd.DataFrame(
        {
            "Exchange": arcs["exchange_id"].astype(int),
            "Mentor": arcs["mentor"],
            "Mentee": arcs["mentee"],
            "Program area": [catalog.area_short(a) for a in arcs["program_area"]],
            "Status": [exchange_rules.status_label(s) for s in arcs["status"]],
        }
    )


# --- State profile (profile.StateProfile) -----------------------------------------------------------------------


def profile_maturity(p) -> str:
    """What the profile's bars show, e.g. 'Virginia, 2026: above the national median in 3 of 8 areas, at it in 4,
    below it in 1; highest Exercises (5), lowest Recovery (2).'"""
    t = p.table[p.table["reported"]]
    if not len(t):
        return (
            f"{p.name} reported no self-assessment in {p.cycle}; the chart shows the {p.region_label} and "
            "national medians only."
        )
    m, nat = _floats(t["maturity"]), _floats(t["national_median"])
    ok = ~np.isnan(nat)
    above, at, below = int((m[ok] > nat[ok]).sum()), int((m[ok] == nat[ok]).sum()), int((m[ok] < nat[ok]).sum())
    return (
        f"{p.name}, {p.cycle}: above the national median in {above} of {count(int(ok.sum()), 'area')}, at it "
        f"in {at}, below it in {below}; {extremes(t['maturity'], t['short'])}."
    )


def profile_maturity_table(p) -> pd.DataFrame:
    t = p.table
    return pd.DataFrame(
        {
            "Program area": t["short"].to_numpy(),
            p.name: [number(v) if ok else "not reported" for v, ok in zip(t["maturity"], t["reported"])],
            f"{p.region_label} median": [number(v) for v in t["region_median"]],
            "National median": [number(v) for v in t["national_median"]],
        }
    )


def profile_poete(p) -> str:
    """What the POETE heatmap shows, e.g. 'POETE sub-ratings, 2026, given for 6 of 9 areas: highest on average
    Planning (3.8), lowest Equipment (2.2).'"""
    t = p.poete
    given = int(t.notna().any(axis=1).sum())
    means = t.apply(lambda c: pd.to_numeric(c, errors="coerce").astype(float).mean())
    ext = extremes(means.round(1), list(t.columns), "highest mean", "lowest")
    if not ext:
        return f"No POETE sub-ratings were given for {p.cycle}."
    return f"POETE sub-ratings, {p.cycle}, given for {given} of {count(len(t), 'area')}: {ext}."


def profile_trend(p) -> str:
    """What the trend heatmap shows, e.g. 'Virginia's ratings 2023-2026 in 8 areas: between each area's first and
    latest rating 3 rose, 1 fell and 4 did not change.'"""
    t = p.trend
    cycles = list(t.columns)
    if len(cycles) < 2:
        return (
            f"{p.name} has one cycle on record ({cycles[0]}), so there is no trend yet."
            if cycles
            else f"{p.name} has no cycle on record."
        )
    up = down = same = 0
    for _, row in t.iterrows():
        v = _floats(row)
        v = v[~np.isnan(v)]
        if len(v) < 2:
            continue
        up, down, same = up + (v[-1] > v[0]), down + (v[-1] < v[0]), same + (v[-1] == v[0])
    return (
        f"{p.name}'s ratings {cycles[0]}–{cycles[-1]} in {count(len(t), 'area')}: between each area's first "
        f"and latest rating {int(up)} rose, {int(down)} fell and {int(same)} did not change."
    )


def frame_table(t: pd.DataFrame) -> pd.DataFrame:
    """An area × column frame (profile.poete, profile.trend) as a table: the areas as the first column, whole
    numbers, blank where missing."""
    out = pd.DataFrame({t.index.name or "Program area": [str(i) for i in t.index]})
    for c in t.columns:
        out[str(c)] = [number(v) for v in t[c]]
    return out
