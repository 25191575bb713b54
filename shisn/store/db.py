"""The store: where it is, its schema (versioned), connections and transactions. Nothing else opens the database.

Two engines behind one interface, so pages, the CLI and tests never know which one is underneath:

- **DuckDB** (the embedded default): a file, `data/shisn.duckdb` unless `--db PATH` or `SHISN_DB=PATH` names another.
  DuckDB lets one process open a file for writing at a time, so the app does not hold the file while it is idle:
  the process keeps one connection open while any read or write is under way and closes it after
  `IDLE_RELEASE` seconds without use (every read or write then opens a cursor from it, never shared across
  threads). Another process (the CLI while the app serves, or the app while the CLI loads) waits up to
  `SHISN_DB_LOCK_WAIT` seconds (default 30) for the file, then gives up with `StoreBusy`: one line saying what
  to do.
- **PostgreSQL** (several app replicas on one database, loads while the app serves): `SHISN_DB` or `--db` set to a
  `postgresql://user@host:port/dbname` URL, through psycopg 3 with a small connection pool per process.

Callers write SQL once, with `?` placeholders and SQL both engines read the same way (no engine-only functions),
and use these calls only:

    store.read(sql, params)        -> pandas DataFrame (own cursor)
    with store.transaction() as cur:   # one transaction: committed on success, rolled back on any error
        cur.execute(sql, params).fetchall()      # a write without RETURNING fetches [(rows affected,)]
        cur.nextval("load_id_seq")
        cur.lock("load")                          # serialise writers of one kind across processes / replicas
        cur.temp_table("incoming", arrow_table)   # a table of rows for INSERT … SELECT (PostgreSQL: COPY)
    store.version("table", ...)    -> a token that changes whenever those tables change (cache keys)
    with store.exclusive("name") as held:   # one holder at a time across processes and replicas, never waiting:
        ...                                 # held is False while another has it (the mail sender's turn)

Whole tables, for shisn/store/archive.py (backup, restore, copy) only: `cur.snapshot()` (every read of the transaction
sees one moment), `cur.arrow(sql, schema)` (a SELECT's rows as a pyarrow Table), `cur.insert_arrow(table, rows)`
(bulk rows into a table; PostgreSQL: COPY), `cur.sequence_next(name)` / `cur.set_sequence_next(name, value)`, and
`store.migrate_in(cur)` (the schema brought up to date inside the caller's transaction).

`query_df(store, …)` and `transaction(store)` are the same calls as functions. Two writers that collide on one row
raise `WriteConflict` (the exchanges turn it into their stale-edit message).
"""

from __future__ import annotations

import atexit
import fcntl
import glob
import io
import os
import re
import threading
import time
import weakref
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DB = PROJECT_DIR / "data" / "shisn.duckdb"
SCHEMA_VERSION = 8
URL_SCHEMES = ("postgresql://", "postgres://")
IDLE_RELEASE = 10.0  # seconds a DuckDB file stays open in a process after its last read or write (at once
# when another process waits for it): opening it costs ~40 ms, most of a new session's
# reads, and visitors rarely come more than seconds apart
WAITER_POLL = 0.25  # seconds between two looks for another process waiting for the file, while it is idle
DEFAULT_LOCK_WAIT = 30  # seconds another process's hold on a DuckDB file is waited for (SHISN_DB_LOCK_WAIT)


class StoreBusy(RuntimeError):
    """The store could not be opened in time (another process holds the DuckDB file). The message is one line that
    says what to do."""


class WriteConflict(RuntimeError):
    """Two writers changed the same row at the same moment; this one's transaction was rolled back."""


