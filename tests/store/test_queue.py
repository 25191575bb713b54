"""The work queue: introduction requests, submitted self-assessments, exchanges with no change for the
stuck-days setting, and needs no mentor can take that are not yet TA referrals; oldest first, scoped to the
viewer's states; and `python -m shisn queue`."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from shisn.domain import auth, exchange_rules
from shisn.services import exchanges, queue
from shisn.store import accounts, audit, db, ingest, settings
from tests.support import ROOT, make_csv

CYCLE = 2025
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
PM = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("MD", "OK"))
OTHER_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Nat PM", ("NJ",))
MD_USER = auth.Viewer(auth.STATE, "Mo (MD)", ("MD",))
# VA mentors exercises (MD and NJ seek it: VA takes both); OK seeks recovery and GU interoperability where nobody
# offers eligible help: both are needs no mentor can take.
ROWS = [
    ["VA", "exercises", CYCLE, 5, "yes", "no", ""],
    ["TX", "exercises", CYCLE, 4, "yes", "no", ""],
    ["MD", "exercises", CYCLE, 2, "no", "yes", "MD note"],
    ["NJ", "exercises", CYCLE, 3, "no", "yes", ""],
    ["OK", "recovery", CYCLE, 1, "no", "yes", ""],
    ["GU", "interoperability", CYCLE, 2, "no", "yes", ""],
]
NOW = dt.datetime.now().replace(microsecond=0)


@pytest.fixture
def con(con):
    ingest.load(con, [("q.csv", make_csv(ROWS))], "tester")
    return con


def kinds(df):
    return list(zip(df["kind"], df["ref"]))


def test_needs_no_mentor_can_take_are_queued_for_their_states_pm(con):
    q = queue.items(con, PM)
    assert kinds(q) == [("unmatched", "OK:recovery")]
    assert "no state offers eligible help in Recovery operations" in q["item"].iloc[0]
    assert q["link"].iloc[0] == "/pairings?pairings_view=Referred+to+TA"
    assert set(queue.items(con, LEAD)["ref"]) == {"OK:recovery", "GU:interoperability"}
    assert queue.items(con, OTHER_PM).empty


def test_a_need_recorded_as_a_ta_referral_or_taken_up_in_an_exchange_leaves_the_queue(con):
    exchanges.refer_to_ta(con, "OK", "recovery", CYCLE, "nobody offers recovery", "Pat PM")
    assert queue.items(con, PM).empty
    exchanges.open_exchange(con, "VA", "GU", ["interoperability"], CYCLE, "Lee Leader")
    assert queue.items(con, LEAD).empty


def test_an_item_from_the_current_minute_is_zero_days_old_not_minus_one(con):
    """The app asks for the queue as of the current minute; a need loaded seconds later is 0 days old."""
    q = queue.items(con, PM, now=dt.datetime.now().replace(second=0, microsecond=0) - dt.timedelta(seconds=30))
    assert list(q["age_days"]) == [0]


def test_introduction_requests_are_queued_for_both_states_pms_until_answered(con):
    t = NOW - dt.timedelta(days=3)
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, "please", now=t)
    q = queue.items(con, PM)
    assert kinds(q) == [("request", ex), ("unmatched", "OK:recovery")]  # asked 3 days ago; the need was loaded now
    req = q[q["kind"] == "request"].iloc[0]
    assert req["item"] == f"Request {ex}: MD asks to be mentored by VA · Exercises"
    assert req["link"] == f"/exchanges?exchange={ex}" and req["age_days"] == 3
    va_pm = auth.Viewer(auth.PROGRAM_MANAGER, "Vic PM", ("VA",))
    assert kinds(queue.items(con, va_pm)) == [("request", ex)]  # the mentor's PM sees it too
    assert "request" not in set(queue.items(con, OTHER_PM)["kind"])
    exchanges.accept_request(con, ex, 1, va_pm)
    assert queue.items(con, va_pm).empty


def test_exchanges_without_change_for_the_stuck_days_setting(con):
    old = NOW - dt.timedelta(days=40)
    stuck = exchanges.open_exchange(con, "VA", "MD", ["exercises"], CYCLE, "Pat PM", at=old, now=old)
    exchanges.open_exchange(con, "TX", "NJ", ["exercises"], CYCLE, "Nat PM")  # fresh
    done = exchanges.open_exchange(con, "TX", "MD", ["exercises"], CYCLE, "Pat PM", at=old, now=old)
    exchanges.update(con, done, 1, "Pat PM", status=exchange_rules.DECLINED, at=old, now=old)  # declined: nothing to do
    assert settings.stuck_days(con) == 30
    q = queue.items(con, PM)
    assert [r for r in kinds(q) if r[0] == "stuck"] == [("stuck", stuck)]
    assert "no change for 30+ days" in q.loc[q["kind"] == "stuck", "item"].iloc[0]
    assert settings.set_stuck_days(con, 60, LEAD) == 60
    assert settings.stuck_days(con) == 60 and "stuck" not in set(queue.items(con, PM)["kind"])
    assert "setting stuck_days = 60 (was 30)" in set(audit.log(con)["detail"])


@pytest.mark.parametrize(
    "value, message", [(0, "between 1 and 365"), ("x", "not a whole number"), (400, "between 1 and 365")]
)
def test_the_stuck_days_setting_is_validated_and_for_leadership_only(con, value, message):
    with pytest.raises(ValueError, match=message):
        settings.set_stuck_days(con, value, LEAD)
    with pytest.raises(PermissionError):
        settings.set_stuck_days(con, 10, PM)
    assert settings.stuck_days(con) == 30


def test_submitted_self_assessments_are_queued_for_review(con):
    submissions = pytest.importorskip("shisn.services.submissions")
    areas = [{"program_area": "exercises", "maturity": 3, "seeks_help": True}]
    sid, _ = submissions.submit(con, MD_USER, "MD", CYCLE, areas)
    q = queue.items(con, PM)
    rev = q[q["kind"] == "review"]
    assert list(rev["ref"]) == [sid] and rev["item"].iloc[0].startswith(f"Self-assessment MD {CYCLE} submitted by")
    assert rev["link"].iloc[0] == submissions.pending_reviews(con, PM)["link"].iloc[0]
    assert "review" not in set(queue.items(con, OTHER_PM)["kind"])


def test_decisions_first_then_the_rest_each_oldest_first_with_counts_and_nothing_for_state_users(con):
    old = NOW - dt.timedelta(days=50)
    stuck = exchanges.open_exchange(con, "VA", "MD", ["exercises"], CYCLE, "Pat PM", at=old, now=old)
    ex = exchanges.request_introduction(con, MD_USER, "TX", "MD", ["exercises"], CYCLE, now=NOW - dt.timedelta(days=2))
    q = queue.items(con, PM, now=NOW)
    # the request waits for a decision: before the 50-day-old stuck exchange
    assert kinds(q)[0] == ("request", ex) and kinds(q)[1] == ("stuck", stuck)
    rest = q[~q["kind"].isin(queue.DECISIONS)]
    assert list(rest["since"].dropna()) == sorted(rest["since"].dropna())
    c = queue.counts(q)
    assert list(c) == list(queue.KINDS) and c["stuck"] == 1 and c["request"] == 1 and c["unmatched"] == 1
    assert queue.items(con, MD_USER).empty and queue.counts(queue.items(con, MD_USER)) == dict.fromkeys(queue.KINDS, 0)


def test_cli_queue_prints_the_same_items_for_a_users_email(tmp_path):
    path = tmp_path / "q.duckdb"
    con = db.connect(path)
    ingest.load(con, [("q.csv", make_csv(ROWS))], "tester")
    con.cursor().execute(
        "INSERT INTO program_managers VALUES ('MD', 'Pat PM', 'pat@example.org'), ('OK', 'Pat PM', 'pat@example.org')"
    ).fetchall()
    accounts.add_user(con, "pat@example.org", auth.PROGRAM_MANAGER, "t", name="Pat PM")
    accounts.add_user(con, "mo@example.org", auth.STATE, "t", state="MD")
    ex = exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, "hi")
    expected = queue.items(con, accounts.viewer_for(con, "pat@example.org"))
    con.close()

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "shisn", "queue", "--db", str(path), *args], cwd=ROOT, capture_output=True, text=True
        )

    got = run("--user", "Pat@Example.org", "--format", "json")
    assert got.returncode == 0, got.stderr
    rows = json.loads(got.stdout)
    assert [r["item"] for r in rows] == list(expected["item"]) and {r["kind"] for r in rows} == {"request", "unmatched"}
    assert any(r["link"] == f"/exchanges?exchange={ex}" for r in rows)
    csv_out = run("--user", "pat@example.org")
    assert csv_out.returncode == 0 and csv_out.stdout.splitlines()[0] == "kind,since,age_days,states,item,link"
    assert len(csv_out.stdout.splitlines()) == 1 + len(expected)
    nobody = run("--user", "nobody@example.org")
    assert nobody.returncode == 2 and "no user nobody@example.org" in nobody.stderr and not nobody.stdout
    state = run("--user", "mo@example.org")
    assert state.returncode == 2 and "for program managers and ODP leadership" in state.stderr
