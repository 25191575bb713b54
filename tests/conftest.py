import contextlib
import csv
import io
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from shisn.store import db  # noqa: E402
from shisn.web import loaders

HEADER = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "notes"]


def make_csv(rows, header=HEADER, delimiter=",", bom=False, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def make_xlsx(sheets: dict) -> bytes:
    """sheets: {title: [header, *rows]}; a cell value starting with '=' is written as a formula."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- order: the browser tests first -------------------------------------------------------------------------------
# pytest.ini runs the suite on two workers (pytest-xdist, `--dist worksteal`). The browser tests take most of the
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
    import pgcluster
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


@contextlib.contextmanager
def demo_copy_in_env(demo_template, directory):
    """For module-scoped fixtures (monkeypatch is per test): a copy of the demo store in `directory`, with SHISN_DB
    pointing at it until the block ends (the earlier value restored)."""
    import shutil
    path = Path(directory) / "shisn.duckdb"
    shutil.copy(demo_template, path)
    old = os.environ.get("SHISN_DB")
    os.environ["SHISN_DB"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("SHISN_DB", None)
        else:
            os.environ["SHISN_DB"] = old


@pytest.fixture
def demo_db(demo_template, tmp_path, monkeypatch):
    """A fresh copy of the demo store for one test (pages write to it), with SHISN_DB pointing the pages at it."""
    import shutil
    path = tmp_path / "shisn.duckdb"
    shutil.copy(demo_template, path)
    monkeypatch.setenv("SHISN_DB", str(path))
    return path


def page_as(viewer, path, params=None, timeout=120, **state):
    """AppTest of one page script as `viewer` (set as the signed-in viewer), with URL `params` and session `state`
    set before the first run; returns it after that run."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(path), default_timeout=timeout)
    at.session_state[loaders.VIEWER_KEY] = viewer
    for k, v in state.items():
        at.session_state[k] = v
    for k, v in (params or {}).items():
        at.query_params[k] = str(v)
    return at.run()


def static_tables(at) -> list:
    """The static tables a page drew (shisn.web.displays.text_table: Markdown pipe tables), as DataFrames of their shown text
    (escapes removed; columns of numbers as numbers), in page order."""
    import re
    import pandas as pd
    out = []
    for m in at.markdown:
        lines = m.value.split("\n")
        if len(lines) < 2 or not lines[0].startswith("| ") or not lines[1].startswith("|---"):
            continue

        def cells(line):
            return [re.sub(r"\\(.)", r"\1", c.strip()) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        df = pd.DataFrame([cells(x) for x in lines[2:]], columns=cells(lines[0]))
        for c in df.columns:
            numbers = pd.to_numeric(df[c], errors="coerce")
            if len(df) and numbers.notna().all():
                df[c] = numbers
        out.append(df)
    return out
