"""Offers and practices as CSV files (`python -m shisn offers load FILE`, `python -m shisn practices load FILE`,
their `export`; shisn/services/offer_file.py): a good file loads; loading it again changes nothing; a changed row
updates its offer or practice through its version; every problem is named by row, column and value, all at once,
and a bad file writes nothing; the export loads back into an empty store as the same rows. The store tests run on
DuckDB and PostgreSQL (`con`)."""

import datetime as dt
import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from shisn.services import exchange_import, offer_file, offers, practices
from shisn.store import audit, db
from shisn.store.ingest import LoadError
from tests.support import ROOT, make_csv

USER = "Ann Loader"
NOW = dt.datetime(2026, 3, 2, 9, 30)
LATER = NOW + dt.timedelta(hours=1)

OFFER_HEADER = offer_file.OFFER_COLUMNS
OFFERS = [
    # state, program_area, title, covers, formats, capacity, lead_time_days, prepare, status
    ["VA", "exercises", "Exercise design", "How we design, run and evaluate exercises", "teleconference; on-site visit",
     3, 30, "Your last after-action report", ""],
    ["Maryland", "Training", "Course development", "Our course pipeline", "documents", "2.0", "", "", "Draft"],
    ["tx", "recovery", "Recovery planning", "Long-term recovery", "shadowing;documents and templates", 1, "", "",
     "withdrawn"],
    ["TX", "recovery", "Recovery, second edition", "What we changed", "teleconference", 2, 14, "", "published"],
]  # fmt: skip
PRACTICE_HEADER = offer_file.PRACTICE_COLUMNS
PRACTICES = [
    # state, program_area, title, summary, what_worked, differently, documents, exchange_id, status
    ["VA", "exercises", "Tabletop first", "Start with a tabletop", "Short, focused sessions", "Invite more partners",
     "AAR template.docx; Exercise plan.pdf", 1, ""],
    ["MD", "exercises", "What we took from VA", "Their AAR template", "", "", "", "1", "private"],
    ["TX", "recovery", "Without an exchange", "Plans written with the counties", "", "", "", "", "Published"],
]  # fmt: skip
EXCHANGES = [
    ["mentor", "mentee", "program_area", "cycle", "status", "held_on"],
    ["VA", "MD", "exercises", 2019, "closed", "2019-05-10"],  # exchange 1: held
    ["CA", "NV", "training", 2020, "proposed", ""],  # exchange 2: not held
]


def offers_file(rows=OFFERS, header=OFFER_HEADER, **kw) -> bytes:
    return make_csv(rows, header=header, **kw)


def practices_file(rows=PRACTICES, header=PRACTICE_HEADER, **kw) -> bytes:
    return make_csv(rows, header=header, **kw)


def with_exchanges(con):
    exchange_import.load(con, "exchanges.csv", make_csv(EXCHANGES[1:], header=EXCHANGES[0]), USER, now=NOW)


def counts(con) -> dict:
    """Everything a load could write: the rows of each table, and each offer's and practice's version."""
    out = {
        t: int(db.query_df(con, f"SELECT count(*) AS n FROM {t}")["n"].iloc[0])
        for t in ("offers", "offer_history", "practices", "audit_log")
    }
    for t, key in (("offers", "offer_id"), ("practices", "practice_id")):
        df = db.query_df(con, f"SELECT {key}, status, version, updated_at FROM {t} ORDER BY {key}")
        out[f"{t}_rows"] = [tuple(r) for r in df.astype(str).itertuples(index=False)]
    return out


def by_title(df: pd.DataFrame) -> dict:
    return {r["title"]: r for r in df.to_dict("records")}


def nothing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA


# --- offers: a good file ------------------------------------------------------------------------------------------


