"""E-mail notifications (shisn/services/notify.py, shisn/services/mailer.py) on both engines, delivered to a real SMTP server on a
loopback port (aiosmtpd): each event's recipients and content per role (a message to a state never holds another
state's notes or exchanges), preferences, unsubscribe links and digests, the relay down and then up, the sender
killed with kill -9 in the middle of a batch and started again, two senders on one PostgreSQL database at once,
and a change rolled back (no notification)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from shisn.domain import auth, basics
from shisn.services import daily_digest, exchanges, mailer, notify, submissions
from shisn.store import accounts, db, ingest
from tests.support import ROOT, make_csv

BASE = "https://shisn.agency.example"
MD_SECRET = "SECRETMDNOTE"  # Maryland's notes: in no message at all
TX_SECRET = "SECRETTXCOMMENT"  # the comment of a Maryland-Texas exchange: only to its parties
THIS_YEAR = 2026


# --- a real SMTP relay on a loopback port ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it accepted, in order of arrival. `refuse`: recipients answered
    550; `hold_at`: the DATA of that message (1-based) waits for `release` (a sender killed with it in flight)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.messages: list = []
        self.refuse: set[str] = set()
        self.delay = 0.0
        self.hold_at: int | None = None
        self.held, self.release = threading.Event(), threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.cond:
            self.messages.append(msg)
            n = len(self.messages)
            self.cond.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold_at == n:
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return "250 OK"

    def ids(self) -> list[str]:
        with self.cond:
            return [m["Message-ID"] for m in self.messages]

    def wait_for(self, n: int, timeout: float = 60) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.messages) >= n, timeout)

    def to(self, address: str) -> list:
        with self.cond:
            return [m for m in self.messages if m["To"] == address]


class Server:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.inbox = Inbox()
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def relay(self) -> mailer.Relay:
        return mailer.relay({"SHISN_SMTP_URL": self.url, "SHISN_MAIL_FROM": "shisn-noreply@agency.example"})

    def start(self) -> Server:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.inbox.release.set()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = Server().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _mail_env(monkeypatch):
    monkeypatch.setenv("SHISN_BASE_URL", BASE)
    monkeypatch.delenv("SHISN_SMTP_URL", raising=False)
    monkeypatch.delenv("SHISN_SECRET", raising=False)


# --- the network: four states, their program managers and users ------------------------------------------------------

PMS = {
    "pat.pm@agency.example": ("Pat PM", ["VA", "DE"]),
    "mo.pm@agency.example": ("Mo PM", ["MD"]),
    "tex.pm@agency.example": ("Tex PM", ["TX"]),
}  # WV has no program manager
STATE_USERS = {
    "va1@va.example": "VA",
    "va2@va.example": "VA",
    "md1@md.example": "MD",
    "tx1@tx.example": "TX",
    "wv1@wv.example": "WV",
    "de1@de.example": "DE",
}
LEAD = "lead@agency.example"


def world(con) -> dict:
    """Assessments (VA mentors in exercises and training; MD, WV and DE seek them; TX seeks recovery, which nobody
    offers; Maryland's notes are a marked secret), program managers and users of every role."""
    rows = []
    for area in ("exercises", "training", "recovery"):
        rows += [
            ["VA", area, 2025, 5, "yes" if area != "recovery" else "no", "no", "VA note"],
            ["MD", area, 2025, 2, "no", "yes", f"{MD_SECRET} {area}"],
            ["WV", area, 2025, 2, "no", "yes", "WV note"],
            ["DE", area, 2025, 2, "no", "yes", "DE note"],
            ["TX", area, 2025, 2, "no", "yes" if area == "recovery" else "no", "TX note"],
        ]
    ingest.load(con, [("world.csv", make_csv(rows))], "loader", this_year=THIS_YEAR)
    with db.transaction(con) as cur:
        for email_, (name, states) in PMS.items():
            for s in states:
                cur.execute("INSERT INTO program_managers VALUES (?, ?, ?)", [s, name, email_]).fetchall()
    for email_, (name, _) in PMS.items():
        accounts.add_user(con, email_, auth.PROGRAM_MANAGER, "setup", name=name)
    accounts.add_user(con, LEAD, auth.LEADERSHIP, "setup", name="Lee Lead")
    for email_, state in STATE_USERS.items():
        accounts.add_user(con, email_, auth.STATE, "setup", state=state, name=email_.split("@")[0])
    return {e: accounts.viewer_for(con, e) for e in [*PMS, LEAD, *STATE_USERS]}


def rows(con, **where) -> list[dict]:
    sql = "SELECT * FROM notifications"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
    return con.read(sql + " ORDER BY notification_id", list(where.values())).to_dict("records")


def recipients(con, kind: str, event_like: str = "") -> set[str]:
    return {r["recipient"] for r in rows(con, kind=kind) if event_like in r["event"]}


def deliver(con, server: Server, **kw) -> mailer.Round:
    return mailer.run(con, server.relay, digest=False, **kw)


# --- events → recipients -------------------------------------------------------------------------------------------


def test_each_event_reaches_exactly_its_recipients(con):
    v = world(con)
    md, wv, pat = v["md1@md.example"], v["wv1@wv.example"], v["pat.pm@agency.example"]
    # a request: both states' program managers; leadership stands in for WV, which has none
    r1 = exchanges.request_introduction(con, md, "VA", "MD", ["exercises"], 2025, "Could VA help us?")
    assert recipients(con, notify.REQUEST, f"exchange {r1} ") == {"pat.pm@agency.example", "mo.pm@agency.example"}
    r2 = exchanges.request_introduction(con, wv, "VA", "WV", ["exercises"], 2025)
    assert recipients(con, notify.REQUEST, f"exchange {r2} ") == {"pat.pm@agency.example", LEAD}
    # accepted: the asking state's users; the exchange it becomes: the other state's users and both PMs
    exchanges.accept_request(con, r1, 1, pat)
    assert recipients(con, notify.REQUEST_ANSWER, f"exchange {r1} ") == {"md1@md.example"}
    assert recipients(con, notify.EXCHANGE, f"exchange {r1} version 2") == {
        "va1@va.example",
        "va2@va.example",
        "pat.pm@agency.example",
        "mo.pm@agency.example",
    }
    # declined, with the reason: the asking state's users only
    exchanges.decline_request(con, r2, 1, pat, "No mentor capacity this cycle.")
    assert recipients(con, notify.REQUEST_ANSWER, f"exchange {r2} ") == {"wv1@wv.example"}
    assert (
        "No mentor capacity this cycle."
        in rows(con, kind=notify.REQUEST_ANSWER, recipient="wv1@wv.example")[0]["body_text"]
    )
    # a status change: both states' users and program managers, nobody else
    exchanges.transition(con, r1, "introduced", 2, "Pat PM", comment="Introduced by phone.")
    assert recipients(con, notify.EXCHANGE, f"exchange {r1} version 3") == {
        "va1@va.example",
        "va2@va.example",
        "md1@md.example",
        "pat.pm@agency.example",
        "mo.pm@agency.example",
    }
    # an exchange a program manager opens: the same
    ex = exchanges.open_exchange(con, "MD", "TX", ["recovery"], 2025, "Mo PM", note=TX_SECRET)
    assert recipients(con, notify.EXCHANGE, f"exchange {ex} ") == {
        "md1@md.example",
        "tx1@tx.example",
        "mo.pm@agency.example",
        "tex.pm@agency.example",
    }
    # a withdrawn request notifies nobody
    r3 = exchanges.request_introduction(con, md, "VA", "MD", ["training"], 2025)
    before = len(rows(con))
    exchanges.decline_request(con, r3, 1, md, None)
    assert len(rows(con)) == before
    # self-assessments: submitted → the state's PM (leadership where there is none); returned / accepted → users
    areas = [{"program_area": "exercises", "maturity": 3}]
    va1 = v["va1@va.example"]
    sid, ver = submissions.submit(con, va1, "VA", 2026, areas, this_year=THIS_YEAR)
    assert recipients(con, notify.REVIEW, f"submission {sid} ") == {"pat.pm@agency.example"}
    ver = submissions.return_submission(con, pat, sid, ver, "Please rate training too.")
    assert recipients(con, notify.REVIEW_RESULT, f"submission {sid} version {ver}") == {
        "va1@va.example",
        "va2@va.example",
    }
    assert (
        "Please rate training too." in rows(con, kind=notify.REVIEW_RESULT, recipient="va2@va.example")[0]["body_text"]
    )
    sid, ver = submissions.submit(con, va1, "VA", 2026, areas, submission_id=sid, version=ver, this_year=THIS_YEAR)
    submissions.accept(con, pat, sid, ver, this_year=THIS_YEAR)
    assert recipients(con, notify.REVIEW_RESULT, f"submission {sid} version {ver + 1}") == {
        "va1@va.example",
        "va2@va.example",
    }
    wsid, _ = submissions.submit(con, wv, "WV", 2026, areas, this_year=THIS_YEAR)
    assert recipients(con, notify.REVIEW, f"submission {wsid} ") == {LEAD}
    assert not any(
        r["recipient"] == LEAD and r["kind"] != notify.REQUEST and r["kind"] != notify.REVIEW for r in rows(con)
    )
    # what each mode means by default: exchanges wait for the digest, the rest is sent on its own
    assert {r["status"] for r in rows(con, kind=notify.EXCHANGE)} == {notify.WAITING}
    assert {r["status"] for r in rows(con) if r["kind"] != notify.EXCHANGE} == {notify.PENDING}


def test_messages_hold_only_what_each_recipient_may_see_and_link_into_the_app(con, smtp):
    v = world(con)
    notify.set_defaults(con, {notify.EXCHANGE: notify.IMMEDIATE}, "Lee Lead")
    md, pat = v["md1@md.example"], v["pat.pm@agency.example"]
    r1 = exchanges.request_introduction(con, md, "VA", "MD", ["exercises"], 2025, "We need <b>help</b> & templates")
    exchanges.accept_request(con, r1, 1, pat, to="introduced")
    ex = exchanges.open_exchange(con, "MD", "TX", ["recovery"], 2025, "Mo PM", note=TX_SECRET)
    exchanges.transition(con, ex, "introduced", 1, "Mo PM", comment=f"{TX_SECRET} call")
    exchanges.transition(con, r1, "in_contact", 2, "Pat PM")
    sid, ver = submissions.submit(
        con,
        v["va1@va.example"],
        "VA",
        2026,
        [{"program_area": "training", "maturity": 3, "notes": "VA form note"}],
        this_year=THIS_YEAR,
    )
    submissions.return_submission(con, pat, sid, ver, "Rate more areas.")
    assert deliver(con, smtp).sent == len(rows(con))
    got = smtp.inbox.messages
    assert sorted(m["Message-ID"] for m in got) == sorted(
        f"<notification-{r['notification_id']}@shisn>" for r in rows(con)
    )
    for m in got:
        text = m.get_body(("plain",)).get_content()
        html = m.get_body(("html",)).get_content()
        whole = text + html + str(m["Subject"])
        assert MD_SECRET not in whole  # no message holds an assessment's notes
        assert "VA form note" not in whole
        # a link into the app, the page to change what one gets, and a signed unsubscribe link
        assert f"{BASE}/" in text and f"{BASE}/notifications?unsubscribe=" in text
        assert m["List-Unsubscribe"].startswith(f"<{BASE}/notifications?unsubscribe=")
        # self-contained HTML: no image, no style sheet or script fetched, links only into the app
        assert "<img" not in html and "<script" not in html and "<link" not in html and "url(" not in html
        import re

        assert all(u.startswith(BASE) for u in re.findall(r'href="([^"]+)"', html))
        assert m["From"] == "shisn-noreply@agency.example"
    # the Maryland-Texas exchange reaches only its parties
    parties = {"md1@md.example", "tx1@tx.example", "mo.pm@agency.example", "tex.pm@agency.example"}
    for m in got:
        body = m.get_body(("plain",)).get_content()
        if TX_SECRET in body or f"Exchange {ex} " in str(m["Subject"]):
            assert m["To"] in parties, (m["To"], m["Subject"])
    assert any(TX_SECRET in m.get_body(("plain",)).get_content() for m in smtp.inbox.to("tx1@tx.example"))
    # the request's message reaches the two PMs as text, escaped in the HTML
    [to_pat] = [m for m in smtp.inbox.to("pat.pm@agency.example") if "Introduction request" in str(m["Subject"])]
    assert "We need <b>help</b> & templates" in to_pat.get_body(("plain",)).get_content()
    assert "We need &lt;b&gt;help&lt;/b&gt; &amp; templates" in to_pat.get_body(("html",)).get_content()
    assert f"{BASE}/exchanges?exchange={r1}" in to_pat.get_body(("plain",)).get_content()
    # the return comment reaches the state's users, with a link to the form
    [returned] = [m for m in smtp.inbox.to("va2@va.example") if "returned" in str(m["Subject"])]
    assert "Rate more areas." in returned.get_body(("plain",)).get_content()
    assert f"{BASE}/assessment?state=VA&cycle=2026" in returned.get_body(("plain",)).get_content()
    # a state user never gets another state's exchange
    for m in smtp.inbox.to("va1@va.example") + smtp.inbox.to("va2@va.example"):
        assert f"Exchange {ex} " not in str(m["Subject"]) and TX_SECRET not in m.get_body(("plain",)).get_content()


# --- preferences, unsubscribe links, defaults ---------------------------------------------------------------------


def test_preferences_defaults_and_unsubscribe_links(con, smtp):
    v = world(con)
    md, pat = v["md1@md.example"], v["pat.pm@agency.example"]
    assert notify.preferences(con, "va1@va.example")[notify.EXCHANGE] == notify.DIGEST  # the built-in default
    notify.set_preferences(con, "va2@va.example", {notify.EXCHANGE: notify.OFF}, "va2")
    notify.set_preferences(con, "va1@va.example", {notify.EXCHANGE: notify.IMMEDIATE}, "va1")
    with pytest.raises(ValueError):
        notify.set_preferences(con, "va1@va.example", {notify.QUEUE: notify.IMMEDIATE}, "va1")  # digest only
    r1 = exchanges.request_introduction(con, md, "VA", "MD", ["exercises"], 2025)
    exchanges.accept_request(con, r1, 1, pat)
    ex_rows = rows(con, kind=notify.EXCHANGE)
    assert {r["recipient"]: r["status"] for r in ex_rows if r["state"] == "VA" and "@va." in r["recipient"]} == {
        "va1@va.example": notify.PENDING
    }  # va2: off, nothing written
    # leadership's default moves everyone who has not chosen
    notify.set_defaults(con, {notify.EXCHANGE: notify.OFF}, "Lee Lead", hour=6)
    assert notify.digest_hour(con) == 6
    exchanges.transition(con, r1, "introduced", 2, "Pat PM")
    assert recipients(con, notify.EXCHANGE, f"exchange {r1} version 3") == {"va1@va.example"}
    assert "notification defaults" in " ".join(con.read("SELECT detail FROM audit_log")["detail"])
    # the unsubscribe link of a delivered message turns its kind off for its recipient
    deliver(con, smtp)
    [m] = [
        m
        for m in smtp.inbox.to("va1@va.example")
        if f"exchange {r1}" in m.get_body(("plain",)).get_content() and "introduced" in str(m["Subject"])
    ]
    token = m["List-Unsubscribe"].split("unsubscribe=")[1].rstrip(">")
    assert notify.unsubscribe(con, token) == ("va1@va.example", [notify.EXCHANGE])
    assert notify.preferences(con, "va1@va.example")[notify.EXCHANGE] == notify.OFF
    assert notify.unsubscribe(con, token) == ("va1@va.example", [])  # again: nothing more to turn off
    exchanges.transition(con, r1, "in_contact", 3, "Pat PM")
    assert recipients(con, notify.EXCHANGE, f"exchange {r1} version 4") == set()
    # a tampered or foreign token is refused
    payload, sig = token.split(".")
    forged = notify.make_token(b"another store's key", "va2@va.example", notify.EXCHANGE)
    for bad in (payload + "." + sig[::-1], forged, "garbage", ""):
        with pytest.raises(notify.BadToken):
            notify.unsubscribe(con, bad)
    # a digest's link turns off everything the user gets in the digest
    notify.set_preferences(
        con, "md1@md.example", {notify.EXCHANGE: notify.DIGEST, notify.REVIEW_RESULT: notify.DIGEST}, "md1"
    )
    with db.transaction(con) as cur:
        secret = notify._secret_in(cur)
    email_, kinds = notify.unsubscribe(con, notify.make_token(secret, "md1@md.example", notify.DIGEST_KIND))
    assert email_ == "md1@md.example" and set(kinds) == {notify.EXCHANGE, notify.REVIEW_RESULT}
    assert notify.preferences(con, "md1@md.example")[notify.REQUEST_ANSWER] == notify.IMMEDIATE


def test_shisn_secret_signs_the_links_when_set(con, monkeypatch):
    world(con)
    monkeypatch.setenv("SHISN_SECRET", "agency-wide key")
    token = notify.make_token(b"agency-wide key", "va1@va.example", notify.EXCHANGE)
    assert notify.read_token(con, token) == ("va1@va.example", notify.EXCHANGE)
    monkeypatch.delenv("SHISN_SECRET")
    with pytest.raises(notify.BadToken):
        notify.read_token(con, token)  # the store's own key is another


# --- digests -----------------------------------------------------------------------------------------------------


def test_the_daily_digest_groups_per_state_oldest_first_with_the_queue_reminders(con, smtp):
    world(con)
    t0 = dt.datetime(2026, 3, 2, 9, 0)
    # Pat manages VA and DE: exchanges in both, changed on different days; one open exchange untouched for 40 days
    old = exchanges.open_exchange(
        con, "VA", "DE", ["training"], 2025, "Pat PM", at=t0 - dt.timedelta(days=40), now=t0 - dt.timedelta(days=40)
    )
    a = exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "Pat PM", now=t0 - dt.timedelta(days=3))
    b = exchanges.open_exchange(con, "VA", "DE", ["exercises"], 2025, "Pat PM", now=t0 - dt.timedelta(days=2))
    exchanges.update(con, a, 1, "Pat PM", status="introduced", now=t0 - dt.timedelta(days=1))
    ex = exchanges.open_exchange(con, "MD", "TX", ["recovery"], 2025, "Mo PM", now=t0 - dt.timedelta(days=1))
    notify.set_preferences(con, "tex.pm@agency.example", {notify.QUEUE: notify.OFF}, "tex")
    assert not daily_digest.digest_due(con, t0.replace(hour=6))  # before the digest hour
    assert daily_digest.digest_due(con, t0)
    assert daily_digest.build_digests(con, now=t0) == len(
        {r["recipient"] for r in rows(con, kind=notify.EXCHANGE)} | {"pat.pm@agency.example"}
    )
    assert daily_digest.build_digests(con, now=t0 + dt.timedelta(hours=2)) is None  # once a day
    assert not daily_digest.digest_due(con, t0 + dt.timedelta(hours=3))
    assert daily_digest.digest_due(con, t0 + dt.timedelta(days=1))
    assert all(r["status"] == notify.DIGESTED and r["digest_id"] for r in rows(con, kind=notify.EXCHANGE))
    # Pat's digest: Delaware's items, then Virginia's (the states in order), each oldest first; the reminders
    [pat] = rows(con, kind=notify.DIGEST_KIND, recipient="pat.pm@agency.example")
    text = pat["body_text"]
    de, va = text.index("Delaware (DE)"), text.index("Virginia (VA)")
    assert de < va
    de_part, va_part = text[de:va], text[va : text.index("\n-- \n")]
    assert de_part.index(f"Exchange {old} opened") < de_part.index(f"Exchange {b} opened")
    assert va_part.index(f"Exchange {a} opened") < va_part.index(f"Exchange {a} (VA → MD, Exercises): proposed")
    assert "Exchanges with no change: waiting 40 days" in de_part and f"Exchange {old}:" in de_part
    assert f"Exchange {ex}" not in text and "Texas" not in text  # not Pat's
    # Tex chose no reminders: his digest holds the Maryland-Texas exchange only
    [tex] = rows(con, kind=notify.DIGEST_KIND, recipient="tex.pm@agency.example")
    assert "Needs no mentor can take" not in tex["body_text"] and f"Exchange {ex} opened" in tex["body_text"]
    # a state user's digest: its own state's items only, under its name
    [va1] = rows(con, kind=notify.DIGEST_KIND, recipient="va1@va.example")
    assert "Virginia (VA)\n" in va1["body_text"] and "Delaware (DE)\n" not in va1["body_text"]
    assert f"Exchange {ex}" not in va1["body_text"] and MD_SECRET not in va1["body_text"]
    # forced again the same day: only the reminders are left to tell, to those who take them (not Tex)
    assert daily_digest.build_digests(con, now=t0 + dt.timedelta(hours=4), force=True) == 2
    assert {r["recipient"] for r in rows(con, kind=notify.DIGEST_KIND) if r["created_at"] > t0} == {
        "pat.pm@agency.example",
        "mo.pm@agency.example",
    }
    # delivered like any other message, its unsubscribe link the digest's
    assert deliver(con, smtp).failed == 0
    [m] = [
        m
        for m in smtp.inbox.to("pat.pm@agency.example")
        if m["Message-ID"] == f"<notification-{pat['notification_id']}@shisn>"
    ]
    assert str(m["Subject"]).startswith("shisn digest 2026-03-02: ")
    with db.transaction(con) as cur:
        secret = notify._secret_in(cur)
    assert notify.make_token(secret, "pat.pm@agency.example", notify.DIGEST_KIND) in m["List-Unsubscribe"]


