"""Integrity of a store (`python -m shisn check`): what the schema cannot enforce by itself, and what it should
have but a damaged store may lack.

The contract: `problems(store)` reads the store as it is (it is never written, nor upgraded: a store of an older
schema is checked on the tables and columns it has) and returns one `Problem` per finding, each with a one-line
`line()`; an empty list means the store is clean. The checks:

- `jurisdiction`: a row naming a jurisdiction that is not one of the 56 (`shisn.domain.jurisdictions`), in any column
  that holds one (assessments, program managers and their log, users, exchanges' mentor, mentee and requesting
  state, referrals, each state's view, submissions, flag confirmations, notifications); one problem per table,
  column and code.
- `reference`: a row pointing at an exchange, a submission or a load that does not exist (history, views and
  referrals of a missing exchange; history of a missing submission; assessment rows and submissions naming a load
  missing from the load log; a notification carried by a missing digest), and a state's view of an exchange by
  a state that is neither its mentor nor mentee.
- `history`: an exchange or a submission whose append-only history does not replay to its current row: versions
  1…N with no gap, the first from no status, each starting from the status the one before ended in, the last at
  the row's version and status (none at all is a problem too).
- `load`: a load whose rows are missing: fewer of its rows in `assessments` than its file held although no later
  load covers any of its states × cycles (a later load replaces rows, so then fewer is normal), or more rows than
  its file held.
- `duplicate`: what the schema should forbid: two assessment rows for one state × program area × cycle (their key
  is kept by the loader, not by the table since schema version 4), two rows with one primary key, two users whose
  emails differ only in case, a schema_version table with other than one row.
"""

from __future__ import annotations

from dataclasses import dataclass

from shisn.domain import jurisdictions
from shisn.store import db
from shisn.store.archive import schema_at

# (table, column) holding a jurisdiction code
JURISDICTION_COLUMNS = (
    ("assessments", "state"),
    ("program_managers", "state"),
    ("program_manager_log", "state"),
    ("users", "state"),
    ("exchanges", "mentor"),
    ("exchanges", "mentee"),
    ("exchanges", "requested_state"),
    ("ta_referrals", "state"),
    ("exchange_outcomes", "state"),
    ("submissions", "state"),
    ("flag_confirmations", "state"),
    ("notifications", "state"),
)
# (table, column, the table and column it points at, what it is called)
REFERENCES = (
    ("exchange_history", "exchange_id", "exchanges", "exchange_id", "exchange"),
    ("exchange_outcomes", "exchange_id", "exchanges", "exchange_id", "exchange"),
    ("ta_referrals", "exchange_id", "exchanges", "exchange_id", "exchange"),
    ("submission_history", "submission_id", "submissions", "submission_id", "submission"),
    ("assessments", "load_id", "load_log", "load_id", "load"),
    ("submissions", "load_id", "load_log", "load_id", "load"),
    ("submissions", "base_load_id", "load_log", "load_id", "load"),
    ("notifications", "digest_id", "notifications", "notification_id", "digest"),
)
# (the table with a version and a status, its id column, its history table, what it is called)
HISTORIES = (
    ("exchanges", "exchange_id", "exchange_history", "exchange"),
    ("submissions", "submission_id", "submission_history", "submission"),
)


@dataclass(frozen=True)
class Problem:
    kind: str  # jurisdiction, reference, history, load, duplicate
    table: str
    detail: str

    def line(self) -> str:
        return f"{self.kind}: {self.table}: {self.detail}"


def problems(store: db.Store) -> list[Problem]:
    """Every integrity problem of the store (see the module's contract), in the order of the checks."""
    with store.transaction() as cur:
        cur.snapshot()
        version = db.schema_version_in(cur)
        cols = cur.df("SELECT table_name, column_name FROM information_schema.columns")
        have = set(zip(cols["table_name"], cols["column_name"]))
        tables = {t for t, _ in have}
        out: list[Problem] = []
        out += _jurisdictions(cur, have)
        out += _references(cur, have, tables)
        out += _histories(cur, tables)
        out += _loads(cur, tables)
        out += _duplicates(cur, version, tables)
    return out


def _jurisdictions(cur, have) -> list[Problem]:
    known = set(jurisdictions.codes())
    out = []
    for table, col in JURISDICTION_COLUMNS:
        if (table, col) not in have:
            continue
        for value, n in cur.execute(
            f"SELECT {col}, count(*) FROM {table} WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY {col}"
        ).fetchall():
            if value not in known:
                out.append(
                    Problem(
                        "jurisdiction", table, f"{n} row(s) with {col} {value!r}, which is not a known jurisdiction"
                    )
                )
    return out


def _references(cur, have, tables) -> list[Problem]:
    out = []
    for table, col, target, target_col, what in REFERENCES:
        if (table, col) not in have or target not in tables:
            continue
        for value, n in cur.execute(f"""
                SELECT x.{col}, count(*) FROM {table} x
                WHERE x.{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{target_col} = x.{col})
                GROUP BY x.{col} ORDER BY x.{col}""").fetchall():
            out.append(Problem("reference", table, f"{n} row(s) with {col} {value}, but there is no {what} {value}"))
    if {"exchange_outcomes", "exchanges"} <= tables:
        for ex_id, state in cur.execute("""
                SELECT o.exchange_id, o.state FROM exchange_outcomes o JOIN exchanges e
                  ON e.exchange_id = o.exchange_id
                WHERE o.state <> e.mentor AND o.state <> e.mentee ORDER BY o.exchange_id, o.state""").fetchall():
            out.append(
                Problem(
                    "reference",
                    "exchange_outcomes",
                    f"exchange {ex_id} has a view by {state}, which is neither its mentor nor its mentee",
                )
            )
    return out