def test_a_good_offers_file_loads_with_its_values_and_statuses(con):
    s = offer_file.load_offers(con, "offers.csv", offers_file(), USER, now=NOW)
    assert (s.added, s.changed, s.unchanged) == (4, 0, 0)
    assert s.line("the store") == "loaded offers.csv into the store: 4 offer(s): 4 added, 0 changed, 0 unchanged"
    got = by_title(offers.visible(con, None))
    va = got["Exercise design"]
    assert (va["state"], va["program_area"], va["formats"], va["capacity"], va["lead_time_days"], va["status"]) == (
        "VA",
        "exercises",
        "teleconference,on_site_visit",
        3,
        30,
        offers.PUBLISHED,
    )
    assert va["prepare"] == "Your last after-action report" and va["created_by"] == USER
    md = got["Course development"]
    assert (md["state"], md["program_area"], md["capacity"], md["status"]) == ("MD", "training", 2, offers.DRAFT)
    assert nothing(md["lead_time_days"]) and nothing(md["prepare"])
    assert got["Recovery planning"]["status"] == offers.WITHDRAWN
    assert got["Recovery planning"]["formats"] == "documents,shadowing"
    assert {bool(v) for v in offers.visible(con, None)["synthetic"]} == {False}
    assert list(offers.published(con)["title"]) == ["Recovery, second edition", "Exercise design"]
    withdrawn = offers.history(con, int(got["Recovery planning"]["offer_id"]))
    assert list(withdrawn["to_status"]) == [offers.DRAFT, offers.WITHDRAWN]  # created as a draft, then withdrawn
    assert withdrawn["from_status"].iloc[1] == offers.DRAFT
    [entry] = [r for r in audit.log(con).to_dict("records") if r["action"] == "load"]
    assert entry["who"] == USER and "offers.csv" in entry["detail"] and USER in entry["detail"]
    assert "4 added" in entry["detail"]


def test_loading_the_same_offers_file_again_changes_nothing(con):
    offer_file.load_offers(con, "offers.csv", offers_file(), USER, now=NOW)
    before = counts(con)
    s = offer_file.load_offers(con, "offers.csv", offers_file(), "Someone Else", now=LATER)
    assert (s.added, s.changed, s.unchanged) == (0, 0, 4)
    assert counts(con) == before  # no version, no history row, no audit entry


def test_a_changed_row_updates_its_offer_through_its_version_and_the_others_stay(con):
    offer_file.load_offers(con, "offers.csv", offers_file(), USER, now=NOW)
    before = by_title(offers.visible(con, None))
    rows = [list(r) for r in OFFERS]
    rows[0][5] = 4  # capacity
    rows[1][2] = "COURSE   development"  # the key's title in another case and spacing: the same offer
    rows[1][8] = "published"
    s = offer_file.load_offers(con, "changed.csv", offers_file(rows), "Bo Editor", now=LATER)
    assert (s.added, s.changed, s.unchanged) == (0, 2, 2)
    after = by_title(offers.visible(con, None))
    va = after["Exercise design"]
    assert (va["offer_id"], va["capacity"], va["version"], va["updated_by"]) == (
        before["Exercise design"]["offer_id"],
        4,
        2,
        "Bo Editor",
    )
    md = after["COURSE   development"]  # the title as the file writes it
    assert (md["offer_id"], md["status"], md["version"]) == (
        before["Course development"]["offer_id"],
        offers.PUBLISHED,
        2,
    )
    assert after["Recovery planning"]["version"] == before["Recovery planning"]["version"]
    h = offers.history(con, int(va["offer_id"]))
    assert json.loads(h["changes"].iloc[-1]) == {"capacity": [3, 4]}


def test_an_optional_column_left_out_keeps_the_stored_values(con):
    offer_file.load_offers(con, "offers.csv", offers_file(), USER, now=NOW)
    header = ["state", "program_area", "title", "covers", "formats", "capacity"]
    rows = [r[:6] for r in OFFERS]
    s = offer_file.load_offers(con, "short.csv", offers_file(rows, header=header), USER, now=LATER)
    assert (s.added, s.changed, s.unchanged) == (0, 0, 4)
    got = by_title(offers.visible(con, None))
    assert got["Exercise design"]["lead_time_days"] == 30 and got["Course development"]["status"] == offers.DRAFT


def test_one_file_may_withdraw_an_offer_and_publish_another_in_the_same_area(con):
    offer_file.load_offers(con, "offers.csv", offers_file(), USER, now=NOW)
    rows = [
        ["VA", "exercises", "Exercise design", "How we design, run and evaluate exercises", "teleconference", 3, 30,
         "", "withdrawn"],
        ["VA", "exercises", "Exercise design, 2026", "The new one", "documents", 2, "", "", ""],
    ]  # fmt: skip
    s = offer_file.load_offers(con, "swap.csv", offers_file(rows), USER, now=LATER)
    assert (s.added, s.changed) == (1, 1)
    assert list(offers.published(con, state="VA")["title"]) == ["Exercise design, 2026"]


# --- offers: bad rows --------------------------------------------------------------------------------------------


def _offer(**over):
    r = dict(zip(OFFER_HEADER, ["OH", "prevention", "Fusion center", "What we share", "teleconference", 2, "", "", ""]))
    r.update(over)
    return [r[c] for c in OFFER_HEADER]