def test_needs_no_mentor_can_take_come_in_each_program_manager_s_digest(con):
    world(con)
    t0 = dt.datetime(2026, 3, 2, 9, 0)
    assert daily_digest.build_digests(con, now=t0) == 3  # nothing happened yet: the three PMs' reminders only
    digests = {r["recipient"]: r["body_text"] for r in rows(con, kind=notify.DIGEST_KIND)}
    assert set(digests) == set(PMS)
    tex = digests["tex.pm@agency.example"]  # Texas seeks recovery, which nobody offers
    assert "Texas (TX)\n" in tex and "Needs no mentor can take" in tex and "Recovery" in tex
    assert f"{BASE}/pairings?pairings_view=Referred+to+TA" in tex
    for email_, (_, states) in PMS.items():  # each PM's own states only
        heads = {
            line
            for line in digests[email_].splitlines()
            if line.endswith(")") and "(" in line and not line.startswith(" ")
        }
        assert heads and all(h[-3:-1] in states for h in heads), (email_, heads)


# --- delivery: the relay down, refusing, and killed senders ------------------------------------------------------


def _some_events(con, v, n_areas: int = 3) -> int:
    """Exchanges opened between VA and MD in `n_areas` areas: five immediate notifications each."""
    # immediate, and no work-queue reminders: the sender's daily digest has nothing to add to the count
    notify.set_defaults(con, {notify.EXCHANGE: notify.IMMEDIATE, notify.QUEUE: notify.OFF}, "Lee Lead")
    areas = [
        "exercises",
        "training",
        "recovery",
        "strategy",
        "prevention",
        "interoperability",
        "regional_planning",
        "assessment_validation",
    ][:n_areas]
    for a in areas:
        exchanges.open_exchange(con, "VA", "MD", [a], 2025, "Pat PM")
    return len(rows(con, status=notify.PENDING))


