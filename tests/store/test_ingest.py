"""The self-assessment file contract: every rule has a failing file, and a failed load writes nothing."""

import pytest

from shisn.store import ingest, queries
from shisn.store.ingest import LoadError, check, load
from tests.support import HEADER, make_csv, make_xlsx

GOOD = [
    ["VA", "exercises", 2025, 5, "yes", "no", "Annual full-scale exercise"],
    ["VA", "recovery", 2025, 2, "no", "yes", ""],
    ["MD", "exercises", 2025, 2, "n", "y", "Need an exercise design"],
    ["MD", "recovery", 2025, 4, "true", "false", ""],
]


def table(con):
    return queries.assessments(con).sort_values(["state", "program_area", "cycle"]).reset_index(drop=True)


def problems_of(data, name="f.csv", **kw):
    c = check(name, data, this_year=2026, **kw)
    assert not c.ok, "expected problems"
    return c.problems


def only(problems):
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- good files -----------------------------------------------------------------------------------------------


def test_good_csv_loads_and_is_logged(con):
    [s] = load(con, [("good.csv", make_csv(GOOD))], "tester", this_year=2026)
    assert (s.rows, s.added, s.changed, s.unchanged, s.states, s.cycles) == (4, 4, 0, 0, ["MD", "VA"], [2025])
    t = table(con)
    va_ex = t[(t.state == "VA") & (t.program_area == "exercises")].iloc[0]
    assert va_ex.maturity == 5 and va_ex.offers_help and not va_ex.seeks_help and va_ex.eligible_mentor
    assert va_ex.notes == "Annual full-scale exercise"
    log = queries.load_log(con)
    assert list(log[["loaded_by", "file_name", "rows_in_file", "rows_added"]].iloc[0]) == ["tester", "good.csv", 4, 4]
    assert not log["synthetic"].iloc[0]


def test_headers_any_case_whitespace_and_order():
    header = ["  Seeks_Help", "MATURITY ", "Program Area", "cycle", "State", "offers-help"]
    rows = [["yes", "2", "Exercise programs", "2025", "virginia", "No"]]
    c = check("x.csv", make_csv(rows, header=header), this_year=2026)
    assert c.ok, [str(p) for p in c.problems]
    r = c.rows.iloc[0]
    assert (r.state, r.program_area, r.maturity, r.seeks_help, r.offers_help) == ("VA", "exercises", 2, True, False)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("yes", True),
        ("Y", True),
        ("TRUE", True),
        ("1", True),
        ("no", False),
        ("n", False),
        ("False", False),
        ("0", False),
        ("", False),
    ],
)
def test_yes_no_words(text, expected):
    c = check("x.csv", make_csv([["VA", "exercises", 2025, 3, text, text, ""]]), this_year=2026)
    assert c.ok
    assert bool(c.rows.iloc[0].offers_help) is expected and bool(c.rows.iloc[0].seeks_help) is expected


def test_notes_are_kept_as_text_not_html(con):
    note = "<script>alert(1)</script> & <b>bold</b>"
    load(con, [("n.csv", make_csv([["VA", "exercises", 2025, 3, "no", "no", note]]))], "t", this_year=2026)
    assert table(con).iloc[0].notes == note


def test_bom_is_ignored():
    assert check("x.csv", make_csv(GOOD, bom=True), this_year=2026).ok


def test_semicolon_separated_csv_is_read_with_a_note():
    c = check("x.csv", make_csv(GOOD, delimiter=";"), this_year=2026)
    assert c.ok and len(c.rows) == 4
    assert any("semicolon" in w for w in c.warnings)


def test_unknown_columns_warn_and_are_ignored():
    header = HEADER + ["favourite_colour"]
    c = check("x.csv", make_csv([r + ["blue"] for r in GOOD], header=header), this_year=2026)
    assert c.ok
    assert any("favourite_colour" in w for w in c.warnings)


