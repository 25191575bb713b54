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

import datetime as dt

import pandas as pd

from . import catalog
from . import jurisdictions as J
from .db import query_df, transaction

BIG_CHANGE, SEEKS_AT_5, OFFER_BELOW_4, POETE_FAR, MISSING_AREAS, STRAIGHT_LINE, STALE = (
    "big_change", "seeks_at_5", "offer_below_4", "poete_far", "missing_areas", "straight_line", "stale")
RULES: dict[str, str] = {
    BIG_CHANGE: "Moved 2 or more levels since the previous cycle",
    SEEKS_AT_5: "Seeks guidance at maturity 5",
    OFFER_BELOW_4: "Offers help below maturity 4",
    POETE_FAR: "POETE sub-ratings far from the maturity",
    MISSING_AREAS: "Fewer than the eight named areas rated",
    STRAIGHT_LINE: "Every area rated the same",
    STALE: "No assessment in the latest cycle",
}
BIG_CHANGE_MIN = 2       # levels moved since the previous cycle
POETE_DISTANCE_MIN = 2   # levels between the POETE median and the maturity
STRAIGHT_LINE_MIN = 3    # areas rated before "all the same" means anything
NAMED_AREAS: tuple[str, ...] = tuple(a for a in catalog.AREA_SLUGS if a != catalog.OTHER)
WHOLE = ""               # program_area of a flag about the whole assessment

FLAG_COLUMNS = ["state", "cycle", "rule", "program_area", "title", "explanation"]
CONFIRM_COLUMNS = ["confirmed", "note", "confirmed_by", "confirmed_at"]
MAX_NOTE = 1000


class FlagError(ValueError):
    """A confirmation that cannot be written; the message says why. Nothing was written."""


# --- the rules ---------------------------------------------------------------------------------------------------

def _area_name(slug: str, other_area=None) -> str:
    if slug == catalog.OTHER and isinstance(other_area, str) and other_area.strip():
        return f"Other: {other_area.strip()}"
    return catalog.area_short(slug) if slug in catalog.AREAS_BY_SLUG else str(slug)


