"""The self-assessment page in Streamlit's AppTest, for each role: a state fills in and submits its own form (and
never opens another state's, by link or by editing the query string); its program manager reviews it (accepts, or
returns it with a comment the state sees); a PM reviews only assigned states; leadership any. Plus the flags on the
state profile and the national page."""

import pandas as pd
import pytest

from shisn import demo
from shisn.domain import auth, catalog, quality, safe_text
from shisn.domain.auth import Viewer
from shisn.services import submissions
from shisn.store import db, flag_confirmations, ingest, queries
from tests import support
from tests.support import ROOT, make_csv, static_tables

PAGE = str(ROOT / "pages" / "assessment.py")
PROFILE = str(ROOT / "pages" / "state_profile.py")
NATIONAL = str(ROOT / "pages" / "national.py")
LEAD = Viewer(auth.LEADERSHIP, "Lee Leader")
PM = Viewer(auth.PROGRAM_MANAGER, "Morgan Okafor (demo)", ("DC", "DE", "MD", "PA", "VA", "WV"))  # the demo's VA PM
TX_PM = Viewer(auth.PROGRAM_MANAGER, "Taylor Lindqvist (demo)", ("AR", "LA", "NM", "OK", "TX"))
VA_USER = Viewer(auth.STATE, "Val Virginia", ("VA",))
MD_USER = Viewer(auth.STATE, "Max Maryland", ("MD",))
CYCLE = demo.DEMO_CYCLES[-1] + 1  # the next cycle: nothing on record yet


@pytest.fixture
def store(demo_db):
    """A fresh copy of the demo store for each test (the page writes); the page and the test share one Store."""
    return db.shared(str(demo_db))


def page(viewer, file=PAGE, **query):
    # the state and cycle panel opened, as a user changing either does (it opens closed: test_filters.py)
    return ok(support.page_as(viewer, file, query, filters_open=True))


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at, label):
    got = [b for b in at.button if b.label == label]
    assert got, f"no button {label!r}: {[b.label for b in at.button]}"
    return got[0]


def walk(node):
    """Every element of the page in order, as (type, text)."""
    for child in getattr(node, "children", {}).values():
        value = getattr(child, "value", None) if child.type in ("markdown", "error", "caption") else None
        yield child.type, value
        yield from walk(child)


def grid(at, column):
    """The form's grid holding `column` (the ratings grid: 'maturity'; the POETE grid: 'planning') as AppTest
    sees it: (its frame, its column settings)."""
    import json

    got = [d for d in at.dataframe if column in d.value.columns]
    assert len(got) == 1, [list(d.value.columns) for d in at.dataframe]
    return got[0].value, json.loads(got[0].proto.columns), got[0].proto


def set_area(at, slug, maturity=None, offers=None, seeks=None, other=None):
    """Enter an area's values as the grid would hand them to the page (AppTest cannot type into a grid: the browser
    test tests/browser/test_e2e_assessment.py does; submissions.ratings_after_edits is unit-tested on the grid's edits)."""
    values = [dict(a) for a in at.session_state["_assessment_values"]]
    a = next(v for v in values if v["program_area"] == slug)
    if maturity is not None:
        a["maturity"] = maturity or None
    if offers is not None:
        a["offers_help"] = offers
    if seeks is not None:
        a["seeks_help"] = seeks
    if other is not None:
        a["other_area"] = other
    at.session_state["_assessment_values"] = values


def editable(at) -> bool:
    _, columns, proto = grid(at, "maturity")
    return not proto.disabled and not all(c.get("disabled") for c in columns.values())


# --- the form ----------------------------------------------------------------------------------------------------