def test_poete_sub_ratings_and_other_area():
    header = HEADER + ["other_area", "planning", "organization", "equipment", "training", "exercises"]
    rows = [["VA", "other", 2025, 4, "yes", "no", "", "Cybersecurity", 4, 5, 3, "", 4]]
    c = check("x.csv", make_csv(rows, header=header), this_year=2026)
    assert c.ok, [str(p) for p in c.problems]
    r = c.rows.iloc[0]
    assert r.other_area == "Cybersecurity" and r.planning == 4 and r.organization == 5 and r.equipment == 3
    assert r.training is None or str(r.training) == "<NA>"


def test_template_comment_lines_are_skipped():
    from shisn.render.template import template_csv

    data = template_csv() + b"VA,exercises,2025,4,yes,no,,,,,,,\n"
    c = check("t.csv", data, this_year=2026)
    assert c.ok, [str(p) for p in c.problems]
    assert c.lines == [data.decode().count("\n")]  # problems would name the real line of the file


# --- every rule has a failing file ------------------------------------------------------------------------------


def test_problem_names_row_line_column_and_value():
    rows = GOOD + [["VA", "strategy", 2025, 7, "no", "no", ""]]
    p = only(problems_of(make_csv(rows)))
    assert (p.row, p.line, p.column, p.value) == (5, 6, "maturity", "7")
    assert str(p) == "f.csv, row 5 (line 6), column maturity, value '7': required: a whole number from 1 to 5"


@pytest.mark.parametrize(
    "column,value,reason",
    [
        ("state", "Atlantis", "not one of the 56 reporting jurisdictions"),
        ("state", "", "required"),
        ("program_area", "cooking", "not a program area"),
        ("program_area", "", "required"),
        ("cycle", "25", "four-digit assessment year"),
        ("cycle", "2002", "four-digit assessment year"),
        ("cycle", "2028", "four-digit assessment year"),
        ("cycle", "next year", "four-digit assessment year"),
        ("maturity", "0", "whole number from 1 to 5"),
        ("maturity", "6", "whole number from 1 to 5"),
        ("maturity", "3.5", "whole number from 1 to 5"),
        ("maturity", "", "whole number from 1 to 5"),
        ("offers_help", "maybe", "yes/no"),
        ("seeks_help", "2", "yes/no"),
    ],
)
def test_each_bad_value_is_named(column, value, reason):
    row = dict(zip(HEADER, ["VA", "exercises", "2025", "3", "no", "no", ""]))
    row[column] = value
    p = only(problems_of(make_csv([list(row.values())])))
    assert (p.row, p.line, p.column, p.value) == (1, 2, column, value)
    assert reason in p.reason


def test_bad_poete_sub_rating():
    header = HEADER + ["equipment"]
    p = only(problems_of(make_csv([["VA", "exercises", 2025, 3, "no", "no", "", "9"]], header=header)))
    assert (p.column, p.value) == ("equipment", "9")


def test_other_area_required_for_other():
    header = HEADER + ["other_area"]
    p = only(problems_of(make_csv([["VA", "other", 2025, 3, "no", "no", "", ""]], header=header)))
    assert p.column == "other_area" and "required when program_area is 'other'" in p.reason


def test_duplicate_state_area_cycle_names_both_rows():
    rows = GOOD + [["virginia", "Exercise programs", 2025, 4, "yes", "no", "again"]]
    p = only(problems_of(make_csv(rows)))
    assert p.row == 5 and p.line == 6
    assert "duplicates row 1 (line 2)" in p.reason


def test_every_problem_is_reported_not_just_the_first():
    rows = [["XX", "exercises", 2025, 3, "no", "no", ""], ["VA", "nope", 2025, 9, "maybe", "no", ""]]
    ps = problems_of(make_csv(rows))
    assert [(p.row, p.column) for p in ps] == [(1, "state"), (2, "program_area"), (2, "maturity"), (2, "offers_help")]


def test_empty_file():
    p = only(problems_of(b""))
    assert p.reason == "the file is empty"
    assert only(problems_of(b"\n\n  \n")).reason == "the file is empty"


def test_header_only():
    p = only(problems_of(make_csv([])))
    assert "header but no data rows" in p.reason


def test_missing_required_columns():
    p = only(problems_of(make_csv([["VA", 2025]], header=["state", "cycle"])))
    assert "missing required column(s): program_area, maturity, offers_help, seeks_help" in p.reason


