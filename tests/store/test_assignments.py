"""Program-manager assignments: lookups other pages use, the CSV load (validated all or nothing, problems named by
row, line, column and value), edits from the page, the change log and the `managers load` CLI."""

import subprocess
import sys

import pandas as pd
import pytest

from shisn import demo
from shisn.services import assignments
from shisn.store import db
from shisn.store.ingest import LoadError
from tests.support import ROOT


def pms(con):
    return con.cursor().execute("SELECT state, name, email FROM program_managers ORDER BY state").fetchall()


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


GOOD = (
    "state,name,email\nVA,Ann Example,ann@odp.example.gov\nmd,Ann Example,ann@odp.example.gov\n"
    "Guam,Bo Lee,bo@Example.ORG\n"
)


def test_pm_of_and_with_pm(con):
    assert assignments.pm_of(con, "VA") is None
    assignments.load_csv(con, "pms.csv", csv_bytes(GOOD), "Lee Leader")
    assert assignments.pm_of(con, "VA") == {"state": "VA", "name": "Ann Example", "email": "ann@odp.example.gov"}
    assert assignments.pm_label(assignments.pm_of(con, "GU")) == "Bo Lee <bo@example.org>"  # domain lower-cased
    assert assignments.pm_label(None) == "no program manager assigned"
    df = pd.DataFrame({"mentor": ["VA", "TX"], "x": [1, 2]}, index=[5, 9])
    out = assignments.with_pm(df, con, "mentor", "mentor_pm_")
    assert list(out.index) == [5, 9]
    assert list(out["mentor_pm_name"]) == ["Ann Example", ""]
    assert list(out["mentor_pm_email"]) == ["ann@odp.example.gov", ""]


def test_assignments_lists_every_jurisdiction(con):
    assignments.load_csv(con, "pms.csv", csv_bytes(GOOD), "Lee")
    table = assignments.assignments(con)
    assert len(table) == 56 and (table["name"] != "").sum() == 3
    assert table.set_index("state").loc["VA", "region_label"] == "Region III"
    people = assignments.by_manager(con)
    assert people.set_index("name").loc["Ann Example", "states"] == "MD, VA"


def test_csv_load_adds_changes_and_logs(con):
    counts = assignments.load_csv(con, "pms.csv", csv_bytes(GOOD), "Lee Leader")
    assert (counts["added"], counts["changed"], counts["unchanged"], counts["rows"]) == (3, 0, 0, 3)
    counts = assignments.load_csv(con, "v2.csv", csv_bytes("Email;NAME;State\nnew@odp.example.gov;New PM;VA\n"), "Lee")
    assert (counts["added"], counts["changed"]) == (0, 1)
    assert assignments.pm_of(con, "VA")["name"] == "New PM" and assignments.pm_of(con, "MD")["name"] == "Ann Example"
    log = assignments.change_log(con)
    va = log[(log["state"] == "VA") & (log["source"] == "v2.csv")].iloc[0]
    assert (va["old_name"], va["new_name"], va["changed_by"]) == ("Ann Example", "New PM", "Lee")
    # loading the same file again changes nothing and logs nothing
    n = len(log)
    again = assignments.load_csv(con, "v2.csv", csv_bytes("state,name,email\nVA,New PM,new@odp.example.gov\n"), "Lee")
    assert again["unchanged"] == 1
    assert len(assignments.change_log(con)) == n