def test_state_user_gets_its_own_form_in_catalog_order_prefilled_with_level_definitions(store):
    at = page(VA_USER)
    assert at.header[0].value == f"Virginia (VA) · {CYCLE}"
    assert at.query_params["state"] in ("VA", ["VA"]) and at.query_params["cycle"] in (str(CYCLE), [str(CYCLE)])
    ratings, columns, _ = grid(at, "maturity")  # one grid: a row per area, in catalog order
    assert ratings[submissions.GRID_AREA].tolist() == [catalog.area_short(a) for a in catalog.AREA_SLUGS]
    assert not at.radio and not at.checkbox and not at.text_area  # no widget per area
    # each level is offered by name, and its definition is on the page
    assert columns["maturity"]["type_config"]["options"] == [
        f"{m} · {catalog.level_name(m)}" for m in catalog.MATURITY_LEVELS
    ]
    legend = next(m.value for m in at.markdown if m.value.startswith("| Level | Name | What it means |"))
    for m, (name, what) in catalog.MATURITY_LEVELS.items():
        assert f"| {m} | {name} | {safe_text.markdown(what)} |" in legend
    # prefilled from VA's latest earlier cycle, which shows beside each area
    prev = queries.assessments(store, demo.DEMO_CYCLES[-1], ["VA"]).set_index("program_area")
    row = catalog.AREA_SLUGS.index("exercises")
    level = int(prev.loc["exercises", "maturity"])
    assert ratings.loc[row, "maturity"] == f"{level} · {catalog.level_name(level)}"
    assert ratings.loc[row, submissions.GRID_LAST].split(" · ")[0] == str(level)
    assert columns[submissions.GRID_LAST]["label"] == f"In {demo.DEMO_CYCLES[-1]}"
    assert any(c.value == f"Prefilled from the {demo.DEMO_CYCLES[-1]} self-assessment." for c in at.caption)
    unchanged = f":gray-badge[unchanged since {demo.DEMO_CYCLES[-1]}, as prefilled]"  # says what it compares
    assert [m.value for m in at.markdown if "since" in m.value] == [unchanged]
    set_area(at, "exercises", maturity=1 if level != 1 else 3)
    ok(button(at, "Save draft").click().run())
    changed = [m.value for m in at.markdown if ":orange-badge" in m.value]
    assert len(changed) == 1 and f"changed since {demo.DEMO_CYCLES[-1]}, as last saved" in changed[0]
    assert f"**Exercises**: maturity {level} → {1 if level != 1 else 3}" in changed[0].replace("\\", "")
    assert grid(at, "maturity")[0].loc[row, "maturity"].startswith(f"{1 if level != 1 else 3} · ")  # saved, shown
    assert [s.value for s in at.success] == [
        f"Draft saved (VA {CYCLE}). Only VA, its program manager and leadership see it."
    ]
    assert submissions.open_submission(store, "VA", CYCLE)["status"] == "draft"


def test_the_poete_sub_ratings_are_one_grid_prefilled_and_saved_with_the_draft(store):
    at = page(VA_USER)
    prev = queries.assessments(store, demo.DEMO_CYCLES[-1], ["VA"]).set_index("program_area")
    # first a static table of the rated areas (one grid for a cold open to draw), the grid on request
    assert len(at.dataframe) == 1
    table = next(t for t in static_tables(at) if catalog.POETE_LABELS["planning"] in t.columns)
    rated = [
        catalog.area_short(a)
        for a in catalog.AREA_SLUGS
        if a in prev.index and prev.loc[a, list(catalog.POETE)].notna().any()
    ]
    assert table[submissions.POETE_GRID_AREA].tolist() == rated and rated
    ok(button(at, "Edit the POETE sub-ratings").click().run())
    assert submissions.open_submission(store, "VA", CYCLE) is None  # opening the grid saves nothing
    grid, _, _ = globals()["grid"](at, "planning")
    assert not [s for s in at.selectbox if s.key.startswith("asmt_")]  # no drop-down per part
    assert grid[submissions.POETE_GRID_AREA].tolist() == [catalog.area_short(a) for a in catalog.AREA_SLUGS]

    def value(v):
        return None if v is None or pd.isna(v) else int(v)

    for i, slug in enumerate(catalog.AREA_SLUGS):
        for p in catalog.POETE:
            assert value(grid.loc[i, p]) == (value(prev.loc[slug, p]) if slug in prev.index else None), (slug, p)
    ok(button(at, "Save draft").click().run())
    saved = {a["program_area"]: a for a in submissions.open_submission(store, "VA", CYCLE)["areas"]}
    assert any(prev[p].notna().any() for p in catalog.POETE)  # the demo rates some parts
    for slug in prev.index:
        assert [saved[slug][p] for p in catalog.POETE] == [value(prev.loc[slug, p]) for p in catalog.POETE]