BAD_OFFERS = {
    "unknown state": (_offer(state="ZZ"), "state", "ZZ", "not one of the 56 reporting jurisdictions"),
    "no state": (_offer(state=""), "state", "", "required"),
    "unknown area": (_offer(program_area="cooking"), "program_area", "cooking", "is not one of"),
    "bad format": (_offer(formats="teleconference;carrier pigeon"), "formats", "teleconference;carrier pigeon",
                   "format 'carrier pigeon' is not one of"),
    "no format": (_offer(formats=""), "formats", "", "name at least one format"),
    "capacity 0": (_offer(capacity=0), "capacity", "0", "between 1 and 20, not 0"),
    "capacity 99": (_offer(capacity=99), "capacity", "99", "between 1 and 20, not 99"),
    "capacity two": (_offer(capacity="two"), "capacity", "two", "must be a whole number, not 'two'"),
    "capacity 2.5": (_offer(capacity="2.5"), "capacity", "2.5", "must be a whole number"),
    "lead time too long": (_offer(lead_time_days=400), "lead_time_days", "400", "between 0 and 365"),
    "missing title": (_offer(title=""), "title", "", "say the title"),
    "title too long": (_offer(title="x" * 121), "title", "x" * 121, "the limit is 120"),
    "no covers": (_offer(covers=""), "covers", "", "say the description of what it covers"),
    "unknown status": (_offer(status="live"), "status", "live", "not a status; use one of draft, published"),
    "formula": (_offer(covers="=HYPERLINK(1)"), "covers", "=HYPERLINK(1)", "spreadsheet formula"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_OFFERS))
def test_each_bad_offer_row_is_named_by_row_column_and_value_and_nothing_is_written(con, case):
    offer_file.load_offers(con, "earlier.csv", offers_file(OFFERS[:2]), USER, now=NOW)  # something in the store
    before = counts(con)
    row, column, value, reason = BAD_OFFERS[case]
    with pytest.raises(LoadError) as e:
        offer_file.load_offers(con, "bad.csv", offers_file([OFFERS[2], row]), USER, now=LATER)
    problems = e.value.problems
    assert [(p.row, p.line, p.column, p.value) for p in problems] == [(2, 3, column, value)], e.value.report()
    assert reason in problems[0].reason
    assert str(problems[0]).startswith(f"bad.csv, row 2 (line 3), column {column}, value {value[:50]!r}".rstrip("'"))
    assert counts(con) == before


def test_a_key_twice_in_the_file_is_named_on_the_second_row(con):
    twice = _offer(title="fusion   CENTER", status="draft")
    with pytest.raises(LoadError) as e:
        offer_file.load_offers(con, "twice.csv", offers_file([_offer(), OFFERS[0], twice]), USER, now=NOW)
    [p] = e.value.problems
    assert (p.row, p.column, p.value) == (3, "title", "fusion   CENTER")
    assert "duplicates row 1 (line 2): the same state, program area and title" in p.reason
    assert counts(con)["offers"] == 0


def test_a_second_published_offer_for_a_state_and_area_is_refused_in_the_file_and_against_the_store(con):
    second = _offer(title="Another fusion offer")
    with pytest.raises(LoadError) as e:
        offer_file.load_offers(con, "two.csv", offers_file([_offer(), second]), USER, now=NOW)
    [p] = e.value.problems
    assert (p.row, p.column, p.value) == (2, "status", "")
    assert p.reason.startswith(
        "OH already has a published offer in Prevention/deterrence on row 1 (line 2): 'Fusion center'"
    )
    assert counts(con)["offers"] == 0
    offer_file.load_offers(con, "one.csv", offers_file([_offer()]), USER, now=NOW)
    before = counts(con)
    with pytest.raises(LoadError) as e:
        offer_file.load_offers(con, "more.csv", offers_file([OFFERS[0], second]), USER, now=LATER)
    [p] = e.value.problems
    assert (p.row, p.column) == (2, "status")
    oh = int(offers.published(con, state="OH")["offer_id"].iloc[0])  # not 1: the refused load took an id
    assert f"in Prevention/deterrence in the store: 'Fusion center' (offer {oh})" in p.reason
    assert counts(con) == before
    draft = _offer(title="Another fusion offer", status="draft")  # a draft beside it is fine
    assert offer_file.load_offers(con, "draft.csv", offers_file([draft]), USER, now=LATER).added == 1