def test_duplicate_header_column():
    header = HEADER + ["State"]
    ps = problems_of(make_csv([GOOD[0] + ["VA"]], header=header))
    assert any("appears twice" in p.reason for p in ps)


def test_row_with_more_values_than_header():
    data = make_csv(GOOD[:1]) + b"VA,recovery,2025,2,no,yes,,surplus\n"
    p = only(problems_of(data))
    assert p.row == 2 and p.line == 3 and "8 values but the header has 7" in p.reason


def test_wrong_file_type():
    assert "wrong file type '.pdf'" in only(problems_of(b"%PDF-1.4 ...", name="report.pdf")).reason
    assert "not a CSV" in only(problems_of(b"%PDF-1.4 ...", name="report.csv")).reason
    assert "not an Excel workbook" in only(problems_of(b"state,cycle\n", name="fake.xlsx")).reason
    assert ".xls" in only(problems_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, name="old.xls")).reason


def test_non_utf8_text_names_the_line():
    data = make_csv(GOOD[:1]) + "VA,recovery,2025,2,no,yes,Québec liaison\n".encode("cp1252")
    p = only(problems_of(data))
    assert p.line == 3 and "not UTF-8" in p.reason and "CSV UTF-8" in p.reason


def test_binary_garbage_is_not_csv():
    assert "binary" in only(problems_of(b"\x00\x01\x02abc", name="x.csv")).reason


def test_formula_in_csv_cell_is_refused():
    rows = [["VA", "exercises", 2025, "=2+3", "no", "no", ""]]
    ps = problems_of(make_csv(rows))
    assert any(p.column == "maturity" and "formula" in p.reason for p in ps)


def test_huge_file_is_capped(monkeypatch):
    monkeypatch.setattr(ingest, "MAX_BYTES", 1000)
    p = only(problems_of(make_csv(GOOD * 20)))
    assert "the limit is" in p.reason
    monkeypatch.setattr(ingest, "MAX_BYTES", 10**9)
    monkeypatch.setattr(ingest, "MAX_ROWS", 3)
    assert "more than 3 data rows" in only(problems_of(make_csv(GOOD))).reason


def test_problem_list_is_capped_in_the_report():
    rows = [["XX", "exercises", 2025, 3, "no", "no", ""]] * (ingest.MAX_PROBLEMS_SHOWN + 5)
    e = LoadError(problems_of(make_csv(rows)))
    text = e.report()
    assert "... and 5 more problem(s)" in text
    assert text.endswith(f"{ingest.MAX_PROBLEMS_SHOWN + 5} problem(s); nothing was loaded.")


def test_state_user_may_load_only_own_state():
    ps = problems_of(make_csv(GOOD), allowed_states=("VA",))
    assert [(p.row, p.column, p.value) for p in ps] == [(3, "state", "MD"), (4, "state", "MD")]
    assert all("you may load rows only for VA" in p.reason for p in ps)


# --- Excel ------------------------------------------------------------------------------------------------------


def test_xlsx_with_several_sheets_uses_the_data_sheet():
    data = make_xlsx({"Read me": [["Instructions"], ["fill in the other sheet"]], "Self-assessment": [HEADER] + GOOD})
    c = check("f.xlsx", data, this_year=2026)
    assert c.ok, [str(p) for p in c.problems]
    assert len(c.rows) == 4 and any("Self-assessment" in w for w in c.warnings)


def test_xlsx_numbers_read_as_typed_and_lines_are_sheet_rows():
    data = make_xlsx(
        {
            "S": [
                HEADER,
                ["VA", "exercises", 2025.0, 4.0, True, False, None],
                ["VA", "recovery", 2025, 9, "no", "no", None],
            ]
        }
    )
    p = only(problems_of(data, name="f.xlsx"))
    assert (p.row, p.line, p.column, p.value) == (2, 3, "maturity", "9")


def test_xlsx_formula_cell_is_refused():
    data = make_xlsx({"S": [HEADER, ["VA", "exercises", 2025, "=2+2", "no", "no", None]]})
    p = only(problems_of(data, name="f.xlsx"))
    assert p.column == "maturity" and "formula" in p.reason and p.line == 2


