"""Reads the app and the CLI make. Each returns a DataFrame (or a plain value), parameterised, own cursor."""

from __future__ import annotations

import pandas as pd

from shisn.domain import auth, catalog, jurisdictions
from shisn.store import reporting_cycles
from shisn.store.db import query_df

ASSESSMENT_COLUMNS = [
    "state",
    "program_area",
    "cycle",
    "maturity",
    "offers_help",
    "seeks_help",
    "other_area",
    "notes",
    *catalog.POETE,
]


def cycles(con) -> list[int]:
    """Cycles with data, newest first."""
    df = query_df(con, "SELECT DISTINCT cycle FROM assessments ORDER BY cycle DESC")
    return [int(c) for c in df["cycle"]]


def latest_cycle(con) -> int | None:
    """The cycle the pages and commands default to: the latest closed reporting cycle (shisn.store.reporting_cycles)."""
    return reporting_cycles.default_cycle(reporting_cycles.status(con))


def assessments(con, cycle: int | None = None, states: list[str] | None = None) -> pd.DataFrame:
    """Assessment rows (one per state × area × cycle) with the jurisdiction's name and FEMA region, plus
    `eligible_mentor` and `offer_note` (why an offer cannot be used for pairing)."""
    sql = f"SELECT {', '.join(ASSESSMENT_COLUMNS)} FROM assessments WHERE 1 = 1"
    params: list = []
    if cycle is not None:
        sql += " AND cycle = ?"
        params.append(int(cycle))
    if states is not None:
        if not states:
            return _decorate(query_df(con, sql + " AND false"))
        sql += f" AND state IN ({', '.join('?' for _ in states)})"
        params += list(states)
    sql += " ORDER BY state, cycle, program_area"
    return _decorate(query_df(con, sql, params))


def _decorate(df: pd.DataFrame) -> pd.DataFrame:
    jur = jurisdictions.jurisdictions()[["code", "name", "fema_region", "region_label", "population"]]
    df = df.merge(jur, left_on="state", right_on="code", how="left").drop(columns="code")
    for c in ["maturity", *catalog.POETE]:
        df[c] = df[c].astype("Int64")
    df["offers_help"] = df["offers_help"].astype(bool)
    df["seeks_help"] = df["seeks_help"].astype(bool)
    df["eligible_mentor"] = df["offers_help"] & (df["maturity"] >= catalog.MENTOR_MIN)
    df["offer_note"] = [
        (catalog.mentor_ineligibility(o, int(m)) or "") if o else "" for o, m in zip(df["offers_help"], df["maturity"])
    ]
    return df


def load_log(con, limit: int = 200) -> pd.DataFrame:
    return query_df(
        con,
        """
        SELECT load_id, loaded_at, loaded_by, file_name, rows_in_file, rows_added, rows_replaced, states, cycles,
               synthetic
        FROM load_log ORDER BY load_id DESC LIMIT ?""",
        [int(limit)],
    )


def data_status(con) -> dict:
    """What the store holds: whether the rows in use are synthetic demo data, and when data last changed."""
    df = query_df(
        con,
        """
        SELECT count(*) AS rows,
               count(*) FILTER (WHERE l.synthetic) AS synthetic_rows,
               max(l.loaded_at) AS last_loaded
        FROM assessments a JOIN load_log l USING (load_id)""",
    )
    r = df.iloc[0]
    rows = int(r["rows"])
    synthetic = int(r["synthetic_rows"])
    return {
        "rows": rows,
        "synthetic_rows": synthetic,
        "is_demo": synthetic > 0,
        "all_demo": rows > 0 and synthetic == rows,
        "last_loaded": None if pd.isna(r["last_loaded"]) else pd.Timestamp(r["last_loaded"]).to_pydatetime(),
    }


def program_managers(con) -> pd.DataFrame:
    return query_df(con, "SELECT state, name, email FROM program_managers ORDER BY state")


def data_version(con) -> int:
    """Changes whenever data is loaded (the newest load id): part of every cache key in the app."""
    return int(con.version("load_log")[0])


def published_or_own(viewer, published: str) -> tuple[str, list]:
    """SQL condition (and params) for a viewer's view of states' authored records (offers, practices): every record
    with status `published`, and all of the viewer's own states' (leadership: everything; None: everything, for the
    CLI)."""
    if viewer is None or viewer.role == auth.LEADERSHIP:
        return "true", []
    mine = list(viewer.states)
    marks = ", ".join("?" for _ in mine) or "NULL"
    return f"(status = ? OR state IN ({marks}))", [published, *mine]
