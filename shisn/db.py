"""The DuckDB store: where it is, its schema (versioned), and connections. Nothing else opens the database.

Every read or write opens its own cursor (`cursor(con)`): a DuckDB cursor must never be shared across Streamlit's
script threads.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_DIR / "data" / "shisn.duckdb"
SCHEMA_VERSION = 4

# Each entry upgrades the schema from version i to i + 1. Never edit a shipped step; append a new one.
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
    # 2: the facilitation workflow (shisn/exchanges.py, shisn/assignments.py): exchanges with optimistic
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
    # time of writing a 100,000-row file (issue 10). One row per state × program area × cycle is kept by the one
    # writer, shisn.ingest.load: it refuses a file (or set of files) holding a key twice, replaces every state ×
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
]


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """`--db` beats `SHISN_DB` beats the default `data/shisn.duckdb`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SHISN_DB")
    return Path(env) if env else DEFAULT_DB


_lock = threading.Lock()


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store at `path` and bring its schema up to date."""
    p = db_path(path)
    if str(p) != ":memory:":
        p.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(p), read_only=read_only)
    if not read_only:
        with _lock:
            migrate(con)
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    cur = con.cursor()
    has = cur.execute("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_name = 'schema_version'").fetchall()[0][0]
    if not has:
        return 0
    row = cur.execute("SELECT max(version) FROM schema_version").fetchall()[0]
    return int(row[0] or 0)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"the database has schema version {current}; this shisn knows up to {SCHEMA_VERSION}. "
                           "Upgrade shisn before opening it.")
    for version in range(current, SCHEMA_VERSION):
        cur = con.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(MIGRATIONS[version])
            cur.execute("DELETE FROM schema_version")
            cur.execute("INSERT INTO schema_version VALUES (?)", [version + 1])
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """A cursor inside one transaction: committed on success, rolled back on any error."""
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def query_df(con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple | None = None):
    """Run one parameterised read on its own cursor and return a pandas DataFrame."""
    cur = con.cursor()
    try:
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    cur = con.cursor()
    try:
        return cur.execute("SELECT count(*) FROM assessments").fetchall()[0][0] == 0
    finally:
        cur.close()
