"""Access control and hardening: every role × every page in AppTest, with marked secrets in other
states' notes and exchanges; unknown and anonymous users see nothing; malicious input stays inert."""

import glob
import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from shisn import demo
from shisn.domain import (
    auth,
    coverage,
    exchange_rules,
    pairing_tables,
    profile,
    safe_text,
)
from shisn.services import exchanges, impact
from shisn.store import accounts, audit, db, ingest, queries
from shisn.web import identity
from tests.support import ROOT, make_csv

PAGES = sorted(Path(p).name for p in glob.glob(str(ROOT / "pages" / "*.py")))
MD_SECRET = "SECRETMDNOTE"  # markers free of Markdown-escaped characters, so escaped text still matches
EX_SECRET = "SECRETEXCHANGEOUTCOME"
CONTACT_SECRET = "secretmdcontact"
LEAD = auth.Viewer(auth.LEADERSHIP, "Lead")
VA_USER = auth.Viewer(auth.STATE, "VA user", ("VA",))
REGION1_PM = auth.Viewer(auth.PROGRAM_MANAGER, "PM one", ("CT", "MA", "ME", "NH", "RI", "VT"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The demo set, with every Maryland note of the latest cycle replaced by a marked secret and an exchange
    between Maryland and Texas whose outcome is a marked secret."""
    path = tmp_path_factory.mktemp("access") / "access.duckdb"
    con = db.connect(path)
    demo.write_demo(con)
    rows = demo.generate()
    md = rows[(rows["state"] == "MD") & (rows["cycle"] == rows["cycle"].max())].copy()
    md["notes"] = [f"{MD_SECRET} {a}" for a in md["program_area"]]
    buf = io.StringIO()
    md.to_csv(buf, index=False)
    ingest.load(con, [("md.csv", buf.getvalue().encode())], "tester")
    ex = exchanges.open_exchange(con, "MD", "TX", ["exercises"], int(rows["cycle"].max()), "tester")
    exchanges.update(con, ex, 1, "tester", outcome=EX_SECRET)
    con.cursor().execute(
        "UPDATE program_managers SET name = 'Secret PM', email = ? WHERE state = 'MD'",
        [CONTACT_SECRET + "@example.org"],
    ).fetchall()
    con.close()
    return path


def payload(at) -> bytes:
    """Everything the page sent to the browser: every element's serialised message (text, tables, charts, maps)."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            out.append(proto.SerializeToString())
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return b"".join(out)


def run_page(page, viewer, store, monkeypatch, **query):
    monkeypatch.setenv("SHISN_DB", str(store))
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    if viewer is not None:
        at.session_state["shisn_viewer"] = viewer
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


# Pages that compute one view at a time (lazy tabs bound to the URL): each view is checked on its own.
TABBED = {
    "national.py": coverage,
    "exchanges.py": exchange_rules,
    "pairings.py": pairing_tables,  # modules with VIEWS
    "state_profile.py": profile,
    "impact.py": impact,
}
VIEWS = [(p, {m.VIEW_KEY: v}) for p, m in TABBED.items() for v in m.VIEWS] + [(p, {}) for p in PAGES if p not in TABBED]


@pytest.mark.parametrize("page, view", VIEWS, ids=[p + "".join(f"-{x}" for x in v.values()) for p, v in VIEWS])
@pytest.mark.parametrize("viewer", [VA_USER, REGION1_PM], ids=["state", "program_manager"])
def test_other_states_notes_and_exchanges_never_reach_a_state_or_pm_user(page, view, viewer, store, monkeypatch):
    query = dict(view, **({"state": "MD"} if page == "state_profile.py" else {}))
    at = run_page(page, viewer, store, monkeypatch, **query)
    assert not at.exception, at.exception
    sent = payload(at)
    assert MD_SECRET.encode() not in sent
    assert EX_SECRET.encode() not in sent
    assert CONTACT_SECRET.encode() not in sent


def test_leadership_does_receive_them_so_the_check_can_fail(store, monkeypatch):
    at = run_page("state_profile.py", LEAD, store, monkeypatch, state="MD")
    assert MD_SECRET.encode() in payload(at) and CONTACT_SECRET.encode() in payload(at)
    at = run_page("exchanges.py", LEAD, store, monkeypatch)
    assert not at.exception


def test_the_state_itself_sees_its_own_notes(store, monkeypatch):
    at = run_page("state_profile.py", auth.Viewer(auth.STATE, "MD user", ("MD",)), store, monkeypatch)
    assert MD_SECRET.encode() in payload(at)


@pytest.mark.parametrize("page", PAGES)
def test_direct_page_url_without_a_role_shows_nothing(page, store, monkeypatch):
    monkeypatch.setenv("SHISN_AUTH", "header")  # a real deployment: identity only from the proxy's header
    at = run_page(page, None, store, monkeypatch)
    assert not at.exception
    assert "not signed in" in at.warning[0].value
    assert not at.dataframe and not at.metric and not at.get("plotly_chart") and not at.get("deck_gl_json_chart")


def test_unknown_signed_in_user_sees_nothing_but_a_message(store, monkeypatch):
    monkeypatch.setenv("SHISN_AUTH", "header")
    monkeypatch.setattr(identity, "signed_in_email", lambda: "stranger@example.org")
    monkeypatch.setenv("SHISN_DB", str(store))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert "no shisn role" in at.warning[0].value
    assert not at.dataframe and not at.metric
    assert [t.value for t in at.title] == [identity.APP_TITLE]  # the application's name only, no page of data


def test_known_user_gets_their_role_from_the_users_table(tmp_path, monkeypatch):
    path = tmp_path / "u.duckdb"
    con = db.connect(path)
    demo.write_demo(con)
    accounts.add_user(con, "Pat@Example.org", "state", "admin", state="Virginia")
    assert accounts.viewer_for(con, "pat@example.org") == auth.Viewer(auth.STATE, "pat", ("VA",))
    pm_email = queries.program_managers(con).iloc[0]["email"]
    accounts.add_user(con, pm_email, "program_manager", "admin", name="PM")
    pm = accounts.viewer_for(con, pm_email)
    assert pm.role == auth.PROGRAM_MANAGER and len(pm.states) >= 3  # the states assigned to that email
    con.close()
    monkeypatch.setenv("SHISN_AUTH", "header")
    monkeypatch.setenv("SHISN_DB", str(path))
    monkeypatch.setattr(identity, "signed_in_email", lambda: "pat@example.org")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "State profile"  # a state user lands on its own profile
    # who is signed in, in the sidebar, and no demo switcher
    assert [c.value for c in at.sidebar.caption] == ["Signed in as pat · State"]
    assert not any(e.label.startswith("Viewing as") for e in at.sidebar.expander)


def test_role_changes_are_validated_and_audited(con):
    with pytest.raises(accounts.UserError):
        accounts.add_user(con, "not-an-email", "state", "admin", state="VA")
    with pytest.raises(accounts.UserError):
        accounts.add_user(con, "a@b.org", "state", "admin")  # state user without a state
    with pytest.raises(accounts.UserError):
        accounts.add_user(con, "a@b.org", "emperor", "admin")
    assert accounts.users(con).empty
    accounts.add_user(con, "a@b.org", "state", "admin", state="VA")
    accounts.add_user(con, "a@b.org", "leadership", "admin")
    assert accounts.remove_user(con, "a@b.org", "admin")
    log = audit.log(con)
    assert list(log["action"]) == ["role", "role", "role"]
    assert "a@b.org set to leadership (was state VA)" in log["detail"].tolist()


def test_loads_edits_and_exports_are_audited(con):
    ingest.load(
        con,
        [
            (
                "f.csv",
                make_csv(
                    [["VA", "exercises", 2025, 5, "yes", "no", ""], ["MD", "exercises", 2025, 2, "no", "yes", ""]]
                ),
            )
        ],
        "loader",
        this_year=2026,
    )
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "pm")
    exchanges.transition(con, ex, "introduced", 1, "pm")
    audit.record(con, "pm", "export", "pairs CSV 2025")
    log = audit.log(con)
    assert set(log["action"]) == {"load", "edit", "export"}
    assert log[log["action"] == "load"]["who"].tolist() == ["loader"]
    assert len(log[log["action"] == "edit"]) == 2


# --- hardening ------------------------------------------------------------------------------------------------


def test_csv_exports_neutralise_formula_cells():
    df = pd.DataFrame({"a": ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(A1)", "plain", "a=b"]})
    out = pd.read_csv(io.BytesIO(safe_text.csv_file(df)), dtype=str)["a"].tolist()
    assert out[:4] == ['\'=HYPERLINK("http://x")', "'+1+2", "'-3", "'@SUM(A1)"]
    assert out[4:] == ["plain", "a=b"]


def test_sql_injection_in_a_file_is_just_a_bad_value(con):
    evil = "VA'; DROP TABLE assessments; --"
    with pytest.raises(ingest.LoadError) as e:
        ingest.load(con, [("e.csv", make_csv([[evil, "exercises", 2025, 3, "no", "no", ""]]))], "t", this_year=2026)
    assert e.value.problems[0].column == "state"
    ingest.load(con, [("ok.csv", make_csv([["VA", "exercises", 2025, 3, "no", "no", evil]]))], "t", this_year=2026)
    assert queries.assessments(con).iloc[0]["notes"] == evil  # stored as text, tables intact


def test_uploads_are_capped_by_size_and_type():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] <= 25
    assert ingest.MAX_BYTES <= 25 * 1024 * 1024
    assert "wrong file type" in ingest.check("x.exe", b"MZ\x90\x00").problems[0].reason


def test_errors_shown_to_users_carry_no_details():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["toolbarMode"] == "viewer"
    assert cfg["browser"]["gatherUsageStats"] is False


def test_no_user_text_goes_through_unsafe_html():
    """No page passes text through unsafe HTML; st.html is used only for fixed SVG built from catalogue labels and
    numbers (escaped), never for user text."""
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for line in path.read_text().splitlines():
            assert "unsafe_allow_html=True" not in line, f"{path.name}: {line.strip()}"
            if "st.html(" in line:
                assert "_svg(" in line, f"{path.name}: {line.strip()}"


def test_redact_is_the_one_filter():
    df = pd.DataFrame({"state": ["VA", "MD"], "maturity": [3, 4], "notes": ["va", "md"]})
    assert auth.redact(df, VA_USER)["notes"].tolist() == ["va", None]
    assert auth.redact(df, VA_USER)["maturity"].tolist() == [3, 4]  # scores stay
    assert auth.redact(df, LEAD)["notes"].tolist() == ["va", "md"]
    assert auth.redact(df, None).empty
