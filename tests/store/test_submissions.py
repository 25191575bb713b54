"""Self-assessments filled in on the form and reviewed (shisn.services.submissions): one validator with files, drafts in the
store, draft → submitted → accepted | returned, optimistic versions, who may do what, the stale-load warning,
history and audit, the review queue and the CLI listing."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from shisn.domain import auth, catalog
from shisn.domain.auth import Viewer
from shisn.services import submissions
from shisn.store import audit, db, ingest, queries
from tests.support import ROOT, make_csv

YEAR = 2026  # "this year" for the validator: cycles up to 2027 are allowed
LEAD = Viewer(auth.LEADERSHIP, "Lee Leader")
PM = Viewer(auth.PROGRAM_MANAGER, "Pat Manager", ("MD", "VA"))
OTHER_PM = Viewer(auth.PROGRAM_MANAGER, "Olga Other", ("TX",))
VA_USER = Viewer(auth.STATE, "Val Virginia", ("VA",))
MD_USER = Viewer(auth.STATE, "Max Maryland", ("MD",))
NAMED = [a for a in catalog.AREA_SLUGS if a != "other"]


def complete(levels=(2, 3, 4, 3, 2, 3, 4, 3), **over):
    """A complete form: the eight named areas rated, 'other' left blank."""
    areas = {
        a: {"maturity": m, "offers_help": m >= 4, "seeks_help": m <= 2, "notes": f"{a} note"}
        for a, m in zip(NAMED, levels)
    }
    for a, v in over.items():
        areas[a] = {**areas.get(a, {}), **v}
    return areas


def count(con, table):
    return int(db.query_df(con, f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])


def submitted(con, state="VA", by=VA_USER, **over):
    sid, v = submissions.submit(con, by, state, 2027, complete(**over), this_year=YEAR)
    return sid, v


# --- one validator ---------------------------------------------------------------------------------------------


def test_form_rows_get_exactly_the_file_rules_and_messages():
    rows = [
        ["VA", "exercises", 2027, 7, "yes", "no", ""],
        ["VA", "other", 2027, 3, "no", "no", ""],
        ["MD", "training", 2027, 2, "no", "yes", ""],
        ["VA", "recovery", 2029, 3, "maybe", "no", "=1+1"],
    ]
    header = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "notes"]
    from_file = ingest.check("f.csv", make_csv(rows, header=header), this_year=YEAR, allowed_states=("VA",))
    from_form = ingest.check_rows([dict(zip(header, r)) for r in rows], this_year=YEAR, allowed_states=("VA",))
    assert not from_file.ok and len(from_file.problems) >= 5
    assert [(p.row, p.column, p.value, p.reason) for p in from_form.problems] == [
        (p.row, p.column, p.value, p.reason) for p in from_file.problems
    ]


def test_problems_are_tied_to_the_area_they_concern():
    areas = complete(
        exercises={"maturity": None, "offers_help": True},
        other={"maturity": 3, "other_area": ""},
        training={"planning": 9},
    )
    checked, by_area = submissions.validate("VA", 2027, areas, this_year=YEAR)
    assert not checked.ok
    assert by_area["exercises"] == ["maturity: required: a whole number from 1 to 5"]
    assert by_area["other"] == ["area name: required when program_area is 'other': name the area (e.g. Cybersecurity)"]
    assert by_area["training"] == ["planning: must be blank or a whole number from 1 to 5"]
    assert set(by_area) == {"exercises", "other", "training"}
    # blank areas are simply not rated (no row, no problem)
    checked, by_area = submissions.validate("VA", 2027, {"exercises": {"maturity": 3}}, this_year=YEAR)
    assert checked.ok and len(checked.rows) == 1


def test_the_poete_grid_shows_each_areas_sub_ratings_and_its_edits_come_back_to_that_area():
    """The form edits the 45 POETE sub-ratings in one grid (a row per area): what it shows, and how a cell edited,
    cleared or set out of range comes back into the form's values (and so to the validator)."""
    values = submissions.poete_values(complete(training={"planning": 3, "exercises": 5}))
    grid = submissions.poete_grid(values)
    assert list(grid.columns) == [submissions.POETE_GRID_AREA, *catalog.POETE] and len(grid) == 9
    row = catalog.AREA_SLUGS.index("training")
    assert grid.loc[row, submissions.POETE_GRID_AREA] == catalog.area_short("training")
    assert grid.loc[row, "planning"] == 3 and grid.loc[row, "exercises"] == 5 and pd.isna(grid.loc[row, "equipment"])
    ex = catalog.AREA_SLUGS.index("exercises")
    edited = submissions.poete_after_edits(values, {row: {"planning": None, "equipment": 4}, ex: {"training": 7}})
    assert edited["training"] == {
        "planning": None,
        "organization": None,
        "equipment": 4,
        "training": None,
        "exercises": 5,
    }
    assert values["training"]["planning"] == 3  # the starting values are not changed
    areas = {slug: {**a, **edited[slug]} for slug, a in complete().items()}
    checked, by_area = submissions.validate("VA", 2027, areas, this_year=YEAR)
    assert by_area["exercises"] == ["training: must be blank or a whole number from 1 to 5"]


