"""The Notifications page (each user's own choices; the unsubscribe link lands there) and the outbox on Users and
audit (leadership: status, attempts, last error; defaults per kind), in Streamlit's AppTest on the demo store."""

from __future__ import annotations

import pytest

from shisn.domain import auth
from shisn.services import exchanges, mailer, notify
from shisn.store import accounts, db
from shisn.web import identity
from tests.store.test_notify import Server
from tests.support import ROOT, page_as

PAGE = ROOT / "pages" / "notifications.py"
USERS = ROOT / "pages" / "users.py"
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Lead")


@pytest.fixture
def store(demo_db, monkeypatch):
    """The demo store with users: a VA and an MD state user, VA's program manager (from the demo's assignments)
    and leadership; one exchange opened between VA and MD, its notifications sent immediately."""
    monkeypatch.setenv("SHISN_BASE_URL", "https://shisn.agency.example")
    monkeypatch.delenv("SHISN_SMTP_URL", raising=False)
    monkeypatch.delenv("SHISN_SECRET", raising=False)
    con = db.connect(demo_db)
    pm_email = con.read("SELECT email FROM program_managers WHERE state = 'VA'")["email"].iloc[0]
    accounts.add_user(con, pm_email, auth.PROGRAM_MANAGER, "setup", name="VA PM")
    accounts.add_user(con, "va1@va.example", auth.STATE, "setup", state="VA")
    accounts.add_user(con, "md1@md.example", auth.STATE, "setup", state="MD")
    accounts.add_user(con, "lead@agency.example", auth.LEADERSHIP, "setup")
    notify.set_defaults(con, {notify.EXCHANGE: notify.IMMEDIATE}, "setup")
    exchanges.open_exchange(con, "VA", "MD", ["strategy"], 2025, "VA PM", note="First call next week.")
    yield {"con": con, "path": demo_db, "pm": pm_email}
    con.close()


def signed_in(monkeypatch, email):
    monkeypatch.setenv("SHISN_AUTH", "header")
    monkeypatch.setattr(identity, "signed_in_email", lambda: email)


def test_a_signed_in_user_chooses_per_kind_and_sees_only_their_own_e_mails(store, monkeypatch):
    signed_in(monkeypatch, "va1@va.example")
    viewer = accounts.viewer_for(store["con"], "va1@va.example")
    at = page_as(viewer, PAGE)
    assert not at.exception and at.title[0].value == "Notifications"
    assert [r.label for r in at.radio] == [notify.KIND_LABELS[k] for k in notify.kinds_for(auth.STATE)]
    recent = at.markdown[-1].value
    assert "Exchange" in recent and "VA → MD" in recent.replace("\\", "")
    assert "No mail relay is configured" in " ".join(c.value for c in at.caption)
    exchange = next(r for r in at.radio if r.label == notify.KIND_LABELS[notify.EXCHANGE])
    exchange.set_value(notify.OFF)
    at.button[0].click()  # the form's Save
    at.run()
    assert not at.exception and at.success[0].value == "Saved."
    assert notify.preferences(store["con"], "va1@va.example")[notify.EXCHANGE] == notify.OFF
    assert next(r for r in at.radio if r.label == notify.KIND_LABELS[notify.EXCHANGE]).value == notify.OFF
    # another user's e-mails are not listed: MD's user sees its own only
    signed_in(monkeypatch, "md1@md.example")
    at = page_as(accounts.viewer_for(store["con"], "md1@md.example"), PAGE)
    assert [
        r["recipient"]
        for r in store["con"]
        .read("SELECT recipient FROM notifications WHERE recipient = 'md1@md.example'")
        .to_dict("records")
    ]
    assert "va1@va.example" not in " ".join(m.value for m in at.markdown)


def test_a_program_manager_has_the_reminders_which_come_only_in_the_digest(store, monkeypatch):
    signed_in(monkeypatch, store["pm"])
    at = page_as(accounts.viewer_for(store["con"], store["pm"]), PAGE)
    assert not at.exception
    reminders = next(r for r in at.radio if r.label == notify.KIND_LABELS[notify.QUEUE])
    assert list(reminders.options) == [notify.MODE_LABELS[notify.DIGEST], notify.MODE_LABELS[notify.OFF]]


