"""Data-quality flags on self-assessments: for each state × cycle, the ratings that deserve a second look, each
with a stable rule id and a one-sentence explanation. Form submissions and file loads alike (the rules read
assessment rows, wherever they came from).

The rules (ids are stored with confirmations: never rename one):

- `big_change`    an area's maturity moved 2 or more levels since the state's previous cycle (the latest earlier
                  cycle the state reported; an `other` area only when it names the same area both times)
- `seeks_at_5`    seeks guidance in an area rated 5 (Nationally leading)
- `offer_below_4` offers help in an area rated below 4: the offer cannot be used for pairing
                  (catalog.mentor_ineligibility says why, as the Pairings page does)
- `poete_far`     the median of the POETE sub-ratings given is 2 or more levels from the area's maturity
- `missing_areas` fewer than the eight named program areas rated (`other` does not count)
- `straight_line` every area rated the same (at least STRAIGHT_LINE_MIN areas rated)
- `stale`         no assessment in the latest cycle on record (the flag names the last cycle the state reported);
                  only for states that reported at least once

A flag about one area carries its slug in `program_area`; a flag about the whole assessment carries ''.

A flag can be *confirmed* with a note (the reviewer or the state: "yes, we did jump two levels after the new
radio system"): confirmed flags stay visible but are counted apart (`counts`). Confirmations live in
`flag_confirmations`, keyed by state, cycle, rule and program area.

The flag rules are pure functions of DataFrames; `confirmations` / `confirm` are the only store calls.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from shisn.domain import catalog, jurisdictions

BIG_CHANGE, SEEKS_AT_5, OFFER_BELOW_4, POETE_FAR, MISSING_AREAS, STRAIGHT_LINE, STALE = (
    "big_change",
    "seeks_at_5",
    "offer_below_4",
    "poete_far",
    "missing_areas",
    "straight_line",
    "stale",
)
RULES: dict[str, str] = {
    BIG_CHANGE: "Moved 2 or more levels since the previous cycle",
    SEEKS_AT_5: "Seeks guidance at maturity 5",
    OFFER_BELOW_4: "Offers help below maturity 4",
    POETE_FAR: "POETE sub-ratings far from the maturity",
    MISSING_AREAS: "Fewer than the eight named areas rated",
    STRAIGHT_LINE: "Every area rated the same",
    STALE: "No assessment in the latest cycle",
}
BIG_CHANGE_MIN = 2  # levels moved since the previous cycle
POETE_DISTANCE_MIN = 2  # levels between the POETE median and the maturity
STRAIGHT_LINE_MIN = 3  # areas rated before "all the same" means anything
NAMED_AREAS: tuple[str, ...] = tuple(a for a in catalog.AREA_SLUGS if a != catalog.OTHER)
WHOLE = ""  # program_area of a flag about the whole assessment

FLAG_COLUMNS = ["state", "cycle", "rule", "program_area", "title", "explanation"]
CONFIRM_COLUMNS = ["confirmed", "note", "confirmed_by", "confirmed_at"]
MAX_NOTE = 1000


class FlagError(ValueError):
    """A confirmation that cannot be written; the message says why. Nothing was written."""


# --- the rules ---------------------------------------------------------------------------------------------------

_SHORT = {a.slug: a.short for a in catalog.PROGRAM_AREAS}


def _l(values) -> list:
    """A column as a plain list (iterating a pandas 3 string column element by element is slow)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _area_names(slugs, others) -> list[str]:
    """The areas as people read them ('Exercises', 'Other: Cybersecurity')."""
    slugs, others = _l(slugs), _l(others)
    return [
        f"Other: {o.strip()}" if a == catalog.OTHER and isinstance(o, str) and o.strip() else _SHORT.get(a, str(a))
        for a, o in zip(slugs, others)
    ]