def test_the_ratings_grid_shows_each_area_beside_last_cycle_and_its_edits_come_back_to_that_area():
    """The form's ratings are one grid (a row per area): what it shows, and how the edits Streamlit's editor reports
    (a level's name chosen or cleared, a box ticked, notes typed) come back into the form's values."""
    areas = complete(exercises={"maturity": 4, "offers_help": True, "notes": "Full-scale exercise in May"})
    previous = pd.DataFrame([{"program_area": "exercises", "maturity": 2, "offers_help": False, "seeks_help": True}])
    grid = submissions.rating_grid(areas, previous)
    assert (
        list(grid.columns) == [submissions.GRID_AREA, submissions.GRID_LAST, *submissions.RATING_COLUMNS]
        and len(grid) == 9
    )
    ex, rec = catalog.AREA_SLUGS.index("exercises"), catalog.AREA_SLUGS.index("recovery")
    assert grid.loc[ex].tolist() == [
        catalog.area_short("exercises"),
        "2 · seeks guidance",
        "4 · Advanced",
        True,
        False,
        "Full-scale exercise in May",
        "",
    ]
    assert (
        grid.loc[rec, submissions.GRID_LAST] == ""
        and submissions.rating_grid(areas)[submissions.GRID_LAST].eq("").all()
    )  # nothing before
    assert submissions.MATURITY_CHOICES[0] == "1 · Not started" and len(submissions.MATURITY_CHOICES) == 5
    edited = submissions.ratings_after_edits(
        areas,
        {
            str(ex): {"maturity": None, "offers_help": False},
            rec: {"maturity": "5 · Nationally leading", "seeks_help": True, "notes": "x"},
            99: {"maturity": "1 · Not started"},
        },
    )  # a row that is not there: ignored
    by = {a["program_area"]: a for a in edited}
    assert (by["exercises"]["maturity"], by["exercises"]["offers_help"]) == (None, False)
    assert by["exercises"]["notes"] == "Full-scale exercise in May"  # untouched cells keep their values
    assert (by["recovery"]["maturity"], by["recovery"]["seeks_help"], by["recovery"]["notes"]) == (5, True, "x")
    assert {a["program_area"]: a["maturity"] for a in submissions.normalise(areas)}[
        "exercises"
    ] == 4  # input not changed
    # a level typed some other way reaches the validator as typed, which names it
    odd = submissions.ratings_after_edits(areas, {ex: {"maturity": "six"}})
    _, by_area = submissions.validate("VA", 2027, odd, this_year=YEAR)
    assert by_area["exercises"] == ["maturity: required: a whole number from 1 to 5"]


def test_the_other_areas_name_is_a_column_of_the_ratings_grid_used_on_the_other_row_only():
    areas = complete(other={"maturity": 3, "other_area": "Cybersecurity"})
    grid = submissions.rating_grid(areas)
    other = catalog.AREA_SLUGS.index("other")
    assert grid.loc[other, "other_area"] == "Cybersecurity" and grid["other_area"].drop(index=other).eq("").all()
    renamed = {
        a["program_area"]: a["other_area"]
        for a in submissions.ratings_after_edits(
            areas, {other: {"other_area": "Port security"}, 0: {"other_area": "typed on the wrong row"}}
        )
    }
    assert renamed["other"] == "Port security" and not any(v for k, v in renamed.items() if k != "other")
    assert {a["program_area"]: a["other_area"] for a in submissions.ratings_after_edits(areas, {})}[
        "other"
    ] == "Cybersecurity"
    cleared = submissions.ratings_after_edits(areas, {str(other): {"other_area": None}})  # the cell emptied
    _, by_area = submissions.validate("VA", 2027, cleared, this_year=YEAR)
    assert by_area["other"] == ["area name: required when program_area is 'other': name the area (e.g. Cybersecurity)"]


# --- drafts ----------------------------------------------------------------------------------------------------


