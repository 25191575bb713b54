"""Published offers and the practices library on both engines: who writes and who sees what, the life of an offer
with its history, one published offer per state and area, practices from held exchanges, requests made from an
offer, and that nothing private reaches a search."""

import pytest

from shisn.domain import auth, exchange_rules
from shisn.services import exchanges, library, offers, practices
from shisn.store import ingest
from tests.support import make_csv

CYCLE = 2025
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
VA_USER = auth.Viewer(auth.STATE, "Val (VA)", ("VA",))
MD_USER = auth.Viewer(auth.STATE, "Mo (MD)", ("MD",))
VA_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Vic PM", ("VA",))
MD_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("MD", "DE"))

OFFER = dict(
    program_area="exercises",
    title="Tabletop exercise design clinic",
    covers="How we design HSEEP tabletop exercises for county emergency managers, with our templates.",
    formats=["teleconference", "on-site visit"],
    capacity=2,
    lead_time_days=30,
    prepare="Your last after-action report",
)


@pytest.fixture
def con(con):
    rows = [
        ["VA", "exercises", CYCLE, 5, "yes", "no", ""],
        ["VA", "training", CYCLE, 4, "yes", "no", ""],
        ["MD", "exercises", CYCLE, 2, "no", "yes", ""],
        ["DE", "exercises", CYCLE, 2, "no", "yes", ""],
    ]
    ingest.load(con, [("o.csv", make_csv(rows))], "tester")
    return con


def test_a_draft_is_seen_by_its_state_its_pm_and_leadership_only(con):
    oid = offers.create(con, VA_USER, state="VA", **OFFER)
    for viewer in (VA_USER, VA_PM, LEAD):
        assert oid in set(offers.visible(con, viewer)["offer_id"]), viewer.name
    for viewer in (MD_USER, MD_PM):
        assert oid not in set(offers.visible(con, viewer)["offer_id"]), viewer.name
    assert offers.published(con).empty
    assert library.entries(con).empty  # nothing private is an entry of the search


def test_publishing_shows_it_to_everyone_and_in_search_and_withdrawing_takes_it_back(con):
    oid = offers.create(con, VA_USER, state="VA", **OFFER)
    v = offers.publish(con, VA_USER, oid, 1)
    assert v == 2 and oid in set(offers.visible(con, MD_USER)["offer_id"])
    found = library.index(con).search("tabletop excercise")  # a typo
    assert list(found["id"]) == [oid] and found["kind"].iloc[0] == library.OFFER
    offers.withdraw(con, VA_PM, oid, v)
    assert oid not in set(offers.visible(con, MD_USER)["offer_id"])
    assert library.index(con).search("tabletop").empty
    hist = offers.history(con, oid)
    assert list(hist["to_status"]) == ["draft", "published", "withdrawn"]
    assert list(hist["changed_by"]) == ["Val (VA)", "Val (VA)", "Vic PM"]


def test_only_the_state_its_pm_or_leadership_write_its_offers(con):
    with pytest.raises(offers.NotAllowed):
        offers.create(con, MD_USER, state="VA", **OFFER)
    with pytest.raises(offers.NotAllowed):
        offers.create(con, MD_PM, state="VA", **OFFER)
    oid = offers.create(con, LEAD, state="VA", **OFFER)
    with pytest.raises(offers.NotAllowed):
        offers.update(con, MD_USER, oid, 1, title="Taken over")
    assert offers.get(con, oid)["title"] == OFFER["title"]


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("program_area", "juggling", "program area"),
        ("title", "", "title"),
        ("formats", ["carrier pigeon"], "format"),
        ("formats", [], "format"),
        ("capacity", 0, "capacity"),
        ("capacity", 99, "capacity"),
        ("capacity", "two", "capacity"),
        ("lead_time_days", -1, "lead time"),
        ("covers", "x" * (offers.MAX_TEXT + 1), "limit"),
    ],
)
def test_a_bad_field_is_refused_naming_it_and_nothing_is_written(con, field, value, says):
    with pytest.raises(offers.OfferError, match=says):
        offers.create(con, VA_USER, state="VA", **{**OFFER, field: value})
    assert offers.visible(con, LEAD).empty