def _frame(state=(), cycle=(), rule: str | None = None, area=(), explanation=()) -> pd.DataFrame:
    """Flags as a DataFrame (FLAG_COLUMNS), built from columns."""
    n = len(state)
    text = lambda v: pd.Series(v, dtype=object)  # noqa: E731 - also when empty (merge keys must be text)
    return pd.DataFrame(
        {
            "state": text(_l(state)),
            "cycle": pd.Series(_l(cycle), dtype="int64"),
            "rule": text([rule] * n),
            "program_area": text(_l(area)),
            "title": text([RULES[rule] if rule else ""] * n),
            "explanation": text(_l(explanation)),
        },
        columns=FLAG_COLUMNS,
    )


_CLEAN = "_quality_clean"


def _clean(rows: pd.DataFrame) -> pd.DataFrame:
    """The columns the rules read, with plain types (rows from the store, a file or a form). Cleaned once."""
    if rows.attrs.get(_CLEAN):
        return rows
    n = len(rows)
    out = pd.DataFrame(
        {
            "state": rows["state"].astype(str).to_numpy(dtype=object),
            "program_area": rows["program_area"].astype(str).to_numpy(dtype=object),
            "cycle": pd.to_numeric(rows["cycle"]).astype("int64").to_numpy(),
            "maturity": pd.to_numeric(rows["maturity"]).astype("float64").to_numpy(),
            "offers_help": rows["offers_help"].fillna(False).astype(bool).to_numpy(),
            "seeks_help": rows["seeks_help"].fillna(False).astype(bool).to_numpy(),
            "other_area": (
                rows["other_area"].to_numpy(dtype=object) if "other_area" in rows else np.full(n, None, dtype=object)
            ),
        }
    )
    for p in catalog.POETE:
        out[p] = pd.to_numeric(rows[p]).astype("float64").to_numpy() if p in rows else np.full(n, np.nan)
    out.attrs[_CLEAN] = True
    return out


def seeks_at_5(rows: pd.DataFrame) -> pd.DataFrame:
    """Seeks guidance in an area it rates 5."""
    r = _clean(rows)
    hit = r[r["seeks_help"].to_numpy() & (r["maturity"].to_numpy() == catalog.MAX_LEVEL)]
    top = f"{catalog.MAX_LEVEL} ({catalog.level_name(catalog.MAX_LEVEL)})"
    return _frame(
        hit["state"],
        hit["cycle"],
        SEEKS_AT_5,
        hit["program_area"],
        [
            f"{name}: seeks guidance while rated {top}, the top of the scale."
            for name in _area_names(hit["program_area"], hit["other_area"])
        ],
    )


def offer_below_4(rows: pd.DataFrame) -> pd.DataFrame:
    """Offers help in an area rated below 4 (the Pairings page's explanation, catalog.mentor_ineligibility)."""
    r = _clean(rows)
    hit = r[r["offers_help"].to_numpy() & (r["maturity"].to_numpy() < catalog.MENTOR_MIN)]
    why = {m: catalog.mentor_ineligibility(True, m) for m in range(catalog.MIN_LEVEL, catalog.MENTOR_MIN)}
    return _frame(
        hit["state"],
        hit["cycle"],
        OFFER_BELOW_4,
        hit["program_area"],
        [
            f"{name}: {why[int(m)]}."
            for name, m in zip(_area_names(hit["program_area"], hit["other_area"]), _l(hit["maturity"]))
        ],
    )


