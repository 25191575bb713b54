"""The Impact page and the states' views on the Exchanges page, in Streamlit's AppTest, as each role: leadership sees
every figure and the plain-words explanation, a PM their states' figures, a state user is turned away; the stuck
setting is saved; a cold open draws no select box or number input (the report's cycle and the stuck setting are in
panels drawn when opened; the cycle is in the URL either way); a state records its own view and sees only its own
exchanges' views."""

import datetime as dt

import pytest

from shisn.domain import auth, exchange_rules
from shisn.services import exchanges, impact, outcomes
from shisn.store import accounts, audit, db, queries, settings
from tests import support
from tests.support import ROOT

PAGE = str(ROOT / "pages" / "impact.py")
EX_PAGE = str(ROOT / "pages" / "exchanges.py")
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
PM = auth.Viewer(auth.PROGRAM_MANAGER, "Morgan Okafor (demo)", ("DC", "DE", "MD", "PA", "VA", "WV"))
STATE_MD = auth.Viewer(auth.STATE, "MD user", ("MD",))


@pytest.fixture
def store(demo_db):
    """A fresh copy of the demo store (SHISN_DB points the pages at it)."""
    con = db.connect(demo_db)
    yield con
    con.close()


def page_as(viewer, path=PAGE, params=None, **state):
    return support.page_as(viewer, path, params, **state)


CYCLE_PANEL = "impact_cycle_open"  # the Cycle report panel (widgets.filters): its select box when opened
STUCK_PANEL = "impact_stuck_open"  # leadership's stuck-days setting (Network health)
COSTLY = ("selectbox", "multiselect", "text_input", "number_input", "file_uploader")  # lazily loaded browser code


def costly(at) -> dict:
    return {
        kind: [getattr(w, "key", None) or getattr(w, "label", None) for w in at.get(kind)]
        for kind in COSTLY
        if at.get(kind)
    }


def frames(at, column):
    return [d.value for d in at.dataframe if column in d.value.columns]


@pytest.mark.parametrize("view", impact.VIEWS)
@pytest.mark.parametrize(
    "viewer",
    [LEAD, PM, auth.Viewer(auth.PROGRAM_MANAGER, "No states", ())],
    ids=["leadership", "program_manager", "pm_without_states"],
)
def test_every_view_renders_for_leadership_and_pms(store, viewer, view):
    at = page_as(viewer, params={impact.VIEW_KEY: view})
    assert not at.exception, at.exception
    assert at.title[0].value == "Did the network help?"
    assert [m.label for m in at.metric][:3] == ["Exchanges held", "Mentee states", "Rating difference"]
    assert any(b.label == "Printable cycle report" for b in at.get("download_button"))