# Each entry upgrades the schema from version i to i + 1, the same SQL for both engines (see migration_sql). Never
# edit a shipped step; append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
    CREATE SEQUENCE IF NOT EXISTS load_id_seq START 1;
    CREATE TABLE IF NOT EXISTS load_log (
        load_id      INTEGER PRIMARY KEY,
        loaded_at    TIMESTAMP NOT NULL,
        loaded_by    VARCHAR NOT NULL,
        file_name    VARCHAR NOT NULL,
        rows_in_file INTEGER NOT NULL,
        rows_added   INTEGER NOT NULL,
        rows_replaced INTEGER NOT NULL,
        states       VARCHAR NOT NULL,   -- comma-separated USPS codes the file covered
        cycles       VARCHAR NOT NULL,   -- comma-separated cycles the file covered
        synthetic    BOOLEAN NOT NULL    -- true for the generated demo data set
    );
    CREATE TABLE IF NOT EXISTS assessments (
        state        VARCHAR NOT NULL,
        program_area VARCHAR NOT NULL,
        cycle        INTEGER NOT NULL,
        maturity     TINYINT NOT NULL CHECK (maturity BETWEEN 1 AND 5),
        offers_help  BOOLEAN NOT NULL,
        seeks_help   BOOLEAN NOT NULL,
        other_area   VARCHAR,
        notes        VARCHAR,
        planning     TINYINT CHECK (planning BETWEEN 1 AND 5),
        organization TINYINT CHECK (organization BETWEEN 1 AND 5),
        equipment    TINYINT CHECK (equipment BETWEEN 1 AND 5),
        training     TINYINT CHECK (training BETWEEN 1 AND 5),
        exercises    TINYINT CHECK (exercises BETWEEN 1 AND 5),
        load_id      INTEGER NOT NULL,
        PRIMARY KEY (state, program_area, cycle)
    );
    CREATE TABLE IF NOT EXISTS program_managers (
        state  VARCHAR PRIMARY KEY,
        name   VARCHAR NOT NULL,
        email  VARCHAR NOT NULL
    );
    """,
    # 2: the facilitation workflow (shisn/services/exchanges.py, shisn/services/assignments.py): exchanges with optimistic
    # versions and an append-only history, referrals to technical assistance, and a log of PM assignment changes.
    """
    CREATE SEQUENCE IF NOT EXISTS exchange_id_seq START 1;
    CREATE TABLE IF NOT EXISTS exchanges (
        exchange_id   INTEGER PRIMARY KEY,
        mentor        VARCHAR NOT NULL,
        mentee        VARCHAR NOT NULL,
        program_areas VARCHAR NOT NULL,   -- comma-separated program-area slugs (catalog order)
        cycle         INTEGER NOT NULL,   -- the assessment cycle the need was raised in
        status        VARCHAR NOT NULL CHECK (status IN
                      ('proposed', 'introduced', 'in_contact', 'exchange_held', 'closed', 'declined')),
        means         VARCHAR CHECK (means IN ('teleconference', 'on_site_visit', 'document_exchange', 'other')),
        means_detail  VARCHAR,
        planned_on    DATE,               -- the date the states set for the exchange
        outcome       VARCHAR,            -- outcome note / lessons learned
        proposed_at   TIMESTAMP NOT NULL,
        introduced_at TIMESTAMP,
        contact_at    TIMESTAMP,
        held_at       TIMESTAMP,
        closed_at     TIMESTAMP,
        declined_at   TIMESTAMP,
        created_by    VARCHAR NOT NULL,
        updated_at    TIMESTAMP NOT NULL,
        updated_by    VARCHAR NOT NULL,
        version       INTEGER NOT NULL,   -- optimistic concurrency: every update names the version it read
        synthetic     BOOLEAN NOT NULL DEFAULT false,
        CHECK (mentor <> mentee)
    );
    CREATE TABLE IF NOT EXISTS exchange_history (   -- append-only: one row per version of an exchange
        exchange_id  INTEGER NOT NULL,
        version      INTEGER NOT NULL,
        changed_at   TIMESTAMP NOT NULL,  -- when the change was recorded
        changed_by   VARCHAR NOT NULL,
        from_status  VARCHAR,             -- NULL when the exchange was opened
        to_status    VARCHAR NOT NULL,
        effective_at TIMESTAMP,           -- for a status change: when it happened (may precede changed_at)
        changes      VARCHAR NOT NULL,    -- JSON {field: [old, new]}
        comment      VARCHAR,
        PRIMARY KEY (exchange_id, version)
    );
    CREATE SEQUENCE IF NOT EXISTS ta_referral_id_seq START 1;
    CREATE TABLE IF NOT EXISTS ta_referrals (
        referral_id  INTEGER PRIMARY KEY,
        state        VARCHAR NOT NULL,
        program_area VARCHAR NOT NULL,
        cycle        INTEGER NOT NULL,
        reason       VARCHAR NOT NULL,
        referred_by  VARCHAR NOT NULL,
        referred_at  TIMESTAMP NOT NULL,
        exchange_id  INTEGER,             -- the declined exchange the need came back from, if any
        synthetic    BOOLEAN NOT NULL DEFAULT false,
        UNIQUE (state, program_area, cycle)
    );
    CREATE TABLE IF NOT EXISTS program_manager_log (
        changed_at TIMESTAMP NOT NULL,
        changed_by VARCHAR NOT NULL,
        source     VARCHAR NOT NULL,      -- 'page' or the CSV file name
        state      VARCHAR NOT NULL,
        old_name   VARCHAR,
        old_email  VARCHAR,
        new_name   VARCHAR,               -- NULL: the assignment was removed
        new_email  VARCHAR
    );
    """,
    """
    CREATE TABLE IF NOT EXISTS users (
        email     VARCHAR PRIMARY KEY,      -- lower case
        role      VARCHAR NOT NULL CHECK (role IN ('leadership', 'program_manager', 'state')),
        state     VARCHAR,                  -- the state user's own jurisdiction
        name      VARCHAR NOT NULL,
        added_by  VARCHAR NOT NULL,
        added_at  TIMESTAMP NOT NULL
    );
    CREATE SEQUENCE IF NOT EXISTS audit_id_seq START 1;
    CREATE TABLE IF NOT EXISTS audit_log (
        audit_id  INTEGER PRIMARY KEY,
        at_time   TIMESTAMP NOT NULL,
        who       VARCHAR NOT NULL,
        action    VARCHAR NOT NULL,         -- load, edit, export, role
        detail    VARCHAR NOT NULL
    );