def test_one_published_offer_per_state_and_area(con):
    first = offers.create(con, VA_USER, state="VA", publish=True, **OFFER)
    with pytest.raises(offers.OfferError, match=f"offer {first}"):
        offers.create(con, VA_USER, state="VA", publish=True, **{**OFFER, "title": "Another clinic"})
    second = offers.create(con, VA_USER, state="VA", **{**OFFER, "title": "Another clinic"})  # a draft is fine
    with pytest.raises(offers.OfferError, match="one published offer per state and program area"):
        offers.publish(con, VA_USER, second, 1)
    other_area = offers.create(con, VA_USER, state="VA", publish=True, **{**OFFER, "program_area": "training"})
    assert set(offers.published(con)["offer_id"]) == {first, other_area}


def test_a_stale_write_is_refused_and_names_who_changed_it(con):
    oid = offers.create(con, VA_USER, state="VA", **OFFER)
    offers.update(con, VA_PM, oid, 1, capacity=3)
    with pytest.raises(offers.StaleOffer, match="Vic PM"):
        offers.update(con, VA_USER, oid, 1, capacity=1)
    assert offers.get(con, oid)["capacity"] == 3
    assert offers.update(con, VA_USER, oid, 2, capacity=3) == 2  # nothing changed: nothing written


def test_the_pairing_reads_only_published_offers(con):
    draft = offers.create(con, VA_USER, state="VA", **OFFER)
    assert offers.pairing_offers(con).empty
    offers.publish(con, VA_USER, draft, 1)
    got = offers.pairing_offers(con)
    assert list(got.columns) == ["state", "program_area", "offer_id", "title", "capacity"]
    assert got.iloc[0].to_dict() == {
        "state": "VA",
        "program_area": "exercises",
        "offer_id": draft,
        "title": OFFER["title"],
        "capacity": 2,
    }


def test_a_request_made_from_an_offer_names_it(con):
    oid = offers.create(con, VA_USER, state="VA", publish=True, **OFFER)
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, "Hello", offer_id=oid)
    assert offers.of_exchange(con, ex)["offer_id"] == oid
    assert exchanges.get(con, ex)["status"] == exchange_rules.REQUESTED
    draft = offers.create(con, VA_USER, state="VA", **{**OFFER, "program_area": "training", "title": "Drafty"})
    with pytest.raises(exchanges.ExchangeError, match=f"offer {draft} is not VA's published offer"):
        exchanges.request_introduction(
            con, auth.Viewer(auth.STATE, "D", ("DE",)), "VA", "DE", ["exercises"], CYCLE, offer_id=draft
        )


def test_a_practice_comes_from_a_held_exchange_of_its_state_and_is_private_until_published(con):
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises"], CYCLE, "Vic PM")
    with pytest.raises(practices.PracticeError, match="held"):
        practices.create(con, MD_USER, state="MD", program_area="exercises", title="T", summary="S", exchange_id=ex)
    v = 1
    for status in (exchange_rules.INTRODUCED, exchange_rules.IN_CONTACT, exchange_rules.HELD):
        v = exchanges.update(con, ex, v, "Vic PM", status=status, means="teleconference")
    with pytest.raises(practices.PracticeError, match="not DE"):
        practices.create(
            con,
            auth.Viewer(auth.STATE, "D", ("DE",)),
            state="DE",
            program_area="exercises",
            title="T",
            summary="S",
            exchange_id=ex,
        )
    pid = practices.create(
        con,
        MD_USER,
        state="MD",
        program_area="exercises",
        title="After-action reports that lead somewhere",
        summary="We now write improvement plans with owners and dates.",
        what_worked="Virginia's template",
        exchange_id=ex,
    )
    assert pid in set(practices.visible(con, MD_PM)["practice_id"])
    assert pid not in set(practices.visible(con, VA_USER)["practice_id"])  # the other party too: private
    assert library.entries(con).empty
    practices.publish(con, MD_USER, pid, 1)
    assert pid in set(practices.visible(con, VA_USER)["practice_id"])
    found = library.index(con).search("improvement plan")
    assert list(found["id"]) == [pid] and found["state"].iloc[0] == "MD"


def test_a_published_practice_links_to_its_states_offer_in_that_area(con):
    oid = offers.create(con, VA_USER, state="VA", publish=True, **OFFER)
    pid = practices.create(
        con,
        VA_USER,
        state="VA",
        program_area="exercises",
        title="Clinic notes",
        summary="What we learned.",
        publish=True,
    )
    got = practices.published(con).set_index("practice_id").loc[pid]
    assert got["offer_id"] == oid and got["offer_title"] == OFFER["title"]
    with pytest.raises(practices.PracticeError, match="not one of MD's offers"):
        practices.create(con, MD_USER, state="MD", program_area="exercises", title="T", summary="S", offer_id=oid)