def test_xlsx_with_two_data_sheets_is_ambiguous():
    data = make_xlsx({"A": [HEADER] + GOOD[:2], "B": [HEADER] + GOOD[2:]})
    assert "several sheets" in only(problems_of(data, name="f.xlsx")).reason


def test_xlsx_with_no_data_sheet():
    data = make_xlsx({"A": [["hello"]]})
    assert "no sheet has the required header" in only(problems_of(data, name="f.xlsx")).reason


def test_filled_xlsx_template_loads(con):
    import io

    from openpyxl import load_workbook

    from shisn.render.template import template_xlsx

    wb = load_workbook(io.BytesIO(template_xlsx()))
    ws = wb["Self-assessment"]
    ws.append(["VA", "exercises", 2025, 5, "yes", "no", "from the template"])
    buf = io.BytesIO()
    wb.save(buf)
    [s] = load(con, [("filled.xlsx", buf.getvalue())], "t", this_year=2026)
    assert s.rows == 1 and table(con).iloc[0].notes == "from the template"


# --- writing: all or nothing, replace by state × cycle, idempotent --------------------------------------------


def test_failed_load_leaves_database_unchanged(con):
    load(con, [("good.csv", make_csv(GOOD))], "t", this_year=2026)
    before, log_before = table(con), queries.load_log(con)
    bad = [["VA", "exercises", 2025, 1, "no", "yes", "changed"], ["VA", "recovery", 2025, 99, "no", "no", ""]]
    with pytest.raises(LoadError) as e:
        load(con, [("bad.csv", make_csv(bad))], "t", this_year=2026)
    assert "nothing was loaded" in e.value.report()
    assert table(con).equals(before)
    assert len(queries.load_log(con)) == len(log_before)


def test_one_bad_file_among_several_loads_nothing(con):
    good = ("a.csv", make_csv(GOOD))
    bad = ("b.csv", make_csv([["TX", "exercises", 2025, 0, "no", "no", ""]]))
    with pytest.raises(LoadError) as e:
        load(con, [good, bad], "t", this_year=2026)
    assert e.value.problems[0].file == "b.csv"
    assert table(con).empty


def test_same_key_in_two_files_is_an_error(con):
    with pytest.raises(LoadError) as e:
        load(con, [("a.csv", make_csv(GOOD)), ("b.csv", make_csv(GOOD[:1]))], "t", this_year=2026)
    assert "also in a.csv row 1 (line 2)" in str(e.value.problems[0])
    assert table(con).empty


def test_reloading_the_same_file_changes_nothing(con):
    load(con, [("good.csv", make_csv(GOOD))], "t", this_year=2026)
    before = table(con)
    [s] = load(con, [("good.csv", make_csv(GOOD))], "t", this_year=2026)
    assert (s.added, s.changed, s.unchanged, s.removed) == (0, 0, 4, 0)
    assert table(con).equals(before)
    assert len(queries.load_log(con)) == 2  # both loads are recorded


def test_load_replaces_the_states_and_cycles_it_contains(con):
    other_cycle = [["VA", "exercises", 2024, 3, "no", "no", ""]]
    load(con, [("good.csv", make_csv(GOOD)), ("old.csv", make_csv(other_cycle))], "t", this_year=2026)
    corrected = [["VA", "exercises", 2025, 4, "yes", "no", "corrected"]]  # VA 2025 now has one row
    [s] = load(con, [("fix.csv", make_csv(corrected))], "t", this_year=2026)
    assert (s.added, s.changed, s.unchanged, s.removed) == (0, 1, 0, 1)
    t = table(con)
    assert len(t[(t.state == "VA") & (t.cycle == 2025)]) == 1
    assert t[(t.state == "VA") & (t.cycle == 2025)].iloc[0].notes == "corrected"
    assert len(t[t.state == "MD"]) == 2  # other states untouched
    assert len(t[(t.state == "VA") & (t.cycle == 2024)]) == 1  # other cycles untouched


