"""Confirmed data-quality flags (the `flag_confirmations` table): a reviewer or the state says why a flagged rating
stands. The flag rules themselves are pure, in shisn.domain.quality."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from shisn.domain import catalog, jurisdictions
from shisn.domain.quality import (
    MAX_NOTE,
    RULES,
    WHOLE,
    FlagError,
    can_confirm,
    flags,
    with_confirmations,
)
from shisn.store import audit
from shisn.store.db import query_df, transaction


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


def confirm(
    con, viewer, state: str, cycle: int, rule: str, program_area: str, note: str, *, now: dt.datetime | None = None
) -> None:
    """Mark a flag confirmed with a note (the reviewer or the state). Confirming it again replaces the note.
    Audited. Raises FlagError (nothing written) for a viewer who may not, an unknown rule or an empty note."""
    code = jurisdictions.state_code(state) if state else None
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
        cur.execute(
            "DELETE FROM flag_confirmations WHERE state = ? AND cycle = ? AND rule = ? AND program_area = ?",
            [code, int(cycle), rule, area],
        ).fetchall()
        cur.execute(
            "INSERT INTO flag_confirmations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [code, int(cycle), rule, area, note, viewer.name, now],
        ).fetchall()
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