# --- practices ---------------------------------------------------------------------------------------------------


def test_a_good_practices_file_loads_again_changes_nothing_and_a_changed_row_updates(con):
    with_exchanges(con)
    s = offer_file.load_practices(con, "practices.csv", practices_file(), USER, now=NOW)
    assert (s.added, s.changed, s.unchanged) == (3, 0, 0)
    got = by_title(practices.visible(con, None))
    va = got["Tabletop first"]
    assert (va["state"], va["program_area"], va["exchange_id"], va["status"]) == ("VA", "exercises", 1, "published")
    assert va["documents"] == "AAR template.docx\nExercise plan.pdf"
    assert (got["What we took from VA"]["status"], got["What we took from VA"]["exchange_id"]) == ("private", 1)
    tx = got["Without an exchange"]
    assert tx["status"] == "published" and nothing(tx["exchange_id"]) and nothing(tx["what_worked"])
    assert {bool(v) for v in practices.visible(con, None)["synthetic"]} == {False}
    before = counts(con)
    again = offer_file.load_practices(con, "practices.csv", practices_file(), USER, now=LATER)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    assert counts(con) == before
    rows = [list(r) for r in PRACTICES]
    rows[1][8] = "published"
    rows[1][6] = "Template.docx"
    s = offer_file.load_practices(con, "changed.csv", practices_file(rows), "Bo Editor", now=LATER)
    assert (s.added, s.changed, s.unchanged) == (0, 1, 2)
    md = by_title(practices.visible(con, None))["What we took from VA"]
    assert (md["status"], md["documents"], md["version"], md["updated_by"]) == (
        "published",
        "Template.docx",
        2,
        "Bo Editor",
    )


def _practice(**over):
    r = dict(zip(PRACTICE_HEADER, ["VA", "exercises", "A lesson", "What we learned", "", "", "", "", ""]))
    r.update(over)
    return [r[c] for c in PRACTICE_HEADER]


BAD_PRACTICES = {
    "an exchange its state did not hold": (_practice(state="TX", exchange_id=1), "exchange_id", "1",
                                           "exchange 1 is between VA and MD, not TX"),
    "an exchange in another area": (_practice(program_area="training", exchange_id=1), "exchange_id", "1",
                                    "exchange 1 was about Exercises, not Training"),
    "an exchange not held": (_practice(state="CA", program_area="training", exchange_id=2), "exchange_id", "2",
                             "exchange 2 is proposed: a practice comes from an exchange held"),
    "no such exchange": (_practice(exchange_id=99), "exchange_id", "99", "there is no exchange 99"),
    "exchange not a number": (_practice(exchange_id="one"), "exchange_id", "one", "must be a number"),
    "unknown state": (_practice(state="Atlantis"), "state", "Atlantis", "not one of the 56"),
    "unknown area": (_practice(program_area="cooking"), "program_area", "cooking", "is not one of"),
    "missing title": (_practice(title=" "), "title", "", "say the title"),
    "missing summary": (_practice(summary=""), "summary", "", "say the summary"),
    "unknown status": (_practice(status="draft"), "status", "draft", "use one of private, published"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_PRACTICES))
def test_each_bad_practice_row_is_named_by_row_column_and_value_and_nothing_is_written(con, case):
    with_exchanges(con)
    offer_file.load_practices(con, "earlier.csv", practices_file(PRACTICES[:1]), USER, now=NOW)
    before = counts(con)
    row, column, value, reason = BAD_PRACTICES[case]
    with pytest.raises(LoadError) as e:
        offer_file.load_practices(con, "bad.csv", practices_file([PRACTICES[2], row]), USER, now=LATER)
    problems = e.value.problems
    assert [(p.row, p.line, p.column, p.value) for p in problems] == [(2, 3, column, value)], e.value.report()
    assert reason in problems[0].reason
    assert counts(con) == before


def test_a_refusal_by_the_store_rolls_back_the_rows_written_before_it(con):
    """The first row is written (through practices.create) before the service refuses the second: the whole
    transaction rolls back."""
    with_exchanges(con)
    before = counts(con)
    rows = [_practice(title="Fine", exchange_id=1), _practice(title="Not TX's", state="TX", exchange_id=1)]
    with pytest.raises(LoadError) as e:
        offer_file.load_practices(con, "half.csv", practices_file(rows), USER, now=NOW)
    assert [(p.row, p.column) for p in e.value.problems] == [(2, "exchange_id")]
    assert counts(con) == before


