"""The store interface (shisn/store/db.py) behaves the same on DuckDB and PostgreSQL: migrations, transactions, bulk
rows, placeholders, versions for caches, several app replicas on one database, and the CLI working while the app
serves the same DuckDB file."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading

import pyarrow as pa
import pytest

from shisn import demo
from shisn.services import exchanges
from shisn.store import db, queries
from shisn.store.ingest import load
from tests.support import ROOT, make_csv

GOOD = [["VA", "exercises", 2025, 5, "yes", "no", ""], ["MD", "exercises", 2025, 2, "no", "yes", ""]]
WAVE2_TABLES = {"submissions", "submission_history", "flag_confirmations", "exchange_outcomes", "settings"}


def cli(*args, env=None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


# --- one schema, one behaviour on both engines ------------------------------------------------------------------


def test_a_new_store_has_the_latest_schema_and_reopening_it_changes_nothing(store_target):
    first = db.connect(store_target)
    assert first.schema_version() == db.SCHEMA_VERSION
    tables = set(first.read("SELECT table_name FROM information_schema.tables")["table_name"])
    assert {"assessments", "load_log", "exchanges", "users", "audit_log"} | WAVE2_TABLES <= tables
    first.close()
    again = db.connect(store_target)
    assert again.schema_version() == db.SCHEMA_VERSION
    assert again.read("SELECT count(*) AS n FROM schema_version")["n"].iloc[0] == 1
    again.close()


def test_a_request_that_fails_inside_a_transaction_writes_nothing(con):
    with pytest.raises(RuntimeError, match="boom"):
        with db.transaction(con) as cur:
            cur.execute("INSERT INTO program_managers VALUES (?, ?, ?)", ["VA", "A PM", "pm@example.org"])
            raise RuntimeError("boom")
    assert con.read("SELECT count(*) AS n FROM program_managers")["n"].iloc[0] == 0


def test_question_marks_and_percent_signs_inside_quoted_text_are_not_placeholders(con):
    df = con.read("SELECT '?' AS q, ? AS v, '100%' AS p, 'a''?b' AS e", ["x"])
    assert df.iloc[0].tolist() == ["?", "x", "100%", "a'?b"]
    assert con.read("SELECT 'only % here' AS p")["p"].iloc[0] == "only % here"


def test_a_write_fetches_how_many_rows_it_changed(con):
    with db.transaction(con) as cur:
        cur.execute("INSERT INTO program_managers VALUES ('VA', 'A', 'a@x.org'), ('MD', 'B', 'b@x.org')")
        assert cur.execute("UPDATE program_managers SET name = ? WHERE state IN ('VA', 'MD')", ["C"]).fetchall() == [
            (2,)
        ]
        assert cur.execute("DELETE FROM program_managers WHERE state = ?", ["WY"]).fetchall() == [(0,)]
        assert cur.nextval("audit_id_seq") + 1 == cur.nextval("audit_id_seq")


def test_bulk_rows_arrive_exactly_including_quotes_commas_newlines_empty_text_and_nulls(con):
    notes = ["plain", "with, comma", 'with "quotes"', "two\nlines", "", None, "tab\there", "ünïcode ✓"]
    rows = pa.table(
        {
            "state": ["VA"] * len(notes),
            "name": notes,
            "email": [f"{i}@x.org" for i in range(len(notes))],
            "n": pa.array(range(len(notes)), pa.int32()),
            "flag": [True, False, None, True, False, True, False, True],
        }
    )
    with db.transaction(con) as cur:
        cur.temp_table("incoming", rows)
        got = cur.execute("SELECT name, n, flag FROM incoming ORDER BY n").fetchall()
        cur.drop_temp("incoming")
    assert [g[0] for g in got] == notes
    assert [g[1] for g in got] == list(range(len(notes)))
    assert [g[2] for g in got] == [True, False, None, True, False, True, False, True]


def test_version_tokens_change_when_their_tables_change(con):
    before = con.version("load_log", "exchanges", "program_manager_log")
    load(con, [("va.csv", make_csv(GOOD))], "t", this_year=2026)
    after_load = con.version("load_log", "exchanges", "program_manager_log")
    assert after_load[0] != before[0] and after_load[1:] == before[1:]
    exchanges.open_exchange(con, "VA", "MD", "exercises", 2025, "PM")
    after_open = con.version("load_log", "exchanges", "program_manager_log")
    assert after_open[1] != after_load[1]


# --- several replicas on one database ----------------------------------------------------------------------------


def test_a_second_replica_sees_a_load_made_through_the_first_on_its_next_read(store_target):
    a, b = db.connect(store_target), db.connect(store_target)
    try:
        v0 = queries.data_version(b)
        load(a, [("va.csv", make_csv(GOOD))], "replica A", this_year=2026)
        assert queries.data_version(b) > v0
        assert sorted(queries.assessments(b, 2025)["state"]) == ["MD", "VA"]
    finally:
        a.close()
        b.close()


def test_two_replicas_editing_one_exchange_one_wins_and_the_other_is_told(store_target):
    a, b = db.connect(store_target), db.connect(store_target)
    try:
        ex = exchanges.open_exchange(a, "VA", "MD", "exercises", 2025, "PM one")
        v = exchanges.get(b, ex)["version"]
        exchanges.update(a, ex, v, "PM one", status="introduced")
        with pytest.raises(exchanges.StaleEdit, match="PM one"):
            exchanges.update(b, ex, v, "PM two", status="declined")
        got = exchanges.get(a, ex)
        assert got["status"] == "introduced" and got["version"] == v + 1
    finally:
        a.close()
        b.close()


def test_loads_from_two_replicas_at_once_both_land_and_no_row_is_lost(store_target):
    stores = [db.connect(store_target), db.connect(store_target)]
    files = [[["VA", "exercises", 2025, 5, "yes", "no", "from A"]], [["MD", "training", 2025, 2, "no", "yes", "B"]]]
    errors = []

    def go(i):
        try:
            for k in range(3):
                load(stores[i], [(f"r{i}-{k}.csv", make_csv(files[i]))], f"replica {i}", this_year=2026)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert queries.data_version(stores[0]) == 6
    rows = queries.assessments(stores[1], 2025)
    assert sorted(zip(rows["state"], rows["program_area"])) == [("MD", "training"), ("VA", "exercises")]
    for s in stores:
        s.close()


def test_two_replicas_starting_on_an_empty_database_seed_the_demo_once(store_target):
    stores = [db.connect(store_target) for _ in range(3)]
    threads = [threading.Thread(target=demo.ensure_seeded, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert stores[0].read("SELECT count(*) AS n FROM load_log")["n"].iloc[0] == 1
    assert stores[0].read("SELECT count(*) AS n FROM program_managers")["n"].iloc[0] == 56
    for s in stores:
        s.close()


# --- the CLI on PostgreSQL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["postgresql"])
def test_the_cli_takes_a_postgresql_url_by_option_or_environment(store_target, tmp_path):
    f = tmp_path / "va.csv"
    f.write_bytes(make_csv(GOOD))
    r = cli("load", f, "--db", store_target)
    assert r.returncode == 0, r.stderr
    r = cli("pairings", "--cycle", 2025, "--format", "json", env={"SHISN_DB": store_target})
    assert r.returncode == 0, r.stderr
    assert '"mentor":"VA"' in r.stdout.replace(" ", "") and '"mentee":"MD"' in r.stdout.replace(" ", "")
    r = cli("exchanges", "--db", store_target)
    assert r.returncode == 0 and r.stdout.startswith("id,")


@pytest.mark.parametrize("engine", ["postgresql"])
def test_two_cli_loads_at_once_on_postgresql_both_land(store_target, tmp_path):
    paths = []
    for i, state in enumerate(["VA", "MD", "WY"]):
        p = tmp_path / f"{state}.csv"
        p.write_bytes(make_csv([[state, "exercises", 2025, 3, "no", "yes", f"file {i}"]]))
        paths.append(p)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "shisn", "load", str(p), "--db", store_target],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in paths
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    s = db.connect(store_target)
    assert sorted(queries.assessments(s, 2025)["state"]) == ["MD", "VA", "WY"]
    assert queries.data_version(s) == 3
    s.close()


def test_an_unreachable_postgresql_is_one_line_and_exit_2():
    r = cli("pairings", "--db", "postgresql://nobody@127.0.0.1:9/none", env={"SHISN_DB_LOCK_WAIT": "1"})
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "cannot reach PostgreSQL" in r.stderr and "127.0.0.1:9" in r.stderr


# --- DuckDB: the CLI while the app serves the same file ------------------------------------------------------------

APP_LIKE = textwrap.dedent("""
    # reads the store the way the app does (one shared store, reads every few ms) until told to stop
    import sys, time
    from shisn.store import db, queries
    store = db.shared({path!r})
    seen = set()
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen.add(queries.data_version(store))
        queries.assessments(store, 2025)
        if len(seen) >= 2 and max(seen) >= {want}:
            break
        time.sleep(0.05)
    print("versions", sorted(seen), flush=True)
