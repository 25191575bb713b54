"""Program-manager assignments: each jurisdiction's assigned ODP program manager (name, email).

A state tells its program manager (PM) what it offers or needs; the PM facilitates the first contact with another
state (shisn/services/exchanges.py). Everywhere a state is shown, its PM can be shown with it: `pm_of(con, state)` for one
state, `with_pm(df, con)` to add `pm_name`/`pm_email` columns to any frame with a state column.

Program managers' contacts with an exchange follow one rule, `exchange_pms` / `with_exchange_pms` (the Exchanges
page, its messages and the pairing brief all call them): whoever may see the exchange (leadership, the PM of either
state, a user of either state) sees both states' program managers, name and e-mail, as the two parties need them to
make contact; anyone else sees them withheld.

Assignments are edited by leadership on the Program managers page or loaded from a CSV file (columns state, name,
email; header case-insensitive, order free). Validation is all or nothing: any problem writes nothing and every
problem is named like a self-assessment problem (`shisn.store.ingest.Problem`: row N (line L), column C, value V: reason).
A CSV replaces the assignments of the states it lists; other states keep theirs. Every change (old and new values,
who, when, from where) goes to `program_manager_log`.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from shisn.domain import basics, csvtext, exchange_rules, jurisdictions
from shisn.store import audit
from shisn.store.db import query_df, transaction
from shisn.store.ingest import LoadError, Problem

COLUMNS = ("state", "name", "email")
MAX_NAME = 200
MAX_EMAIL = 254
MAX_BYTES = 1024 * 1024
# Plausible, not RFC-complete: something@domain.tld, no spaces, one @.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
)
FORMULA_PREFIXES = ("=", "+", "-", "@")


# ---------------------------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------------------------

HIDDEN_CONTACT = "(contact shown to that state and its program manager)"


def pm_of(con, state: str, viewer=None) -> dict | None:
    """The program manager assigned to `state`: {"state", "name", "email"}, or None when nobody is assigned. With a
    `viewer` who does not see `state` in detail, the contact is withheld (name says so, email blank)."""
    df = query_df(con, "SELECT state, name, email FROM program_managers WHERE state = ?", [state])
    if df.empty:
        return None
    r = df.iloc[0]
    if viewer is not None and not viewer.sees_detail_of(state):
        return {"state": str(r["state"]), "name": HIDDEN_CONTACT, "email": ""}
    return {"state": str(r["state"]), "name": str(r["name"]), "email": str(r["email"])}


def pm_label(pm: dict | None) -> str:
    """'Name <email>' or 'no program manager assigned' (plain text, for captions and cells)."""
    if not pm:
        return "no program manager assigned"
    return f"{pm['name']} <{pm['email']}>" if pm["email"] else pm["name"]


def assignments(con) -> pd.DataFrame:
    """All 56 jurisdictions with their PM: state, state_name, fema_region, region_label, name, email
    (name/email empty strings where nobody is assigned). Sorted by state code."""
    jur = jurisdictions.jurisdictions()[["code", "name", "fema_region", "region_label"]].rename(
        columns={"code": "state", "name": "state_name"}
    )
    pms = query_df(con, "SELECT state, name, email FROM program_managers")
    df = jur.merge(pms, on="state", how="left")
    for c in ("name", "email"):
        df[c] = df[c].fillna("").astype(str)
    return df.reset_index(drop=True)


def with_pm(
    df: pd.DataFrame,
    con,
    state_column: str = "state",
    prefix: str = "pm_",
    viewer=None,
    pms: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`df` with `{prefix}name` and `{prefix}email` of the PM assigned to the state in `state_column`
    (empty strings where nobody is assigned; withheld for states `viewer` does not see in detail). `pms`: the
    assignments (state, name, email) if the caller has them (the app's cached copy); otherwise read here."""
    if pms is None:
        pms = query_df(con, "SELECT state, name, email FROM program_managers")
    name = dict(zip(pms["state"], pms["name"]))
    email = dict(zip(pms["state"], pms["email"]))
    out = df.copy()
    hide = (lambda s: False) if viewer is None else (lambda s: not viewer.sees_detail_of(s))
    out[f"{prefix}name"] = [HIDDEN_CONTACT if hide(s) and s in name else name.get(s, "") for s in out[state_column]]
    out[f"{prefix}email"] = ["" if hide(s) else email.get(s, "") for s in out[state_column]]
    return out


