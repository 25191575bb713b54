"""Importing exchanges recorded elsewhere (`python -m shisn exchanges load FILE`, shisn/services/exchange_import.py): a good
file loads with its statuses, dates and areas; each exchange's history says it was imported, from which file, by
whom, and replays to its status and version; loading twice changes nothing; every problem is named by row, column
and value, all at once, and a bad file writes nothing. The store tests run on DuckDB and PostgreSQL (`con`)."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from shisn.domain import exchange_rules
from shisn.services import exchange_export, exchange_import, exchanges
from shisn.store import audit, db
from shisn.store.ingest import LoadError
from tests.support import ROOT, make_csv

HEADER = [
    "mentor",
    "mentee",
    "program_area",
    "cycle",
    "status",
    "held_on",
    "first_contact_on",
    "means",
    "notes",
    "decline_reason",
]
TRAINING_LABEL = "Training systems, including course development and institutionalization strategies"
GOOD = [
    ["VA", "MD", "exercises", 2019, "closed", "2019-05-10", "2019-02-01", "on-site visit", "Two-day visit", ""],
    ["Ohio", "wv", f"{TRAINING_LABEL};exercises", 2020, "exchange held", "2020-06-01", "", "", "", ""],
    ["CA", "NV", "Interoperability", 2021, "in contact", "", "2021-03-03", "", "", ""],
    ["TX", "NM", "recovery", 2022, "proposed", "", "", "teleconference", "", ""],
    ["WA", "ID", "regional_planning", 2018, "declined", "", "2018-04-04", "", "", "ID chose to wait"],
    ["NY", "CT", "prevention; strategy", 2017, "Declined", "2017-09-09", "", "document_exchange", "", "after one call"],
    ["FL", "PR", "recovery", 2021, "introduced", "", "", "", "", ""],
]
USER = "Ann Importer"
NOW = dt.datetime(2026, 3, 2, 9, 30)
TODAY = NOW.date()


def good_file(rows=GOOD, header=HEADER) -> bytes:
    return make_csv(rows, header=header)


def counts(con) -> dict:
    out = {
        t: int(db.query_df(con, f"SELECT count(*) AS n FROM {t}")["n"].iloc[0])
        for t in ("exchanges", "exchange_history", "audit_log")
    }
    versions = db.query_df(con, "SELECT exchange_id, version, updated_at FROM exchanges ORDER BY exchange_id")
    out["versions"] = [tuple(r) for r in versions.astype(str).itertuples(index=False)]
    return out


def by_pair(con) -> dict:
    df = exchanges.list_exchanges(con, None)
    return {(r["mentor"], r["mentee"]): r for r in df.to_dict("records")}


def replay(con, ex_id: int) -> dict:
    """The exchange rebuilt from its history alone: each row's status and field changes applied in version order."""
    with db.transaction(con) as cur:
        rows = cur.execute(
            "SELECT version, from_status, to_status, effective_at, changes FROM exchange_history "
            "WHERE exchange_id = ? ORDER BY version",
            [ex_id],
        ).fetchall()
    state: dict = {"version": 0}
    for version, from_status, to_status, effective_at, changes in rows:
        assert version == state["version"] + 1
        assert from_status == state.get("status")
        for field, (old, new) in json.loads(changes).items():
            assert state.get(field) == old, (ex_id, version, field)
            state[field] = new
        assert state["status"] == to_status
        state[exchange_rules.STATUS_TIME[to_status]] = effective_at
        state["version"] = version
    return state


def day(v):
    return None if v is None or v != v else v.date()


# --- a good file -----------------------------------------------------------------------------------------------