@pytest.fixture
def files(monkeypatch):
    """The name and bytes of every file the page hands to Streamlit for download, by the media URL's file id."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    held: dict[str, tuple[str | None, bytes]] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        file_id = load(self, path_or_data, mimetype, kind, filename)
        held[file_id] = (filename, path_or_data)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return held


def report(at, files) -> tuple[str | None, bytes]:
    [button] = [b for b in at.get("download_button") if b.proto.label == "Printable cycle report"]
    return files[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]


@pytest.mark.parametrize("view", impact.VIEWS)
def test_a_cold_open_draws_no_select_box_or_number_input_and_the_linked_cycle_applies(store, files, view):
    """Opened cold (leadership, the demo's default role), no view draws a widget whose browser code is loaded
    lazily: the report's cycle is in a closed panel labelled with it, the stuck-days setting in another. A link's
    cycle (`?impact_cycle=`) applies while the panel is closed: it is named in the label and the printable report
    beside it is that cycle's."""
    latest, older = sorted(queries.cycles(store), reverse=True)[:2]
    at = page_as(LEAD, params={impact.VIEW_KEY: view})
    assert not at.exception and costly(at) == {}
    assert f"Cycle report · {latest}" in [e.label for e in at.expander]
    assert report(at, files)[0] == f"shisn-cycle-report-{latest}.html"
    at = page_as(LEAD, params={impact.VIEW_KEY: view, impact.CYCLE_KEY: older})
    assert not at.exception and costly(at) == {}
    assert f"Cycle report · {older}" in [e.label for e in at.expander]
    name, html = report(at, files)
    assert name == f"shisn-cycle-report-{older}.html" and f"Cycle report {older}".encode() in html
    assert at.query_params[impact.CYCLE_KEY] == str(older)


def test_the_cycle_chosen_in_the_opened_panel_is_the_reports_and_stays_after_closing(store, files):
    latest, older = sorted(queries.cycles(store), reverse=True)[:2]
    at = page_as(LEAD, **{CYCLE_PANEL: True})
    assert at.selectbox(key=impact.CYCLE_KEY).value == latest
    at.selectbox(key=impact.CYCLE_KEY).set_value(older).run()
    assert at.query_params[impact.CYCLE_KEY] == str(older)
    assert report(at, files)[0] == f"shisn-cycle-report-{older}.html"
    at.session_state[CYCLE_PANEL] = False
    at.run()
    at.run()
    assert not at.exception and not at.get("selectbox")
    assert f"Cycle report · {older}" in [e.label for e in at.expander]
    assert report(at, files)[0] == f"shisn-cycle-report-{older}.html"


def test_leadership_sees_the_comparison_and_what_it_is_not(store):
    at = page_as(LEAD)
    text = " ".join(m.value for m in at.markdown)
    assert "What it is not" in text and "not proof that the exchange caused it" in text
    assert "self-assessed" in text and impact.TOO_FEW_TEXT in text
    assert "Holm" in text and "jackknife" in text  # the method, said on the page
    table = frames(at, "Mentee states")[0]  # by area (then by the year held)
    assert table["Program area"].tolist()[-1] == "All areas" and len(table) == len(impact.AREAS) + 1
    overall = table.iloc[-1]
    assert overall["Mentee states"] >= impact.MIN_N and overall["Difference"] != impact.TOO_FEW_TEXT
    assert overall["Baseline states"] <= 56  # states, not state × area units
    # the figures on the page are the module's on the same data
    inputs = impact.gather(store, LEAD, queries.assessments(store))
    expected = impact.compare(impact.units(inputs.assessments, inputs.pool)).iloc[-1]
    assert overall["Difference"] == impact.fmt_change(expected["difference"])
    assert impact.headline(expected) in text
    # the per-area chart is drawn (an SVG image; st.html would drop it) with the headline as its text alternative
    [chart] = [m.value for m in at.markdown if m.value.startswith("![") and "data:image/svg+xml" in m.value]
    assert impact.headline(expected) in chart


def test_a_program_manager_sees_their_states_figures(store):
    at = page_as(PM, params={impact.VIEW_KEY: impact.VIEW_PEOPLE})
    assert not at.exception
    [pms] = frames(at, "pm")
    assert pms["pm"].tolist() == [PM.name] and pms["states"].tolist() == [", ".join(PM.states)]
    lead = page_as(LEAD, params={impact.VIEW_KEY: impact.VIEW_PEOPLE})
    assert len(frames(lead, "pm")[0]) == 10  # leadership: every PM
    [mentors] = frames(at, "mentor_name")
    mine = exchanges.list_exchanges(store, PM)
    assert set(mentors["mentor"]) <= set(mine["mentor"])
    at = page_as(PM, params={impact.VIEW_KEY: impact.VIEW_HEALTH})
    for f in frames(at, "days_without_change"):
        assert all(m in PM.states or e in PM.states for m, e in zip(f["mentor"], f["mentee"]))
    assert not any(f.key == "stuck_days" for f in at.get("form"))  # only leadership changes the setting


def test_a_state_user_is_turned_away(store):
    at = page_as(STATE_MD)
    assert not at.exception
    assert "This page is for" in at.warning[0].value
    assert not at.metric and not at.dataframe


def test_leadership_sets_the_stuck_threshold(store):
    at = page_as(LEAD, params={impact.VIEW_KEY: impact.VIEW_HEALTH})
    assert not any(f.key == "stuck_days" for f in at.get("form"))  # in a panel drawn only when opened
    assert f"When an exchange counts as stuck ({settings.stuck_days(store)} days)" in [e.label for e in at.expander]
    at.session_state[STUCK_PANEL] = True  # what a click on the panel sets
    at.run()
    form = next(f for f in at.get("form") if f.key == "stuck_days")
    form.number_input[0].set_value(10)
    form.form_submit_button[0].click()
    at.run()
    assert not at.exception
    assert settings.stuck_days(store) == 10
    assert any(d.startswith("setting stuck_days = 10") for d in audit.log(store)["detail"])
    assert [m.value for m in at.metric if m.label == "Stuck"] != []
    assert "When an exchange counts as stuck (10 days)" in [e.label for e in at.expander]


def _held(con, mentor, mentee, area):
    ex = exchanges.open_exchange(con, mentor, mentee, [area], 2026, "P", at=dt.datetime(2026, 6, 1))
    v = exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "P", at=dt.datetime(2026, 6, 2))
    v = exchanges.transition(con, ex, exchange_rules.IN_CONTACT, v, "P", at=dt.datetime(2026, 6, 3))
    exchanges.transition(con, ex, exchange_rules.HELD, v, "P", means="teleconference", at=dt.datetime(2026, 6, 20))
    return ex


def test_a_state_records_its_own_view_on_the_exchange_and_sees_only_its_own(store):
    ex = _held(store, "VA", "MD", "training")
    other = _held(store, "TX", "NM", "training")
    outcomes.record(store, other, "NM", LEAD, 2, "SECRETNMVIEW")
    at = page_as(STATE_MD, path=EX_PAGE, exchange=ex)
    assert not at.exception
    assert not any(f.key.startswith("view_") and "VA" in f.key for f in at.get("form"))  # MD's view only
    form = next(f for f in at.get("form") if f.key.startswith(f"view_{ex}_MD"))
    form.radio[0].set_value(4)
    form.text_area[0].input("Our county plan is drafted")
    form.form_submit_button[0].click()
    at.run()
    assert not at.exception
    [v] = outcomes.for_exchange(store, LEAD, ex).to_dict("records")
    assert (v["state"], v["useful"], v["what_changed"], v["recorded_by"]) == (
        "MD",
        4,
        "Our county plan is drafted",
        "MD user",
    )
    shown = [f for f in frames(at, "useful_label")]
    assert shown and shown[0]["what_changed"].tolist() == ["Our county plan is drafted"]
    # the other exchange is not among MD's, so neither it nor its views can be opened
    at = page_as(STATE_MD, path=EX_PAGE, exchange=other)
    assert not any(s.value.startswith(f"Exchange {other}:") for s in at.header)
    assert at.query_params.get("exchange") != str(other)
    assert not any("SECRETNMVIEW" in str(f.values) for f in frames(at, "useful_label"))