def test_with_no_relay_configured_notifications_are_kept_and_shown_not_sent(con, store_target):
    v = world(con)
    n = _some_events(con, v, 1)
    con.close()
    r = subprocess.run(
        [sys.executable, "-m", "shisn", "notify", "send", "--db", store_target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={k: val for k, val in os.environ.items() if k != "SHISN_SMTP_URL"},
    )
    assert r.returncode == 0, r.stderr
    assert f"no mail relay configured (SHISN_SMTP_URL): {n} notification(s) kept in the outbox" in r.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "shisn", "notify", "list", "--db", store_target, "--status", "pending"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = listed.stdout.strip().splitlines()
    assert lines[0] == "id,created_at,kind,recipient,state,subject,status,attempts,next_attempt_at,sent_at,last_error"
    assert len(lines) == n + 1


def test_the_relay_down_then_up_loses_nothing_and_doubles_nothing(con):
    v = world(con)
    n = _some_events(con, v)
    server = Server()  # its port reserved, nobody listening yet
    now = dt.datetime.now().replace(microsecond=0)
    down = deliver(con, server, now=now)
    assert down.sent == 0 and down.retrying == n and "could not be reached" in down.error and not down.ok
    waiting = rows(con, status=notify.PENDING)
    assert len(waiting) == n and all(
        r["attempts"] == 1 and "could not be reached" in r["last_error"] and r["next_attempt_at"] > now for r in waiting
    )
    assert deliver(con, server, now=now).retrying == 0  # not due again before its backoff
    server.start()
    try:
        up = deliver(con, server, now=now + mailer.backoff(1))
        assert up.sent == n and up.ok
        ids = server.inbox.ids()
        assert sorted(ids) == sorted(f"<notification-{r['notification_id']}@shisn>" for r in waiting)
        assert len(set(ids)) == len(ids)
        assert all(r["status"] == notify.SENT and r["last_error"] is None and r["attempts"] == 2 for r in rows(con))
        assert deliver(con, server, now=now + dt.timedelta(hours=2)).sent == 0  # nothing twice
    finally:
        server.stop()


def test_a_refused_recipient_fails_visibly_and_can_be_sent_again(con, smtp, store_target):
    v = world(con)
    n = _some_events(con, v, 1)
    smtp.inbox.refuse.add("md1@md.example")
    out = deliver(con, smtp)
    assert (out.sent, out.failed) == (n - 1, 1) and not out.ok
    [failed] = rows(con, status=notify.FAILED)
    assert failed["recipient"] == "md1@md.example" and failed["last_error"].startswith("550")
    con.close()
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "shisn",
            "notify",
            "list",
            "--db",
            store_target,
            "--status",
            "failed",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    import json

    [row] = json.loads(listed.stdout)
    assert row["status"] == "failed" and row["attempts"] == 1 and "no such mailbox" in row["last_error"]
    again = db.connect(store_target)
    try:
        assert notify.retry_failed(again, "Lee Lead") == 1
        smtp.inbox.refuse.clear()
        assert deliver(again, smtp).sent == 1
        assert smtp.inbox.ids().count(f"<notification-{failed['notification_id']}@shisn>") == 1
    finally:
        again.close()


def _sender(store_target: str, server: Server, *args) -> subprocess.Popen:
    env = {**os.environ, "SHISN_SMTP_URL": server.url, "SHISN_BASE_URL": BASE}
    return subprocess.Popen(
        [sys.executable, "-m", "shisn", "notify", "send", "--db", store_target, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_sender_killed_mid_batch_resends_at_most_the_message_in_flight(con, store_target, smtp):
    v = world(con)
    n = _some_events(con, v, 8)
    assert n == 40
    expected = {f"<notification-{r['notification_id']}@shisn>" for r in rows(con, status=notify.PENDING)}
    con.close()
    smtp.inbox.hold_at = 12  # the 12th message reaches the relay, whose answer waits: the sender is killed then
    proc = _sender(store_target, smtp)
    try:
        assert smtp.inbox.held.wait(120), proc.communicate(timeout=5)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    in_flight = smtp.inbox.ids()[-1]
    smtp.inbox.hold_at = None
    smtp.inbox.release.set()
    store = db.connect(store_target)
    try:
        states = collections.Counter(r["status"] for r in rows(store))
        assert states == {notify.SENT: 11, notify.SENDING: 1, notify.PENDING: n - 12}  # one in flight, no batch
        [stuck] = rows(store, status=notify.SENDING)
        assert f"<notification-{stuck['notification_id']}@shisn>" == in_flight
    finally:
        store.close()
    again = _sender(store_target, smtp)
    out, err = again.communicate(timeout=180)
    assert again.returncode == 0, err
    assert "1 left by a stopped sender sent again" in out and f"{n - 11} sent" in out
    got = collections.Counter(smtp.inbox.ids())
    assert set(got) == expected  # every notification delivered
    assert {mid for mid, c in got.items() if c > 1} <= {in_flight}  # at most the one in flight, twice
    assert sum(got.values()) <= n + 1
    store = db.connect(store_target)
    try:
        assert {r["status"] for r in rows(store)} == {notify.SENT}
        attempts = {f"<notification-{r['notification_id']}@shisn>": r["attempts"] for r in rows(store)}
        assert attempts.pop(in_flight) == 2 and set(attempts.values()) == {1}  # claimed again: that one only
    finally:
        store.close()


@pytest.mark.parametrize("engine", ["postgresql"])
def test_two_replicas_sending_at_once_deliver_each_message_once(con, store_target, smtp):
    v = world(con)
    n = _some_events(con, v, 4)
    smtp.inbox.delay = 0.02
    a, b = _sender(store_target, smtp, "--every", "0.2"), _sender(store_target, smtp, "--every", "0.2")
    try:
        for area in ("prevention", "interoperability", "regional_planning", "assessment_validation"):  # meanwhile
            exchanges.open_exchange(con, "VA", "MD", [area], 2025, "Pat PM")
            exchanges.open_exchange(con, "DE", "VA", [area], 2025, "Pat PM")
        total = len(rows(con))
        assert total > n
        assert smtp.inbox.wait_for(total, timeout=180), (len(smtp.inbox.ids()), total)
        deadline = time.monotonic() + 60
        while rows(con, status=notify.SENDING) or rows(con, status=notify.PENDING):  # the last marks land
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        for p in (a, b):
            p.terminate()
        for p in (a, b):
            p.wait(timeout=30)
    got = collections.Counter(smtp.inbox.ids())
    assert set(got) == {f"<notification-{r['notification_id']}@shisn>" for r in rows(con)}
    assert max(got.values()) == 1  # each message delivered once
    assert {r["status"] for r in rows(con)} == {notify.SENT}


def test_without_the_lock_two_senders_still_claim_each_notification_once(con, store_target, smtp):
    """The lock lets one sender work at a time; the claim alone already keeps two from sending one message."""
    v = world(con)
    n = _some_events(con, v, 6)
    smtp.inbox.delay = 0.01
    stores = [con, db.connect(store_target) if con.engine == "postgresql" else con]
    errors = []

    def work(i):
        try:
            mailer._deliver(stores[i], smtp.relay, mailer.Round(), f"sender-{i}", basics.now, None)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if stores[1] is not con:
        stores[1].close()
    assert not errors
    got = collections.Counter(smtp.inbox.ids())
    assert len(got) == n and max(got.values()) == 1
    assert {r["status"] for r in rows(con)} == {notify.SENT}


def test_the_app_s_sender_thread_delivers_while_the_app_serves(con, smtp, monkeypatch):
    v = world(con)
    n = _some_events(con, v, 2)
    monkeypatch.setenv("SHISN_SMTP_URL", smtp.url)
    monkeypatch.delenv("SHISN_NOTIFY_SENDER", raising=False)
    mailer.app_started(con)  # without SHISN_NOTIFY_SENDER=1: the key only, no thread
    assert con.read("SELECT count(*) AS n FROM settings WHERE key = 'notify_secret'")["n"].iloc[0] == 1
    assert not smtp.inbox.wait_for(1, timeout=0.5)
    stop = mailer.start_background(con, every=0.1)
    try:
        assert mailer.start_background(con) is None  # one thread per store and process
        assert smtp.inbox.wait_for(n, timeout=120)
        exchanges.open_exchange(con, "VA", "MD", ["strategy"], 2025, "Pat PM")  # written while it runs
        assert smtp.inbox.wait_for(n + 5, timeout=120)
    finally:
        stop.set()
        stop.thread.join(60)
        mailer._started.discard(con.target)
    assert not rows(con, status=notify.SENDING) and not rows(con, status=notify.PENDING)
    assert sorted(smtp.inbox.ids()) == sorted(f"<notification-{r['notification_id']}@shisn>" for r in rows(con))


def test_the_relay_setting_is_read_as_documented():
    r = mailer.relay({"SHISN_SMTP_URL": "smtp://relay.agency.internal"})
    assert (r.host, r.port, r.tls, r.user, r.mail_from) == (
        "relay.agency.internal",
        25,
        "auto",
        None,
        "shisn@localhost",
    )
    r = mailer.relay({"SHISN_SMTP_URL": "smtp://shisn%40agency:p%3Ass@relay:587", "SHISN_MAIL_FROM": "a@b.gov"})
    assert (r.port, r.tls, r.user, r.password, r.mail_from) == (587, "starttls", "shisn@agency", "p:ss", "a@b.gov")
    assert "p:ss" not in r.describe() and r.describe() == "smtp://shisn@agency@relay:587"
    assert mailer.relay({"SHISN_SMTP_URL": "smtps://u:p@relay"}).tls == "ssl"
    assert mailer.relay({"SHISN_SMTP_URL": "smtps://u:p@relay"}).port == 465
    assert mailer.relay({"SHISN_SMTP_URL": "smtp://relay?starttls=required"}).tls == "starttls"
    assert mailer.relay({"SHISN_SMTP_URL": "smtp://u:p@relay?starttls=off"}).tls == "off"
    assert mailer.relay({}) is None and mailer.relay({"SHISN_SMTP_URL": " "}) is None
    for bad in ("http://relay", "smtp://", "smtp://relay?starttls=maybe", "smtp://relay:port"):
        with pytest.raises(mailer.ConfigError):
            mailer.relay({"SHISN_SMTP_URL": bad})


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # smtps: TLS is the connection's
@pytest.mark.parametrize("engine", ["duckdb"])
@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_tls_and_login_with_the_relay(con, tmp_path, monkeypatch, scheme):
    """STARTTLS (smtp://, required with a user) or TLS from the start (smtps://), the certificate checked against
    the trust store SSL_CERT_FILE names, then the login; a wrong password is a visible error, retried later."""
    import shutil
    import ssl

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make the test relay's certificate")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = tmp_path / "relay.pem", tmp_path / "relay.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(str(cert), str(key))
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"shisn", b"s3cret"), handled=False)

    inbox, port = Inbox(), free_port()
    # smtps: the whole connection is TLS (aiosmtpd only counts STARTTLS as encryption for AUTH by itself)
    options = (
        {"ssl_context": tls, "auth_require_tls": False}
        if scheme == "smtps"
        else {"tls_context": tls, "require_starttls": True}
    )
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        server_hostname="127.0.0.1",
        **options,
    )
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        v = world(con)
        n = _some_events(con, v, 1)
        wrong = mailer.relay({"SHISN_SMTP_URL": f"{scheme}://shisn:nope@127.0.0.1:{port}"})
        out = mailer.run(con, wrong, digest=False)
        assert out.sent == 0 and out.retrying == n and "535" in out.error
        assert all("535" in r["last_error"] for r in rows(con, status=notify.PENDING))
        right = mailer.relay({"SHISN_SMTP_URL": f"{scheme}://shisn:s3cret@127.0.0.1:{port}"})
        assert right.tls == ("ssl" if scheme == "smtps" else "starttls")
        out = mailer.run(con, right, digest=False, now=dt.datetime.now() + dt.timedelta(hours=1))
        assert out.sent == n and out.ok, out.line()
        assert len(inbox.ids()) == n and logins[-1] == (b"shisn", b"s3cret")
    finally:
        controller.stop()