HIDDEN_EXCHANGE_CONTACT = "(contact shown to the two states, their program managers and leadership)"


def sees_exchange_contacts(viewer, mentor: str, mentee: str) -> bool:
    """The rule for the program managers' contacts of an exchange: those who may see the exchange (its parties:
    leadership, the PM of either state, a user of either state; no viewer: the CLI) see both PMs' name and e-mail."""
    return viewer is None or exchange_rules.can_see(viewer, mentor, mentee)


def exchange_pms(con, mentor: str, mentee: str, viewer, pms: pd.DataFrame | None = None) -> dict[str, dict | None]:
    """{mentor: PM, mentee: PM} of an exchange as `viewer` may see them (`sees_exchange_contacts`): each PM as
    `pm_of` gives it ({"state", "name", "email"}, None where nobody is assigned), withheld for a viewer who is not
    a party (name HIDDEN_EXCHANGE_CONTACT, e-mail blank). `pms`: the assignments if the caller has them."""
    if pms is None:
        pms = query_df(con, "SELECT state, name, email FROM program_managers WHERE state IN (?, ?)", [mentor, mentee])
    return _pair(_contacts(pms), mentor, mentee, sees_exchange_contacts(viewer, mentor, mentee))


def with_exchange_pms(df: pd.DataFrame, con, viewer, pms: pd.DataFrame | None = None) -> pd.DataFrame:
    """Exchanges (columns mentor, mentee) with `mentor_pm_name`, `mentor_pm_email`, `mentee_pm_name`,
    `mentee_pm_email` as `exchange_pms` gives them row by row (empty strings where nobody is assigned)."""
    if pms is None:
        pms = query_df(con, "SELECT state, name, email FROM program_managers")
    contacts = _contacts(pms)
    cols: dict[str, list] = {f"{part}_pm_{f}": [] for part in ("mentor", "mentee") for f in ("name", "email")}
    for mentor, mentee in zip(df["mentor"], df["mentee"]):
        both = _pair(contacts, mentor, mentee, sees_exchange_contacts(viewer, mentor, mentee))
        for part, code in (("mentor", mentor), ("mentee", mentee)):
            pm = both[code] or {"name": "", "email": ""}
            cols[f"{part}_pm_name"].append(pm["name"])
            cols[f"{part}_pm_email"].append(pm["email"])
    return df.assign(**cols)


def _contacts(pms: pd.DataFrame) -> dict[str, tuple[str, str]]:
    return {str(s): (str(n), str(e)) for s, n, e in zip(pms["state"], pms["name"], pms["email"])}


def _pair(contacts: dict, mentor: str, mentee: str, shown: bool) -> dict[str, dict | None]:
    out: dict[str, dict | None] = {}
    for code in (mentor, mentee):
        if code not in contacts:
            out[code] = None
        elif shown:
            out[code] = {"state": code, "name": contacts[code][0], "email": contacts[code][1]}
        else:
            out[code] = {"state": code, "name": HIDDEN_EXCHANGE_CONTACT, "email": ""}
    return out


def by_manager(con) -> pd.DataFrame:
    """One row per program manager: name, email, states (comma-separated codes), count."""
    df = query_df(
        con,
        """
        SELECT name, min(email) AS email, string_agg(state, ', ' ORDER BY state) AS states, count(*) AS count
        FROM program_managers GROUP BY name ORDER BY name""",
    )
    df["count"] = df["count"].astype(int)
    return df


def change_log(con, limit: int = 200) -> pd.DataFrame:
    return query_df(
        con,
        """
        SELECT changed_at, changed_by, source, state, old_name, old_email, new_name, new_email
        FROM program_manager_log ORDER BY changed_at DESC, state LIMIT ?""",
        [int(limit)],
    )


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------