def test_state_user_cannot_open_another_states_form_by_link(store):
    submissions.save(store, MD_USER, "MD", CYCLE, {"exercises": {"maturity": 2, "notes": "MD's private draft"}})
    at = page(VA_USER, state="MD", cycle=CYCLE)
    assert [e.value for e in at.error] == ["As a VA user you can open only VA's self-assessment, not MD's."]
    assert not at.dataframe and not at.header and not at.text_input
    assert "MD's private draft" not in str([v for _, v in walk(at.main)])


def test_state_user_cannot_open_another_state_by_editing_the_query_string(store):
    at = page(VA_USER)
    at.query_params["state"] = "MD"  # the address edited while the page is open
    ok(at.run())
    assert at.header[0].value == f"Virginia (VA) · {CYCLE}"
    assert at.query_params["state"] in ("VA", ["VA"])
    assert at.selectbox(key="state").options == ["Virginia (VA)"]


def test_submit_with_a_problem_shows_it_next_to_its_area_and_submits_nothing(store):
    at = page(VA_USER)
    set_area(at, "other", maturity=3)  # 'other' rated without naming the area: the file rule
    ok(button(at, "Submit for review").click().run())
    msg = "area name: required when program_area is 'other': name the area (e.g. Cybersecurity)"
    # named by its area (above the grid), and the outcome under the buttons the user just clicked
    assert [e.value for e in at.error][:1] == [f"**Other**: {safe_text.markdown(msg)}"]
    assert at.error[-1].value.startswith("1 problem to fix before submitting")
    assert submissions.open_submission(store, "VA", CYCLE) is None  # nothing was written
    set_area(at, "other", other="Cybersecurity")
    ok(button(at, "Submit for review").click().run())
    sub = submissions.open_submission(store, "VA", CYCLE)
    assert sub["status"] == "submitted" and sub["submitted_by"] == "Val Virginia"
    # the state now sees it read-only, awaiting review, and no review buttons
    ratings, _, _ = grid(at, "maturity")  # the name, on the Other row of the (now read-only) grid
    assert ratings["other_area"].tolist()[catalog.AREA_SLUGS.index("other")] == "Cybersecurity"
    assert not editable(at)
    assert not [b for b in at.button if b.label in ("Accept", "Return to the state")]
    assert any("Status: submitted, awaiting review" in i.value for i in at.info)
    # the submission's history: a panel read and drawn when opened (no grid for a cold open to draw)
    assert [e.label for e in at.expander if e.label.startswith("History")] == [
        f"History of submission {sub['submission_id']}"
    ] and not [d for d in at.dataframe if "changed_by" in d.value.columns]
    at.session_state["asmt_history_open"] = True
    ok(at.run())
    history = next(d.value for d in at.dataframe if "changed_by" in d.value.columns)
    assert history["to_status"].tolist()[-1] == "submitted" and set(history["changed_by"]) == {"Val Virginia"}


def test_pm_and_leadership_fill_in_on_a_states_behalf(store):
    at = page(PM, state="MD", cycle=CYCLE)
    assert at.header[0].value == f"Maryland (MD) · {CYCLE}"
    ok(button(at, "Save draft").click().run())
    assert submissions.open_submission(store, "MD", CYCLE)["created_by"] == PM.name
    at = page(LEAD, state="TX", cycle=CYCLE)
    ok(button(at, "Save draft").click().run())
    assert submissions.open_submission(store, "TX", CYCLE)["created_by"] == LEAD.name


# --- the review --------------------------------------------------------------------------------------------------


def submit_va(store):
    at = page(VA_USER)
    set_area(at, "recovery", maturity=5, seeks=True)  # a flag: seeks guidance at maturity 5
    ok(button(at, "Submit for review").click().run())
    return submissions.open_submission(store, "VA", CYCLE)