def _frame(records: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(records, columns=FLAG_COLUMNS)
    df["cycle"] = df["cycle"].astype("int64")
    return df


def _flag(state, cycle, rule, area, explanation) -> dict:
    return {"state": str(state), "cycle": int(cycle), "rule": rule, "program_area": area, "title": RULES[rule],
            "explanation": explanation}


def _clean(rows: pd.DataFrame) -> pd.DataFrame:
    """The columns the rules read, with plain types (rows from the store, a file or a form)."""
    out = pd.DataFrame({"state": rows["state"].astype(str).to_numpy(),
                        "program_area": rows["program_area"].astype(str).to_numpy(),
                        "cycle": pd.to_numeric(rows["cycle"]).astype("int64").to_numpy(),
                        "maturity": pd.to_numeric(rows["maturity"]).astype("Int64").to_numpy(),
                        "offers_help": rows["offers_help"].fillna(False).astype(bool).to_numpy(),
                        "seeks_help": rows["seeks_help"].fillna(False).astype(bool).to_numpy(),
                        "other_area": (rows["other_area"] if "other_area" in rows
                                       else pd.Series([None] * len(rows))).to_numpy(dtype=object)})
    for p in catalog.POETE:
        out[p] = (pd.to_numeric(rows[p]).astype("Int64").to_numpy() if p in rows
                  else pd.array([pd.NA] * len(rows), dtype="Int64"))
    return out


def seeks_at_5(rows: pd.DataFrame) -> pd.DataFrame:
    """Seeks guidance in an area it rates 5."""
    r = _clean(rows)
    hit = r[r["seeks_help"] & (r["maturity"] == catalog.MAX_LEVEL).fillna(False)]
    return _frame([_flag(s, c, SEEKS_AT_5, a,
                         f"{_area_name(a, o)}: seeks guidance while rated {catalog.MAX_LEVEL} "
                         f"({catalog.level_name(catalog.MAX_LEVEL)}), the top of the scale.")
                   for s, c, a, o in hit[["state", "cycle", "program_area", "other_area"]].itertuples(index=False)])


def offer_below_4(rows: pd.DataFrame) -> pd.DataFrame:
    """Offers help in an area rated below 4 (the Pairings page's explanation, catalog.mentor_ineligibility)."""
    r = _clean(rows)
    hit = r[r["offers_help"] & (r["maturity"] < catalog.MENTOR_MIN).fillna(False)]
    out = []
    for s, c, a, o, m in hit[["state", "cycle", "program_area", "other_area", "maturity"]].itertuples(index=False):
        why = catalog.mentor_ineligibility(True, int(m))
        out.append(_flag(s, c, OFFER_BELOW_4, a, f"{_area_name(a, o)}: {why}."))
    return _frame(out)


def poete_far(rows: pd.DataFrame) -> pd.DataFrame:
    """The median of the POETE sub-ratings given is POETE_DISTANCE_MIN or more levels from the area's maturity."""
    r = _clean(rows)
    poete = r[list(catalog.POETE)].astype("float64")
    median = poete.median(axis=1, skipna=True)
    given = poete.notna().sum(axis=1)
    maturity = r["maturity"].astype("float64")
    far = (given > 0) & maturity.notna() & ((median - maturity).abs() >= POETE_DISTANCE_MIN)
    out = []
    for i in far[far].index:
        row = r.loc[i]
        med = median[i]
        shown = f"{med:.0f}" if float(med).is_integer() else f"{med:.1f}"
        n = int(given[i])
        out.append(_flag(row["state"], row["cycle"], POETE_FAR, row["program_area"],
                         f"{_area_name(row['program_area'], row['other_area'])}: the median of its {n} POETE "
                         f"sub-rating{'s' if n != 1 else ''} is {shown}, {abs(med - maturity[i]):g} levels from "
                         f"its maturity {int(maturity[i])}."))
    return _frame(out)


def _previous_cycles(r: pd.DataFrame) -> pd.DataFrame:
    """(state, cycle, prev_cycle): each state's previous reported cycle (absent for its first)."""
    sc = r[["state", "cycle"]].drop_duplicates().sort_values(["state", "cycle"])
    sc["prev_cycle"] = sc.groupby("state")["cycle"].shift(1)
    return sc.dropna(subset=["prev_cycle"]).astype({"prev_cycle": "int64"})


def _same_other(a, b) -> bool:
    norm = lambda x: " ".join(str(x).lower().split()) if isinstance(x, str) else ""  # noqa: E731
    return norm(a) == norm(b)


def big_change(rows: pd.DataFrame) -> pd.DataFrame:
    """An area's maturity moved BIG_CHANGE_MIN or more levels since the state's previous reported cycle. Needs the
    state's earlier cycles in `rows`; a state's first cycle (or a state with a single cycle) has no such flag."""
    r = _clean(rows)
    prev = _previous_cycles(r)
    if prev.empty:
        return _frame([])
    now = r.merge(prev, on=["state", "cycle"])
    before = r[["state", "program_area", "cycle", "maturity", "other_area"]].rename(
        columns={"cycle": "prev_cycle", "maturity": "prev_maturity", "other_area": "prev_other"})
    both = now.merge(before, on=["state", "program_area", "prev_cycle"])
    both = both[both["maturity"].notna() & both["prev_maturity"].notna()]
    both = both.assign(moved=both["maturity"].astype("int64") - both["prev_maturity"].astype("int64"))
    both = both[both["moved"].abs() >= BIG_CHANGE_MIN]
    out = []
    for row in both.itertuples(index=False):
        if row.program_area == catalog.OTHER and not _same_other(row.other_area, row.prev_other):
            continue  # a different 'other' area each time: nothing to compare
        way = "up" if row.moved > 0 else "down"
        out.append(_flag(row.state, row.cycle, BIG_CHANGE, row.program_area,
                         f"{_area_name(row.program_area, row.other_area)}: rated {int(row.prev_maturity)} in "
                         f"{row.prev_cycle} and {int(row.maturity)} in {row.cycle}, {abs(int(row.moved))} levels "
                         f"{way} since the state's previous cycle."))
    return _frame(out)


def missing_areas(rows: pd.DataFrame) -> pd.DataFrame:
    """Fewer than the eight named program areas rated in a state × cycle."""
    r = _clean(rows)
    r = r[r["maturity"].notna()]
    out = []
    for (s, c), g in r.groupby(["state", "cycle"], sort=True):
        rated = set(g["program_area"]) & set(NAMED_AREAS)
        if len(rated) < len(NAMED_AREAS):
            missing = [catalog.area_short(a) for a in NAMED_AREAS if a not in rated]
            out.append(_flag(s, c, MISSING_AREAS, WHOLE,
                             f"Rates {len(rated)} of the {len(NAMED_AREAS)} named program areas; not rated: "
                             f"{', '.join(missing)}."))
    return _frame(out)


def straight_line(rows: pd.DataFrame) -> pd.DataFrame:
    """Every area of a state × cycle rated the same (with at least STRAIGHT_LINE_MIN areas rated)."""
    r = _clean(rows)
    r = r[r["maturity"].notna()]
    out = []
    for (s, c), g in r.groupby(["state", "cycle"], sort=True):
        levels = set(int(m) for m in g["maturity"])
        if len(g) >= STRAIGHT_LINE_MIN and len(levels) == 1:
            m = levels.pop()
            out.append(_flag(s, c, STRAIGHT_LINE, WHOLE,
                             f"All {len(g)} rated areas are rated {m} ({catalog.level_name(m)}): check that each "
                             "area was rated on its own."))
    return _frame(out)


def stale(rows: pd.DataFrame, latest_cycle: int | None = None) -> pd.DataFrame:
    """States with no assessment in the latest cycle (default: the latest cycle in `rows`), naming the last cycle
    each reported. The flag belongs to the latest cycle. States that never reported are not in `rows`, so not
    flagged."""
    if rows.empty:
        return _frame([])
    r = _clean(rows)
    latest = int(latest_cycle if latest_cycle is not None else r["cycle"].max())
    last = r.groupby("state")["cycle"].max()
    out = [_flag(s, latest, STALE, WHOLE, f"No self-assessment for {latest}; the last one on record is from "
                                          f"{int(c)}.")
           for s, c in last.items() if c < latest]
    return _frame(out)


PER_ROW_RULES = (big_change, seeks_at_5, offer_below_4, poete_far)
PER_ASSESSMENT_RULES = (missing_areas, straight_line)


def flags(rows: pd.DataFrame, *, cycle: int | None = None, states=None, latest_cycle: int | None = None,
          with_stale: bool = True) -> pd.DataFrame:
    """Every flag of `rows` (assessment rows of any number of states and cycles: give the earlier cycles too, or
    `big_change` cannot compare), optionally only those of one `cycle` and of some `states`. Sorted by state,
    cycle, whole-assessment flags first, then areas in catalog order, then rule order."""
    if rows is None or rows.empty:
        return _frame([])
    if states is not None:
        rows = rows[rows["state"].isin(list(states))]
    parts = [rule(rows) for rule in PER_ROW_RULES + PER_ASSESSMENT_RULES]
    if with_stale:
        parts.append(stale(rows, latest_cycle))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else _frame([])
    if cycle is not None:
        out = out[out["cycle"] == int(cycle)]
    return _sorted(out)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    area_order = {a: i + 1 for i, a in enumerate(catalog.AREA_SLUGS)}
    area_order[WHOLE] = 0
    rule_order = {r: i for i, r in enumerate(RULES)}
    key = pd.DataFrame({"s": df["state"], "c": df["cycle"], "a": df["program_area"].map(area_order).fillna(99),
                        "r": df["rule"].map(rule_order)})
    return df.loc[key.sort_values(["s", "c", "a", "r"]).index].reset_index(drop=True)


def preview(state_rows: pd.DataFrame, candidate: pd.DataFrame, state: str, cycle: int) -> pd.DataFrame:
    """The flags a candidate assessment (a form's rows for `state` × `cycle`) would get once written: the state's
    stored rows of other cycles stand for its history, the candidate replaces whatever is stored for the cycle.
    No `stale` flag (the candidate is the assessment of its cycle)."""
    others = state_rows[(state_rows["state"] == state) & (state_rows["cycle"] != int(cycle))] \
        if len(state_rows) else state_rows
    cols = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "other_area", *catalog.POETE]
    cand = candidate.reindex(columns=cols)
    hist = others.reindex(columns=cols) if len(others) else others
    rows = pd.concat([hist, cand], ignore_index=True) if len(hist) else cand
    return flags(rows, cycle=cycle, states=[state], with_stale=False)