""",
    # 4: `assessments` without its primary key. Keeping the key's index up to date was more than a third of the
    # time of writing a 100,000-row file. One row per state × program area × cycle is kept by the one
    # writer, shisn.store.ingest.load: it refuses a file (or set of files) holding a key twice, replaces every state ×
    # cycle it writes (delete, then insert, in one transaction), runs one load at a time, and before committing
    # checks that no other row is left in the states × cycles it wrote. DuckDB cannot drop a key (ALTER TABLE
    # ... DROP CONSTRAINT is not implemented), so the table is rebuilt with its rows.
    """
    CREATE TABLE assessments_v4 (
        state        VARCHAR NOT NULL,
        program_area VARCHAR NOT NULL,
        cycle        INTEGER NOT NULL,
        maturity     TINYINT NOT NULL CHECK (maturity BETWEEN 1 AND 5),
        offers_help  BOOLEAN NOT NULL,
        seeks_help   BOOLEAN NOT NULL,
        other_area   VARCHAR,
        notes        VARCHAR,
        planning     TINYINT CHECK (planning BETWEEN 1 AND 5),
        organization TINYINT CHECK (organization BETWEEN 1 AND 5),
        equipment    TINYINT CHECK (equipment BETWEEN 1 AND 5),
        training     TINYINT CHECK (training BETWEEN 1 AND 5),
        exercises    TINYINT CHECK (exercises BETWEEN 1 AND 5),
        load_id      INTEGER NOT NULL
    );
    INSERT INTO assessments_v4 (state, program_area, cycle, maturity, offers_help, seeks_help, other_area, notes,
                                planning, organization, equipment, training, exercises, load_id)
        SELECT state, program_area, cycle, maturity, offers_help, seeks_help, other_area, notes,
               planning, organization, equipment, training, exercises, load_id
        FROM assessments ORDER BY state, cycle, program_area;
    DROP TABLE assessments;
    ALTER TABLE assessments_v4 RENAME TO assessments;
    """,
    # 5: wave 2. Self-assessments filled in on a form and reviewed: `submissions` with optimistic versions
    # and an append-only history; data-quality flags a reviewer or the state confirmed (`flag_confirmations`).
    # Introduction requests are exchanges in a first status `requested`: DuckDB cannot change a CHECK
    # constraint, so `exchanges` is rebuilt with its rows, `proposed_at` may now be empty (a request not yet
    # accepted) and the request's own columns are added. Each state's view of a held exchange:
    # `exchange_outcomes`. Settings leadership can change (e.g. the days after which an exchange counts as stuck).
    """
    CREATE SEQUENCE IF NOT EXISTS submission_id_seq START 1;
    CREATE TABLE IF NOT EXISTS submissions (
        submission_id  INTEGER PRIMARY KEY,
        state          VARCHAR NOT NULL,
        cycle          INTEGER NOT NULL,
        status         VARCHAR NOT NULL CHECK (status IN ('draft', 'submitted', 'accepted', 'returned')),
        areas          VARCHAR NOT NULL,   -- JSON: the form's rows, one object per program area (ingest's columns)
        created_by     VARCHAR NOT NULL,
        created_at     TIMESTAMP NOT NULL,
        updated_by     VARCHAR NOT NULL,
        updated_at     TIMESTAMP NOT NULL,
        submitted_by   VARCHAR,
        submitted_at   TIMESTAMP,
        reviewed_by    VARCHAR,
        reviewed_at    TIMESTAMP,
        review_comment VARCHAR,            -- the reviewer's comment when returned (the state sees it)
        load_id        INTEGER,            -- the load that wrote the accepted rows
        base_load_id   INTEGER,            -- the newest load when it was submitted (a later one warns the reviewer)
        version        INTEGER NOT NULL,   -- optimistic concurrency, as exchanges
        synthetic      BOOLEAN NOT NULL DEFAULT false
    );
    CREATE TABLE IF NOT EXISTS submission_history (   -- append-only: one row per version of a submission
        submission_id INTEGER NOT NULL,
        version       INTEGER NOT NULL,
        changed_at    TIMESTAMP NOT NULL,
        changed_by    VARCHAR NOT NULL,
        from_status   VARCHAR,
        to_status     VARCHAR NOT NULL,
        comment       VARCHAR,
        PRIMARY KEY (submission_id, version)
    );
    CREATE TABLE IF NOT EXISTS flag_confirmations (
        state        VARCHAR NOT NULL,
        cycle        INTEGER NOT NULL,
        rule         VARCHAR NOT NULL,     -- shisn.quality's rule id
        program_area VARCHAR NOT NULL,     -- '' for a flag about the whole assessment
        note         VARCHAR NOT NULL,
        confirmed_by VARCHAR NOT NULL,
        confirmed_at TIMESTAMP NOT NULL,
        PRIMARY KEY (state, cycle, rule, program_area)
    );
    CREATE TABLE IF NOT EXISTS exchange_outcomes (
        exchange_id  INTEGER NOT NULL,
        state        VARCHAR NOT NULL,     -- the mentor or the mentee whose view this is
        useful       TINYINT NOT NULL CHECK (useful BETWEEN 1 AND 5),
        what_changed VARCHAR,
        differently  VARCHAR,              -- what it would do differently
        recorded_by  VARCHAR NOT NULL,
        recorded_at  TIMESTAMP NOT NULL,
        version      INTEGER NOT NULL DEFAULT 1,  -- optimistic concurrency: a revision names the version it read
        synthetic    BOOLEAN NOT NULL DEFAULT false,
        PRIMARY KEY (exchange_id, state)
    );
    CREATE TABLE IF NOT EXISTS settings (
        key        VARCHAR PRIMARY KEY,
        value      VARCHAR NOT NULL,
        updated_by VARCHAR NOT NULL,
        updated_at TIMESTAMP NOT NULL
    );
    CREATE TABLE exchanges_v5 (
        exchange_id     INTEGER PRIMARY KEY,
        mentor          VARCHAR NOT NULL,
        mentee          VARCHAR NOT NULL,
        program_areas   VARCHAR NOT NULL,
        cycle           INTEGER NOT NULL,
        status          VARCHAR NOT NULL CHECK (status IN ('requested', 'proposed', 'introduced', 'in_contact',
                                                           'exchange_held', 'closed', 'declined')),
        means           VARCHAR CHECK (means IN ('teleconference', 'on_site_visit', 'document_exchange', 'other')),
        means_detail    VARCHAR,
        planned_on      DATE,
        outcome         VARCHAR,
        proposed_at     TIMESTAMP,          -- empty while a state's request awaits its PM
        introduced_at   TIMESTAMP,
        contact_at      TIMESTAMP,
        held_at         TIMESTAMP,
        closed_at       TIMESTAMP,
        declined_at     TIMESTAMP,
        created_by      VARCHAR NOT NULL,
        updated_at      TIMESTAMP NOT NULL,
        updated_by      VARCHAR NOT NULL,
        version         INTEGER NOT NULL,
        synthetic       BOOLEAN NOT NULL DEFAULT false,
        requested_at    TIMESTAMP,          -- a state's introduction request: when, who, which state asked, why
        requested_by    VARCHAR,
        requested_state VARCHAR,
        request_message VARCHAR,
        decline_reason  VARCHAR,            -- why a PM declined (the state sees it)
        CHECK (mentor <> mentee)
    );
    INSERT INTO exchanges_v5 (exchange_id, mentor, mentee, program_areas, cycle, status, means, means_detail,
                              planned_on, outcome, proposed_at, introduced_at, contact_at, held_at, closed_at,
                              declined_at, created_by, updated_at, updated_by, version, synthetic)
        SELECT exchange_id, mentor, mentee, program_areas, cycle, status, means, means_detail, planned_on, outcome,
               proposed_at, introduced_at, contact_at, held_at, closed_at, declined_at, created_by, updated_at,
               updated_by, version, synthetic
        FROM exchanges ORDER BY exchange_id;
    DROP TABLE exchanges;
    ALTER TABLE exchanges_v5 RENAME TO exchanges;
    """,
    # 6: reporting cycles the office runs (shisn/store/reporting_cycles.py): leadership opens a cycle for reporting with a due date
    # and closes it; the pages default to the latest closed cycle. A cycle with data and no row here is judged by
    # how many jurisdictions reported (stores written before this step keep their pages as they were).
    """
    CREATE TABLE IF NOT EXISTS reporting_cycles (
        cycle       INTEGER PRIMARY KEY,
        status      VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
        due_on      DATE,
        opened_by   VARCHAR,
        opened_at   TIMESTAMP,
        closed_by   VARCHAR,
        closed_at   TIMESTAMP,
        updated_at  TIMESTAMP NOT NULL
    );
    """,
    # 7: e-mail notifications (shisn/services/notify.py, shisn/services/mailer.py). `notifications` is a transactional outbox: an
    # event's rows are written in the transaction of the change itself, and a sender delivers them (claimed one at a
    # time, marked sent once the relay accepted). `notification_preferences`: each user's choice per kind
    # (immediately, in the daily digest, or off); leadership's defaults and the digest's day live in `settings`.
    """
    CREATE SEQUENCE IF NOT EXISTS notification_id_seq START 1;
    CREATE TABLE IF NOT EXISTS notifications (
        notification_id INTEGER PRIMARY KEY,
        created_at      TIMESTAMP NOT NULL,
        kind            VARCHAR NOT NULL,   -- shisn.notify.KINDS, or 'digest' for a daily digest
        event           VARCHAR NOT NULL,   -- what happened, e.g. 'exchange 12 version 3'
        recipient       VARCHAR NOT NULL,   -- the user's e-mail (lower case)
        state           VARCHAR,            -- the state it concerns for the recipient (digests group by it)
        subject         VARCHAR NOT NULL,
        body_text       VARCHAR NOT NULL,
        body_html       VARCHAR NOT NULL,   -- self-contained: inline styles, no outside images
        link            VARCHAR NOT NULL,   -- the address in the app it points to
        unsubscribe     VARCHAR NOT NULL,   -- the message's unsubscribe link
        status          VARCHAR NOT NULL CHECK (status IN ('digest', 'pending', 'sending', 'sent', 'failed',
                                                           'digested')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMP,          -- pending: not before this (retries back off)
        claimed_by      VARCHAR,            -- the sender delivering it (status sending)
        claimed_at      TIMESTAMP,
        sent_at         TIMESTAMP,          -- when the relay accepted it
        last_error      VARCHAR,
        digest_id       INTEGER             -- digested: the digest that carried it
    );
    CREATE TABLE IF NOT EXISTS notification_preferences (
        email      VARCHAR NOT NULL,
        kind       VARCHAR NOT NULL,
        mode       VARCHAR NOT NULL CHECK (mode IN ('immediate', 'digest', 'off')),
        updated_by VARCHAR NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        PRIMARY KEY (email, kind)
    );
    """,
    # 8: what a state can give and what the network learned (shisn/services/offers.py, shisn/services/practices.py).
    # `offers`: a state's described offer in one program area, draft -> published -> withdrawn, with optimistic
    # versions and an append-only `offer_history`; a published offer's capacity is what the pairing gives that state
    # in that area. `practices`: a lesson turned into a practice, private until its state publishes it, from an
    # exchange or not, linked to the state's offer if any. `exchange_offers`: the offer an introduction request was
    # made from.
    """
    CREATE SEQUENCE IF NOT EXISTS offer_id_seq START 1;
    CREATE TABLE IF NOT EXISTS offers (
        offer_id       INTEGER PRIMARY KEY,
        state          VARCHAR NOT NULL,
        program_area   VARCHAR NOT NULL,
        title          VARCHAR NOT NULL,
        covers         VARCHAR NOT NULL,   -- what it covers
        formats        VARCHAR NOT NULL,   -- comma-separated: teleconference, on_site_visit, documents, shadowing
        capacity       INTEGER NOT NULL CHECK (capacity >= 0),   -- exchanges it can take per cycle
        lead_time_days INTEGER CHECK (lead_time_days >= 0),
        prepare        VARCHAR,            -- what the mentee should prepare
        status         VARCHAR NOT NULL CHECK (status IN ('draft', 'published', 'withdrawn')),
        created_by     VARCHAR NOT NULL,
        created_at     TIMESTAMP NOT NULL,
        updated_by     VARCHAR NOT NULL,
        updated_at     TIMESTAMP NOT NULL,
        published_at   TIMESTAMP,
        version        INTEGER NOT NULL,
        synthetic      BOOLEAN NOT NULL DEFAULT false
    );
    CREATE TABLE IF NOT EXISTS offer_history (
        offer_id    INTEGER NOT NULL,
        version     INTEGER NOT NULL,
        changed_at  TIMESTAMP NOT NULL,
        changed_by  VARCHAR NOT NULL,
        from_status VARCHAR,
        to_status   VARCHAR NOT NULL,
        changes     VARCHAR NOT NULL,      -- JSON: field -> [old, new]
        PRIMARY KEY (offer_id, version)
    );
    CREATE SEQUENCE IF NOT EXISTS practice_id_seq START 1;
    CREATE TABLE IF NOT EXISTS practices (
        practice_id  INTEGER PRIMARY KEY,
        state        VARCHAR NOT NULL,
        program_area VARCHAR NOT NULL,
        title        VARCHAR NOT NULL,
        summary      VARCHAR NOT NULL,
        what_worked  VARCHAR,
        differently  VARCHAR,              -- what it would do differently
        documents    VARCHAR,              -- documents named, one per line (not uploaded)
        exchange_id  INTEGER,              -- the exchange it came from, if any
        offer_id     INTEGER,              -- the state's offer it belongs to, if any
        status       VARCHAR NOT NULL CHECK (status IN ('private', 'published')),
        created_by   VARCHAR NOT NULL,
        created_at   TIMESTAMP NOT NULL,
        updated_by   VARCHAR NOT NULL,
        updated_at   TIMESTAMP NOT NULL,
        published_at TIMESTAMP,
        version      INTEGER NOT NULL,
        synthetic    BOOLEAN NOT NULL DEFAULT false
    );
    CREATE TABLE IF NOT EXISTS exchange_offers (
        exchange_id INTEGER PRIMARY KEY,
        offer_id    INTEGER NOT NULL
    );
    """,
]

# PostgreSQL has no TINYINT; one domain lets every migration's DDL read the same on both engines.
_PG_PRELUDE = "CREATE DOMAIN tinyint AS smallint;\n"


def migration_sql(version_index: int, engine: str) -> str:
    """The SQL of migration `version_index` (0-based) for `engine` ('duckdb' or 'postgresql')."""
    step = MIGRATIONS[version_index]
    sql = step[engine] if isinstance(step, dict) else step
    if engine == "postgresql" and version_index == 0:
        sql = _PG_PRELUDE + sql
    return sql


# --- where the store is -------------------------------------------------------------------------------------------


def locate(explicit: str | os.PathLike | None = None) -> str:
    """`--db` beats `SHISN_DB` beats the default `data/shisn.duckdb`: a `postgresql://` URL or a DuckDB file path."""
    target = explicit if explicit else os.environ.get("SHISN_DB") or DEFAULT_DB
    return str(target)


def is_url(target: str) -> bool:
    return str(target).startswith(URL_SCHEMES)


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The DuckDB file in use (`locate` for either engine)."""
    return Path(locate(explicit))


def describe(target: str) -> str:
    """The store for messages: a file path, or a PostgreSQL URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(target)) if is_url(target) else str(target)


def lock_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("SHISN_DB_LOCK_WAIT", DEFAULT_LOCK_WAIT)))
    except ValueError:
        return float(DEFAULT_LOCK_WAIT)


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def connect(target: str | os.PathLike | None = None, read_only: bool = False) -> Store:
    """The store at `target` (see `locate`), its schema brought up to date. A DuckDB file is created if needed."""
    t = locate(target)
    store = PostgresStore(t) if is_url(t) else DuckDBStore(t)
    if not read_only:
        store.migrate()
    return store


def shared(target: str | os.PathLike | None = None) -> Store:
    """One store object per target in this process (the app's: its pool or its idle-released DuckDB file)."""
    t = locate(target)
    with _stores_lock:
        store = _stores.get(t)
        if store is None:
            store = _stores[t] = connect(t)
        return store


# --- SQL, written once --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _pg_sql(sql: str) -> str:
    """`?` placeholders → psycopg's `%s` (and a literal `%` doubled), outside quoted strings."""
    out, quote = [], None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


_LOCK_KEYS = {"load": 7301, "demo": 7302, "migrate": 7303}  # advisory-lock keys (PostgreSQL)


def _lock_key(name: str) -> int:
    if name in _LOCK_KEYS:
        return _LOCK_KEYS[name]
    return 8000 + sum(ord(c) * 31**i for i, c in enumerate(name)) % 1_000_000


class Cursor:
    """One cursor, DuckDB's calling style on both engines: `execute(sql, params)` returns the cursor, `fetchall()`
    the rows. A write without RETURNING fetches `[(rows affected,)]` on both."""

    def __init__(self, store: Store, raw):
        self.store, self.raw = store, raw
        self._rows: list | None = None

    def execute(self, sql: str, params=None) -> Cursor:
        raise NotImplementedError

    def row(self, table: str, columns: list[str], key: str, value) -> dict | None:
        """The row of `table` whose `key` is `value`, as {column: value} for `columns`; None when there is none."""
        got = self.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ?", [value]).fetchall()
        return dict(zip(columns, got[0])) if got else None

    def insert(self, table: str, row: dict) -> None:
        """INSERT one row given as {column: value}."""
        cols = list(row)
        self.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", list(row.values())
        ).fetchall()

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, None
        return list(rows or [])

    def fetchone(self):
        rows = self.fetchall()
        return rows[0] if rows else None

    def close(self) -> None:
        ctx = getattr(self, "_ctx", None)
        if ctx is not None:
            self._ctx = None
            ctx.__exit__(None, None, None)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def scalar(self, sql: str, params=None):
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def nextval(self, sequence: str) -> int:
        return int(self.scalar(f"SELECT nextval('{sequence}')"))

    def lock(self, name: str) -> None:
        """Serialise writers of one kind (`load`, …) until this transaction ends, across processes and replicas."""

    def df(self, sql: str, params=None) -> pd.DataFrame:
        raise NotImplementedError

    def temp_table(self, name: str, table) -> None:
        """Make `table` (a pyarrow Table or a DataFrame) readable as `name` in this transaction's SQL."""
        raise NotImplementedError

    def drop_temp(self, name: str) -> None:
        raise NotImplementedError

    # whole tables (shisn/store/archive.py)

    def snapshot(self) -> None:
        """Make every later read of this transaction see the same moment (call it first in the transaction)."""

    def arrow(self, sql: str, schema):
        """The rows of `sql` (a SELECT without parameters whose columns are `schema`'s, in its order) as a pyarrow
        Table of exactly `schema`."""
        raise NotImplementedError

    def insert_arrow(self, table: str, rows) -> None:
        """Append the rows of a pyarrow Table to `table` (the Table's column names are the table's columns)."""
        raise NotImplementedError

    def sequence_next(self, sequence: str) -> int:
        """The value the sequence's next `nextval` returns, without taking it."""
        raise NotImplementedError

    def set_sequence_next(self, sequence: str, value: int) -> None:
        """Make the sequence's next `nextval` return `value`."""
        raise NotImplementedError


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _ident(name: str) -> str:
    """A table, column or sequence name written into SQL: shisn's own names only (lower case, digits, `_`)."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL name: {name!r}")
    return name


def _conform(table, schema):
    """`table`'s columns named by `schema`, in its order, cast to its types."""
    cols = []
    for f in schema:
        c = table.column(f.name)
        if pa.types.is_dictionary(c.type):
            c = c.cast(c.type.value_type)
        cols.append(c if c.type == f.type else c.cast(f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def schema_version_in(cur: Cursor) -> int:
    """The store's schema version read inside the caller's transaction (0: no shisn schema yet)."""
    has = cur.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")
    if not has:
        return 0
    return int(cur.scalar("SELECT max(version) FROM schema_version") or 0)


class Store:
    engine = "?"

    def __init__(self, target: str):
        self.target = target

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {describe(self.target)}>"

    # every store has these
    def read(self, sql: str, params=None) -> pd.DataFrame:
        with self._cursor(autocommit=True) as cur:
            return cur.df(sql, params)

    @contextmanager
    def transaction(self):
        with self._cursor(autocommit=False) as cur:
            yield cur

    def cursor(self) -> Cursor:
        """A cursor outside any transaction (each statement commits), for tests and one-off statements. Close it
        (or let it go) when done: on DuckDB it keeps the file open."""
        ctx = self._cursor(autocommit=True)
        cur = ctx.__enter__()
        cur._ctx = ctx
        return cur

    def scalar(self, sql: str, params=None):
        with self._cursor(autocommit=True) as cur:
            return cur.scalar(sql, params)

    def version(self, *tables: str) -> tuple:
        """A token that changes whenever rows of `tables` change: part of every cache key, so every replica shows
        another's writes on its next rerun. Tables with an id sequence or a change time are read cheaply."""
        parts = []
        for t in tables:
            expr = _VERSION_EXPR.get(t, "count(*)")
            parts.append(f"(SELECT {expr} FROM {t})")
        with self._cursor(autocommit=True) as cur:
            row = cur.execute("SELECT " + ", ".join(parts)).fetchone()
        return tuple(str(v) for v in row)

    def schema_version(self) -> int:
        with self._cursor(autocommit=True) as cur:
            return schema_version_in(cur)

    def migrate(self) -> int:
        with self.transaction() as cur:
            self.migrate_in(cur)
        return SCHEMA_VERSION

    def migrate_in(self, cur: Cursor) -> int:
        """Bring the schema up to date inside the caller's transaction, under the `migrate` lock (one process
        migrates; the others wait, then find it done). Returns the version found before."""
        cur.lock("migrate")
        current = schema_version_in(cur)
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database has schema version {current}; this shisn knows up to "
                f"{SCHEMA_VERSION}. Upgrade shisn before opening it."
            )
        for version in range(current, SCHEMA_VERSION):
            cur.run_script(migration_sql(version, self.engine))
            cur.execute("DELETE FROM schema_version")
            cur.execute("INSERT INTO schema_version VALUES (?)", [version + 1])
        return current

    def is_empty(self) -> bool:
        return self.scalar("SELECT count(*) FROM assessments") == 0

    @contextmanager
    def exclusive(self, name: str):
        """Hold `name` while the block runs, across threads, processes and replicas, without waiting: yields True
        to the one holder, False to anyone else meanwhile (who should then leave the work to the holder). Released
        when the block ends, and when the holding process dies (PostgreSQL: a session advisory lock, ended with its
        connection; a DuckDB file: an OS lock on the file `FILE.NAME.lock` beside it). Unlike `cur.lock`, it is not
        tied to a transaction: the holder runs any number of short transactions meanwhile."""
        with _exclusive_guard:
            lk = _exclusive_locks.setdefault((self.target, name), threading.Lock())
        if not lk.acquire(blocking=False):
            yield False
            return
        try:
            with self._exclusive(name) as held:
                yield held
        finally:
            lk.release()

    @contextmanager
    def _exclusive(self, name: str):
        yield True

    def close(self) -> None:
        pass

    def _cursor(self, autocommit: bool):
        raise NotImplementedError


_exclusive_locks: dict[tuple[str, str], threading.Lock] = {}
_exclusive_guard = threading.Lock()

_VERSION_EXPR = {
    "load_log": "coalesce(max(load_id), 0)",
    "audit_log": "coalesce(max(audit_id), 0)",
    "exchanges": "coalesce(max(updated_at)::VARCHAR, '') || '/' || count(*)",
    "program_manager_log": "coalesce(max(changed_at)::VARCHAR, '') || '/' || count(*)",
    "submissions": "coalesce(max(updated_at)::VARCHAR, '') || '/' || count(*)",
    "flag_confirmations": "coalesce(max(confirmed_at)::VARCHAR, '') || '/' || count(*)",
    "exchange_outcomes": "coalesce(max(recorded_at)::VARCHAR, '') || '/' || count(*)",
    "settings": "coalesce(string_agg(key || '=' || value, ',' ORDER BY key), '')",
    "reporting_cycles": "coalesce(max(updated_at)::VARCHAR, '') || '/' || count(*)",
    "practices": "coalesce(max(updated_at)::VARCHAR, '') || '/' || count(*) || '/' || coalesce(sum(version), 0)",
    "offers": "coalesce(max(updated_at)::VARCHAR, '') || '/' || count(*) || '/' || coalesce(sum(version), 0)",
}


# --- DuckDB --------------------------------------------------------------------------------------------------------

_open_duck_stores: weakref.WeakSet[DuckDBStore] = weakref.WeakSet()


@atexit.register
def _close_duck_files_at_exit() -> None:
    """Close every DuckDB file before the interpreter ends its threads (a release thread caught inside DuckDB's
    close while the process exits would abort it)."""
    for store in list(_open_duck_stores):
        with store._lock:
            if store._con is not None:
                store._con.close()
                store._con = None


_duck_locks: dict[tuple[str, str], threading.RLock] = {}
_duck_locks_guard = threading.Lock()


class _DuckCursor(Cursor):
    def lock(self, name):
        """Within this process (other processes cannot open the file while this transaction holds it)."""
        with _duck_locks_guard:
            lk = _duck_locks.setdefault((self.store.path, name), threading.RLock())
        lk.acquire()
        self.held.append(lk)

    def execute(self, sql, params=None):
        import duckdb  # only the engine in use is imported (a PostgreSQL replica never loads DuckDB)

        if sql.lstrip()[:6].upper() != "SELECT":  # a write: cached versions no longer hold
            self.store._writes += 1
        try:
            self.raw.execute(sql, list(params) if params is not None else [])
            self._rows = self.raw.fetchall() if self.raw.description else []
        except duckdb.TransactionException as e:
            raise WriteConflict(str(e)) from e
        return self

    def run_script(self, sql: str) -> None:
        self.store._writes += 1
        self.raw.execute(sql)

    def df(self, sql, params=None):
        return self.raw.execute(sql, list(params) if params is not None else []).df()

    def temp_table(self, name, table):
        self.raw.register(name, table)

    def drop_temp(self, name):
        self.raw.unregister(name)

    def arrow(self, sql, schema):
        rel = self.raw.sql(sql)  # a relation: its rows go to Arrow without a copy through the DB-API result
        return _conform(rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow(), schema)

    def insert_arrow(self, table, rows):
        cols = ", ".join(_ident(c) for c in rows.column_names)
        self.raw.register("shisn_rows_in", rows)
        try:
            self.execute(f"INSERT INTO {_ident(table)} ({cols}) SELECT {cols} FROM shisn_rows_in")
        finally:
            self.raw.unregister("shisn_rows_in")

    def sequence_next(self, sequence):
        row = self.execute(
            "SELECT start_value, last_value FROM duckdb_sequences() WHERE sequence_name = ?", [_ident(sequence)]
        ).fetchone()
        if row is None:
            raise ValueError(f"no sequence {sequence}")
        return int(row[0]) if row[1] is None else int(row[1]) + 1

    def set_sequence_next(self, sequence, value):
        # DuckDB cannot alter a sequence; nothing depends on these (the ids are taken with nextval), so it is
        # made again, inside the caller's transaction
        name = _ident(sequence)
        self.execute(f"DROP SEQUENCE {name}")
        self.execute(f"CREATE SEQUENCE {name} START {int(value)}")


class DuckDBStore(Store):
    """A DuckDB file opened only while used (see the module's docstring), or `:memory:` held open."""

    engine = "duckdb"

    def __init__(self, target: str):
        super().__init__(target)
        self.path = target
        self._lock = threading.Lock()
        self._con = None  # the process's connection to the file, while in use or recently used
        self._users = 0
        self._last_use = 0.0
        self._closer: threading.Thread | None = None
        self.idle_release = IDLE_RELEASE  # seconds the file stays open after the last read or write
        self._memory = target == ":memory:"
        self._writes = 0  # this process's writes to the file (see version)
        self._versions: dict[tuple, tuple] = {}
        if not self._memory:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        _open_duck_stores.add(self)

    # Data versions without opening the file. Every committed write to a DuckDB file changes the file or its
    # write-ahead log (`FILE.wal`: appended on commit, folded into the file and removed at a checkpoint); reads
    # change neither. So a version read while the files were in some state still holds while they are in that state
    # and this process has written nothing since: a new session whose figures are all cached then shows them without
    # opening the file (~20 ms, and no wait on a CLI that holds it). A file changed less than SETTLE seconds before
    # it was looked at is not trusted this way (a later write in the same clock tick could leave the same
    # modification time; "racily clean" in git's terms): its version is read again until it has settled.
    SETTLE = 2.0

    def _file_state(self) -> tuple:
        state = []
        for f in (self.path, self.path + ".wal"):
            try:
                st = os.stat(f)
                state.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                state.append(None)
        return tuple(state)

    def version(self, *tables: str) -> tuple:
        if self._memory:
            return super().version(*tables)
        state, writes, looked = self._file_state(), self._writes, time.time()
        known = self._versions.get(tables)
        if known is not None and known[0] == state and known[1] == writes:
            return known[2]
        got = super().version(*tables)
        newest = max((s[2] for s in state if s is not None), default=0) / 1e9
        if looked - newest >= self.SETTLE:
            self._versions[tables] = (state, writes, got)
        return got

    # Taking turns with other processes. A process that finds the file held leaves a marker beside it
    # (`FILE.waiting-PID`) while it waits; a process holding the file lets go as soon as its reads and writes in
    # flight end, and opens it again only once the waiter is done (or gone, or waited for longer than the lock
    # wait). So a CLI command gets the file between two of the app's reads, even when the app is never idle.

    def _marker(self) -> str:
        return f"{self.path}.waiting-{os.getpid()}"

    def _other_waiter(self) -> bool:
        mine = self._marker()
        for m in glob.glob(glob.escape(self.path) + ".waiting-*"):
            if m == mine:
                continue
            try:
                pid = int(m.rsplit("-", 1)[1])
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError):
                try:
                    os.remove(m)  # its process is gone
                except OSError:
                    pass
                continue
            except PermissionError:
                pass
            return True
        return False

    def _open_file(self):
        import duckdb  # only the engine in use is imported (a PostgreSQL replica never loads DuckDB)

        deadline = time.monotonic() + lock_wait()
        pause = 0.01
        marked = False
        try:
            while True:
                try:
                    return duckdb.connect(self.path)
                except duckdb.IOException as e:
                    msg = str(e)
                    if "lock" not in msg.lower():
                        raise
                    if time.monotonic() >= deadline:
                        holder = re.search(r"PID (\d+)", msg)
                        who = f" (PID {holder.group(1)})" if holder else ""
                        raise StoreBusy(
                            f"{self.path} is in use by another program{who} that did not let go of it "
                            f"in {lock_wait():.0f} s; try again when it has finished, or set "
                            "SHISN_DB_LOCK_WAIT to wait longer"
                        ) from None
                    if not marked:
                        Path(self._marker()).write_text(str(os.getpid()))
                        marked = True
                    time.sleep(pause)
                    pause = min(pause * 2, 0.1)
        finally:
            if marked:
                try:
                    os.remove(self._marker())
                except OSError:
                    pass

    def _acquire(self):
        polite_until = None
        while True:
            with self._lock:
                waiting = (
                    not self._memory
                    and self._other_waiter()
                    and (polite_until is None or time.monotonic() < polite_until)
                )
                if not waiting:
                    if self._con is None:
                        self._con = self._open_file()
                    if self._closer is None and not self._memory:
                        # the thread closing the file once idle starts here, never in _release: a cursor let go
                        # is released by the garbage collector, which may run inside another thread's start, and
                        # a thread started from there would wait forever for that start's lock
                        self._closer = threading.Thread(
                            target=self._close_when_idle, name="shisn-duckdb-release", daemon=True
                        )
                        self._closer.start()
                    self._users += 1
                    return self._con
                if self._con is not None and self._users == 0:
                    self._con.close()  # let the waiting process in
                    self._con = None
            if polite_until is None:
                polite_until = time.monotonic() + lock_wait()
            time.sleep(0.01)

    def _release(self):
        with self._lock:
            self._users -= 1
            self._last_use = time.monotonic()
            if self._memory:
                return
            if self._users == 0 and self._con is not None and self._other_waiter():
                self._con.close()
                self._con = None
                return

    def _close_when_idle(self):
        while True:
            time.sleep(min(self.idle_release / 2, WAITER_POLL))
            with self._lock:
                if self._con is None:
                    self._closer = None
                    return
                if self._users == 0 and (
                    time.monotonic() - self._last_use >= self.idle_release or self._other_waiter()
                ):
                    self._con.close()
                    self._con = None
                    self._closer = None
                    return

    @contextmanager
    def _cursor(self, autocommit: bool):
        con = self._acquire()
        try:
            raw = con.cursor()
            cur = _DuckCursor(self, raw)
            cur.held = []
            try:
                if autocommit:
                    yield cur
                else:
                    raw.execute("BEGIN TRANSACTION")
                    try:
                        yield cur
                        raw.execute("COMMIT")
                        self._writes += 1
                    except BaseException:
                        try:
                            raw.execute("ROLLBACK")
                        except Exception:  # a failed COMMIT has already ended the transaction
                            pass
                        raise
            finally:
                raw.close()
                for lk in reversed(cur.held):
                    lk.release()
        except Exception as e:
            import duckdb  # only the engine in use is imported (a PostgreSQL replica never loads DuckDB)

            if isinstance(e, duckdb.TransactionException):
                raise WriteConflict(str(e)) from e
            raise
        finally:
            self._release()

    @contextmanager
    def _exclusive(self, name: str):
        if self._memory:
            yield True
            return
        fd = os.open(f"{self.path}.{_ident(name.replace('-', '_'))}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing the file releases the lock (as does the process's end)

    def close(self):
        """Let go of the file now (it reopens on the next read or write)."""
        with self._lock:
            if self._con is not None and self._users == 0:
                self._con.close()
                self._con = None


# --- PostgreSQL ----------------------------------------------------------------------------------------------------

_PG_TIME_OIDS = {1114, 1184, 1082}  # timestamp, timestamptz, date
_PG_INT_DTYPES = {21: "Int16", 23: "Int32", 20: "Int64"}


class _PgCursor(Cursor):
    def execute(self, sql, params=None):
        import psycopg  # only the engine in use is imported (the embedded store never loads the PostgreSQL driver)

        try:
            if params:
                self.raw.execute(_pg_sql(sql), list(params))
            else:  # no parameters: psycopg sends the text as it is (no % escaping)
                self.raw.execute(sql)
        except psycopg.errors.SerializationFailure as e:
            raise WriteConflict(str(e)) from e
        if self.raw.description is not None:
            self._rows = self.raw.fetchall()
        else:
            self._rows = [(self.raw.rowcount,)]
        return self

    def run_script(self, sql: str) -> None:
        self.raw.execute(sql)

    def lock(self, name):
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(name)])

    def df(self, sql, params=None):
        if params:
            self.raw.execute(_pg_sql(sql), list(params))
        else:
            self.raw.execute(sql)
        cols = [d.name for d in self.raw.description]
        df = pd.DataFrame.from_records(self.raw.fetchall(), columns=cols)
        for d in self.raw.description:
            c = d.name
            if d.type_code in _PG_TIME_OIDS:
                df[c] = pd.to_datetime(df[c]).astype("datetime64[us]") if len(df) else df[c].astype("datetime64[us]")
            elif d.type_code in _PG_INT_DTYPES:
                df[c] = df[c].astype(_PG_INT_DTYPES[d.type_code])
            elif d.type_code == 16:
                df[c] = df[c].astype(bool if df[c].notna().all() else "boolean")
            elif d.type_code in (700, 701, 1700):
                df[c] = df[c].astype("float64")
        return df

    def temp_table(self, name, table):
        """COPY the rows into a temporary table dropped at commit (bulk, not row by row)."""

        if isinstance(table, pd.DataFrame):
            table = pa.Table.from_pandas(table, preserve_index=False)
        cols = []
        for f in table.schema:
            t = f.type
            if pa.types.is_dictionary(t):
                t = t.value_type
                table = table.set_column(table.schema.get_field_index(f.name), f.name, table.column(f.name).cast(t))
            cols.append(f'"{f.name}" {_pg_type(t)}')
        self.raw.execute(f'CREATE TEMP TABLE "{name}" ({", ".join(cols)}) ON COMMIT DROP')
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        with self.raw.copy(f'COPY "{name}" FROM STDIN (FORMAT csv)') as copy:
            copy.write(buf.getvalue())

    def drop_temp(self, name):
        self.raw.execute(f'DROP TABLE IF EXISTS "{name}"')

    def snapshot(self):
        self.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def arrow(self, sql, schema):

        self.raw.execute("SET LOCAL datestyle = 'ISO, YMD'")
        buf = io.BytesIO()
        with self.raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                buf.write(block)
        if not buf.tell():
            return schema.empty_table()
        buf.seek(0)
        # the CSV form of COPY: NULL is an unquoted empty field, an empty string is "", booleans are t / f
        got = pacsv.read_csv(
            buf,
            read_options=pacsv.ReadOptions(column_names=schema.names),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: f.type for f in schema},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        return _conform(got, schema)

    def insert_arrow(self, table, rows):
        if not rows.num_rows:
            return
        cols = ", ".join(_ident(c) for c in rows.column_names)
        with self.raw.copy(f"COPY {_ident(table)} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(_csv_bytes(rows))

    def sequence_next(self, sequence):
        last, called = self.raw.execute(f"SELECT last_value, is_called FROM {_ident(sequence)}").fetchone()
        return int(last) + 1 if called else int(last)

    def set_sequence_next(self, sequence, value):
        self.raw.execute("SELECT setval(%s, %s, false)", [_ident(sequence), int(value)])


def _csv_bytes(table) -> bytes:
    """Rows as CSV for COPY … FROM STDIN (FORMAT csv): no header, NULL an unquoted empty field, text quoted."""

    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue()


def _pg_type(t) -> str:
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return "BIGINT" if t.bit_width > 32 else "INTEGER"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    return "VARCHAR"


class PostgresStore(Store):
    """PostgreSQL through psycopg 3: a pool of connections per process (sessions in UTC)."""

    engine = "postgresql"

    def __init__(self, target: str):
        super().__init__(target)
        import psycopg  # only the engine in use is imported (the embedded store never loads the PostgreSQL driver)
        from psycopg_pool import ConnectionPool  # only the engine in use is imported

        try:  # one plain connection first: an unreachable server is one clear line, not the pool's retry log
            psycopg.connect(target, connect_timeout=max(1, int(min(10.0, lock_wait() or 10.0)))).close()
        except psycopg.Error as e:
            raise StoreBusy(
                f"cannot reach PostgreSQL at {describe(target)}: {(str(e).strip().splitlines() or ['no answer'])[0]}"
            ) from None
        size = int(os.environ.get("SHISN_DB_POOL", "8"))
        self.pool = ConnectionPool(
            target,
            min_size=1,
            max_size=max(1, size),
            open=True,
            timeout=lock_wait() or 30,
            kwargs={"options": "-c TimeZone=UTC", "autocommit": True},
            check=ConnectionPool.check_connection,
        )
        try:
            self.pool.wait(timeout=min(10.0, lock_wait() or 10.0))
        except Exception as e:
            self.pool.close()
            raise StoreBusy(f"cannot reach PostgreSQL at {describe(target)}: {str(e).splitlines()[0]}") from None

    @contextmanager
    def _cursor(self, autocommit: bool):
        import psycopg  # only the engine in use is imported (the embedded store never loads the PostgreSQL driver)

        with self.pool.connection() as conn:
            if autocommit:
                with conn.cursor() as raw:
                    yield _PgCursor(self, raw)
            else:
                try:
                    with conn.transaction(), conn.cursor() as raw:
                        yield _PgCursor(self, raw)
                except psycopg.errors.SerializationFailure as e:
                    raise WriteConflict(str(e)) from e

    @contextmanager
    def _exclusive(self, name: str):
        key = _lock_key(name)
        with self.pool.connection() as conn:  # held for the block: the lock lives as long as this session
            held = bool(conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0])
            try:
                yield held
            finally:
                if held:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    def close(self):
        self.pool.close()


# --- the same calls as functions -----------------------------------------------------------------------------------


def query_df(store: Store, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
    """Run one parameterised read on its own cursor and return a pandas DataFrame."""
    return store.read(sql, params)


def transaction(store: Store):
    """A cursor inside one transaction: committed on success, rolled back on any error."""
    return store.transaction()


def schema_version(store: Store) -> int:
    return store.schema_version()


def migrate(store: Store) -> int:
    return store.migrate()


def is_empty(store: Store) -> bool:
    return store.is_empty()