def test_a_good_file_loads_with_its_statuses_dates_and_areas(con):
    s = exchange_import.load(con, "earlier.csv", good_file(), USER, now=NOW)
    assert (s.imported, s.present) == (len(GOOD), 0)
    assert s.line() == f"imported earlier.csv: {len(GOOD)} exchange(s) imported, 0 already present"
    ex = by_pair(con)
    va = ex[("VA", "MD")]
    assert (va["status"], va["program_areas"], va["cycle"], va["means"], va["outcome"]) == (
        exchange_rules.CLOSED,
        "exercises",
        2019,
        "on_site_visit",
        "Two-day visit",
    )
    assert [day(va[c]) for c in ("proposed_at", "introduced_at", "contact_at", "held_at", "closed_at")] == [
        dt.date(2019, 2, 1)
    ] * 3 + [dt.date(2019, 5, 10)] * 2
    assert va["declined_at"] is None or va["declined_at"] != va["declined_at"]
    oh = ex[("OH", "WV")]  # a label with a comma and a slug, separated by ';'; no means given
    assert (oh["status"], oh["program_areas"], oh["means"], oh["means_detail"]) == (
        exchange_rules.HELD,
        "training,exercises",
        "other",
        exchange_import.UNRECORDED_MEANS,
    )
    assert {day(oh[c]) for c in ("proposed_at", "introduced_at", "contact_at", "held_at")} == {dt.date(2020, 6, 1)}
    ca = ex[("CA", "NV")]
    assert (ca["status"], ca["program_areas"], day(ca["first_contact_at"])) == (
        exchange_rules.IN_CONTACT,
        "interoperability",
        dt.date(2021, 3, 3),
    )
    tx = ex[("TX", "NM")]  # no date at all: proposed on 1 January of its cycle
    assert (tx["status"], day(tx["proposed_at"]), tx["means"]) == (
        exchange_rules.PROPOSED,
        dt.date(2022, 1, 1),
        "teleconference",
    )
    wa = ex[("WA", "ID")]  # declined after its first contact: proposed → introduced → declined
    assert (wa["status"], wa["decline_reason"], day(wa["introduced_at"]), day(wa["declined_at"])) == (
        exchange_rules.DECLINED,
        "ID chose to wait",
        dt.date(2018, 4, 4),
        dt.date(2018, 4, 4),
    )
    assert wa["contact_at"] != wa["contact_at"] or wa["contact_at"] is None
    ny = ex[("NY", "CT")]  # held, then declined; two areas in catalog order
    assert (ny["status"], ny["program_areas"], ny["means"], day(ny["held_at"]), day(ny["declined_at"])) == (
        exchange_rules.DECLINED,
        "strategy,prevention",
        "document_exchange",
        dt.date(2017, 9, 9),
        dt.date(2017, 9, 9),
    )
    fl = ex[("FL", "PR")]
    assert (fl["status"], day(fl["proposed_at"]), day(fl["introduced_at"])) == (
        exchange_rules.INTRODUCED,
        dt.date(2021, 1, 1),
        dt.date(2021, 1, 1),
    )
    assert all(r["created_by"] == USER and r["updated_by"] == USER and not r["synthetic"] for r in ex.values())


def test_each_history_says_imported_from_which_file_by_whom_and_replays_to_the_exchange(con):
    s = exchange_import.load(con, "earlier.csv", good_file(), USER, now=NOW)
    paths = {
        exchange_rules.CLOSED: 5,
        exchange_rules.HELD: 4,
        exchange_rules.IN_CONTACT: 3,
        exchange_rules.PROPOSED: 1,
        exchange_rules.INTRODUCED: 2,
    }
    for ex_id, source in zip(s.exchange_ids, GOOD):
        row = exchanges.get(con, ex_id)
        hist = exchanges.history(con, ex_id)
        assert list(hist["changed_by"]) == [USER] * len(hist)
        line = GOOD.index(source) + 2
        assert set(hist["comment"]) == {f"imported from earlier.csv (row {line - 1}, line {line}) by {USER}"}
        assert int(row["version"]) == len(hist) == paths.get(row["status"], len(hist))
        state = replay(con, ex_id)
        assert state["version"] == row["version"] and state["status"] == row["status"]
        for c in ("mentor", "mentee", "program_areas", "cycle", "means", "means_detail", "outcome", "decline_reason"):
            assert state.get(c) == row[c], (ex_id, c)
        for status, column in exchange_rules.STATUS_TIME.items():
            assert state.get(column) == row[column], (ex_id, column)
        times = [row[exchange_rules.STATUS_TIME[st]] for st in hist["to_status"]]
        assert times == sorted(times) and max(times) <= NOW  # never decreasing, never in the future
    # the declined exchange that was held passed through every status before declining
    ny = by_pair(con)[("NY", "CT")]
    assert list(exchanges.history(con, int(ny["exchange_id"]))["to_status"]) == [
        exchange_rules.PROPOSED,
        exchange_rules.INTRODUCED,
        exchange_rules.IN_CONTACT,
        exchange_rules.HELD,
        exchange_rules.DECLINED,
    ]


