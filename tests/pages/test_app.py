"""The app shell in Streamlit's AppTest: starts on demo data labelled as demo, every role gets its pages, and a page
served directly without a viewer shows nothing but a message."""

import pytest
from streamlit.testing.v1 import AppTest

from shisn.domain.auth import ROLE_LABELS
from tests.support import ROOT

APP = str(ROOT / "app.py")


def app_as(role, **state):
    """AppTest of the whole app viewed as `role` (keys of the demo switcher set before the first run)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["demo_role"] = role
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    monkeypatch.setenv("SHISN_DB", str(tmp_path / "app.duckdb"))
    return tmp_path / "app.duckdb"


def test_app_opens_on_labelled_demo_data(app_db):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("Demo data" in i.value for i in at.info)
    assert app_db.exists()


@pytest.mark.parametrize("role", ["leadership", "program_manager", "state"])
def test_every_role_renders_without_error(app_db, role):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["demo_role"] = role  # (AppTest drops the st.navigation frame on a widget-triggered rerun)
    at.run()
    assert not at.exception
    # the switcher's panel, closed, names the role viewed as and draws no widget (a cold open fetches no code for it)
    panel = [e for e in at.sidebar.expander if e.label.startswith("Viewing as:")]
    assert len(panel) == 1 and ROLE_LABELS[role] in panel[0].label and "(demo)" in panel[0].label
    assert not at.sidebar.get("button_group")
    at = AppTest.from_file(APP, default_timeout=60)  # opened: the three roles, this one chosen, what demo mode is
    at.session_state["demo_role"] = role
    at.session_state["demo_role_open"] = True
    at.run()
    assert not at.exception
    assert at.segmented_control(key="demo_role").value == role
    assert any("Demo mode" in c.value for c in at.caption)


def test_a_role_chosen_in_the_switcher_names_its_panel_and_is_kept(app_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["demo_role_open"] = True
    at.run()
    assert [e.label for e in at.sidebar.expander] == ["Viewing as: ODP leadership (demo)"]
    at.segmented_control(key="demo_role").set_value("state").run()
    assert not at.exception
    assert at.session_state["_kept_demo_role"] == "state"  # kept under a plain key: the panel may close
    assert at.session_state["demo_role_open"]  # a choice leaves the panel open (its label changed)
    at.run()
    assert not at.exception
    assert [e.label for e in at.sidebar.expander] == ["Viewing as: State · VA (demo)"]
    assert at.session_state["shisn_viewer"].role == "state" and at.session_state["shisn_viewer"].states == ("VA",)


def test_data_page_served_directly_without_viewer_shows_nothing(app_db, monkeypatch):
    monkeypatch.setenv("SHISN_DEMO_ROLES", "0")  # no demo switcher: nobody is signed in
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=60).run()
    assert not at.exception
    assert "not signed in" in at.warning[0].value
    assert len(at.dataframe) == 0 and len(at.get("download_button")) == 0


def test_page_served_directly_in_demo_mode_resolves_the_demo_viewer(app_db):
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=60).run()
    assert not at.exception
    assert any(e.label.startswith("Viewing as: ODP leadership") for e in at.sidebar.expander)
    assert at.session_state["shisn_viewer"].role == "leadership"
    assert at.title[0].value == "Self-assessment data"


def test_data_page_draws_the_levels_only_when_opened(app_db):
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=60).run()
    assert not at.exception
    # the reporting cycles and the load log; the levels and areas tables wait in the closed expander
    assert len(at.dataframe) == 2
    at.session_state["levels_open"] = True  # what a click on the expander sets
    at.run()
    frames = [d.value for d in at.dataframe]
    assert len(frames) == 4 and any(len(f) == 5 for f in frames) and any(len(f) == 9 for f in frames)


def test_data_page_load_log_shows_a_load_made_elsewhere_on_the_next_run(app_db):
    """The load log is cached per data version: a load made by another process (the CLI) or replica is in it on the
    next rerun."""
    import subprocess
    import sys

    from tests.support import make_csv

    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=60).run()

    def load_log(at):
        return [d.value for d in at.dataframe if "file_name" in d.value.columns][0]

    before = load_log(at)
    f = app_db.parent / "wy.csv"
    f.write_bytes(make_csv([["WY", "training", 2025, 4, "yes", "no", ""]]))
    r = subprocess.run(
        [sys.executable, "-m", "shisn", "load", str(f), "--db", str(app_db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr
    after = load_log(at.run())
    assert len(after) == len(before) + 1 and after.iloc[0]["file_name"] == "wy.csv"


def test_users_page_lists_users_adds_one_and_keeps_the_audit_log_in_its_own_view(app_db):
    from shisn.domain import auth

    at = AppTest.from_file(str(ROOT / "pages" / "users.py"), default_timeout=60).run()
    assert not at.exception and at.title[0].value == "Users and audit"
    assert len(at.dataframe) == 1 and "email" in at.dataframe[0].value.columns  # the users view first
    # the forms are in panels drawn only when opened: a cold open (the demo's leadership role) draws no widget whose
    # browser code is loaded lazily
    assert not at.get("form") and not any(
        at.get(kind) for kind in ("selectbox", "multiselect", "text_input", "number_input", "file_uploader")
    )
    assert [e.label for e in at.main.expander] == ["Add or change a user", "Remove a user"]
    at.session_state["user_add_open"] = True  # what a click on the panel sets
    at.run()
    form = next(f for f in at.get("form") if f.key == "user_form")
    form.text_input[0].input("new.pm@example.org")
    form.selectbox[0].select(auth.PROGRAM_MANAGER)
    form.form_submit_button[0].click()
    at.run()
    assert any("new.pm@example.org is now" in s.value for s in at.success)
    assert "new.pm@example.org" in at.dataframe[0].value["email"].tolist()
    at.session_state["user_remove_open"] = True
    at.run()
    form = next(f for f in at.get("form") if f.key == "remove_form")
    form.text_input[0].input("new.pm@example.org")
    form.form_submit_button[0].click()
    at.run()
    assert any(s.value == "Removed." for s in at.success)
    assert "new.pm@example.org" not in at.dataframe[0].value["email"].tolist()
    audit_view = AppTest.from_file(str(ROOT / "pages" / "users.py"), default_timeout=60)
    audit_view.query_params["users_view"] = "Audit log"
    audit_view.run()
    log = audit_view.dataframe[0].value
    assert not audit_view.get("form") and "new.pm@example.org" in " ".join(log["detail"].astype(str))


def test_every_page_url_is_its_file_name():
    """Until app.py first runs after a server start, Streamlit serves pages/ by file name; with the same names a
    link opened then reaches the page, whose guard hands it over to app.py's navigation (see the e2e test)."""
    import re

    source = (ROOT / "app.py").read_text()
    entries = re.findall(r'\("pages/(\w+)\.py", "[^"]+", "[^"]+", "(\w+)"', source)
    assert len(entries) == len(list((ROOT / "pages").glob("*.py"))) and all(stem == url for stem, url in entries), (
        entries
    )


