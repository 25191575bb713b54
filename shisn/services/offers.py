"""Published offers: what a state can give in one program area, described before anyone asks.

An offer has a title, what it covers, the formats it can take (teleconference, on-site visit, documents and
templates, staff shadowing), how many exchanges it can take per cycle (its capacity), the lead time in days, and what
the mentee should prepare. Its life: draft -> published -> withdrawn (a withdrawn offer may be published again, a
published one taken back to draft), every change one row of the append-only `offer_history`.

Who sees what: a published offer every signed-in user; a draft or withdrawn offer only its state's users, the
state's program manager and leadership, who are also the ones who may write it. One state has at most one published
offer per program area: the pairing gives that state, in that area, the offer's capacity (shisn.domain.pairing).

Every write names the version it read (optimistic concurrency, as the exchanges): a stale write raises StaleOffer and
writes nothing. Everything here is callable without Streamlit; the CLI loads and exports offers as a CSV file
(shisn.services.offer_file).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from shisn.domain import auth, basics, catalog, jurisdictions
from shisn.store import audit, queries
from shisn.store.db import query_df, transaction

DRAFT, PUBLISHED, WITHDRAWN = "draft", "published", "withdrawn"
STATUSES: tuple[str, ...] = (DRAFT, PUBLISHED, WITHDRAWN)
STATUS_LABELS = {DRAFT: "draft", PUBLISHED: "published", WITHDRAWN: "withdrawn"}
TRANSITIONS = {DRAFT: (PUBLISHED, WITHDRAWN), PUBLISHED: (WITHDRAWN, DRAFT), WITHDRAWN: (PUBLISHED, DRAFT)}
FORMATS: tuple[str, ...] = ("teleconference", "on_site_visit", "documents", "shadowing")
FORMAT_LABELS = {
    "teleconference": "teleconference",
    "on_site_visit": "on-site visit",
    "documents": "documents and templates",
    "shadowing": "staff shadowing",
}
MAX_TITLE, MAX_TEXT, MAX_CAPACITY, MAX_LEAD_DAYS = 120, 2000, 20, 365
FIELDS = ("program_area", "title", "covers", "formats", "capacity", "lead_time_days", "prepare")
COLUMNS = [
    "offer_id",
    "state",
    "program_area",
    "title",
    "covers",
    "formats",
    "capacity",
    "lead_time_days",
    "prepare",
    "status",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "published_at",
    "version",
    "synthetic",
]


class OfferError(ValueError):
    """An offer that cannot be written as asked; nothing was changed."""


class StaleOffer(OfferError):
    """The offer changed since the version the writer read."""


class NotAllowed(OfferError):
    """The viewer may not write this offer."""


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, str(status))


def format_label(fmt: str) -> str:
    return FORMAT_LABELS.get(fmt, str(fmt))


def formats_text(formats: str | None) -> str:
    """'teleconference,on_site_visit' -> 'teleconference, on-site visit'."""
    return ", ".join(format_label(f) for f in str(formats or "").split(",") if f)


def can_write(viewer: auth.Viewer | None, state: str) -> bool:
    """The state's own users, its program manager and leadership write a state's offers."""
    return viewer is not None and viewer.sees_detail_of(state)


def writable_states(viewer: auth.Viewer | None) -> list[str]:
    """The states whose offers and practices `viewer` writes: a state user its own, a program manager the assigned
    ones, leadership every jurisdiction."""
    if viewer is None:
        return []
    return list(jurisdictions.codes()) if viewer.role == auth.LEADERSHIP else list(viewer.states)


def can_see(viewer: auth.Viewer | None, state: str, status: str) -> bool:
    return viewer is not None and (status == PUBLISHED or can_write(viewer, state))


# --- validation ---------------------------------------------------------------------------------------------------


def _state(value) -> str:
    code = jurisdictions.state_code(value) if value else None
    if code is None:
        raise OfferError(f"state {value!r} is not one of the 56 reporting jurisdictions (use a USPS code such as VA)")
    return code


def _area(value) -> str:
    slug = catalog.area_slug(value) if value else None
    if slug is None:
        raise OfferError(f"program area {value!r} is not one of: {', '.join(catalog.AREA_SLUGS)}")
    return slug


def _formats(value) -> str:
    items = value if isinstance(value, (list, tuple, set)) else str(value or "").replace(";", ",").split(",")
    out = []
    for item in items:
        f = str(item).strip().lower().replace("-", "_").replace(" ", "_")
        if not f:
            continue
        f = {"on_site": "on_site_visit", "documents_and_templates": "documents", "staff_shadowing": "shadowing"}.get(
            f, f
        )
        if f not in FORMATS:
            raise OfferError(f"format {item!r} is not one of: {', '.join(FORMATS)}")
        if f not in out:
            out.append(f)
    if not out:
        raise OfferError("name at least one format (teleconference, on-site visit, documents, shadowing)")
    return ",".join(f for f in FORMATS if f in out)


def _whole(value, what: str, lo: int, hi: int, optional: bool = False) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and value != value):
        if optional:
            return None
        raise OfferError(f"say the {what}")
    try:
        number = float(str(value).strip())
        v = int(number)
        if number != v:
            raise ValueError
    except (ValueError, OverflowError):
        raise OfferError(f"the {what} must be a whole number, not {value!r}") from None
    if not lo <= v <= hi:
        raise OfferError(f"the {what} must be between {lo} and {hi}, not {v}")
    return v


def _text(value, what: str, limit: int, required: bool = False) -> str | None:
    s = basics.bounded_text(value, limit, f"the {what} is {{n}} characters long; the limit is {{limit}}", OfferError)
    if required and not s:
        raise OfferError(f"say the {what}")
    return s


def clean(fields: dict) -> dict:
    """The offer's fields checked and normalised (FIELDS that are present); raises OfferError naming the field."""
    out = {}
    for k, v in fields.items():
        if k == "program_area":
            out[k] = _area(v)
        elif k == "title":
            out[k] = _text(v, "title", MAX_TITLE, required=True)
        elif k == "covers":
            out[k] = _text(v, "description of what it covers", MAX_TEXT, required=True)
        elif k == "formats":
            out[k] = _formats(v)
        elif k == "capacity":
            out[k] = _whole(v, "capacity (exchanges per cycle)", 1, MAX_CAPACITY)
        elif k == "lead_time_days":
            out[k] = _whole(v, "lead time in days", 0, MAX_LEAD_DAYS, optional=True)
        elif k == "prepare":
            out[k] = _text(v, "what the mentee should prepare", MAX_TEXT)
        else:
            raise OfferError(f"{k!r} is not a field of an offer")
    return out


