"""The Exchanges and Program managers pages in Streamlit's AppTest, offline, as each role: they render, show each
viewer only their exchanges, prefill a new exchange from a pairing link, record changes under the viewer's name and
refuse a stale edit without writing. Opened cold they draw no widget whose browser code is loaded lazily (select box,
text or number input, file uploader): the Exchange select box and the CSV uploader are in panels drawn when opened,
and an exchange named in the URL opens at once."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from shisn.domain import auth, exchange_rules
from shisn.services import exchanges
from shisn.store import db
from tests import support
from tests.support import ROOT

PAGE = str(ROOT / "pages" / "exchanges.py")
PM_PAGE = str(ROOT / "pages" / "program_managers.py")
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
PM = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("DC", "DE", "MD", "PA", "VA", "WV"))
STATE_MD = auth.Viewer(auth.STATE, "MD state user", ("MD",))


@pytest.fixture
def store(demo_db):
    """A copy of the demo store with its exchanges (SHISN_DB points the pages at it)."""
    con = db.connect(demo_db)
    yield con
    con.close()


def page_as(viewer, path=PAGE, params=None, **state):
    return support.page_as(viewer, path, params, **state)


PANEL = "exchange_pick_open"  # the Exchange panel under the table (widgets.filters): its select box when opened
NONE_CHOSEN = "Exchange · none chosen (select a row above, or choose one here)"
COSTLY = ("selectbox", "multiselect", "text_input", "number_input", "file_uploader")  # lazily loaded browser code


def costly(at) -> dict:
    """The widgets a browser opening the page cold would fetch separate code for, by kind (none expected)."""
    return {
        kind: [getattr(w, "key", None) or getattr(w, "label", None) for w in at.get(kind)]
        for kind in COSTLY
        if at.get(kind)
    }


def panel(at) -> str | None:
    return next((e.label for e in at.expander if e.label.startswith("Exchange · ")), None)


def detail(at) -> list[str]:
    """The heading of the exchange shown in detail (none, or one)."""
    return [s.value for s in at.header if s.value.startswith("Exchange ")]


def click_row(at, row: int):
    """What a click on the row of the exchanges table sets (the table's selection), then the run it starts."""
    at.session_state["ex_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def shown_ids(at):
    frames = [d.value for d in at.dataframe if "exchange_id" in d.value.columns and "mentor" in d.value.columns]
    return sorted(int(i) for i in frames[0]["exchange_id"]) if frames else []


@pytest.mark.parametrize(
    "viewer",
    [LEAD, PM, STATE_MD, auth.Viewer(auth.PROGRAM_MANAGER, "No states", ())],
    ids=["leadership", "program_manager", "state", "pm_without_states"],
)
def test_exchanges_page_renders_for_every_role_without_error(store, viewer):
    at = page_as(viewer)
    assert not at.exception
    assert at.title[0].value == "Exchanges"
    assert any("Demo exchanges" in i.value for i in at.info) or viewer.states == ()


def test_leadership_sees_all_with_counts_by_status_area_and_region(store):
    at = page_as(LEAD)
    assert shown_ids(at) == sorted(exchanges.list_exchanges(store, LEAD)["exchange_id"])
    labels = [m.label for m in at.metric]
    assert "Median days to first contact" in labels
    assert len(at.get("download_button")) == 1
    assert not at.get("deck_gl_json_chart")  # the map is its own view, computed only when opened
    at = page_as(LEAD, params={exchange_rules.VIEW_KEY: exchange_rules.VIEW_MAP})
    assert not at.exception and "Median days to first contact" in [m.label for m in at.metric]
    headings = [m.value for m in at.markdown]
    assert "**By status**" in headings and "**By program area**" in headings and "**By FEMA region**" in headings
    counts = support.static_tables(at)  # static (Markdown) tables beside the map
    assert not at.table and [list(t.columns) for t in counts] == [
        ["Status", "Exchanges"],
        ["Program area", "Exchanges"],
        ["FEMA region", "Exchanges"],
    ]
    assert counts[0]["Exchanges"].sum() == len(exchanges.list_exchanges(store, LEAD))
    assert len(at.get("deck_gl_json_chart")) == 1 and shown_ids(at) == []  # the list is not computed here

    # declined exchanges are left off the map until the chip beside it asks for them
    def arcs_drawn(at):
        deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
        return sum(len(layer["data"]) for layer in deck["layers"] if layer["id"] == "arcs")

    every = exchanges.arcs(store, LEAD)
    assert (every["status"] == exchange_rules.DECLINED).any()
    assert arcs_drawn(at) == int((every["status"] != exchange_rules.DECLINED).sum())
    with_declined = page_as(
        LEAD, params={exchange_rules.VIEW_KEY: exchange_rules.VIEW_MAP}, ex_map_declined="Include declined exchanges"
    )
    assert arcs_drawn(with_declined) == len(every)


def test_views_are_tabs_bound_to_the_url_and_run_only_when_open(store):
    at = page_as(PM)
    assert at.query_params.get(exchange_rules.VIEW_KEY) in (None, exchange_rules.VIEW_LIST)
    assert shown_ids(at) and not any(s.value == "Referred to technical assistance" for s in at.header)
    assert not any(f.key.startswith("update_") for f in at.get("form"))  # no exchange opened until one is chosen
    assert "exchange" not in at.query_params and not at.get("selectbox")
    assert panel(at) == NONE_CHOSEN  # the keyboard alternative to a row click: a closed panel
    at.session_state[PANEL] = True  # what a click on the panel sets
    at.run()
    assert at.selectbox(key="exchange").value is None
    first = shown_ids(at)[0]
    at.selectbox(key="exchange").set_value(first).run()
    assert any(f.key.startswith(f"update_{first}_") for f in at.get("form"))
    assert at.query_params["exchange"] == str(first)  # the opened exchange is a shareable link
    at = page_as(PM, params={exchange_rules.VIEW_KEY: exchange_rules.VIEW_TA})
    assert not at.exception and not shown_ids(at)
    assert any(s.value == "Referred to technical assistance" for s in at.header)
    assert not any(f.key in ("refer", "new_exchange") for f in at.get("form"))  # drawn only when opened
    at.session_state["refer_open"] = True  # what a click on the expander sets
    at.run()
    assert any(f.key == "refer" for f in at.get("form"))


def test_a_cold_open_draws_no_select_box_and_a_linked_exchange_opens_at_once(store):
    """Opened cold (leadership, the demo's default role) the page draws no widget whose browser code is loaded
    lazily: the Exchange select box is in a closed panel. A link naming an exchange opens its detail at once, the
    panel still closed and labelled with it."""
    at = page_as(LEAD)
    assert not at.exception and costly(at) == {}
    assert panel(at) == NONE_CHOSEN and detail(at) == [] and "exchange" not in at.query_params
    row = exchanges.list_exchanges(store, LEAD).iloc[3]
    ex = int(row["exchange_id"])
    at = page_as(LEAD, params={"exchange": ex})
    assert not at.exception and not [s for s in at.selectbox if s.key == "exchange"]
    assert detail(at) and detail(at)[0].startswith(f"Exchange {ex}: {row['mentor']} → {row['mentee']} ")
    assert panel(at).startswith(f"Exchange · {ex} · {row['mentor']} → {row['mentee']} · ")
    assert at.query_params["exchange"] == str(ex)
    at = page_as(PM, params={"exchange": ex if ex not in shown_ids(page_as(PM)) else 10**6})
    assert detail(at) == [] and panel(at) == NONE_CHOSEN and "exchange" not in at.query_params  # not the PM's


def test_a_row_click_opens_the_exchange_and_a_later_choice_in_the_panel_stays(store):
    """A click on a row opens that exchange and puts it in the URL, as before; a choice made afterwards in the opened
    panel is the one shown after the panel is closed again (the click's choice does not come back), and a new row
    click wins over it."""
    at = page_as(LEAD)
    ids = [int(i) for i in at.dataframe[0].value["exchange_id"]]
    click_row(at, 0)
    assert not at.exception and detail(at)[0].startswith(f"Exchange {ids[0]}: ")
    assert at.query_params["exchange"] == str(ids[0]) and panel(at).startswith(f"Exchange · {ids[0]} · ")
    at.session_state[PANEL] = True
    at.run()
    assert at.selectbox(key="exchange").value == ids[0]  # the box opens on the clicked exchange
    at.selectbox(key="exchange").set_value(ids[1]).run()
    assert detail(at)[0].startswith(f"Exchange {ids[1]}: ") and at.query_params["exchange"] == str(ids[1])
    at.session_state[PANEL] = False
    at.run()
    at.run()
    assert not at.exception and not [s for s in at.selectbox if s.key == "exchange"]
    assert detail(at)[0].startswith(f"Exchange {ids[1]}: ") and at.query_params["exchange"] == str(ids[1])
    assert panel(at).startswith(f"Exchange · {ids[1]} · ")
    click_row(at, 2)
    assert detail(at)[0].startswith(f"Exchange {ids[2]}: ") and at.query_params["exchange"] == str(ids[2])


def test_program_manager_sees_only_their_states_exchanges(store):
    at = page_as(PM)
    expected = exchanges.list_exchanges(store, PM)
    assert shown_ids(at) == sorted(expected["exchange_id"])
    assert all(m in PM.states or e in PM.states for m, e in zip(expected["mentor"], expected["mentee"]))
    assert len(expected) < len(exchanges.list_exchanges(store, LEAD))


def test_state_user_sees_only_its_own_exchanges_and_cannot_edit(store):
    at = page_as(STATE_MD)
    assert shown_ids(at) == sorted(int(i) for i in exchanges.list_exchanges(store, STATE_MD)["exchange_id"])
    assert not any(f.key == "new_exchange" for f in at.get("form"))
    assert not any(b.label == "Save" for b in at.get("form_submit_button"))
    assert any("program manager" in t.value for t in at.text)


def test_link_from_pairings_prefills_a_new_exchange_and_opens_it(store):
    at = page_as(PM, params={"mentor": "VA", "mentee": "PA", "area": "recovery"})
    assert not at.exception
    form = next(f for f in at.get("form") if f.key == "new_exchange")
    assert form.selectbox[0].value == "VA" and form.selectbox[1].value == "PA"
    assert form.multiselect[0].value == ["recovery"]
    form.text_area[0].input("PA asked at the regional meeting")
    form.form_submit_button[0].click()
    at.run()
    assert not at.exception
    new = exchanges.list_exchanges(store, LEAD).iloc[0]
    assert (new["mentor"], new["mentee"], new["program_areas"], new["status"], new["created_by"]) == (
        "VA",
        "PA",
        "recovery",
        "proposed",
        "Pat PM",
    )
    assert any(f"Exchange {new['exchange_id']} opened" in s.value for s in at.success)
    assert "mentor" not in at.query_params
    # the form stays open for the next one, and the user can close it (the link no longer reopens it)
    at.session_state["new_exchange_open"] = False
    at.run()
    assert not any(f.key == "new_exchange" for f in at.get("form"))


def test_pm_cannot_open_an_exchange_between_other_states(store):
    at = page_as(PM, params={"mentor": "CA", "mentee": "OR", "area": "exercises"})
    form = next(f for f in at.get("form") if f.key == "new_exchange")
    form.form_submit_button[0].click()
    at.run()
    assert any("not among your states" in e.value for e in at.error)
    df = exchanges.list_exchanges(store, LEAD)
    assert not ((df["mentor"] == "CA") & (df["mentee"] == "OR")).any()


def _proposed_exchange(con):
    df = exchanges.list_exchanges(con, LEAD)
    return int(df[(df["status"] == exchange_rules.PROPOSED) & (df["mentor"] == "TX")]["exchange_id"].iloc[0])


def test_recording_a_status_change_stores_who(store):
    ex = _proposed_exchange(store)
    at = page_as(LEAD, exchange=ex)
    form = next(f for f in at.get("form") if f.key.startswith(f"update_{ex}_"))
    form.selectbox(key=f"to_{ex}_1").select(exchange_rules.INTRODUCED)
    form.text_input(key=f"comment_{ex}_1").input("introduced by phone")
    form.form_submit_button[0].click()
    at.run()
    assert not at.exception
    row = exchanges.get(store, ex)
    assert row["status"] == exchange_rules.INTRODUCED and row["updated_by"] == "Lee Leader" and row["version"] == 2
    h = exchanges.history(store, ex).iloc[-1]
    assert (h["changed_by"], h["to_status"], h["comment"]) == (
        "Lee Leader",
        exchange_rules.INTRODUCED,
        "introduced by phone",
    )


def test_a_stale_edit_on_the_page_is_refused_and_writes_nothing(store):
    ex = _proposed_exchange(store)
    at = page_as(LEAD, exchange=ex)  # Lee opens version 1
    exchanges.update(store, ex, 1, "Other PM", status=exchange_rules.INTRODUCED)  # someone else changes it meanwhile
    before = (exchanges.get(store, ex), len(exchanges.history(store, ex)))
    form = next(f for f in at.get("form") if f.key.startswith(f"update_{ex}_1"))
    form.text_area(key=f"out_{ex}_1").input("Lee's note")
    form.form_submit_button[0].click()
    at.run()
    assert not at.exception
    assert any(f"exchange {ex} was changed by Other PM at" in e.value and "reload" in e.value for e in at.error)
    assert (exchanges.get(store, ex), len(exchanges.history(store, ex))) == before
    at.button(key=f"reload_{ex}").click()
    at.run()
    assert any(f.key == f"update_{ex}_2" for f in at.get("form"))


def test_ta_referrals_section_lists_referrals(store):
    exchanges.refer_to_ta(store, "MD", "recovery", 2026, "no eligible mentor", "Lee Leader")
    at = page_as(STATE_MD, params={exchange_rules.VIEW_KEY: exchange_rules.VIEW_TA})
    assert any(s.value == "Referred to technical assistance" for s in at.header)
    frames = [d.value for d in at.dataframe if "reason" in d.value.columns]
    assert frames and list(frames[0]["state"]) == ["MD"]


def test_empty_store_shows_a_friendly_page(tmp_path, monkeypatch):
    from shisn import demo
    from shisn.store import db

    path = tmp_path / "empty.duckdb"
    con = db.connect(path)
    demo.write_demo(con)  # assessments, then no exchanges at all
    for table in ("exchange_history", "exchanges", "ta_referrals"):
        con.cursor().execute(f"DELETE FROM {table}").fetchall()
    con.close()
    monkeypatch.setenv("SHISN_DB", str(path))
    at = page_as(LEAD)
    assert not at.exception
    assert any("No exchanges yet" in i.value for i in at.info)


def test_exchanges_page_without_viewer_shows_nothing(store, monkeypatch):
    monkeypatch.setenv("SHISN_DEMO_ROLES", "0")  # outside demo mode nobody is signed in by default
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception and "not signed in" in at.warning[0].value
    assert len(at.dataframe) == 0


# --- Program managers page -----------------------------------------------------------------------------------------


def test_program_managers_page_renders_for_leadership(store):
    at = page_as(LEAD, PM_PAGE)
    assert not at.exception
    assert at.title[0].value == "Program managers"
    assert any("Demo assignments" in i.value for i in at.info)
    assert [m.value for m in at.metric][0] == "56 of 56"


def test_program_managers_page_opens_cold_with_one_grid_and_the_other_tabs_on_request(store):
    """Opened cold the page draws the assignments editor (its unsaved edits survive a look at another tab, so it is
    drawn on every run) and not the other tabs' tables, which are drawn when their tab is opened."""
    at = page_as(LEAD, PM_PAGE)
    assert not at.exception and [list(d.value.columns)[:2] for d in at.dataframe] == [["state", "state_name"]]
    at = page_as(LEAD, PM_PAGE, pm_tab="Change log")  # what a click on the tab sets
    assert [list(d.value.columns)[:2] for d in at.dataframe] == [["state", "state_name"], ["changed_at", "changed_by"]]
    at = page_as(LEAD, PM_PAGE, pm_tab="By program manager")
    people = at.dataframe[1].value
    assert list(people.columns)[:2] == ["name", "email"] and people["count"].sum() == 56


def test_program_managers_page_opens_cold_without_the_uploader_which_loads_a_csv_on_request(store):
    """The "Load a CSV" tab's file uploader is in a panel drawn only when opened: a cold open fetches no
    file-uploader code. Opened, it loads a file as before."""
    at = page_as(LEAD, PM_PAGE)
    assert not at.exception and costly(at) == {}
    assert "Choose a CSV file to load" in [e.label for e in at.expander]
    assert not any(b.label == "Validate and load" for b in at.button)
    at.session_state["pm_load_open"] = True  # what a click on the panel sets
    at.run()
    [uploader] = at.get("file_uploader")
    uploader.set_value(("pms.csv", b"state,name,email\nVA,Vera Newman,vera@example.org\n", "text/csv")).run()
    next(b for b in at.button if b.label == "Validate and load").click().run()
    assert not at.exception
    assert any(s.value.startswith("loaded pms") and "1 changed" in s.value for s in at.success)
    got = store.cursor().execute("SELECT name, email FROM program_managers WHERE state = 'VA'").fetchall()
    assert got == [("Vera Newman", "vera@example.org")]


@pytest.mark.parametrize("viewer", [PM, STATE_MD], ids=["program_manager", "state"])
def test_program_managers_page_is_for_leadership_only(store, viewer):
    at = page_as(viewer, PM_PAGE)
    assert not at.exception
    assert "This page is for: ODP leadership" in at.warning[0].value
    assert len(at.get("arrow_data_frame")) == 0 and len(at.get("file_uploader")) == 0


def test_whole_app_registers_the_new_pages_and_renders_for_every_role(tmp_path, monkeypatch):
    monkeypatch.setenv("SHISN_DB", str(tmp_path / "app.duckdb"))
    source = (ROOT / "app.py").read_text()
    assert '("pages/exchanges.py", "Exchanges", ":material/forum:", "exchanges", ALL)' in source
    assert (
        '("pages/program_managers.py", "Program managers", ":material/badge:", "program_managers", (auth.LEADERSHIP,))'
        in source
    )
    for role in auth.ROLES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["demo_role"] = role
        at.run()
        assert not at.exception


@pytest.fixture
def files(monkeypatch):
    """The bytes of every file the pages hand to Streamlit for download, by the media URL's file id."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    held: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        file_id = load(self, path_or_data, mimetype, kind, filename)
        held[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return held


def downloaded(at, files, label):
    import io

    import pandas as pd

    [button] = [b for b in at.get("download_button") if b.proto.label == label]
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    return pd.read_csv(io.BytesIO(files[file_id]), encoding="utf-8-sig")


def test_the_exchanges_csv_is_the_viewers_own_and_shows_another_writers_edit(store, files):
    """The CSV is built once per content and cached across sessions: a PM's file holds only their states' exchanges
    (never leadership's file), and an edit by someone else (another replica) is in the next draw's file."""
    lead = downloaded(page_as(LEAD), files, "Download CSV")
    assert sorted(lead["id"]) == sorted(exchanges.list_exchanges(store, LEAD)["exchange_id"])
    mine = downloaded(page_as(PM), files, "Download CSV")
    assert sorted(mine["id"]) == sorted(exchanges.list_exchanges(store, PM)["exchange_id"]) and len(mine) < len(lead)
    row = exchanges.list_exchanges(store, PM).iloc[0]
    exchanges.update(
        store, int(row["exchange_id"]), int(row["version"]), "Another PM", outcome="Agreed a joint exercise."
    )
    again = downloaded(page_as(PM), files, "Download CSV").set_index("id")
    assert again.loc[int(row["exchange_id"]), "outcome"] == "Agreed a joint exercise."


# --- program managers' contacts: one rule for the page and the pairing brief --------------------------------------

CONTACTS = b"state,name,email\nVA,Vic Mentorpm,vic.mentorpm@example.org\nMD,Mo Menteepm,mo.menteepm@example.org\n"


def _va_md_exchange(store) -> int:
    from shisn.services import assignments

    assignments.load_csv(store, "pms.csv", CONTACTS, "test")  # each state its own PM, so the two can be told apart
    df = exchanges.list_exchanges(store, LEAD)
    return int(df[(df["mentor"] == "VA") & (df["mentee"] == "MD")]["exchange_id"].iloc[0])


def _shown_text(at) -> str:
    """Everything the page drew as text (escapes removed) and every table's cells."""
    import re

    parts = [
        e.value
        for kind in ("markdown", "caption", "text", "info", "warning", "error", "success", "subheader")
        for e in at.get(kind)
    ]
    parts += [d.value.to_csv() for d in at.dataframe]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))


def _brief_contacts(html: str) -> dict:
    import re

    blocks = re.findall(
        r"<div class='state' data-state='(\w+)'>.*?<strong>Program manager</strong>: (.*?) · (.*?)"
        r"</div></div>",
        html,
        re.S,
    )
    return {code: (name, email) for code, name, email in blocks}


def _page_contacts(at) -> dict:
    import re

    out = {}
    for m in at.markdown:
        got = re.match(r"\*\*(?:Mentor|Mentee)\*\* · (\w+) · .*:material/badge: (.*)", m.value, re.S)
        if got:
            label = re.sub(r"\\(.)", r"\1", got.group(2))
            name, _, email = label.partition(" <")
            out[got.group(1)] = (name, email.rstrip(">"))
    return out


@pytest.mark.parametrize(
    "viewer",
    [
        STATE_MD,
        auth.Viewer(auth.STATE, "VA state user", ("VA",)),
        auth.Viewer(auth.PROGRAM_MANAGER, "Vic Mentorpm", ("VA",)),
    ],
    ids=["mentee_state", "mentor_state", "one_partys_pm"],
)
def test_a_party_sees_both_program_managers_the_same_in_the_brief_and_on_the_page(store, viewer):
    from shisn.render import brief

    ex = _va_md_exchange(store)
    both = {"VA": ("Vic Mentorpm", "vic.mentorpm@example.org"), "MD": ("Mo Menteepm", "mo.menteepm@example.org")}
    assert _brief_contacts(brief.render(store, ex, viewer)) == both
    at = page_as(viewer, exchange=ex)
    assert not at.exception
    assert _page_contacts(at) == both
    [table] = [d.value for d in at.dataframe if "mentor_pm_name" in d.value.columns]
    row = table[table["exchange_id"] == ex].iloc[0]
    assert (row["mentor_pm_name"], row["mentee_pm_name"]) == ("Vic Mentorpm", "Mo Menteepm")


def test_a_state_that_is_not_a_party_never_sees_the_contacts(store):
    from shisn.render import brief
    from shisn.services import assignments

    ex = _va_md_exchange(store)
    df = exchanges.list_exchanges(store, LEAD)
    partners = set(df[df["mentor"].isin(["VA", "MD"])]["mentee"]) | set(df[df["mentee"].isin(["VA", "MD"])]["mentor"])
    outsider = next(c for c in ("GU", "AS", "MP", "VI", "HI", "AK", "ME") if c not in partners | {"VA", "MD"})
    viewer = auth.Viewer(auth.STATE, f"{outsider} state user", (outsider,))
    with pytest.raises(PermissionError):
        brief.render(store, ex, viewer)
    assert {pm["email"] for pm in assignments.exchange_pms(store, "VA", "MD", viewer).values()} == {""}
    at = page_as(viewer, exchange=ex)
    assert not at.exception and ex not in shown_ids(at)
    text = _shown_text(at)
    assert "vic.mentorpm@example.org" not in text and "mo.menteepm@example.org" not in text
