"""The practices library: what the network has learned, written by the states that learned it.

After an exchange is held, either of its states can turn what it learned into a practice: a title, the program
area, a summary, what worked, what it would do differently, the documents it names (named, never uploaded) and the
exchange it came from. A state can also write a practice without an exchange. A practice is private (seen by its
state's users, its program manager and leadership) until its state publishes it; once published every signed-in
user sees it, with the state named and a link to the state's offer in that area, if it has one. An exchange's own
notes and the states' views of it stay private as before: a practice holds only what its state chose to write.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from shisn.domain import auth, basics, catalog, exchange_rules, jurisdictions
from shisn.store import audit, queries
from shisn.store.db import query_df, transaction

PRIVATE, PUBLISHED = "private", "published"
STATUSES: tuple[str, ...] = (PRIVATE, PUBLISHED)
MAX_TITLE, MAX_TEXT, MAX_DOCUMENTS = 120, 4000, 2000
FIELDS = ("program_area", "title", "summary", "what_worked", "differently", "documents", "exchange_id", "offer_id")
COLUMNS = [
    "practice_id",
    "state",
    "program_area",
    "title",
    "summary",
    "what_worked",
    "differently",
    "documents",
    "exchange_id",
    "offer_id",
    "status",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "published_at",
    "version",
    "synthetic",
]
HELD = (exchange_rules.HELD, exchange_rules.CLOSED)


class PracticeError(ValueError):
    """A practice that cannot be written as asked; nothing was changed."""


class StalePractice(PracticeError):
    """The practice changed since the version the writer read."""


class NotAllowed(PracticeError):
    """The viewer may not write this practice."""


def can_write(viewer: auth.Viewer | None, state: str) -> bool:
    """A state's own users, its program manager and leadership write its practices."""
    return viewer is not None and viewer.sees_detail_of(state)


def _state(value) -> str:
    code = jurisdictions.state_code(value) if value else None
    if code is None:
        raise PracticeError(f"state {value!r} is not one of the 56 reporting jurisdictions (use a USPS code)")
    return code


def _text(value, what: str, limit: int, required: bool = False) -> str | None:
    s = basics.bounded_text(value, limit, f"the {what} is {{n}} characters long; the limit is {{limit}}", PracticeError)
    if required and not s:
        raise PracticeError(f"say the {what}")
    return s


def _id(value, what: str) -> int | None:
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise PracticeError(f"the {what} must be a number, not {value!r}") from None


def clean(fields: dict) -> dict:
    out = {}
    for k, v in fields.items():
        if k == "program_area":
            slug = catalog.area_slug(v) if v else None
            if slug is None:
                raise PracticeError(f"program area {v!r} is not one of: {', '.join(catalog.AREA_SLUGS)}")
            out[k] = slug
        elif k == "title":
            out[k] = _text(v, "title", MAX_TITLE, required=True)
        elif k == "summary":
            out[k] = _text(v, "summary", MAX_TEXT, required=True)
        elif k in ("what_worked", "differently"):
            out[k] = _text(v, "what worked" if k == "what_worked" else "what it would do differently", MAX_TEXT)
        elif k == "documents":
            out[k] = _text(v, "list of documents", MAX_DOCUMENTS)
        elif k in ("exchange_id", "offer_id"):
            out[k] = _id(v, "exchange" if k == "exchange_id" else "offer")
        else:
            raise PracticeError(f"{k!r} is not a field of a practice")
    return out


def _check_links(cur, state: str, row: dict) -> None:
    """The exchange a practice came from must be held (or closed) with `state` one of its two states, in the
    practice's area; the offer it links to must be the state's own."""
    ex_id = row.get("exchange_id")
    if ex_id is not None:
        got = cur.execute(
            "SELECT mentor, mentee, status, program_areas FROM exchanges WHERE exchange_id = ?", [ex_id]
        ).fetchall()
        if not got:
            raise PracticeError(f"there is no exchange {ex_id}")
        mentor, mentee, status, areas = got[0]
        if state not in (mentor, mentee):
            raise PracticeError(f"exchange {ex_id} is between {mentor} and {mentee}, not {state}")
        if status not in HELD:
            raise PracticeError(
                f"exchange {ex_id} is {exchange_rules.status_label(status)}: a practice comes from an exchange held"
            )
        if row.get("program_area") and row["program_area"] not in str(areas).split(","):
            raise PracticeError(
                f"exchange {ex_id} was about {', '.join(catalog.area_short(a) for a in str(areas).split(','))}, "
                f"not {catalog.area_short(row['program_area'])}"
            )
    offer_id = row.get("offer_id")
    if offer_id is not None:
        got = cur.execute("SELECT state FROM offers WHERE offer_id = ?", [offer_id]).fetchall()
        if not got or got[0][0] != state:
            raise PracticeError(f"offer {offer_id} is not one of {state}'s offers")


