"""National coverage: where the network is strong, where it has gaps, and which needs it can (and cannot) meet.

Pure pandas over the frame `queries.assessments(con, cycle)` returns (one row per state × program area). No
Streamlit, no database: the national page hands these results to `charts` and `maps`.

Definitions (the KPIs on the national page):
- a *mentor offered* is a (state, area) row with `offers_help`;
- an *eligible mentor* is an offer with maturity >= catalog.MENTOR_MIN (`eligible_mentor`, from queries);
- a *need* is a (state, area) row with `seeks_help`;
- a need *has an eligible mentor* when another state is an eligible mentor in the same area with a higher maturity
  than the seeker's; a need with none goes to ODP technical assistance (TA). Mentors may come from any region, so
  coverage is always judged against the whole nation, even when the page shows one FEMA region.
- In the catch-all `other` area two states only match when they name the same area (`other_area`, any case).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pandas as pd

from shisn.domain import basics, catalog, jurisdictions

ALL_AREAS = "all"
ALL_REGIONS = "all"
# The mean over areas leaves out `other`: it names a different area in each state, so it is not comparable.
MEAN_AREAS: tuple[str, ...] = tuple(a for a in catalog.AREA_SLUGS if a != catalog.OTHER)
SORTS = ("total", "region", "cluster")
SORT_LABELS = {
    "total": "Overall maturity (strongest first)",
    "region": "FEMA region",
    "cluster": "Similar profiles together (clustered)",
}
NOTE_EXCERPT = 160
# The national page's views, one tab each; only the open one is computed and drawn. The label is the value of the URL
# parameter VIEW_KEY (Streamlit binds the tab to the query string verbatim), so renaming one breaks shared links.
VIEW_MAP, VIEW_HEATMAP, VIEW_SUPPLY, VIEW_REGIONS = "Map", "Strengths and gaps", "Supply and demand", "FEMA regions"
VIEWS = (VIEW_MAP, VIEW_HEATMAP, VIEW_SUPPLY, VIEW_REGIONS)
VIEW_KEY = "view"  # widget key and URL parameter; unique across pages (widget state is per session)


# --- filter options (values live in the URL query string) ----------------------------------------------------


def area_options() -> list[str]:
    return [ALL_AREAS, *catalog.AREA_SLUGS]


def area_option_label(option: str, short: bool = False) -> str:
    """The option's name; with `short` its short name ("Training systems"), for a label on one line."""
    if option == ALL_AREAS:
        return "All areas (mean)"
    return catalog.area_short(option) if short else catalog.area_label(option)


def area_option_short(option: str) -> str:
    return area_option_label(option, short=True)


def region_options() -> list:
    return [ALL_REGIONS, *range(1, 11)]


def region_option_label(option) -> str:
    return "All regions" if option == ALL_REGIONS else jurisdictions.region_label(int(option))


def scope_codes(region=ALL_REGIONS) -> list[str]:
    """The jurisdictions in view: all 56, or those of one FEMA region."""
    if region == ALL_REGIONS:
        return list(jurisdictions.codes())
    return [c for c, r in jurisdictions.regions().items() if r == int(region)]


def in_region(df: pd.DataFrame, region=ALL_REGIONS) -> pd.DataFrame:
    if region == ALL_REGIONS:
        return df
    return df[df["fema_region"] == int(region)]


def in_area(df: pd.DataFrame, area=ALL_AREAS) -> pd.DataFrame:
    if area == ALL_AREAS:
        return df
    return df[df["program_area"] == area]


def previous_cycle(cycles: list[int], cycle: int) -> int | None:
    """The newest cycle before `cycle` that has data, or None."""
    older = [c for c in cycles if c < cycle]
    return max(older) if older else None


# --- notes the viewer may see ---------------------------------------------------------------------------------


def redact_notes(df: pd.DataFrame, can_see: Callable[[str], bool]) -> pd.DataFrame:
    """A copy whose `notes` are blank for states whose detail the viewer may not see; `notes_visible` says which."""
    out = df.copy()
    seen = {s: bool(can_see(s)) for s in pd.unique(out["state"])}
    visible = out["state"].map(seen).astype(bool)
    out["notes_visible"] = visible
    out["notes"] = out["notes"].where(visible, "").fillna("")
    return out