def poete_far(rows: pd.DataFrame) -> pd.DataFrame:
    """The median of the POETE sub-ratings given is POETE_DISTANCE_MIN or more levels from the area's maturity."""
    r = _clean(rows)
    poete = r[list(catalog.POETE)].to_numpy(dtype="float64")
    given = (~np.isnan(poete)).sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no sub-rating: median NaN, never flagged
        median = np.nanmedian(poete, axis=1)
    maturity = r["maturity"].to_numpy()
    far = (given > 0) & ~np.isnan(maturity) & (np.abs(median - maturity) >= POETE_DISTANCE_MIN)
    hit = r[far]
    med, mat, cnt = median[far], maturity[far], given[far]
    text = []
    for name, md, m, k in zip(
        _area_names(hit["program_area"], hit["other_area"]), med.tolist(), mat.tolist(), cnt.tolist()
    ):
        shown = f"{md:.0f}" if float(md).is_integer() else f"{md:.1f}"
        text.append(
            f"{name}: the median of its {k} POETE sub-rating{'s' if k != 1 else ''} is {shown}, "
            f"{abs(md - m):g} levels from its maturity {int(m)}."
        )
    return _frame(hit["state"], hit["cycle"], POETE_FAR, hit["program_area"], text)


def _previous_cycles(r: pd.DataFrame) -> pd.DataFrame:
    """(state, cycle, prev_cycle): each state's previous reported cycle (absent for its first)."""
    sc = r[["state", "cycle"]].drop_duplicates().sort_values(["state", "cycle"])
    sc["prev_cycle"] = sc.groupby("state")["cycle"].shift(1)
    return sc.dropna(subset=["prev_cycle"]).astype({"prev_cycle": "int64"})


def _norm_other(x) -> str:
    return " ".join(str(x).lower().split()) if isinstance(x, str) else ""


def big_change(rows: pd.DataFrame, cycle: int | None = None) -> pd.DataFrame:
    """An area's maturity moved BIG_CHANGE_MIN or more levels since the state's previous reported cycle. Needs the
    state's earlier cycles in `rows`; a state's first cycle (or a state with a single cycle) has no such flag.
    With `cycle`, only that cycle's changes."""
    r = _clean(rows)
    prev = _previous_cycles(r)
    if cycle is not None:
        prev = prev[prev["cycle"] == int(cycle)]
    if prev.empty:
        return _frame()
    now = r.merge(prev, on=["state", "cycle"])
    before = r[["state", "program_area", "cycle", "maturity", "other_area"]].rename(
        columns={"cycle": "prev_cycle", "maturity": "prev_maturity", "other_area": "prev_other"}
    )
    both = now.merge(before, on=["state", "program_area", "prev_cycle"])
    moved = both["maturity"].to_numpy() - both["prev_maturity"].to_numpy()
    keep = ~np.isnan(moved) & (np.abs(moved) >= BIG_CHANGE_MIN)
    both, moved = both[keep], moved[keep]
    same = np.array(
        [
            a != catalog.OTHER or _norm_other(o) == _norm_other(po)
            for a, o, po in zip(_l(both["program_area"]), _l(both["other_area"]), _l(both["prev_other"]))
        ],
        dtype=bool,
    )
    both, moved = both[same], moved[same]
    text = [
        f"{name}: rated {int(pm)} in {pc} and {int(m)} in {c}, {abs(int(d))} levels "
        f"{'up' if d > 0 else 'down'} since the state's previous cycle."
        for name, pm, pc, m, c, d in zip(
            _area_names(both["program_area"], both["other_area"]),
            _l(both["prev_maturity"]),
            _l(both["prev_cycle"]),
            _l(both["maturity"]),
            _l(both["cycle"]),
            moved.tolist(),
        )
    ]
    return _frame(both["state"], both["cycle"], BIG_CHANGE, both["program_area"], text)


def _per_assessment(r: pd.DataFrame) -> pd.DataFrame:
    """Per state × cycle: named areas rated, areas rated, distinct levels, the one level if only one."""
    rated = r[~np.isnan(r["maturity"].to_numpy())]
    g = rated.assign(named=rated["program_area"].isin(NAMED_AREAS)).groupby(["state", "cycle"], sort=True)
    return pd.DataFrame(
        {"named": g["named"].sum(), "rated": g.size(), "levels": g["maturity"].nunique(), "level": g["maturity"].max()}
    ).reset_index()