def test_offer_below_maturity_four_is_kept_but_not_eligible(con):
    load(con, [("f.csv", make_csv([["VA", "exercises", 2025, 3, "yes", "no", ""]]))], "t", this_year=2026)
    r = table(con).iloc[0]
    assert r.offers_help and not r.eligible_mentor
    assert "maturity 4 or higher" in r.offer_note


# --- the columnar (Arrow) CSV reader gives exactly what the row-by-row reader gives ------------------------------


def _both_readers(data, monkeypatch, name="f.csv", **kw):
    """check() on the fast path (asserted taken) and on the row-by-row reader."""
    used = []
    real = ingest._read_csv_columnar

    def spy(*a):
        out = real(*a)
        used.append(out is not None)
        return out

    monkeypatch.setattr(ingest, "_read_csv_columnar", spy)
    fast = check(name, data, this_year=2026, **kw)
    assert used == [True], "expected the columnar reader to take this file"
    monkeypatch.setattr(ingest, "_FAST_CSV_OK", False)
    slow = check(name, data, this_year=2026, **kw)
    monkeypatch.setattr(ingest, "_FAST_CSV_OK", None)
    return fast, slow


def _same(fast, slow):
    assert [str(p) for p in fast.problems] == [str(p) for p in slow.problems]
    assert fast.warnings == slow.warnings and fast.lines == slow.lines
    if fast.ok:
        assert fast.table.equals(slow.table)


