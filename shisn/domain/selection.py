"""What a click on a map or chart selects, and what the panel beside it then shows (pure; no Streamlit).

One selection per page lives in the URL query string, so a click, a shared link and the keyboard (a select box)
all lead to the same state:

- National coverage: `selected_state` (a jurisdiction: USPS code, or a name in any case) and `selected_area` (a
  program area slug or label). A map click sets the state; a heatmap cell sets both; a Supply and demand bar sets
  the area. The panels: `state_panel` (map), `cell_panel` (heatmap), `area_panel` (bars).
- Pairings: `pair` = `MENTOR-MENTEE-area` (e.g. `VA-MD-exercises`). A click on an arc of the Pairings map, a row of
  the pairs table, or the "Pair" select box set it.

`parse_*` turn URL values into canonical ones (None when they name nothing known); `from_*_event` read Streamlit's
selection events (`st.pydeck_chart` / `st.plotly_chart` with `on_select`): `{"selection": {"indices": {layer: [i]},
"objects": {layer: [obj]}}}` for deck.gl, `{"selection": {"points": [{"customdata": ..., "y": ...}]}}` for
plotly. An event that selects nothing returns None (the caller keeps the current selection).

The panels' mentors come from `profile.partners` (the pairing's own candidates, scores and reasons); what a viewer
may not see (other states' notes) must already be blank in the rows passed in (`shisn.web.loaders.assessments` does it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shisn.domain import (
    auth,
    basics,
    catalog,
    coverage,
    exchange_rules,
    jurisdictions,
    profile,
    quality,
)

STATE_PARAM = "selected_state"  # national page: the selected jurisdiction
AREA_PARAM = "selected_area"  # national page: the selected program area (heatmap column, supply bar)
PAIR_PARAM = "pair"  # pairings page: MENTOR-MENTEE-area
PARAMS = (STATE_PARAM, AREA_PARAM, PAIR_PARAM)

MAP_LAYER = "targets"  # the pickable layer of maps.coverage_deck (maps.TARGET_LAYER)
ARC_LAYER = "arcs"  # the pickable layer of maps.arc_deck
ALL = 10**6  # "every eligible mentor" for profile.partners' `top`


# --- URL values ---------------------------------------------------------------------------------------------------


def parse_state(value: Any) -> str | None:
    """A jurisdiction's USPS code from a URL value (code or name, any case), or None."""
    if value is None or not str(value).strip():
        return None
    return jurisdictions.state_code(str(value))


def parse_area(value: Any) -> str | None:
    """A program-area slug from a URL value (slug or label, any case), or None."""
    if value is None or not str(value).strip():
        return None
    return catalog.area_slug(str(value))


def pair_key(mentor: str, mentee: str, area: str) -> str:
    return f"{mentor}-{mentee}-{area}"


def parse_pair(value: Any) -> tuple[str, str, str] | None:
    """(mentor, mentee, area) from `MENTOR-MENTEE-area`, or None when malformed or naming nothing known."""
    if value is None:
        return None
    parts = str(value).strip().split("-", 2)
    if len(parts) != 3:
        return None
    mentor, mentee, area = parse_state(parts[0]), parse_state(parts[1]), parse_area(parts[2])
    if not (mentor and mentee and area) or mentor == mentee:
        return None
    return mentor, mentee, area


@dataclass(frozen=True)
class Selection:
    """The national page's selection: a jurisdiction and/or a program area (either may be None)."""

    state: str | None = None
    area: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Selection:
        return cls(parse_state(params.get(STATE_PARAM)), parse_area(params.get(AREA_PARAM)))

    def params(self) -> dict[str, str | None]:
        """The URL parameters (None = remove the parameter)."""
        return {STATE_PARAM: self.state, AREA_PARAM: self.area}


# --- chart events -------------------------------------------------------------------------------------------------


def _selection(event) -> Mapping:
    if event is None:
        return {}
    sel = event.get("selection") if isinstance(event, Mapping) else getattr(event, "selection", None)
    return sel or {}


def from_map_event(event, layer: str = MAP_LAYER, codes: list[str] | None = None) -> str | None:
    """The jurisdiction a deck.gl click picked on `layer` (its feature's `properties.code`, or its index into
    `codes`), or None when nothing was picked."""
    sel = _selection(event)
    for obj in (sel.get("objects") or {}).get(layer) or []:
        if isinstance(obj, Mapping):
            props = obj.get("properties") or {}
            code = parse_state(props.get("code") or obj.get("id") or obj.get("code"))
            if code:
                return code
    if codes:
        for i in (sel.get("indices") or {}).get(layer) or []:
            if isinstance(i, int) and 0 <= i < len(codes):
                return codes[i]
    return None


