"""docs/store-and-deployment.md's "Moving from one machine to PostgreSQL", step by step, as an operator runs it: check the DuckDB file,
back it up, copy it into an empty PostgreSQL database, check the copy, then two app replicas on that database
serve the copied data (in a real browser: both show the copied load, and neither seeds the demo again)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.browser.session import Session, running_app
from tests.browser.test_e2e_replicas import _real_rows, _shows
from tests.support import ROOT, make_csv

pytestmark = pytest.mark.e2e


def shisn(*args) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, f"python -m shisn {' '.join(map(str, args))}: {r.stderr}"
    return r


def test_move_a_duckdb_store_to_postgresql_and_serve_it_from_two_replicas(
    browser,
    pg_cluster,  # noqa: F811
    tmp_path,
):
    # the old machine's store: the demo data set and one real load
    old = tmp_path / "shisn.duckdb"
    shisn("demo", "--db", old)
    real = tmp_path / "wy-2026.csv"
    real.write_bytes(make_csv([["WY", "training", 2026, 2, "no", "yes", "a real row, moved"]]))
    shisn("load", real, "--db", old)
    # 1. check it  2. back it up  3. an empty database  4. copy  5. check the copy
    assert shisn("check", "--db", old).stdout.startswith("ok:")
    shisn("backup", "--db", old, "--output", tmp_path / "shisn-before-move.zip")
    url = pg_cluster.url(pg_cluster.create_database())
    lines = shisn("copy", "--from", old, "--to", url).stdout.strip().splitlines()
    from shisn.store import archive

    assert sorted(line.split(":")[0] for line in lines) == sorted(archive.TABLE_ORDER)  # every table, one line each
    assert all(line.endswith("identical") for line in lines)
    assert shisn("check", "--db", url).stdout.startswith("ok:")
    # 6. two replicas on the database serve the copied data
    with (
        running_app(tmp_path, store=url, log_name="a.log") as a,
        running_app(tmp_path, store=url, log_name="b.log") as b,
    ):
        sessions = [Session(browser, a), Session(browser, b)]
        try:
            for s in sessions:
                s.open("/data")
                assert _shows(s, "Partly demo data"), s.page.inner_text("body")[:800]
                assert _real_rows(s) == 1  # the moved real row, among the demo rows
                assert not s.exceptions()
            sessions[1].shot("store-move-replica-b")
        finally:
            for s in sessions:
                s.close()
    import psycopg

    with psycopg.connect(url) as conn:  # the replicas found the copied data: neither seeded the demo again
        assert conn.execute("SELECT count(*) FROM load_log").fetchone()[0] == 2