def excerpt(text, limit: int = NOTE_EXCERPT) -> str:
    text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- needs and mentors ----------------------------------------------------------------------------------------


def _area_key(df: pd.DataFrame) -> pd.Series:
    """The area a row is about: the slug, or for `other` the named area (case and spacing ignored)."""
    key = df["program_area"].astype(str)
    other = key == catalog.OTHER
    if other.any():
        named = df.loc[other, "other_area"].fillna("").astype(str).str.strip().str.lower().str.split().str.join(" ")
        key = key.where(~other, catalog.OTHER + ":" + named)
    return key


def need_coverage(df: pd.DataFrame) -> pd.DataFrame:
    """One row per need (seeks_help) in `df` with the number of eligible mentors for it (`mentors`, the states in
    `mentor_states`, best first) and `covered` (at least one). Pass the whole cycle: mentors come from any state."""
    return _need_coverage(df, names=True)


# The national page asks for the needs of the same frame six times per run (KPIs, TA list, regions, supply and
# demand, export): keep the last few results, keyed by the frame itself (held, so its id cannot be reused). A frame
# is treated as immutable once seen: nothing here or in the pages edits one in place.
_MEMO: list[tuple[pd.DataFrame, tuple, pd.DataFrame]] = []
_MEMO_SIZE = 4
_MEMO_LOCK = threading.Lock()


def _needs(df: pd.DataFrame) -> pd.DataFrame:
    """need_coverage(df) without `mentor_states` (at county scale those lists are most of its memory), memoised
    for internal callers (which never modify the result)."""
    shape = (df.shape, tuple(df.columns))
    with _MEMO_LOCK:
        for seen, seen_shape, result in _MEMO:
            if seen is df and seen_shape == shape:
                return result
    result = _need_coverage(df, names=False)
    with _MEMO_LOCK:
        _MEMO.insert(0, (df, shape, result))
        del _MEMO[_MEMO_SIZE:]
    return result


def _need_coverage(df: pd.DataFrame, names: bool) -> pd.DataFrame:
    cols = ["state", "name", "fema_region", "region_label", "program_area", "other_area", "maturity"]
    cols += ["notes"] if names else []  # the internal callers never show a need's notes
    needs = df.loc[df["seeks_help"].astype(bool), [c for c in cols if c in df.columns]].copy()
    needs["key"] = _area_key(needs)
    mentors = df.loc[
        df["eligible_mentor"].fillna(False).astype(bool), ["state", "program_area", "other_area", "maturity"]
    ].copy()
    mentors["key"] = _area_key(mentors)
    once = not (needs.duplicated(["state", "key"]).any() or mentors.duplicated(["state", "key"]).any())
    if once and needs["maturity"].notna().all() and mentors["maturity"].notna().all():
        counts, states = _mentors_by_prefix(needs, mentors, names)
    else:
        counts, states = _mentors_by_pairs(needs, mentors, names)
    needs["mentors"] = counts
    if names:
        needs["mentor_states"] = states
    needs["covered"] = needs["mentors"] > 0
    return needs.drop(columns="key").reset_index(drop=True)


def _mentors_by_prefix(needs: pd.DataFrame, mentors: pd.DataFrame, names: bool) -> tuple[np.ndarray, list[str]]:
    """Mentors for each need when every (state, area) appears once: in each area the mentors ranked best first
    (maturity high to low, then code) are eligible for a need exactly down to the last one rated above the need,
    so each need's mentors are a prefix of that ranking (a state never mentors itself: it is not rated above
    itself). O(n log n), and the few distinct prefixes are joined once."""
    counts = np.zeros(len(needs), dtype=int)
    listed = [""] * len(needs)
    ranked = mentors.assign(m=mentors["maturity"].astype(int)).sort_values(
        ["key", "m", "state"], ascending=[True, False, True]
    )
    by_key = {k: (g["state"].tolist(), -g["m"].to_numpy()) for k, g in ranked.groupby("key", sort=False)}
    need_keys = needs["key"].to_numpy()
    need_mat = needs["maturity"].astype(int).to_numpy()
    for key in pd.unique(need_keys):
        hit = by_key.get(key)
        if hit is None:
            continue
        states, neg = hit
        where = np.flatnonzero(need_keys == key)
        n = np.searchsorted(neg, -need_mat[where], side="left")  # mentors rated strictly above the need
        counts[where] = n
        if names:
            joined = {k: ", ".join(states[:k]) for k in np.unique(n)}
            for i, k in zip(where, n):
                listed[i] = joined[k]
    return counts, listed


