"""The Work queue page and the role messages in Streamlit's AppTest: counts per kind, items oldest first
linking to their pages, an empty queue says so; a role that may not use a page reads, on the page, whom it is for
and where to go instead, and gets none of its data."""

import glob
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from shisn.domain import auth, exchange_rules
from shisn.services import exchanges, queue
from shisn.store import db, settings
from tests import support
from tests.support import ROOT

PAGE = str(ROOT / "pages" / "queue.py")
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
PM = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("DC", "DE", "MD", "PA", "VA", "WV"))
MD_USER = auth.Viewer(auth.STATE, "MD state user", ("MD",))


@pytest.fixture
def store(demo_db):
    con = db.connect(demo_db)
    yield con
    con.close()


def page_as(viewer, path=PAGE, **query):
    return support.page_as(viewer, path, query)


def test_pm_sees_counts_per_kind_and_the_items_oldest_first(store):
    cycle = max(exchanges.list_exchanges(store, LEAD)["cycle"])
    mentors = exchanges.request_choices("MD", *_partners(store, "MD", cycle))
    c = mentors[0]
    ex = exchanges.request_introduction(store, MD_USER, c["mentor"], c["mentee"], [c["program_area"]], cycle, "hello")
    at = page_as(PM)
    assert not at.exception and at.title[0].value == "Work queue"
    expected = queue.items(store, PM)
    tiles = dict(b.label.split(" · ", 1)[::-1] for b in at.button if b.key and b.key.startswith("queue_kind_"))
    tiles = {k: int(v) for k, v in tiles.items()}
    assert tiles == {"All": len(expected), **{queue.KIND_LABELS[k]: n for k, n in queue.counts(expected).items()}}
    assert tiles["Introduction requests"] == 1
    # run on its own (no app navigation) each item names its address; in the app it is a page link (e2e test)
    items = [m.value for m in at.markdown if "`/" in m.value]
    assert len(items) == len(expected)
    assert f"Request {ex}: MD asks to be mentored by {c['mentor']}" in items[0].replace("\\", "")
    assert items[0].endswith(f"`/exchanges?exchange={ex}`")


def _partners(con, state, cycle):
    from shisn.domain import profile
    from shisn.store import queries

    p = profile.build(queries.assessments(con, cycle), state, cycle, MD_USER)
    return p.mentors, p.mentees


def test_an_empty_queue_says_so(store):
    no_states = auth.Viewer(auth.PROGRAM_MANAGER, "New PM", ())
    at = page_as(no_states)
    assert not at.exception
    assert any("Nothing needs your action" in s.value for s in at.success)
    assert sorted(b.label for b in at.button if (b.key or "").startswith("queue_kind_")) == sorted(
        ["0 · All"] + [f"0 · {label}" for label in queue.KIND_LABELS.values()]
    )


def test_leadership_sets_the_stuck_days(store):
    at = page_as(LEAD)
    assert not at.exception and not at.get("form")  # the setting's form is drawn only when its expander is opened
    at.session_state["stuck_days_open"] = True  # what a click on the expander sets
    at.run()
    at.number_input(key="stuck_days").set_value(45)
    next(f for f in at.get("form") if f.key == "stuck_days_form").form_submit_button[0].click()
    at.run()
    assert settings.stuck_days(store) == 45
    assert not page_as(PM).get("form")  # a PM reads the setting, leadership changes it


PAGES = sorted(Path(p).name for p in glob.glob(str(ROOT / "pages" / "*.py")))
DENIED = [
    ("national.py", MD_USER),
    ("pairings.py", MD_USER),
    ("program_managers.py", MD_USER),
    ("users.py", MD_USER),
    ("queue.py", MD_USER),
    ("program_managers.py", PM),
    ("users.py", PM),
]


@pytest.mark.parametrize("page, viewer", DENIED, ids=[f"{p}-{v.role}" for p, v in DENIED])
def test_a_page_a_role_may_not_open_says_whom_it_is_for_and_where_to_go(store, page, viewer):
    at = page_as(viewer, str(ROOT / "pages" / page))
    assert not at.exception
    warning = at.warning[0].value.replace("\\", "")  # (the label is Markdown-escaped)
    assert "This page is for:" in warning and f"You are viewing as {viewer.label}" in warning
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    if viewer.role == auth.STATE:
        assert "Your state's profile" in text and "/state_profile?state=MD" in text
    else:
        assert "Your work queue" in text
    assert "is for" in text
    assert not at.dataframe and not at.metric and not at.get("plotly_chart") and not at.get("deck_gl_json_chart")
    assert not at.get("download_button") and not at.get("file_uploader")


