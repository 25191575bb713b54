"""The state profile page in Streamlit's AppTest: every jurisdiction renders (territories, cycles without data and
named 'other' areas included), deep links in any spelling, each role sees what it may, and user text stays text."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from shisn import demo
from shisn.domain import auth, jurisdictions, profile
from shisn.domain.auth import Viewer
from shisn.store import db, queries
from shisn.web import loaders
from tests.support import ROOT, demo_copy_in_env, static_tables
from tests.unit.test_profile import NOTE_HTML, load_small

PAGE = str(ROOT / "pages" / "state_profile.py")
LEAD = Viewer(auth.LEADERSHIP, "Lead")
VA_USER = Viewer(auth.STATE, "VA user", ("VA",))
TERRITORIES = ["AS", "GU", "MP", "PR", "VI"]


@pytest.fixture(scope="module")
def demo_rows(demo_template, tmp_path_factory):
    """One copy of the demo store for the module (SHISN_DB points the page at it); its assessment rows."""
    with demo_copy_in_env(demo_template, tmp_path_factory.mktemp("state_page")) as path:
        con = db.connect(path)
        data = queries.assessments(con)
        con.close()
        yield data


def page(viewer, **query):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[ui_key()] = viewer
    at.session_state["filters_open"] = True  # the state and cycle panel opened (closed: test_filters.py)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def ui_key():
    return loaders.VIEWER_KEY


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at):
    """Everything written as markdown, caption, info or warning."""
    return [e.value for kind in ("markdown", "caption", "info", "warning") for e in getattr(at, kind)]


def columns_of(at):
    """The columns of each table on the page: the grids, then the static tables."""
    return [list(d.value.columns) for d in at.dataframe] + [list(t.columns) for t in static_tables(at)]


def test_every_jurisdiction_renders(demo_rows):
    at = ok(page(LEAD))
    first = demo.DEMO_CYCLES[0]
    for code in profile.state_options():
        ok(at.selectbox(key="state").set_value(code).run())
        assert at.header[0].value == f"{jurisdictions.names()[code]} ({code})"
        assert len(at.get("plotly_chart")) >= 1
    # the first cycle, when some jurisdictions had not joined yet: territories and every late joiner
    joined = set(demo_rows.loc[demo_rows["cycle"] == first, "state"])
    late = sorted(set(jurisdictions.codes()) - joined)
    assert late, "the demo set has late joiners"
    ok(at.selectbox(key="cycle").set_value(first).run())
    for code in sorted(set(late) | set(TERRITORIES)):
        ok(at.selectbox(key="state").set_value(code).run())
        if code in late:
            assert any("no self-assessment for" in w.value for w in at.warning)


def test_leadership_without_a_link_opens_the_first_state_by_name(demo_rows):
    at = ok(page(LEAD))
    assert at.selectbox(key="state").value == "AL" and at.header[0].value == "Alabama (AL)"
    assert at.selectbox(key="cycle").value == demo.DEMO_CYCLES[-1]


@pytest.mark.parametrize(
    "link,code",
    [
        ("VA", "VA"),
        ("virginia", "VA"),
        ("gu", "GU"),
        ("Puerto Rico", "PR"),
        ("district of columbia", "DC"),
        ("nowhere", "AL"),
    ],
)
def test_deep_link_by_code_or_name_in_any_case(demo_rows, link, code):
    at = ok(page(LEAD, state=link))
    assert at.selectbox(key="state").value == code
    assert at.query_params["state"] in (code, [code])


def test_deep_link_to_a_cycle(demo_rows):
    at = ok(page(LEAD, state="GU", cycle=str(demo.DEMO_CYCLES[1])))
    assert at.selectbox(key="cycle").value == demo.DEMO_CYCLES[1]
    assert at.subheader[0].value == f"Maturity by program area, {demo.DEMO_CYCLES[1]}"


def test_state_user_lands_on_its_own_profile_in_full(demo_rows):
    at = ok(page(VA_USER))
    assert at.header[0].value == "Virginia (VA)"
    assert len(at.get("download_button")) == 1
    assert [s.value for s in at.subheader] == [
        f"Maturity by program area, {demo.DEMO_CYCLES[-1]}",
        "What it offers and seeks",
    ]  # the first view only
    assert any("Notes" in cols for cols in columns_of(at))
    assert any("ODP program manager" in t for t in texts(at))
    assert any(t.startswith("Strengths:") or "Strengths" in t for t in texts(at))
    at = ok(page(VA_USER, **{profile.VIEW_KEY: profile.VIEW_TREND}))
    assert [s.value for s in at.subheader] == ["POETE sub-ratings", "Trend across cycles"]
    assert len(at.get("plotly_chart")) == 2 and at.header[0].value == "Virginia (VA)"
    at = ok(page(VA_USER, **{profile.VIEW_KEY: profile.VIEW_PARTNERS}))
    assert [s.value for s in at.subheader] == ["Recommended partners", "Introduction requests", "Open exchanges"]
    # VA's open demo exchanges (the demo set opens some with VA) are listed, or the neutral line when there are none
    assert any("Exchange" in cols for cols in columns_of(at)) or any("No open exchanges" in t for t in texts(at))
    assert not at.get("plotly_chart")


def test_state_user_sees_other_states_as_scores_and_flags_only(demo_rows):
    at = ok(page(VA_USER, state="MD"))
    assert at.header[0].value == "Maryland (MD)"
    assert any("scores and offer/seek flags only" in i.value for i in at.info)
    assert len(at.get("download_button")) == 0
    assert columns_of(at) == [["Program area", "Maturity", "Offers help", "Seeks help"]]
    subheads = [s.value for s in at.subheader]
    assert "Recommended partners" not in subheads and "POETE sub-ratings" not in subheads
    assert not at.tabs  # no detail views to switch to
    at = ok(page(VA_USER, state="MD", **{profile.VIEW_KEY: profile.VIEW_PARTNERS}))  # a crafted link changes nothing
    assert columns_of(at) == [["Program area", "Maturity", "Offers help", "Seeks help"]] and not at.tabs
    assert not any("program manager:" in t for t in texts(at))


def test_program_manager_sees_assigned_states_in_full_and_others_in_summary(demo_rows):
    pms = demo.demo_program_managers()
    name = pms.loc[pms["state"] == "VA", "name"].iloc[0]
    pm = auth.demo_viewer(auth.PROGRAM_MANAGER, pms, pm_name=name)
    at = ok(page(pm))
    assert at.selectbox(key="state").value == pm.states[0]  # opens on the first assigned state
    at = ok(page(pm, state="VA"))
    assert len(at.get("download_button")) == 1
    outside = next(c for c in profile.state_options() if c not in pm.states)
    at = ok(page(pm, state=outside))
    assert len(at.get("download_button")) == 0
    assert any("not one of your assigned states" in i.value for i in at.info)


def test_no_data_in_the_cycle_offers_the_latest(demo_rows):
    first = demo.DEMO_CYCLES[0]
    joined = set(demo_rows.loc[demo_rows["cycle"] == first, "state"])
    code = sorted(set(jurisdictions.codes()) - joined)[0]
    at = ok(page(LEAD, state=code, cycle=str(first)))
    assert any("no self-assessment for" in w.value for w in at.warning)
    latest = int(demo_rows.loc[demo_rows["state"] == code, "cycle"].max())
    ok(at.button[0].click().run())
    assert at.selectbox(key="cycle").value == latest
    assert not any("no self-assessment for" in w.value for w in at.warning)


def test_other_area_is_shown_by_its_name(demo_rows):
    latest = demo.DEMO_CYCLES[-1]
    rows = demo_rows[(demo_rows["cycle"] == latest) & (demo_rows["program_area"] == "other")]
    code, name = rows[["state", "other_area"]].iloc[0]
    at = ok(page(LEAD, state=code))
    areas = static_tables(at)[0]["Program area"].tolist()
    assert f"Other: {name}" in areas


def test_whole_app_as_a_state_user_opens_its_own_profile(demo_rows):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["demo_role"] = "state"
    at.session_state["demo_state"] = "VA"
    ok(at.run())
    ok(at.switch_page("pages/state_profile.py").run())
    assert at.title[0].value == "State profile" and at.header[0].value == "Virginia (VA)"


@pytest.fixture
def small_db(tmp_path, monkeypatch):
    path = tmp_path / "small.duckdb"
    con = db.connect(path)
    load_small(con)
    cur = con.cursor()
    cur.execute(
        "UPDATE assessments SET other_area = '[click](http://example.com/x.png) <img src=x>' "
        "WHERE state = 'VA' AND program_area = 'other' AND cycle = 2026"
    )
    cur.close()
    con.close()
    monkeypatch.setenv("SHISN_DB", str(path))
    return path


def test_user_text_is_never_rendered_as_markup(small_db):
    at = ok(page(LEAD, state="VA"))
    notes = static_tables(at)[0]
    assert NOTE_HTML in notes["Notes"].tolist()  # shown as text in a cell
    for t in texts(at):  # no unescaped '<' (HTML) and no link syntax reaches Markdown
        assert not re.search(r"(?<!\\)<", t) and "](" not in t, t
    assert any("Pat \\<Doe\\>" in t for t in texts(at))  # the program manager, escaped
    assert any("Other\\: \\[click\\]" in t for t in texts(at))  # the other area in the strengths, escaped


def test_open_exchanges_of_the_state_are_listed_on_profile_and_report(tmp_path, monkeypatch):
    from shisn import demo
    from shisn.services import exchanges
    from shisn.store import db

    path = tmp_path / "ex.duckdb"
    con = db.connect(path)
    demo.write_demo(con)
    ex = exchanges.open_exchange(con, "VA", "GU", ["exercises"], 2026, "pm")
    listed = exchanges.involving(con, auth.Viewer(auth.LEADERSHIP, "L"), "GU")
    assert ex in listed["Exchange"].tolist()
    assert listed.set_index("Exchange").loc[ex, "Part"] == "mentee"
    assert listed.set_index("Exchange").loc[ex, "With"] == "Virginia"
    con.close()
    monkeypatch.setenv("SHISN_DB", str(path))
    at = AppTest.from_file(str(ROOT / "pages" / "state_profile.py"), default_timeout=120)
    at.session_state["shisn_viewer"] = auth.Viewer(auth.STATE, "GU user", ("GU",))
    at.query_params[profile.VIEW_KEY] = profile.VIEW_PARTNERS
    at.run()
    assert not at.exception
    assert any(ex in d.value["Exchange"].tolist() for d in at.dataframe if "Exchange" in d.value.columns)
