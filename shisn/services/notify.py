"""E-mail notifications: events → the outbox (table `notifications`), each user's preferences, the daily digest and
the unsubscribe link. Delivery through the mail relay is shisn/services/mailer.py's.

The contract:

- **A transactional outbox.** An event's rows are written with the caller's cursor INSIDE the transaction that
  makes the change (exchanges.py and submissions.py call `request_made`, `request_answered`, `exchange_changed`
  and `submission_event` in their `with transaction(...)` blocks). A committed change therefore always has its
  notifications, whatever happens to the app or the relay afterwards, and a change rolled back has none.
- **Who gets what.** Recipients are users in the `users` table: a state's *users* have role `state` and that state;
  its *program managers* have role `program_manager` and an e-mail assigned to that state in `program_managers`;
  *leadership* has role `leadership`.

    request         a state asked for an introduction → the program managers of both states (leadership for
                    a state without one)
    request_answer  the request was accepted or declined (with the reason) → the asking state's users
    review          a self-assessment was submitted → the state's program managers (leadership if it has none)
    review_result   it was returned (with the comment) or accepted → the state's users
    exchange        an exchange was opened or its status changed (a request accepted too) → both states' users
                    and program managers
    queue           daily: the work-queue items waiting longer than the stuck threshold, and needs no mentor can
                    take → the program manager (digest only)

  A withdrawn request and the synthetic demo records notify nobody.
- **Only what the recipient may see**, by the pages' rules: a message names the exchange's two states, its areas,
  status, the request's message, a decline reason or a review comment (all seen on the pages by every recipient of
  that event); it never holds an assessment's notes or a contact, and a digest lists only the recipient's own
  items (a program manager's work queue is `shisn.services.queue.items` for that user).
- **Preferences** per user and kind: `immediate` (a message of its own), `digest` (an item of the next daily
  digest) or `off` (nothing is written). Without a choice of their own a user gets leadership's default for the
  kind (`settings` key `notify_default_KIND`; `DEFAULTS` until leadership sets one).
- **The daily digest** (`build_digests`, once a day from the digest hour on, `settings` `notify_digest_hour`,
  default 7): one message per user holding their digest-mode notifications since the last digest, and for a
  program manager the queue items, grouped per state, oldest first. The items it carries become `digested`.
- **Links.** Every message links into the app at `SHISN_BASE_URL` (default http://localhost:8501) and carries an
  unsubscribe link, `/notifications?unsubscribe=TOKEN`: the token names the user and the kind (a digest's: every
  kind the user gets in the digest), signed with HMAC-SHA256 under `SHISN_SECRET`, or else a random key kept in
  `settings` (`notify_secret`, made on first use). The Notifications page honours it by turning that kind off.
- Plain-text and HTML bodies are rendered when the event is written; the HTML is self-contained (inline styles, no
  images, no outside resources; its only links point into the app).

Statuses of a row: `digest` (waits for the next digest) → `digested`; `pending` (to be sent; also without a relay
configured, when it is kept and shown) → `sending` (claimed by a sender) → `sent`, or back to `pending` to retry,
or `failed` (mailer.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

import pandas as pd

from shisn.domain import auth, basics, catalog, jurisdictions, safe_text
from shisn.domain.exchange_rules import status_label
from shisn.store import audit, settings
from shisn.store.db import query_df, transaction

# --- vocabulary ----------------------------------------------------------------------------------------------------

REQUEST, REQUEST_ANSWER, REVIEW, REVIEW_RESULT, EXCHANGE, QUEUE = (
    "request",
    "request_answer",
    "review",
    "review_result",
    "exchange",
    "queue",
)
KINDS: tuple[str, ...] = (REQUEST, REQUEST_ANSWER, REVIEW, REVIEW_RESULT, EXCHANGE, QUEUE)
DIGEST_KIND = "digest"  # the kind of a digest message itself (and of its unsubscribe link)
KIND_LABELS = {
    REQUEST: "Introduction requests",
    REQUEST_ANSWER: "Answers to your state's introduction requests",
    REVIEW: "Self-assessments submitted for review",
    REVIEW_RESULT: "Your state's self-assessment returned or accepted",
    EXCHANGE: "Exchange status changes",
    QUEUE: "Work-queue reminders (items waiting longer than the stuck threshold, needs referred to TA)",
    DIGEST_KIND: "the daily digest",
}
# Which roles a kind can reach (leadership: requests and reviews of states without a program manager).
KIND_ROLES = {
    REQUEST: (auth.LEADERSHIP, auth.PROGRAM_MANAGER),
    REQUEST_ANSWER: (auth.STATE,),
    REVIEW: (auth.LEADERSHIP, auth.PROGRAM_MANAGER),
    REVIEW_RESULT: (auth.STATE,),
    EXCHANGE: (auth.PROGRAM_MANAGER, auth.STATE),
    QUEUE: (auth.PROGRAM_MANAGER,),
}
IMMEDIATE, DIGEST, OFF = "immediate", "digest", "off"
MODES: tuple[str, ...] = (IMMEDIATE, DIGEST, OFF)
MODE_LABELS = {IMMEDIATE: "Immediately", DIGEST: "In the daily digest", OFF: "Off"}
DEFAULTS = {
    REQUEST: IMMEDIATE,
    REQUEST_ANSWER: IMMEDIATE,
    REVIEW: IMMEDIATE,
    REVIEW_RESULT: IMMEDIATE,
    EXCHANGE: DIGEST,
    QUEUE: DIGEST,
}
DIGEST_ONLY = (QUEUE,)  # reminders come in the digest, never one by one

WAITING, PENDING, SENDING, SENT, FAILED, DIGESTED = "digest", "pending", "sending", "sent", "failed", "digested"
STATUSES: tuple[str, ...] = (PENDING, SENDING, SENT, FAILED, WAITING, DIGESTED)
STATUS_LABELS = {
    PENDING: "to send",
    SENDING: "being sent",
    SENT: "sent",
    FAILED: "failed",
    WAITING: "waits for the digest",
    DIGESTED: "in a digest",
}

DEFAULT_KEY = "notify_default_"  # + kind
DIGEST_HOUR_KEY, DEFAULT_DIGEST_HOUR = "notify_digest_hour", 7
DIGEST_DAY_KEY = "notify_digest_day"  # the day the last digest was built (ISO date)
SECRET_KEY = "notify_secret"
DEFAULT_BASE_URL = "http://localhost:8501"
MAX_TEXT = 2000  # user text quoted in a message (a request's message, a comment)
OUTBOX_COLUMNS = [
    "notification_id",
    "created_at",
    "kind",
    "recipient",
    "state",
    "subject",
    "status",
    "attempts",
    "next_attempt_at",
    "sent_at",
    "last_error",
]


class BadToken(ValueError):
    """An unsubscribe link that is damaged, or was not made by this store."""


def base_url() -> str:
    """The app's address as the recipients reach it (`SHISN_BASE_URL`), without a trailing slash."""
    return (os.environ.get("SHISN_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")


def kinds_for(role: str) -> list[str]:
    """The kinds of notification a role can receive, in KINDS order."""
    return [k for k in KINDS if role in KIND_ROLES[k]]


def modes_for(kind: str) -> tuple[str, ...]:
    return (DIGEST, OFF) if kind in DIGEST_ONLY else MODES


def _one_line(text, limit: int = 200) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _quote(text) -> str:
    s = str(text or "").strip()
    return s if len(s) <= MAX_TEXT else s[: MAX_TEXT - 1] + "…"


def _state_name(code: str | None) -> str:
    return f"{jurisdictions.names().get(code, code)} ({code})" if code else ""


def _areas(program_areas: str) -> str:
    return ", ".join(catalog.area_short(a) for a in str(program_areas or "").split(",") if a)


# --- settings: defaults, digest hour, the signing key ----------------------------------------------------------------


def _defaults_in(cur) -> dict[str, str]:
    keys = [DEFAULT_KEY + k for k in KINDS]
    got = dict(
        cur.execute(f"SELECT key, value FROM settings WHERE key IN ({', '.join('?' for _ in keys)})", keys).fetchall()
    )
    out = {}
    for k in KINDS:
        v = got.get(DEFAULT_KEY + k)
        out[k] = v if v in modes_for(k) else DEFAULTS[k]
    return out


def defaults(con) -> dict[str, str]:
    """Leadership's default mode per kind (DEFAULTS where none was set)."""
    with transaction(con) as cur:
        return _defaults_in(cur)


def digest_hour(con) -> int:
    got = query_df(con, "SELECT value FROM settings WHERE key = ?", [DIGEST_HOUR_KEY])
    try:
        h = int(got["value"].iloc[0]) if len(got) else DEFAULT_DIGEST_HOUR
    except ValueError:
        h = DEFAULT_DIGEST_HOUR
    return h if 0 <= h <= 23 else DEFAULT_DIGEST_HOUR


def set_defaults(
    con, modes: dict[str, str], by: str, *, hour: int | None = None, now: dt.datetime | None = None
) -> list[str]:
    """Leadership sets the default mode of some kinds (and the digest hour, 0-23). Audited; raises ValueError
    (nothing written) on an unknown kind or mode. Returns what changed, in words."""
    by = str(by or "").strip()
    if not by:
        raise ValueError("who is changing the defaults must be named")
    for k, m in modes.items():
        if k not in KINDS:
            raise ValueError(f"{k!r} is not a kind of notification")
        if m not in modes_for(k):
            raise ValueError(f"{KIND_LABELS[k]}: {m!r} is not one of {', '.join(modes_for(k))}")
    if hour is not None and (not isinstance(hour, int) or not 0 <= hour <= 23):
        raise ValueError(f"the digest hour is a whole hour from 0 to 23, not {hour!r}")
    now = now or basics.now()
    changed = []
    with transaction(con) as cur:
        current = _defaults_in(cur)
        for k, m in modes.items():
            if current[k] != m:
                settings.put_in(cur, DEFAULT_KEY + k, m, by, now)
                changed.append(f"{k}: {current[k]} → {m}")
        if hour is not None:
            old = settings.get_in(cur, DIGEST_HOUR_KEY) or str(DEFAULT_DIGEST_HOUR)
            if old != str(hour):
                settings.put_in(cur, DIGEST_HOUR_KEY, str(hour), by, now)
                changed.append(f"digest hour: {old} → {hour}")
        if changed:
            audit.record_in(cur, by, "edit", "notification defaults: " + "; ".join(changed))
    return changed


def _secret_in(cur) -> bytes:
    env = os.environ.get("SHISN_SECRET")
    if env:
        return env.encode("utf-8")
    got = settings.get_in(cur, SECRET_KEY)
    if got is None:
        cur.execute(
            "INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            [SECRET_KEY, secrets.token_hex(32), "shisn", basics.now()],
        ).fetchall()
        got = settings.get_in(cur, SECRET_KEY)
    return str(got).encode("utf-8")


def ensure_secret(con) -> None:
    """Make the unsubscribe links' key now (the app calls this when it starts), so that no event's transaction
    has to: two first events at once would otherwise both try to make it."""
    if os.environ.get("SHISN_SECRET"):
        return
    if query_df(con, "SELECT count(*) AS n FROM settings WHERE key = ?", [SECRET_KEY])["n"].iloc[0]:
        return
    with transaction(con) as cur:
        _secret_in(cur)


# --- unsubscribe tokens ----------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def make_token(secret: bytes, email: str, kind: str) -> str:
    payload = _b64(f"{email}\n{kind}".encode())
    return payload + "." + hmac.new(secret, payload.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def unsubscribe_url(secret: bytes, email: str, kind: str) -> str:
    return f"{base_url()}/notifications?unsubscribe={make_token(secret, email, kind)}"


def read_token(con, token: str) -> tuple[str, str]:
    """(email, kind) of an unsubscribe token made by this store; BadToken otherwise."""
    token = str(token or "").strip()
    payload, _, sig = token.partition(".")
    if not payload or not sig:
        raise BadToken("this unsubscribe link is incomplete: open it from the e-mail again, or choose below")
    with transaction(con) as cur:
        secret = _secret_in(cur)
    want = hmac.new(secret, payload.encode("ascii", "replace"), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(want, sig):
        raise BadToken("this unsubscribe link is not valid here: choose what you get below")
    try:
        email, kind = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8").split("\n")
    except ValueError:
        raise BadToken("this unsubscribe link is damaged: choose what you get below") from None
    if kind not in (*KINDS, DIGEST_KIND):
        raise BadToken("this unsubscribe link names no kind of notification this shisn knows")
    return email, kind


def unsubscribe(con, token: str, *, now: dt.datetime | None = None) -> tuple[str, list[str]]:
    """Honour an unsubscribe link: turn its kind off for its user (a digest's link: every kind the user gets in the
    digest). Returns (email, kinds turned off; empty when they were off already). Audited."""
    email, kind = read_token(con, token)
    if kind == DIGEST_KIND:
        prefs = preferences(con, email)
        role = query_df(con, "SELECT role FROM users WHERE email = ?", [email])["role"].tolist()
        kinds = [k for k, m in prefs.items() if m == DIGEST and (not role or k in kinds_for(role[0]))]
    else:
        kinds = [kind] if preferences(con, email)[kind] != OFF else []
    if kinds:
        set_preferences(con, email, {k: OFF for k in kinds}, f"{email} (unsubscribe link)", now=now)
    return email, kinds


# --- preferences -----------------------------------------------------------------------------------------------------


def _modes_in(cur, emails: list[str], kind: str) -> dict[str, str]:
    """Each user's mode for `kind`: their own choice, else leadership's default."""
    default = _defaults_in(cur)[kind]
    if not emails:
        return {}
    got = dict(
        cur.execute(
            f"SELECT email, mode FROM notification_preferences WHERE kind = ? AND email IN "
            f"({', '.join('?' for _ in emails)})",
            [kind, *emails],
        ).fetchall()
    )
    return {e: (got[e] if got.get(e) in modes_for(kind) else default) for e in emails}


def preferences(con, email: str) -> dict[str, str]:
    """{kind: mode} in effect for `email` (their own choices, else leadership's defaults), every kind."""
    email = str(email or "").strip().lower()
    with transaction(con) as cur:
        return {k: _modes_in(cur, [email], k)[email] for k in KINDS}


def own_choices(con, email: str) -> dict[str, str]:
    """The kinds `email` chose a mode for (the rest follow leadership's defaults)."""
    df = query_df(
        con, "SELECT kind, mode FROM notification_preferences WHERE email = ?", [str(email or "").strip().lower()]
    )
    return dict(zip(df["kind"], df["mode"]))


def set_preferences(con, email: str, modes: dict[str, str], by: str, *, now: dt.datetime | None = None) -> int:
    """Set `email`'s mode for some kinds (a user's own page, or an unsubscribe link). Raises ValueError (nothing
    written) on an unknown kind or mode; audited; returns how many kinds changed."""
    email = str(email or "").strip().lower()
    if "@" not in email:
        raise ValueError(f"{email!r} is not an e-mail address")
    for k, m in modes.items():
        if k not in KINDS:
            raise ValueError(f"{k!r} is not a kind of notification")
        if m not in modes_for(k):
            raise ValueError(f"{KIND_LABELS[k]}: {m!r} is not one of {', '.join(modes_for(k))}")
    now = now or basics.now()
    changed = []
    with transaction(con) as cur:
        for k, m in modes.items():
            if _modes_in(cur, [email], k)[email] == m and cur.scalar(
                "SELECT count(*) FROM notification_preferences WHERE email = ? AND kind = ?", [email, k]
            ):
                continue
            cur.execute(
                "INSERT INTO notification_preferences (email, kind, mode, updated_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (email, kind) DO UPDATE SET mode = excluded.mode, "
                "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                [email, k, m, str(by)[:200], now],
            ).fetchall()
            changed.append(f"{k} {m}")
        if changed:
            audit.record_in(cur, by, "edit", f"notification preferences of {email}: {', '.join(changed)}")
    return len(changed)


# --- recipients ------------------------------------------------------------------------------------------------------


def _state_users(cur, state: str) -> list[str]:
    return [
        r[0]
        for r in cur.execute(
            "SELECT email FROM users WHERE role = 'state' AND state = ? ORDER BY email", [state]
        ).fetchall()
    ]


def _pms(cur, state: str) -> list[str]:
    return [
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT u.email FROM users u JOIN program_managers p ON lower(p.email) = u.email "
            "WHERE u.role = 'program_manager' AND p.state = ? ORDER BY u.email",
            [state],
        ).fetchall()
    ]


def _leaders(cur) -> list[str]:
    return [r[0] for r in cur.execute("SELECT email FROM users WHERE role = 'leadership' ORDER BY email").fetchall()]


def _managers_or_leadership(cur, states: list[str]) -> dict[str, tuple[str, str]]:
    """{email: (state, why)}: the program managers of `states`, and leadership for a state with none. A recipient
    concerned through two states files it under the first (callers name an exchange's mentee first: its need)."""
    out: dict[str, tuple[str, str]] = {}
    for s in states:
        pms = _pms(cur, s)
        for e in pms:
            out.setdefault(e, (s, f"you are the program manager of {_state_name(s)}"))
        if not pms:
            for e in _leaders(cur):
                out.setdefault(
                    e, (s, f"you are in ODP leadership and {_state_name(s)} has no program manager in shisn")
                )
    return out


def _users_of(cur, states: list[str]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for s in states:
        for e in _state_users(cur, s):
            out.setdefault(e, (s, f"you are a {_state_name(s)} user of shisn"))
    return out


# --- messages --------------------------------------------------------------------------------------------------------


@dataclass
class Mail:
    subject: str
    lines: list[str]  # paragraphs, plain text (user text included as it is; escaped in the HTML)
    link: str  # the address in the app, e.g. /exchanges?exchange=12
    link_text: str
    quote: str | None = None  # user text shown as a quotation (a request's message, a reason, a comment)
    quote_label: str = ""


_STYLE_BODY = (
    "font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.45;color:#111111;"
    "background:#ffffff;margin:0;padding:0"
)
_STYLE_WRAP = "max-width:640px;margin:0 auto;padding:20px"
_STYLE_BUTTON = (
    "display:inline-block;background:#1f4e96;color:#ffffff;text-decoration:none;padding:10px 16px;"
    "border-radius:4px;font-weight:bold"
)
_STYLE_FOOT = "font-size:12px;color:#444444;border-top:1px solid #cccccc;margin-top:24px;padding-top:12px"
_STYLE_QUOTE = "margin:12px 0;padding:8px 12px;border-left:4px solid #888888;background:#f3f3f3;white-space:pre-wrap"


def _footer(why: str, unsubscribe: str, kind: str) -> tuple[str, str]:
    prefs = f"{base_url()}/notifications"
    what = KIND_LABELS.get(kind, kind)
    text = f"You get this because {why}.\nChoose what you get: {prefs}\nStop these e-mails ({what}): {unsubscribe}\n"
    html_ = (
        f'<p style="{_STYLE_FOOT}">You get this because {safe_text.html(why)}.<br>'
        f'<a href="{safe_text.html(prefs)}">Choose what you get</a> · '
        f'<a href="{safe_text.html(unsubscribe)}">Stop these e-mails ({safe_text.html(what)})</a></p>'
    )
    return text, html_


def _page(subject: str, inner: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{safe_text.html(subject)}</title></head>"
        f'<body style="{_STYLE_BODY}"><div style="{_STYLE_WRAP}">'
        '<p style="font-size:12px;color:#444444;margin:0 0 8px 0">shisn · State Homeland Security Information '
        "Sharing Network</p>"
        f'<h1 style="font-size:20px;margin:0 0 16px 0">{safe_text.html(subject)}</h1>{inner}</div></body></html>\n'
    )


def render(mail: Mail, why: str, unsubscribe: str, kind: str) -> tuple[str, str]:
    """(plain text, HTML) of one message."""
    url = base_url() + mail.link
    text = [*mail.lines]
    inner = [f"<p>{safe_text.html(p)}</p>" for p in mail.lines]
    if mail.quote:
        text.append(f"{mail.quote_label}\n" + "\n".join("> " + ln for ln in mail.quote.splitlines()))
        inner.append(
            f'<p>{safe_text.html(mail.quote_label)}</p><blockquote style="{_STYLE_QUOTE}">{safe_text.html(mail.quote)}'
            "</blockquote>"
        )
    text.append(f"{mail.link_text}: {url}")
    inner.append(f'<p><a href="{safe_text.html(url)}" style="{_STYLE_BUTTON}">{safe_text.html(mail.link_text)}</a></p>')
    foot_text, foot_html = _footer(why, unsubscribe, kind)
    return "\n\n".join(text) + "\n\n-- \n" + foot_text, _page(mail.subject, "".join(inner) + foot_html)


def _queue(
    cur, kind: str, event: str, recipients: dict[str, tuple[str, str]], mail: Mail, now: dt.datetime | None
) -> list[int]:
    """Write one row per recipient (as their mode says: a message, a digest item, or nothing)."""
    if not recipients:
        return []
    now = now or basics.now()
    modes = _modes_in(cur, list(recipients), kind)
    secret = None
    ids = []
    subject = _one_line(mail.subject, 200)
    mail.subject = subject
    for email, (state, why) in recipients.items():
        mode = modes[email]
        if mode == OFF:
            continue
        if secret is None:
            secret = _secret_in(cur)
        nid = int(cur.nextval("notification_id_seq"))
        unsub = unsubscribe_url(secret, email, kind)
        text, body = render(mail, why, unsub, kind)
        cur.execute(
            "INSERT INTO notifications (notification_id, created_at, kind, event, recipient, state, subject, "
            "body_text, body_html, link, unsubscribe, status, attempts, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            [
                nid,
                now,
                kind,
                event,
                email,
                state,
                subject,
                text,
                body,
                mail.link,
                unsub,
                WAITING if mode == DIGEST else PENDING,
                now,
            ],
        ).fetchall()
        ids.append(nid)
    return ids


# --- events (called inside the change's own transaction) -----------------------------------------------------------

_EXCHANGE_COLUMNS = [
    "exchange_id",
    "mentor",
    "mentee",
    "program_areas",
    "cycle",
    "status",
    "requested_state",
    "request_message",
    "decline_reason",
    "synthetic",
    "version",
]


def _exchange(cur, exchange_id: int) -> dict | None:
    rows = cur.execute(
        f"SELECT {', '.join(_EXCHANGE_COLUMNS)} FROM exchanges WHERE exchange_id = ?", [int(exchange_id)]
    ).fetchall()
    return dict(zip(_EXCHANGE_COLUMNS, rows[0])) if rows else None


def _pair(r: dict) -> str:
    return f"{r['mentor']} → {r['mentee']}, {_areas(r['program_areas'])}"


def _status(s) -> str:
    return status_label(s)


def _asks(r: dict) -> tuple[str, str]:
    """(short, long) words for what a request asks."""
    asker, areas = r["requested_state"], _areas(r["program_areas"])
    if asker == r["mentee"]:
        return (
            f"{asker} asks {r['mentor']} to mentor it in {areas}",
            f"{_state_name(asker)} asks {_state_name(r['mentor'])} to mentor it in {areas}",
        )
    return (
        f"{asker} offers to mentor {r['mentee']} in {areas}",
        f"{_state_name(asker)} offers to mentor {_state_name(r['mentee'])} in {areas}",
    )


def request_made(cur, exchange_id: int, by: str, *, now: dt.datetime | None = None) -> list[int]:
    """A state asked for an introduction: the program managers of both states (leadership for a state without
    one) hear of it, with the request's message."""
    r = _exchange(cur, exchange_id)
    if r is None or r["synthetic"]:
        return []
    short, long = _asks(r)
    mail = Mail(
        f"Introduction request {r['exchange_id']}: {short}",
        [
            f"{by} ({r['requested_state']}) asked for an introduction: {long} (cycle {r['cycle']}).",
            "The program manager of either state, or ODP leadership, accepts it (as proposed or introduced) "
            "or declines it with a reason the state sees.",
        ],
        f"/exchanges?exchange={r['exchange_id']}",
        "Open the request",
        quote=_quote(r["request_message"]) or None,
        quote_label="Their message:",
    )
    return _queue(
        cur,
        REQUEST,
        f"exchange {r['exchange_id']} version {r['version']}",
        _managers_or_leadership(cur, [r["mentee"], r["mentor"]]),
        mail,
        now,
    )


def request_answered(cur, exchange_id: int, by: str, *, now: dt.datetime | None = None) -> list[int]:
    """A request was accepted or declined: the asking state's users hear of it (a decline with its reason). An
    accepted request is also a new exchange for the other state's users and both program managers. A request the
    state withdrew itself notifies nobody."""
    r = _exchange(cur, exchange_id)
    if r is None or r["synthetic"] or not r["requested_state"]:
        return []
    event = f"exchange {r['exchange_id']} version {r['version']}"
    link = f"/exchanges?exchange={r['exchange_id']}"
    short, long = _asks(r)
    asker = r["requested_state"]
    if r["status"] == "declined":
        reason = str(r["decline_reason"] or "")
        if reason.startswith("withdrawn by"):
            return []
        mail = Mail(
            f"Introduction request {r['exchange_id']} declined: {short}",
            [f"{by} declined {asker}'s request for an introduction: {long} (cycle {r['cycle']})."],
            link,
            "Open the request",
            quote=_quote(reason) or None,
            quote_label="The reason:",
        )
        return _queue(cur, REQUEST_ANSWER, event, _users_of(cur, [asker]), mail, now)
    status = _status(r["status"])
    nxt = (
        "The program managers introduce the two states next."
        if r["status"] == "proposed"
        else "The two states have been introduced: they can now contact each other."
    )
    mail = Mail(
        f"Introduction request {r['exchange_id']} accepted: {_pair(r)}",
        [f"{by} accepted {asker}'s request ({long}): it is now exchange {r['exchange_id']}, {status}.", nxt],
        link,
        "Open the exchange",
    )
    ids = _queue(cur, REQUEST_ANSWER, event, _users_of(cur, [asker]), mail, now)
    other = r["mentor"] if asker == r["mentee"] else r["mentee"]
    others = {**_users_of(cur, [other]), **_managers_of(cur, [r["mentee"], r["mentor"]])}
    change = Mail(
        f"Exchange {r['exchange_id']} ({_pair(r)}): requested → {status}",
        [
            f"{by} accepted the introduction request {asker} made ({long}): exchange {r['exchange_id']} is "
            f"now {status}.",
            nxt,
        ],
        link,
        "Open the exchange",
    )
    return ids + _queue(cur, EXCHANGE, event, others, change, now)


def _managers_of(cur, states: list[str]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for s in states:
        for e in _pms(cur, s):
            out.setdefault(e, (s, f"you are the program manager of {_state_name(s)}"))
    return out


def exchange_changed(
    cur,
    exchange_id: int,
    old_status: str | None,
    by: str,
    *,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> list[int]:
    """An exchange was opened (`old_status` None) or moved to another status: both states' users and program
    managers hear of it, with the comment recorded with the change (both states see it on the exchange)."""
    r = _exchange(cur, exchange_id)
    if r is None or r["synthetic"] or r["status"] == old_status:
        return []
    new = _status(r["status"])
    if old_status is None:
        subject = f"Exchange {r['exchange_id']} opened: {_pair(r)}"
        what = (
            f"{by} opened exchange {r['exchange_id']}: {_state_name(r['mentor'])} to mentor "
            f"{_state_name(r['mentee'])} in {_areas(r['program_areas'])} (cycle {r['cycle']}); it is {new}."
        )
    else:
        subject = f"Exchange {r['exchange_id']} ({_pair(r)}): {_status(old_status)} → {new}"
        what = (
            f"{by} recorded that exchange {r['exchange_id']} ({_state_name(r['mentor'])} mentoring "
            f"{_state_name(r['mentee'])} in {_areas(r['program_areas'])}) is now {new} (was {_status(old_status)})."
        )
    mail = Mail(
        subject,
        [what],
        f"/exchanges?exchange={r['exchange_id']}",
        "Open the exchange",
        quote=_quote(comment) or None,
        quote_label="Comment:",
    )
    recipients = {**_users_of(cur, [r["mentee"], r["mentor"]]), **_managers_of(cur, [r["mentee"], r["mentor"]])}
    return _queue(cur, EXCHANGE, f"exchange {r['exchange_id']} version {r['version']}", recipients, mail, now)


def submission_event(
    cur, submission_id: int, by: str, *, comment: str | None = None, now: dt.datetime | None = None
) -> list[int]:
    """A self-assessment was submitted (its program managers, or leadership where it has none, hear of it), or
    returned with the reviewer's comment or accepted (the state's users hear of it)."""
    rows = cur.execute(
        "SELECT state, cycle, status, version, synthetic FROM submissions WHERE submission_id = ?", [int(submission_id)]
    ).fetchall()
    if not rows or rows[0][4]:
        return []
    state, cycle, status, version, _ = rows[0]
    cycle = int(cycle)
    link = f"/assessment?state={state}&cycle={cycle}"
    event = f"submission {submission_id} version {version}"
    name = _state_name(state)
    if status == "submitted":
        mail = Mail(
            f"Self-assessment {state} {cycle} submitted for review",
            [
                f"{by} submitted {name}'s self-assessment for {cycle}. It waits for review: accept it, or "
                "return it with a comment saying what to change."
            ],
            link,
            "Review it",
        )
        return _queue(cur, REVIEW, event, _managers_or_leadership(cur, [state]), mail, now)
    if status == "returned":
        mail = Mail(
            f"Self-assessment {state} {cycle} returned for changes",
            [f"{by} returned {name}'s self-assessment for {cycle}. Change it on the form and submit it again."],
            link,
            "Open the form",
            quote=_quote(comment) or None,
            quote_label="The comment:",
        )
    elif status == "accepted":
        mail = Mail(
            f"Self-assessment {state} {cycle} accepted",
            [f"{by} accepted {name}'s self-assessment for {cycle}: its ratings are now on record."],
            link,
            "Open it",
        )
    else:
        return []
    return _queue(cur, REVIEW_RESULT, event, _users_of(cur, [state]), mail, now)


# --- the daily digest ------------------------------------------------------------------------------------------------


# --- the outbox, for leadership and `notify list` -------------------------------------------------------------------


def outbox(con, status: str | None = None, *, recipient: str | None = None, limit: int | None = 500) -> pd.DataFrame:
    """The outbox, newest first: OUTBOX_COLUMNS (status: STATUSES)."""
    sql = f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM notifications WHERE 1 = 1"
    params: list = []
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"{status!r} is not a status; statuses: {', '.join(STATUSES)}")
        sql += " AND status = ?"
        params.append(status)
    if recipient is not None:
        sql += " AND recipient = ?"
        params.append(str(recipient).strip().lower())
    sql += " ORDER BY notification_id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return query_df(con, sql, params)


def counts(con) -> dict[str, int]:
    """{status: rows} for every status (zeros included)."""
    df = query_df(con, "SELECT status, count(*) AS n FROM notifications GROUP BY status")
    got = dict(zip(df["status"], df["n"]))
    return {s: int(got.get(s, 0)) for s in STATUSES}


def export(df: pd.DataFrame) -> pd.DataFrame:
    """The outbox as `notify list` prints it (times in ISO form)."""
    out = df.copy()
    for c in ("created_at", "next_attempt_at", "sent_at"):
        out[c] = [None if pd.isna(v) else pd.Timestamp(v).isoformat(sep=" ") for v in out[c]]
    out = out.rename(columns={"notification_id": "id"})
    return out.astype(object).where(out.notna(), None)


def retry_failed(con, by: str, *, now: dt.datetime | None = None) -> int:
    """Put every failed notification back in line (attempts start again); audited. Returns how many."""
    now = now or basics.now()
    with transaction(con) as cur:
        n = int(
            cur.execute(
                "UPDATE notifications SET status = ?, attempts = 0, next_attempt_at = ? WHERE status = ?",
                [PENDING, now, FAILED],
            ).fetchall()[0][0]
        )
        if n:
            audit.record_in(cur, by, "edit", f"{n} failed notification(s) queued again")
    return n