def _plain(v):
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return v


# --- writes --------------------------------------------------------------------------------------------------------


def _published_twin(cur, state: str, area: str, offer_id: int | None) -> int | None:
    got = cur.execute(
        "SELECT offer_id FROM offers WHERE state = ? AND program_area = ? AND status = ? AND offer_id <> ?",
        [state, area, PUBLISHED, -1 if offer_id is None else int(offer_id)],
    ).fetchall()
    return int(got[0][0]) if got else None


def _refuse_twin(cur, state: str, area: str, offer_id: int | None) -> None:
    twin = _published_twin(cur, state, area, offer_id)
    if twin is not None:
        raise OfferError(
            f"{state} already has a published offer in {catalog.area_short(area)} (offer {twin}): "
            "withdraw it or change it instead (one published offer per state and program area)"
        )


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
    """A new offer of `state` (a draft, or published at once); returns its id. Raises OfferError (nothing
    written) for a field that does not pass, NotAllowed for a viewer who may not write the state's offers."""
    state = _state(state)
    if not can_write(viewer, state):
        raise NotAllowed(f"only {state}'s users, its program manager or leadership describe {state}'s offers")
    missing = [f for f in ("program_area", "title", "covers", "formats", "capacity") if f not in fields]
    if missing:
        raise OfferError(f"say the offer's {', '.join(missing)}")
    row = clean(fields)
    now = now or basics.now()
    by = basics.named(viewer.name, "who is writing the offer must be named", OfferError)
    status = PUBLISHED if publish else DRAFT
    with transaction(con) as cur:
        cur.lock("offers")
        if publish:
            _refuse_twin(cur, state, row["program_area"], None)
        oid = int(cur.nextval("offer_id_seq"))
        fields = {k: row.get(k) for k in FIELDS}
        full = basics.authored(
            "offer_id", oid, state, fields, status=status, published=publish, by=by, now=now, synthetic=synthetic
        )
        cur.insert("offers", full)
        changes = {k: [None, _plain(full[k])] for k in ("state", *FIELDS, "status") if full[k] is not None}
        _history(cur, oid, 1, now, by, None, status, changes)
        audit.record_in(cur, by, "edit", f"offer {oid} ({state} {row['program_area']}) created as {status}")
    return oid


def _history(cur, oid: int, version: int, at, by: str, from_status, to_status: str, changes: dict) -> None:
    cur.execute(
        "INSERT INTO offer_history VALUES (?, ?, ?, ?, ?, ?, ?)",
        [oid, version, at, by, from_status, to_status, json.dumps(changes, sort_keys=True, default=str)],
    ).fetchall()


def _read(cur, offer_id: int) -> dict:
    row = cur.row("offers", COLUMNS, "offer_id", int(offer_id))
    if row is None:
        raise OfferError(f"there is no offer {offer_id}")
    return row