def _mentors_by_pairs(needs: pd.DataFrame, mentors: pd.DataFrame, names: bool) -> tuple[np.ndarray, list[str]]:
    """The general case (a state with several rows in one area, e.g. several cycles passed): every need × mentor
    pair in the area, filtered."""
    pairs = (
        needs[["state", "key", "maturity"]]
        .reset_index()
        .merge(
            mentors[["state", "key", "maturity"]].rename(columns={"state": "mentor", "maturity": "mentor_maturity"}),
            on="key",
        )
    )
    pairs = pairs[(pairs["mentor"] != pairs["state"]) & (pairs["mentor_maturity"] > pairs["maturity"])]
    pairs = pairs.sort_values(["index", "mentor_maturity", "mentor"], ascending=[True, False, True])
    grouped = pairs.groupby("index")
    counts = grouped.size().reindex(needs.index).fillna(0).astype(int).to_numpy()
    listed = grouped["mentor"].agg(", ".join).reindex(needs.index).fillna("").tolist() if names else []
    return counts, listed


def kpis(df: pd.DataFrame, region=ALL_REGIONS, area=ALL_AREAS) -> dict:
    """The headline numbers for one cycle's rows `df` (the whole cycle), seen through the region and area filters.
    `jurisdictions` is the denominator for `reporting` (56, or the region's count)."""
    scoped = in_area(in_region(df, region), area)
    needs = in_area(in_region(_needs(df), region), area)
    return {
        "jurisdictions": len(scope_codes(region)),
        "reporting": int(scoped["state"].nunique()),
        "mentors_offered": int(scoped["offers_help"].astype(bool).sum()),
        "eligible_mentors": int(scoped["eligible_mentor"].fillna(False).astype(bool).sum()),
        "needs": int(len(needs)),
        "needs_covered": int(needs["covered"].sum()),
        "needs_uncovered": int((~needs["covered"]).sum()),
        "covered_pct": round(100 * float(needs["covered"].mean()), 1) if len(needs) else None,
    }


def kpi_deltas(current: dict, previous: dict | None) -> dict:
    """current - previous for each KPI (None when there is no previous cycle or either value is missing)."""
    if previous is None:
        return {k: None for k in current}
    return {k: (None if current[k] is None or previous.get(k) is None else current[k] - previous[k]) for k in current}


def uncovered_needs(df: pd.DataFrame, region=ALL_REGIONS, area=ALL_AREAS) -> pd.DataFrame:
    """Needs no other state can mentor (→ TA referral), lowest maturity first."""
    needs = in_area(in_region(_needs(df), region), area)
    out = needs[~needs["covered"]].copy()
    out["area"] = [_area_name(a, o) for a, o in zip(out["program_area"], out["other_area"])]
    out = out.sort_values(["maturity", "state", "area"])
    return out[["state", "name", "region_label", "area", "maturity"]].reset_index(drop=True)


def _area_name(area: str, other) -> str:
    short = catalog.area_short(area)
    if area == catalog.OTHER and isinstance(other, str) and other.strip():
        return f"{short}: {other.strip()}"
    return short


# --- per-jurisdiction values (map) ----------------------------------------------------------------------------


