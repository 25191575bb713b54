"""Small value rules every module applies the same way: the current time as the store keeps it (whole seconds), a
cell's text, a bounded free text and the name of whoever acts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd


def now() -> dt.datetime:
    """Now, to the second (the store keeps whole seconds)."""
    return dt.datetime.now().replace(microsecond=0)


def cell_text(value: Any, *, strip: bool = True) -> str:
    """A table cell as text: "" for a missing value (None, NaN, pandas' NA), else str(value), stripped."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip() if strip else str(value)


def bounded_text(value: Any, limit: int, too_long: str, error: type[Exception] = ValueError) -> str | None:
    """Free text stripped, None when empty; `error(too_long.format(n=len, limit=limit))` when longer than `limit`."""
    if value is None:
        return None
    s = str(value).strip()
    if len(s) > limit:
        raise error(too_long.format(n=len(s), limit=limit))
    return s or None


def named(by: Any, missing: str, error: type[Exception] = ValueError) -> str:
    """The name of whoever acts, stripped; `error(missing)` when there is none."""
    s = str(by or "").strip()
    if not s:
        raise error(missing)
    return s


def authored(
    key: str,
    key_value: int,
    state: str,
    fields: dict,
    *,
    status: str,
    published: bool,
    by: str,
    now,
    synthetic: bool = False,
) -> dict:
    """A new row of a state's authored record (an offer, a practice): its key, state, fields, status, who wrote it
    and when, published_at when published, version 1."""
    return {
        key: key_value,
        "state": state,
        **fields,
        "status": status,
        "created_by": by,
        "created_at": now,
        "updated_by": by,
        "updated_at": now,
        "published_at": now if published else None,
        "version": 1,
        "synthetic": bool(synthetic),
    }