""")


def test_cli_load_and_pairings_work_while_the_app_reads_the_same_duckdb_file(tmp_path):
    path = tmp_path / "serving.duckdb"
    s = db.connect(path)
    load(s, [("va.csv", make_csv(GOOD))], "t", this_year=2026)
    s.close()
    app = subprocess.Popen(
        [sys.executable, "-c", APP_LIKE.format(path=str(path), want=2)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline().strip() == "ready"
        r = cli("pairings", "--db", path, "--cycle", 2025)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("mentor,mentee,program_area") and "VA,MD,exercises" in r.stdout
        f = tmp_path / "wy.csv"
        f.write_bytes(make_csv([["WY", "training", 2025, 4, "yes", "no", ""]]))
        r = cli("load", f, "--db", path)
        assert r.returncode == 0, r.stderr
        out, err = app.communicate(timeout=150)
        assert app.returncode == 0, err
        assert "versions [1, 2]" in out  # the app's next read after the CLI's load saw it
    finally:
        app.kill()


def test_cli_says_in_one_line_what_to_do_when_another_program_keeps_the_duckdb_file(tmp_path):
    path = tmp_path / "held.duckdb"
    db.connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        r = cli("pairings", "--db", path, env={"SHISN_DB_LOCK_WAIT": "1"})
        assert r.returncode == 2
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "in use by another program" in r.stderr and f"PID {holder.pid}" in r.stderr
        assert "SHISN_DB_LOCK_WAIT" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_the_app_lets_go_of_the_duckdb_file_soon_after_its_last_read(tmp_path):
    import duckdb

    path = tmp_path / "idle.duckdb"
    store = db.connect(path)
    store.idle_release = 0.5  # (10 s by default)
    queries.data_version(store)
    # another process could not open the file now; after the idle release it can (waiting for the state, the
    # file closed, not for a fixed time)
    deadline = dt.datetime.now() + dt.timedelta(seconds=60)
    while store._con is not None and dt.datetime.now() < deadline:
        threading.Event().wait(0.05)
    assert store._con is None
    r = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert duckdb  # the same module the store uses


def test_an_idle_app_holding_its_duckdb_file_lets_a_cli_command_in_at_once(tmp_path):
    """The app keeps the file open for IDLE_RELEASE seconds after its last read (a new visitor's reads then need
    no reopening), but a CLI command that finds it held is let in as soon as the app sees it waiting, well before."""
    path = tmp_path / "held-idle.duckdb"
    s = db.connect(path)
    load(s, [("va.csv", make_csv(GOOD))], "t", this_year=2026)
    s.close()
    app = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from shisn.store import db, queries; "
                "s = db.connect(sys.argv[1]); queries.assessments(s, 2025); print('read', flush=True); "
                "print('held' if s._con is not None else 'closed', flush=True); time.sleep(120)"
            ),
            str(path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline().strip() == "read" and app.stdout.readline().strip() == "held"
        assert db.IDLE_RELEASE >= 10
        # waiting at most 8 s, less than the app's idle release: only its noticing the waiting CLI lets it in
        r = cli("pairings", "--db", path, "--cycle", 2025, env={"SHISN_DB_LOCK_WAIT": "8"})
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("mentor,mentee,program_area")
    finally:
        app.kill()
        app.wait()


def _settle(path, seconds_ago=60):
    """Make the store's files look untouched for a while (as between two visitors of a quiet app)."""
    t = dt.datetime.now().timestamp() - seconds_ago
    for f in (path, f"{path}.wal"):
        if os.path.exists(f):
            os.utime(f, (t, t))


