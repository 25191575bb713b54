"""Offers and practices as CSV files: loaded all or nothing, exported in the same columns.

The contract (`python -m shisn offers load FILE`, `python -m shisn practices load FILE`; docs/offers-and-practices.md):

A CSV file read as the other CSV loaders read one (shisn.domain.csvtext: UTF-8, a BOM allowed; comma, semicolon or
tab between values; blank lines and lines starting with `#` skipped; header names in any case, spaces or hyphens
read as underscores; columns in any order; unknown columns ignored with a warning), one offer or practice per row.

    offers     required  state, program_area, title, covers, formats (several separated by `;`), capacity
               optional  lead_time_days, prepare, status (draft, published, withdrawn; empty: published)
    practices  required  state, program_area, title, summary
               optional  what_worked, differently, documents (names separated by `;`, stored one per line),
                         exchange_id, status (private, published; empty: published)

Every value passes the service's own rules (`offers.clean`, `practices.clean`: the messages the app's forms give),
the state is one of the 56 reporting jurisdictions, and no two rows of the file share a key. An optional column
left out of the header leaves a stored row's value as it is (a new row gets it empty, its status published).

Idempotence: the natural key is (state, program area, title; the title in any case, runs of spaces as one). A row
whose key is in the store changes that offer or practice (through `offers.update` / `practices.update`, as of the
version read) when a value differs, and is counted unchanged otherwise; a new key is created (`offers.create` /
`practices.create`, `synthetic=False`). Loading the same file twice changes nothing. Across the file and the store a
state keeps at most one published offer per program area; a practice's exchange must be one its state held, in the
practice's area (`practices.create` refuses it otherwise: the refusal is the row's problem, column exchange_id).

All or nothing: `check` reads the file (pure); `write` checks the rows against the store and writes them through
the services, every write inside ONE transaction (the services are handed that transaction as their store), so a
refusal of any row rolls back every other. Problems are named like every file's (`shisn.store.ingest.Problem`: file,
row N (line L), column C, value V: reason), every one at once (`LoadError`). A load that adds or changes something
adds one audit-log entry (`load`) naming the file, the user and the counts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from shisn.domain import auth, basics, catalog, jurisdictions
from shisn.services import offers, practices
from shisn.services.exchange_import import read_csv
from shisn.store import audit
from shisn.store.db import transaction
from shisn.store.ingest import LoadError, Problem

PUBLISHED = offers.PUBLISHED  # the default status of a row, offer or practice (practices.PUBLISHED is the same)


@dataclass(frozen=True)
class Kind:
    """What a file holds: its columns, the service that checks and writes its rows."""

    name: str  # offers, practices (the table)
    noun: str  # offer, practice
    required: tuple[str, ...]
    optional: tuple[str, ...]
    statuses: tuple[str, ...]
    id_column: str
    stored_columns: tuple[str, ...]  # the service's COLUMNS
    error: type[Exception]
    clean: Callable[[dict], dict]

    @property
    def columns(self) -> tuple[str, ...]:
        """The file's columns, in the export's order."""
        return self.required + self.optional

    @property
    def fields(self) -> tuple[str, ...]:
        """The columns that are the service's fields (not state, not status)."""
        return tuple(c for c in self.columns if c not in ("state", "status"))


OFFERS = Kind(
    "offers",
    "offer",
    ("state", "program_area", "title", "covers", "formats", "capacity"),
    ("lead_time_days", "prepare", "status"),
    offers.STATUSES,
    "offer_id",
    tuple(offers.COLUMNS),
    offers.OfferError,
    offers.clean,
)
PRACTICES = Kind(
    "practices",
    "practice",
    ("state", "program_area", "title", "summary"),
    ("what_worked", "differently", "documents", "exchange_id", "status"),
    practices.STATUSES,
    "practice_id",
    tuple(practices.COLUMNS),
    practices.PracticeError,
    practices.clean,
)
KINDS = {k.name: k for k in (OFFERS, PRACTICES)}
OFFER_COLUMNS = list(OFFERS.columns)
PRACTICE_COLUMNS = list(PRACTICES.columns)
_WHOLE = re.compile(r"(\d+)\.0*")  # 3.0, as a spreadsheet may write a whole number


def _fold(title: str) -> str:
    return " ".join(str(title).split()).casefold()


@dataclass(frozen=True)
class Row:
    """One valid row of a file."""

    row: int  # data row (1 = the first row under the header)
    line: int  # its line in the file
    state: str
    fields: dict  # the service's fields the header has, checked and normalised
    status: str | None  # None: the header has no status column
    cells: dict  # the cells as written, for messages

    @property
    def key(self) -> tuple[str, str, str]:
        return self.state, self.fields["program_area"], _fold(self.fields["title"])

    def problem(self, checked: Checked, column: str, reason: str) -> Problem:
        return Problem(reason, self.row, self.line, column, self.cells.get(column), checked.file_name)