def from_heatmap_event(event) -> tuple[str, str] | None:
    """(state, area) of the heatmap cell clicked: each cell's point carries `customdata` = [code, area slug]
    (charts.jurisdiction_heatmap), or None."""
    for p in _selection(event).get("points") or []:
        cd = p.get("customdata") if isinstance(p, Mapping) else None
        if isinstance(cd, (list, tuple)) and len(cd) >= 2:
            state, area = parse_state(cd[0]), parse_area(cd[1])
            if state and area:
                return state, area
    return None


def from_bars_event(event, labels: Mapping[str, str] | None = None) -> str | None:
    """The program area of the Supply and demand bar clicked (`customdata` = slug; else its y label looked up in
    `labels`: label → slug), or None."""
    for p in _selection(event).get("points") or []:
        if not isinstance(p, Mapping):
            continue
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        area = parse_area(cd) if cd is not None else None
        if area is None and labels is not None:
            area = labels.get(p.get("y"))
        if area:
            return area
    return None


def from_arc_event(event, keys: list[str] | None = None, layer: str = ARC_LAYER) -> str | None:
    """The pair key (`MENTOR-MENTEE-area`) of the arc clicked (the arc's own `pair` field, or its index into
    `keys`), or None."""
    sel = _selection(event)
    for obj in (sel.get("objects") or {}).get(layer) or []:
        if isinstance(obj, Mapping) and parse_pair(obj.get("pair")):
            return pair_key(*parse_pair(obj.get("pair")))
    if keys:
        for i in (sel.get("indices") or {}).get(layer) or []:
            if isinstance(i, int) and 0 <= i < len(keys):
                return keys[i]
    return None


# --- pairs (Pairings page) ----------------------------------------------------------------------------------------


def pair_keys(pairs: pd.DataFrame) -> list[str]:
    """The key of every pair, in the frame's order."""
    return [pair_key(m, e, a) for m, e, a in zip(pairs["mentor"], pairs["mentee"], pairs["program_area"])]


def pair_row(pairs: pd.DataFrame, key: str | None) -> int | None:
    """The row position of the pair `key` in `pairs`, or None when it is not among them (another filter)."""
    got = parse_pair(key)
    if got is None:
        return None
    want = pair_key(*got)
    keys = pair_keys(pairs)
    return keys.index(want) if want in keys else None


def pair_label(pairs: pd.DataFrame, key: str) -> str:
    """'VA → MD · Exercises' for the select box."""
    mentor, mentee, area = parse_pair(key)
    row = pair_row(pairs, key)
    name = pairs["area_label"].iloc[row] if row is not None and "area_label" in pairs.columns else None
    short = catalog.area_short(area) if area != catalog.OTHER or not name else name
    return f"{mentor} → {mentee} · {short}"


# --- panels (National coverage) -----------------------------------------------------------------------------------


def _flags(offers, eligible, seeks) -> str:
    if eligible:
        out = ["offers help (can mentor)"]
    elif offers:
        out = [f"offers help (below {catalog.MENTOR_MIN}: cannot mentor)"]
    else:
        out = []
    if seeks:
        out.append("seeks guidance")
    return " · ".join(out)


def _area_name(area: str, other) -> str:
    return profile.area_short_name(area, other if isinstance(other, str) else None)


@dataclass
class StatePanel:
    state: str
    name: str
    region_label: str
    reported: bool
    ratings: pd.DataFrame  # Program area, Maturity, Level, Offers / seeks, [Notes]
    can_mentor: list[str]  # areas it can mentor in (eligible)
    offers_unusable: list[str]  # offers below 4
    needs: pd.DataFrame  # Program area, Maturity, Eligible mentors (count)
    notes_shown: bool = False