def test_pm_sees_the_flags_and_accepts_into_the_national_picture(store):
    sub = submit_va(store)
    at = page(PM, state="VA", cycle=CYCLE)
    assert "Data-quality checks" in [s.value for s in at.subheader] and "Review" in [s.value for s in at.subheader]
    flags = next(t for t in support.static_tables(at) if "Flag" in t.columns)  # one state's: a static table
    assert "Seeks guidance at maturity 5" in set(flags["Flag"])
    ok(button(at, "Accept").click().run())
    assert any(
        m.value.startswith("Accepted: loaded form, submitted by Val Virginia, accepted by Morgan Okafor")
        for m in at.success
    )
    rows = queries.assessments(store, CYCLE, ["VA"]).set_index("program_area")
    assert rows.loc["recovery", "maturity"] == 5 and bool(rows.loc["recovery", "seeks_help"])
    assert submissions.get(store, sub["submission_id"])["status"] == "accepted"
    assert queries.load_log(store).iloc[0]["file_name"] == f"form, submitted by Val Virginia, accepted by {PM.name}"


def test_a_pm_reviews_only_assigned_states(store):
    submit_va(store)
    at = page(TX_PM, state="VA", cycle=CYCLE)
    # and it names who handles VA, so the user knows whom to ask
    assert [e.value for e in at.error] == [
        "VA is not one of your assigned states, so you cannot open or review its "
        f"self-assessment. Its program manager is {PM.name}."
    ]
    assert not [b for b in at.button if b.label == "Accept"]
    at = page(TX_PM)  # without a link: its own states only
    assert set(at.selectbox(key="state").options) == {
        f"{n} ({c})"
        for c, n in [("AR", "Arkansas"), ("LA", "Louisiana"), ("NM", "New Mexico"), ("OK", "Oklahoma"), ("TX", "Texas")]
    }
    # the PM of VA has it in the review queue; the TX PM does not
    assert submissions.pending_reviews(store, TX_PM).empty and len(submissions.pending_reviews(store, PM)) == 1


def test_return_needs_a_comment_and_the_state_sees_it(store):
    submit_va(store)
    at = page(PM, state="VA", cycle=CYCLE)
    ok(button(at, "Return to the state").click().run())
    assert [e.value for e in at.error] == [
        safe_text.markdown("say what the state should change: returning needs a comment")
    ]
    at.text_area(key="asmt_return_comment").set_value("Recovery at 5 while seeking guidance? Please check.")
    ok(button(at, "Return to the state").click().run())
    assert at.success[0].value == "Returned to VA with your comment."
    back = page(VA_USER)
    assert any(
        "Returned by Morgan Okafor" in w.value and "Recovery at 5 while seeking guidance" in w.value
        for w in back.warning
    )
    assert editable(back)  # editable again
    assert any("Status: returned for changes" in i.value for i in back.info)


def test_two_reviewers_one_wins_and_the_other_is_told(store):
    submit_va(store)
    pm, lead = page(PM, state="VA", cycle=CYCLE), page(LEAD, state="VA", cycle=CYCLE)
    ok(button(lead, "Accept").click().run())
    loads = len(queries.load_log(store))
    ok(button(pm, "Accept").click().run())
    assert "was changed by Lee Leader" in pm.error[0].value and "nothing was saved" in pm.error[0].value
    assert len(queries.load_log(store)) == loads


def test_reviewer_is_warned_of_a_newer_file_load_before_accepting(store):
    submit_va(store)
    ingest.load(store, [("va-late.csv", make_csv([["VA", "recovery", CYCLE, 1, "no", "yes", "newer"]]))], "Loader")
    at = page(PM, state="VA", cycle=CYCLE)
    assert any("A newer load replaced VA" in w.value and "va\\-late\\.csv" in w.value for w in at.warning)
    assert button(at, "Accept").disabled
    at.checkbox(key="asmt_replace").check()
    ok(at.run())
    ok(button(at, "Accept").click().run())
    assert at.success and queries.assessments(store, CYCLE, ["VA"]).shape[0] >= 8


