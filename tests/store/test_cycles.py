"""Reporting cycles: the rules every page follows (default cycle, in progress, the cycle being collected), and
leadership opening and closing a cycle on both engines."""

import datetime as dt

import pandas as pd
import pytest

from shisn.store import audit, reporting_cycles


def frame(reported: dict, settings=()):
    """reported: {cycle: jurisdictions reporting}; settings: (cycle, status, due_on)."""
    return reporting_cycles.status_frame(
        pd.DataFrame({"cycle": list(reported), "reported": list(reported.values())}),
        pd.DataFrame(list(settings), columns=["cycle", "status", "due_on"]),
        56,
    )


def test_one_states_early_report_does_not_move_the_default():
    f = frame({2025: 56, 2026: 54, 2027: 1})
    assert f["cycle"].tolist() == [2027, 2026, 2025]
    assert f.set_index("cycle")["status"].to_dict() == {2027: "open", 2026: "closed", 2025: "closed"}
    assert reporting_cycles.default_cycle(f) == 2026
    assert reporting_cycles.label(f, 2027) == "2027 (in progress)" and reporting_cycles.label(f, 2026) == "2026"
    assert reporting_cycles.progress(reporting_cycles.find(f, 2027)) == "in progress: 1 of 56 reported"
    assert reporting_cycles.collecting(f) is None  # nobody opened 2027: the form keeps its own default


def test_half_the_jurisdictions_make_a_cycle_without_status_closed():
    assert reporting_cycles.default_cycle(frame({2026: 56, 2027: 28})) == 2027
    assert reporting_cycles.default_cycle(frame({2026: 56, 2027: 27})) == 2026


def test_leadership_decides_over_the_count():
    due = dt.date(2027, 3, 31)
    f = frame({2026: 56, 2027: 40}, [(2027, "open", due)])
    assert reporting_cycles.default_cycle(f) == 2026  # 40 reported, but the office has not closed it
    c = reporting_cycles.collecting(f)
    assert (c.cycle, c.due_on, c.reported) == (2027, due, 40)
    assert reporting_cycles.progress(c) == "in progress: 40 of 56 reported, due 2027-03-31"
    assert "provisional" in reporting_cycles.provisional_note(c)
    closed = frame({2026: 56, 2027: 3}, [(2027, "closed", due)])
    assert reporting_cycles.default_cycle(closed) == 2027  # closed by leadership, whatever the count


def test_with_no_closed_cycle_the_latest_with_data_and_without_data_none():
    assert reporting_cycles.default_cycle(frame({2027: 2, 2026: 5})) == 2027
    assert reporting_cycles.default_cycle(frame({})) is None
    assert reporting_cycles.default_cycle(frame({}, [(2027, "open", None)])) is None  # opened, nothing reported yet


def test_open_and_close_a_cycle_audited(con):
    now = dt.datetime(2027, 1, 10, 9, 0)
    c = reporting_cycles.open_cycle(con, 2027, "2027-03-31", "Lee", now=now)
    assert (c.cycle, c.status, c.explicit, c.due_on, c.reported) == (2027, "open", True, dt.date(2027, 3, 31), 0)
    assert reporting_cycles.collecting(reporting_cycles.status(con)).cycle == 2027
    c = reporting_cycles.open_cycle(con, 2027, dt.date(2027, 4, 30), "Lee", now=now)  # moving the due date
    assert c.due_on == dt.date(2027, 4, 30)
    c = reporting_cycles.close_cycle(con, 2027, "Lee", now=now)
    assert c.status == "closed" and reporting_cycles.collecting(reporting_cycles.status(con)) is None
    log = audit.log(con)["detail"].tolist()
    assert "cycle 2027 opened for reporting, due 2027-03-31" in log and "cycle 2027 closed" in log
    assert any(d.startswith("cycle 2027 opened for reporting, due 2027-04-30 (was open") for d in log)


@pytest.mark.parametrize(
    "args, message",
    [
        ((1999, "1999-03-31", "Lee"), "a cycle is a year from 2003"),
        ((2040, "2040-03-31", "Lee"), "a cycle is a year from 2003"),
        (("twenty", "2027-03-31", "Lee"), "is not a year"),
        ((2027, "31/03/2027", "Lee"), "is not a date"),
        ((2027, "2030-03-31", "Lee"), "is not near cycle 2027"),
        ((2027, "2027-03-31", " "), "must be named"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(con, args, message):
    with pytest.raises(ValueError, match=message):
        reporting_cycles.open_cycle(con, *args, now=dt.datetime(2027, 1, 10))
    assert reporting_cycles.status(con).empty


def test_closing_a_cycle_that_never_was_is_refused(con):
    with pytest.raises(ValueError, match="nothing to close"):
        reporting_cycles.close_cycle(con, 2027, "Lee", now=dt.datetime(2027, 1, 10))
    assert reporting_cycles.status(con).empty


def test_the_command_line_lists_opens_and_closes(tmp_path):
    import json
    import subprocess
    import sys

    from tests.support import ROOT, make_csv

    path = tmp_path / "c.duckdb"

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "shisn", "cycles", *map(str, args), "--db", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    f = tmp_path / "va.csv"
    f.write_bytes(make_csv([["VA", "exercises", 2025, 5, "yes", "no", ""]]))
    assert (
        subprocess.run(
            [sys.executable, "-m", "shisn", "load", str(f), "--db", str(path)],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        ).returncode
        == 0
    )
    r = run("open", 2026, "--due", "2026-03-31", "--user", "lee")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        "cycle 2026 opened, due 2026-03-31: 0 of 56 jurisdictions reported; the pages open on 2025"
    )
    listed = json.loads(run("list", "--format", "json").stdout)
    assert listed[0] == {
        "cycle": 2026,
        "status": "open",
        "set_by_leadership": True,
        "due_on": "2026-03-31",
        "reported": 0,
        "jurisdictions": 56,
        "default": False,
    }
    assert listed[1]["cycle"] == 2025 and listed[1]["default"] is True
    assert run("list").stdout.splitlines()[0] == "cycle,status,set_by_leadership,due_on,reported,jurisdictions,default"
    bad = run("open", 2026, "--due", "31/03/2026")
    assert bad.returncode == 2 and "is not a date" in bad.stderr and bad.stdout == ""
    assert run("close", 2026).returncode == 0
    assert run("close", 2019).returncode == 2