def state_values(df: pd.DataFrame, area=ALL_AREAS, region=ALL_REGIONS) -> pd.DataFrame:
    """One row per jurisdiction (all 56, sorted by code) for the map: `maturity` in `area` (or the mean over the
    named areas), how many areas the state reported, offers help in, is an eligible mentor in and seeks guidance
    in, and `in_scope` (inside the region filter) / `reported` (has a value in this view)."""
    jur = jurisdictions.jurisdictions()[["code", "name", "fema_region", "region_label", "kind"]].rename(
        columns={"code": "state"}
    )
    rows = in_area(df, area) if area != ALL_AREAS else df[df["program_area"].isin(MEAN_AREAS)]
    g = rows.assign(
        m=rows["maturity"].astype("Float64"),
        off=rows["offers_help"].astype(bool),
        elig=rows["eligible_mentor"].fillna(False).astype(bool),
        seek=rows["seeks_help"].astype(bool),
    ).groupby("state")
    agg = pd.DataFrame(
        {
            "maturity": g["m"].mean(),
            "areas": g.size(),
            "offers": g["off"].sum(),
            "eligible": g["elig"].sum(),
            "seeks": g["seek"].sum(),
        }
    )
    out = jur.merge(agg, left_on="state", right_index=True, how="left")
    for c in ("areas", "offers", "eligible", "seeks"):
        out[c] = out[c].fillna(0).astype(int)
    out["maturity"] = out["maturity"].astype(float)
    out["in_scope"] = out["state"].isin(scope_codes(region))
    out["reported"] = out["maturity"].notna()
    return out.sort_values("state").reset_index(drop=True)


# --- jurisdiction × area matrix (heatmap) ---------------------------------------------------------------------


def matrix_areas(df: pd.DataFrame) -> list[str]:
    """The heatmap's columns: the named areas, plus `other` when any state reported one."""
    return list(MEAN_AREAS) + ([catalog.OTHER] if (df["program_area"] == catalog.OTHER).any() else [])


def maturity_matrix(df: pd.DataFrame, region=ALL_REGIONS, sort: str = "total") -> pd.DataFrame:
    """Jurisdictions (rows, every one in scope, ordered by `sort`) × areas (columns), maturity as float (NaN = not
    reported)."""
    rows = in_region(df, region)
    m = rows.assign(m=rows["maturity"].astype(float)).pivot_table(
        index="state", columns="program_area", values="m", aggfunc="first"
    )
    m = m.reindex(index=scope_codes(region), columns=matrix_areas(df))
    m.index.name, m.columns.name = "state", "program_area"
    return order_rows(m, sort)