def test_a_draft_is_saved_incomplete_and_survives_a_restart(con):
    sid, v = submissions.save(
        con,
        VA_USER,
        "VA",
        2027,
        {"exercises": {"maturity": 4, "notes": "half done"}, "other": {"maturity": 2}},
        this_year=YEAR,
    )
    assert v == 1
    if con.engine == "duckdb":  # a new store on the same file: what a restarted server would open
        again = db.connect(con.path)
        got = submissions.get(again, sid)
    else:
        got = submissions.get(con, sid)
    assert got["status"] == "draft" and got["state"] == "VA" and got["cycle"] == 2027
    ex = next(a for a in got["areas"] if a["program_area"] == "exercises")
    assert ex["maturity"] == 4 and ex["notes"] == "half done"
    assert [a["program_area"] for a in got["areas"]] == list(catalog.AREA_SLUGS)
    sid2, v2 = submissions.save(
        con, VA_USER, "VA", 2027, {"exercises": {"maturity": 5}}, submission_id=sid, version=v, this_year=YEAR
    )
    assert (sid2, v2) == (sid, 2)
    assert submissions.history(con, sid)["to_status"].tolist() == ["draft", "draft"]
    assert (
        audit.log(con)["detail"].str.contains(f"self-assessment VA 2027 \\(submission {sid}\\): draft saved").sum() == 2
    )


def test_submitting_with_problems_writes_nothing_and_names_the_areas(con):
    sid, v = submissions.save(con, VA_USER, "VA", 2027, complete(other={"maturity": 3}), this_year=YEAR)
    with pytest.raises(submissions.Invalid) as e:
        submissions.submit(
            con, VA_USER, "VA", 2027, complete(other={"maturity": 3}), submission_id=sid, version=v, this_year=YEAR
        )
    assert list(e.value.by_area) == ["other"] and "Other: area name: required" in str(e.value)
    got = submissions.get(con, sid)
    assert (got["status"], got["version"]) == ("draft", 1)


def test_one_open_submission_per_state_and_cycle(con):
    submissions.save(con, VA_USER, "VA", 2027, complete(), this_year=YEAR)
    with pytest.raises(submissions.SubmissionError, match="VA 2027 already has an open submission"):
        submissions.save(con, PM, "VA", 2027, complete(), this_year=YEAR)
    assert count(con, "submissions") == 1


def test_a_cycle_outside_the_files_rule_is_refused_with_its_message(con):
    with pytest.raises(submissions.SubmissionError, match="four-digit assessment year from 2003 to 2027"):
        submissions.save(con, VA_USER, "VA", 2031, complete(), this_year=YEAR)
    assert count(con, "submissions") == 0


# --- who may do what ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "viewer,state,ok",
    [
        (VA_USER, "VA", True),
        (VA_USER, "MD", False),
        (PM, "MD", True),
        (PM, "TX", False),
        (LEAD, "TX", True),
        (OTHER_PM, "VA", False),
    ],
)
def test_who_may_fill_in_a_state_form(con, viewer, state, ok):
    if ok:
        submissions.save(con, viewer, state, 2027, complete(), this_year=YEAR)
        assert submissions.open_submission(con, state, 2027)["created_by"] == viewer.name
    else:
        with pytest.raises(submissions.NotAllowed):
            submissions.save(con, viewer, state, 2027, complete(), this_year=YEAR)
        assert count(con, "submissions") == 0


def test_a_pm_reviews_only_assigned_states_and_a_state_never(con):
    sid, v = submitted(con)
    for viewer, msg in ((OTHER_PM, "only VA's program manager or leadership"), (VA_USER, "state users cannot")):
        with pytest.raises(submissions.NotAllowed, match=msg):
            submissions.accept(con, viewer, sid, v)
        with pytest.raises(submissions.NotAllowed):
            submissions.return_submission(con, viewer, sid, v, "no")
    assert submissions.get(con, sid)["status"] == "submitted" and count(con, "load_log") == 0
    assert (
        submissions.can_review(LEAD, "TX") and submissions.can_review(PM, "VA") and not submissions.can_review(PM, "TX")
    )


# --- review ------------------------------------------------------------------------------------------------------