def _counting_opens(store):
    opens = []
    real = store._open_file
    store._open_file = lambda: opens.append(1) or real()
    return opens


def test_a_quiet_duckdb_file_gives_its_data_version_without_being_opened_and_a_cli_load_still_shows(tmp_path):
    """A new session whose figures are cached needs only the data version: while the file is unchanged since it was
    read, the version comes from the file's state, without opening it. A load by another process (the CLI) changes
    the file, so the next read sees it."""
    path = tmp_path / "quiet.duckdb"
    writer = db.connect(path)
    load(writer, [("va.csv", make_csv(GOOD))], "t", this_year=2026)
    writer.close()
    _settle(path)
    app = db.connect(path, read_only=True)
    opens = _counting_opens(app)
    v1 = queries.data_version(app)
    app.close()
    assert queries.data_version(app) == v1 and queries.data_version(app) == v1
    assert len(opens) == 1 and app._con is None  # read once; the file was not opened again
    f = tmp_path / "wy.csv"
    f.write_bytes(make_csv([["WY", "training", 2025, 4, "yes", "no", ""]]))
    r = cli("load", f, "--db", path)
    assert r.returncode == 0, r.stderr
    assert queries.data_version(app) > v1 and len(opens) == 2


def test_a_write_through_the_same_process_shows_at_once(tmp_path):
    path = tmp_path / "own.duckdb"
    store = db.connect(path)
    load(store, [("va.csv", make_csv(GOOD))], "t", this_year=2026)
    store.close()
    _settle(path)
    v1 = queries.data_version(store)
    load(store, [("wy.csv", make_csv([["WY", "training", 2025, 4, "yes", "no", ""]]))], "t", this_year=2026)
    assert queries.data_version(store) > v1
    before = store.version("exchanges")
    exchanges.open_exchange(store, "VA", "MD", "exercises", 2025, "PM")
    assert store.version("exchanges") != before


