"""Reporting cycles as the office runs them: leadership opens a cycle for reporting with a due date, the states
report over the following weeks, and leadership closes it.

Rules (what every page, report and command follows):

- A cycle's **status** is `open` (in progress) or `closed`. Leadership sets it (`open_cycle`, `close_cycle`; the
  Data page and `python -m shisn cycles`); each change is audited. A cycle with self-assessments and no status
  set (stores from before cycles were run, files loaded without opening one) counts as closed once at least half
  of the jurisdictions have reported in it (`ENOUGH`), and as in progress before that: one state's early report
  never makes a cycle the default.
- The **default cycle** of every page is the latest closed cycle with data; with none closed, the latest with
  data. An open cycle can still be chosen; wherever it is, it is labelled "in progress: N of 56 reported, due …"
  and its medians, flags, recommendations and pairings are provisional.
- The **cycle being collected** is the latest open cycle: the self-assessment form opens on it and names its due
  date.
- A state's report is **not yet due** in an open cycle before its due date: the "stale" flag (no assessment in the
  latest cycle) is judged against the default cycle, so it is not raised for an open cycle's missing reports.

Pure functions of frames (`status_frame`, `default_cycle`, `collecting`, `label`) and the few store calls; no
Streamlit here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

import shisn.domain.jurisdictions
from shisn.domain import basics
from shisn.store import audit
from shisn.store.db import query_df, transaction

OPEN, CLOSED = "open", "closed"
ENOUGH = 0.5  # share of the jurisdictions reporting for a cycle with no status set to count as closed
FIRST, LAST_AHEAD = 2003, 2  # the years a cycle may be opened: from the network's start to two years ahead
COLUMNS = ["cycle", "status", "explicit", "due_on", "reported", "jurisdictions"]


@dataclass(frozen=True)
class Cycle:
    cycle: int
    status: str  # OPEN or CLOSED
    explicit: bool  # set by leadership (False: judged by how many reported)
    due_on: dt.date | None
    reported: int  # jurisdictions with a self-assessment in the cycle
    jurisdictions: int

    @property
    def in_progress(self) -> bool:
        return self.status == OPEN


def status_frame(reported: pd.DataFrame, settings: pd.DataFrame, jurisdictions: int | None = None) -> pd.DataFrame:
    """Every cycle with data or a status, newest first, in COLUMNS. `reported`: cycle, reported (jurisdictions
    with data); `settings`: the `reporting_cycles` rows (cycle, status, due_on)."""
    total = int(jurisdictions if jurisdictions is not None else len(shisn.domain.jurisdictions.jurisdictions()))
    counts = {int(c): int(n) for c, n in zip(reported["cycle"], reported["reported"])}
    set_ = {int(r.cycle): r for r in settings.itertuples(index=False)}
    rows = []
    for c in sorted(set(counts) | set(set_), reverse=True):
        n = counts.get(c, 0)
        if c in set_:
            r = set_[c]
            due = None if r.due_on is None or pd.isna(r.due_on) else pd.Timestamp(r.due_on).date()
            rows.append([c, r.status, True, due, n, total])
        else:
            rows.append([c, CLOSED if n >= ENOUGH * total else OPEN, False, None, n, total])
    return pd.DataFrame(rows, columns=COLUMNS)


def cycles_of(frame: pd.DataFrame) -> list[Cycle]:
    return [
        Cycle(int(r.cycle), r.status, bool(r.explicit), r.due_on, int(r.reported), int(r.jurisdictions))
        for r in frame.itertuples(index=False)
    ]


def default_cycle(frame: pd.DataFrame) -> int | None:
    """The latest closed cycle with data; with none closed, the latest with data; None without data."""
    with_data = frame[frame["reported"] > 0]
    closed = with_data[with_data["status"] == CLOSED]
    if len(closed):
        return int(closed["cycle"].max())
    return int(with_data["cycle"].max()) if len(with_data) else None


def collecting(frame: pd.DataFrame) -> Cycle | None:
    """The cycle being collected: the latest cycle leadership opened (None when none is open)."""
    opened = frame[(frame["status"] == OPEN) & frame["explicit"]]
    return cycles_of(opened.head(1))[0] if len(opened) else None


def find(frame: pd.DataFrame, cycle: int) -> Cycle | None:
    got = frame[frame["cycle"] == int(cycle)]
    return cycles_of(got)[0] if len(got) else None


def progress(c: Cycle) -> str:
    """'in progress: 1 of 56 reported, due 2027-03-31' (the due date only when one is set)."""
    due = f", due {c.due_on.isoformat()}" if c.due_on else ""
    return f"in progress: {c.reported} of {c.jurisdictions} reported{due}"


def label(frame: pd.DataFrame, cycle: int) -> str:
    """A cycle as a picker shows it: '2026', or '2027 (in progress)' (the same while reports come in, so a chosen
    option keeps its name; the page's notice gives the counts and the due date)."""
    c = find(frame, cycle)
    return f"{cycle} (in progress)" if c is not None and c.in_progress else str(cycle)


def provisional_note(c: Cycle) -> str:
    """What a page says when the cycle shown is still open."""
    return (
        f"Cycle {c.cycle} is {progress(c)}. Its medians, flags, recommendations and pairings are provisional: "
        "they will change as more states report. The pages open on the latest closed cycle."
    )


# --- the store --------------------------------------------------------------------------------------------------


def status(con) -> pd.DataFrame:
    """status_frame of the store."""
    reported = query_df(con, "SELECT cycle, count(DISTINCT state) AS reported FROM assessments GROUP BY cycle")
    settings = query_df(con, "SELECT cycle, status, due_on FROM reporting_cycles")
    return status_frame(reported, settings)


def _year(cycle, now: dt.datetime) -> int:
    try:
        c = int(cycle)
        if float(cycle) != c:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{cycle!r} is not a year") from None
    if not FIRST <= c <= now.year + LAST_AHEAD:
        raise ValueError(f"a cycle is a year from {FIRST} to {now.year + LAST_AHEAD}, not {c}")
    return c


def _who(by) -> str:
    return basics.named(by, "who is changing the cycle must be named")


def open_cycle(con, cycle, due_on, by: str, *, now: dt.datetime | None = None) -> Cycle:
    """Open `cycle` for reporting, due `due_on` (a date or 'YYYY-MM-DD'); reopening a closed cycle or moving the due
    date is allowed. Audited. Raises ValueError (nothing written) on a bad year, date or name."""
    now = (now or dt.datetime.now()).replace(microsecond=0)
    c, who = _year(cycle, now), _who(by)
    try:
        due = due_on if isinstance(due_on, dt.date) else dt.date.fromisoformat(str(due_on).strip())
    except ValueError:
        raise ValueError(f"the due date {due_on!r} is not a date (YYYY-MM-DD)") from None
    if due.year < c - 1 or due.year > c + 1:
        raise ValueError(f"the due date {due.isoformat()} is not near cycle {c} (the year before to the year after)")
    with transaction(con) as cur:
        old = cur.execute("SELECT status, due_on FROM reporting_cycles WHERE cycle = ?", [c]).fetchall()
        cur.execute(
            "INSERT INTO reporting_cycles (cycle, status, due_on, opened_by, opened_at, updated_at) "
            "VALUES (?, 'open', ?, ?, ?, ?) ON CONFLICT (cycle) DO UPDATE SET status = 'open', "
            "due_on = excluded.due_on, opened_by = excluded.opened_by, opened_at = excluded.opened_at, "
            "closed_by = NULL, closed_at = NULL, updated_at = excluded.updated_at",
            [c, due, who, now, now],
        ).fetchall()
        was = f" (was {old[0][0]}, due {old[0][1]})" if old else ""
        audit.record_in(cur, who, "edit", f"cycle {c} opened for reporting, due {due.isoformat()}{was}")
    return find(status(con), c)


def close_cycle(con, cycle, by: str, *, now: dt.datetime | None = None) -> Cycle:
    """Close `cycle`: it becomes the pages' default if it is the latest closed one. Audited. Raises ValueError
    (nothing written) for a year with no self-assessment and no status, or a bad name."""
    now = (now or dt.datetime.now()).replace(microsecond=0)
    c, who = _year(cycle, now), _who(by)
    if find(status(con), c) is None:
        raise ValueError(f"cycle {c} has no self-assessment and was never opened: nothing to close")
    with transaction(con) as cur:
        cur.execute(
            "INSERT INTO reporting_cycles (cycle, status, closed_by, closed_at, updated_at) "
            "VALUES (?, 'closed', ?, ?, ?) ON CONFLICT (cycle) DO UPDATE SET status = 'closed', "
            "closed_by = excluded.closed_by, closed_at = excluded.closed_at, "
            "updated_at = excluded.updated_at",
            [c, who, now, now],
        ).fetchall()
        audit.record_in(cur, who, "edit", f"cycle {c} closed")
    return find(status(con), c)
