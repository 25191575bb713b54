"""What the Pairings page shows, computed from one national pairing result (pure; no Streamlit).

The plan is always solved for the whole nation (so a mentor's capacity is shared across regions and areas); the
page's area and region choices only decide which of those pairs and referrals are shown.
"""

from __future__ import annotations

import pandas as pd

from shisn.domain import auth, catalog, jurisdictions
from shisn.domain.selection import pair_key

# The Pairings page's views, one tab each; only the open one runs. The label is the value of the URL
# parameter VIEW_KEY (Streamlit binds the tab to the query string verbatim), so renaming one breaks shared links.
VIEW_PAIRS, VIEW_MAP, VIEW_TA = "Suggested pairs", "Map", "Referred to TA"
VIEW_CAPACITY = "Capacity planning"  # leadership only
VIEWS = (VIEW_PAIRS, VIEW_MAP, VIEW_TA, VIEW_CAPACITY)
VIEW_KEY = "pairings_view"  # widget key and URL parameter; unique across pages (widget state is per session)

MY_STATES = "mine"
ALL_REGIONS = "all"

# Okabe-Ito (colour-blind-safe) colours per program area, for arcs and legends.
AREA_COLOURS = {
    "regional_planning": "#0072B2",
    "training": "#E69F00",
    "exercises": "#009E73",
    "interoperability": "#CC79A7",
    "assessment_validation": "#56B4E9",
    "strategy": "#D55E00",
    "prevention": "#000000",
    "recovery": "#F0E442",
    "other": "#999999",
}


def views(viewer: auth.Viewer) -> tuple[str, ...]:
    """The views this viewer gets: capacity planning is for leadership."""
    return VIEWS if viewer.role == auth.LEADERSHIP else tuple(v for v in VIEWS if v != VIEW_CAPACITY)


def region_options(viewer: auth.Viewer) -> list:
    opts = [MY_STATES] if viewer.role == auth.PROGRAM_MANAGER and viewer.states else []
    return opts + [ALL_REGIONS] + list(range(1, 11))


def region_label(option) -> str:
    if option == MY_STATES:
        return "My states"
    if option == ALL_REGIONS:
        return "All regions"
    return jurisdictions.region_label(int(option))


def scope_states(viewer: auth.Viewer, region) -> set[str] | None:
    """The jurisdictions a region choice covers (None = all)."""
    if region == MY_STATES:
        return set(viewer.states)
    if region == ALL_REGIONS or region is None:
        return None
    return {c for c, r in jurisdictions.regions().items() if r == int(region)}


def filter_pairs(pairs: pd.DataFrame, areas: list[str] | None, states: set[str] | None) -> pd.DataFrame:
    """Pairs in the chosen areas where the mentor or the mentee is in scope."""
    out = pairs
    if areas:
        out = out[out["program_area"].isin(areas)]
    if states is not None:
        out = out[out["mentor"].isin(states) | out["mentee"].isin(states)]
    return out.reset_index(drop=True)


def filter_referrals(referrals: pd.DataFrame, areas: list[str] | None, states: set[str] | None) -> pd.DataFrame:
    out = referrals
    if areas:
        out = out[out["program_area"].isin(areas)]
    if states is not None:
        out = out[out["mentee"].isin(states)]
    return out.reset_index(drop=True)


def summary(pairs: pd.DataFrame, referrals: pd.DataFrame) -> dict:
    needs = len(pairs) + len(referrals)
    return {
        "pairs": len(pairs),
        "needs": needs,
        "referrals": len(referrals),
        "served_share": (len(pairs) / needs) if needs else None,
        "mentors": pairs["mentor"].nunique(),
        "mentees": pairs["mentee"].nunique(),
        "total_score": float(pairs["score"].sum()) if len(pairs) else 0.0,
    }


def _area_names(df: pd.DataFrame) -> pd.Series:
    """Short area names; an "other" area by the name the states gave it ("Other: Cybersecurity")."""
    short = df["program_area"].map(catalog.area_short)
    if "area_label" in df.columns:
        short = short.where(df["program_area"] != catalog.OTHER, df["area_label"])
    return short


def pairs_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs as people read them (names, area labels, maturities, score, reasons)."""
    return pd.DataFrame(
        {
            "Mentor": pairs["mentor"] + " · " + pairs["mentor"].map(jurisdictions.names()),
            "Mentee": pairs["mentee"] + " · " + pairs["mentee"].map(jurisdictions.names()),
            "Program area": _area_names(pairs),
            "Mentor maturity": pairs["mentor_maturity"].astype(int),
            "Mentee maturity": pairs["mentee_maturity"].astype(int),
            "Score": pairs["score"].astype(float).round(2),
            "Why": pairs["reasons"],
        }
    )


def referrals_table(referrals: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "State": referrals["mentee"] + " · " + referrals["mentee"].map(jurisdictions.names()),
            "Program area": _area_names(referrals),
            "Maturity": referrals["mentee_maturity"].astype(int),
            "Why no mentor": referrals["reason"],
        }
    )


def export_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """The CLI's columns: mentor, mentee, program_area, score, reasons (USPS codes and slugs)."""
    return pairs[["mentor", "mentee", "program_area", "score", "reasons"]]


