"""A state's profile for one assessment cycle: maturity against the national and FEMA-region medians, strengths and
gaps, POETE sub-ratings, the trend across cycles, what it offers and seeks, and recommended partners.

Pure: DataFrames in (the rows of `queries.assessments`, all cycles), plain values and DataFrames out; no Streamlit,
no database. The page, the printable report and the tests all read the same `StateProfile`, so they cannot
disagree. What a viewer may not see is never put into the profile (`detail=False` leaves notes, sub-ratings,
trend, contact and partners out), so no view can leak it by mistake.

Conventions:
- Medians are over the jurisdictions that reported the area in the cycle; the region median includes the state
  itself. "Other" areas are each state's own (Cybersecurity, Port security, ...), so they get no median.
- A *need* is an area the state seeks help in or rates 1-2 (a gap); a state may *help* where it offers help and is
  an eligible mentor (offers_help and maturity >= 4).
- The trend compares the chosen cycle with the state's previous reported cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from shisn.domain import auth, basics, catalog, jurisdictions, pairing

STANDARD_AREAS: tuple[str, ...] = tuple(a for a in catalog.AREA_SLUGS if a != catalog.OTHER)
PAIRING_INPUT = ["state", "program_area", "maturity", "offers_help", "seeks_help", "other_area"]
TOP_MENTORS = 3
DETAIL_HIDDEN = (
    "Detail (notes, POETE sub-ratings, trend, program manager contact, recommended partners and the "
    "printable report) is shown only to ODP leadership, the state's assigned program manager and the "
    "state itself."
)

# Colours shared by the page's plotly figures and the report's SVG so both read the same way.
COLOURS = {"state": "#1d4e89", "region": "#7fa7d0", "national": "#b9bec6"}
LEVEL_COLOURS = {1: "#d7642c", 2: "#f2b36f", 3: "#eceff3", 4: "#8fb6dc", 5: "#2f6aa8"}
LEVEL_TEXT = {1: "#ffffff", 2: "#1f2328", 3: "#1f2328", 4: "#1f2328", 5: "#ffffff"}


# ---------------------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------------------


def fmt(value) -> str:
    """A maturity or median as people read it: '4', '3.5', or '—' when there is none."""
    if value is None or pd.isna(value):
        return "—"
    v = float(value)
    return str(int(v)) if v.is_integer() else f"{v:.1f}"


def area_name(slug: str, other_area: str | None = None) -> str:
    """The bulletin label; the 'other' area is named by the state ('Other: Cybersecurity')."""
    if slug == catalog.OTHER:
        return f"Other: {other_area}" if other_area and not pd.isna(other_area) else "Other"
    return catalog.area_label(slug)


def area_short_name(slug: str, other_area: str | None = None) -> str:
    if slug == catalog.OTHER:
        return f"Other: {other_area}" if other_area and not pd.isna(other_area) else "Other"
    return catalog.area_short(slug)


def _area_order(slug: str) -> int:
    return catalog.AREA_SLUGS.index(slug)


# The State profile page's views (for viewers who see the state in detail), one tab each; only the open one runs.
# The label is the value of the URL parameter VIEW_KEY, so renaming one breaks shared links.
VIEW_OVERVIEW, VIEW_TREND, VIEW_PARTNERS = "Overview", "POETE and trend", "Partners and exchanges"
VIEWS = (VIEW_OVERVIEW, VIEW_TREND, VIEW_PARTNERS)
VIEW_KEY = "profile_view"  # widget key and URL parameter; unique across pages (widget state is per session)


def state_options() -> list[str]:
    """Every jurisdiction's code, ordered by name (the picker's order)."""
    names = jurisdictions.names()
    return sorted(names, key=lambda c: names[c])


def state_label(code: str) -> str:
    return f"{jurisdictions.names()[code]} ({code})"


def default_state(viewer: auth.Viewer | None, requested: str | None = None) -> str:
    """The state to open: a valid request (code or name), else the viewer's own or first assigned state, else the
    first jurisdiction by name."""
    code = jurisdictions.state_code(requested) if requested else None
    if code:
        return code
    if viewer is not None and viewer.states:
        return viewer.states[0]
    return state_options()[0]


def of_cycle(assessments: pd.DataFrame, cycle: int) -> pd.DataFrame:
    return assessments[assessments["cycle"] == int(cycle)]


# ---------------------------------------------------------------------------------------------------------------
# Maturity against the medians; strengths and gaps
# ---------------------------------------------------------------------------------------------------------------


def _medians(df: pd.DataFrame) -> pd.DataFrame:
    df = df[df["program_area"] != catalog.OTHER]
    g = df.groupby("program_area")["maturity"]
    return pd.DataFrame({"median": g.median().astype(float), "n": g.count()})


def national_medians(assessments: pd.DataFrame, cycle: int) -> pd.DataFrame:
    """Per standard area: the median maturity over every jurisdiction reporting it in `cycle`, and how many did.
    Index program_area; columns median, n. ('Other' areas are each state's own: no median.)"""
    return _medians(of_cycle(assessments, cycle))


def region_medians(assessments: pd.DataFrame, cycle: int, region: int) -> pd.DataFrame:
    """Like `national_medians`, over the jurisdictions of one FEMA region."""
    df = of_cycle(assessments, cycle)
    return _medians(df[df["fema_region"] == int(region)])


def maturity_table(assessments: pd.DataFrame, state: str, cycle: int) -> pd.DataFrame:
    """One row per program area (the eight standard ones always; 'other' when the state reported it): the state's
    maturity against the region and national medians, its band, its offer/seek flags and notes."""
    return _maturity_table(of_cycle(assessments, cycle), state)


def _maturity_table(cycle_df: pd.DataFrame, state: str) -> pd.DataFrame:
    nat = _medians(cycle_df)
    reg = _medians(cycle_df[cycle_df["fema_region"] == jurisdictions.regions()[state]])
    mine = {r["program_area"]: r for r in cycle_df[cycle_df["state"] == state].to_dict("records")}
    slugs = list(STANDARD_AREAS) + ([catalog.OTHER] if catalog.OTHER in mine else [])
    nat_med, nat_n, reg_med, reg_n = (
        nat["median"].to_dict(),
        nat["n"].to_dict(),
        reg["median"].to_dict(),
        reg["n"].to_dict(),
    )
    rows = []
    for slug in slugs:
        r = mine.get(slug)
        reported = r is not None
        other = basics.cell_text(r["other_area"], strip=False) if reported else ""
        maturity = int(r["maturity"]) if reported else None
        rows.append(
            {
                "program_area": slug,
                "area": area_name(slug, other),
                "short": area_short_name(slug, other),
                "other_area": other,
                "reported": reported,
                "maturity": maturity,
                "region_median": reg_med.get(slug, float("nan")),
                "national_median": nat_med.get(slug, float("nan")),
                "n_region": int(reg_n.get(slug, 0)),
                "n_national": int(nat_n.get(slug, 0)),
                "band": catalog.band(maturity),
                "offers_help": bool(r["offers_help"]) if reported else False,
                "seeks_help": bool(r["seeks_help"]) if reported else False,
                "eligible_mentor": bool(r["eligible_mentor"]) if reported else False,
                "offer_note": basics.cell_text(r["offer_note"], strip=False) if reported else "",
                "notes": basics.cell_text(r["notes"], strip=False) if reported else "",
            }
        )
    out = pd.DataFrame(rows)
    out["maturity"] = out["maturity"].astype("Int64")
    return out


def strengths(table: pd.DataFrame) -> list[tuple[str, int]]:
    """(area, maturity) of the areas rated 4-5, highest first (then in bulletin order)."""
    t = table[table["band"] == "strength"].sort_values("maturity", ascending=False, kind="stable")
    return [(a, int(m)) for a, m in zip(t["area"], t["maturity"])]


def gaps(table: pd.DataFrame) -> list[tuple[str, int]]:
    """(area, maturity) of the areas rated 1-2, lowest first (then in bulletin order)."""
    t = table[table["band"] == "gap"].sort_values("maturity", ascending=True, kind="stable")
    return [(a, int(m)) for a, m in zip(t["area"], t["maturity"])]


def _listing(items: list[tuple[str, int]]) -> str:
    return "; ".join(f"{a} ({m})" for a, m in items)


def strengths_gaps_text(table: pd.DataFrame) -> str:
    """'Strengths: Exercise programs (5); ... Gaps: Recovery operations (2); ...' in plain words."""
    if not table["reported"].any():
        return "No self-assessment for this cycle, so no strengths or gaps to report."
    s, g = strengths(table), gaps(table)
    parts = [
        f"Strengths: {_listing(s)}." if s else "Strengths: none rated 4 or 5.",
        f"Gaps: {_listing(g)}." if g else "Gaps: none rated 1 or 2.",
    ]
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# POETE sub-ratings
# ---------------------------------------------------------------------------------------------------------------


def poete(assessments: pd.DataFrame, state: str, cycle: int) -> pd.DataFrame:
    """Rows: the areas the state reported (bulletin order, named); columns: Planning ... Exercises (Int64, NA where
    not given)."""
    df = of_cycle(assessments, cycle)
    df = df[df["state"] == state].copy()
    df["_order"] = df["program_area"].map(_area_order)
    df = df.sort_values("_order")
    out = pd.DataFrame(
        {catalog.POETE_LABELS[p]: df[p].astype("Int64").to_numpy() for p in catalog.POETE},
        index=[area_short_name(s, o) for s, o in zip(df["program_area"], df["other_area"])],
    )
    out.index.name = "Program area"
    return out


# ---------------------------------------------------------------------------------------------------------------
# Trend across cycles
# ---------------------------------------------------------------------------------------------------------------


def trend(assessments: pd.DataFrame, state: str, upto: int | None = None) -> pd.DataFrame:
    """The state's maturity by area (rows, bulletin order, short names) × cycle (columns, oldest first), up to and
    including `upto`. Int64, NA where the area was not reported."""
    df = assessments[assessments["state"] == state]
    if upto is not None:
        df = df[df["cycle"] <= int(upto)]
    if df.empty:
        return pd.DataFrame(dtype="Int64")
    latest_other = df[df["program_area"] == catalog.OTHER].sort_values("cycle")["other_area"]
    other_name = basics.cell_text(latest_other.iloc[-1], strip=False) if len(latest_other) else ""
    wide = df.pivot(index="program_area", columns="cycle", values="maturity")
    wide = wide.reindex(sorted(wide.index, key=_area_order))
    wide.index = [area_short_name(s, other_name) for s in wide.index]
    wide.index.name = "Program area"
    wide.columns = [int(c) for c in wide.columns]
    return wide.astype("Int64")


def previous_cycle(assessments: pd.DataFrame, state: str, cycle: int) -> int | None:
    """The state's latest reported cycle before `cycle`, or None."""
    earlier = assessments.loc[(assessments["state"] == state) & (assessments["cycle"] < int(cycle)), "cycle"]
    return int(earlier.max()) if len(earlier) else None


def changes(assessments: pd.DataFrame, state: str, cycle: int, since: int | None = None) -> pd.DataFrame:
    """Per area reported in `cycle`: maturity in `since` (default: the previous reported cycle) and now, and
    whether it improved, slipped, stayed unchanged, or is new. 'Other' compares only when it names the same area."""
    since = previous_cycle(assessments, state, cycle) if since is None else since
    cols = ["program_area", "area", "short", "before", "after", "change"]
    now = of_cycle(assessments, cycle)
    now = now[now["state"] == state]
    if since is None or now.empty:
        return pd.DataFrame(columns=cols)
    then = of_cycle(assessments, since)
    then = then[then["state"] == state].set_index("program_area")
    rows = []
    for _, r in now.sort_values("program_area", key=lambda s: s.map(_area_order)).iterrows():
        slug, after = r["program_area"], int(r["maturity"])
        before = None
        if slug in then.index:
            b = then.loc[slug]
            same = (
                slug != catalog.OTHER
                or basics.cell_text(b["other_area"], strip=False).casefold()
                == basics.cell_text(r["other_area"], strip=False).casefold()
            )
            before = int(b["maturity"]) if same else None
        if before is None:
            change = "new"
        else:
            change = "improved" if after > before else "slipped" if after < before else "unchanged"
        rows.append(
            {
                "program_area": slug,
                "area": area_name(slug, basics.cell_text(r["other_area"], strip=False)),
                "short": area_short_name(slug, basics.cell_text(r["other_area"], strip=False)),
                "before": before,
                "after": after,
                "change": change,
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    out["before"] = out["before"].astype("Int64")
    out["after"] = out["after"].astype("Int64")
    return out


def trend_text(ch: pd.DataFrame, since: int | None, cycle: int, name: str) -> str:
    """'Improved since 2025: Exercise programs (3 → 4); ... Slipped: ...; Unchanged: 5 areas.'"""
    if since is None:
        return f"{cycle} is the first assessment cycle on record for {name}, so there is no trend yet."
    if ch.empty:
        return f"No self-assessment for {cycle} to compare with {since}."

    def items(kind):
        t = ch[ch["change"] == kind]
        return "; ".join(f"{a} ({b} → {n})" for a, b, n in zip(t["area"], t["before"], t["after"]))

    parts = []
    up, down = items("improved"), items("slipped")
    parts.append(f"Improved since {since}: {up}." if up else f"Nothing improved since {since}.")
    parts.append(f"Slipped: {down}." if down else "Nothing slipped.")
    same = int((ch["change"] == "unchanged").sum())
    if same:
        parts.append(f"Unchanged: {same} area{'s' if same != 1 else ''}.")
    new = ch.loc[ch["change"] == "new", "area"].tolist()
    if new:
        parts.append(f"Newly reported: {'; '.join(new)}.")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Recommended partners (pairing.candidates on one cycle)
# ---------------------------------------------------------------------------------------------------------------

PARTNER_COLUMNS = [
    "program_area",
    "area",
    "short",
    "partner",
    "partner_name",
    "partner_maturity",
    "score",
    "reasons",
    "why",
    "partner_notes",
]


def needs(table: pd.DataFrame) -> list[str]:
    """Program areas (slugs) the state needs help in: it seeks help there, or rates it 1-2."""
    t = table[table["reported"] & (table["seeks_help"] | (table["band"] == "gap"))]
    return list(t["program_area"])


def _partner_frame(
    cands: pd.DataFrame, partner_col: str, maturity_col: str, cycle_df: pd.DataFrame, can_see: Callable[[str], bool]
) -> pd.DataFrame:
    if cands.empty:
        return pd.DataFrame(columns=PARTNER_COLUMNS)
    rows = cycle_df[cycle_df["state"].isin(set(cands[partner_col]))]
    notes = {
        (s, a): basics.cell_text(n, strip=False)
        for s, a, n in rows[["state", "program_area", "notes"]].itertuples(index=False)
    }
    others = {
        s: basics.cell_text(o, strip=False)
        for s, a, o in rows[["state", "program_area", "other_area"]].itertuples(index=False)
        if a == catalog.OTHER
    }
    out = pd.DataFrame(
        {
            "program_area": cands["program_area"].to_numpy(),
            "partner": cands[partner_col].to_numpy(),
            "partner_maturity": cands[maturity_col].astype(int).to_numpy(),
            "score": cands["score"].astype(float).to_numpy(),
            "reasons": cands["reasons"].astype(str).to_numpy(),
        }
    )
    # the fit alone ("same FEMA Region III, shared border, ..."), for tables that already name the states and area
    out["why"] = [r.split(": ", 1)[1] if ": " in r else r for r in out["reasons"]]
    out["partner_name"] = out["partner"].map(jurisdictions.names())
    # 'other' is named after the state's own area (the pair is only kept when both name the same one)
    out["area"] = [area_name(a, others.get(p)) for a, p in zip(out["program_area"], out["partner"])]
    out["short"] = [area_short_name(a, others.get(p)) for a, p in zip(out["program_area"], out["partner"])]
    out["partner_notes"] = [
        notes.get((p, a), "") if can_see(p) else "" for p, a in zip(out["partner"], out["program_area"])
    ]
    out["_order"] = out["program_area"].map(_area_order)
    out = out.sort_values(["_order", "score", "partner"], ascending=[True, False, True]).drop(columns="_order")
    return out[PARTNER_COLUMNS].reset_index(drop=True)


def partners(
    assessments: pd.DataFrame,
    state: str,
    cycle: int,
    weights=None,
    top: int = TOP_MENTORS,
    can_see: Callable[[str], bool] = lambda s: False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(recommended mentors, states it could help) for `state` in `cycle`: see the two functions below."""
    cycle_df = of_cycle(assessments, cycle)
    return _partners(cycle_df, state, _maturity_table(cycle_df, state), weights, top, can_see)


def _partners(cycle_df, state, table, weights, top, can_see) -> tuple[pd.DataFrame, pd.DataFrame]:
    wanted = needs(table)
    offered = list(table.loc[table["eligible_mentor"], "program_area"])
    empty = pd.DataFrame(columns=PARTNER_COLUMNS)
    if not wanted and not offered:
        return empty, empty
    inp = cycle_df[PAIRING_INPUT].copy()
    # A gap the state has not flagged is treated as sought, so the profile can suggest who could help before the
    # state asks. This adds edges with the state as mentee only; every other edge and score is unchanged.
    inp.loc[(inp["state"] == state) & inp["program_area"].isin(wanted), "seeks_help"] = True
    # Only this state's edges are wanted, so build only those (the whole cycle's edges run to millions at county
    # scale): with every other state's seeks_help off, the candidates are exactly the edges into this state; with
    # every other state's offers_help off, exactly the edges out of it. An edge's score and reasons depend only on
    # its two ends (maturities, region, border, population) and the mentor's own eligible areas, none of which the
    # switched-off flags touch, so these are the same edges, scores and reasons as in the full candidate set.
    others = inp["state"] != state
    # (pairing pairs an 'other' need only with mentors naming the same other area)
    into = _candidates(pairing, inp.assign(seeks_help=inp["seeks_help"] & ~others), weights)
    out_of = _candidates(pairing, inp.assign(offers_help=inp["offers_help"] & ~others), weights)
    mentors = into[
        (into["mentee"] == state) & into["program_area"].isin(wanted) & (into["mentor_maturity"] >= catalog.MENTOR_MIN)
    ]
    mentors = mentors.sort_values(["score", "mentor"], ascending=[False, True]).groupby("program_area").head(top)
    mentees = out_of[(out_of["mentor"] == state) & out_of["program_area"].isin(offered)]
    return (
        _partner_frame(mentors, "mentor", "mentor_maturity", cycle_df, can_see),
        _partner_frame(mentees, "mentee", "mentee_maturity", cycle_df, can_see),
    )


def _candidates(pairing, inp: pd.DataFrame, weights) -> pd.DataFrame:
    return pairing.candidates(inp) if weights is None else pairing.candidates(inp, weights)


def recommended_mentors(
    assessments: pd.DataFrame,
    state: str,
    cycle: int,
    weights=None,
    top: int = TOP_MENTORS,
    can_see: Callable[[str], bool] = lambda s: False,
) -> pd.DataFrame:
    """For each need of the state (an area it seeks help in or rates 1-2), the `top` best eligible mentors, with the
    pairing's score and plain-language reasons; `partner_notes` only where `can_see(partner)`."""
    return partners(assessments, state, cycle, weights, top, can_see)[0]


def could_help(
    assessments: pd.DataFrame, state: str, cycle: int, weights=None, can_see: Callable[[str], bool] = lambda s: False
) -> pd.DataFrame:
    """For each area the state offers help in and is an eligible mentor, the states seeking guidance there that it
    could help (pairing candidates with mentor == state), best match first."""
    return partners(assessments, state, cycle, weights, can_see=can_see)[1]


def unmatched_needs(table: pd.DataFrame, mentors: pd.DataFrame) -> list[str]:
    """Names of the areas the state needs where no eligible mentor was found."""
    found = set(mentors["program_area"]) if len(mentors) else set()
    wanted = set(needs(table))
    return [
        area_name(a, o) for a, o in zip(table["program_area"], table["other_area"]) if a in wanted and a not in found
    ]


# ---------------------------------------------------------------------------------------------------------------
# The whole profile
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class StateProfile:
    state: str
    name: str
    kind: str
    region: int
    region_label: str
    population: int
    cycle: int
    reported_cycles: list[int]  # cycles with rows for this state, newest first
    detail: bool  # False: only scores and offer/seek flags are in here
    table: pd.DataFrame  # maturity_table (notes/offer_note blanked without detail)
    strengths: list[tuple[str, int]]
    gaps: list[tuple[str, int]]
    summary_text: str
    poete: pd.DataFrame | None = None
    trend: pd.DataFrame | None = None
    since: int | None = None
    changes: pd.DataFrame | None = None
    trend_text: str = ""
    program_manager: dict | None = None  # {"name", "email"} or None
    mentors: pd.DataFrame | None = None  # recommended_mentors
    mentees: pd.DataFrame | None = None  # could_help
    unmatched: list[str] = field(default_factory=list)

    @property
    def reported(self) -> bool:
        return bool(self.table["reported"].any())

    @property
    def has_poete(self) -> bool:
        return self.poete is not None and bool(self.poete.notna().any().any())

    @property
    def latest_reported(self) -> int | None:
        return self.reported_cycles[0] if self.reported_cycles else None

    @property
    def reported_areas(self) -> pd.DataFrame:
        """The rows of `table` the state reported in the cycle."""
        return self.table[self.table["reported"]]

    @property
    def match_scale(self) -> float:
        """Top of the 'match' bar: the best partner score shown (at least 1)."""
        return max([1.0] + [float(d["score"].max()) for d in (self.mentors, self.mentees) if d is not None and len(d)])


def offers_table(p: StateProfile, detail: bool) -> pd.DataFrame:
    """What the state offers and seeks, an area a row as the profile shows it (a static table): its maturity,
    offers / seeks, and where the viewer sees the state in detail, why an offer cannot be used and the notes."""
    cols = {"short": "Program area", "maturity": "Maturity", "offers_help": "Offers help", "seeks_help": "Seeks help"}
    if detail:
        cols |= {"offer_note": "Eligibility", "notes": "Notes"}
    return p.reported_areas[list(cols)].rename(columns=cols)


def program_manager_of(program_managers: pd.DataFrame | None, state: str) -> dict | None:
    """{"name", "email"} of the state's assigned program manager, or None."""
    if program_managers is None or not len(program_managers):
        return None
    pm = program_managers[program_managers["state"] == state]
    return {"name": str(pm["name"].iloc[0]), "email": str(pm["email"].iloc[0])} if len(pm) else None


def build(
    assessments: pd.DataFrame,
    state: str,
    cycle: int,
    viewer: auth.Viewer | None = None,
    program_managers: pd.DataFrame | None = None,
    weights=None,
) -> StateProfile:
    """Everything the page and the report show for `state` in `cycle`, as `viewer` may see it."""
    jur = jurisdictions.jurisdictions().set_index("code").loc[state]
    detail = viewer is not None and viewer.sees_detail_of(state)
    cycle_df = of_cycle(assessments, cycle)
    table = _maturity_table(cycle_df, state)
    if not detail:
        table = table.assign(notes="", offer_note="")
    own = assessments[assessments["state"] == state]  # the state's rows, every cycle
    reported_cycles = sorted({int(c) for c in own["cycle"]}, reverse=True)
    p = StateProfile(
        state=state,
        name=str(jur["name"]),
        kind=str(jur["kind"]),
        region=int(jur["fema_region"]),
        region_label=str(jur["region_label"]),
        population=int(jur["population"]),
        cycle=int(cycle),
        reported_cycles=reported_cycles,
        detail=detail,
        table=table,
        strengths=strengths(table),
        gaps=gaps(table),
        summary_text=strengths_gaps_text(table),
    )
    if not detail:
        return p
    can_see = viewer.sees_detail_of
    p.poete = poete(own, state, cycle)
    p.trend = trend(own, state, upto=cycle)
    p.since = previous_cycle(own, state, cycle)
    p.changes = changes(own, state, cycle, p.since)
    p.trend_text = trend_text(p.changes, p.since, cycle, p.name) if p.reported else ""
    p.program_manager = program_manager_of(program_managers, state)
    p.mentors, p.mentees = _partners(cycle_df, state, table, weights, TOP_MENTORS, can_see)
    p.unmatched = unmatched_needs(table, p.mentors)
    return p
