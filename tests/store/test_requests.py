"""Introduction requests: a state asks for an introduction to a mentor or offers help; both states, their
program managers and leadership see it; either PM (or leadership) accepts or declines it once; duplicates and more
than ten waiting requests are refused; requests stay out of the exchange KPIs until accepted."""

import datetime as dt

import pytest

from shisn.domain import auth, exchange_rules
from shisn.services import exchanges
from shisn.store import ingest
from tests.support import make_csv

CYCLE = 2025
MENTORS = ["VA", "TX", "NY", "CA", "FL", "OH", "PA", "GA", "NC", "MI", "IL", "WA"]  # 12 mentors in exercises
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
MD_USER = auth.Viewer(auth.STATE, "Mo (MD)", ("MD",))
VA_USER = auth.Viewer(auth.STATE, "Val (VA)", ("VA",))
NJ_USER = auth.Viewer(auth.STATE, "Jo (NJ)", ("NJ",))
MD_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("MD", "DE"))
VA_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Vic PM", ("VA",))
OTHER_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Nat PM", ("NJ", "NY"))


@pytest.fixture
def con(con):
    rows = [[m, "exercises", CYCLE, 5, "yes", "no", f"{m} exercise office"] for m in MENTORS]
    rows += [
        ["MD", "exercises", CYCLE, 2, "no", "yes", "MD needs an AAR template"],
        ["MD", "training", CYCLE, 1, "no", "no", ""],  # a gap MD has not flagged
        ["VA", "training", CYCLE, 4, "yes", "no", ""],
        ["NJ", "exercises", CYCLE, 3, "no", "yes", "NJ note"],
        ["DE", "exercises", CYCLE, 5, "no", "no", ""],
    ]  # strong, but does not offer help
    ingest.load(con, [("r.csv", make_csv(rows))], "tester")
    return con


def test_a_state_requests_an_introduction_to_a_mentor_and_both_sides_see_it(con):
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, "We need an AAR template.")
    row = exchanges.get(con, ex)
    assert row["status"] == exchange_rules.REQUESTED and row["proposed_at"] is None and row["requested_state"] == "MD"
    assert row["request_message"] == "We need an AAR template." and row["requested_by"] == "Mo (MD)"
    for viewer in (MD_USER, VA_USER, MD_PM, VA_PM, LEAD):
        seen = exchanges.requests_of(con, viewer)
        assert list(seen["exchange_id"]) == [ex], viewer
        assert seen["request_message"].iloc[0] == "We need an AAR template."
    for viewer in (NJ_USER, OTHER_PM):
        assert exchanges.requests_of(con, viewer).empty and exchanges.list_exchanges(con, viewer).empty
    mine = exchanges.requests_of(con, MD_USER, "MD").iloc[0]
    assert (mine["kind"], mine["partner"], mine["status_label"]) == ("asks for a mentor", "VA", "requested")
    assert exchanges.history(con, ex)["summary"].iloc[0] == "introduction requested by MD · Exercises"


def test_a_state_offers_help_where_it_is_an_eligible_mentor(con):
    ex = exchanges.request_introduction(con, VA_USER, "VA", "NJ", "exercises", CYCLE)
    got = exchanges.requests_of(con, VA_USER).iloc[0]
    assert (got["exchange_id"], got["kind"], got["partner"], got["request_message"]) == (ex, "offers help", "NJ", "")
    assert list(exchanges.requests_of(con, NJ_USER)["exchange_id"]) == [ex]


def test_a_gap_the_state_did_not_flag_may_still_be_asked_for_by_that_state_only(con):
    with pytest.raises(exchanges.ExchangeError, match="MD is not seeking guidance in Training"):
        exchanges.request_introduction(con, VA_USER, "VA", "MD", ["training"], CYCLE)  # VA cannot push help on MD
    assert exchanges.request_introduction(con, MD_USER, "VA", "MD", ["training"], CYCLE)


@pytest.mark.parametrize(
    "viewer, args, message",
    [
        (NJ_USER, ("VA", "MD", ["exercises"]), "as a NJ user you can request introductions for NJ only"),
        (MD_PM, ("VA", "MD", ["exercises"]), "only a state user can request"),
        (LEAD, ("VA", "MD", ["exercises"]), "only a state user can request"),
        (MD_USER, ("DE", "MD", ["exercises"]), "DE is not an eligible mentor in Exercises"),
        (MD_USER, ("NJ", "MD", ["exercises"]), "NJ is not an eligible mentor"),
        (VA_USER, ("VA", "TX", ["exercises"]), "VA \\(5\\) is not rated above TX \\(5\\)"),
        (MD_USER, ("VA", "MD", ["recovery"]), "VA is not an eligible mentor in Recovery"),
        (MD_USER, ("VA", "MD", ["nonsense"]), "'nonsense' is not a program area"),
        (MD_USER, ("MD", "MD", ["exercises"]), "two different states"),
    ],
)
def test_requests_that_cannot_be_made_are_refused_and_nothing_is_written(con, viewer, args, message):
    with pytest.raises(exchanges.ExchangeError, match=message):
        exchanges.request_introduction(con, viewer, *args, CYCLE, "hello")
    assert exchanges.list_exchanges(con, LEAD).empty