def test_a_file_changed_moments_ago_has_its_version_read_again_each_time(tmp_path):
    """A write in the same clock tick as the last look could leave the file's size and time alike; a file changed
    less than SETTLE seconds before it was looked at is therefore read each time until it has settled."""
    path = tmp_path / "recent.duckdb"
    db.connect(path).close()
    app = db.connect(path, read_only=True)
    opens = _counting_opens(app)
    _settle(path, seconds_ago=0)
    queries.data_version(app)
    app.close()
    queries.data_version(app)
    assert len(opens) == 2


# --- the app on PostgreSQL ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_demo(pg_cluster):
    url = pg_cluster.url(pg_cluster.create_database())
    demo.ensure_seeded(db.shared(url))
    return url


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "pages").glob("*.py")))
def test_every_page_runs_on_postgresql_for_every_role(page, pg_demo, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from shisn.domain import auth

    monkeypatch.setenv("SHISN_DB", pg_demo)
    viewers = [
        auth.Viewer(auth.LEADERSHIP, "Lead"),
        auth.Viewer(auth.PROGRAM_MANAGER, "A PM", ("VA", "MD", "DC")),
        auth.Viewer(auth.STATE, "VA user", ("VA",)),
    ]
    for viewer in viewers:
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=300)
        at.session_state["shisn_viewer"] = viewer
        at.run()
        assert not at.exception, (page, viewer.role, at.exception[0].message)
        shown = (
            len(at.markdown)
            + len(at.dataframe)
            + len(at.metric)
            + len(at.warning)
            + len(at.info)
            + len(at.success)
            + len(at.button)
        )
        assert shown > 0, (page, viewer.role, "drew nothing")
    if page == "national.py":  # leadership's page shows the demo set's figures read from PostgreSQL
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=300)
        at.session_state["shisn_viewer"] = viewers[0]
        at.run()
        reporting = next(m for m in at.metric if m.label == "Reporting")
        assert reporting.value.endswith("of 56") and not reporting.value.startswith("0 ")


GC_RELEASE = textwrap.dedent("""
    # a script that lets a cursor go without closing it, after its store let go of the file once: the cursor is
    # released by the interpreter's last collection, when no new thread can run any more
    import gc, sys, time
    from shisn.store import db
    store = db.connect(sys.argv[1])
    store.close()  # the file let go: the thread that closes it once idle sees that and ends
    deadline = time.monotonic() + 60
    while store._closer is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    cur = store.cursor()  # the file opened again, and this cursor never closed
    cur.execute("SELECT 1").fetchall()
    cycle = [cur]
    cycle.append(cycle)
    del cur, cycle
    gc.disable()  # the cursor stays until the interpreter ends
    print("leaving", flush=True)
""")


def test_a_script_that_lets_a_cursor_go_still_ends(tmp_path):
    """A one-off script or benchmark that never closes a DuckDB cursor ends: the cursor's release, run by the
    interpreter's last collection, starts no thread (a thread started then never runs, and waiting for it to
    start held the process forever)."""
    proc = subprocess.run(
        [sys.executable, "-c", GC_RELEASE, str(tmp_path / "gc.duckdb")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a bound for the failure only: the script ends in about a second
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "leaving", proc.stderr
