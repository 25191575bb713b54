"""Facilitated exchanges between states, and needs referred to the technical-assistance (TA) program.

The bulletin's process: a state tells its assigned ODP program manager (PM) what it offers or needs; the PM
facilitates the first contact; the two states decide how to share; the outcome is recorded. An *exchange* is one
mentor state helping one mentee state in one or more program areas.

Status machine (exactly these transitions; `closed` and `declined` are terminal):

    proposed → introduced → in contact → exchange held → closed
    proposed | introduced | in contact | exchange held → declined

Introduction requests come before that machine: a state user asks for an introduction to a recommended
mentor for one of its needs, or offers help to a state seeking guidance where it is an eligible mentor
(`request_introduction`, an optional message). The request is an exchange in the first status `requested`
(no `proposed_at` yet), seen by both states, their program managers and leadership. The PM of either state (or
leadership) answers it once: `accept_request` (→ proposed, or straight to introduced) or `decline_request` with a
reason the state sees; the requesting state may withdraw it (`decline_request` by that state). The first to act
wins; whoever acts on the version they read after that gets `StaleEdit` saying who answered and how. A request
for a pair that already has a request or open exchange in that area is refused naming it (`Duplicate`); a state
has at most `MAX_OPEN_REQUESTS` unanswered requests at once (`TooManyRequests`).

    requested → proposed | introduced | declined      (accept_request / decline_request only)

Setting `exchange held` needs the means the states chose (teleconference, on-site visit, document exchange, other).

Nothing is overwritten silently:
- every change (opening, status, means, dates, outcome) writes one row to the append-only `exchange_history`
  (who, when, the status before and after, and the old → new value of every field that changed);
- optimistic concurrency: every update names the `version` it read. If the exchange changed meanwhile, the update
  raises `StaleEdit` ("exchange 12 was changed by X at HH:MM since you opened it: reload to see their change") and
  writes nothing.

Time to first contact (leadership's KPI): the number of days from `proposed_at` to `introduced_at`, the day the
PM introduced the two states (the first contact ODP facilitates; the machine allows no skipping, so every exchange
that got further was introduced first). Exchanges not yet introduced are not in the median; they are counted as
"awaiting introduction". A request becomes an exchange when it is accepted (`proposed_at` is that moment; accepted
straight to introduced, its days to first contact are 0): requests still waiting, and requests declined, are not
exchanges yet, so `summary` counts them apart (`requests_open`, `requests_declined`) and no KPI, count or arc
includes them. A status date may be given when it is recorded after the fact (`at`), never in the future
and never before the previous status.

Who sees what: leadership every exchange; a PM the exchanges where the mentor or the mentee is one of their
states; a state user only the exchanges (and requests, with their messages) its state takes part in. Leadership and
the PM of either state may change an exchange; state users read theirs (they tell their PM what they agreed), and
request introductions for their own state only.

Notifications: opening an exchange, a status change, a request and its answer write their e-mail notifications
(shisn/services/notify.py) in the same transaction as the change, so a change rolled back notifies nobody.

TA referrals: a need (state × program area × cycle) no exchange will meet is recorded in `ta_referrals` so nothing
raised is dropped. Referring the same need twice keeps the first referral (and returns its id).

Everything here is callable without Streamlit; `by` is the display name of the person acting (`viewer.name`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd

from shisn.domain import auth, basics, catalog, jurisdictions
from shisn.domain.exchange_rules import (
    ACTIVE_STATUSES,
    CLOSED,
    DECLINED,
    HELD,
    INTRODUCED,
    MAX_MESSAGE,
    MAX_OPEN_REQUESTS,
    MEANS,
    MEANS_LABELS,
    OPEN_STATUSES,
    PROPOSED,
    REQUEST_ACCEPT,
    REQUESTED,
    STATUS_LABELS,
    STATUS_TIME,
    STATUSES,
    TERMINAL,
    TRANSITIONS,
    can_answer,
    can_request,
    can_withdraw,
    means_label,
    status_label,
)
from shisn.services import notify
from shisn.store import audit
from shisn.store.db import WriteConflict, query_df, transaction

MAX_TEXT = 4000  # outcome notes and comments
MAX_DETAIL = 500  # means detail

EDITABLE = ("means", "means_detail", "planned_on", "outcome", "program_areas")
ROW_COLUMNS = [
    "exchange_id",
    "mentor",
    "mentee",
    "program_areas",
    "cycle",
    "status",
    "means",
    "means_detail",
    "planned_on",
    "outcome",
    "proposed_at",
    "introduced_at",
    "contact_at",
    "held_at",
    "closed_at",
    "declined_at",
    "created_by",
    "updated_at",
    "updated_by",
    "version",
    "synthetic",
    "requested_at",
    "requested_by",
    "requested_state",
    "request_message",
    "decline_reason",
]


# --- errors ------------------------------------------------------------------------------------------------------


class ExchangeError(ValueError):
    """Something asked of an exchange cannot be done; the message says why. Nothing was written."""


class InvalidTransition(ExchangeError):
    pass


class StaleEdit(ExchangeError):
    """The exchange changed since the caller read it; nothing was written."""

    def __init__(self, exchange_id: int, changed_by: str, changed_at: dt.datetime, version: int):
        self.exchange_id, self.changed_by, self.changed_at, self.version = exchange_id, changed_by, changed_at, version
        when = (
            changed_at.strftime("%H:%M")
            if changed_at.date() == dt.date.today()
            else changed_at.strftime("%Y-%m-%d %H:%M")
        )
        super().__init__(
            f"exchange {exchange_id} was changed by {changed_by} at {when} since you opened it: "
            "reload to see their change"
        )


class NotFound(ExchangeError):
    pass


class NotAllowed(ExchangeError):
    """The viewer may not do this (e.g. a state acting on another state's request); nothing was written."""


class TooManyRequests(ExchangeError):
    pass


class RequestAnswered(StaleEdit):
    """The request was answered (accepted, declined or withdrawn) by someone else since the caller read it."""

    def __init__(self, row: dict):
        super().__init__(
            int(row["exchange_id"]),
            row["updated_by"],
            pd.Timestamp(row["updated_at"]).to_pydatetime(),
            int(row["version"]),
        )
        when = (
            self.changed_at.strftime("%H:%M")
            if self.changed_at.date() == dt.date.today()
            else self.changed_at.strftime("%Y-%m-%d %H:%M")
        )
        if row["status"] == DECLINED:
            reason = str(row["decline_reason"] or "")
            what = "withdrawn" if reason.startswith("withdrawn by") else "declined" + (f" ({reason})" if reason else "")
        else:
            what = f"accepted (now {status_label(row['status'])})"
        self.args = (
            f"introduction request {self.exchange_id} was already {what} by {self.changed_by} at {when}: "
            "reload to see it",
        )


class Duplicate(ExchangeError):
    def __init__(self, message: str, existing_id: int):
        self.existing_id = existing_id
        super().__init__(message)


# --- validation helpers ------------------------------------------------------------------------------------------


def _state(value, role: str) -> str:
    code = jurisdictions.state_code(value) if value else None
    if code is None:
        raise ExchangeError(
            f"{role} {value!r} is not one of the 56 reporting jurisdictions (use a USPS code such as VA)"
        )
    return code


def _areas(areas) -> list[str]:
    if isinstance(areas, str):
        areas = [a for a in areas.replace(";", ",").split(",")]
    slugs = []
    for a in areas or []:
        if str(a).strip() == "":
            continue
        slug = catalog.area_slug(a)
        if slug is None:
            raise ExchangeError(f"{a!r} is not a program area; use one of: {', '.join(catalog.AREA_SLUGS)}")
        if slug not in slugs:
            slugs.append(slug)
    if not slugs:
        raise ExchangeError("choose at least one program area")
    return [s for s in catalog.AREA_SLUGS if s in slugs]


def _means(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    v = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if v not in MEANS:
        raise ExchangeError(f"means {value!r} is not one of: {', '.join(MEANS_LABELS[m] for m in MEANS)}")
    return v


def _text(value, what: str, limit: int = MAX_TEXT) -> str | None:
    return basics.bounded_text(
        value, limit, f"the {what} is {{n}} characters long; the limit is {{limit}}", ExchangeError
    )


def _who(by) -> str:
    return basics.named(by, "who is making the change must be named", ExchangeError)


def _cycle(cycle) -> int:
    try:
        c = int(cycle)
    except (TypeError, ValueError):
        raise ExchangeError(f"cycle {cycle!r} is not an assessment year") from None
    if not 2003 <= c <= dt.date.today().year + 1:
        raise ExchangeError(f"cycle {c} is not an assessment year (2003 to {dt.date.today().year + 1})")
    return c


def _plain(v):
    """A value as JSON-friendly plain data (for the history's old → new record)."""
    if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (dt.datetime, dt.date, pd.Timestamp)):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


# --- writes ------------------------------------------------------------------------------------------------------


def open_exchange(
    con,
    mentor,
    mentee,
    areas,
    cycle,
    by,
    means=None,
    note=None,
    *,
    at: dt.datetime | None = None,
    synthetic: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Open an exchange (status `proposed`) between `mentor` and `mentee` in `areas` (slugs or labels, a list or a
    comma-separated string) for the assessment `cycle`; `note` is the first comment in its history. Returns the new
    exchange id. Raises ExchangeError (nothing written) on bad input, and `Duplicate` when the same pair already
    has an open exchange in one of these areas. `at`: when it was proposed (default now); `now`: when this is
    recorded (default the clock; the demo generator back-dates its synthetic records)."""
    mentor, mentee = _state(mentor, "mentor"), _state(mentee, "mentee")
    if mentor == mentee:
        raise ExchangeError(f"mentor and mentee are both {mentor}: an exchange needs two different states")
    slugs, cycle, by = _areas(areas), _cycle(cycle), _who(by)
    means, note = _means(means), _text(note, "note")
    now = now or basics.now()
    at = _check_at(at, None, now)
    with transaction(con) as cur:
        cur.lock("exchange_open")  # the duplicate check and the insert, one writer at a time
        _refuse_duplicate(cur, mentor, mentee, slugs)
        ex_id = int(cur.execute("SELECT nextval('exchange_id_seq')").fetchall()[0][0])
        row = {
            "exchange_id": ex_id,
            "mentor": mentor,
            "mentee": mentee,
            "program_areas": ",".join(slugs),
            "cycle": cycle,
            "status": PROPOSED,
            "means": means,
            "proposed_at": at,
            "created_by": by,
            "updated_at": now,
            "updated_by": by,
            "version": 1,
            "synthetic": bool(synthetic),
        }
        cur.insert("exchanges", row)
        changes = {
            k: [None, _plain(v)]
            for k, v in row.items()
            if k in ("mentor", "mentee", "program_areas", "cycle", "status", "means") and v is not None
        }
        notify.exchange_changed(cur, ex_id, None, by, comment=note, now=now)  # both states hear of it
        _history(cur, ex_id, 1, now, by, None, PROPOSED, at, changes, note)
    return ex_id


def _refuse_duplicate(cur, mentor: str, mentee: str, slugs: list[str]) -> None:
    """Raise Duplicate when the pair already has an unanswered request or an open exchange in one of `slugs`."""
    existing = cur.execute(
        f"""
        SELECT exchange_id, program_areas, status FROM exchanges
        WHERE mentor = ? AND mentee = ? AND status IN ({", ".join("?" for _ in ACTIVE_STATUSES)})
        ORDER BY exchange_id""",
        [mentor, mentee, *ACTIVE_STATUSES],
    ).fetchall()
    for ex_id, ex_areas, ex_status in existing:
        overlap = [a for a in slugs if a in ex_areas.split(",")]
        if overlap:
            what = "an introduction request" if ex_status == REQUESTED else "exchange"
            raise Duplicate(
                f"{mentor} → {mentee} in {', '.join(catalog.area_short(a) for a in overlap)} is "
                f"already {what} {ex_id} ({status_label(ex_status)}): open that one instead",
                ex_id,
            )


def _history(cur, ex_id, version, changed_at, by, from_status, to_status, effective_at, changes, comment):
    cur.execute(
        "INSERT INTO exchange_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ex_id,
            version,
            changed_at,
            by,
            from_status,
            to_status,
            effective_at,
            json.dumps(changes, ensure_ascii=False, sort_keys=True),
            comment,
        ],
    ).fetchall()
    audit.record_in(cur, by, "edit", f"exchange {ex_id} version {version}: {from_status or 'new'} → {to_status}")


def _check_at(at, after: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The moment a status was reached: now by default; a date means that day (noon, or now if it is today)."""
    if at is None:
        at = now
    elif isinstance(at, dt.date) and not isinstance(at, dt.datetime):
        at = now if at == now.date() else dt.datetime.combine(at, dt.time(12, 0))
    at = pd.Timestamp(at).to_pydatetime().replace(microsecond=0)
    if at.date() > now.date():
        raise ExchangeError(f"the date {at.date().isoformat()} is in the future; record a status when it happens")
    if after is not None and at < after:
        if at.date() < after.date():
            raise ExchangeError(
                f"the date {at.date().isoformat()} is before the exchange's previous status "
                f"({after.date().isoformat()})"
            )
        at = after  # the same day: keep the order
    return at


def update(
    con,
    exchange_id: int,
    version: int,
    by: str,
    *,
    status: str | None = None,
    at=None,
    comment: str | None = None,
    now: dt.datetime | None = None,
    **fields,
) -> int:
    """Change an exchange in one step: optionally move it to `status` (reached at `at`, default now) and set any of
    the fields means, means_detail, planned_on, outcome, program_areas. `version` is the version the caller read;
    if the exchange changed since, raises StaleEdit and writes nothing. Writes one history row (who, when, the
    status before/after, every field's old → new value, the comment). Returns the new version (unchanged when
    nothing differs and there is no comment)."""
    by = _who(by)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ExchangeError(f"cannot set {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}")
    new: dict = {}
    if "means" in fields:
        new["means"] = _means(fields["means"])
    if "means_detail" in fields:
        new["means_detail"] = _text(fields["means_detail"], "means detail", MAX_DETAIL)
    if "outcome" in fields:
        new["outcome"] = _text(fields["outcome"], "outcome note")
    if "planned_on" in fields:
        v = fields["planned_on"]
        new["planned_on"] = None if v is None or v == "" else pd.Timestamp(v).date()
    if "program_areas" in fields:
        new["program_areas"] = ",".join(_areas(fields["program_areas"]))
    comment = _text(comment, "comment")
    target = None
    if status is not None:
        target = str(status).strip().lower().replace(" ", "_")
        if target not in STATUSES:
            raise InvalidTransition(
                f"{status!r} is not a status; statuses: " + ", ".join(STATUS_LABELS[s] for s in STATUSES)
            )
    now = now or basics.now()
    try:
        with transaction(con) as cur:
            cur_row = _read(cur, exchange_id)
            if int(cur_row["version"]) != int(version):
                raise _stale(cur_row)
            old_status = cur_row["status"]
            if old_status == REQUESTED and (target is not None or new):
                raise InvalidTransition(
                    f"exchange {exchange_id} is an introduction request: a program manager "
                    "accepts it (as proposed or introduced) or declines it with a reason first"
                )
            sets: dict = {}
            changes: dict = {}
            for k, v in new.items():
                old = cur_row[k]
                if isinstance(old, pd.Timestamp):
                    old = old.date()
                if _plain(old) != _plain(v):
                    sets[k] = v
                    changes[k] = [_plain(old), _plain(v)]
            effective = None
            if target is not None and target == old_status:
                raise InvalidTransition(
                    f"exchange {exchange_id} is already {status_label(old_status)}"
                    + _next_hint(old_status)
                    + " (to keep the status, give none)"
                )
            if target is not None:
                allowed = TRANSITIONS[old_status]
                if target not in allowed:
                    raise InvalidTransition(_transition_message(exchange_id, old_status, target))
                means_after = sets.get("means", cur_row["means"]) if "means" in new else cur_row["means"]
                if target == HELD and not means_after:
                    raise ExchangeError(
                        f"exchange {exchange_id}: to record 'exchange held', say how the states "
                        "shared (means: " + ", ".join(MEANS_LABELS[m] for m in MEANS) + ")"
                    )
                prev_time = cur_row[STATUS_TIME[old_status]]
                effective = _check_at(at, None if prev_time is None else pd.Timestamp(prev_time).to_pydatetime(), now)
                sets["status"] = target
                sets[STATUS_TIME[target]] = effective
                changes["status"] = [old_status, target]
            elif old_status in TERMINAL and set(sets) - {"outcome"}:
                raise InvalidTransition(
                    f"exchange {exchange_id} is {status_label(old_status)}, which is final: "
                    "only its outcome note and comments can still be added"
                )
            final_status = sets.get("status", old_status)
            if final_status in (HELD, CLOSED) and not (sets["means"] if "means" in sets else cur_row["means"]):
                raise ExchangeError(
                    f"exchange {exchange_id} is {status_label(final_status)}: the means the states "
                    "chose cannot be removed"
                )
            if not sets and not comment:
                return int(version)
            new_version = int(version) + 1
            assign = {**sets, "updated_at": now, "updated_by": by, "version": new_version}
            sql = f"UPDATE exchanges SET {', '.join(f'{k} = ?' for k in assign)} WHERE exchange_id = ? AND version = ?"
            n = cur.execute(sql, [*assign.values(), int(exchange_id), int(version)]).fetchall()[0][0]
            if n != 1:
                raise _stale(_read(cur, exchange_id))
            if target is not None:  # a status change: both states hear of it, in this transaction
                notify.exchange_changed(cur, int(exchange_id), old_status, by, comment=comment, now=now)
            _history(
                cur,
                int(exchange_id),
                new_version,
                now,
                by,
                old_status,
                sets.get("status", old_status),
                effective,
                changes,
                comment,
            )
            return new_version
    except WriteConflict:
        # Two writers committed against the same row at the same moment; the engine let the other one win.
        raise _stale(get(con, exchange_id)) from None


def transition(
    con, exchange_id: int, to_status: str, version: int, by: str, *, means=None, at=None, comment: str | None = None
) -> int:
    """Move an exchange to `to_status` (see the status machine). `means` may be given with it (needed for
    `exchange held` unless already set). Returns the new version."""
    fields = {"means": means} if means is not None else {}
    return update(con, exchange_id, version, by, status=to_status, at=at, comment=comment, **fields)


# --- introduction requests (state users) ---------------------------------------------------------------------------


def _eligibility(cur, mentor: str, mentee: str, slugs: list[str], cycle: int, asking: str) -> None:
    """Refuse (ExchangeError) unless, in `cycle`, the mentor is an eligible mentor in each area (offers help,
    maturity >= catalog.MENTOR_MIN, rated above the mentee) and the mentee needs it: it seeks help there (or, when
    the mentee itself asks, rates the area a gap). 'Other' areas must be the same named area."""
    rows = cur.execute(
        f"""
        SELECT state, program_area, maturity, offers_help, seeks_help, other_area FROM assessments
        WHERE cycle = ? AND state IN (?, ?) AND program_area IN ({", ".join("?" for _ in slugs)})""",
        [cycle, mentor, mentee, *slugs],
    ).fetchall()
    got = {(r[0], r[1]): r for r in rows}
    for a in slugs:
        label = catalog.area_short(a)
        m, e = got.get((mentor, a)), got.get((mentee, a))
        if m is None or not m[3] or int(m[2]) < catalog.MENTOR_MIN:
            raise ExchangeError(
                f"{mentor} is not an eligible mentor in {label} in {cycle} (a mentor offers help "
                f"there and rates itself {catalog.MENTOR_MIN} or higher)"
            )
        if e is None:
            raise ExchangeError(f"{mentee} did not report {label} in {cycle}")
        if int(m[2]) <= int(e[2]):
            raise ExchangeError(
                f"{mentor} ({int(m[2])}) is not rated above {mentee} ({int(e[2])}) in {label} in {cycle}"
            )
        gap_ok = asking == mentee and int(e[2]) <= catalog.GAP_MAX
        if not e[4] and not gap_ok:
            raise ExchangeError(f"{mentee} is not seeking guidance in {label} in {cycle}")
        if (
            a == catalog.OTHER
            and " ".join(str(m[5] or "").split()).casefold() != " ".join(str(e[5] or "").split()).casefold()
        ):
            raise ExchangeError(f"{mentor} and {mentee} name different 'other' areas in {cycle}")


def request_introduction(
    con,
    viewer: auth.Viewer,
    mentor,
    mentee,
    areas,
    cycle,
    message=None,
    *,
    offer_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """A state user asks for an introduction: to a mentor for one of its needs (the viewer's state is `mentee`),
    or offering help (the viewer's state is `mentor`). Creates an exchange in status `requested` (no proposed_at)
    with the optional `message`; returns its id. Refused, nothing written: a viewer who is not a state user of
    one of the two states (NotAllowed); a pair the cycle's self-assessments do not support (ExchangeError); an
    unanswered request or open exchange for the pair in that area (Duplicate, naming it); MAX_OPEN_REQUESTS
    unanswered requests from the state already (TooManyRequests); an `offer_id` that is not the mentor's published
    offer in the request's area (ExchangeError). A request made from an offer names it (`exchange_offers`)."""
    if not can_request(viewer):
        raise NotAllowed("only a state user can request an introduction (program managers open exchanges directly)")
    mentor, mentee = _state(mentor, "mentor"), _state(mentee, "mentee")
    if mentor == mentee:
        raise ExchangeError(f"mentor and mentee are both {mentor}: an introduction needs two different states")
    me = viewer.home_state
    if me not in (mentor, mentee):
        raise NotAllowed(f"as a {me} user you can request introductions for {me} only")
    slugs, cycle = _areas(areas), _cycle(cycle)
    message = _text(message, "message", MAX_MESSAGE)
    by = _who(viewer.name)
    now = now or basics.now()
    with transaction(con) as cur:
        cur.lock("exchange_open")  # the checks and the insert, one writer at a time (as open_exchange)
        _eligibility(cur, mentor, mentee, slugs, cycle, me)
        _refuse_duplicate(cur, mentor, mentee, slugs)
        if offer_id is not None:
            got = cur.execute(
                "SELECT state, program_area, status FROM offers WHERE offer_id = ?", [int(offer_id)]
            ).fetchall()
            if not got or got[0][0] != mentor or got[0][1] not in slugs or got[0][2] != "published":
                raise ExchangeError(
                    f"offer {offer_id} is not {mentor}'s published offer in "
                    f"{', '.join(catalog.area_short(a) for a in slugs)}"
                )
        waiting = int(
            cur.scalar("SELECT count(*) FROM exchanges WHERE status = ? AND requested_state = ?", [REQUESTED, me])
        )
        if waiting >= MAX_OPEN_REQUESTS:
            raise TooManyRequests(
                f"{me} already has {waiting} introduction requests waiting for a program manager "
                f"(at most {MAX_OPEN_REQUESTS} at once): wait for an answer or withdraw one first"
            )
        ex_id = int(cur.nextval("exchange_id_seq"))
        row = {
            "exchange_id": ex_id,
            "mentor": mentor,
            "mentee": mentee,
            "program_areas": ",".join(slugs),
            "cycle": cycle,
            "status": REQUESTED,
            "created_by": by,
            "updated_at": now,
            "updated_by": by,
            "version": 1,
            "synthetic": False,
            "requested_at": now,
            "requested_by": by,
            "requested_state": me,
            "request_message": message,
        }
        cur.insert("exchanges", row)
        changes = {
            k: [None, _plain(row[k])]
            for k in ("mentor", "mentee", "program_areas", "cycle", "status", "requested_state")
        }
        if offer_id is not None:
            cur.execute("INSERT INTO exchange_offers VALUES (?, ?)", [ex_id, int(offer_id)]).fetchall()
            changes["offer_id"] = [None, int(offer_id)]
        notify.request_made(cur, ex_id, by, now=now)  # both states' program managers hear of it
        _history(cur, ex_id, 1, now, by, None, REQUESTED, now, changes, None)
    return ex_id


def _answer(
    con, exchange_id: int, version: int, viewer: auth.Viewer, allowed, sets_for, comment, now: dt.datetime | None
) -> int:
    """One write answering a request: permission, version and status checked in the transaction."""
    now = now or basics.now()
    by = _who(viewer.name if viewer else None)
    try:
        with transaction(con) as cur:
            row = _read(cur, exchange_id)
            if not allowed(viewer, row):
                raise NotAllowed(
                    f"you cannot answer request {exchange_id}: the program manager of "
                    f"{row['mentor']} or {row['mentee']}, or ODP leadership, answers it"
                    + (f"; {row['requested_state']} may withdraw it" if row["requested_state"] else "")
                )
            if int(row["version"]) != int(version):
                raise RequestAnswered(row) if row["status"] != REQUESTED else _stale(row)
            if row["status"] != REQUESTED:
                raise InvalidTransition(
                    f"exchange {exchange_id} is not an introduction request waiting for an "
                    f"answer: it is {status_label(row['status'])}"
                )
            sets = sets_for(row, now)
            new_version = int(version) + 1
            assign = {**sets, "updated_at": now, "updated_by": by, "version": new_version}
            n = cur.execute(
                f"UPDATE exchanges SET {', '.join(f'{k} = ?' for k in assign)} WHERE exchange_id = ? AND version = ?",
                [*assign.values(), int(exchange_id), int(version)],
            ).fetchall()[0][0]
            if n != 1:
                raise RequestAnswered(_read(cur, exchange_id))
            notify.request_answered(cur, int(exchange_id), by, now=now)  # the asking state hears of it
            changes = {"status": [REQUESTED, sets["status"]]}
            if sets.get("decline_reason"):
                changes["decline_reason"] = [None, sets["decline_reason"]]
            _history(cur, int(exchange_id), new_version, now, by, REQUESTED, sets["status"], now, changes, comment)
            return new_version
    except WriteConflict:
        raise RequestAnswered(get(con, exchange_id)) from None


def accept_request(
    con,
    exchange_id: int,
    version: int,
    viewer: auth.Viewer,
    to: str = PROPOSED,
    *,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """The PM of either state (or leadership) accepts a request: it becomes an exchange, `proposed` (the PM will
    introduce the states) or straight away `introduced` (the PM introduced them). proposed_at is now (and
    introduced_at too when `to` is introduced). Returns the new version; RequestAnswered (a StaleEdit) when
    someone answered it since `version` was read; NotAllowed for anyone else."""
    to = str(to).strip().lower().replace(" ", "_")
    if to not in REQUEST_ACCEPT:
        raise InvalidTransition(f"a request is accepted as {' or '.join(REQUEST_ACCEPT)}, not {to!r}")
    comment = _text(comment, "comment")

    def sets(row, now):
        out = {"status": to, "proposed_at": now}
        if to == INTRODUCED:
            out["introduced_at"] = now
        return out

    return _answer(con, exchange_id, version, viewer, can_answer, sets, comment, now)


def decline_request(
    con, exchange_id: int, version: int, viewer: auth.Viewer, reason: str | None, *, now: dt.datetime | None = None
) -> int:
    """Decline a request with a reason the state sees (the PM of either state, or leadership), or withdraw it (the
    state that asked; the reason is then optional). Returns the new version."""
    reason = _text(reason, "reason", MAX_MESSAGE)
    withdrawing = viewer is not None and viewer.role == auth.STATE
    if not reason and not withdrawing:
        raise ExchangeError("say why the request is declined: the state sees the reason")

    def allowed(v, row):
        return can_withdraw(v, row) if withdrawing else can_answer(v, row)

    def sets(row, now):
        why = reason or ""
        if withdrawing:
            why = f"withdrawn by {row['requested_state']}" + (f": {why}" if why else "")
        return {"status": DECLINED, "declined_at": now, "decline_reason": why}

    return _answer(con, exchange_id, version, viewer, allowed, sets, None, now)


def requests_of(con, viewer: auth.Viewer | None, state: str | None = None) -> pd.DataFrame:
    """Introduction requests the viewer may see (of `state` only, if given: as asker or partner), newest first:
    exchange_id, mentor, mentee, areas_label, status, status_label, requested_state, requested_by, requested_at,
    request_message, decline_reason, kind ('asks for a mentor' / 'offers help'), partner."""
    df = list_exchanges(con, viewer)
    df = df[df["requested_at"].notna()]
    if state is not None:
        df = df[(df["mentor"] == state) | (df["mentee"] == state)]
    df = df.assign(
        kind=["asks for a mentor" if r == e else "offers help" for r, e in zip(df["requested_state"], df["mentee"])]
    )
    df["partner"] = [e if r == m else m for r, m, e in zip(df["requested_state"], df["mentor"], df["mentee"])]
    df["request_message"] = df["request_message"].fillna("")
    df["decline_reason"] = df["decline_reason"].fillna("")
    return df.sort_values("requested_at", ascending=False).reset_index(drop=True)


def request_choices(state: str, mentors: pd.DataFrame | None, mentees: pd.DataFrame | None) -> list[dict]:
    """What `state` may ask for from its profile's recommended partners (`profile.StateProfile.mentors` /
    `.mentees`): one dict per (partner, area): mentor, mentee, program_area, label."""
    out = []
    for frame, asks in ((mentors, True), (mentees, False)):
        if frame is None or not len(frame):
            continue
        for r in frame.itertuples(index=False):
            mentor, mentee = (r.partner, state) if asks else (state, r.partner)
            label = (
                f"Ask {r.partner_name} ({r.partner}) to mentor {state} · {r.short}"
                if asks
                else f"Offer to mentor {r.partner_name} ({r.partner}) · {r.short}"
            )
            out.append({"mentor": mentor, "mentee": mentee, "program_area": r.program_area, "label": label})
    return out


def _next_hint(status: str) -> str:
    nxt = TRANSITIONS[status]
    if not nxt:
        return f"; {status_label(status)} is final: no further status is possible"
    return "; it can move to: " + " or ".join(status_label(s) for s in nxt)


def _transition_message(exchange_id, current: str, target: str) -> str:
    return (
        f"exchange {exchange_id} cannot go from {status_label(current)} to {status_label(target)}: "
        f"it is {status_label(current)}" + _next_hint(current)
    )


def _read(cur, exchange_id) -> dict:
    rows = cur.execute(
        f"SELECT {', '.join(ROW_COLUMNS)} FROM exchanges WHERE exchange_id = ?", [int(exchange_id)]
    ).fetchall()
    if not rows:
        raise NotFound(f"there is no exchange {exchange_id}")
    return dict(zip(ROW_COLUMNS, rows[0]))


def _stale(row: dict) -> StaleEdit:
    return StaleEdit(
        int(row["exchange_id"]), row["updated_by"], pd.Timestamp(row["updated_at"]).to_pydatetime(), int(row["version"])
    )


def refer_to_ta(con, state, area, cycle, reason, by, *, exchange_id: int | None = None, synthetic: bool = False) -> int:
    """Record that `state`'s need in `area` (cycle) goes to the technical-assistance program. Returns the referral
    id; a need already referred keeps its first referral (that id is returned, nothing is overwritten)."""
    state = _state(state, "state")
    [area] = _areas([area])
    cycle, by = _cycle(cycle), _who(by)
    reason = _text(reason, "reason")
    if not reason:
        raise ExchangeError("say why the need is referred to technical assistance")
    with transaction(con) as cur:
        got = cur.execute(
            "SELECT referral_id FROM ta_referrals WHERE state = ? AND program_area = ? AND cycle = ?",
            [state, area, cycle],
        ).fetchall()
        if got:
            return int(got[0][0])
        rid = int(cur.execute("SELECT nextval('ta_referral_id_seq')").fetchall()[0][0])
        cur.execute(
            "INSERT INTO ta_referrals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [rid, state, area, cycle, reason, by, basics.now(), exchange_id, bool(synthetic)],
        ).fetchall()
        audit.record_in(cur, by, "edit", f"TA referral {rid}: {state} {area} {cycle}")
    return rid


def refer_declined(con, exchange_id: int, by: str) -> list[int]:
    """A declined exchange's mentee need, in each of its program areas, referred to technical assistance (the
    reason names the exchange and the mentor). Returns the referral ids; an area already referred keeps its first
    referral. Refused (ExchangeError) unless the exchange is declined."""
    ex = get(con, exchange_id)
    if ex["status"] != DECLINED:
        raise ExchangeError(
            f"exchange {exchange_id} is {status_label(ex['status'])}, not declined: "
            "only a declined exchange's need is referred to technical assistance"
        )
    reason = f"exchange {exchange_id} with {ex['mentor']} was declined"
    return [
        refer_to_ta(con, ex["mentee"], area, ex["cycle"], reason, by, exchange_id=int(exchange_id))
        for area in ex["program_areas"].split(",")
    ]


def _scope(viewer: auth.Viewer | None, a: str = "mentor", b: str | None = "mentee") -> tuple[str, list]:
    """SQL condition (and params) limiting rows to what `viewer` may see (None: everything, for the CLI)."""
    if viewer is None or viewer.role == auth.LEADERSHIP:
        return "true", []
    states = list(viewer.states)
    if not states:
        return "false", []
    marks = ", ".join("?" for _ in states)
    if b is None:
        return f"{a} IN ({marks})", states
    return f"({a} IN ({marks}) OR {b} IN ({marks}))", states + states


# --- reads -------------------------------------------------------------------------------------------------------


def get(con, exchange_id: int) -> dict:
    """One exchange as a dict (all columns); raises NotFound."""
    with transaction(con) as cur:
        return _read(cur, exchange_id)


def list_exchanges(con, viewer: auth.Viewer | None, status: str | None = None) -> pd.DataFrame:
    """The exchanges `viewer` may see (newest first), with state names, regions, area labels, status/means labels,
    `first_contact_at` (= introduced_at) and `days_to_first_contact`."""
    where, params = _scope(viewer)
    if status:
        where += " AND status = ?"
        params = params + [status]
    df = query_df(
        con, f"SELECT {', '.join(ROW_COLUMNS)} FROM exchanges WHERE {where} ORDER BY exchange_id DESC", params
    )
    names, regions = jurisdictions.names(), jurisdictions.regions()
    df["mentor_name"] = df["mentor"].map(names)
    df["mentee_name"] = df["mentee"].map(names)
    df["mentor_region"] = df["mentor"].map(regions).astype("Int64")
    df["mentee_region"] = df["mentee"].map(regions).astype("Int64")
    df["areas_label"] = [", ".join(catalog.area_short(a) for a in s.split(",")) for s in df["program_areas"]]
    df["status_label"] = df["status"].map(STATUS_LABELS)
    df["means_label"] = [means_label(m) if isinstance(m, str) else "" for m in df["means"]]
    df["first_contact_at"] = df["introduced_at"]
    df["days_to_first_contact"] = ((df["introduced_at"] - df["proposed_at"]).dt.total_seconds() / 86400).round(1)
    df["version"] = df["version"].astype(int)
    df["synthetic"] = df["synthetic"].astype(bool)
    return df


def history(con, exchange_id: int) -> pd.DataFrame:
    """The exchange's full history, oldest first: version, changed_at, changed_by, from_status, to_status,
    effective_at, changes (JSON), comment, and `summary` (the changes in words)."""
    df = query_df(
        con,
        """
        SELECT version, changed_at, changed_by, from_status, to_status, effective_at, changes, comment
        FROM exchange_history WHERE exchange_id = ? ORDER BY version""",
        [int(exchange_id)],
    )
    df["summary"] = [describe_changes(json.loads(c), f) for c, f in zip(df["changes"], df["from_status"])]
    df["comment"] = df["comment"].fillna("")
    return df


def describe_changes(changes: dict, from_status) -> str:
    """A history row's changes in words: 'opened · status proposed → introduced · means (none) → teleconference'."""
    if from_status is None or (isinstance(from_status, float) and from_status != from_status):
        areas = changes.get("program_areas", [None, ""])[1] or ""
        first = changes.get("status", [None, PROPOSED])[1]
        text = (
            "opened as proposed"
            if first != REQUESTED
            else f"introduction requested by {changes.get('requested_state', [None, '?'])[1]}"
        )
        if areas:
            text += " · " + ", ".join(catalog.area_short(a) for a in areas.split(","))
        if changes.get("means", [None, None])[1]:
            text += f" · means {means_label(changes['means'][1])}"
        return text
    parts = []
    for field, (old, new) in sorted(changes.items(), key=lambda kv: kv[0] != "status"):
        if field == "status":
            parts.append(f"status {status_label(old)} → {status_label(new)}")
        elif field == "means":
            parts.append(f"means {means_label(old) or '(none)'} → {means_label(new) or '(none)'}")
        elif field == "program_areas":
            fmt = lambda v: ", ".join(catalog.area_short(a) for a in v.split(",")) if v else "(none)"  # noqa: E731
            parts.append(f"areas {fmt(old)} → {fmt(new)}")
        elif field == "outcome":
            parts.append("outcome note " + ("added" if not old else "removed" if not new else "edited"))
        elif field == "means_detail":
            parts.append("means detail " + ("added" if not old else "removed" if not new else "edited"))
        elif field == "planned_on":
            parts.append(f"planned date {old or '(none)'} → {new or '(none)'}")
        elif field == "decline_reason":
            parts.append(f"reason: {new}" if new else "reason removed")
        else:
            parts.append(f"{field} changed")
    return " · ".join(parts) or "comment"


def ta_referrals(con, viewer: auth.Viewer | None, cycle: int | None = None) -> pd.DataFrame:
    """Referrals to technical assistance the viewer may see (PM and state users: their states), newest first."""
    where, params = _scope(viewer, "state", None)
    if cycle is not None:
        where += " AND cycle = ?"
        params = params + [int(cycle)]
    df = query_df(
        con,
        f"""
        SELECT referral_id, state, program_area, cycle, reason, referred_by, referred_at, exchange_id, synthetic
        FROM ta_referrals WHERE {where} ORDER BY referred_at DESC, referral_id DESC""",
        params,
    )
    df["state_name"] = df["state"].map(jurisdictions.names())
    df["area_label"] = df["program_area"].map(lambda a: catalog.area_short(a))
    df["synthetic"] = df["synthetic"].astype(bool)
    return df


@dataclass(frozen=True)
class Summary:
    total: int
    open: int
    by_status: pd.DataFrame  # status, label, count (every status, in machine order)
    by_area: pd.DataFrame  # program_area, label, count (an exchange counts once in each of its areas)
    by_region: pd.DataFrame  # fema_region, label, count (once in each region it involves)
    median_days_to_first_contact: float | None
    introduced: int  # exchanges with a first contact (in the median)
    awaiting_introduction: int  # still `proposed`
    requests_open: int = 0  # introduction requests waiting for a PM (not exchanges yet: in no other count)
    requests_declined: int = 0  # requests declined or withdrawn before they became exchanges


def summary(con, viewer: auth.Viewer | None, rows: pd.DataFrame | None = None) -> Summary:
    """Counts by status, area and region and the median days to first contact (see the module docstring).
    Introduction requests never accepted are not exchanges: only `requests_open` / `requests_declined` count them.
    `rows`: list_exchanges(con, viewer) when the caller already has it."""
    df = list_exchanges(con, viewer) if rows is None else rows
    never = df["proposed_at"].isna()
    requests_open = int((never & (df["status"] == REQUESTED)).sum())
    requests_declined = int((never & (df["status"] == DECLINED)).sum())
    df = df[~never]
    by_status = pd.DataFrame({"status": list(STATUSES), "label": [STATUS_LABELS[s] for s in STATUSES]})
    counts = df["status"].value_counts()
    by_status["count"] = [int(counts.get(s, 0)) for s in STATUSES]
    area_counts: dict[str, int] = {}
    for s in df["program_areas"]:
        for a in s.split(","):
            area_counts[a] = area_counts.get(a, 0) + 1
    by_area = pd.DataFrame(
        [
            {"program_area": a, "label": catalog.area_short(a), "count": area_counts[a]}
            for a in catalog.AREA_SLUGS
            if a in area_counts
        ],
        columns=["program_area", "label", "count"],
    )
    region_counts: dict[int, int] = {}
    for m, e in zip(df["mentor_region"], df["mentee_region"]):
        for r in {int(m), int(e)}:
            region_counts[r] = region_counts.get(r, 0) + 1
    by_region = pd.DataFrame(
        [
            {"fema_region": r, "label": jurisdictions.region_label(r), "count": region_counts[r]}
            for r in sorted(region_counts)
        ],
        columns=["fema_region", "label", "count"],
    )
    days = df["days_to_first_contact"].dropna()
    return Summary(
        total=len(df),
        open=int(df["status"].isin(OPEN_STATUSES).sum()),
        by_status=by_status,
        by_area=by_area,
        by_region=by_region,
        median_days_to_first_contact=float(days.median()) if len(days) else None,
        introduced=len(days),
        awaiting_introduction=int((df["status"] == PROPOSED).sum()),
        requests_open=requests_open,
        requests_declined=requests_declined,
    )


def arcs(con, viewer: auth.Viewer | None, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per visible exchange × program area, for an arc map: exchange_id, mentor, mentee, program_area,
    status, mentor_lon, mentor_lat, mentee_lon, mentee_lat (each state's label point in `jurisdictions.geojson()`, where Alaska,
    Hawaii and the territories sit as insets). `rows`: list_exchanges(con, viewer) when the caller already has it."""
    cols = [
        "exchange_id",
        "mentor",
        "mentee",
        "program_area",
        "status",
        "mentor_lon",
        "mentor_lat",
        "mentee_lon",
        "mentee_lat",
    ]
    df = list_exchanges(con, viewer) if rows is None else rows
    df = df[df["proposed_at"].notna()]  # requests not (yet) accepted are not exchanges
    pts = label_points()
    rows = []
    for r in df.itertuples(index=False):
        for a in r.program_areas.split(","):
            (mlon, mlat), (elon, elat) = pts[r.mentor], pts[r.mentee]
            rows.append([int(r.exchange_id), r.mentor, r.mentee, a, r.status, mlon, mlat, elon, elat])
    return pd.DataFrame(rows, columns=cols)


def label_points() -> dict[str, tuple[float, float]]:
    """{USPS code: (lon, lat)} of each jurisdiction's label point on the shipped map."""
    return {
        f["properties"]["code"]: (float(f["properties"]["label_lon"]), float(f["properties"]["label_lat"]))
        for f in jurisdictions.geojson()["features"]
    }


# Each state's view of the latest cycle's held demo exchanges (state, useful 1-5, what changed, what it would do
# differently); the earlier cycles' views are drawn at random by shisn.demo.exchange_plan.


# Arc colours by status; the names are Streamlit's markdown/badge colours, so the legend and badges match the map.


def refer_all(con, referrals: pd.DataFrame, cycle: int, by: str) -> int:
    """Record every row of a pairing's referral table (mentee, program_area, reason) as a TA referral; returns how
    many were new (needs already referred keep their first referral)."""
    before = len(query_df(con, "SELECT referral_id FROM ta_referrals WHERE cycle = ?", [int(cycle)]))
    for r in referrals.itertuples(index=False):
        refer_to_ta(con, r.mentee, r.program_area, cycle, r.reason, by)
    return len(query_df(con, "SELECT referral_id FROM ta_referrals WHERE cycle = ?", [int(cycle)])) - before


def involving(con, viewer: auth.Viewer | None, state: str, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Open exchanges `state` takes part in (as the viewer may see them), for its profile and report: id, partner,
    its part (mentor/mentee), areas, status, proposed date. `rows`: list_exchanges(con, viewer) if the caller has
    it (the app's cached list)."""
    df = list_exchanges(con, viewer) if rows is None else rows
    df = df[(df["mentor"] == state) | (df["mentee"] == state)]
    df = df[df["status"].isin(OPEN_STATUSES)]
    return pd.DataFrame(
        {
            "Exchange": df["exchange_id"].astype(int),
            "Part": ["mentor" if m == state else "mentee" for m in df["mentor"]],
            "With": [jurisdictions.names()[e if m == state else m] for m, e in zip(df["mentor"], df["mentee"])],
            "Program areas": df["areas_label"],
            "Status": df["status_label"],
            "Proposed": pd.to_datetime(df["proposed_at"]).dt.date,
        }
    ).reset_index(drop=True)