def _histories(cur, tables) -> list[Problem]:
    out = []
    for table, key, hist, what in HISTORIES:
        if not {table, hist} <= tables:
            continue
        for ident, status, version, n, low, high, last in cur.execute(f"""
                SELECT r.{key}, r.status, r.version, h.n, h.low, h.high, l.to_status
                FROM {table} r
                LEFT JOIN (SELECT {key}, count(*) AS n, min(version) AS low, max(version) AS high
                           FROM {hist} GROUP BY {key}) h ON h.{key} = r.{key}
                LEFT JOIN {hist} l ON l.{key} = r.{key} AND l.version = h.high
                WHERE h.n IS NULL OR h.low <> 1 OR h.n <> h.high OR h.high <> r.version
                   OR l.to_status IS DISTINCT FROM r.status
                ORDER BY r.{key}""").fetchall():
            if n is None:
                detail = f"{what} {ident} (version {version}, {status}) has no history"
            elif low != 1 or n != high:
                detail = f"{what} {ident}: its history has {n} version(s) numbered {low} to {high}, with gaps"
            elif high != version:
                detail = f"{what} {ident} is at version {version} but its history ends at version {high}"
            else:
                detail = f"{what} {ident} is {status} but its history ends in {last}"
            out.append(Problem("history", table, detail))
        for ident, version, start, before in cur.execute(f"""
                SELECT {key}, version, from_status, before FROM (
                    SELECT {key}, version, from_status,
                           LAG(to_status) OVER (PARTITION BY {key} ORDER BY version) AS before,
                           ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY version) AS k
                    FROM {hist}) h
                WHERE (k = 1 AND from_status IS NOT NULL) OR (k > 1 AND from_status IS DISTINCT FROM before)
                ORDER BY {key}, version""").fetchall():
            if before is None:
                detail = f"{what} {ident}: its first history row (version {version}) starts from {start}, not new"
            else:
                detail = (
                    f"{what} {ident}: history version {version} starts from {start} but the version before "
                    f"ended in {before}"
                )
            out.append(Problem("history", hist, detail))
    return out


def _loads(cur, tables) -> list[Problem]:
    if not {"load_log", "assessments"} <= tables:
        return []
    loads = cur.execute("""
        SELECT l.load_id, l.file_name, l.rows_in_file, l.states, l.cycles, coalesce(a.n, 0)
        FROM load_log l LEFT JOIN (SELECT load_id, count(*) AS n FROM assessments GROUP BY load_id) a
          ON a.load_id = l.load_id
        ORDER BY l.load_id DESC""").fetchall()
    covered: set = set()  # state × cycle pairs some later load may have replaced
    out = []
    for load_id, name, in_file, states, cycles, n in loads:
        pairs = {(s, c) for s in (states or "").split(",") if s for c in (cycles or "").split(",") if c}
        replaced_later = not pairs.isdisjoint(covered)
        covered |= pairs
        if n > in_file:
            out.append(
                Problem(
                    "load",
                    "assessments",
                    f"load {load_id} ({name}) has {n} rows, more than the {in_file} its file held",
                )
            )
        elif n < in_file and not replaced_later:
            out.append(
                Problem(
                    "load",
                    "assessments",
                    f"load {load_id} ({name}): {in_file - n} of its {in_file} "
                    "rows are missing, and no later load replaced them",
                )
            )
    return out


def _duplicates(cur, version: int, tables) -> list[Problem]:
    out = []
    if "schema_version" in tables:
        n = int(cur.scalar("SELECT count(*) FROM schema_version"))
        if n != 1:
            out.append(Problem("duplicate", "schema_version", f"{n} rows; a store has exactly one"))
    if "assessments" in tables:
        for state, area, cycle, n in cur.execute("""
                SELECT state, program_area, cycle, count(*) FROM assessments GROUP BY state, program_area, cycle
                HAVING count(*) > 1 ORDER BY state, program_area, cycle""").fetchall():
            out.append(Problem("duplicate", "assessments", f"{n} rows for {state} {area} {cycle}; one is allowed"))
    if 1 <= version <= db.SCHEMA_VERSION:
        for name, spec in schema_at(version).tables.items():
            if not spec.key or name not in tables:
                continue
            keys = ", ".join(spec.key)
            for *key, n in cur.execute(
                f"SELECT {keys}, count(*) FROM {name} GROUP BY {keys} HAVING count(*) > 1 ORDER BY {keys}"
            ).fetchall():
                shown = ", ".join(f"{k} {v!r}" for k, v in zip(spec.key, key))
                out.append(Problem("duplicate", name, f"{n} rows with {shown}, its primary key"))
    if "users" in tables:
        for email, n in cur.execute(
            "SELECT lower(email), count(*) FROM users GROUP BY lower(email) HAVING count(*) > 1 ORDER BY 1"
        ).fetchall():
            out.append(Problem("duplicate", "users", f"{n} users with the email {email} (in any case)"))
    return out