def test_bad_rows_are_named_and_nothing_is_written(con):
    assignments.load_csv(con, "pms.csv", csv_bytes(GOOD), "Lee")
    before = pms(con)
    bad = (
        "# program managers\n"
        "state,name,email\n"
        "VA,Changed Name,changed@odp.example.gov\n"  # row 1, line 3: fine on its own
        "ZZ,Someone,someone@odp.example.gov\n"  # row 2, line 4: unknown state
        "TX,,tx@odp.example.gov\n"  # row 3, line 5: empty name
        "NM,Nia Mx,not-an-email\n"  # row 4, line 6: implausible e-mail
        "va,Dup Entry,dup@odp.example.gov\n"  # row 5, line 7: VA again
        "OK,=HYPERLINK(1),ok@odp.example.gov\n"
    )  # row 6, line 8: formula
    with pytest.raises(LoadError) as e:
        assignments.load_csv(con, "bad.csv", csv_bytes(bad), "Lee")
    text = [str(p) for p in e.value.problems]
    assert (
        "bad.csv, row 2 (line 4), column state, value 'ZZ': not one of the 56 reporting jurisdictions "
        "(use a USPS code such as VA)" in text
    )
    assert "bad.csv, row 3 (line 5), column name, value '': required: the program manager's name" in text
    assert any(
        t.startswith("bad.csv, row 4 (line 6), column email, value 'not-an-email': not a plausible") for t in text
    )
    assert (
        "bad.csv, row 5 (line 7), column state, value 'va': VA is also on row 1 (line 3): "
        "one program manager per state" in text
    )
    assert any(
        t.startswith("bad.csv, row 6 (line 8), column name, value '=HYPERLINK(1)': looks like a spreadsheet formula")
        for t in text
    )
    assert not any(t.startswith("bad.csv, row 1 ") for t in text)
    assert pms(con) == before
    assert "nothing was loaded" in e.value.report()


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "the file is empty"),
        (b"state,name\nVA,Ann\n", "missing required column(s): email"),
        (b"state,name,email\n", "header but no data rows"),
        (b"state,name,email\nVA,Ann,a@b.gov,extra\n", "the row has 4 values but the header has 3 columns"),
        ("state,name,email\nVA,José,j@b.gov\n".encode("latin-1"), "not UTF-8"),
        (b"PK\x03\x04binary", "not a CSV text file"),
    ],
)
def test_file_level_problems_write_nothing(con, data, reason):
    with pytest.raises(LoadError) as e:
        assignments.load_csv(con, "f.csv", data, "Lee")
    assert any(reason in str(p) for p in e.value.problems), [str(p) for p in e.value.problems]
    assert pms(con) == []


def test_unknown_columns_are_a_warning(con):
    counts = assignments.load_csv(con, "f.csv", b"state,name,email,phone\nVA,Ann,ann@odp.example.gov,555\n", "Lee")
    assert counts["warnings"] == ["ignored unknown column(s): phone"]


def test_page_save_validates_everything_and_allows_unassigning(con):
    demo.write_demo(con)
    table = assignments.assignments(con)[["state", "state_name", "region_label", "name", "email"]]
    edited = table.copy()
    edited.loc[edited["state"] == "VA", ["name", "email"]] = ["Vera New", "vera@odp.example.gov"]
    edited.loc[edited["state"] == "GU", ["name", "email"]] = [None, None]  # unassign
    edited.loc[edited["state"] == "TX", "email"] = "broken"
    before = pms(con)
    with pytest.raises(LoadError) as e:
        assignments.save(con, edited, "Lee")
    assert [(p.column, p.value) for p in e.value.problems] == [("email", "broken")]
    probs = assignments.problems_table(e.value.problems, edited)
    assert probs.iloc[0]["state"] == "TX"
    assert pms(con) == before
    edited.loc[edited["state"] == "TX", "email"] = table.loc[table["state"] == "TX", "email"].iloc[0]
    counts = assignments.save(con, edited, "Lee")
    assert (counts["changed"], counts["removed"], counts["added"]) == (1, 1, 0)
    assert assignments.pm_of(con, "GU") is None and assignments.pm_of(con, "VA")["name"] == "Vera New"
    log = assignments.change_log(con)
    gu = log[log["state"] == "GU"].iloc[0]
    assert gu["source"] == "page" and pd.isna(gu["new_name"]) and gu["old_name"].endswith("(demo)")


def test_half_filled_row_on_the_page_is_a_problem(con):
    rows = pd.DataFrame({"state": ["VA"], "name": ["Ann"], "email": [""]})
    with pytest.raises(LoadError, match="1 problem"):
        assignments.save(con, rows, "Lee")


def test_export_round_trips_and_is_formula_safe(con):
    con.cursor().execute("INSERT INTO program_managers VALUES ('VA', '-Dash Name', 'a@odp.example.gov')").fetchall()
    text = assignments.to_csv_bytes(con).decode()
    assert text.splitlines() == ["state,name,email", "VA,'-Dash Name,a@odp.example.gov"]


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_managers_load(tmp_path, db_file):
    good, bad = tmp_path / "pms.csv", tmp_path / "bad.csv"
    good.write_text(GOOD)
    bad.write_text("state,name,email\nVA,,x\n")
    r = run("managers", "load", good, "--db", db_file, "--user", "lead")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "loaded pms.csv: 3 assignment(s): 3 new, 0 changed, 0 unchanged"
    r = run("managers", "load", bad, "--db", db_file)
    assert r.returncode == 2 and r.stdout == ""
    assert "bad.csv, row 1 (line 2), column name, value '': required" in r.stderr
    assert "nothing was loaded" in r.stderr
    con = db.connect(db_file)
    try:
        assert len(pms(con)) == 3 and assignments.pm_of(con, "VA")["name"] == "Ann Example"
    finally:
        con.close()
    assert run("managers", "load", tmp_path / "missing.csv", "--db", db_file).returncode == 2