def test_the_whole_app_registers_every_page_for_every_role_and_lands_a_pm_on_the_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("SHISN_DB", str(tmp_path / "app.duckdb"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["demo_role"] = auth.PROGRAM_MANAGER
    at.run()
    assert not at.exception
    assert at.title[0].value == "Work queue"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["demo_role"] = auth.STATE
    at.run()
    assert not at.exception and at.title[0].value == "State profile"


# --- introduction requests on the pages, per role --------------------------------------------------------------

EX_PAGE = str(ROOT / "pages" / "exchanges.py")
PROFILE_PAGE = str(ROOT / "pages" / "state_profile.py")
SECRET = "SECRETREQUESTMESSAGE"


def _payload(at) -> bytes:
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            out.append(proto.SerializeToString())
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return b"".join(out)


@pytest.fixture
def request_id(store):
    cycle = max(queries_cycles(store))
    c = next(c for c in exchanges.request_choices("MD", *_partners(store, "MD", cycle)) if c["mentor"] != "VA")
    return exchanges.request_introduction(store, MD_USER, c["mentor"], "MD", [c["program_area"]], cycle, SECRET), c


def queries_cycles(con):
    from shisn.store import queries

    return queries.cycles(con)


def test_a_state_user_requests_an_introduction_on_its_profile(store):
    at = page_as(MD_USER, PROFILE_PAGE, profile_view="Partners and exchanges")
    assert not at.exception
    form = next(f for f in at.get("form") if f.key == "profile_request")
    form.text_area[0].input("Please introduce us")
    form.form_submit_button[0].click()
    at.run()
    assert not at.exception and any("sent" in s.value for s in at.success)
    got = exchanges.requests_of(store, MD_USER, "MD")
    assert len(got) == 1 and got["request_message"].iloc[0] == "Please introduce us"
    assert got["status"].iloc[0] == exchange_rules.REQUESTED
    other = page_as(
        auth.Viewer(auth.STATE, "NJ user", ("NJ",)), PROFILE_PAGE, state="MD", profile_view="Partners and exchanges"
    )
    assert not other.get("form") and b"Please introduce us" not in _payload(other)


def test_the_asking_state_may_withdraw_the_partner_only_reads_and_a_third_state_sees_nothing(store, request_id):
    ex, c = request_id
    partner = auth.Viewer(auth.STATE, "Mentor user", (c["mentor"],))
    third = auth.Viewer(auth.STATE, "NJ user", ("NJ",))
    md = page_as(MD_USER, EX_PAGE, exchange=str(ex))
    assert not md.exception and SECRET.encode() in _payload(md)
    assert any(b.label == "Withdraw the request" for b in md.button)
    assert not any(f.key.startswith("answer_") for f in md.get("form"))
    mentor = page_as(partner, EX_PAGE, exchange=str(ex))
    assert SECRET.encode() in _payload(mentor)  # one of the two states: reads it
    assert not any(b.label == "Withdraw the request" for b in mentor.button)
    assert not any(f.key.startswith("answer_") for f in mentor.get("form"))
    outsider = page_as(third, EX_PAGE, exchange=str(ex))
    assert not outsider.exception and SECRET.encode() not in _payload(outsider)
    assert not any(f.key.startswith("answer_") for f in outsider.get("form"))
    md.button(key=f"withdraw_{ex}").click().run()
    assert (
        exchanges.get(store, ex)["status"] == exchange_rules.DECLINED
        and exchanges.get(store, ex)["decline_reason"] == "withdrawn by MD"
    )


def test_either_pm_answers_on_the_exchange_and_the_second_sees_who_answered(store, request_id):
    ex, c = request_id
    first = page_as(PM, EX_PAGE, exchange=str(ex))
    mentor_pm = auth.Viewer(auth.PROGRAM_MANAGER, "Mentor PM", (c["mentor"],))
    second = page_as(mentor_pm, EX_PAGE, exchange=str(ex))
    assert SECRET.encode() in _payload(first) and SECRET.encode() in _payload(second)
    form = next(f for f in first.get("form") if f.key.startswith(f"answer_{ex}_"))
    form.form_submit_button[0].click()  # Accept (as proposed)
    first.run()
    assert not first.exception and exchanges.get(store, ex)["status"] == exchange_rules.PROPOSED
    form = next(f for f in second.get("form") if f.key.startswith(f"answer_{ex}_"))
    form.text_input[0].input("no capacity")
    form.form_submit_button[1].click()  # Decline, on the version it read
    second.run()
    assert any("was already accepted (now proposed) by Pat PM" in e.value.replace("\\", "") for e in second.error)
    assert exchanges.get(store, ex)["status"] == exchange_rules.PROPOSED


def test_decisions_come_first_and_a_count_shows_only_its_kind(store):
    cycle = max(exchanges.list_exchanges(store, LEAD)["cycle"])
    c = exchanges.request_choices("MD", *_partners(store, "MD", cycle))[0]
    ex = exchanges.request_introduction(store, MD_USER, c["mentor"], c["mentee"], [c["program_area"]], cycle, "hello")
    items = queue.items(store, LEAD)
    kinds = items["kind"].tolist()
    decided = [k in queue.DECISIONS for k in kinds]
    assert decided == sorted(decided, reverse=True)  # every request or review before any other item
    assert kinds[0] == queue.REQUEST and len(set(kinds)) > 1
    at = page_as(LEAD)
    [tile] = [b for b in at.button if b.key == f"queue_kind_{queue.REQUEST}"]
    at = tile.click().run()
    assert not at.exception and at.query_params["kind"] == queue.REQUEST
    shown = [m.value for m in at.markdown if "`/" in m.value]
    assert len(shown) == 1 and f"/exchanges?exchange={ex}" in shown[0]
    at = [b for b in at.button if b.key == "queue_kind_all"][0].click().run()
    assert len([m.value for m in at.markdown if "`/" in m.value]) == min(len(items), 150)
    none = page_as(LEAD, kind=queue.REVIEW)
    assert "None now: self-assessments to review." in [i.value for i in none.info]
