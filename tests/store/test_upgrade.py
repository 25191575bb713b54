"""Upgrading a store of any earlier schema version (tests/upgrade_stores.py keeps one per version, with rows in every
table of its time): today's code opens it on either engine, migrates it, loses no row, finds nothing wrong in it,
and every page runs on it; several PostgreSQL replicas starting at once on an older store migrate it once; an
older store's backup (or the store itself, as a copy's source) is upgraded on the way into a new store."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shisn.domain import auth
from shisn.store import archive, db, integrity
from tests.support import ROOT, page_as
from tests.support import upgrade_stores as U

VERSIONS = U.VERSIONS


@pytest.fixture
def blank_target(request, tmp_path, engine):
    """Where an old store is built: a new DuckDB file, or an empty PostgreSQL database without any schema."""
    if engine == "duckdb":
        yield str(tmp_path / "old.duckdb")
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    yield cluster.url(name)
    db._stores.pop(cluster.url(name), None)
    cluster.drop_database(name)


def counts(store, version) -> dict:
    return {t: int(store.scalar(f"SELECT count(*) FROM {t}")) for t in archive.schema_at(version).tables}


def test_there_is_a_fixture_for_every_earlier_version_with_the_migrations_as_shipped():
    assert VERSIONS == tuple(range(1, db.SCHEMA_VERSION))
    for v in VERSIONS:
        # an edited shipped migration fails here: migrations are append-only
        assert U.shipped_migrations(U.sql(v)) == db.MIGRATIONS[:v], f"store_v{v}.sql"


@pytest.mark.parametrize("version", VERSIONS)
def test_today_s_code_upgrades_each_earlier_store_and_loses_no_row(blank_target, version):
    old = U.build(blank_target, version)
    assert old.schema_version() == version
    before = counts(old, version)
    assert all(before.values()), f"every table of version {version} holds rows: {before}"
    with db.transaction(old) as cur:
        sequences = {s: cur.sequence_next(s) for s in archive.schema_at(version).sequences}
    old.close()
    new = db.connect(blank_target)
    try:
        assert new.schema_version() == db.SCHEMA_VERSION
        assert new.read("SELECT count(*) AS n FROM schema_version")["n"].iloc[0] == 1
        after = counts(new, db.SCHEMA_VERSION)
        assert {t: after[t] for t in before} == before  # no row lost or added
        assert all(after[t] == 0 for t in after if t not in before)  # tables of later versions start empty
        assert integrity.problems(new) == []
        with db.transaction(new) as cur:  # the sequences carry on where they stood
            assert {s: cur.sequence_next(s) for s in sequences} == sequences
        statuses = new.read("SELECT exchange_id, status FROM exchanges ORDER BY exchange_id") if version >= 2 else None
        if statuses is not None:
            assert statuses["status"].tolist()[:5] == ["closed", "declined", "introduced", "proposed", "exchange_held"]
    finally:
        new.close()


VIEWERS = (
    auth.Viewer(auth.LEADERSHIP, "Lee Lead"),
    auth.Viewer(auth.PROGRAM_MANAGER, "Alex Rivera", ("VA", "MD")),
    auth.Viewer(auth.STATE, "VA user", ("VA",)),
)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_page_runs_on_each_upgraded_store(version, tmp_path, monkeypatch):
    path = str(tmp_path / f"v{version}.duckdb")
    U.build(path, version).close()
    db.connect(path).close()  # the app's first start upgrades it
    monkeypatch.setenv("SHISN_DB", path)
    pages = sorted((ROOT / "pages").glob("*.py"))
    assert len(pages) >= 10
    for page in pages:
        for viewer in VIEWERS:
            at = page_as(viewer, page)
            assert not at.exception, (version, page.name, viewer.role, at.exception[0].message)
    at = page_as(VIEWERS[0], ROOT / "pages" / "national.py")
    reporting = next(m for m in at.metric if m.label == "Reporting")
    assert reporting.value == "12 of 56"  # the fixture's jurisdictions, read from the upgraded store


@pytest.mark.parametrize("version", VERSIONS)
def test_an_older_store_or_its_backup_is_upgraded_on_the_way_into_a_new_store(version, store_target, tmp_path):
    old = str(tmp_path / "old.duckdb")
    U.build(old, version).close()
    upgraded = str(tmp_path / "upgraded.duckdb")
    U.build(upgraded, version).close()
    db.connect(upgraded).close()
    s = db.connect(upgraded, read_only=True)
    want = archive.read_store(s).checksums()
    s.close()
    out = tmp_path / f"v{version}.zip"
    manifest, _ = archive.backup(old, out)
    assert manifest["schema_version"] == version
    results, _ = archive.restore(out, store_target)
    assert {r.name: r.checksum for r in results} == want
    s = db.connect(store_target, read_only=True)
    assert s.schema_version() == db.SCHEMA_VERSION and integrity.problems(s) == []
    s.close()
    # a copy from the old store itself: the same, and the source stays as it was
    again = str(tmp_path / "again.duckdb")
    assert {r.name: r.checksum for r in archive.copy(old, again)} == want
    s = db.connect(old, read_only=True)
    assert s.schema_version() == version
    s.close()


REPLICA = """
import json, sys
from shisn.store import db, queries
print("ready", flush=True)
sys.stdin.readline()  # all replicas are told to start at the same moment
store = db.connect(sys.argv[1])
print(json.dumps({"version": store.schema_version(), "rows": int(store.scalar("SELECT count(*) FROM assessments")),
                  "cycles": queries.cycles(store)}), flush=True)
store.close()
"""


@pytest.mark.parametrize("engine", ["postgresql"])
@pytest.mark.parametrize("version", [VERSIONS[0], VERSIONS[-1]])
def test_replicas_starting_at_once_on_an_older_postgresql_store_migrate_it_once_and_all_serve(blank_target, version):
    import psycopg

    old = U.build(blank_target, version)
    rows = int(old.scalar("SELECT count(*) FROM assessments"))
    old.close()
    with psycopg.connect(blank_target, autocommit=True) as conn:  # record every schema step and who took it
        conn.execute("""
            CREATE TABLE migration_steps (version INTEGER, pid INTEGER DEFAULT pg_backend_pid());
            CREATE FUNCTION log_step() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN INSERT INTO migration_steps (version) VALUES (NEW.version); RETURN NEW; END $$;
            CREATE TRIGGER log_step AFTER INSERT ON schema_version FOR EACH ROW EXECUTE FUNCTION log_step();""")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, blank_target],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * len(procs), [e for _, e in outs]
    served = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    assert all(s == {"version": db.SCHEMA_VERSION, "rows": rows, "cycles": [2025, 2024]} for s in served), served
    with psycopg.connect(blank_target) as conn:
        steps = conn.execute("SELECT version, pid FROM migration_steps ORDER BY version").fetchall()
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(db.SCHEMA_VERSION,)]
    assert [v for v, _ in steps] == list(range(version + 1, db.SCHEMA_VERSION + 1))  # each step ran once
    assert len({pid for _, pid in steps}) == 1  # all by one replica, in one transaction