def state_panel(
    rows: pd.DataFrame, state: str, area: str | None = None, can_see: Callable[[str], bool] = lambda s: False
) -> StatePanel:
    """The map's panel for `state`: its ratings in `area` (a slug, or None for every area), what it can mentor in,
    its offers that cannot be used, and its needs with how many eligible mentors each has. `rows`: the cycle's
    rows of every state (mentor counts need them), notes already redacted for the viewer."""
    jur = jurisdictions.jurisdictions().set_index("code").loc[state]
    own = rows[rows["state"] == state]
    if area is not None:
        own = own[own["program_area"] == area]
    own = own.assign(_o=own["program_area"].map(profile._area_order)).sort_values("_o")
    notes_shown = bool(can_see(state))
    ratings = pd.DataFrame(
        {
            "Program area": [_area_name(a, o) for a, o in zip(own["program_area"], own["other_area"])],
            "Maturity": own["maturity"].astype(int).to_numpy(),
            "Level": [catalog.level_name(int(m)) for m in own["maturity"]],
            "Offers / seeks": [
                _flags(o, bool(e) if e is not pd.NA else False, s)
                for o, e, s in zip(own["offers_help"], own["eligible_mentor"].fillna(False), own["seeks_help"])
            ],
        }
    )
    if notes_shown:
        ratings["Notes"] = [basics.cell_text(n, strip=False) for n in own["notes"]]
    eligible = own["eligible_mentor"].fillna(False).astype(bool)
    offers = own["offers_help"].astype(bool)
    can_mentor = [_area_name(a, o) for a, o in zip(own.loc[eligible, "program_area"], own.loc[eligible, "other_area"])]
    unusable = [
        _area_name(a, o)
        for a, o in zip(own.loc[offers & ~eligible, "program_area"], own.loc[offers & ~eligible, "other_area"])
    ]
    needs = coverage.need_coverage(rows)
    needs = needs[needs["state"] == state]
    if area is not None:
        needs = needs[needs["program_area"] == area]
    needs = needs.assign(_o=needs["program_area"].map(profile._area_order)).sort_values("_o")
    need_table = pd.DataFrame(
        {
            "Program area": [_area_name(a, o) for a, o in zip(needs["program_area"], needs["other_area"])],
            "Maturity": needs["maturity"].astype(int).to_numpy(),
            "Eligible mentors": needs["mentors"].astype(int).to_numpy(),
        }
    )
    return StatePanel(
        state=state,
        name=str(jur["name"]),
        region_label=str(jur["region_label"]),
        reported=bool(len(rows[rows["state"] == state])),
        ratings=ratings.reset_index(drop=True),
        can_mentor=can_mentor,
        offers_unusable=unusable,
        needs=need_table.reset_index(drop=True),
        notes_shown=notes_shown,
    )


PARTNER_TABLE = {
    "partner": "State",
    "partner_name": "Jurisdiction",
    "partner_maturity": "Maturity",
    "score": "Score",
    "why": "Why",
}


@dataclass
class CellPanel:
    state: str
    name: str
    area: str
    area_name: str
    reported: bool
    maturity: int | None = None
    offers: bool = False
    eligible: bool = False
    seeks: bool = False
    gap: bool = False  # rated 1-2
    note: str | None = None  # None: the viewer may not see it
    mentors: pd.DataFrame = field(default_factory=pd.DataFrame)  # eligible mentors, best score first
    mentees: pd.DataFrame = field(default_factory=pd.DataFrame)  # states it could mentor here, best first
    flags: pd.DataFrame | None = None  # data-quality flags of this state × area (None: no quality module)

    @property
    def role(self) -> str:
        """'seeks', 'offers' (an eligible mentor), 'both' or 'neither'."""
        if self.seeks and self.eligible:
            return "both"
        return "seeks" if self.seeks else ("offers" if self.eligible else "neither")

    @property
    def wants_mentor(self) -> bool:
        """Mentors are listed for a need: it seeks guidance here, or rates it a gap (1-2), as the profile does."""
        return self.seeks or self.gap


def cell_panel(
    rows: pd.DataFrame,
    state: str,
    area: str,
    cycle: int,
    can_see: Callable[[str], bool] = lambda s: False,
    history: pd.DataFrame | None = None,
) -> CellPanel:
    """The heatmap's panel for (`state`, `area`) in `cycle`: its rating and flags, and the eligible mentors for
    that need ranked by the pairing score with the reasons (`profile.partners`, i.e. `pairing.candidates`), or the
    states seeking guidance there it could mentor. `rows`: the cycle's rows of every state, notes redacted;
    `history`: the state's rows of every cycle, for the data-quality flags (`quality_flags`)."""
    jur = jurisdictions.jurisdictions().set_index("code").loc[state]
    hit = rows[(rows["state"] == state) & (rows["program_area"] == area)]
    other = hit["other_area"].iloc[0] if len(hit) else None
    p = CellPanel(
        state=state, name=str(jur["name"]), area=area, area_name=_area_name(area, other), reported=bool(len(hit))
    )
    p.flags = quality_flags(history if history is not None else rows, state, area, cycle)
    if not len(hit):
        return p
    h = hit.iloc[0]
    p.maturity = int(h["maturity"])
    p.offers, p.seeks = bool(h["offers_help"]), bool(h["seeks_help"])
    p.eligible = bool(h["eligible_mentor"]) if h["eligible_mentor"] is not pd.NA else False
    p.gap = catalog.band(p.maturity) == "gap"
    p.note = basics.cell_text(h["notes"], strip=False) if can_see(state) else None
    mentors, mentees = profile.partners(rows, state, cycle, top=ALL, can_see=can_see)
    p.mentors = mentors[mentors["program_area"] == area].reset_index(drop=True)
    p.mentees = mentees[mentees["program_area"] == area].reset_index(drop=True)
    return p


