"""The audit log: who did what, when (loads, edits, exports, role changes). Append-only."""

from __future__ import annotations

import datetime as dt

from shisn.store.db import query_df, transaction

ACTIONS = ("load", "edit", "export", "role")


def record_in(cur, who: str, action: str, detail: str) -> None:
    """Append one entry inside the caller's transaction (so the entry and the change commit together)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    audit_id = cur.execute("SELECT nextval('audit_id_seq')").fetchall()[0][0]
    cur.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [audit_id, dt.datetime.now().replace(microsecond=0), str(who)[:200], action, str(detail)[:2000]],
    ).fetchall()


def record(con, who: str, action: str, detail: str) -> None:
    with transaction(con) as cur:
        record_in(cur, who, action, detail)


def log(con, limit: int = 500):
    return query_df(
        con,
        "SELECT audit_id, at_time AS at, who, action, detail FROM audit_log ORDER BY audit_id DESC LIMIT ?",
        [int(limit)],
    )
