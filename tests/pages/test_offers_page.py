"""The Offers and practices page in Streamlit's AppTest, per role, on the demo store: a draft is seen only by its
state, its program manager and leadership (never in a search result); publishing puts it in the search, a typo still
finds it, withdrawing takes it out; a state user describes and publishes an offer through the form; another state's
user asks for an introduction from it and the request names the offer (on the Exchanges page and in the pairing
brief); a pair that is not eligible, a stale write and a missing field are said in words; user text stays text; the
national panels and the state profile link to the published ones."""

import datetime as dt
import re

import pytest
from streamlit.testing.v1 import AppTest

from shisn.domain import auth, basics, exchange_rules
from shisn.render import brief
from shisn.services import exchanges, offers, practices
from shisn.store import db
from tests import support
from tests.support import ROOT

PAGE = ROOT / "pages" / "offers.py"
MINE = {"offers_view": "Your offers and practices"}
NJ_USER = auth.Viewer(auth.STATE, "Jo Jersey", ("NJ",))
VA_USER = auth.Viewer(auth.STATE, "Val Virginia", ("VA",))
MD_USER = auth.Viewer(auth.STATE, "Mo Maryland", ("MD",))
NJ_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Nia PM", ("NJ", "NY"))
OTHER_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("DC", "DE", "MD", "PA", "VA", "WV"))
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
MARK = "RADIODRILLMARK"  # in the title: free of Markdown-escaped characters, so escaped text still matches
OFFER = dict(
    program_area="interoperability",
    title=f"Statewide radio interoperability drills {MARK}",
    covers="How we run quarterly radio drills across 21 counties.\nAfter-action template included.",
    formats=["teleconference", "on_site_visit"],
    capacity=3,
    lead_time_days=30,
    prepare="Your TICP and a list of county contacts.",
)


@pytest.fixture
def store(demo_db, monkeypatch):
    # every write a second after the one before: the store's version of the offers and practices tables (what the
    # page's cached lists and search index are keyed by) is their latest change time to the second and their count,
    # so two changes within one second would read as one (see the report on shisn/store/db.py's _VERSION_EXPR)
    clock = iter(range(10**6))
    start = dt.datetime.now().replace(microsecond=0) + dt.timedelta(minutes=1)  # after the demo set's writes
    monkeypatch.setattr(basics, "now", lambda: start + dt.timedelta(seconds=next(clock)))
    con = db.connect(demo_db)
    for r in offers.published(con, state="NJ").itertuples():  # the demo's own offers of NJ: it may publish afresh
        offers.withdraw(con, LEAD, r.offer_id, r.version)
    yield con
    con.close()


def own(frame):
    """The rows a test wrote (not the demo set's synthetic ones)."""
    return frame[~frame["synthetic"].astype(bool)]