def test_a_view_without_usefulness_is_refused_on_the_page(store):
    ex = _held(store, "VA", "MD", "strategy")
    at = page_as(STATE_MD, path=EX_PAGE, exchange=ex)
    form = next(f for f in at.get("form") if f.key.startswith(f"view_{ex}_MD"))
    form.text_area[0].input("no rating")
    form.form_submit_button[0].click()
    at.run()
    assert any("Choose how useful" in e.value for e in at.error)
    assert outcomes.for_exchange(store, LEAD, ex).empty


def test_a_signed_in_program_manager_finds_their_own_row(store):
    # signed in, a PM's name is the users table's ("morgan"), not the assignments' display name: the row is found
    # by the states assigned to their e-mail
    email = queries.query_df(store, "SELECT email FROM program_managers WHERE name = ?", [PM.name])["email"].iloc[0]
    accounts.add_user(store, email, auth.PROGRAM_MANAGER, "test", name="morgan")
    viewer = accounts.viewer_for(store, email)
    assert viewer.name == "morgan" and viewer.states == PM.states
    at = page_as(viewer, params={impact.VIEW_KEY: impact.VIEW_PEOPLE})
    assert not at.exception
    [pms] = frames(at, "pm")
    assert pms["pm"].tolist() == [PM.name] and pms["states"].tolist() == [", ".join(PM.states)]
    assert pms["exchanges"].iloc[0] == len(impact.exchanges_only(exchanges.list_exchanges(store, viewer)))


def test_the_page_the_command_line_and_the_cycle_report_agree(store, demo_db):
    import json
    import subprocess
    import sys

    from shisn.render import cycle_report

    out = subprocess.run(
        [sys.executable, "-m", "shisn", "impact", "--db", str(demo_db), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    cli = {r["area"]: r for r in json.loads(out.stdout)}
    assert set(cli) == set(impact.AREAS) | {"all"}
    assert set(cli["all"]) == set(impact.CLI_COLUMNS)
    at = page_as(LEAD)
    table = frames(at, "Mentee states")[0].set_index("Program area")
    for slug, r in cli.items():
        shown = table.loc["All areas" if slug == "all" else impact.catalog.area_short(slug)]
        assert (shown["Mentee states"], shown["Baseline states"], shown["State-areas compared"]) == (
            r["mentee_states"],
            r["baseline_states"],
            r["compared"],
        )
        assert shown["Reading"] == impact.VERDICT_WORDS[r["verdict"]]
        if r["difference"] is not None:
            assert shown["Difference"] == impact.fmt_change(r["difference"])
    # the cycle report of a cycle: the same figures as `impact --cycle`
    cycle = queries.cycles(store)[0]
    out = subprocess.run(
        [sys.executable, "-m", "shisn", "impact", "--db", str(demo_db), "--cycle", str(cycle), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    overall = [r for r in json.loads(out.stdout) if r["area"] == "all"][0]
    inputs = impact.gather(store, LEAD, queries.assessments(store))
    html = cycle_report.render(
        cycle, queries.assessments(store, cycle), impact.figures(inputs, cycle=cycle), {"is_demo": True}
    )
    assert f"<td>{impact.fmt_change(overall['difference'])}</td>" in html.replace('<td class="num">', "<td>")
    assert f"{overall['mentee_states']} mentee states" in html


def test_a_program_manager_sees_only_their_exchanges_mentees_and_aggregates_of_the_rest(store):
    mine = set(exchanges.list_exchanges(store, PM)["exchange_id"].astype(int))
    every = set(exchanges.list_exchanges(store, LEAD)["exchange_id"].astype(int))
    assert mine < every
    at = page_as(PM)
    [units] = frames(at, "exchange_ids")
    shown = {int(i) for ids in units["exchange_ids"] for i in ids.split(",") if i}
    assert shown and shown <= mine
    f = impact.figures(impact.gather(store, PM, queries.assessments(store)))
    assert set(f.units["group"]) == {impact.EXCHANGE}  # no baseline unit, no other PM's mentee
    assert {int(i) for ids in f.units["exchange_ids"] for i in ids.split(",")} <= mine
    lead = impact.figures(impact.gather(store, LEAD, queries.assessments(store)))
    # the same baseline for both: a stratum's baseline mean does not depend on who views
    assert lead.by_area.iloc[-1]["baseline_states"] >= f.by_area.iloc[-1]["baseline_states"]