def partner_table(partners: pd.DataFrame) -> pd.DataFrame:
    """Mentors or mentees as the panel lists them: code, name, maturity, score, why (plus notes when shown)."""
    cols = dict(PARTNER_TABLE)
    out = partners[list(cols)].rename(columns=cols)
    if "partner_notes" in partners.columns and partners["partner_notes"].astype(str).str.len().gt(0).any():
        out["Notes"] = partners["partner_notes"].to_numpy()
    return out.reset_index(drop=True)


def quality_flags(history: pd.DataFrame, state: str, area: str, cycle: int) -> pd.DataFrame:
    """The data-quality flags (shisn.domain.quality) of `state` in `cycle` about `area` or the whole assessment, as
    (Flag, Explanation) rows. `history` must hold the state's earlier cycles too (a 'moved 2 levels' flag compares
    cycles)."""
    rows = history[history["state"] == state]
    f = quality.flags(rows, cycle=cycle, states=[state], with_stale=False)
    f = f[f["program_area"].isin([area, quality.WHOLE])]
    return pd.DataFrame({"Flag": f["title"].to_numpy(), "Explanation": f["explanation"].to_numpy()})


@dataclass
class AreaPanel:
    area: str
    area_name: str
    mentors: pd.DataFrame  # State, Jurisdiction, FEMA region, Maturity
    seekers: pd.DataFrame  # State, Jurisdiction, FEMA region, Maturity, Eligible mentors


def area_panel(rows: pd.DataFrame, area: str, region=None) -> AreaPanel:
    """The Supply and demand bar's panel: the eligible mentors and the states seeking guidance in `area` (within
    the FEMA `region`, or all when None / 'all'), strongest mentors and neediest seekers first; each seeker with
    its number of eligible mentors (from anywhere). `rows`: the cycle's rows of every state."""
    reg = coverage.ALL_REGIONS if region is None else region
    scoped = coverage.in_area(coverage.in_region(rows, reg), area)
    elig = scoped[scoped["eligible_mentor"].fillna(False).astype(bool)].sort_values(
        ["maturity", "state"], ascending=[False, True]
    )
    mentors = pd.DataFrame(
        {
            "State": elig["state"].to_numpy(),
            "Jurisdiction": elig["name"].to_numpy(),
            "FEMA region": elig["region_label"].to_numpy(),
            "Maturity": elig["maturity"].astype(int).to_numpy(),
            "Area": [_area_name(a, o) for a, o in zip(elig["program_area"], elig["other_area"])],
        }
    )
    needs = coverage.in_area(coverage.in_region(coverage.need_coverage(rows), reg), area)
    needs = needs.sort_values(["maturity", "state"])
    seekers = pd.DataFrame(
        {
            "State": needs["state"].to_numpy(),
            "Jurisdiction": needs["name"].to_numpy(),
            "FEMA region": needs["region_label"].to_numpy(),
            "Maturity": needs["maturity"].astype(int).to_numpy(),
            "Area": [_area_name(a, o) for a, o in zip(needs["program_area"], needs["other_area"])],
            "Eligible mentors": needs["mentors"].astype(int).to_numpy(),
        }
    )
    if area != catalog.OTHER:
        mentors, seekers = mentors.drop(columns="Area"), seekers.drop(columns="Area")
    return AreaPanel(
        area=area,
        area_name=catalog.area_short(area),
        mentors=mentors.reset_index(drop=True),
        seekers=seekers.reset_index(drop=True),
    )


# --- who may act --------------------------------------------------------------------------------------------------


def may_open_exchange(viewer: auth.Viewer, mentor: str, mentee: str) -> bool:
    """PMs (for a pair with one of their states) and leadership may open an exchange from a panel."""
    return exchange_rules.can_open(viewer) and exchange_rules.can_edit(viewer, mentor, mentee)