def missing_areas(rows: pd.DataFrame) -> pd.DataFrame:
    """Fewer than the eight named program areas rated in a state × cycle."""
    r = _clean(rows)
    a = _per_assessment(r)
    a = a[a["named"] < len(NAMED_AREAS)]
    if a.empty:
        return _frame()
    rated = r[~np.isnan(r["maturity"].to_numpy())].merge(a[["state", "cycle"]], on=["state", "cycle"])
    have = rated.groupby(["state", "cycle"])["program_area"].agg(set)
    text = []
    for s, c, k in zip(_l(a["state"]), _l(a["cycle"]), _l(a["named"])):
        missing = [_SHORT[x] for x in NAMED_AREAS if x not in have.get((s, c), set())]
        text.append(f"Rates {int(k)} of the {len(NAMED_AREAS)} named program areas; not rated: {', '.join(missing)}.")
    return _frame(a["state"], a["cycle"], MISSING_AREAS, [WHOLE] * len(a), text)


def straight_line(rows: pd.DataFrame) -> pd.DataFrame:
    """Every area of a state × cycle rated the same (with at least STRAIGHT_LINE_MIN areas rated)."""
    a = _per_assessment(_clean(rows))
    a = a[(a["rated"] >= STRAIGHT_LINE_MIN) & (a["levels"] == 1)]
    return _frame(
        a["state"],
        a["cycle"],
        STRAIGHT_LINE,
        [WHOLE] * len(a),
        [
            f"All {int(n)} rated areas are rated {int(m)} ({catalog.level_name(int(m))}): check that each "
            "area was rated on its own."
            for n, m in zip(_l(a["rated"]), _l(a["level"]))
        ],
    )


def stale(rows: pd.DataFrame, latest_cycle: int | None = None) -> pd.DataFrame:
    """States with no assessment in the latest cycle (default: the latest cycle in `rows`), naming the last cycle
    each reported. The flag belongs to the latest cycle. States that never reported are not in `rows`, so not
    flagged."""
    if rows.empty:
        return _frame()
    r = _clean(rows)
    latest = int(latest_cycle if latest_cycle is not None else r["cycle"].max())
    last = r.groupby("state")["cycle"].max()
    last = last[last < latest]
    return _frame(
        last.index,
        [latest] * len(last),
        STALE,
        [WHOLE] * len(last),
        [f"No self-assessment for {latest}; the last one on record is from {int(c)}." for c in last],
    )


PER_ROW_RULES = (seeks_at_5, offer_below_4, poete_far)
PER_ASSESSMENT_RULES = (missing_areas, straight_line)


def flags(
    rows: pd.DataFrame,
    *,
    cycle: int | None = None,
    states=None,
    latest_cycle: int | None = None,
    with_stale: bool = True,
) -> pd.DataFrame:
    """Every flag of `rows` (assessment rows of any number of states and cycles: give the earlier cycles too, or
    `big_change` cannot compare), optionally only those of one `cycle` and of some `states`. Sorted by state,
    cycle, whole-assessment flags first, then areas in catalog order, then rule order."""
    if rows is None or rows.empty:
        return _frame()
    if states is not None:
        rows = rows[rows["state"].isin(list(states))]
    r = _clean(rows)
    these = r if cycle is None else r[r["cycle"].to_numpy() == int(cycle)]
    these.attrs[_CLEAN] = True
    parts = [big_change(r, cycle)] + [rule(these) for rule in PER_ROW_RULES + PER_ASSESSMENT_RULES]
    if with_stale:
        st = stale(r, latest_cycle)
        parts.append(st if cycle is None else st[st["cycle"] == int(cycle)])
    parts = [p for p in parts if len(p)]
    return _sorted(pd.concat(parts, ignore_index=True) if parts else _frame())


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    area_order = {a: i + 1 for i, a in enumerate(catalog.AREA_SLUGS)}
    area_order[WHOLE] = 0
    rule_order = {r: i for i, r in enumerate(RULES)}
    key = pd.DataFrame(
        {
            "s": df["state"],
            "c": df["cycle"],
            "a": df["program_area"].map(area_order).fillna(99),
            "r": df["rule"].map(rule_order),
        }
    )
    return df.loc[key.sort_values(["s", "c", "a", "r"]).index].reset_index(drop=True)


