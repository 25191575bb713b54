"""The `settings` table: one value per key, with who set it and when. The stuck-exchange threshold lives here (the
Work queue and the Impact page read it); the e-mail notification settings use `get_in` and `put_in` too."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from shisn.domain import auth, basics
from shisn.store import audit
from shisn.store.db import query_df, transaction

STUCK_DAYS_KEY, DEFAULT_STUCK_DAYS, MAX_STUCK_DAYS = "stuck_days", 30, 365


def get_in(cur, key: str) -> str | None:
    """The value of `key` inside the caller's transaction, or None."""
    return cur.scalar("SELECT value FROM settings WHERE key = ?", [key])


def put_in(cur, key: str, value: str, by: str, now: dt.datetime) -> None:
    """Set `key` inside the caller's transaction (the caller audits what it changed)."""
    cur.execute(
        "INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        [key, value, by, now],
    ).fetchall()


def stuck_days(con) -> int:
    """Days without a recorded change after which an open exchange counts as stuck (default 30): the Work queue
    lists it, the Impact page counts it."""
    got: pd.DataFrame = query_df(con, "SELECT value FROM settings WHERE key = ?", [STUCK_DAYS_KEY])
    try:
        v = int(got["value"].iloc[0]) if len(got) else DEFAULT_STUCK_DAYS
    except ValueError:
        v = DEFAULT_STUCK_DAYS
    return v if 1 <= v <= MAX_STUCK_DAYS else DEFAULT_STUCK_DAYS


def set_stuck_days(con, days, viewer: auth.Viewer, *, now: dt.datetime | None = None) -> int:
    """ODP leadership sets the stuck threshold (1-365 days). Audited. Raises PermissionError for anyone else and
    ValueError (nothing written) for a value that is not a whole number of days in range."""
    if viewer is None or viewer.role != auth.LEADERSHIP:
        raise PermissionError("only ODP leadership changes when an exchange counts as stuck")
    text = str(days).strip()
    try:
        v = int(text)
        if float(text) != v:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{days!r} is not a whole number of days") from None
    if not 1 <= v <= MAX_STUCK_DAYS:
        raise ValueError(f"the days without a change must be between 1 and {MAX_STUCK_DAYS}, not {v}")
    by = basics.named(viewer.name, "who is changing the setting must be named")
    with transaction(con) as cur:
        old = get_in(cur, STUCK_DAYS_KEY)
        put_in(cur, STUCK_DAYS_KEY, str(v), by, now or basics.now())
        audit.record_in(cur, by, "edit", f"setting {STUCK_DAYS_KEY} = {v} (was {old or DEFAULT_STUCK_DAYS})")
    return v