def update(
    con,
    viewer: auth.Viewer,
    offer_id: int,
    version: int,
    *,
    status: str | None = None,
    now: dt.datetime | None = None,
    **fields,
) -> int:
    """Change an offer's fields and/or its status (TRANSITIONS), as of `version`; returns the new version (the same
    when nothing changed). Raises StaleOffer if it changed since, OfferError/NotAllowed (nothing written)."""
    new = clean(fields)
    now = now or basics.now()
    by = basics.named(getattr(viewer, "name", None), "who is writing the offer must be named", OfferError)
    with transaction(con) as cur:
        cur.lock("offers")
        row = _read(cur, offer_id)
        if not can_write(viewer, row["state"]):
            raise NotAllowed(f"only {row['state']}'s users, its program manager or leadership change its offers")
        if int(row["version"]) != int(version):
            raise StaleOffer(
                f"offer {offer_id} was changed by {row['updated_by']} at {row['updated_at']:%H:%M} since you opened "
                "it: reload to see their change"
            )
        changes = {k: [_plain(row[k]), _plain(v)] for k, v in new.items() if row[k] != v}
        target = row["status"] if status is None else status
        if target != row["status"]:
            if target not in TRANSITIONS[row["status"]]:
                raise OfferError(
                    f"offer {offer_id} is {status_label(row['status'])}: it cannot become {status_label(target)}"
                )
            changes["status"] = [row["status"], target]
        if target == PUBLISHED:
            _refuse_twin(cur, row["state"], new.get("program_area", row["program_area"]), offer_id)
        if not changes:
            return int(row["version"])
        v = int(row["version"]) + 1
        sets = {**new, "status": target, "updated_by": by, "updated_at": now, "version": v}
        if target == PUBLISHED and row["status"] != PUBLISHED:
            sets["published_at"] = now
        cur.execute(
            f"UPDATE offers SET {', '.join(f'{k} = ?' for k in sets)} WHERE offer_id = ?",
            [*sets.values(), int(offer_id)],
        ).fetchall()
        _history(cur, int(offer_id), v, now, by, row["status"], target, changes)
        audit.record_in(cur, by, "edit", f"offer {offer_id}: {', '.join(sorted(changes))}")
    return v


def publish(con, viewer, offer_id: int, version: int, **kw) -> int:
    return update(con, viewer, offer_id, version, status=PUBLISHED, **kw)


def withdraw(con, viewer, offer_id: int, version: int, **kw) -> int:
    return update(con, viewer, offer_id, version, status=WITHDRAWN, **kw)


# --- reads ---------------------------------------------------------------------------------------------------------


def get(con, offer_id: int) -> dict:
    with transaction(con) as cur:
        return _read(cur, offer_id)


def visible(
    con,
    viewer: auth.Viewer | None,
    *,
    state: str | None = None,
    area: str | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """The offers `viewer` may see (published ones, and its own states' drafts and withdrawn ones), newest first;
    None as viewer: everything (the CLI)."""
    scope, params = queries.published_or_own(viewer, PUBLISHED)
    sql = f"SELECT {', '.join(COLUMNS)} FROM offers WHERE {scope}"
    for col, val in (("state", state), ("program_area", area), ("status", status)):
        if val is not None:
            sql += f" AND {col} = ?"
            params.append(val)
    return query_df(con, sql + " ORDER BY updated_at DESC, offer_id DESC", params)


def published(con, *, state: str | None = None, area: str | None = None) -> pd.DataFrame:
    """Every published offer (what any signed-in user sees), by state and area."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM offers WHERE status = ?"
    params: list = [PUBLISHED]
    for col, val in (("state", state), ("program_area", area)):
        if val is not None:
            sql += f" AND {col} = ?"
            params.append(val)
    return query_df(con, sql + " ORDER BY state, program_area, offer_id", params)


def pairing_offers(con) -> pd.DataFrame:
    """What the pairing reads: each published offer's state, program_area, offer_id, title and capacity."""
    return published(con)[["state", "program_area", "offer_id", "title", "capacity"]]


def history(con, offer_id: int) -> pd.DataFrame:
    df = query_df(
        con,
        "SELECT version, changed_at, changed_by, from_status, to_status, changes FROM offer_history "
        "WHERE offer_id = ? ORDER BY version",
        [int(offer_id)],
    )
    df["summary"] = [
        "; ".join(f"{k}: {_short(v[0])} → {_short(v[1])}" for k, v in sorted(json.loads(c).items()))
        for c in df["changes"]
    ]
    return df


def _short(v) -> str:
    s = "–" if v is None else str(v)
    return s if len(s) <= 60 else s[:59] + "…"


def of_exchange(con, exchange_id: int) -> dict | None:
    """The offer an introduction request was made from, or None."""
    got = query_df(
        con,
        f"SELECT {', '.join('o.' + c for c in COLUMNS)} FROM exchange_offers x JOIN offers o USING (offer_id) "
        "WHERE x.exchange_id = ?",
        [int(exchange_id)],
    )
    return got.iloc[0].to_dict() if len(got) else None
