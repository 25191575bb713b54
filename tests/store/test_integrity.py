"""`python -m shisn check` (shisn/store/integrity.py) on both engines: a clean store exits 0; each kind of problem is one
line and exit 1; the store is read as it is (an older store is not upgraded by being checked)."""

from __future__ import annotations

import subprocess
import sys

from shisn.store import archive, db, integrity
from tests.store.test_archive import rich_source
from tests.support import ROOT, upgrade_stores


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_a_clean_store_passes_on_either_engine(store_target, tmp_path):
    archive.copy(rich_source(tmp_path / "src.duckdb"), store_target)
    s = db.connect(store_target, read_only=True)
    assert integrity.problems(s) == []
    s.close()
    r = cli("check", "--db", store_target)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok: no problems found")


def test_the_demo_data_set_is_clean(demo_db):
    s = db.connect(demo_db, read_only=True)
    assert [p.line() for p in integrity.problems(s)] == []
    s.close()


# what is broken -> the start of the line that says so
BREAKAGE = [
    (
        "UPDATE assessments SET state = 'ZZ' WHERE state = 'TX' AND cycle = 2024 AND program_area = 'training'",
        "jurisdiction: assessments: 1 row(s) with state 'ZZ', which is not a known jurisdiction",
    ),
    ("UPDATE exchanges SET mentee = 'XX' WHERE exchange_id = 4", "jurisdiction: exchanges: 1 row(s) with mentee 'XX'"),
    (
        "INSERT INTO exchange_outcomes VALUES (999, 'VA', 3, NULL, NULL, 'x', '2025-01-01 00:00:00', 1, false)",
        "reference: exchange_outcomes: 1 row(s) with exchange_id 999, but there is no exchange 999",
    ),
    (
        "UPDATE ta_referrals SET exchange_id = 998 WHERE referral_id = 2",
        "reference: ta_referrals: 1 row(s) with exchange_id 998",
    ),
    (
        "UPDATE assessments SET load_id = 77 WHERE state = 'NV' AND cycle = 2025 AND program_area = 'training'",
        "reference: assessments: 1 row(s) with load_id 77, but there is no load 77",
    ),
    (
        "INSERT INTO exchange_outcomes VALUES (1, 'NY', 3, NULL, NULL, 'x', '2025-01-01 00:00:00', 1, false)",
        "reference: exchange_outcomes: exchange 1 has a view by NY, which is neither its mentor nor its mentee",
    ),
    (
        "UPDATE exchanges SET status = 'closed' WHERE exchange_id = 3",
        "history: exchanges: exchange 3 is closed but its history ends in introduced",
    ),
    (
        "UPDATE exchanges SET version = 2 WHERE exchange_id = 4",
        "history: exchanges: exchange 4 is at version 2 but its history ends at version 1",
    ),
    (
        "DELETE FROM submission_history WHERE submission_id = 1 AND version = 1",
        "history: submissions: submission 1: its history has 1 version(s) numbered 2 to 2, with gaps",
    ),
    (
        "UPDATE exchange_history SET from_status = 'proposed' WHERE exchange_id = 1 AND version = 4",
        "history: exchange_history: exchange 1: history version 4 starts from proposed but the version before "
        "ended in in_contact",
    ),
    (
        "DELETE FROM assessments WHERE state = 'DE' AND cycle = 2024",
        "load: assessments: load 1 (states-2024.csv): 8 of its",
    ),
    (
        "INSERT INTO assessments SELECT * FROM assessments WHERE state = 'WV' AND cycle = 2025 "
        "AND program_area = 'strategy'",
        "duplicate: assessments: 2 rows for WV strategy 2025; one is allowed",
    ),
    (
        "INSERT INTO users VALUES ('LEAD@example.org', 'leadership', NULL, 'Lee again', 'x', '2025-01-01 00:00:00')",
        "duplicate: users: 2 users with the email lead@example.org (in any case)",
    ),
]


def test_each_kind_of_problem_is_one_line_and_exit_1(store_target, tmp_path):
    archive.copy(rich_source(tmp_path / "src.duckdb"), store_target)
    s = db.connect(store_target, read_only=True)
    with db.transaction(s) as cur:
        for sql, _ in BREAKAGE:
            cur.execute(sql)
    lines = [p.line() for p in integrity.problems(s)]
    s.close()
    for _, expected in BREAKAGE:
        assert sum(line.startswith(expected) for line in lines) == 1, (expected, lines)
    # the submission whose first history row was deleted also has a history that starts from a status
    assert (
        "history: submission_history: submission 1: its first history row (version 2) starts from draft, "
        "not new" in lines
    )
    assert len(lines) == len(BREAKAGE) + 1, lines
    r = cli("check", "--db", store_target)
    assert r.returncode == 1
    assert r.stdout.strip().splitlines() == lines and r.stderr == ""


def test_check_reads_an_older_store_as_it_is_and_does_not_upgrade_it(tmp_path):
    path = str(tmp_path / "v2.duckdb")
    upgrade_stores.build(path, 2).close()
    r = cli("check", "--db", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(schema version 2)" in r.stdout
    s = db.connect(path, read_only=True)
    assert s.schema_version() == 2
    s.close()


def test_check_refuses_a_missing_store_or_an_unknown_schema_version(tmp_path):
    r = cli("check", "--db", tmp_path / "none.duckdb")
    assert r.returncode == 2 and "no such store" in r.stderr and not (tmp_path / "none.duckdb").exists()
    path = str(tmp_path / "newer.duckdb")
    s = db.connect(path)
    with db.transaction(s) as cur:
        cur.execute("UPDATE schema_version SET version = ?", [db.SCHEMA_VERSION + 1])
    s.close()
    r = cli("check", "--db", path)
    assert r.returncode == 2 and f"schema version {db.SCHEMA_VERSION + 1}" in r.stderr