def validate(
    rows: pd.DataFrame, *, lines: list[int] | None = None, file: str | None = None, allow_unassigned: bool = False
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check rows (columns state, name, email; any values) → (clean rows, problems). Clean rows hold USPS codes,
    stripped names and lower-cased e-mail domains. With `allow_unassigned`, a row whose name and email are both
    blank means "no PM for this state" (kept with empty name/email)."""
    problems: list[Problem] = []
    clean = []
    first_row: dict[str, int] = {}
    for i, rec in enumerate(rows.to_dict("records")):
        row = i + 1
        line = lines[i] if lines else None
        state_in, name, email = (basics.cell_text(rec.get(c)) for c in COLUMNS)

        def bad(column, value, reason):
            problems.append(Problem(reason, row, line, column, value, file))

        code = jurisdictions.state_code(state_in) if state_in else None
        if not state_in:
            bad("state", state_in, "required: a USPS code such as VA (or a name such as Virginia)")
        elif code is None:
            bad("state", state_in, "not one of the 56 reporting jurisdictions (use a USPS code such as VA)")
        elif code in first_row:
            j = first_row[code]
            bad(
                "state",
                state_in,
                f"{code} is also on row {j} (line {lines[j - 1] if lines else j}): one program manager per state",
            )
        else:
            first_row[code] = row
        if allow_unassigned and not name and not email:
            if code:
                clean.append({"state": code, "name": "", "email": ""})
            continue
        for column, value in (("name", name), ("email", email)):
            if value.startswith(FORMULA_PREFIXES[:1]) and len(value) > 1:
                bad(column, value, "looks like a spreadsheet formula; type the value itself")
        if not name:
            bad("name", name, "required: the program manager's name")
        elif len(name) > MAX_NAME:
            bad("name", name, f"longer than {MAX_NAME} characters")
        elif any(ord(ch) < 32 for ch in name):
            bad("name", name, "contains control characters (line breaks, tabs)")
        if not email:
            bad("email", email, "required: the program manager's e-mail address")
        elif len(email) > MAX_EMAIL or not EMAIL_RE.match(email):
            bad("email", email, "not a plausible e-mail address (expected name@agency.gov)")
        if code:
            local, _, domain = email.partition("@")
            clean.append({"state": code, "name": name, "email": f"{local}@{domain.lower()}" if domain else email})
    return pd.DataFrame(clean, columns=list(COLUMNS)), problems


def read_csv(file_name: str, data: bytes) -> tuple[pd.DataFrame | None, list[int], list[Problem], list[str]]:
    """A PM-assignment CSV → (rows of strings, file line of each row, problems, warnings)."""
    if len(data) > MAX_BYTES:
        return (
            None,
            [],
            [Problem(f"the file is {len(data) / 1e6:.1f} MB; a PM list is at most 1 MB", file=file_name)],
            [],
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        return None, [], [Problem("the file is empty", file=file_name)], []
    if b"\x00" in data[:8192] or data[:4] == b"PK\x03\x04":
        return (
            None,
            [],
            [Problem("this is not a CSV text file; upload a .csv saved as 'CSV UTF-8'", file=file_name)],
            [],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return (
            None,
            [],
            [
                Problem(
                    f"the file is not UTF-8 text (byte {data[e.start : e.start + 1]!r}); "
                    "in Excel use Save As → 'CSV UTF-8'",
                    line=data[: e.start].count(b"\n") + 1,
                    file=file_name,
                )
            ],
            [],
        )
    problems, warnings = [], []
    try:
        got = csvtext.read(text)
    except csvtext.CsvTextError as e:
        return None, [], [Problem(str(e), line=e.line, file=file_name)], []
    if got.header is None:
        return None, [], [Problem("the file is empty", file=file_name)], []
    names, header_line = got.header, got.header_line
    lines, records = [line for line, _ in got.records], [cells for _, cells in got.records]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        return (
            None,
            [],
            [
                Problem(
                    "missing required column(s): "
                    + ", ".join(missing)
                    + f" (the header has: {', '.join(n for n in names if n) or 'nothing'})",
                    line=header_line,
                    file=file_name,
                )
            ],
            [],
        )
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        return (
            None,
            [],
            [Problem(f"column(s) {', '.join(dupes)} appear twice in the header", line=header_line, file=file_name)],
            [],
        )
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        warnings.append("ignored unknown column(s): " + ", ".join(unknown))
    if not records:
        return None, [], [Problem("the file has a header but no data rows", line=header_line, file=file_name)], []
    idx = {c: names.index(c) for c in COLUMNS}
    rows = pd.DataFrame(
        [{c: (cells[i] if i < len(cells) else "") for c, i in idx.items()} for cells in records],
        columns=list(COLUMNS),
        dtype=object,
    )
    for k, cells in enumerate(records):
        extra = [v for v in cells[len(names) :] if v.strip()]
        if extra:
            problems.append(
                Problem(
                    f"the row has {len(cells)} values but the header has {len(names)} columns",
                    k + 1,
                    lines[k],
                    None,
                    extra[0],
                    file_name,
                )
            )
    return rows, lines, problems, warnings


# ---------------------------------------------------------------------------------------------------------------
# Writes (all or nothing; every change logged)
# ---------------------------------------------------------------------------------------------------------------


def _apply(con, clean: pd.DataFrame, by: str, source: str, *, remove_missing: bool = False) -> dict:
    """Write validated rows in one transaction; log every change. Returns counts added/changed/removed/unchanged."""
    now = dt.datetime.now().replace(microsecond=0)
    counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
    with transaction(con) as cur:
        current = {
            r[0]: (r[1], r[2]) for r in cur.execute("SELECT state, name, email FROM program_managers").fetchall()
        }
        targets = {r["state"]: (r["name"], r["email"]) for r in clean.to_dict("records")}
        if remove_missing:
            for state in current:
                targets.setdefault(state, ("", ""))
        for state in sorted(targets):
            new = targets[state]
            old = current.get(state)
            if not new[0]:  # unassigned
                if old is None:
                    continue
                cur.execute("DELETE FROM program_managers WHERE state = ?", [state]).fetchall()
                counts["removed"] += 1
            elif old is None:
                cur.execute("INSERT INTO program_managers VALUES (?, ?, ?)", [state, *new]).fetchall()
                counts["added"] += 1
            elif tuple(old) != tuple(new):
                cur.execute("UPDATE program_managers SET name = ?, email = ? WHERE state = ?", [*new, state]).fetchall()
                counts["changed"] += 1
            else:
                counts["unchanged"] += 1
                continue
            cur.execute(
                "INSERT INTO program_manager_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    now,
                    by,
                    source,
                    state,
                    old[0] if old else None,
                    old[1] if old else None,
                    new[0] or None,
                    new[1] or None,
                ],
            ).fetchall()
        if counts["added"] or counts["changed"] or counts["removed"]:
            audit.record_in(
                cur,
                by,
                "edit",
                f"program-manager assignments from {source}: {counts['added']} added, "
                f"{counts['changed']} changed, {counts['removed']} removed",
            )
    return counts


def save(con, rows: pd.DataFrame, by: str) -> dict:
    """Save the Program managers page's table (one row per state; blank name and email = no PM assigned).
    Raises LoadError (nothing written) when any row is invalid; returns the counts of changes."""
    if not str(by or "").strip():
        raise ValueError("who is saving must be named")
    clean, problems = validate(rows[list(COLUMNS)], allow_unassigned=True)
    if problems:
        raise LoadError(problems)
    return _apply(con, clean, by, "page")


def load_csv(con, file_name: str, data: bytes, by: str) -> dict:
    """Validate a PM CSV (state,name,email) and write it all, or raise LoadError and write nothing. The states it
    lists get the file's PM; other states keep theirs. Returns counts and warnings."""
    rows, lines, problems, warnings = read_csv(file_name, data)
    if rows is not None:
        clean, more = validate(rows, lines=lines, file=file_name)
        problems = sorted(problems + more, key=lambda p: (p.row or 0, COLUMNS.index(p.column) if p.column else -1))
    if problems:
        raise LoadError(problems, warnings)
    counts = _apply(con, clean, by, file_name)
    counts["rows"] = len(clean)
    counts["warnings"] = warnings
    return counts


def summary_line(file_name: str, counts: dict) -> str:
    return (
        f"loaded {file_name}: {counts['rows']} assignment(s): {counts['added']} new, {counts['changed']} "
        f"changed, {counts['unchanged']} unchanged"
    )


def to_csv_bytes(con) -> bytes:
    """The current assignments as a CSV in the load format (state,name,email), formula-safe."""
    df = query_df(con, "SELECT state, name, email FROM program_managers ORDER BY state")
    df = df.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v)
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def problems_table(problems: list[Problem], rows: pd.DataFrame) -> pd.DataFrame:
    """Problems with the page's table, as a table naming the state of each row (row N = the N-th table row)."""
    states = [str(s) for s in rows["state"]]
    return pd.DataFrame(
        [
            {
                "row": p.row,
                "state": states[p.row - 1] if p.row and p.row <= len(states) else "",
                "column": p.column or "",
                "value": p.value if p.value is not None else "",
                "problem": p.reason,
            }
            for p in problems
        ],
        columns=["row", "state", "column", "value", "problem"],
    )