def page_as(viewer, **query):
    return support.page_as(viewer, PAGE, query)


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def payload(at) -> bytes:
    """Everything the page sent to the browser (every element's serialised message)."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            out.append(proto.SerializeToString())
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return b"".join(out)


def texts(at) -> str:
    return " ".join(
        e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in getattr(at, kind)
    ).replace("\\", "")


def result_titles(at) -> list[str]:
    """The titles of the search results (each a subheader in the Search view)."""
    return [h.value.replace("\\", "") for h in at.subheader]


def search(viewer, q: str, **filters):
    return ok(page_as(viewer, q=q, **filters))


# --- who sees a draft ---------------------------------------------------------------------------------------------


WRITERS = [NJ_USER, NJ_PM, LEAD]
OTHERS = [VA_USER, OTHER_PM]


@pytest.mark.parametrize("viewer", WRITERS + OTHERS, ids=["nj-state", "nj-pm", "leadership", "va-state", "other-pm"])
def test_a_draft_is_seen_only_by_its_state_its_pm_and_leadership_and_never_in_a_search(store, viewer):
    oid = offers.create(store, NJ_USER, state="NJ", **OFFER)
    writer = viewer in WRITERS
    detail = ok(page_as(viewer, offer=oid))
    if writer:
        assert detail.header[0].value.replace("\\", "") == f"Offer {oid}: {OFFER['title']}"
        assert "Status: draft" in texts(detail)
        assert any(b.label == f"Publish offer {oid}" for b in detail.button)
        assert any("History" == s.value for s in detail.subheader)  # its history, for those who may write it
    else:
        assert not detail.header and MARK.encode() not in payload(detail)
        assert f"There is no offer {oid} you may see" in detail.warning[0].value
    found = search(viewer, "radio drills")
    assert MARK.encode() not in payload(found)  # the index holds published entries only
    mine = ok(page_as(viewer, **MINE, state="NJ"))
    assert (MARK.encode() in payload(mine)) is writer


# --- publish, search, typo, withdraw ----------------------------------------------------------------------------


def test_publishing_puts_it_in_the_search_a_typo_finds_it_and_withdrawing_takes_it_out(store):
    oid = offers.create(store, NJ_USER, state="NJ", **OFFER)
    at = ok(page_as(NJ_PM, **MINE, state="NJ"))  # the PM of NJ publishes it from the list of NJ's offers
    at.button(key=f"offer_published_{oid}_1_offers").click().run()
    ok(at)
    assert offers.get(store, oid)["status"] == offers.PUBLISHED
    assert f"Offer {oid} published" in texts(at)

    found = search(VA_USER, "interoperabilty drills")  # a typo
    assert OFFER["title"] in result_titles(found)
    assert "interoperabilty→interoperability" in texts(found)  # the result says what the typo matched
    card = texts(found)
    assert "Offer " + str(oid) in card and "New Jersey (NJ)" in card and "up to 3 exchanges a cycle" in card
    assert "formats: teleconference, on-site visit" in card
    # the filters narrow it, from the URL
    assert OFFER["title"] in result_titles(
        search(VA_USER, "", area="interoperability", region="2", format="on_site_visit")
    )
    assert OFFER["title"] not in result_titles(search(VA_USER, "", region="3"))
    assert OFFER["title"] not in result_titles(search(VA_USER, "radio", kind="practice"))
    opened = ok(found.button(key=f"open_offer_{oid}").click().run())  # a result opens its detail
    assert opened.query_params["offer"] == [str(oid)] or opened.query_params["offer"] == str(oid)
    assert opened.header[0].value.replace("\\", "") == f"Offer {oid}: {OFFER['title']}"

    at = ok(page_as(NJ_USER, offer=oid))  # NJ withdraws it from its detail
    at.button(key=f"offer_withdrawn_{oid}_2_detail").click().run()
    ok(at)
    assert offers.get(store, oid)["status"] == offers.WITHDRAWN
    assert OFFER["title"] not in result_titles(search(VA_USER, "radio drills"))
    assert "There is no offer" in ok(page_as(VA_USER, offer=oid)).warning[0].value


# --- the form -----------------------------------------------------------------------------------------------------


def _fill_offer_form(at, state: str):
    form = next(f for f in at.get("form") if f.key.startswith(f"new_offer_{state}_"))
    k = form.key
    at.text_input(key=f"{k}_title").input(OFFER["title"])
    at.selectbox(key=f"{k}_area").select("interoperability")
    at.text_area(key=f"{k}_covers").input(OFFER["covers"])
    at.multiselect(key=f"{k}_formats").select("teleconference").select("on_site_visit")
    at.number_input(key=f"{k}_capacity").set_value(3)
    at.number_input(key=f"{k}_lead").set_value(30)
    return form


def test_a_state_user_describes_and_publishes_an_offer_through_the_form(store):
    at = ok(page_as(NJ_USER, **MINE))
    assert not at.get("form")  # the form is drawn when its panel is opened
    at.session_state["new_offer_open_NJ"] = True  # what a click on "Describe a new offer" sets
    ok(at.run())
    form = next(f for f in at.get("form") if f.key.startswith("new_offer_NJ_"))
    form.form_submit_button[1].click()  # Publish, with nothing filled in
    ok(at.run())
    assert "Choose the offer's program area." in [e.value.replace("\\", "") for e in at.error]
    assert own(offers.visible(store, None, state="NJ")).empty  # nothing written

    form = _fill_offer_form(at, "NJ")
    at.text_input(key=f"{form.key}_title").input("")  # no title: said in words, nothing written
    form.form_submit_button[1].click()
    ok(at.run())
    assert any("say the title" in e.value for e in at.error) and own(offers.visible(store, None, state="NJ")).empty

    form = _fill_offer_form(at, "NJ")
    assert [b.label for b in form.form_submit_button] == ["Save as draft", "Publish"]
    form.form_submit_button[1].click()
    ok(at.run())
    got = own(offers.visible(store, None, state="NJ"))
    assert len(got) == 1 and got["status"].iloc[0] == offers.PUBLISHED and got["title"].iloc[0] == OFFER["title"]
    assert got["formats"].iloc[0] == "teleconference,on_site_visit" and int(got["capacity"].iloc[0]) == 3
    assert any(f"Offer {int(got['offer_id'].iloc[0])} published" in s.value for s in at.success)
    assert OFFER["title"] in result_titles(search(VA_USER, "interoperability"))
    new = next(f for f in at.get("form") if f.key.startswith("new_offer_NJ_"))
    assert at.text_input(key=f"{new.key}_title").value == ""  # the next form starts empty

    # a second published offer in the same area is refused in words
    form = _fill_offer_form(at, "NJ")
    form.form_submit_button[1].click()
    ok(at.run())
    assert any("already has a published offer" in e.value for e in at.error)
    form = _fill_offer_form(at, "NJ")
    form.form_submit_button[0].click()  # as a draft it may be kept
    ok(at.run())
    assert sorted(own(offers.visible(store, None, state="NJ"))["status"]) == [offers.DRAFT, offers.PUBLISHED]


def test_an_edit_of_a_version_someone_else_changed_is_refused_with_a_reload(store):
    oid = offers.create(store, NJ_USER, state="NJ", **OFFER)
    at = ok(page_as(NJ_USER, **MINE))
    offers.update(store, NJ_PM, oid, 1, capacity=5)  # meanwhile the PM changes it
    at.button(key=f"offer_published_{oid}_1_offers").click().run()  # the button of the version the user saw
    ok(at)
    warning = at.warning[0].value.replace("\\", "")
    assert f"offer {oid} was changed by Nia PM" in warning and "reload" in warning
    assert offers.get(store, oid)["status"] == offers.DRAFT  # nothing written
    assert any(b.label == "Reload" for b in at.button)
    at.button(key="reload_offers").click().run()
    ok(at)
    assert not at.warning and any(b.key == f"offer_published_{oid}_2_offers" for b in at.button), [
        b.key for b in at.button
    ]


# --- an introduction asked for from an offer ------------------------------------------------------------------------


def test_another_state_asks_for_an_introduction_from_the_offer_and_the_request_names_it(store):
    oid = offers.create(store, NJ_USER, state="NJ", publish=True, **OFFER)
    mine = ok(page_as(NJ_USER, offer=oid))
    assert not any(f.key.startswith("offer_request_") for f in mine.get("form"))  # not from its own state's offer

    md = ok(page_as(MD_USER, offer=oid))  # MD rates interoperability 4 and does not seek help there
    form = next(f for f in md.get("form") if f.key == f"offer_request_{oid}")
    form.form_submit_button[0].click()
    ok(md.run())
    error = md.error[0].value.replace("\\", "")
    assert error.startswith("The introduction was not requested: ") and "MD is not seeking guidance" in error
    assert exchanges.requests_of(store, MD_USER, "MD").empty

    va = ok(page_as(VA_USER, offer=oid))  # VA seeks guidance in interoperability
    form = next(f for f in va.get("form") if f.key == f"offer_request_{oid}")
    assert [b.label for b in form.form_submit_button] == ["Ask for an introduction"]
    va.text_area(key=f"offer_request_{oid}_message").input("Could we join your next drill?")
    form.form_submit_button[0].click()
    ok(va.run())
    req = exchanges.requests_of(store, VA_USER, "VA")
    assert len(req) == 1
    ex = int(req["exchange_id"].iloc[0])
    got = exchanges.get(store, ex)
    assert (got["mentor"], got["mentee"], got["program_areas"], got["status"]) == (
        "NJ",
        "VA",
        "interoperability",
        exchange_rules.REQUESTED,
    )
    assert got["request_message"] == "Could we join your next drill?"
    assert int(offers.of_exchange(store, ex)["offer_id"]) == oid
    assert any(f"Request {ex} sent" in s.value for s in va.success)
    assert f"/exchanges?exchange={ex}" in texts(va)

    # the exchange names the offer it was asked from; so does the pairing brief, with NJ's practices there
    shown = support.page_as(OTHER_PM, ROOT / "pages" / "exchanges.py", {"exchange": ex})
    ok(shown)
    assert f"Requested from offer {oid}: {OFFER['title']}" in texts(shown)
    assert f"/offers?offer={oid}" in texts(shown)
    practices.create(
        store,
        NJ_USER,
        state="NJ",
        publish=True,
        program_area="interoperability",
        title="A <b>shared</b> talkgroup plan",
        summary="One plan with our neighbours.",
    )
    html = brief.render(store, ex, OTHER_PM)
    assert f"Offer {oid}: Statewide radio interoperability drills {MARK}" in html
    assert "The request was made from this offer." in html and "up to 3 exchange(s) a cycle" in html
    assert "A &lt;b&gt;shared&lt;/b&gt; talkgroup plan" in html and "<b>shared" not in html


# --- practices ----------------------------------------------------------------------------------------------------


def test_a_practice_is_private_until_published_and_then_found_and_linked_from_the_offer(store):
    oid = offers.create(store, NJ_USER, state="NJ", publish=True, **OFFER)
    at = ok(page_as(NJ_USER, **MINE))
    at.session_state["new_practice_open_NJ"] = True
    ok(at.run())
    form = next(f for f in at.get("form") if f.key.startswith("new_practice_NJ_"))
    k = form.key
    at.selectbox(key=f"{k}_area").select("interoperability")
    at.text_input(key=f"{k}_title").input("One talkgroup plan PRACTICEMARK")
    at.text_area(key=f"{k}_summary").input("We wrote one talkgroup plan with our neighbours.")
    at.text_area(key=f"{k}_documents").input("Talkgroup plan\nMOU template")
    assert [b.label for b in form.form_submit_button] == ["Keep private", "Publish"]
    form.form_submit_button[0].click()  # kept private
    ok(at.run())
    [pid] = own(practices.visible(store, None, state="NJ"))["practice_id"].astype(int).tolist()
    assert practices.get(store, pid)["status"] == practices.PRIVATE
    for viewer in (VA_USER, OTHER_PM):
        assert b"PRACTICEMARK" not in payload(ok(page_as(viewer, practice=pid)))
        assert b"PRACTICEMARK" not in payload(search(viewer, "talkgroup"))
    assert b"PRACTICEMARK" in payload(ok(page_as(NJ_PM, practice=pid)))

    at.button(key=f"practice_publish_{pid}_1_practices").click().run()
    ok(at)
    assert practices.get(store, pid)["status"] == practices.PUBLISHED
    found = search(VA_USER, "talkgroup")
    assert "One talkgroup plan PRACTICEMARK" in result_titles(found)
    detail = ok(page_as(VA_USER, practice=pid))
    assert "- Talkgroup plan\n- MOU template" in "\n".join(m.value for m in detail.markdown)
    assert any(
        b.label.replace("\\", "") == f"Offer {oid}: {OFFER['title']}" for b in detail.button
    )  # its state's offer
    offer_page = ok(page_as(VA_USER, offer=oid))
    assert any(
        b.label.replace("\\", "") == f"Practice {pid}: One talkgroup plan PRACTICEMARK" for b in offer_page.button
    )


# --- user text stays text; the panels elsewhere link here ------------------------------------------------------------


def test_user_text_is_shown_as_text(store):
    evil = "[click](http://example.com) <img src=x> **bold**"
    oid = offers.create(store, NJ_USER, state="NJ", publish=True, **{**OFFER, "title": evil, "covers": evil})
    for at in (search(VA_USER, "click"), ok(page_as(VA_USER, offer=oid))):
        for m in at.markdown:
            assert "](" not in m.value and not re.search(r"(?<!\\)<", m.value), m.value  # no link, no HTML
            assert "**bold**" not in m.value, m.value


def test_the_state_profile_and_the_national_panels_link_to_the_published_ones(store):
    draft = offers.create(store, NJ_USER, state="NJ", **{**OFFER, "program_area": "recovery", "title": "Draft only"})
    oid = offers.create(store, NJ_USER, state="NJ", publish=True, **OFFER)
    profile = ok(support.page_as(VA_USER, ROOT / "pages" / "state_profile.py", {"state": "NJ"}))
    text = texts(profile)
    assert f"Offer {oid}: {OFFER['title']} · NJ · Interoperability · up to 3 exchanges a cycle" in text
    assert f"/offers?offer={oid}" in text and "Draft only" not in text and f"offer={draft}" not in text
    own = ok(support.page_as(NJ_USER, ROOT / "pages" / "state_profile.py", {}))
    assert "/offers?offers_view=Your offers and practices&state=NJ" in texts(own)
    # the national page (in the app: its panels link to other pages) lists them in the heatmap cell's panel
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["demo_role"] = auth.LEADERSHIP
    for k, v in {"view": "Strengths and gaps", "selected_state": "VA", "selected_area": "interoperability"}.items():
        at.query_params[k] = v
    national = ok(at.run())
    assert national.title[0].value == "National coverage"
    links = [e for e in national.get("page_link") if "offers" in e.proto.page]
    text = texts(national)
    assert "Published offers and practices of its eligible mentors in" in text
    assert any(f"Offer {oid}: " in e.proto.label and "offer=" + str(oid) in str(e.proto) for e in links), [
        str(e.proto) for e in links
    ]
