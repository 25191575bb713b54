"""Delivering the outbox (shisn/services/notify.py) through the agency's mail relay: `python -m shisn notify send` (from a
timer), or a sender thread in the app (`SHISN_NOTIFY_SENDER=1`).

The contract:

- **Configuration** by environment: `SHISN_SMTP_URL` names the relay, `smtp://[user[:password]@]host[:port]` (port
  25 by default; STARTTLS whenever the relay offers it, and required when a user is given; `?starttls=required`
  always requires it, `?starttls=off` never uses it) or `smtps://…` (TLS from the start, port 465 by default).
  Certificates are checked against the system's trust store (`SSL_CERT_FILE` names another). `SHISN_MAIL_FROM` is
  the sender address. Without `SHISN_SMTP_URL` nothing is sent: notifications stay in the outbox as `pending`, shown
  to leadership and by `notify list`, and the app works as without notifications.
- **One sender at a time** per store: `run` holds `store.exclusive("notify-sender")` (PostgreSQL: a session advisory
  lock; a DuckDB file: an OS lock beside it), and a second sender (another replica, or the timer while the app's
  thread works) returns at once, holding nothing. Each notification is also claimed by a conditional update, so
  even two senders without the lock never deliver one twice.
- **One notification at a time**: claimed (status `sending`, attempts + 1; committed), handed to the relay, marked
  `sent` once the relay accepted it (committed). A sender killed between the relay's acceptance and that mark
  leaves exactly that one notification in `sending`; the next sender (it holds the lock, so nobody else is
  delivering) puts it back in line and sends it again: that single message may arrive twice, with the same
  Message-ID. No other message is sent twice: each one is either marked sent or was never handed over.
- **Stable Message-ID** `<notification-ID@shisn>` on every attempt, so a duplicate can be recognised.
- **Retries**: a temporary failure (the relay unreachable, a 4xx answer, the connection dropped) puts the
  notification back with `next_attempt_at` = now + 1 minute × 2^(attempts − 1), at most an hour; after
  `MAX_ATTEMPTS` attempts, or at once on a permanent refusal (5xx), it is `failed`, with the relay's answer as its
  last error (Users and audit, `notify list`; `notify retry` puts failed ones back in line). While the relay is
  unreachable every notification due is postponed with that error and nothing is claimed.
- **The daily digest** is built by the sender holding the lock, once a day from the digest hour on
  (`daily_digest.digest_due`, `daily_digest.build_digests`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import smtplib
import socket
import ssl
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage

from shisn.domain import basics
from shisn.services import daily_digest, notify
from shisn.store.db import WriteConflict, transaction

SENDER_LOCK = "notify-sender"
MAX_ATTEMPTS = 24  # with the backoff: about a day of trying before a notification counts as failed
BACKOFF_FIRST = 60.0  # seconds before the second attempt; doubled each time
BACKOFF_MAX = 3600.0
TIMEOUT = 30.0  # seconds to wait for the relay
BACKGROUND_EVERY = 60.0  # seconds between two rounds of the app's sender thread
DEFAULT_FROM = "shisn@localhost"


class ConfigError(ValueError):
    """SHISN_SMTP_URL cannot be used; the message says why."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: str  # 'ssl' (smtps), 'starttls' (required), 'auto' (when offered), 'off'
    user: str | None
    password: str | None
    mail_from: str

    def describe(self) -> str:
        """The relay for messages: no password."""
        who = f"{self.user}@" if self.user else ""
        return f"{'smtps' if self.tls == 'ssl' else 'smtp'}://{who}{self.host}:{self.port}"


def relay(env=None) -> Relay | None:
    """The relay `SHISN_SMTP_URL` names (None when it is not set); ConfigError when it cannot be used."""
    env = os.environ if env is None else env
    url = (env.get("SHISN_SMTP_URL") or "").strip()
    if not url:
        return None
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("smtp", "smtps") or not u.hostname:
        raise ConfigError("SHISN_SMTP_URL must look like smtp://host:25 or smtps://user:password@host:465")
    query = dict(urllib.parse.parse_qsl(u.query))
    want = query.get("starttls", "auto").strip().lower()
    if u.scheme == "smtps":
        tls = "ssl"
    elif want in ("auto", ""):
        tls = "auto"
    elif want in ("required", "require", "yes", "true", "1", "on"):
        tls = "starttls"
    elif want in ("off", "no", "false", "0", "never"):
        tls = "off"
    else:
        raise ConfigError(f"SHISN_SMTP_URL: starttls={want!r}; use starttls=required or starttls=off")
    user = urllib.parse.unquote(u.username) if u.username else None
    password = urllib.parse.unquote(u.password) if u.password else None
    if user and tls == "auto":
        tls = "starttls"  # a password is never sent unencrypted unless starttls=off says so
    try:
        port = u.port or (465 if tls == "ssl" else 25)
    except ValueError:
        raise ConfigError("SHISN_SMTP_URL: the port is not a number") from None
    return Relay(u.hostname, port, tls, user, password, (env.get("SHISN_MAIL_FROM") or DEFAULT_FROM).strip())