def test_the_server_does_no_full_garbage_collection_after_every_run():
    """Streamlit's default runs gc.collect(2) after every script run; with the app's heap that held the GIL ~160 ms
    per run, so the event loop could neither send the finished page nor serve other sessions meanwhile (measured:
    loop stalls up to 1.2 s with 12 sessions; benchmarks/loop_probe.py). The app's config turns it off."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_no_page_relies_on_streamlit_magic_which_the_app_turns_off():
    """With `runner.magicEnabled = false` (a faster first run: no syntax-tree rewrite of each page) a bare expression
    in a page, e.g. `st.caption(a) if x else st.caption(b)` or a lone variable, would silently show nothing. Every
    script compiles to the same code with and without magic."""
    import ast
    import tomllib

    from streamlit.runtime.scriptrunner import magic

    assert tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["runner"]["magicEnabled"] is False
    offenders = []
    for script in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        tree = magic.add_magic(script.read_text(), str(script))
        offenders += [
            f"{script.name}:{n.lineno}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "transparent_write"
        ]
    assert offenders == [], f"bare expressions that magic would have drawn: {offenders}"


def test_the_demo_program_manager_handles_the_demo_state_and_is_named_once(app_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["demo_role_open"] = True
    at.run()
    at.segmented_control(key="demo_role").set_value("program_manager").run()
    assert not at.exception
    viewer = at.session_state["shisn_viewer"]
    assert "VA" in viewer.states  # the default PM manages the default state
    [label] = [e.label for e in at.sidebar.expander]
    assert label == f"Viewing as: Program manager · {viewer.name.removesuffix(' (demo)')} (demo)"
    assert "(demo) (demo)" not in label
    # the choice of program manager names each one's states
    pm = at.selectbox(key="demo_pm")
    assert pm.value == viewer.name and "VA" in pm.format_func(pm.value).split(" · ")[-1]


def test_request_choices_say_who_mentors_whom():
    import pandas as pd

    from shisn.services import exchanges

    partners = pd.DataFrame(
        {"partner": ["MD"], "partner_name": ["Maryland"], "program_area": ["exercises"], "short": ["Exercises"]}
    )
    ask, offer = exchanges.request_choices("VA", partners, partners)
    assert ask["label"] == "Ask Maryland (MD) to mentor VA · Exercises" and (ask["mentor"], ask["mentee"]) == (
        "MD",
        "VA",
    )
    assert offer["label"] == "Offer to mentor Maryland (MD) · Exercises" and offer["mentor"] == "VA"
