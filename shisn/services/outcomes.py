"""Each state's view of an exchange it took part in: how useful it was (1–5), what changed, what it would do
differently. Table `exchange_outcomes`, one row per exchange × state (the mentor's view and the mentee's view).

Rules:
- A view can be recorded once the exchange is `exchange held` or `closed` (or was held before it was declined):
  before that there is nothing to judge.
- Who may record for which state: the state's own users for their state; the program manager of a state on its
  behalf; leadership for either state. A PM of the mentor only cannot record the mentee's view, and vice versa.
- Who sees the views: whoever sees the exchange (leadership everything; a PM their states' exchanges; a state user
  the exchanges its state takes part in, and so only its own exchanges' views).
- Nothing is overwritten silently: a view is revised naming the `version` the writer read; if someone else recorded
  meanwhile, `StaleOutcome` says who and when and nothing is written. Every write goes to the audit log.

No Streamlit here; `viewer` is an `auth.Viewer` (its `name` is recorded as the writer).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from shisn.domain import auth, basics, exchange_rules
from shisn.services import exchanges
from shisn.store import audit
from shisn.store.db import WriteConflict, query_df, transaction

USEFUL_LABELS = {1: "not useful", 2: "of little use", 3: "useful", 4: "very useful", 5: "essential"}
RECORDABLE = (exchange_rules.HELD, exchange_rules.CLOSED)
MAX_TEXT = exchanges.MAX_TEXT
COLUMNS = [
    "exchange_id",
    "state",
    "part",
    "useful",
    "useful_label",
    "what_changed",
    "differently",
    "recorded_by",
    "recorded_at",
    "version",
    "synthetic",
]


class OutcomeError(ValueError):
    """A view that cannot be recorded; the message says why. Nothing was written."""


class StaleOutcome(OutcomeError):
    def __init__(self, exchange_id: int, state: str, by: str, at: dt.datetime):
        when = at.strftime("%H:%M") if at.date() == dt.date.today() else at.strftime("%Y-%m-%d %H:%M")
        super().__init__(
            f"{state}'s view of exchange {exchange_id} was recorded by {by} at {when} since you "
            "opened it: reload to see it before changing it"
        )


def useful_label(value) -> str:
    return f"{int(value)} · {USEFUL_LABELS[int(value)]}" if value is not None and not pd.isna(value) else ""


# --- who may do what ---------------------------------------------------------------------------------------------


def can_record(exchange: dict) -> bool:
    """Has the exchange reached the point where a view can be recorded (held, closed, or held and then declined)?"""
    held_at = exchange.get("held_at")
    return exchange["status"] in RECORDABLE or (
        exchange["status"] == exchange_rules.DECLINED and held_at is not None and not pd.isna(held_at)
    )


def recordable_states(viewer: auth.Viewer | None, exchange: dict) -> list[str]:
    """The states of `exchange` (mentor first) whose view `viewer` may record: leadership both; a PM those of the
    two that are theirs; a state user its own. Empty while the exchange has not been held."""
    if viewer is None or not can_record(exchange):
        return []
    parties = [exchange["mentor"], exchange["mentee"]]
    if viewer.role == auth.LEADERSHIP:
        return parties
    return [s for s in parties if s in viewer.states]


# --- writes ------------------------------------------------------------------------------------------------------


def _useful(value) -> int:
    try:
        v = int(value)
        if float(value) != v:
            raise ValueError
    except (TypeError, ValueError):
        raise OutcomeError(f"usefulness {value!r} is not a whole number from 1 to 5") from None
    if not 1 <= v <= 5:
        raise OutcomeError(f"usefulness {v} is outside 1 (not useful) to 5 (essential)")
    return v


def _text(value, what: str) -> str | None:
    return basics.bounded_text(
        value, MAX_TEXT, f"'{what}' is {{n}} characters long; the limit is {{limit}}", OutcomeError
    )


def record(
    con,
    exchange_id: int,
    state: str,
    viewer: auth.Viewer,
    useful,
    what_changed=None,
    differently=None,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
    synthetic: bool = False,
) -> int:
    """Record (or revise) `state`'s view of exchange `exchange_id`. `version`: the version of the view the caller
    read (None: the caller saw none). Returns the view's new version. Raises OutcomeError (nothing written) on bad
    input or when `viewer` may not record for `state`, and StaleOutcome when the view changed since it was read."""
    if viewer is None or not str(viewer.name or "").strip():
        raise OutcomeError("who is recording the view must be named")
    useful = _useful(useful)
    what_changed, differently = _text(what_changed, "what changed"), _text(differently, "what to do differently")
    now = (now or dt.datetime.now()).replace(microsecond=0)
    try:
        ex = exchanges.get(con, exchange_id)
    except exchanges.NotFound:
        raise OutcomeError(f"there is no exchange {exchange_id}") from None
    code = str(state or "").strip().upper()
    if code not in (ex["mentor"], ex["mentee"]):
        raise OutcomeError(f"{state!r} is not part of exchange {exchange_id} ({ex['mentor']} → {ex['mentee']})")
    if not can_record(ex):
        raise OutcomeError(
            f"exchange {exchange_id} is {exchange_rules.status_label(ex['status'])}: the states record their view "
            "once the exchange has been held"
        )
    if code not in recordable_states(viewer, ex):
        raise OutcomeError(f"you may not record {code}'s view: {code} itself, its program manager or leadership can")
    try:
        with transaction(con) as cur:
            rows = cur.execute(
                "SELECT useful, version, recorded_by, recorded_at FROM exchange_outcomes "
                "WHERE exchange_id = ? AND state = ?",
                [int(exchange_id), code],
            ).fetchall()
            old = rows[0] if rows else None
            if old is not None and (version is None or int(old[1]) != int(version)):
                raise StaleOutcome(int(exchange_id), code, old[2], pd.Timestamp(old[3]).to_pydatetime())
            if old is None and version is not None:
                raise OutcomeError(f"{code}'s view of exchange {exchange_id} no longer exists: reload")
            if old is None:
                cur.execute(
                    "INSERT INTO exchange_outcomes (exchange_id, state, useful, what_changed, differently, "
                    "recorded_by, recorded_at, version, synthetic) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                    [int(exchange_id), code, useful, what_changed, differently, viewer.name, now, bool(synthetic)],
                ).fetchall()
                new_version, was = 1, ""
            else:
                new_version, was = int(version) + 1, f" (was {int(old[0])})"
                n = cur.execute(
                    "UPDATE exchange_outcomes SET useful = ?, what_changed = ?, differently = ?, "
                    "recorded_by = ?, recorded_at = ?, version = ? "
                    "WHERE exchange_id = ? AND state = ? AND version = ?",
                    [
                        useful,
                        what_changed,
                        differently,
                        viewer.name,
                        now,
                        new_version,
                        int(exchange_id),
                        code,
                        int(version),
                    ],
                ).fetchall()[0][0]
                if n != 1:
                    raise OutcomeError(f"{code}'s view of exchange {exchange_id} changed meanwhile: reload")
            part = "mentor" if code == ex["mentor"] else "mentee"
            audit.record_in(
                cur,
                viewer.name,
                "edit",
                f"exchange {exchange_id} outcome for {code} ({part}): useful {useful}{was}, version {new_version}",
            )
            return new_version
    except WriteConflict:
        got = query_df(
            con,
            "SELECT recorded_by, recorded_at FROM exchange_outcomes WHERE exchange_id = ? AND state = ?",
            [int(exchange_id), code],
        )
        by, at = (
            (got.iloc[0]["recorded_by"], pd.Timestamp(got.iloc[0]["recorded_at"]).to_pydatetime())
            if len(got)
            else ("another user", now)
        )
        raise StaleOutcome(int(exchange_id), code, by, at) from None


# --- reads -------------------------------------------------------------------------------------------------------


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    df["part"] = ["mentor" if s == m else "mentee" for s, m in zip(df["state"], df["mentor"])]
    df["useful"] = df["useful"].astype(int)
    df["useful_label"] = [useful_label(v) for v in df["useful"]]
    df["version"] = df["version"].astype(int)
    df["synthetic"] = df["synthetic"].astype(bool)
    for c in ("what_changed", "differently"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def for_exchange(con, viewer: auth.Viewer | None, exchange_id: int) -> pd.DataFrame:
    """The recorded views of one exchange the viewer may see (mentor's first); empty when it may not see it."""
    df = query_df(
        con,
        f"""
        SELECT o.exchange_id, o.state, o.useful, o.what_changed, o.differently, o.recorded_by, o.recorded_at,
               o.version, o.synthetic, e.mentor, e.mentee
        FROM exchange_outcomes o JOIN exchanges e ON e.exchange_id = o.exchange_id
        WHERE o.exchange_id = ? AND {_scope(viewer)[0]}
        ORDER BY CASE WHEN o.state = e.mentor THEN 0 ELSE 1 END""",
        [int(exchange_id), *_scope(viewer)[1]],
    )
    return _frame(df)[COLUMNS].reset_index(drop=True)


def visible(con, viewer: auth.Viewer | None) -> pd.DataFrame:
    """Every recorded view the viewer may see (None: all, for the CLI), by exchange then mentor first."""
    where, params = _scope(viewer)
    df = query_df(
        con,
        f"""
        SELECT o.exchange_id, o.state, o.useful, o.what_changed, o.differently, o.recorded_by, o.recorded_at,
               o.version, o.synthetic, e.mentor, e.mentee
        FROM exchange_outcomes o JOIN exchanges e ON e.exchange_id = o.exchange_id
        WHERE {where}
        ORDER BY o.exchange_id, CASE WHEN o.state = e.mentor THEN 0 ELSE 1 END""",
        params,
    )
    return _frame(df)[COLUMNS].reset_index(drop=True)


def _scope(viewer: auth.Viewer | None) -> tuple[str, list]:
    """The exchanges a viewer may see (as shisn.services.exchanges scopes them): their views only."""
    if viewer is None or viewer.role == auth.LEADERSHIP:
        return "true", []
    states = list(viewer.states)
    if not states:
        return "false", []
    marks = ", ".join("?" for _ in states)
    return f"(e.mentor IN ({marks}) OR e.mentee IN ({marks}))", states + states


def export_columns(views: pd.DataFrame, exchange_ids) -> pd.DataFrame:
    """For the exchanges CSV: per exchange id (in the given order) the mentor's and the mentee's view side by side
    (mentor_useful, mentor_what_changed, mentor_differently, mentee_...; empty where not recorded)."""
    out = pd.DataFrame({"exchange_id": [int(i) for i in exchange_ids]})
    for part in ("mentor", "mentee"):
        v = views[views["part"] == part].set_index("exchange_id")
        out[f"{part}_useful"] = pd.array([v["useful"].get(i) for i in out["exchange_id"]], dtype="Int64")
        for c in ("what_changed", "differently"):
            out[f"{part}_{c}"] = [v[c].get(i) for i in out["exchange_id"]]
    return out.drop(columns="exchange_id")


EXPORT_COLUMNS = [
    "mentor_useful",
    "mentor_what_changed",
    "mentor_differently",
    "mentee_useful",
    "mentee_what_changed",
    "mentee_differently",
]