def export_referrals(referrals: pd.DataFrame) -> pd.DataFrame:
    return referrals[["mentee", "program_area", "reason"]].rename(columns={"mentee": "state"})


def filter_capacity_slots(slots: pd.DataFrame, areas: list[str] | None, states: set[str] | None) -> pd.DataFrame:
    """Rows of mentor states in scope; with areas chosen, those whose one more slot serves a need in one of them."""
    out = slots
    if states is not None:
        out = out[out["mentor"].isin(states)]
    if areas:
        out = out[out["areas"].map(lambda v: bool(set(v.split(";")) & set(areas)) if v else False)]
    return out.reset_index(drop=True)


def capacity_scope_note(areas: list[str] | None, states: set[str] | None) -> str:
    """What the filters keep of the capacity tables (empty when nothing is filtered)."""
    parts = []
    if states is not None:
        parts.append("mentor states in the chosen region or states")
    if areas:
        parts.append("slots that would serve a need in the chosen areas, and those areas")
    return f" Shown: {' and '.join(parts)}." if parts else ""


def filter_capacity_areas(table: pd.DataFrame, areas: list[str] | None) -> pd.DataFrame:
    return (table[table["program_area"].isin(areas)] if areas else table).reset_index(drop=True)


def capacity_slots_table(slots: pd.DataFrame) -> pd.DataFrame:
    """Per mentor state at capacity, what one more slot would do, as people read it."""
    return pd.DataFrame(
        {
            "Mentor state": slots["mentor"] + " · " + slots["mentor_name"],
            "Capacity": slots["capacity"].astype(int),
            "More needs served": slots["extra_needs_served"].astype(int),
            "Score gain": slots["extra_score"].astype(float).round(3),
            "Pairs changed": slots["changed_pairs"].astype(int),
            "What one more slot does": slots["explanation"],
        }
    )


def capacity_areas_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per program area: needs, served, unmet for lack of capacity, unmet with no possible mentor."""

    def names(col):
        return table[col].map(lambda v: ", ".join(v.split(";")) if v else "")

    return pd.DataFrame(
        {
            "Program area": _area_names(table),
            "Needs": table["needs"].astype(int),
            "Served": table["served"].astype(int),
            "Unmet for lack of capacity": table["at_capacity"].astype(int),
            "No possible mentor (TA)": table["no_mentor"].astype(int),
            "One more slot at": names("slot_states"),
            "No possible mentor for": names("no_mentor_states"),
        }
    )


def arcs(pairs: pd.DataFrame) -> pd.DataFrame:
    """One arc per pair, mentor → mentee, coloured by program area: rows for `maps.arc_deck`."""
    pts = {
        f["properties"]["code"]: (float(f["properties"]["label_lon"]), float(f["properties"]["label_lat"]))
        for f in jurisdictions.geojson()["features"]
    }
    rows = []
    for r in pairs.itertuples(index=False):
        (flon, flat), (tlon, tlat) = pts[r.mentor], pts[r.mentee]
        rows.append(
            {
                "from_code": r.mentor,
                "to_code": r.mentee,
                "from_lon": flon,
                "from_lat": flat,
                "to_lon": tlon,
                "to_lat": tlat,
                "colour": AREA_COLOURS[r.program_area],
                "tip": f"{jurisdictions.names()[r.mentor]} ({int(r.mentor_maturity)}) → {jurisdictions.names()[r.mentee]} "
                f"({int(r.mentee_maturity)})\n{catalog.area_short(r.program_area)} · score "
                f"{float(r.score):.2f}",
                "pair": pair_key(r.mentor, r.mentee, r.program_area),
            }
        )
    return pd.DataFrame(
        rows, columns=["from_code", "to_code", "from_lon", "from_lat", "to_lon", "to_lat", "colour", "tip", "pair"]
    )


def side_by_side(assessments: pd.DataFrame, mentor: str, mentee: str, viewer: auth.Viewer) -> pd.DataFrame:
    """Both states' profiles in one table: maturity and offer/seek flags per area (notes only where the viewer
    may see that state's detail)."""
    both = assessments[assessments["state"].isin([mentor, mentee])]
    by_key = {}  # one pass over the two states' rows, not a mask over every row per cell
    for r in both.itertuples(index=False):
        by_key.setdefault((r.state, r.program_area), r)
    rows = []
    for slug in catalog.AREA_SLUGS:
        row = {"Program area": catalog.area_short(slug)}
        present = False
        for code in (mentor, mentee):
            h = by_key.get((code, slug))
            if h is not None:
                present = True
                flags = " · ".join(x for x, on in (("offers", h.offers_help), ("seeks", h.seeks_help)) if on)
                row[f"{code} maturity"] = int(h.maturity)
                row[f"{code} offers/seeks"] = flags
                if viewer.sees_detail_of(code):
                    row[f"{code} notes"] = "" if pd.isna(h.notes) else str(h.notes)
            else:
                row[f"{code} maturity"] = None
                row[f"{code} offers/seeks"] = ""
        if present:
            rows.append(row)
    return pd.DataFrame(rows)