def create(
    con,
    viewer: auth.Viewer,
    *,
    state,
    publish: bool = False,
    now: dt.datetime | None = None,
    synthetic: bool = False,
    **fields,
) -> int:
    """A new practice of `state`, private or published at once; returns its id. Refused (nothing written): a field
    that does not pass, an exchange the state did not hold, a viewer who may not write the state's practices."""
    state = _state(state)
    if not can_write(viewer, state):
        raise NotAllowed(f"only {state}'s users, its program manager or leadership write {state}'s practices")
    missing = [f for f in ("program_area", "title", "summary") if f not in fields]
    if missing:
        raise PracticeError(f"say the practice's {', '.join(missing)}")
    row = clean(fields)
    now = now or basics.now()
    by = basics.named(viewer.name, "who is writing the practice must be named", PracticeError)
    status = PUBLISHED if publish else PRIVATE
    with transaction(con) as cur:
        cur.lock("practices")  # writers of practices one at a time, across processes and replicas
        _check_links(cur, state, row)
        pid = int(cur.nextval("practice_id_seq"))
        fields = {k: row.get(k) for k in FIELDS}
        full = basics.authored(
            "practice_id", pid, state, fields, status=status, published=publish, by=by, now=now, synthetic=synthetic
        )
        cur.insert("practices", full)
        audit.record_in(cur, by, "edit", f"practice {pid} ({state} {row['program_area']}) written, {status}")
    return pid


def _read(cur, practice_id: int) -> dict:
    row = cur.row("practices", COLUMNS, "practice_id", int(practice_id))
    if row is None:
        raise PracticeError(f"there is no practice {practice_id}")
    return row


def update(
    con,
    viewer: auth.Viewer,
    practice_id: int,
    version: int,
    *,
    status: str | None = None,
    now: dt.datetime | None = None,
    **fields,
) -> int:
    """Change a practice's fields and/or publish it (or make it private again), as of `version`; returns the new
    version. Raises StalePractice if it changed since, PracticeError/NotAllowed (nothing written)."""
    new = clean(fields)
    if status is not None and status not in STATUSES:
        raise PracticeError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    now = now or basics.now()
    by = basics.named(getattr(viewer, "name", None), "who is writing the practice must be named", PracticeError)
    with transaction(con) as cur:
        cur.lock("practices")  # the version read and the update, one writer at a time
        row = _read(cur, practice_id)
        if not can_write(viewer, row["state"]):
            raise NotAllowed(f"only {row['state']}'s users, its program manager or leadership change its practices")
        if int(row["version"]) != int(version):
            raise StalePractice(
                f"practice {practice_id} was changed by {row['updated_by']} since you opened it: reload to see it"
            )
        _check_links(cur, row["state"], {**row, **new})
        changed = {k: v for k, v in new.items() if row[k] != v}
        target = row["status"] if status is None else status
        if not changed and target == row["status"]:
            return int(row["version"])
        v = int(row["version"]) + 1
        sets = {**changed, "status": target, "updated_by": by, "updated_at": now, "version": v}
        if target == PUBLISHED and row["status"] != PUBLISHED:
            sets["published_at"] = now
        cur.execute(
            f"UPDATE practices SET {', '.join(f'{k} = ?' for k in sets)} WHERE practice_id = ?",
            [*sets.values(), int(practice_id)],
        ).fetchall()
        what = sorted(changed) + ([f"now {target}"] if target != row["status"] else [])
        audit.record_in(cur, by, "edit", f"practice {practice_id}: {', '.join(what)}")
    return v


def publish(con, viewer, practice_id: int, version: int, **kw) -> int:
    return update(con, viewer, practice_id, version, status=PUBLISHED, **kw)


def get(con, practice_id: int) -> dict:
    with transaction(con) as cur:
        return _read(cur, practice_id)


def visible(con, viewer: auth.Viewer | None, *, state: str | None = None, area: str | None = None) -> pd.DataFrame:
    """The practices `viewer` may see: published ones and its own states' private ones (None: everything)."""
    scope, params = queries.published_or_own(viewer, PUBLISHED)
    sql = f"SELECT {', '.join(COLUMNS)} FROM practices WHERE {scope}"
    for col, val in (("state", state), ("program_area", area)):
        if val is not None:
            sql += f" AND {col} = ?"
            params.append(val)
    return query_df(con, sql + " ORDER BY updated_at DESC, practice_id DESC", params)


def published(con, *, state: str | None = None, area: str | None = None) -> pd.DataFrame:
    """Every published practice, with the state's published offer in that area (`offer_id`, `offer_title`) when
    the practice names none."""
    sql = (
        f"SELECT {', '.join('p.' + c for c in COLUMNS if c != 'offer_id')}, coalesce(p.offer_id, o.offer_id) AS "
        "offer_id, o2.title AS offer_title FROM practices p "
        "LEFT JOIN offers o ON o.state = p.state AND o.program_area = p.program_area AND o.status = 'published' "
        "LEFT JOIN offers o2 ON o2.offer_id = coalesce(p.offer_id, o.offer_id) WHERE p.status = ?"
    )
    params: list = [PUBLISHED]
    for col, val in (("state", state), ("program_area", area)):
        if val is not None:
            sql += f" AND p.{col} = ?"
            params.append(val)
    return query_df(con, sql + " ORDER BY p.state, p.program_area, p.practice_id", params)


def held_exchanges(con, viewer: auth.Viewer, state: str) -> pd.DataFrame:
    """The exchanges held (or closed) that `state` took part in, for writing a practice from one: exchange_id,
    mentor, mentee, program_areas, cycle."""
    if not can_write(viewer, state):
        return pd.DataFrame(columns=["exchange_id", "mentor", "mentee", "program_areas", "cycle"])
    return query_df(
        con,
        "SELECT exchange_id, mentor, mentee, program_areas, cycle FROM exchanges WHERE (mentor = ? OR mentee = ?) "
        "AND status IN (?, ?) ORDER BY exchange_id DESC",
        [state, state, *HELD],
    )