def test_the_import_is_in_the_audit_log(con):
    s = exchange_import.load(con, "earlier.csv", good_file(), USER, now=NOW)
    log = audit.log(con)
    loads = log[log["action"] == "load"]
    assert len(loads) == 1
    entry = loads.iloc[0]
    assert entry["who"] == USER and "earlier.csv" in entry["detail"]
    assert f"{s.imported} exchange(s) imported" in entry["detail"]


def test_loading_the_same_file_twice_changes_nothing(con):
    exchange_import.load(con, "earlier.csv", good_file(), USER, now=NOW)
    before = counts(con)
    s = exchange_import.load(con, "earlier.csv", good_file(), "Someone Else", now=NOW + dt.timedelta(days=3))
    assert (s.imported, s.present) == (0, len(GOOD))
    assert counts(con) == before
    # a file giving fewer columns for the same exchanges is also already present
    fewer = [r[:6] for r in GOOD]
    s = exchange_import.load(con, "short.csv", good_file(fewer, HEADER[:6]), USER, now=NOW)
    assert (s.imported, s.present) == (0, len(GOOD)) and counts(con) == before


def test_an_exchange_recorded_in_the_app_counts_as_present_and_a_differing_one_is_refused(con):
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2019, "Pat PM", at=dt.datetime(2019, 2, 1, 10))
    exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "Pat PM", at=dt.datetime(2019, 2, 3, 10))
    same = [["VA", "MD", "exercises", 2019, "introduced", "", "2019-02-03", "", "", ""]]
    s = exchange_import.load(con, "same.csv", good_file(same), USER, now=NOW)
    assert (s.imported, s.present) == (0, 1)
    before = counts(con)
    differs = [GOOD[3], ["VA", "MD", "Exercise programs", 2019, "closed", "2019-05-10", "2019-02-01", "", "", ""]]
    with pytest.raises(LoadError) as e:
        exchange_import.load(con, "differs.csv", good_file(differs), USER, now=NOW)
    text = e.value.report()
    assert (
        f"differs.csv, row 2 (line 3), column status, value 'closed': exchange {ex} (VA → MD, same program "
        "areas and cycle) is already in the store with status 'introduced'"
    ) in text
    assert "row 2 (line 3), column held_on, value '2019-05-10'" in text
    assert "row 2 (line 3), column first_contact_on, value '2019-02-01'" in text and "'2019-02-03'" in text
    assert counts(con) == before  # the good TX row was not written either


def test_an_open_exchange_is_refused_where_the_pair_has_one_open_in_that_area(con):
    ex = exchanges.open_exchange(con, "TX", "NM", ["recovery", "training"], 2025, "Pat PM")
    before = counts(con)
    with pytest.raises(LoadError) as e:
        exchange_import.load(con, "open.csv", good_file([GOOD[3]]), USER, now=NOW)
    assert (
        f"row 1 (line 2), column program_area, value 'recovery': TX → NM in Recovery is already exchange {ex}"
        in e.value.report()
    )
    assert counts(con) == before
    closed = [["TX", "NM", "recovery", 2019, "closed", "2019-05-01", "", "", "", ""]]
    assert (
        exchange_import.load(con, "closed.csv", good_file(closed), USER, now=NOW).imported == 1
    )  # history does not clash


# --- bad files -------------------------------------------------------------------------------------------------


def _row(**over):
    r = dict(zip(HEADER, ["VA", "MD", "exercises", 2019, "closed", "2019-05-10", "2019-02-01", "", "", ""]))
    r.update(over)
    return [r[c] for c in HEADER]