def order_rows(m: pd.DataFrame, sort: str = "total") -> pd.DataFrame:
    """Order the rows: 'total' (mean over reported named areas, strongest first; ties by code), 'region' (FEMA
    region, then strongest first) or 'cluster' (hierarchical clustering, similar profiles together). Jurisdictions
    with nothing reported go last in every order."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; use one of {SORTS}")
    named = m[[c for c in m.columns if c in MEAN_AREAS]]
    mean = named.mean(axis=1)
    reported = mean.notna()
    key = pd.DataFrame(
        {"state": m.index, "mean": mean.values, "region": [jurisdictions.regions()[c] for c in m.index]},
        index=list(m.index),
    )
    done, empty = key[reported.values], key[~reported.values]
    if sort == "total":
        order = done.sort_values(["mean", "state"], ascending=[False, True]).index.tolist()
    elif sort == "region":
        order = done.sort_values(["region", "mean", "state"], ascending=[True, False, True]).index.tolist()
    else:
        order = _cluster_order(named.loc[done.index])
    return m.loc[order + sorted(empty.index)]


def _cluster_order(m: pd.DataFrame) -> list[str]:
    """Leaves of an average-linkage tree over the profiles (gaps filled with the area's mean), deterministic."""
    if len(m) < 3:
        return sorted(m.index)
    from scipy.cluster.hierarchy import (  # import costs 0.14 s: only when a heatmap is ordered by similarity
        leaves_list,
        linkage,
    )

    filled = m.sort_index()
    filled = filled.fillna(filled.mean()).fillna(3.0)
    tree = linkage(filled.to_numpy(dtype=float), method="average", metric="euclidean", optimal_ordering=True)
    order = [filled.index[i] for i in leaves_list(tree)]
    # Put the stronger end of the dendrogram on top, so the reading direction matches the other sorts.
    means = filled.mean(axis=1)
    half = len(order) // 2
    if means[order[:half]].mean() < means[order[-half:]].mean():
        order.reverse()
    return order


def cell_details(df: pd.DataFrame, m: pd.DataFrame) -> pd.DataFrame:
    """For each cell of `m`: what the hover says besides the maturity, as a dict (offers, eligible, seeks, the
    `other` area's name, `note` = notes excerpt, or None when the viewer may not see it), or None where nothing was
    reported. Notes must already be redacted for the viewer (`redact_notes`)."""
    visible = df["notes_visible"] if "notes_visible" in df.columns else pd.Series(True, index=df.index)
    rows = m.index.get_indexer(df["state"])
    cols = m.columns.get_indexer(df["program_area"])
    keep = np.flatnonzero((rows >= 0) & (cols >= 0))
    out = np.full(m.shape, None, dtype=object)
    pick = lambda s: s.to_numpy(dtype=object)[keep].tolist()
    for r, c, o, e, k, oa, n, v in zip(
        rows[keep].tolist(),
        cols[keep].tolist(),
        pick(df["offers_help"]),
        pick(df["eligible_mentor"]),
        pick(df["seeks_help"]),
        pick(df["other_area"]),
        pick(df["notes"]),
        pick(visible),
    ):
        out[r, c] = {
            "offers": bool(o),
            "eligible": bool(e) if e is not pd.NA else False,
            "seeks": bool(k),
            "other": basics.cell_text(oa),
            "note": excerpt(n) if v else None,
        }
    return pd.DataFrame(out, index=m.index, columns=m.columns, dtype=object)


# --- FEMA regions ---------------------------------------------------------------------------------------------


def region_summary(df: pd.DataFrame, region=ALL_REGIONS) -> pd.DataFrame:
    """One row per FEMA region × area (named areas, plus `other`): median maturity, reporting states, eligible
    mentors, needs, and needs with no eligible mentor anywhere in the nation."""
    needs = _needs(df)
    rows = in_region(df, region)
    regions = sorted({jurisdictions.regions()[c] for c in scope_codes(region)})
    areas = matrix_areas(df)
    idx = pd.MultiIndex.from_product([regions, areas], names=["fema_region", "program_area"])
    g = rows.assign(m=rows["maturity"].astype(float), elig=rows["eligible_mentor"].fillna(False).astype(bool)).groupby(
        ["fema_region", "program_area"]
    )
    n = in_region(needs, region)
    n = n.assign(uncovered=~n["covered"].astype(bool)).groupby(["fema_region", "program_area"])
    out = pd.DataFrame(
        {
            "median": g["m"].median(),
            "states": g["state"].nunique(),
            "mentors": g["elig"].sum(),
            "needs": n.size(),
            "uncovered": n["uncovered"].sum(),
        }
    ).reindex(idx)
    for c in ("states", "mentors", "needs", "uncovered"):
        out[c] = out[c].fillna(0).astype(int)
    out = out.reset_index()
    out["region_label"] = out["fema_region"].map(jurisdictions.region_label)
    return out


def region_totals(df: pd.DataFrame, region=ALL_REGIONS) -> pd.DataFrame:
    """One row per FEMA region in scope: jurisdictions reporting (of the region's), eligible mentor rows, needs,
    and needs with no eligible mentor anywhere (→ TA)."""
    needs = in_region(_needs(df), region)
    rows = in_region(df, region)
    regions = sorted({jurisdictions.regions()[c] for c in scope_codes(region)})
    members = pd.Series(jurisdictions.regions()).value_counts()
    return pd.DataFrame(
        {
            "Region": [jurisdictions.region_label(r) for r in regions],
            "Reporting": [
                f"{rows.loc[rows['fema_region'] == r, 'state'].nunique()} of {int(members.get(r, 0))}" for r in regions
            ],
            "Mentors": [
                int(rows.loc[rows["fema_region"] == r, "eligible_mentor"].fillna(False).sum()) for r in regions
            ],
            "Needs": [int((needs["fema_region"] == r).sum()) for r in regions],
            "→ TA": [int(((needs["fema_region"] == r) & ~needs["covered"]).sum()) for r in regions],
        }
    )


# --- supply and demand per area -------------------------------------------------------------------------------


def supply_demand(df: pd.DataFrame, region=ALL_REGIONS) -> pd.DataFrame:
    """One row per area (named areas, plus `other` if reported): offers, eligible mentors and states seeking
    guidance in scope; needs covered / not covered (mentors from anywhere); `shortfall` = seekers - eligible."""
    rows = in_region(df, region)
    needs = in_region(_needs(df), region)
    areas = matrix_areas(df)
    per_area = (
        pd.DataFrame(
            {
                "offers": rows["offers_help"].astype(bool).astype(int),
                "eligible": rows["eligible_mentor"].fillna(False).astype(bool).astype(int),
                "seekers": rows["seeks_help"].astype(bool).astype(int),
            }
        )
        .groupby(rows["program_area"].to_numpy())
        .sum()
        .reindex(areas, fill_value=0)
    )
    covered = needs["covered"].astype(bool).to_numpy()
    met = (
        pd.DataFrame({"covered": covered.astype(int), "uncovered": (~covered).astype(int)})
        .groupby(needs["program_area"].to_numpy())
        .sum()
        .reindex(areas, fill_value=0)
    )
    out = pd.DataFrame(
        {
            "program_area": areas,
            "label": [catalog.area_short(a) for a in areas],
            "offers": per_area["offers"].to_numpy(dtype=int),
            "eligible": per_area["eligible"].to_numpy(dtype=int),
            "seekers": per_area["seekers"].to_numpy(dtype=int),
            "covered": met["covered"].to_numpy(dtype=int),
            "uncovered": met["uncovered"].to_numpy(dtype=int),
        }
    )
    out["shortfall"] = out["seekers"] - out["eligible"]
    return out


# --- export ---------------------------------------------------------------------------------------------------

EXPORT_COLUMNS = {
    "state": "state",
    "name": "jurisdiction",
    "region_label": "fema_region",
    "cycle": "cycle",
    "program_area": "program_area",
    "other_area": "other_area",
    "maturity": "maturity",
    "level": "maturity_level",
    "offers_help": "offers_help",
    "eligible_mentor": "eligible_mentor",
    "seeks_help": "seeks_help",
    "mentors_for_need": "eligible_mentors_for_need",
    "notes": "notes",
}


def export_table(df: pd.DataFrame, region=ALL_REGIONS, area=ALL_AREAS) -> pd.DataFrame:
    """What the page shows, as one row per jurisdiction × area: the filtered rows, with how many eligible mentors
    each need has. Notes must already be redacted for the viewer."""
    needs = _needs(df)
    rows = in_area(in_region(df, region), area).copy()
    levels = {m: catalog.level_name(m) for m in range(catalog.MIN_LEVEL, catalog.MAX_LEVEL + 1)}
    rows["level"] = [
        levels[m] if m in levels else (catalog.level_name(int(m)) if pd.notna(m) else "")
        for m in rows["maturity"].tolist()
    ]
    mentors = needs.drop_duplicates(["state", "program_area"]).set_index(["state", "program_area"])["mentors"]
    found = pd.MultiIndex.from_arrays([rows["state"], rows["program_area"]])
    counts = mentors.reindex(found).to_numpy()
    seeks = rows["seeks_help"].astype(bool).to_numpy()
    rows["mentors_for_need"] = pd.array(
        [int(c) if s and c == c else pd.NA for c, s in zip(counts, seeks)], dtype="Int64"
    )
    rows["eligible_mentor"] = rows["eligible_mentor"].fillna(False).astype(bool)
    out = rows[list(EXPORT_COLUMNS)].rename(columns=EXPORT_COLUMNS)
    return out.sort_values(["state", "program_area"]).reset_index(drop=True)


def row_groups(m: pd.DataFrame, sort: str) -> list[str] | None:
    """The FEMA region of each heatmap row when the rows are ordered by region (for separators), else None."""
    if sort != "region":
        return None
    reported = m[[c for c in m.columns if c in MEAN_AREAS]].notna().any(axis=1)
    return [jurisdictions.region_label(jurisdictions.regions()[c]) if reported[c] else "Not reported" for c in m.index]


def scope_label(cycle: int, area=ALL_AREAS, region=ALL_REGIONS) -> str:
    return f"{cycle} · {area_option_label(area)} · {region_option_label(region)}"