# --- files that cannot be read, and a file that is fine --------------------------------------------------------

FILE_CASES = {
    "empty file": (b"", None, "the file is empty"),
    "blank lines only": (b"\n \n", None, "the file is empty"),
    "header only": (",".join(OFFER_HEADER).encode() + b"\n", 1, "header but no data rows"),
    "missing required column": (
        offers_file([r[:5] for r in OFFERS], header=OFFER_HEADER[:5]),
        1,
        "missing required column(s): capacity",
    ),
    "column twice": (offers_file([OFFERS[0] + ["x"]], header=OFFER_HEADER + ["Title"]), 1, "title appear twice"),
    "a workbook": (b"PK\x03\x04rest-of-a-zip", None, "not a CSV text file"),
    "not UTF-8": (b"state,program_area\nVA,caf\xe9\n", 2, "not UTF-8 text"),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_a_file_that_cannot_be_read_is_named_and_writes_nothing(con, case):
    data, line, reason = FILE_CASES[case]
    before = counts(con)
    with pytest.raises(LoadError) as e:
        offer_file.load_offers(con, "bad.csv", data, USER, now=NOW)
    [p] = e.value.problems
    assert reason in p.reason and p.line == line and p.file == "bad.csv" and p.row is None
    assert counts(con) == before


def test_a_practices_file_without_its_required_column_is_refused(con):
    header = [c for c in PRACTICE_HEADER if c != "summary"]
    rows = [[v for c, v in zip(PRACTICE_HEADER, r) if c != "summary"] for r in PRACTICES]
    with pytest.raises(LoadError) as e:
        offer_file.load_practices(con, "p.csv", practices_file(rows, header=header), USER, now=NOW)
    [p] = e.value.problems
    assert "missing required column(s): summary" in p.reason and p.line == 1
    assert counts(con)["practices"] == 0


def test_a_semicolon_delimited_file_with_a_bom_and_headers_in_any_case_is_fine(con):
    header = [" State", "PROGRAM AREA", "Title", "covers", "Formats", "capacity", "Lead-Time-Days", "Notes"]
    rows = [r[:7] + ["ignored"] for r in OFFERS[:3]]
    checked = offer_file.check(offer_file.OFFERS, "semi.csv", offers_file(rows, header=header, delimiter=";", bom=True))
    assert checked.ok and "read as semicolon-separated values" in checked.warnings
    assert "ignored unknown column(s): notes" in checked.warnings
    s = offer_file.write(con, checked, USER, now=NOW)
    assert (s.added, s.changed, s.unchanged) == (3, 0, 0) and "read as semicolon-separated values" in s.warnings
    got = by_title(offers.visible(con, None))  # without a status column every new offer is published
    assert {t: r["status"] for t, r in got.items()} == dict.fromkeys(
        ["Exercise design", "Course development", "Recovery planning"], offers.PUBLISHED
    )
    assert got["Exercise design"]["lead_time_days"] == 30 and got["Course development"]["capacity"] == 2


def test_every_problem_of_a_file_is_listed_at_once_in_row_and_column_order(con):
    rows = [
        _offer(state="ZZ", capacity="two"),
        OFFERS[0],
        _offer(title="", formats="pigeon"),
        OFFERS[0],
        _offer(),
        _offer(title="Second fusion offer"),
    ]
    before = counts(con)
    with pytest.raises(LoadError) as e:
        offer_file.load_offers(con, "many.csv", offers_file(rows), USER, now=NOW)
    assert [(p.row, p.column) for p in e.value.problems] == [
        (1, "state"),
        (1, "capacity"),
        (3, "title"),
        (3, "formats"),
        (4, "title"),
        (6, "status"),
    ]
    report = e.value.report()
    assert "many.csv, row 4 (line 5), column title, value 'Exercise design': duplicates row 2 (line 3)" in report
    assert report.endswith("6 problem(s); nothing was loaded.")
    assert counts(con) == before


# --- export ------------------------------------------------------------------------------------------------------


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode()


def test_the_export_loads_back_into_an_empty_store_as_the_same_rows(con, tmp_path):
    with_exchanges(con)
    offer_file.load_offers(con, "offers.csv", offers_file(), USER, now=NOW)
    offer_file.load_practices(con, "practices.csv", practices_file(), USER, now=NOW)
    out_offers, out_practices = offer_file.export_offers(con), offer_file.export_practices(con)
    assert list(out_offers.columns) == OFFER_HEADER and list(out_practices.columns) == PRACTICE_HEADER
    assert list(out_offers["title"]) == [
        "Course development",
        "Recovery planning",
        "Recovery, second edition",
        "Exercise design",
    ]
    va = out_offers.iloc[3].to_dict()
    assert (va["formats"], va["capacity"], va["lead_time_days"], va["status"]) == (
        "teleconference;on_site_visit",
        3,
        30,
        "published",
    )
    assert out_practices.iloc[2]["documents"] == "AAR template.docx; Exercise plan.pdf"
    # into the same store: every row unchanged
    assert offer_file.load_offers(con, "o.csv", _csv(out_offers), USER, now=LATER).unchanged == 4
    assert offer_file.load_practices(con, "p.csv", _csv(out_practices), USER, now=LATER).unchanged == 3
    # into an empty store (its exchanges imported first): the same export
    other = db.connect(tmp_path / "other.duckdb")
    try:
        with_exchanges(other)
        assert offer_file.load_offers(other, "o.csv", _csv(out_offers), USER, now=LATER).added == 4
        assert offer_file.load_practices(other, "p.csv", _csv(out_practices), USER, now=LATER).added == 3
        pd.testing.assert_frame_equal(offer_file.export_offers(other), out_offers)
        pd.testing.assert_frame_equal(offer_file.export_practices(other), out_practices)
    finally:
        other.close()


def test_the_export_of_an_empty_store_has_the_columns(con):
    assert list(offer_file.export_offers(con).columns) == OFFER_HEADER
    assert len(offer_file.export_practices(con)) == 0


# --- the CLI -----------------------------------------------------------------------------------------------------


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_offers_load_then_again_then_export(tmp_path, db_file):
    f = tmp_path / "offers.csv"
    f.write_bytes(offers_file())
    r = run("offers", "load", f, "--db", db_file, "--user", USER)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"loaded offers.csv into {db_file}: 4 offer(s): 4 added, 0 changed, 0 unchanged\n"
    r = run("offers", "load", f, "--db", db_file)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"loaded offers.csv into {db_file}: 4 offer(s): 0 added, 0 changed, 4 unchanged\n"
    r = run("offers", "export", "--db", db_file)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ",".join(OFFER_HEADER) and len(lines) == 5
    assert lines[1] == "MD,training,Course development,Our course pipeline,documents,2,,,draft"
    r = run("offers", "export", "--db", db_file, "--format", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got[0] == {
        "state": "MD",
        "program_area": "training",
        "title": "Course development",
        "covers": "Our course pipeline",
        "formats": "documents",
        "capacity": 2,
        "lead_time_days": None,
        "prepare": None,
        "status": "draft",
    }
    con = db.connect(db_file)
    try:
        assert set(offers.visible(con, None)["created_by"]) == {USER}
    finally:
        con.close()


def test_cli_practices_load_of_a_bad_file_exits_2_lists_every_problem_and_changes_nothing(tmp_path, db_file):
    ex, good, bad = tmp_path / "ex.csv", tmp_path / "good.csv", tmp_path / "bad.csv"
    ex.write_bytes(make_csv(EXCHANGES[1:], header=EXCHANGES[0]))
    assert run("exchanges", "load", ex, "--db", db_file).returncode == 0
    good.write_bytes(practices_file())
    r = run("practices", "load", good, "--db", db_file)
    assert r.returncode == 0 and "3 practice(s): 3 added, 0 changed, 0 unchanged" in r.stdout
    con = db.connect(db_file)
    before = counts(con)
    con.close()
    bad.write_bytes(practices_file([_practice(title="New"), _practice(state="TX", exchange_id=1), _practice(state="")]))
    r = run("practices", "load", bad, "--db", db_file)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "bad.csv, row 2 (line 3), column exchange_id, value '1': exchange 1 is between VA and MD, not TX",
        "bad.csv, row 3 (line 4), column state, value '': required: the practice's state (use a USPS code such "
        "as VA, or a name such as Virginia)",
        "2 problem(s); nothing was loaded.",
    ]
    con = db.connect(db_file)
    try:
        assert counts(con) == before
    finally:
        con.close()
    r = run("practices", "export", "--db", db_file, "--format", "csv")
    assert r.returncode == 0 and len(pd.read_csv(io.StringIO(r.stdout))) == 3
    r = run("practices", "load", tmp_path / "missing.csv", "--db", db_file)
    assert r.returncode == 2 and "no such file" in r.stderr
    r = run("offers", "load", "--db", db_file)
    assert r.returncode == 2 and "FILE" in r.stderr