@dataclass
class Checked:
    """A file read and validated: `rows` ready to write when there are no `problems` (then nothing may be written)."""

    kind: Kind
    file_name: str
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Summary:
    kind: Kind
    file_name: str
    added: int
    changed: int
    unchanged: int
    warnings: tuple[str, ...] = ()

    def line(self, store: str | None = None) -> str:
        where = f" into {store}" if store else ""
        n = self.added + self.changed + self.unchanged
        return (
            f"loaded {self.file_name}{where}: {n} {self.kind.noun}(s): {self.added} added, {self.changed} changed, "
            f"{self.unchanged} unchanged"
        )


# ---------------------------------------------------------------------------------------------------------------
# Reading and validating: bytes → rows or problems (pure)
# ---------------------------------------------------------------------------------------------------------------


def _as_field(column: str, value: str) -> str:
    """A cell as the service's clean expects it: whole numbers written as 3.0 read as 3, the documents' `;` as one
    name per line."""
    if column in ("capacity", "lead_time_days", "exchange_id"):
        m = _WHOLE.fullmatch(value)
        return m.group(1) if m else value
    if column == "documents":
        return "\n".join(p.strip() for p in re.split(r"[;\n]", value) if p.strip())
    return value


def check(kind: Kind, file_name: str, data: bytes) -> Checked:
    """Read and validate an offers or practices file (the module docstring's contract). Pure: no store is read;
    what the store decides (a key already there, a second published offer, a practice's exchange) is `write`'s."""
    problems: list[Problem] = []
    warnings: list[str] = []
    out = Checked(kind, file_name, [], problems, warnings)
    read = read_csv(file_name, data, kind.required, kind.columns, f"an {kind.name} file", problems, warnings)
    if read is None:
        return out
    names, _, records = read
    idx = {c: names.index(c) for c in kind.columns if c in names}
    first: dict[tuple, Row] = {}
    for k, (line, cells) in enumerate(records):
        n = k + 1
        mine: list[Problem] = []

        def bad(column: str | None, value: str | None, reason: str) -> None:
            mine.append(Problem(reason, n, line, column, value, file_name))

        got = {c: (cells[i].strip() if i < len(cells) else "") for c, i in idx.items()}
        extra = [v for v in cells[len(names) :] if v.strip()]
        if extra:
            bad(None, extra[0], f"the row has {len(cells)} values but the header has {len(names)} columns")
        for c, v in got.items():
            if v.startswith("=") and len(v) > 1:
                bad(c, v, "looks like a spreadsheet formula; type the value itself")
        formula = {p.column for p in mine}
        state = None
        if "state" not in formula:
            v = got["state"]
            state = jurisdictions.state_code(v) if v else None
            if state is None:
                bad(
                    "state",
                    v,
                    ("not one of the 56 reporting jurisdictions" if v else f"required: the {kind.noun}'s state")
                    + " (use a USPS code such as VA, or a name such as Virginia)",
                )
        fields: dict = {}
        for c in kind.fields:
            if c in idx and c not in formula:
                try:
                    fields.update(kind.clean({c: _as_field(c, got[c])}))
                except kind.error as e:
                    bad(c, got[c], str(e))
        status = None
        if "status" in idx and "status" not in formula:
            v = got["status"]
            status = v.lower() or PUBLISHED
            if status not in kind.statuses:
                bad("status", v, f"not a status; use one of {', '.join(kind.statuses)} (empty: {PUBLISHED})")
        if mine:
            problems.extend(mine)
            continue
        r = Row(n, line, state, fields, status, got)
        if r.key in first:
            j = first[r.key]
            problems.append(
                r.problem(
                    out,
                    "title",
                    f"duplicates row {j.row} (line {j.line}): the same state, program area and title "
                    f"(one row per {kind.noun})",
                )
            )
            continue
        first[r.key] = r
        out.rows.append(r)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Writing: all rows or none
# ---------------------------------------------------------------------------------------------------------------


class _InTransaction:
    """One open transaction handed to a service as its store: the service's `transaction(con)` joins it (no commit
    of its own), so every row's write commits or rolls back with the whole file."""

    def __init__(self, cur):
        self._cur = cur

    @contextmanager
    def transaction(self):
        yield self._cur

    def read(self, sql: str, params=None) -> pd.DataFrame:  # query_df(con, ...), should a service read through it
        return self._cur.df(sql, params)


@dataclass
class _Step:
    row: Row
    stored: dict | None  # the stored row of the same key; None: a new one
    changes: dict  # the fields to write
    status: str  # the status it ends in