# --- confirmations -----------------------------------------------------------------------------------------------

def can_confirm(viewer, state: str) -> bool:
    """The state itself, its program manager (a reviewer) and leadership may confirm a flag."""
    return viewer is not None and viewer.sees_detail_of(state)


def confirmations(con, state: str | None = None, cycle: int | None = None) -> pd.DataFrame:
    sql = "SELECT state, cycle, rule, program_area, note, confirmed_by, confirmed_at FROM flag_confirmations WHERE 1=1"
    params: list = []
    if state is not None:
        sql += " AND state = ?"
        params.append(state)
    if cycle is not None:
        sql += " AND cycle = ?"
        params.append(int(cycle))
    return query_df(con, sql + " ORDER BY state, cycle, rule, program_area", params)


def with_confirmations(flag_rows: pd.DataFrame, confirmed: pd.DataFrame) -> pd.DataFrame:
    """The flags with `confirmed` (bool), `note`, `confirmed_by`, `confirmed_at` from the confirmations table."""
    key = ["state", "cycle", "rule", "program_area"]
    c = confirmed[key + ["note", "confirmed_by", "confirmed_at"]].copy() if len(confirmed) else \
        pd.DataFrame(columns=key + ["note", "confirmed_by", "confirmed_at"])
    c["cycle"] = c["cycle"].astype("int64")
    c["confirmed"] = True
    out = flag_rows.merge(c, on=key, how="left")
    out["confirmed"] = out["confirmed"].fillna(False).astype(bool)
    return out.reset_index(drop=True)


