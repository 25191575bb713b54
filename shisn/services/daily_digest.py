"""The daily digest: once a day from the digest hour on, each user's waiting notifications in one e-mail, and for
program managers who take work-queue reminders, the queue items waiting longer than the stuck threshold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from shisn.domain import basics, pairing, safe_text
from shisn.services import notify, offers, queue
from shisn.store import accounts, queries, settings
from shisn.store.db import query_df, transaction


@dataclass
class Item:
    state: str | None
    since: dt.datetime | None
    text: str
    link: str
    notification_id: int | None = None


@dataclass
class Digest:
    email: str
    items: list[Item] = field(default_factory=list)

    def groups(self) -> list[tuple[str | None, list[Item]]]:
        """Items per state (states in code order, items without a state last), each oldest first."""
        by: dict = {}
        for it in self.items:
            by.setdefault(it.state, []).append(it)
        far = dt.datetime.max
        return [
            (s, sorted(by[s], key=lambda i: (i.since or far, i.notification_id or 0, i.text)))
            for s in sorted(by, key=lambda s: (s is None, s or ""))
        ]


def digest_due(con, now: dt.datetime | None = None) -> bool:
    """Today's digest is not built yet and the digest hour has come."""
    now = now or basics.now()
    got = query_df(con, "SELECT value FROM settings WHERE key = ?", [notify.DIGEST_DAY_KEY])
    built = str(got["value"].iloc[0]) if len(got) else ""
    return built != now.date().isoformat() and now.hour >= notify.digest_hour(con)


def _queue_items(con, now: dt.datetime) -> dict[str, list[Item]]:
    """For each program manager who takes work-queue reminders: their queue items waiting longer than the stuck
    threshold, and the needs no mentor can take (referred to TA), as `shisn.services.queue.items` gives them to that user."""
    pms = query_df(con, "SELECT email FROM users WHERE role = 'program_manager' ORDER BY email")["email"].tolist()
    if not pms:
        return {}
    with transaction(con) as cur:
        modes = notify._modes_in(cur, pms, notify.QUEUE)
    takers = [e for e in pms if modes[e] != notify.OFF]
    if not takers:
        return {}
    days = settings.stuck_days(con)
    cycle = queries.latest_cycle(con)
    refs = (
        pairing.suggest(
            queries.assessments(con, cycle), with_candidates=False, offers=offers.pairing_offers(con)
        ).referrals
        if cycle is not None
        else None
    )
    out: dict[str, list[Item]] = {}
    for email in takers:
        viewer = accounts.viewer_for(con, email)
        if viewer is None or not viewer.states:
            continue
        df = queue.items(con, viewer, now=now, referrals=refs, cycle=cycle)
        if df.empty:
            continue
        df = df[(df["kind"] == queue.UNMATCHED) | (df["age_days"].fillna(0) >= days)]
        items = []
        for r in df.itertuples(index=False):
            mine = [s for s in reversed(str(r.states).split(",")) if s in viewer.states]  # the mentee first
            age = "" if pd.isna(r.age_days) else f"waiting {int(r.age_days)} days · "
            items.append(
                Item(
                    mine[0] if mine else None,
                    None if pd.isna(r.since) else pd.Timestamp(r.since).to_pydatetime(),
                    f"{r.kind_label}: {age}{r.item}",
                    str(r.link),
                )
            )
        if items:
            out[email] = items
    return out


def _render_digest(d: Digest, day: dt.date, unsubscribe: str) -> tuple[str, str, str]:
    n = len(d.items)
    groups = d.groups()
    subject = f"shisn digest {day.isoformat()}: {n} item{'s' if n != 1 else ''}"
    lead = (
        f"{n} item{'s' if n != 1 else ''} since your last digest"
        f"{f' in {len(groups)} states' if len(groups) > 1 else ''}, grouped per state, oldest first."
    )
    base = notify.base_url()
    text, inner = [lead], [f"<p>{safe_text.html(lead)}</p>"]
    for state, items in groups:
        head = notify._state_name(state) if state else "Other"
        text.append(
            head
            + "\n"
            + "\n".join(f"  - {f'{i.since:%Y-%m-%d} · ' if i.since else ''}{i.text}\n    {base}{i.link}" for i in items)
        )
        inner.append(
            f'<h2 style="font-size:16px;margin:20px 0 6px 0">{safe_text.html(head)}</h2><ul style="padding-left:20px">'
            + "".join(
                f'<li style="margin:0 0 6px 0">{safe_text.html(f"{i.since:%Y-%m-%d} · ") if i.since else ""}'
                f'<a href="{safe_text.html(base + i.link)}">{safe_text.html(i.text)}</a></li>'
                for i in items
            )
            + "</ul>"
        )
    foot_text, foot_html = notify._footer(
        "you chose to get these in a daily digest (or leadership's default does)", unsubscribe, notify.DIGEST_KIND
    )
    return subject, "\n\n".join(text) + "\n\n-- \n" + foot_text, notify._page(subject, "".join(inner) + foot_html)


def build_digests(con, *, now: dt.datetime | None = None, force: bool = False) -> int | None:
    """Build today's digests: one message per user with anything to tell (status pending, delivered like any
    other), the items it carries marked `digested`, all in one transaction; at most once a day (`force`: again).
    Returns how many digests were written, or None when today's were built already."""
    now = now or basics.now()
    day = now.date()
    queued = _queue_items(con, now)  # the heavy reads first, outside the transaction
    with transaction(con) as cur:
        cur.lock("notify_digest")  # one builder at a time: two replicas or timers build one digest
        if not force and settings.get_in(cur, notify.DIGEST_DAY_KEY) == day.isoformat():
            return None
        digests: dict[str, Digest] = {}
        for nid, email, state, created, subject, link in cur.execute(
            "SELECT notification_id, recipient, state, created_at, subject, link FROM notifications "
            "WHERE status = ? ORDER BY created_at, notification_id",
            [notify.WAITING],
        ).fetchall():
            digests.setdefault(email, Digest(email)).items.append(
                Item(state, pd.Timestamp(created).to_pydatetime(), subject, link, int(nid))
            )
        for email, items in queued.items():
            digests.setdefault(email, Digest(email)).items.extend(items)
        secret = notify._secret_in(cur) if digests else b""
        for email in sorted(digests):
            d = digests[email]
            nid = int(cur.nextval("notification_id_seq"))
            unsub = notify.unsubscribe_url(secret, email, notify.DIGEST_KIND)
            subject, text, body = _render_digest(d, day, unsub)
            cur.execute(
                "INSERT INTO notifications (notification_id, created_at, kind, event, recipient, state, "
                "subject, body_text, body_html, link, unsubscribe, status, attempts, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, 0, ?)",
                [
                    nid,
                    now,
                    notify.DIGEST_KIND,
                    f"digest {day.isoformat()}",
                    email,
                    subject,
                    text,
                    body,
                    "/notifications",
                    unsub,
                    notify.PENDING,
                    now,
                ],
            ).fetchall()
            carried = [i.notification_id for i in d.items if i.notification_id is not None]
            if carried:
                cur.execute(
                    f"UPDATE notifications SET status = ?, digest_id = ? WHERE status = ? AND "
                    f"notification_id IN ({', '.join('?' for _ in carried)})",
                    [notify.DIGESTED, nid, notify.WAITING, *carried],
                ).fetchall()
        settings.put_in(cur, notify.DIGEST_DAY_KEY, day.isoformat(), "shisn", now)
    return len(digests)