FUTURE = (TODAY + dt.timedelta(days=1)).isoformat()
BAD_ROWS = {
    "unknown state": (_row(mentor="ZZ"), "mentor", "ZZ", "not one of the 56 reporting jurisdictions"),
    "mentor is mentee": (_row(mentee="va"), "mentee", "va", "the mentor is VA too"),
    "unknown area": (
        _row(program_area="exercises;cooking"),
        "program_area",
        "exercises;cooking",
        "'cooking' is not a program area",
    ),
    "no area": (_row(program_area=""), "program_area", "", "required: a program area"),
    "unknown status": (_row(status="finished"), "status", "finished", "not a status"),
    "a request": (_row(status="requested"), "status", "requested", "introduction requests are not imported"),
    "held without held_on": (
        _row(status="exchange held", held_on=""),
        "held_on",
        "",
        "required when the status is exchange held",
    ),
    "closed without held_on": (_row(held_on=""), "held_on", "", "required when the status is closed"),
    "held_on for in contact": (_row(status="in_contact"), "held_on", "2019-05-10", "was not held"),
    "first contact for proposed": (
        _row(status="proposed", held_on=""),
        "first_contact_on",
        "2019-02-01",
        "a proposed exchange has had no first contact",
    ),
    "bad date": (_row(held_on="10/05/2019"), "held_on", "10/05/2019", "not a date: write it as YYYY-MM-DD"),
    "impossible date": (_row(held_on="2019-02-30"), "held_on", "2019-02-30", "not a date"),
    "date in the future": (_row(held_on=FUTURE), "held_on", FUTURE, "is in the future"),
    "date too old": (_row(first_contact_on="1999-01-01"), "first_contact_on", "1999-01-01", "is before 2003-01-01"),
    "first contact after held": (
        _row(first_contact_on="2019-06-01"),
        "first_contact_on",
        "2019-06-01",
        "is after held_on (2019-05-10)",
    ),
    "bad cycle": (_row(cycle="19"), "cycle", "19", "four-digit assessment year"),
    "bad means": (_row(means="carrier pigeon"), "means", "carrier pigeon", "not a means"),
    "decline reason when not declined": (
        _row(decline_reason="no"),
        "decline_reason",
        "no",
        "only for a declined exchange",
    ),
    "formula": (_row(notes="=HYPERLINK(1)"), "notes", "=HYPERLINK(1)", "spreadsheet formula"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_each_bad_row_is_named_by_row_column_and_value_and_nothing_is_written(con, case):
    exchange_import.load(con, "earlier.csv", good_file(GOOD[3:4]), USER, now=NOW)  # something already in the store
    before = counts(con)
    row, column, value, reason = BAD_ROWS[case]
    with pytest.raises(LoadError) as e:
        exchange_import.load(con, "bad.csv", good_file([GOOD[0], row]), USER, now=NOW)
    problems = e.value.problems
    assert [(p.row, p.line, p.column, p.value) for p in problems] == [(2, 3, column, value)], e.value.report()
    assert reason in problems[0].reason
    assert str(problems[0]).startswith(f"bad.csv, row 2 (line 3), column {column}, value {value!r}: ")
    assert counts(con) == before


FILE_CASES = {
    "empty file": (b"", None, "the file is empty"),
    "blank lines only": (b"\n  \n", None, "the file is empty"),
    "header only": (",".join(HEADER).encode() + b"\n", 1, "header but no data rows"),
    "missing required column": (
        make_csv([r[:5] for r in GOOD], header=HEADER[:5]),
        1,
        "missing required column(s): held_on",
    ),
    "column twice": (make_csv([GOOD[0] + ["x"]], header=HEADER + ["Status"]), 1, "status appear twice"),
    "not UTF-8": (
        (",".join(HEADER) + "\nVA,MD,exercises,2019,closed,2019-05-10,,,caf").encode() + b"\xe9\n",
        2,
        "not UTF-8 text",
    ),
    "a workbook": (b"PK\x03\x04rest-of-a-zip", None, "not a CSV text file"),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_a_malformed_file_is_named_and_writes_nothing(con, case):
    data, line, reason = FILE_CASES[case]
    before = counts(con)
    with pytest.raises(LoadError) as e:
        exchange_import.load(con, "bad.csv", data, USER, now=NOW)
    [p] = e.value.problems
    assert reason in p.reason and p.line == line and p.file == "bad.csv"
    assert counts(con) == before


def test_every_problem_of_a_file_is_listed_at_once(con):
    rows = [
        GOOD[0],
        _row(mentor="ZZ", means="pigeon"),
        GOOD[2],
        _row(status="closed", held_on=""),
        GOOD[0],
        _row(
            mentor="CA",
            mentee="NV",
            program_area="interoperability;training",
            cycle=2024,
            status="introduced",
            held_on="",
            first_contact_on="2024-01-02",
        ),
    ]
    before = counts(con)
    with pytest.raises(LoadError) as e:
        exchange_import.load(con, "many.csv", good_file(rows), USER, now=NOW)
    got = [(p.row, p.column) for p in e.value.problems]
    assert got == [(2, "mentor"), (2, "means"), (4, "held_on"), (5, "mentor"), (6, "program_area")]
    report = e.value.report()
    assert "row 5 (line 6), column mentor, value 'VA': duplicates row 1 (line 2)" in report
    assert "row 6 (line 7), column program_area" in report and "also open on row 3 (line 4)" in report
    assert report.endswith("5 problem(s); nothing was loaded.")
    assert counts(con) == before


def test_headers_are_matched_like_the_self_assessment_files_and_unknown_columns_warned():
    header = [" Mentor", "MENTEE", "Program Area", "cycle ", "Status", "held-on", "Comment"]
    c = exchange_import.check(
        "h.csv",
        make_csv([["VA", "MD", "exercises", 2019, "proposed", "", "x"]], header=header, delimiter=";"),
        today=TODAY,
    )
    assert c.ok and [r.key for r in c.rows] == [("VA", "MD", "exercises", 2019)]
    assert "ignored unknown column(s): comment" in c.warnings
    assert "read as semicolon-separated values" in c.warnings


def test_check_is_pure_and_write_refuses_a_file_with_problems(con):
    c = exchange_import.check("bad.csv", good_file([_row(mentor="ZZ")]), today=TODAY)
    assert not c.ok and c.rows == []
    with pytest.raises(LoadError):
        exchange_import.write(con, c, USER)
    assert counts(con)["exchanges"] == 0


# --- the CLI -----------------------------------------------------------------------------------------------------


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_exchanges_load_imports_then_finds_everything_present_and_the_export_still_works(tmp_path, db_file):
    f = tmp_path / "earlier.csv"
    f.write_bytes(good_file())
    r = run("exchanges", "load", f, "--db", db_file, "--user", USER)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"imported earlier.csv: {len(GOOD)} exchange(s) imported, 0 already present\n"
    r = run("exchanges", "load", f, "--db", db_file)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"imported earlier.csv: 0 exchange(s) imported, {len(GOOD)} already present\n"
    r = run("exchanges", "--db", db_file, "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ",".join(exchange_export.EXPORT_COLUMNS) and len(lines) == len(GOOD) + 1
    assert lines[1].startswith("1,VA,MD,exercises,closed,on_site_visit,2019-02-01 12:00:00,2019-02-01 12:00:00,")
    con = db.connect(db_file)
    try:
        assert set(exchanges.history(con, 1)["changed_by"]) == {USER}
    finally:
        con.close()


def test_cli_exchanges_load_of_a_bad_file_exits_2_lists_every_problem_and_changes_nothing(tmp_path, db_file):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(good_file(GOOD[:2]))
    assert run("exchanges", "load", good, "--db", db_file).returncode == 0
    con = db.connect(db_file)
    before = counts(con)
    con.close()
    bad.write_bytes(good_file([GOOD[3], _row(mentor="ZZ"), _row(held_on="")]))
    r = run("exchanges", "load", bad, "--db", db_file)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "bad.csv, row 2 (line 3), column mentor, value 'ZZ': not one of the 56 reporting jurisdictions (use a USPS "
        "code such as VA)",
        "bad.csv, row 3 (line 4), column held_on, value '': required when the status is closed: the day the "
        "exchange was held (YYYY-MM-DD)",
        "2 problem(s); nothing was loaded.",
    ]
    con = db.connect(db_file)
    try:
        assert counts(con) == before
    finally:
        con.close()
    assert run("exchanges", "load", tmp_path / "missing.csv", "--db", db_file).returncode == 2
    r = run("exchanges", "load", "--db", db_file)
    assert r.returncode == 2 and "name the CSV file" in r.stderr
