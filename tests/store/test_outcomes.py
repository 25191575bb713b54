"""Each state's view of an exchange: only once held, only by the state itself, its PM or leadership, validated,
never overwritten silently (versions), audited, seen only by those who see the exchange, and in the CSV export."""

import datetime as dt

import pytest

from shisn.domain import auth, exchange_rules, safe_text
from shisn.services import exchange_export, exchanges, outcomes
from shisn.store import audit

LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
PM_MD = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("DC", "DE", "MD", "PA", "WV"))  # the mentee's PM only
STATE_MD = auth.Viewer(auth.STATE, "MD user", ("MD",))
STATE_VA = auth.Viewer(auth.STATE, "VA user", ("VA",))
STATE_TX = auth.Viewer(auth.STATE, "TX user", ("TX",))


def held(con, mentor="VA", mentee="MD", close=False):
    ex = exchanges.open_exchange(con, mentor, mentee, ["exercises"], 2025, "P", at=dt.datetime(2025, 1, 1, 8))
    v = exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "P", at=dt.datetime(2025, 1, 5))
    v = exchanges.transition(con, ex, exchange_rules.IN_CONTACT, v, "P", at=dt.datetime(2025, 1, 9))
    v = exchanges.transition(con, ex, exchange_rules.HELD, v, "P", means="teleconference", at=dt.datetime(2025, 2, 1))
    if close:
        exchanges.transition(con, ex, exchange_rules.CLOSED, v, "P", at=dt.datetime(2025, 3, 1))
    return ex


def count(con):
    return int(con.scalar("SELECT count(*) FROM exchange_outcomes"))


def test_a_view_needs_the_exchange_held(con):
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "P")
    with pytest.raises(outcomes.OutcomeError, match="once the exchange has been held"):
        outcomes.record(con, ex, "MD", STATE_MD, 4, "x")
    assert count(con) == 0 and outcomes.recordable_states(STATE_MD, exchanges.get(con, ex)) == []


def test_the_state_its_pm_or_leadership_record_and_no_one_else(con):
    ex = held(con, close=True)
    row = exchanges.get(con, ex)
    assert outcomes.recordable_states(LEAD, row) == ["VA", "MD"]
    assert outcomes.recordable_states(PM_MD, row) == ["MD"] and outcomes.recordable_states(STATE_VA, row) == ["VA"]
    assert outcomes.recordable_states(STATE_TX, row) == []
    for viewer, state in ((STATE_VA, "MD"), (PM_MD, "VA"), (STATE_TX, "TX"), (STATE_TX, "MD")):
        with pytest.raises(outcomes.OutcomeError):
            outcomes.record(con, ex, state, viewer, 3)
    assert count(con) == 0
    assert outcomes.record(con, ex, "MD", STATE_MD, 5, "Adopted the template", "Start earlier") == 1
    assert outcomes.record(con, ex, "VA", LEAD, 3) == 1
    views = outcomes.for_exchange(con, LEAD, ex)
    assert views[["state", "part", "useful", "recorded_by"]].values.tolist() == [
        ["VA", "mentor", 3, "Lee Leader"],
        ["MD", "mentee", 5, "MD user"],
    ]
    assert views.loc[1, "what_changed"] == "Adopted the template" and views.loc[1, "useful_label"] == "5 · essential"


@pytest.mark.parametrize("useful", [0, 6, "x", 2.5, None])
def test_bad_usefulness_is_refused_and_nothing_written(con, useful):
    ex = held(con)
    with pytest.raises(outcomes.OutcomeError, match="usefulness"):
        outcomes.record(con, ex, "MD", STATE_MD, useful)
    assert count(con) == 0


def test_text_over_the_limit_is_refused(con):
    ex = held(con)
    with pytest.raises(outcomes.OutcomeError, match="the limit is"):
        outcomes.record(con, ex, "MD", STATE_MD, 3, "x" * (outcomes.MAX_TEXT + 1))
    assert count(con) == 0


def test_unknown_exchange_or_a_state_not_in_it(con):
    ex = held(con)
    with pytest.raises(outcomes.OutcomeError, match="no exchange 999"):
        outcomes.record(con, 999, "MD", LEAD, 3)
    with pytest.raises(outcomes.OutcomeError, match="not part of exchange"):
        outcomes.record(con, ex, "TX", LEAD, 3)


def test_a_revision_names_the_version_it_read_and_a_stale_one_writes_nothing(con):
    ex = held(con)
    outcomes.record(con, ex, "MD", STATE_MD, 2, "first")
    with pytest.raises(outcomes.StaleOutcome, match="recorded by MD user at .* reload"):
        outcomes.record(con, ex, "MD", PM_MD, 4, "without reading it")  # no version: it did not see the view
    assert outcomes.record(con, ex, "MD", PM_MD, 4, "revised", version=1) == 2
    with pytest.raises(outcomes.StaleOutcome, match="recorded by Pat PM"):
        outcomes.record(con, ex, "MD", STATE_MD, 1, "late", version=1)  # read version 1, Pat wrote version 2
    v = outcomes.for_exchange(con, LEAD, ex).iloc[0]
    assert (v["useful"], v["what_changed"], v["version"], v["recorded_by"]) == (4, "revised", 2, "Pat PM")


def test_every_view_is_audited(con):
    ex = held(con)
    outcomes.record(con, ex, "MD", STATE_MD, 2)
    outcomes.record(con, ex, "MD", STATE_MD, 4, version=1)
    details = audit.log(con)["detail"].tolist()
    assert f"exchange {ex} outcome for MD (mentee): useful 2, version 1" in details
    assert f"exchange {ex} outcome for MD (mentee): useful 4 (was 2), version 2" in details


def test_a_state_sees_only_its_own_exchanges_views(con):
    mine = held(con, "VA", "MD")
    other = held(con, "TX", "NM")
    outcomes.record(con, mine, "MD", STATE_MD, 4, "ours")
    outcomes.record(con, other, "NM", LEAD, 2, "SECRET-NM-VIEW")
    assert outcomes.visible(con, STATE_MD)["exchange_id"].tolist() == [mine]
    assert outcomes.for_exchange(con, STATE_MD, other).empty
    assert outcomes.visible(con, STATE_VA)["what_changed"].tolist() == ["ours"]  # the partner state sees it too
    assert sorted(outcomes.visible(con, LEAD)["exchange_id"]) == sorted([mine, other])
    assert outcomes.visible(con, auth.Viewer(auth.PROGRAM_MANAGER, "none", ())).empty
    csv = safe_text.csv_file(exchange_export.export_frame(con, STATE_MD)).decode("utf-8-sig")
    assert "ours" in csv and "SECRET-NM-VIEW" not in csv


def test_views_are_in_the_csv_export_side_by_side(con):
    ex = held(con, close=True)
    outcomes.record(con, ex, "VA", LEAD, 3, '=HYPERLINK("x")')
    outcomes.record(con, ex, "MD", STATE_MD, 5, "Adopted", "Earlier")
    out = exchange_export.export_frame(con).set_index("id").loc[ex]
    assert (out["mentor_useful"], out["mentee_useful"]) == (3, 5)
    assert (out["mentee_what_changed"], out["mentee_differently"]) == ("Adopted", "Earlier")
    line = safe_text.csv_file(exchange_export.export_frame(con)).decode("utf-8-sig").splitlines()[1]
    assert line.endswith(',3,"\'=HYPERLINK(""x"")",,5,Adopted,Earlier')  # formula neutralised