def test_the_unsubscribe_link_turns_its_kind_off_once_and_leaves_the_address(store, monkeypatch):
    con = store["con"]
    [token] = [
        u.split("unsubscribe=")[1]
        for u in con.read("SELECT unsubscribe FROM notifications WHERE recipient = 'va1@va.example'")["unsubscribe"]
    ]
    signed_in(monkeypatch, "va1@va.example")
    at = page_as(accounts.viewer_for(con, "va1@va.example"), PAGE, params={"unsubscribe": token})
    assert not at.exception
    assert "va1@va\\.example gets no more e-mails about exchange status changes" in at.success[0].value
    assert "unsubscribe" not in at.query_params
    assert notify.preferences(con, "va1@va.example")[notify.EXCHANGE] == notify.OFF
    # choosing it again on the page is kept: the link is not honoured a second time
    exchange = next(r for r in at.radio if r.label == notify.KIND_LABELS[notify.EXCHANGE])
    exchange.set_value(notify.IMMEDIATE)
    at.button[0].click()
    at.run()
    assert notify.preferences(con, "va1@va.example")[notify.EXCHANGE] == notify.IMMEDIATE
    # a damaged link changes nothing and says so
    at = page_as(accounts.viewer_for(con, "va1@va.example"), PAGE, params={"unsubscribe": token[:-3] + "xyz"})
    assert not at.exception and "not valid" in at.error[0].value
    assert notify.preferences(con, "va1@va.example")[notify.EXCHANGE] == notify.IMMEDIATE


def test_in_demo_mode_the_page_shows_the_defaults_and_asks_nothing(store):
    at = page_as(auth.Viewer(auth.STATE, "Demo state user (VA)", ("VA",)), PAGE)
    assert not at.exception and not at.radio
    assert "Demo mode" in at.info[0].value
    assert "Exchange status changes | Immediately" in at.markdown[-1].value


def test_leadership_sees_the_outbox_with_status_attempts_and_last_error_and_sets_the_defaults(store, monkeypatch):
    con = store["con"]
    server = Server().start()
    try:
        server.inbox.refuse.add("md1@md.example")
        out = mailer.run(con, server.relay, digest=False)
        assert out.failed == 1
    finally:
        server.stop()
    at = page_as(LEAD, USERS, params={"users_view": "Notifications"})
    assert not at.exception
    outbox = at.dataframe[0].value
    assert {"status", "attempts", "last_error", "recipient"} <= set(outbox.columns)
    failed = outbox[outbox["status"] == notify.FAILED]
    assert failed["recipient"].tolist() == ["md1@md.example"] and failed["last_error"].iloc[0].startswith("550")
    assert (outbox[outbox["status"] == notify.SENT]["attempts"] == 1).all()
    assert "1 notification(s) failed" in at.warning[0].value
    retry = next(b for b in at.button if b.label == "Send the failed ones again")
    retry.click()
    at.run()
    assert not at.exception and notify.counts(con)[notify.FAILED] == 0 and notify.counts(con)[notify.PENDING] == 1
    # the defaults, in a panel drawn when opened
    assert not at.radio
    at.session_state["notify_defaults_open"] = True
    at.run()
    review = next(r for r in at.radio if r.label == notify.KIND_LABELS[notify.REVIEW])
    review.set_value(notify.DIGEST)
    at.number_input[0].set_value(5)
    next(b for b in at.button if b.label == "Save the defaults").click()
    at.run()
    assert not at.exception
    assert notify.defaults(con)[notify.REVIEW] == notify.DIGEST and notify.digest_hour(con) == 5
    assert any("notification defaults" in d for d in con.read("SELECT detail FROM audit_log")["detail"])


def test_the_outbox_is_for_leadership_only(store):
    at = page_as(auth.Viewer(auth.STATE, "VA user", ("VA",)), USERS, params={"users_view": "Notifications"})
    assert not at.exception and not at.dataframe
    assert "md1@md.example" not in " ".join(m.value for m in at.markdown)