def counts(flag_rows: pd.DataFrame) -> dict:
    """{'open': flags not confirmed, 'confirmed': confirmed ones} (confirmed flags count apart)."""
    confirmed = int(flag_rows["confirmed"].sum()) if "confirmed" in flag_rows and len(flag_rows) else 0
    return {"open": len(flag_rows) - confirmed, "confirmed": confirmed}


def confirm(con, viewer, state: str, cycle: int, rule: str, program_area: str, note: str, *,
            now: dt.datetime | None = None) -> None:
    """Mark a flag confirmed with a note (the reviewer or the state). Confirming it again replaces the note.
    Audited. Raises FlagError (nothing written) for a viewer who may not, an unknown rule or an empty note."""
    from . import audit
    code = J.state_code(state) if state else None
    if code is None:
        raise FlagError(f"{state!r} is not one of the 56 reporting jurisdictions")
    if not can_confirm(viewer, code):
        raise FlagError(f"only {code}, its program manager or leadership may confirm {code}'s flags")
    if rule not in RULES:
        raise FlagError(f"{rule!r} is not a flag rule; rules: {', '.join(RULES)}")
    area = program_area or WHOLE
    if area != WHOLE and area not in catalog.AREAS_BY_SLUG:
        raise FlagError(f"{program_area!r} is not a program area")
    note = " ".join(str(note or "").split()) if note is not None else ""
    if not note:
        raise FlagError("say why the rating stands: a confirmation needs a note")
    if len(note) > MAX_NOTE:
        raise FlagError(f"the note is longer than {MAX_NOTE} characters")
    now = now or dt.datetime.now().replace(microsecond=0)
    with transaction(con) as cur:
        cur.execute("DELETE FROM flag_confirmations WHERE state = ? AND cycle = ? AND rule = ? AND program_area = ?",
                    [code, int(cycle), rule, area]).fetchall()
        cur.execute("INSERT INTO flag_confirmations VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [code, int(cycle), rule, area, note, viewer.name, now]).fetchall()
        where = f" {area}" if area else ""
        audit.record_in(cur, viewer.name, "edit", f"flag {rule}{where} confirmed for {code} {int(cycle)}: {note}")


def state_flags(con, rows: pd.DataFrame, state: str, cycle: int, latest_cycle: int | None) -> pd.DataFrame:
    """One state × cycle's flags with their confirmations (`rows`: the state's rows of every cycle)."""
    f = flags(rows, cycle=cycle, states=[state], latest_cycle=latest_cycle)
    return with_confirmations(f, confirmations(con, state, cycle))


def cycle_flags(con, rows: pd.DataFrame, cycle: int, latest_cycle: int | None) -> pd.DataFrame:
    """Every state's flags of one cycle with their confirmations (`rows`: every state's rows, earlier cycles
    included)."""
    f = flags(rows, cycle=cycle, latest_cycle=latest_cycle)
    return with_confirmations(f, confirmations(con, None, cycle))


def display_frame(flag_rows: pd.DataFrame, show_notes=lambda state: True) -> pd.DataFrame:
    """Flags as a table for people: jurisdiction, area, flag, explanation, confirmed and the note (the note only
    where `show_notes(state)`: confirmation notes are detail)."""
    names = J.names()
    return pd.DataFrame({
        "state": flag_rows["state"].to_numpy(),
        "jurisdiction": [names.get(s, s) for s in flag_rows["state"]],
        "cycle": flag_rows["cycle"].to_numpy(),
        "area": [catalog.area_short(a) if a else "(whole assessment)" for a in flag_rows["program_area"]],
        "flag": flag_rows["title"].to_numpy(),
        "explanation": flag_rows["explanation"].to_numpy(),
        "confirmed": flag_rows["confirmed"].to_numpy() if "confirmed" in flag_rows else False,
        "note": [n if isinstance(n, str) and show_notes(s) else None
                 for s, n in zip(flag_rows["state"], flag_rows.get("note", pd.Series([None] * len(flag_rows))))],
    }, columns=["state", "jurisdiction", "cycle", "area", "flag", "explanation", "confirmed", "note"])