def test_a_pair_with_a_request_or_open_exchange_in_the_area_is_refused_naming_it(con):
    first = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE)
    with pytest.raises(
        exchanges.Duplicate,
        match=f"VA → MD in Exercises is already an introduction request {first} "
        r"\(requested\)",
    ) as e:
        exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE)
    assert e.value.existing_id == first
    with pytest.raises(exchanges.Duplicate, match=f"introduction request {first}"):  # a PM cannot open it twice either
        exchanges.open_exchange(con, "VA", "MD", ["exercises"], CYCLE, "Pat PM")
    opened = exchanges.open_exchange(con, "TX", "MD", ["exercises"], CYCLE, "Pat PM")
    with pytest.raises(exchanges.Duplicate, match=f"already exchange {opened} \\(proposed\\)"):
        exchanges.request_introduction(con, MD_USER, "TX", "MD", ["exercises"], CYCLE)
    assert len(exchanges.list_exchanges(con, LEAD)) == 2


def test_at_most_ten_waiting_requests_per_state(con):
    ids = [exchanges.request_introduction(con, MD_USER, m, "MD", ["exercises"], CYCLE) for m in MENTORS[:10]]
    with pytest.raises(
        exchanges.TooManyRequests, match="MD already has 10 introduction requests waiting .*at most 10 at once"
    ):
        exchanges.request_introduction(con, MD_USER, MENTORS[10], "MD", ["exercises"], CYCLE)
    assert len(exchanges.list_exchanges(con, LEAD)) == 10
    exchanges.accept_request(con, ids[0], 1, MD_PM)  # answered: no longer waiting
    assert exchanges.request_introduction(con, MD_USER, MENTORS[10], "MD", ["exercises"], CYCLE)
    # the limit is per state: VA offering help is not affected by MD's ten
    assert exchanges.request_introduction(con, VA_USER, "VA", "NJ", ["exercises"], CYCLE)


def test_either_pm_accepts_first_wins_the_other_sees_what_happened(con):
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, "please")
    t = dt.datetime.now().replace(microsecond=0)
    v = exchanges.accept_request(con, ex, 1, VA_PM, now=t)
    row = exchanges.get(con, ex)
    assert (
        v == 2
        and row["status"] == exchange_rules.PROPOSED
        and row["proposed_at"] == t
        and row["updated_by"] == "Vic PM"
    )
    with pytest.raises(
        exchanges.StaleEdit, match=f"introduction request {ex} was already accepted \\(now proposed\\) by Vic PM at"
    ):
        exchanges.decline_request(con, ex, 1, MD_PM, "no capacity")
    with pytest.raises(exchanges.RequestAnswered):
        exchanges.accept_request(con, ex, 1, LEAD)
    assert exchanges.get(con, ex) == row and len(exchanges.history(con, ex)) == 2
    assert exchanges.history(con, ex)["summary"].iloc[1] == "status requested → proposed"
    # from here on it is an ordinary exchange
    assert exchanges.transition(con, ex, exchange_rules.INTRODUCED, v, "Pat PM") == 3


def test_accepting_as_introduced_counts_as_first_contact_on_the_same_day(con):
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE)
    exchanges.accept_request(con, ex, 1, LEAD, to="introduced", comment="called both")
    row = exchanges.list_exchanges(con, LEAD).iloc[0]
    assert row["status"] == exchange_rules.INTRODUCED and row["days_to_first_contact"] == 0.0
    assert exchanges.history(con, ex)["comment"].iloc[1] == "called both"


def test_decline_needs_a_reason_the_state_then_sees(con):
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE)
    with pytest.raises(exchanges.ExchangeError, match="say why"):
        exchanges.decline_request(con, ex, 1, MD_PM, "  ")
    assert exchanges.get(con, ex)["status"] == exchange_rules.REQUESTED
    exchanges.decline_request(con, ex, 1, MD_PM, "VA is at capacity this year; TX is a better fit.")
    seen = exchanges.requests_of(con, MD_USER, "MD").iloc[0]
    assert (
        seen["status"] == exchange_rules.DECLINED
        and seen["decline_reason"] == "VA is at capacity this year; TX is a better fit."
    )
    with pytest.raises(exchanges.StaleEdit, match="already declined \\(VA is at capacity"):
        exchanges.accept_request(con, ex, 1, VA_PM)