def test_accept_writes_the_rows_through_the_file_writer_and_logs_the_form(con):
    ingest.load(con, [("va-2027.csv", make_csv([["VA", "recovery", 2027, 1, "no", "yes", "old"]]))], "loader")
    sid, v = submitted(con)
    # a load BEFORE the submission is no reason to warn
    assert submissions.newer_loads(con, submissions.get(con, sid)).empty
    summary = submissions.accept(con, PM, sid, v)
    rows = queries.assessments(con, 2027, ["VA"])
    assert sorted(rows["program_area"]) == sorted(NAMED)  # the form's rows replaced the state × cycle
    assert rows.set_index("program_area").loc["exercises", "maturity"] == 4
    log = queries.load_log(con)
    assert log.iloc[0]["file_name"] == "form, submitted by Val Virginia, accepted by Pat Manager"
    assert log.iloc[0]["loaded_by"] == "Pat Manager" and summary.load_id == log.iloc[0]["load_id"]
    got = submissions.get(con, sid)
    assert (got["status"], got["reviewed_by"], got["load_id"], got["version"]) == (
        "accepted",
        "Pat Manager",
        summary.load_id,
        v + 1,
    )
    assert submissions.history(con, sid)["to_status"].tolist() == ["submitted", "accepted"]
    details = audit.log(con)["detail"]
    assert details.str.contains(f"\\(submission {sid}\\): accepted, load {summary.load_id}").any()
    assert details.str.startswith("loaded form, submitted by Val Virginia").any()
    # accepted is final
    with pytest.raises(submissions.SubmissionError, match="can no longer be edited"):
        submissions.save(
            con, VA_USER, "VA", 2027, complete(), submission_id=sid, version=got["version"], this_year=YEAR
        )


def test_two_reviewers_one_wins_the_other_gets_a_clear_message_and_nothing_is_written(con):
    sid, v = submitted(con)
    lead_view, pm_view = submissions.get(con, sid), submissions.get(con, sid)  # both opened the same version
    submissions.accept(con, LEAD, sid, lead_view["version"])
    loads, hist = count(con, "load_log"), count(con, "submission_history")
    with pytest.raises(
        submissions.StaleSubmission, match=f"submission {sid} was changed by Lee Leader .*accepted.*reload"
    ):
        submissions.accept(con, PM, sid, pm_view["version"])
    with pytest.raises(submissions.StaleSubmission):
        submissions.return_submission(con, PM, sid, pm_view["version"], "please check exercises")
    assert (count(con, "load_log"), count(con, "submission_history")) == (loads, hist)
    assert submissions.get(con, sid)["reviewed_by"] == "Lee Leader"


def test_the_stale_check_inside_the_write_rolls_the_load_back(con, monkeypatch):
    """If the submission changes between the reviewer's read and the write (another replica), the rows written by
    the load are rolled back with it."""
    sid, v = submitted(con)
    real = submissions._review_target

    def racing(con_, viewer, submission_id, version):
        sub = real(con_, viewer, submission_id, version)
        if viewer is PM:  # the other reviewer wins meanwhile
            submissions.return_submission(con_, LEAD, submission_id, version, "returned meanwhile")
        return sub

    monkeypatch.setattr(submissions, "_review_target", racing)
    with pytest.raises(submissions.StaleSubmission, match="Lee Leader"):
        submissions.accept(con, PM, sid, v)
    assert count(con, "load_log") == 0 and count(con, "assessments") == 0
    assert submissions.get(con, sid)["status"] == "returned"


def test_return_needs_a_comment_the_state_sees_and_the_state_resubmits(con):
    sid, v = submitted(con)
    with pytest.raises(submissions.SubmissionError, match="needs a comment"):
        submissions.return_submission(con, PM, sid, v, "   ")
    assert submissions.get(con, sid)["status"] == "submitted"
    v = submissions.return_submission(con, PM, sid, v, "Exercises at 4 needs the after-action reports attached.")
    got = submissions.get(con, sid)
    assert got["status"] == "returned"
    assert got["review_comment"] == "Exercises at 4 needs the after-action reports attached."
    h = submissions.history(con, sid)
    assert h.iloc[-1][["from_status", "to_status", "comment", "changed_by"]].tolist() == [
        "submitted",
        "returned",
        "Exercises at 4 needs the after-action reports attached.",
        "Pat Manager",
    ]
    # the state edits (back to draft) and submits again
    sid2, v = submissions.save(
        con, VA_USER, "VA", 2027, complete(exercises={"maturity": 3}), submission_id=sid, version=v, this_year=YEAR
    )
    assert submissions.get(con, sid)["status"] == "draft"
    submissions.submit(
        con, VA_USER, "VA", 2027, complete(exercises={"maturity": 3}), submission_id=sid, version=v, this_year=YEAR
    )
    assert submissions.history(con, sid)["to_status"].tolist() == ["submitted", "returned", "draft", "submitted"]