def _stored(cur, kind: Kind) -> list[dict]:
    cols = kind.stored_columns
    got = cur.execute(f"SELECT {', '.join(cols)} FROM {kind.name} ORDER BY {kind.id_column}").fetchall()
    return [dict(zip(cols, r)) for r in got]


def _against_store(cur, checked: Checked) -> tuple[list[_Step], int, list[Problem]]:
    """The writes the rows need, how many rows the store already agrees with, and the problems the store raises
    (inside the caller's transaction)."""
    kind = checked.kind
    stored = _stored(cur, kind)
    by_key: dict[tuple, list[dict]] = {}
    for s in stored:
        by_key.setdefault((s["state"], s["program_area"], _fold(s["title"])), []).append(s)
    steps: list[_Step] = []
    finals: list[tuple[Row, str]] = []  # every row's status once loaded
    matched: set[int] = set()
    unchanged, problems = 0, []
    for r in checked.rows:
        same = by_key.get(r.key, [])
        if len(same) > 1:
            ids = ", ".join(str(s[kind.id_column]) for s in same)
            problems.append(
                r.problem(
                    checked,
                    "title",
                    f"the store holds {len(same)} of {r.state}'s {kind.name} in "
                    f"{catalog.area_short(r.fields['program_area'])} with this title ({kind.noun}s {ids}): "
                    "give them different titles in the app, then load the file",
                )
            )
            matched.update(s[kind.id_column] for s in same)
            continue
        if same:
            s = same[0]
            matched.add(s[kind.id_column])
            changes = {c: v for c, v in r.fields.items() if s[c] != v}
            status = s["status"] if r.status is None else r.status
            finals.append((r, status))
            if changes or status != s["status"]:
                steps.append(_Step(r, s, changes, status))
            else:
                unchanged += 1
            continue
        status = r.status or PUBLISHED
        finals.append((r, status))
        steps.append(_Step(r, None, dict(r.fields), status))
    if kind is OFFERS:
        problems += _second_published(checked, stored, matched, finals)
    return steps, unchanged, problems


def _second_published(checked: Checked, stored: list[dict], matched: set[int], finals) -> list[Problem]:
    """One published offer per state and program area, once the file is loaded: a row that would publish a second
    one is a problem (the store's published offer, or the file's first row, keeps its place)."""
    groups: dict[tuple[str, str], list] = {}
    for s in stored:
        if s["status"] == PUBLISHED and s["offer_id"] not in matched:
            groups.setdefault((s["state"], s["program_area"]), []).append(s)
    for r, status in finals:
        if status == PUBLISHED:
            groups.setdefault((r.state, r.fields["program_area"]), []).append(r)
    out = []
    for (state, area), items in groups.items():
        if len(items) < 2:
            continue
        held = next((i for i in items if isinstance(i, dict)), items[0])
        if isinstance(held, dict):
            where = f"in the store: {held['title']!r} (offer {held['offer_id']})"
            fix = "withdraw that offer (in the app, or in this file as withdrawn) or give this row status draft"
        else:
            where = f"on row {held.row} (line {held.line}): {held.fields['title']!r}"
            fix = "give one of the two status draft or withdrawn"
        for r in items:
            if r is held or isinstance(r, dict):
                continue
            out.append(
                r.problem(
                    checked,
                    "status",
                    f"{state} already has a published offer in {catalog.area_short(area)} {where}; one published "
                    f"offer per state and program area: {fix}",
                )
            )
    return out


def _refused_column(kind: Kind, reason: str) -> str:
    if kind is PRACTICES and "exchange" in reason:
        return "exchange_id"
    return "status" if "published" in reason else "title"


def _apply(cur, checked: Checked, steps: list[_Step], viewer: auth.Viewer, now: dt.datetime):
    """Each step through its service, inside the caller's transaction: (added, changed, the services' refusals as
    the rows' problems). Steps that leave a status other than published go first, so that an offer withdrawn by
    the file makes room for the one it publishes."""
    kind, store = checked.kind, _InTransaction(cur)
    service = offers if kind is OFFERS else practices
    added = changed = 0
    problems = []
    for step in sorted(steps, key=lambda s: s.status == PUBLISHED):
        r = step.row
        try:
            if step.stored is None:
                new_id = service.create(
                    store,
                    viewer,
                    state=r.state,
                    publish=step.status == PUBLISHED,
                    now=now,
                    synthetic=False,
                    **step.changes,
                )
                if kind is OFFERS and step.status == offers.WITHDRAWN:  # created as a draft, then withdrawn
                    service.update(store, viewer, new_id, 1, status=step.status, now=now)
                added += 1
            else:
                s = step.stored
                service.update(
                    store,
                    viewer,
                    s[kind.id_column],
                    s["version"],
                    status=None if step.status == s["status"] else step.status,
                    now=now,
                    **step.changes,
                )
                changed += 1
        except kind.error as e:
            problems.append(r.problem(checked, _refused_column(kind, str(e)), str(e)))
    return added, changed, problems