def test_who_may_answer_or_withdraw(con):
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, "our message")
    for viewer in (OTHER_PM, NJ_USER, VA_USER):  # VA is one of the two states but did not ask: it cannot answer
        with pytest.raises(exchanges.NotAllowed):
            exchanges.accept_request(con, ex, 1, viewer)
    for viewer in (NJ_USER, VA_USER):
        with pytest.raises(exchanges.NotAllowed):
            exchanges.decline_request(con, ex, 1, viewer, "not ours")
    assert exchanges.get(con, ex)["version"] == 1
    exchanges.decline_request(con, ex, 1, MD_USER, None)  # the state that asked withdraws it
    row = exchanges.get(con, ex)
    assert row["status"] == exchange_rules.DECLINED and row["decline_reason"] == "withdrawn by MD"
    with pytest.raises(exchanges.StaleEdit, match="already withdrawn by Mo \\(MD\\)"):
        exchanges.accept_request(con, ex, 1, MD_PM)


def test_a_request_changes_only_through_accept_or_decline(con):
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE)
    with pytest.raises(exchanges.InvalidTransition, match="is an introduction request"):
        exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "Pat PM")
    with pytest.raises(exchanges.InvalidTransition, match="is an introduction request"):
        exchanges.update(con, ex, 1, "Pat PM", means="teleconference")
    with pytest.raises(exchanges.InvalidTransition, match="accepted as proposed or introduced"):
        exchanges.accept_request(con, ex, 1, MD_PM, to="closed")
    assert exchange_rules.allowed_next(exchange_rules.REQUESTED) == (
        exchange_rules.PROPOSED,
        exchange_rules.INTRODUCED,
        exchange_rules.DECLINED,
    )
    opened = exchanges.open_exchange(con, "TX", "MD", ["exercises"], CYCLE, "Pat PM")
    with pytest.raises(exchanges.InvalidTransition, match="not an introduction request"):
        exchanges.accept_request(con, opened, 1, MD_PM)


def test_requests_are_not_exchanges_in_the_kpis_until_accepted(con):
    t0 = dt.datetime(2025, 3, 1, 9, 0)
    waiting = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, now=t0)
    declined = exchanges.request_introduction(con, MD_USER, "TX", "MD", ["exercises"], CYCLE, now=t0)
    exchanges.decline_request(con, declined, 1, LEAD, "no", now=t0 + dt.timedelta(days=1))
    accepted = exchanges.request_introduction(con, VA_USER, "VA", "NJ", ["exercises"], CYCLE, now=t0)
    exchanges.accept_request(con, accepted, 1, VA_PM, now=t0 + dt.timedelta(days=2))
    s = exchanges.summary(con, LEAD)
    assert (s.total, s.open, s.awaiting_introduction, s.requests_open, s.requests_declined) == (1, 1, 1, 1, 1)
    assert dict(zip(s.by_status["status"], s.by_status["count"]))["declined"] == 0
    assert s.median_days_to_first_contact is None
    assert set(exchanges.arcs(con, LEAD)["exchange_id"]) == {accepted}
    assert waiting in set(exchanges.list_exchanges(con, LEAD)["exchange_id"])  # still listed, with its status


def test_request_choices_come_from_the_profiles_partners(con):
    from shisn.domain import profile
    from shisn.store import queries

    p = profile.build(queries.assessments(con, CYCLE), "VA", CYCLE, VA_USER)
    choices = exchanges.request_choices("VA", p.mentors, p.mentees)
    offers = [(c["mentor"], c["mentee"], c["program_area"]) for c in choices]
    assert ("VA", "MD", "exercises") in offers and ("VA", "NJ", "exercises") in offers
    assert all(c["mentor"] == "VA" for c in choices)  # VA needs nothing: it only offers
    p = profile.build(queries.assessments(con, CYCLE), "MD", CYCLE, MD_USER)
    asks = [c for c in exchanges.request_choices("MD", p.mentors, p.mentees)]
    assert asks and all(c["mentee"] == "MD" for c in asks)
    for c in asks[:3]:  # every choice offered is one the request accepts
        exchanges.request_introduction(con, MD_USER, c["mentor"], c["mentee"], [c["program_area"]], CYCLE)