TRICKY = [
    # unicode and ASCII whitespace around values and headers, blank lines made of delimiters, comments, CRLF
    "\ufeff# comment line, its commas, fill, the, header's, width, too\r\n , , , , , , \r\n"
    "  State ,PROGRAM AREA,cycle,maturity,Offers-Help,"
    "seeks_help,notes\r\n\u3000VA\u00a0,exercises,2025.0, 5 ,YES,n,\u2003note\u2009\r\n\t,\t, ,,,,\r\n"
    "  # indented comment,x,x,x,x,x,x\r\nmd,Exercise programs,2025,2,0,1,\r\n",
    # semicolons, a formula, an unknown column, bad values of every kind
    "state;program_area;cycle;maturity;offers_help;seeks_help;colour;other_area\nVA;other;2025;=1+1;maybe;no;red;\n"
    "XX;cooking;25;9;yes;no;;\nVA;other;2025;3;yes;no;;" + "x" * 201 + "\n;;;;;;;\n",
    # duplicates, a state user's foreign row, tabs
    "state\tprogram_area\tcycle\tmaturity\toffers_help\tseeks_help\nVA\texercises\t2025\t3\tno\tno\n"
    "virginia\tExercise programs\t2025\t4\tyes\tno\nMD\texercises\t2025\t3\tno\tno\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_columnar_reader_matches_row_by_row_reader(text, monkeypatch):
    _same(*_both_readers(text.encode("utf-8"), monkeypatch))
    _same(*_both_readers(text.encode("utf-8"), monkeypatch, allowed_states=("VA",)))


def test_columnar_reader_on_a_file_read_in_several_blocks(monkeypatch):
    from shisn.domain import jurisdictions

    header = HEADER + ["planning", "other_area"]
    keys = [(c, a, y) for c in jurisdictions.codes() for a in ("exercises", "other") for y in range(2004, 2027)]
    rows = [
        [
            code,
            area,
            cycle,
            1 + k % 5,
            "yes" if k % 3 else "no",
            "no",
            " note " + "x" * (k % 1500),
            k % 5 or "",
            "Cyber" if area == "other" else "",
        ]
        for k, (code, area, cycle) in enumerate(keys)
    ]
    data = make_csv(rows, header=header)
    # a blank line (delimiters only) under the header, a comment and blank lines at the end
    data = data.replace(b"\n", b"\n , ,,,,,,,\n", 1) + b"# trailing comment,,,,,,,,\n" + b",,,,,,,,\n" * 3
    assert len(data) > 1.5 * 2**20  # more than one block of Arrow's reader (1 MiB)
    fast, slow = _both_readers(data, monkeypatch)
    assert fast.ok and fast.table.num_rows == len(rows)
    _same(fast, slow)
    assert fast.lines[:2] == [3, 4]  # the blank line after the header is skipped, not counted as a row


def test_read_table_gives_the_stripped_strings():
    df, lines, formulas, problems, _ = ingest.read_table(
        "f.csv", make_csv([[" VA ", "exercises", "2025", "3", "no", "no", " hi "]])
    )
    assert not problems and lines == [2] and formulas == {}
    assert df.iloc[0]["state"] == "VA" and df.iloc[0]["notes"] == "hi" and df.iloc[0]["planning"] == ""


# --- one row per key without a key index ---------------------------------------------------------------------


def test_a_version_3_store_is_upgraded_without_the_key_and_keeps_its_rows(tmp_path):
    import duckdb

    from shisn.store import db

    path = tmp_path / "v3.duckdb"
    raw = duckdb.connect(str(path))
    for step in db.MIGRATIONS[:3]:
        raw.execute(step)
    raw.execute("INSERT INTO schema_version VALUES (3)")
    raw.execute(
        "INSERT INTO assessments VALUES ('VA', 'exercises', 2025, 2, false, true, NULL, 'old', 1, NULL, "
        "NULL, NULL, NULL, 1), ('VA', 'training', 2025, 4, true, false, NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL, 1), ('MD', 'exercises', 2024, 3, false, false, NULL, NULL, NULL, NULL, NULL, NULL, "
        "NULL, 1)"
    )
    raw.close()
    con = db.connect(path)
    try:
        assert db.schema_version(con) == db.SCHEMA_VERSION >= 4
        cur = con.cursor()
        assert (
            cur.execute(
                "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'assessments' "
                "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
            ).fetchall()[0][0]
            == 0
        )
        assert cur.execute(
            "SELECT state, program_area, cycle, maturity, notes, planning FROM assessments ORDER BY ALL"
        ).fetchall() == [
            ("MD", "exercises", 2024, 3, None, None),
            ("VA", "exercises", 2025, 2, "old", 1),
            ("VA", "training", 2025, 4, None, None),
        ]
        [s] = load(con, [("va.csv", make_csv([["VA", "exercises", 2025, 3, "no", "yes", "new"]]))], "t", this_year=2026)
        assert (s.added, s.changed, s.unchanged, s.removed) == (0, 1, 0, 1)
        assert len(table(con)) == 2
    finally:
        con.close()


def test_concurrent_loads_of_one_state_and_cycle_leave_one_row_per_key(con):
    import threading

    files = [
        make_csv(
            [["VA", area, 2025, 1 + k % 5, "no", "no", f"load {k}"] for area in ("exercises", "training", "recovery")]
        )
        for k in range(6)
    ]
    errors = []

    def run(k):
        try:
            load(con, [(f"f{k}.csv", files[k])], "t", this_year=2026)
        except Exception as e:  # pragma: no cover - the assertion below shows it
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(files))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    t = table(con)
    assert len(t) == 3 and t["notes"].nunique() == 1  # one file's rows, one per key
    assert len(queries.load_log(con)) == len(files)


def test_a_load_that_would_leave_another_row_for_a_key_writes_nothing(con, monkeypatch):
    load(con, [("good.csv", make_csv(GOOD))], "t", this_year=2026)
    before = table(con)
    real = ingest.transaction

    class Sneaky:  # a writer that slips a row in between the loader's insert and its check
        def __init__(self, cur):
            self.cur = cur

        def __getattr__(self, name):
            return getattr(self.cur, name)

        def execute(self, sql, *a):
            out = self.cur.execute(sql, *a)
            if sql.startswith("INSERT INTO assessments"):
                self.cur.execute(
                    "INSERT INTO assessments VALUES ('VA', 'exercises', 2025, 1, false, false, NULL, "
                    "NULL, NULL, NULL, NULL, NULL, NULL, 999)"
                )
            return out

    from contextlib import contextmanager

    @contextmanager
    def sneaky_transaction(c):
        with real(c) as cur:
            yield Sneaky(cur)

    monkeypatch.setattr(ingest, "transaction", sneaky_transaction)
    with pytest.raises(RuntimeError, match="other row"):
        load(con, [("again.csv", make_csv(GOOD))], "t", this_year=2026)
    assert table(con).equals(before)
    assert len(queries.load_log(con)) == 1
