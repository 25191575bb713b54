"""Exchanges recorded elsewhere (earlier years' spreadsheets) → validated rows → one all-or-nothing write.

The contract (`python -m shisn exchanges load FILE --db PATH [--user U]`; also in docs/cli.md):

A CSV file (UTF-8, a BOM allowed; comma, semicolon or tab between values; blank lines and lines starting with `#`
skipped), one exchange per row. Header names are matched case-insensitively, surrounding whitespace ignored, spaces
or hyphens read as underscores; column order is free; unknown columns are ignored with a warning.

    required  mentor, mentee        jurisdiction codes or names (shisn.domain.jurisdictions); two different states
              program_area          slug or label (shisn.domain.catalog); several areas separated by `;`
              cycle                 the assessment cycle of the need (a year, 2003 to next year)
              status                proposed, introduced, in_contact, exchange_held, closed, declined (the exchanges
                                    export's values) or their labels ("in contact", "exchange held"), any case
              held_on               YYYY-MM-DD: required for exchange_held and closed; allowed for declined (the
                                    exchange was held, then declined); blank for every other status
    optional  first_contact_on      YYYY-MM-DD, the day the states were introduced; not for proposed; not after held_on
              means                 teleconference, on-site visit, document exchange, other (slug or label)
              notes                 the exchange's outcome note (at most 4,000 characters)
              decline_reason        only for declined (at most 2,000 characters)

No date is in the future or before 1 January 2003. Problems are named like a self-assessment file's
(`shisn.store.ingest.Problem`: file, row N (line L), column C, value V: reason), every one at once; any problem writes
nothing (`LoadError`).

Dates of the statuses an exchange passed through (the machine of shisn.services.exchanges: proposed → introduced → in contact
→ exchange held → closed, or → declined): proposed on the earliest date the row gives (first_contact_on, else
held_on), or on 1 January of the cycle when it gives neither (today, if that is earlier); introduced on
first_contact_on; exchange held on held_on; every other status (in contact, closed, declined, and introduced
without first_contact_on) on the date of the status before it. A day is recorded at noon (today: the moment of the
import), as `exchanges.update` records a date given after the fact, so the dates never decrease and are never in
the future. A declined row passes through introduced only with first_contact_on, and through in contact and
exchange held only with held_on. An exchange held or closed without `means` is recorded with means `other`,
detail "not recorded (imported)": the machine holds no exchange without its means.

Each imported exchange gets one `exchange_history` row per status it passed through (written by the exchanges
module's own history helper: who, the status before and after, the day it happened, the fields set), each with the
comment "imported from FILE (row N, line L) by USER", so the history replays to the exchange's status and version;
the import adds one audit-log entry (`load`) naming the file and the counts.

Idempotence: the natural key is (mentor, mentee, the set of program areas, cycle). A row whose key is already in
the store (imported before, or recorded in the app) is *already present* and skipped when the store agrees with every
value the row gives (status; first_contact_on = the introduction day; held_on = the day held; means; notes = the
outcome note; decline_reason); when one differs the whole file is refused, naming the row, the column, the file's
value and the store's. So loading the same file twice changes nothing. As in the app, an exchange that is not closed
or declined is refused when the same pair already has a request or an open exchange in one of its areas.

`check` is pure (the file's bytes → rows or problems); `write` takes a connection and writes checked rows in one
transaction; `load` does both.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from shisn.domain import catalog, csvtext, exchange_rules, jurisdictions
from shisn.services import exchanges
from shisn.store import audit
from shisn.store.db import transaction
from shisn.store.ingest import FIRST_CYCLE, LoadError, Problem

REQUIRED = ("mentor", "mentee", "program_area", "cycle", "status", "held_on")
OPTIONAL = ("first_contact_on", "means", "notes", "decline_reason")
COLUMNS = REQUIRED + OPTIONAL
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
FIRST_DAY = dt.date(FIRST_CYCLE, 1, 1)
UNRECORDED_MEANS = "not recorded (imported)"
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _words(text: str) -> str:
    return " ".join(str(text).strip().lower().replace("_", " ").replace("-", " ").split())


_STATUS_LOOKUP = {_words(k): s for s in exchange_rules.STATUSES for k in (s, exchange_rules.STATUS_LABELS[s])}
_MEANS_LOOKUP = {_words(k): m for m in exchange_rules.MEANS for k in (m, exchange_rules.MEANS_LABELS[m])}


@dataclass(frozen=True)
class Row:
    """One valid row of the file: an exchange to import."""

    row: int  # data row (1 = the first row under the header)
    line: int  # its line in the file
    mentor: str
    mentee: str
    areas: tuple[str, ...]  # slugs in catalog order
    cycle: int
    status: str
    held_on: dt.date | None
    first_contact_on: dt.date | None
    means: str | None
    notes: str | None
    decline_reason: str | None

    @property
    def program_areas(self) -> str:
        return ",".join(self.areas)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.mentor, self.mentee, self.program_areas, self.cycle

    def path(self) -> list[str]:
        """The statuses the exchange passed through, from proposed to its status."""
        line = [
            exchange_rules.PROPOSED,
            exchange_rules.INTRODUCED,
            exchange_rules.IN_CONTACT,
            exchange_rules.HELD,
            exchange_rules.CLOSED,
        ]
        if self.status != exchange_rules.DECLINED:
            return line[: line.index(self.status) + 1]
        if self.held_on is not None:
            return [*line[:4], exchange_rules.DECLINED]
        if self.first_contact_on is not None:
            return [exchange_rules.PROPOSED, exchange_rules.INTRODUCED, exchange_rules.DECLINED]
        return [exchange_rules.PROPOSED, exchange_rules.DECLINED]

    def days(self, today: dt.date) -> dict[str, dt.date]:
        """The day each status on the path was reached (the rule in the module docstring)."""
        given = [d for d in (self.first_contact_on, self.held_on) if d is not None]
        out: dict[str, dt.date] = {}
        prev = min(given) if given else min(dt.date(self.cycle, 1, 1), today)
        for s in self.path():
            if s == exchange_rules.INTRODUCED and self.first_contact_on is not None:
                prev = self.first_contact_on
            elif s == exchange_rules.HELD:
                prev = self.held_on
            out[s] = prev
        return out


@dataclass
class Checked:
    """A file read and validated: `rows` ready to write when there are no `problems` (then nothing may be written)."""

    file_name: str
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ImportSummary:
    file_name: str
    imported: int
    present: int
    exchange_ids: tuple[int, ...]  # the new exchanges' ids, in file order
    warnings: tuple[str, ...] = ()

    def line(self) -> str:
        return f"imported {self.file_name}: {self.imported} exchange(s) imported, {self.present} already present"


# ---------------------------------------------------------------------------------------------------------------
# Reading and validating: bytes → rows or problems (pure)
# ---------------------------------------------------------------------------------------------------------------


def _read(file_name: str, data: bytes, problems: list[Problem], warnings: list[str]):
    """The file → (header names, header line, [(line, cells)]) or None (problems say why)."""
    return read_csv(file_name, data, REQUIRED, COLUMNS, "an exchanges file", problems, warnings)


def read_csv(
    file_name: str,
    data: bytes,
    required: tuple[str, ...],
    columns: tuple[str, ...],
    what: str,
    problems: list[Problem],
    warnings: list[str],
):
    """A small CSV file → (header names, header line, [(line, cells)]), or None with the reason in `problems`: the checks every
    CSV loader makes (size, encoding, not a workbook, the required columns, a column twice, no data rows)."""

    def fail(reason: str, line: int | None = None):
        problems.append(Problem(reason, line=line, file=file_name))
        return None

    if len(data) > MAX_BYTES:
        return fail(f"the file is {len(data) / 1e6:.1f} MB; {what} is at most {MAX_BYTES // 2**20} MB")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        return fail("the file is empty")
    if b"\x00" in data[:8192] or data[:4] == b"PK\x03\x04":
        return fail("this is not a CSV text file; save the spreadsheet as 'CSV UTF-8'")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return fail(
            f"the file is not UTF-8 text (byte {data[e.start : e.start + 1]!r} at position {e.start}); "
            "in Excel use Save As → 'CSV UTF-8 (Comma delimited)'",
            data[: e.start].count(b"\n") + 1,
        )
    try:
        got = csvtext.read(text, MAX_ROWS)
    except csvtext.CsvTextError as e:
        return fail(str(e), e.line)
    if got.delimiter != ",":
        warnings.append(f"read as {'semicolon' if got.delimiter == ';' else 'tab'}-separated values")
    if got.header is None:
        return fail("the file is empty")
    names = got.header
    missing = [c for c in required if c not in names]
    if missing:
        return fail(
            "missing required column(s): "
            + ", ".join(missing)
            + f" (the header has: {', '.join(n for n in names if n) or 'nothing'})",
            got.header_line,
        )
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        return fail(f"column(s) {', '.join(dupes)} appear twice in the header", got.header_line)
    unknown = [n for n in names if n and n not in columns]
    if unknown:
        warnings.append("ignored unknown column(s): " + ", ".join(unknown))
    if not got.records:
        return fail("the file has a header but no data rows", got.header_line)
    return names, got.header_line, got.records


def _date(value: str) -> dt.date | None:
    if not DATE_RE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def check(file_name: str, data: bytes, *, today: dt.date | None = None) -> Checked:
    """Read and validate an exchanges file (the module docstring's contract). Pure: no store is read. Rows whose
    key (or an open exchange of the same pair and area) is already in the store are found by `write`."""
    today = today or dt.date.today()
    problems: list[Problem] = []
    warnings: list[str] = []
    read = _read(file_name, data, problems, warnings)
    out = Checked(file_name, [], problems, warnings)
    if read is None:
        return out
    names, _, records = read
    idx = {c: names.index(c) for c in COLUMNS if c in names}
    first_key: dict[tuple, Row] = {}
    for k, (line, cells) in enumerate(records):
        n = k + 1
        row_problems: list[Problem] = []

        def bad(column: str | None, value: str | None, reason: str) -> None:
            row_problems.append(Problem(reason, n, line, column, value, file_name))

        got = {c: (cells[i].strip() if i < len(cells) else "") for c, i in idx.items()}
        extra = [v for v in cells[len(names) :] if v.strip()]
        if extra:
            bad(None, extra[0], f"the row has {len(cells)} values but the header has {len(names)} columns")
        for c, v in got.items():
            if v.startswith("=") and len(v) > 1:
                bad(c, v, "looks like a spreadsheet formula; type the value itself")
        formula = {p.column for p in row_problems}

        def value(c: str) -> str:
            return "" if c in formula else got.get(c, "")

        codes = {}
        for c in ("mentor", "mentee"):
            v = value(c)
            codes[c] = jurisdictions.state_code(v) if v else None
            if c in formula:
                continue
            if not v:
                bad(c, v, "required: a USPS code such as VA (or a name such as Virginia)")
            elif codes[c] is None:
                bad(c, v, "not one of the 56 reporting jurisdictions (use a USPS code such as VA)")
        if codes["mentor"] and codes["mentor"] == codes["mentee"]:
            bad("mentee", got["mentee"], f"the mentor is {codes['mentor']} too: an exchange needs two different states")
        areas: list[str] = []
        v = value("program_area")
        if "program_area" not in formula:
            parts = [p.strip() for p in v.split(";") if p.strip()]
            if not parts:
                bad("program_area", v, "required: a program area slug or label (several separated by ';')")
            unknown = [p for p in parts if catalog.area_slug(p) is None]
            for p in unknown:
                bad(
                    "program_area",
                    v,
                    f"{p!r} is not a program area; use one of: {', '.join(catalog.AREA_SLUGS)}"
                    " (several separated by ';')",
                )
            areas = [a for a in catalog.AREA_SLUGS if a in {catalog.area_slug(p) for p in parts}]
        v = value("cycle")
        m = re.fullmatch(r"(\d{4})(?:\.0+)?", v)  # 2019, or 2019.0 as a spreadsheet may write it
        cycle = int(m.group(1)) if m else None
        if "cycle" not in formula and (cycle is None or not FIRST_CYCLE <= cycle <= today.year + 1):
            bad("cycle", v, f"must be a four-digit assessment year from {FIRST_CYCLE} to {today.year + 1}")
            cycle = None
        v = value("status")
        status = _STATUS_LOOKUP.get(_words(v))
        if "status" not in formula and status is None:
            if _words(v) == exchange_rules.REQUESTED:
                bad("status", v, "introduction requests are not imported: give the status the exchange reached")
            else:
                bad(
                    "status",
                    v,
                    ("not a status; use" if v else "required:")
                    + " one of "
                    + ", ".join(exchange_rules.STATUSES)
                    + " (or the labels "
                    + ", ".join(
                        exchange_rules.STATUS_LABELS[s] for s in (exchange_rules.IN_CONTACT, exchange_rules.HELD)
                    )
                    + ")",
                )
        dates: dict[str, dt.date | None] = {}
        for c in ("held_on", "first_contact_on"):
            v = value(c)
            dates[c] = None
            if not v:
                continue
            d = _date(v)
            if d is None:
                bad(c, v, "not a date: write it as YYYY-MM-DD (e.g. 2019-03-05)")
            elif d > today:
                bad(c, v, f"is in the future (today is {today.isoformat()})")
            elif d < FIRST_DAY:
                bad(c, v, f"is before {FIRST_DAY.isoformat()}: no exchange is that old")
            else:
                dates[c] = d
        held, first = dates["held_on"], dates["first_contact_on"]
        if status is not None:
            if (
                status in (exchange_rules.HELD, exchange_rules.CLOSED)
                and not got.get("held_on")
                and "held_on" not in formula
            ):
                bad(
                    "held_on",
                    got.get("held_on", ""),
                    f"required when the status is {exchange_rules.STATUS_LABELS[status]}: "
                    "the day the exchange was held (YYYY-MM-DD)",
                )
            if status not in (exchange_rules.HELD, exchange_rules.CLOSED, exchange_rules.DECLINED) and got.get(
                "held_on"
            ):
                bad(
                    "held_on",
                    got["held_on"],
                    f"a {exchange_rules.STATUS_LABELS[status]} exchange was not held: leave it blank "
                    "or give the status it reached (exchange held, closed or declined)",
                )
            if status == exchange_rules.PROPOSED and got.get("first_contact_on"):
                bad(
                    "first_contact_on",
                    got["first_contact_on"],
                    "a proposed exchange has had no first contact: leave it blank or give status introduced or later",
                )
            if status != exchange_rules.DECLINED and value("decline_reason"):
                bad("decline_reason", got["decline_reason"], "only for a declined exchange")
        if held and first and first > held:
            bad(
                "first_contact_on",
                got["first_contact_on"],
                f"is after held_on ({held.isoformat()}): the states were introduced before the exchange was held",
            )
        v = value("means")
        means = _MEANS_LOOKUP.get(_words(v)) if v else None
        if v and means is None:
            bad(
                "means",
                v,
                "not a means; use one of: " + ", ".join(exchange_rules.MEANS_LABELS[m] for m in exchange_rules.MEANS),
            )
        notes, reason = value("notes") or None, value("decline_reason") or None
        if notes and len(notes) > exchanges.MAX_TEXT:
            bad("notes", notes, f"longer than {exchanges.MAX_TEXT} characters")
        if reason and len(reason) > exchange_rules.MAX_MESSAGE:
            bad("decline_reason", reason, f"longer than {exchange_rules.MAX_MESSAGE} characters")
        if row_problems:
            problems.extend(row_problems)
            continue
        r = Row(
            n, line, codes["mentor"], codes["mentee"], tuple(areas), cycle, status, held, first, means, notes, reason
        )
        if r.key in first_key:
            j = first_key[r.key]
            problems.append(
                Problem(
                    f"duplicates row {j.row} (line {j.line}): same mentor, mentee, program areas and cycle",
                    n,
                    line,
                    "mentor",
                    got["mentor"],
                    file_name,
                )
            )
            continue
        clash = _open_clash(r, [o for o in first_key.values()])
        if clash is not None:
            problems.append(
                Problem(
                    f"{r.mentor} → {r.mentee} in {clash[1]} is also open on row {clash[0].row} (line "
                    f"{clash[0].line}): one open exchange per pair and area",
                    n,
                    line,
                    "program_area",
                    got["program_area"],
                    file_name,
                )
            )
            continue
        first_key[r.key] = r
        out.rows.append(r)
    return out


def _open_clash(r: Row, others: list[Row]):
    """(the other row, the shared areas' labels) when `r` and another row of the file are both open exchanges of
    the same pair sharing an area; else None."""
    if r.status in exchange_rules.TERMINAL:
        return None
    for o in others:
        if o.status in exchange_rules.TERMINAL or (o.mentor, o.mentee) != (r.mentor, r.mentee):
            continue
        shared = [a for a in r.areas if a in o.areas]
        if shared:
            return o, ", ".join(catalog.area_short(a) for a in shared)
    return None


# ---------------------------------------------------------------------------------------------------------------
# Writing: all rows or none
# ---------------------------------------------------------------------------------------------------------------


def _day(v) -> dt.date | None:
    return None if v is None else (v.date() if isinstance(v, dt.datetime) else v)


def _differences(r: Row, ex: dict) -> list[tuple[str, str, str]]:
    """(column, the file's value, the store's value) for every value the row gives that the stored exchange with
    the same key does not have."""
    out = []
    if ex["status"] != r.status:
        out.append(("status", r.status, str(ex["status"])))
    for column, mine, theirs in (
        ("first_contact_on", r.first_contact_on, _day(ex["introduced_at"])),
        ("held_on", r.held_on, _day(ex["held_at"])),
    ):
        if mine is not None and mine != theirs:
            out.append((column, mine.isoformat(), theirs.isoformat() if theirs else "(none)"))
    for column, mine, theirs in (
        ("means", r.means, ex["means"]),
        ("notes", r.notes, ex["outcome"]),
        ("decline_reason", r.decline_reason, ex["decline_reason"]),
    ):
        if mine is not None and mine != theirs:
            out.append((column, mine, theirs or "(none)"))
    return out


def _against_store(cur, checked: Checked) -> tuple[list[Row], int, list[Problem]]:
    """The rows to write, how many are already present, and the problems the store raises (inside the caller's
    transaction)."""
    pairs = sorted({(r.mentor, r.mentee) for r in checked.rows})
    stored: dict[tuple, list[dict]] = {}
    cols = [
        "exchange_id",
        "mentor",
        "mentee",
        "program_areas",
        "cycle",
        "status",
        "introduced_at",
        "held_at",
        "means",
        "outcome",
        "decline_reason",
    ]
    for mentor, mentee in pairs:
        rows = cur.execute(
            f"SELECT {', '.join(cols)} FROM exchanges WHERE mentor = ? AND mentee = ? ORDER BY exchange_id",
            [mentor, mentee],
        ).fetchall()
        stored[(mentor, mentee)] = [dict(zip(cols, x)) for x in rows]
    new, present, problems = [], 0, []
    for r in checked.rows:
        same = [
            ex
            for ex in stored[(r.mentor, r.mentee)]
            if ex["program_areas"] == r.program_areas and int(ex["cycle"]) == r.cycle
        ]
        if same:
            ex = same[0]
            diffs = _differences(r, ex)
            for column, mine, theirs in diffs:
                problems.append(
                    Problem(
                        f"exchange {ex['exchange_id']} ({r.mentor} → {r.mentee}, same program areas and cycle) is "
                        f"already in the store with {column} {theirs!r}: the file says {mine!r} (change it in the app, "
                        "or make the row agree with the store)",
                        r.row,
                        r.line,
                        column,
                        mine,
                        checked.file_name,
                    )
                )
            present += not diffs
            continue
        if r.status not in exchange_rules.TERMINAL:
            for ex in stored[(r.mentor, r.mentee)]:
                shared = [a for a in r.areas if a in str(ex["program_areas"]).split(",")]
                if shared and ex["status"] in exchange_rules.ACTIVE_STATUSES:
                    what = "an introduction request" if ex["status"] == exchange_rules.REQUESTED else "exchange"
                    problems.append(
                        Problem(
                            f"{r.mentor} → {r.mentee} in {', '.join(catalog.area_short(a) for a in shared)} is already "
                            f"{what} {ex['exchange_id']} ({exchange_rules.status_label(ex['status'])}): record this one there",
                            r.row,
                            r.line,
                            "program_area",
                            ";".join(r.areas),
                            checked.file_name,
                        )
                    )
                    break
        new.append(r)
    return new, present, problems


def _insert(cur, r: Row, file_name: str, by: str, now: dt.datetime) -> int:
    """One exchange and its history (one row per status it passed through)."""
    ex_id = cur.nextval("exchange_id_seq")
    path = r.path()
    times: dict[str, dt.datetime] = {}
    prev = None
    for s, day in r.days(now.date()).items():
        prev = times[s] = exchanges._check_at(day, prev, now)
    held = exchange_rules.HELD in path
    means = r.means or ("other" if held else None)
    detail = UNRECORDED_MEANS if held and not r.means else None
    row = {
        "exchange_id": ex_id,
        "mentor": r.mentor,
        "mentee": r.mentee,
        "program_areas": r.program_areas,
        "cycle": r.cycle,
        "status": r.status,
        "means": means,
        "means_detail": detail,
        "outcome": r.notes,
        **{exchange_rules.STATUS_TIME[s]: t for s, t in times.items()},
        "created_by": by,
        "updated_at": now,
        "updated_by": by,
        "version": len(path),
        "synthetic": False,
        "decline_reason": r.decline_reason,
    }
    cur.execute(
        f"INSERT INTO exchanges ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
    ).fetchall()
    comment = f"imported from {file_name} (row {r.row}, line {r.line}) by {by}"
    opening = {k: [None, row[k]] for k in ("mentor", "mentee", "program_areas", "cycle")}
    opening["status"] = [None, exchange_rules.PROPOSED]
    if means and not held:
        opening["means"] = [None, means]
    for version, s in enumerate(path, start=1):
        changes = opening if version == 1 else {"status": [path[version - 2], s]}
        if s == exchange_rules.HELD:
            changes["means"] = [None, means]
            if detail:
                changes["means_detail"] = [None, detail]
        if s == exchange_rules.DECLINED and r.decline_reason:
            changes["decline_reason"] = [None, r.decline_reason]
        if version == len(path) and r.notes:
            changes["outcome"] = [None, r.notes]
        exchanges._history(
            cur, ex_id, version, now, by, None if version == 1 else path[version - 2], s, times[s], changes, comment
        )
    return ex_id


def _order(p: Problem) -> tuple[int, int]:
    """Problems by row, then in column order (file-level problems first)."""
    return p.row or 0, COLUMNS.index(p.column) if p.column in COLUMNS else -1


def write(con, checked: Checked, by: str, *, now: dt.datetime | None = None) -> ImportSummary:
    """Write a checked file in ONE transaction: its new exchanges with their history and one audit entry, rows
    already present skipped. Raises LoadError and writes nothing when the file has problems or the store refuses a
    row (a key already present with other values; an open exchange of the pair in one of its areas)."""
    by = str(by or "").strip()
    if not by:
        raise ValueError("who is importing must be named")
    now = (now or dt.datetime.now()).replace(microsecond=0)
    if not checked.ok:
        raise LoadError(checked.problems, checked.warnings)
    with transaction(con) as cur:
        cur.lock("exchange_open")  # the checks against the store and the inserts, one writer at a time
        new, present, problems = _against_store(cur, checked)
        if problems:
            raise LoadError(sorted(problems, key=_order), checked.warnings)
        ids = tuple(_insert(cur, r, checked.file_name, by, now) for r in new)
        summary = ImportSummary(checked.file_name, len(ids), present, ids, tuple(checked.warnings))
        if ids:
            audit.record_in(cur, by, "load", f"exchanges {summary.line()} (exchange ids {', '.join(map(str, ids))})")
    return summary


def load(con, file_name: str, data: bytes, by: str, *, now: dt.datetime | None = None) -> ImportSummary:
    """`check` the file, then `write` it: all or nothing (LoadError lists every problem; nothing written)."""
    now = (now or dt.datetime.now()).replace(microsecond=0)
    checked = check(file_name, data, today=now.date())
    if not checked.ok:
        # the rows that are valid may still clash with the store: list those problems too, at once
        with transaction(con) as cur:
            _, _, more = _against_store(cur, checked)
        raise LoadError(sorted(checked.problems + more, key=_order), checked.warnings)
    return write(con, checked, by, now=now)