def test_the_state_confirms_a_flag_with_a_note(store):
    at = page(VA_USER)
    set_area(at, "recovery", maturity=5, seeks=True)
    ok(button(at, "Save draft").click().run())
    assert not [s for s in at.selectbox if s.key == "assessment_flags_pick"]  # the form is in a closed panel
    assert any(e.label.startswith("Confirm ") for e in at.expander)
    at.session_state["assessment_flags_open"] = True  # opened
    ok(at.run())
    picks = at.selectbox(key="assessment_flags_pick")
    assert "Recovery · Seeks guidance at maturity 5" in picks.options
    picks.select(f"VA|{CYCLE}|seeks_at_5|recovery")
    at.text_input(key="assessment_flags_note").set_value("We lead nationally and still want a peer review.")
    ok(button(at, "Confirm flag").click().run())
    got = flag_confirmations.confirmations(store, "VA", CYCLE)
    assert got[["rule", "program_area", "confirmed_by"]].values.tolist() == [["seeks_at_5", "recovery", "Val Virginia"]]
    table = next(t for t in support.static_tables(at) if "Flag" in t.columns)
    assert table.loc[table["Flag"] == "Seeks guidance at maturity 5", "Confirmed"].tolist() == ["yes"]
    assert table.loc[table["Flag"] == "Seeks guidance at maturity 5", "Confirmation note"].tolist() == [
        "We lead nationally and still want a peer review."
    ]


# --- the flags elsewhere -----------------------------------------------------------------------------------------


def test_state_profile_shows_flags_only_to_viewers_who_see_the_state_in_detail(store):
    at = page(VA_USER, file=PROFILE, state="VA")
    labels = [e.label for e in at.expander]
    assert any(lbl.startswith(f"Data-quality flags, {demo.DEMO_CYCLES[-1]}:") for lbl in labels), labels
    at = page(VA_USER, file=PROFILE, state="MD")
    assert not any(e.label.startswith("Data-quality flags") for e in at.expander)


def test_national_page_counts_the_flags_and_lists_them(store):
    cycle = demo.DEMO_CYCLES[-1]
    want = quality.counts(
        quality.with_confirmations(
            quality.flags(queries.assessments(store), cycle=cycle), flag_confirmations.confirmations(store)
        )
    )
    at = page(LEAD, file=NATIONAL)
    box = next(e for e in at.expander if e.label.startswith("Data-quality flags"))
    assert box.label.startswith(f"Data-quality flags, {cycle}: {want['open']} open, 0 confirmed")
    at = page(VA_USER, file=NATIONAL)  # not for state users (the page says so)
    assert not any(e.label.startswith("Data-quality flags") for e in at.expander)


def test_after_acceptance_the_form_is_read_only_until_a_correction_is_started(store):
    submit_va(store)
    at = page(PM, state="VA", cycle=CYCLE)
    ok(button(at, "Accept").click().run())
    assert any(s.value.startswith("Accepted:") for s in at.success)  # said at the top, where the page now is
    assert not [b for b in at.button if b.label in ("Save draft", "Submit for review", "Accept")]
    assert [d for d in at.dataframe if "maturity" in d.value.columns]  # the accepted ratings, shown read-only
    ok(button(at, "Start a correction").click().run())
    assert [b.label for b in at.button if b.label in ("Save draft", "Submit for review")] == [
        "Save draft",
        "Submit for review",
    ]


def test_the_reviewer_sees_no_save_or_submit_buttons(store):
    submit_va(store)
    at = page(PM, state="VA", cycle=CYCLE)
    assert button(at, "Accept") is not None
    assert not [b for b in at.button if b.label in ("Save draft", "Submit for review")]


def test_saving_says_so_under_the_buttons(store):
    at = page(VA_USER)
    ok(button(at, "Save draft").click().run())
    assert [s for s in at.success if s.value.startswith("Draft saved")]
    # drawn after the form (where the buttons are), not at the top of the page
    kinds = [t for t, _ in walk(at.main)]
    assert kinds.index("form") < kinds.index("success")