def test_one_sender_at_a_time(con, store_target, smtp):
    with con.exclusive(mailer.SENDER_LOCK) as first:
        assert first
        with con.exclusive(mailer.SENDER_LOCK) as second:
            assert not second
        assert mailer.run(con, None, use_env=False).held is False
        other = _sender(store_target, smtp)  # another process: it finds the store's sender at work
        out, err = other.communicate(timeout=180)
        assert other.returncode == 0 and "another sender is delivering" in out, err
    with con.exclusive(mailer.SENDER_LOCK) as again:
        assert again


# --- a change rolled back writes no notification -----------------------------------------------------------------


def test_a_change_rolled_back_writes_no_notification(con):
    v = world(con)
    md, pat, mo = v["md1@md.example"], v["pat.pm@agency.example"], v["mo.pm@agency.example"]
    r1 = exchanges.request_introduction(con, md, "VA", "MD", ["exercises"], 2025)
    before = len(rows(con))
    # the change fails after its notifications were written (its history row cannot be added): none is kept
    with db.transaction(con) as cur:
        cur.execute(
            "INSERT INTO exchange_history VALUES (?, 2, ?, 'x', 'requested', 'proposed', NULL, '{}', NULL)",
            [r1, dt.datetime(2026, 1, 1)],
        ).fetchall()
    with pytest.raises(Exception):
        exchanges.accept_request(con, r1, 1, pat)
    assert len(rows(con)) == before
    assert exchanges.get(con, r1)["status"] == "requested"
    with db.transaction(con) as cur:
        cur.execute("DELETE FROM exchange_history WHERE exchange_id = ? AND version = 2", [r1]).fetchall()
    # the first answer wins; the second, on the version it read, is refused and writes nothing
    exchanges.accept_request(con, r1, 1, pat)
    after = len(rows(con))
    with pytest.raises(exchanges.RequestAnswered):
        exchanges.decline_request(con, r1, 1, mo, "Too late")
    assert len(rows(con)) == after and not rows(con, kind=notify.REQUEST_ANSWER, recipient="md1@md.example")[1:]
    # a transaction that writes notifications and then fails keeps none
    with pytest.raises(RuntimeError):
        with db.transaction(con) as cur:
            assert notify.exchange_changed(cur, r1, "requested", "someone")
            raise RuntimeError("the change failed")
    assert len(rows(con)) == after
    # a refused change (a stale edit) writes none either
    with pytest.raises(exchanges.StaleEdit):
        exchanges.transition(con, r1, "introduced", 1, "Mo PM")
    assert len(rows(con)) == after