def test_a_file_load_after_the_submission_warns_the_reviewer_before_replacing_it(con):
    sid, v = submitted(con)
    ingest.load(con, [("va-late.csv", make_csv([["VA", "recovery", 2027, 1, "no", "yes", "newer"]]))], "loader")
    loads = count(con, "load_log")
    with pytest.raises(submissions.NewerLoad, match="va-late.csv by loader") as e:
        submissions.accept(con, PM, sid, v)
    assert list(e.value.loads["file_name"]) == ["va-late.csv"]
    assert count(con, "load_log") == loads and submissions.get(con, sid)["status"] == "submitted"
    submissions.accept(con, PM, sid, v, replace_newer=True)
    assert queries.assessments(con, 2027, ["VA"]).shape[0] == 8
    # another state's or another cycle's load is no reason to warn
    sid, v = submitted(con, state="MD", by=MD_USER)
    ingest.load(
        con,
        [
            (
                "x.csv",
                make_csv([["MD", "recovery", 2026, 1, "no", "yes", ""], ["TX", "recovery", 2027, 1, "no", "yes", ""]]),
            )
        ],
        "loader",
    )
    assert submissions.newer_loads(con, submissions.get(con, sid)).empty


# --- queue, prefill, listing -------------------------------------------------------------------------------------


def test_pending_reviews_are_this_viewers_oldest_first(con):
    import datetime as dt

    t0 = dt.datetime(2026, 11, 1, 9, 0)
    for i, (state, who) in enumerate((("VA", VA_USER), ("TX", LEAD), ("MD", MD_USER))):
        submissions.submit(con, who, state, 2027, complete(), now=t0 + dt.timedelta(hours=3 - i), this_year=YEAR)
    submissions.save(con, LEAD, "VA", 2026, complete(), this_year=YEAR)  # a draft is not awaiting review
    assert submissions.pending_reviews(con, PM)[["state", "cycle"]].values.tolist() == [["MD", 2027], ["VA", 2027]]
    assert submissions.pending_reviews(con, LEAD)["state"].tolist() == ["MD", "TX", "VA"]
    assert submissions.pending_reviews(con, VA_USER).empty and submissions.pending_reviews(con, OTHER_PM)[
        "state"
    ].tolist() == ["TX"]
    assert submissions.pending_reviews(con, PM)["link"].iloc[0] == "/assessment?state=MD&cycle=2027"


def test_prefill_from_the_latest_earlier_cycle_and_changes_since():
    rows = pd.DataFrame(
        [
            {
                "state": "VA",
                "program_area": "exercises",
                "cycle": 2024,
                "maturity": 1,
                "offers_help": False,
                "seeks_help": True,
                "other_area": None,
                "notes": "old",
            },
            {
                "state": "VA",
                "program_area": "exercises",
                "cycle": 2025,
                "maturity": 3,
                "offers_help": False,
                "seeks_help": True,
                "other_area": None,
                "notes": "n",
            },
            {
                "state": "VA",
                "program_area": "training",
                "cycle": 2025,
                "maturity": 4,
                "offers_help": True,
                "seeks_help": False,
                "other_area": None,
                "notes": None,
            },
        ]
    )
    areas, source = submissions.prefill(rows, 2027)
    assert source == "the 2025 self-assessment"
    ex = next(a for a in areas if a["program_area"] == "exercises")
    assert (ex["maturity"], ex["seeks_help"], ex["notes"]) == (3, True, "n")
    prev = rows[rows["cycle"] == 2025]
    ex.update(maturity=4, seeks_help=False)
    rec = next(a for a in areas if a["program_area"] == "recovery")
    rec.update(maturity=2)
    changed = submissions.changes_since(areas, prev)
    assert changed["exercises"] == "maturity 3 → 4; no longer seeks guidance"
    assert changed["training"] == "" and changed["recovery"] == "new: not rated last cycle"
    # the cycle's own rows on record win (a correction of that cycle)
    areas, source = submissions.prefill(rows, 2024)
    assert source == "the 2024 self-assessment on record"


def test_cli_lists_submissions_by_status(tmp_path):
    path = tmp_path / "subs.duckdb"
    con = db.connect(path)
    sid, v = submissions.submit(con, VA_USER, "VA", 2027, complete(), this_year=YEAR)
    submissions.save(con, MD_USER, "MD", 2027, complete(), this_year=YEAR)
    submissions.return_submission(con, PM, sid, v, "Attach the reports")
    con.close()
    run = lambda *a: subprocess.run(
        [sys.executable, "-m", "shisn", "submissions", "--db", str(path), *a],  # noqa
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    r = run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("id,state,cycle,status,") and len(lines) == 3
    r = run("--status", "returned", "--format", "json")
    got = json.loads(r.stdout)
    assert [(g["state"], g["status"], g["review_comment"]) for g in got] == [("VA", "returned", "Attach the reports")]
    r = run("--status", "nonsense")
    assert r.returncode == 2 and "invalid choice" in r.stderr