def _order(kind: Kind):
    def key(p: Problem) -> tuple[int, int]:
        """Problems by row, then in column order (file-level problems first)."""
        return p.row or 0, kind.columns.index(p.column) if p.column in kind.columns else -1

    return key


def write(con, checked: Checked, by: str, *, now: dt.datetime | None = None) -> Summary:
    """Write a checked file in ONE transaction, as leadership named `by`: new rows created, changed rows updated,
    unchanged rows left, one audit entry. Raises LoadError and writes nothing when the file has problems or the
    store refuses a row (then every refusal is listed, the file's own problems with them)."""
    by = basics.named(by, "who is loading must be named")
    now = (now or basics.now()).replace(microsecond=0)
    kind = checked.kind
    with transaction(con) as cur:
        cur.lock(kind.name)
        steps, unchanged, problems = _against_store(cur, checked)
        refused = {(p.row, p.line) for p in problems}
        steps = [s for s in steps if (s.row.row, s.row.line) not in refused]
        added, changed, more = _apply(cur, checked, steps, auth.Viewer(auth.LEADERSHIP, by), now)
        problems = checked.problems + problems + more
        if problems:
            raise LoadError(sorted(problems, key=_order(kind)), checked.warnings)  # the transaction rolls back
        summary = Summary(kind, checked.file_name, added, changed, unchanged, tuple(checked.warnings))
        if added or changed:
            audit.record_in(cur, by, "load", f"{summary.line()} (by {by})")
    return summary


def load(con, kind: Kind | str, file_name: str, data: bytes, by: str, *, now: dt.datetime | None = None) -> Summary:
    """`check` the file, then `write` it: all or nothing (LoadError lists every problem; nothing written)."""
    kind = KINDS[kind] if isinstance(kind, str) else kind
    return write(con, check(kind, file_name, data), by, now=now)


def load_offers(con, file_name: str, data: bytes, by: str, *, now: dt.datetime | None = None) -> Summary:
    return load(con, OFFERS, file_name, data, by, now=now)


def load_practices(con, file_name: str, data: bytes, by: str, *, now: dt.datetime | None = None) -> Summary:
    return load(con, PRACTICES, file_name, data, by, now=now)


# ---------------------------------------------------------------------------------------------------------------
# Export: the file's columns, every row (the CLI acts as leadership)
# ---------------------------------------------------------------------------------------------------------------


def _text(values) -> list:
    return [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]


def export_offers(con) -> pd.DataFrame:
    """Every offer (draft, published, withdrawn) in the offers file's columns, by state, area and title: formats
    separated by `;`, lead_time_days empty when not given. Loading it into an empty store gives the same rows."""
    df = offers.visible(con, None)
    df = df.assign(_t=df["title"].map(_fold)).sort_values(["state", "program_area", "_t", "offer_id"])
    out = pd.DataFrame(
        {
            "state": _text(df["state"]),
            "program_area": _text(df["program_area"]),
            "title": _text(df["title"]),
            "covers": _text(df["covers"]),
            "formats": [str(f).replace(",", ";") for f in df["formats"]],
            "capacity": pd.array(df["capacity"], dtype="Int64"),
            "lead_time_days": pd.array(df["lead_time_days"], dtype="Int64"),
            "prepare": _text(df["prepare"]),
            "status": _text(df["status"]),
        },
        columns=OFFER_COLUMNS,
    )
    return out.reset_index(drop=True)


def export_practices(con) -> pd.DataFrame:
    """Every practice (private and published) in the practices file's columns, by state, area and title: the
    documents one line each in the store, separated by `; ` here."""
    df = practices.visible(con, None)
    df = df.assign(_t=df["title"].map(_fold)).sort_values(["state", "program_area", "_t", "practice_id"])
    out = pd.DataFrame(
        {
            "state": _text(df["state"]),
            "program_area": _text(df["program_area"]),
            "title": _text(df["title"]),
            "summary": _text(df["summary"]),
            "what_worked": _text(df["what_worked"]),
            "differently": _text(df["differently"]),
            "documents": [None if d is None else "; ".join(d.splitlines()) for d in _text(df["documents"])],
            "exchange_id": pd.array(df["exchange_id"], dtype="Int64"),
            "status": _text(df["status"]),
        },
        columns=PRACTICE_COLUMNS,
    )
    return out.reset_index(drop=True)


def export(con, kind: Kind | str) -> pd.DataFrame:
    kind = KINDS[kind] if isinstance(kind, str) else kind
    return export_offers(con) if kind is OFFERS else export_practices(con)
