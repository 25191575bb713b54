"""The CLI is a contract other tools call: exit codes, one-line summary, errors on stderr, database unchanged."""

import subprocess
import sys

import duckdb

from tests.support import ROOT, make_csv

GOOD = [["VA", "exercises", 2025, 5, "yes", "no", ""], ["MD", "exercises", 2025, 2, "no", "yes", ""]]


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def rows(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM assessments ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_load_success_prints_one_line_summary(tmp_path, db_file):
    f = tmp_path / "va.csv"
    f.write_bytes(make_csv(GOOD))
    r = run("load", f, "--db", db_file)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().count("\n") == 0
    assert r.stdout.startswith("loaded va.csv: 2 rows for 2 jurisdiction(s)")
    assert len(rows(db_file)) == 2


def test_load_invalid_exits_2_with_errors_on_stderr_and_database_unchanged(tmp_path, db_file):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(make_csv(GOOD))
    bad.write_bytes(make_csv([["VA", "exercises", 2025, 9, "yes", "no", ""]]))
    assert run("load", good, "--db", db_file).returncode == 0
    before = rows(db_file)
    r = run("load", bad, "--db", db_file)
    assert r.returncode == 2
    assert r.stdout == ""
    assert "bad.csv, row 1 (line 2), column maturity, value '9'" in r.stderr
    assert "nothing was loaded" in r.stderr
    assert rows(db_file) == before


def test_load_missing_file_exits_2(db_file):
    r = run("load", "no-such-file.csv", "--db", db_file)
    assert r.returncode == 2 and "no such file" in r.stderr


def test_db_from_environment(tmp_path):
    import os

    f = tmp_path / "va.csv"
    f.write_bytes(make_csv(GOOD))
    target = tmp_path / "env.duckdb"
    r = run("load", f, env=dict(os.environ, SHISN_DB=str(target)))
    assert r.returncode == 0, r.stderr
    assert len(rows(target)) == 2


def test_demo_writes_synthetic_flagged_data(db_file):
    r = run("demo", "--db", db_file, "--seed", 7)
    assert r.returncode == 0, r.stderr
    assert "SYNTHETIC" in r.stdout
    con = duckdb.connect(str(db_file), read_only=True)
    n_states, n_cycles = con.execute("SELECT count(DISTINCT state), count(DISTINCT cycle) FROM assessments").fetchall()[
        0
    ]
    synthetic = con.execute("SELECT bool_and(synthetic) FROM load_log").fetchall()[0][0]
    con.close()
    assert n_states == 56 and n_cycles >= 3 and synthetic


def test_template_csv_to_stdout_and_xlsx_to_file(tmp_path):
    r = run("template", "--format", "csv")
    assert r.returncode == 0
    assert "Nationally leading" in r.stdout
    assert "state,program_area,cycle,maturity,offers_help,seeks_help" in r.stdout
    out = tmp_path / "t.xlsx"
    r = run("template", "--format", "xlsx", "--output", out)
    assert r.returncode == 0 and out.read_bytes()[:2] == b"PK"


def test_impact_refuses_an_empty_store_and_an_unknown_cycle(db_file, demo_db):
    r = run("impact", "--db", db_file)
    assert r.returncode == 2 and r.stdout == "" and "holds no assessments" in r.stderr
    r = run("impact", "--db", demo_db, "--cycle", 1999)
    assert r.returncode == 2 and r.stdout == "" and "no assessments for cycle 1999" in r.stderr


def test_impact_csv_has_the_documented_columns_a_row_per_area_and_all(demo_db):
    r = run("impact", "--db", demo_db)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().split("\n")
    assert lines[0] == (
        "area,mentee_states,baseline_states,compared,mentee_change,baseline_change,difference,low,high,verdict,awaiting"
    )
    areas = [line.split(",")[0] for line in lines[1:]]
    assert areas[-1] == "all" and len(areas) == 9
    assert {line.split(",")[9] for line in lines[1:]} <= {"rose more", "rose less", "no clear difference", "too few"}
