"""Fixtures for every test: the store on both engines, the demo store, the order of the suite. Helpers tests
import are in tests/support."""

import os

import pytest

from shisn.store import db
from tests.support import ROOT  # noqa: F401 - the project's root, for fixtures below

# --- order: the browser tests first -------------------------------------------------------------------------------
# pyproject.toml runs the suite on two workers (pytest-xdist, `--dist worksteal`). The browser tests take most of the
# time, a minute or more each for the longest: started first, the two workers share them and the short tests fill
# the end, instead of one worker finishing a long browser test alone while the other waits.


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)  # stable: file order kept within each group


# --- the store, on both engines -------------------------------------------------------------------------------------
# Every test that takes `con` (or `store_target`) runs twice: on a DuckDB file and on a fresh PostgreSQL database
# (a throwaway cluster started once per test session, see tests/pgcluster.py). Without PostgreSQL the second run
# is skipped with the reason; SHISN_REQUIRE_PG=1 (set by .ci/run) turns that skip into a failure.

ENGINES = ("duckdb", "postgresql")


@pytest.fixture(scope="session")
def pg_cluster():
    from tests.support import pgcluster

    reason = pgcluster.unavailable_reason()
    if reason:
        if os.environ.get("SHISN_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL is required here (SHISN_REQUIRE_PG=1) but {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    cluster = pgcluster.Cluster().start()
    template = cluster.create_database()
    db.connect(cluster.url(template)).close()  # migrated once; every test's database is a copy
    cluster.template = template
    yield cluster
    cluster.stop()


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture
def store_target(request, tmp_path, engine):
    """Where a test's fresh store is: a DuckDB file path or a PostgreSQL URL."""
    if engine == "duckdb":
        yield str(tmp_path / "test.duckdb")
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database(template=cluster.template)
    yield cluster.url(name)
    db._stores.pop(cluster.url(name), None)
    cluster.drop_database(name)


@pytest.fixture
def con(store_target):
    c = db.connect(store_target)
    yield c
    c.close()


@pytest.fixture
def db_file(tmp_path):
    return tmp_path / "cli.duckdb"


# --- the demo store and a page in AppTest, for the page tests ------------------------------------------------------


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """A DuckDB file with the demo data set (assessments, program managers, exchanges with outcomes), written once
    per test run; `demo_db` gives each test its own copy."""
    from shisn import demo

    path = tmp_path_factory.mktemp("demo-template") / "demo.duckdb"
    con = db.connect(path)
    demo.write_demo(con)
    con.close()
    return path


@pytest.fixture
def demo_db(demo_template, tmp_path, monkeypatch):
    """A fresh copy of the demo store for one test (pages write to it), with SHISN_DB pointing the pages at it."""
    import shutil

    path = tmp_path / "shisn.duckdb"
    shutil.copy(demo_template, path)
    monkeypatch.setenv("SHISN_DB", str(path))
    return path