def relay_label() -> str:
    """The relay in use for the pages: its address, 'none' (kept, not sent) or what is wrong with the setting."""
    try:
        r = relay()
    except ConfigError as e:
        return f"not usable: {e}"
    return r.describe() if r else "none"


def connect(r: Relay) -> smtplib.SMTP:
    ctx = ssl.create_default_context()
    if r.tls == "ssl":
        smtp = smtplib.SMTP_SSL(r.host, r.port, timeout=TIMEOUT, context=ctx)
    else:
        smtp = smtplib.SMTP(r.host, r.port, timeout=TIMEOUT)
    try:
        smtp.ehlo()
        if r.tls == "starttls" or (r.tls == "auto" and smtp.has_extn("starttls")):
            smtp.starttls(context=ctx)
            smtp.ehlo()
        if r.user:
            smtp.login(r.user, r.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def message_id(notification_id: int) -> str:
    return f"<notification-{int(notification_id)}@shisn>"


def message(row: dict, r: Relay) -> EmailMessage:
    """The e-mail of one outbox row: the same headers and bodies on every attempt."""
    m = EmailMessage()
    m["From"] = r.mail_from
    m["To"] = row["recipient"]
    m["Subject"] = row["subject"]
    created = row["created_at"]
    if not isinstance(created, dt.datetime):
        created = dt.datetime.fromisoformat(str(created))
    m["Date"] = email.utils.format_datetime(created.astimezone())
    m["Message-ID"] = message_id(row["notification_id"])
    m["Auto-Submitted"] = "auto-generated"
    m["List-Unsubscribe"] = f"<{row['unsubscribe']}>"
    m.set_content(row["body_text"])
    m.add_alternative(row["body_html"], subtype="html")
    return m


# --- one round ---------------------------------------------------------------------------------------------------


@dataclass
class Round:
    held: bool = True  # False: another sender had the store; this round did nothing
    relay: str | None = None  # None: no relay configured (nothing sent)
    sent: int = 0
    retrying: int = 0  # back in line after a temporary failure
    failed: int = 0  # gave up (permanent refusal, or MAX_ATTEMPTS)
    requeued: int = 0  # left `sending` by a sender that stopped; sent again
    digests: int | None = None  # digests built in this round (None: none was due)
    waiting: int = 0  # pending after the round (not yet due, or no relay)
    error: str | None = None  # the relay's trouble, if any

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    def line(self) -> str:
        if not self.held:
            return "another sender is delivering this store's notifications; nothing to do"
        parts = []
        if self.digests is not None:
            parts.append(f"{self.digests} digest(s) built")
        if self.requeued:
            parts.append(f"{self.requeued} left by a stopped sender sent again (each may arrive twice)")
        if self.relay is None:
            parts.append(
                f"no mail relay configured (SHISN_SMTP_URL): {self.waiting} notification(s) kept in the outbox"
            )
            return "; ".join(parts)
        parts.append(
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed, {self.waiting} waiting "
            f"(relay {self.relay})"
        )
        if self.error:
            parts.append(self.error)
        return "; ".join(parts)


def backoff(attempts: int) -> dt.timedelta:
    """The wait before the next attempt after `attempts` attempts (1, 2, 4 … minutes, at most an hour)."""
    return dt.timedelta(seconds=min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


def _error_text(e: BaseException) -> str:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        code, msg = next(iter(e.recipients.values()))
        return f"{code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"[:500]
    if isinstance(e, smtplib.SMTPResponseException):
        msg = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return f"{e.smtp_code} {msg}"[:500]
    return (f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)[:500]


def _permanent(e: BaseException) -> bool:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return all(int(code) >= 500 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return 500 <= int(e.smtp_code) < 600
    return False


_COLUMNS = [
    "notification_id",
    "created_at",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "unsubscribe",
    "attempts",
]


def _claim(store, sender: str, now: dt.datetime) -> dict | None:
    """The next due notification, claimed for `sender` (committed), or None when nothing is due."""
    while True:
        try:
            with transaction(store) as cur:
                got = cur.execute(
                    "SELECT notification_id FROM notifications WHERE status = ? AND "
                    "next_attempt_at <= ? ORDER BY next_attempt_at, notification_id LIMIT 1",
                    [notify.PENDING, now],
                ).fetchall()
                if not got:
                    return None
                nid = int(got[0][0])
                n = cur.execute(
                    "UPDATE notifications SET status = ?, claimed_by = ?, claimed_at = ?, "
                    "attempts = attempts + 1 WHERE notification_id = ? AND status = ?",
                    [notify.SENDING, sender, now, nid, notify.PENDING],
                ).fetchall()[0][0]
                if n != 1:
                    continue  # another sender claimed it first
                row = dict(
                    zip(
                        _COLUMNS,
                        cur.execute(
                            f"SELECT {', '.join(_COLUMNS)} FROM notifications WHERE notification_id = ?", [nid]
                        ).fetchall()[0],
                    )
                )
                if not cur.scalar("SELECT count(*) FROM users WHERE email = ?", [row["recipient"]]):
                    cur.execute(
                        "UPDATE notifications SET status = ?, last_error = ? WHERE notification_id = ?",
                        [notify.FAILED, "the recipient is no longer a shisn user: not sent", nid],
                    ).fetchall()
                    continue
                return row
        except WriteConflict:
            continue  # two claims of one row at the same moment: the other won


def _settle(
    store, nid: int, sender: str, status: str, now: dt.datetime, *, error: str | None = None, attempts: int = 0
) -> None:
    """Mark a claimed notification sent, back in line (with its backoff) or failed."""
    if status == notify.SENT:
        sets, params = "status = ?, sent_at = ?, last_error = NULL", [status, now]
    else:
        sets, params = "status = ?, next_attempt_at = ?, last_error = ?", [status, now + backoff(attempts), error]
    with transaction(store) as cur:
        cur.execute(
            f"UPDATE notifications SET {sets} WHERE notification_id = ? AND status = ? AND claimed_by = ?",
            [*params, nid, notify.SENDING, sender],
        ).fetchall()


def _postpone_due(store, error: str, now: dt.datetime) -> tuple[int, int]:
    """The relay cannot be reached: every due notification counts an attempt, gets the error and its backoff (or
    fails after MAX_ATTEMPTS); none is claimed. Returns (postponed, failed)."""
    postponed = failed = 0
    with transaction(store) as cur:
        for nid, attempts in cur.execute(
            "SELECT notification_id, attempts FROM notifications WHERE status = ? AND next_attempt_at <= ?",
            [notify.PENDING, now],
        ).fetchall():
            tries = int(attempts) + 1
            status = notify.FAILED if tries >= MAX_ATTEMPTS else notify.PENDING
            cur.execute(
                "UPDATE notifications SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ? "
                "WHERE notification_id = ? AND status = ?",
                [status, tries, now + backoff(tries), error, int(nid), notify.PENDING],
            ).fetchall()
            if status == notify.FAILED:
                failed += 1
            else:
                postponed += 1
    return postponed, failed


def _requeue_stopped(store, now: dt.datetime) -> int:
    """Put back in line what a stopped sender left `sending` (only the lock's holder calls this: nobody else is
    delivering). Each may have reached the relay already: it is sent again, under the same Message-ID."""
    with transaction(store) as cur:
        return int(
            cur.execute(
                "UPDATE notifications SET status = ?, next_attempt_at = ?, last_error = ? WHERE status = ?",
                [
                    notify.PENDING,
                    now,
                    "the sender stopped while delivering it; sent again (it may arrive twice)",
                    notify.SENDING,
                ],
            ).fetchall()[0][0]
        )


def _due(store, now: dt.datetime) -> int:
    return int(
        store.scalar(
            "SELECT count(*) FROM notifications WHERE status = ? AND next_attempt_at <= ?", [notify.PENDING, now]
        )
    )


def _deliver(store, r: Relay, out: Round, sender: str, clock, limit: int | None) -> None:
    if not _due(store, clock()):
        return
    try:
        smtp = connect(r)
    except Exception as e:  # the relay is down, refuses us, or the TLS / login failed
        out.error = f"the relay {r.describe()} could not be reached: {_error_text(e)}"
        out.retrying, out.failed = _postpone_due(store, out.error, clock())
        return
    try:
        while limit is None or out.sent + out.retrying + out.failed < limit:
            row = _claim(store, sender, clock())
            if row is None:
                return
            nid, attempts = int(row["notification_id"]), int(row["attempts"])
            try:
                smtp.send_message(message(row, r), from_addr=r.mail_from, to_addrs=[row["recipient"]])
            except Exception as e:
                err = _error_text(e)
                if _permanent(e) or attempts >= MAX_ATTEMPTS:
                    _settle(store, nid, sender, notify.FAILED, clock(), error=err, attempts=attempts)
                    out.failed += 1
                else:
                    _settle(store, nid, sender, notify.PENDING, clock(), error=err, attempts=attempts)
                    out.retrying += 1
                if isinstance(e, smtplib.SMTPServerDisconnected) or (
                    isinstance(e, OSError) and not isinstance(e, smtplib.SMTPException)
                ):  # the connection is gone (SMTP's own errors are OSErrors too)
                    out.error = f"the relay {r.describe()} dropped the connection: {err}"
                    return  # the rest wait for the next round
                try:
                    smtp.rset()
                except Exception:
                    return
                continue
            _settle(store, nid, sender, notify.SENT, clock())  # the relay accepted it
            out.sent += 1
    finally:
        try:
            smtp.quit()
        except Exception:
            smtp.close()


def run(
    store,
    r: Relay | None = None,
    *,
    now: dt.datetime | None = None,
    limit: int | None = None,
    digest: bool = True,
    use_env: bool = True,
) -> Round:
    """One round of the sender: if no other sender holds the store, put back what a stopped sender left, build
    the day's digest when it is due, and deliver every due notification through the relay (`r`, else the one
    SHISN_SMTP_URL names; none: nothing is sent). `now`: the time to act as of (tests)."""
    if r is None and use_env:
        r = relay()
    sender = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    clock = (lambda: now) if now is not None else basics.now
    with store.exclusive(SENDER_LOCK) as held:
        if not held:
            return Round(held=False)
        out = Round(relay=r.describe() if r else None)
        out.requeued = _requeue_stopped(store, clock())
        if digest and daily_digest.digest_due(store, clock()):
            out.digests = daily_digest.build_digests(store, now=clock())
        if r is not None:
            _deliver(store, r, out, sender, clock, limit)
        out.waiting = int(store.scalar("SELECT count(*) FROM notifications WHERE status = ?", [notify.PENDING]))
        return out


def loop(store, every: float, stop: threading.Event | None = None, *, log=None) -> None:
    """Run a round every `every` seconds until `stop` is set (the CLI's `--every`, the app's thread). A round that
    fails (the store unreachable) is reported and the next one tried."""
    stop = stop or threading.Event()
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    while not stop.is_set():
        try:
            out = run(store)
            if out.held and (out.sent or out.retrying or out.failed or out.requeued or out.digests or out.error):
                log(out.line())
        except Exception as e:  # noqa: BLE001 - a sender keeps going; the next round tries again
            log(f"notification sender: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        stop.wait(every)


_started: set[str] = set()
_started_guard = threading.Lock()


def start_background(store, every: float = BACKGROUND_EVERY) -> threading.Event | None:
    """Start this process's sender thread for `store` (once per store; None when it runs already). Returns the
    event that stops it (its `thread` attribute is the thread)."""
    with _started_guard:
        if store.target in _started:
            return None
        _started.add(store.target)
    stop = threading.Event()
    stop.thread = threading.Thread(target=loop, args=(store, every, stop), name="shisn-notify-sender", daemon=True)
    stop.thread.start()
    return stop


def app_started(store) -> None:
    """When the app opens its store: make the unsubscribe key, and with `SHISN_NOTIFY_SENDER=1` start this
    replica's sender thread (every replica may run one: the lock lets one deliver at a time)."""
    try:
        notify.ensure_secret(store)
    except Exception:  # noqa: BLE001 - the store not writable this moment: the first event makes the key instead
        pass
    if os.environ.get("SHISN_NOTIFY_SENDER", "0").strip() == "1":
        start_background(store)