def preview(state_rows: pd.DataFrame, candidate: pd.DataFrame, state: str, cycle: int) -> pd.DataFrame:
    """The flags a candidate assessment (a form's rows for `state` × `cycle`) would get once written: the state's
    stored rows of other cycles stand for its history, the candidate replaces whatever is stored for the cycle.
    No `stale` flag (the candidate is the assessment of its cycle)."""
    others = (
        state_rows[(state_rows["state"] == state) & (state_rows["cycle"] != int(cycle))]
        if len(state_rows)
        else state_rows
    )
    cols = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "other_area", *catalog.POETE]
    cand = candidate.reindex(columns=cols)
    hist = others.reindex(columns=cols) if len(others) else others
    rows = pd.concat([hist, cand], ignore_index=True) if len(hist) else cand
    return flags(rows, cycle=cycle, states=[state], with_stale=False)


# --- confirmations -----------------------------------------------------------------------------------------------


def can_confirm(viewer, state: str) -> bool:
    """The state itself, its program manager (a reviewer) and leadership may confirm a flag."""
    return viewer is not None and viewer.sees_detail_of(state)


def with_confirmations(flag_rows: pd.DataFrame, confirmed: pd.DataFrame) -> pd.DataFrame:
    """The flags with `confirmed` (bool), `note`, `confirmed_by`, `confirmed_at` from the confirmations table."""
    key = ["state", "cycle", "rule", "program_area"]
    c = (
        confirmed[key + ["note", "confirmed_by", "confirmed_at"]].copy()
        if len(confirmed)
        else pd.DataFrame(columns=key + ["note", "confirmed_by", "confirmed_at"])
    )
    c["cycle"] = c["cycle"].astype("int64")
    c["confirmed"] = True
    out = flag_rows.merge(c, on=key, how="left")
    out["confirmed"] = out["confirmed"].fillna(False).astype(bool)
    return out.reset_index(drop=True)


def counts(flag_rows: pd.DataFrame) -> dict:
    """{'open': flags not confirmed, 'confirmed': confirmed ones} (confirmed flags count apart)."""
    confirmed = int(flag_rows["confirmed"].sum()) if "confirmed" in flag_rows and len(flag_rows) else 0
    return {"open": len(flag_rows) - confirmed, "confirmed": confirmed}


def display_frame(flag_rows: pd.DataFrame, show_notes=lambda state: True) -> pd.DataFrame:
    """Flags as a table for people: jurisdiction, area, flag, explanation, confirmed and the note (the note only
    where `show_notes(state)`: confirmation notes are detail)."""
    names = jurisdictions.names()
    return pd.DataFrame(
        {
            "state": flag_rows["state"].to_numpy(),
            "jurisdiction": [names.get(s, s) for s in flag_rows["state"]],
            "cycle": flag_rows["cycle"].to_numpy(),
            "area": [catalog.area_short(a) if a else "(whole assessment)" for a in flag_rows["program_area"]],
            "flag": flag_rows["title"].to_numpy(),
            "explanation": flag_rows["explanation"].to_numpy(),
            "confirmed": flag_rows["confirmed"].to_numpy() if "confirmed" in flag_rows else False,
            "note": [
                n if isinstance(n, str) and show_notes(s) else None
                for s, n in zip(flag_rows["state"], flag_rows.get("note", pd.Series([None] * len(flag_rows))))
            ],
        },
        columns=["state", "jurisdiction", "cycle", "area", "flag", "explanation", "confirmed", "note"],
    )
