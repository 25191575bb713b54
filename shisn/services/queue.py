"""The work queue: one list of what needs a program manager's (or leadership's) action: first what waits for a
person's decision (introduction requests and self-assessments to review, oldest first), then the rest (exchanges
with no change, needs no mentor can take, oldest first).

Pure over the store (no Streamlit); the Work queue page (`pages/queue.py`, a PM's landing page) and
`python -m shisn queue` show the same items. Four kinds, each linking to the page where it is handled:

- ``request``   introduction requests from states waiting for an answer (shisn.services.exchanges; since: requested_at);
- ``review``    self-assessments submitted on the form, waiting for review (``shisn.services.submissions.pending_reviews``;
                since: submitted_at);
- ``stuck``     open exchanges with no change for ``stuck_days`` days (the ``settings`` key 'stuck_days', default 30,
                leadership changes it on the page; since: the last change);
- ``unmatched`` needs of the viewer's states that no eligible mentor can take in the latest cycle (the national
                pairing's referrals, ``shisn.domain.pairing.suggest``: no eligible mentor, none rated above the state, or
                all at capacity), not yet recorded as TA referrals and not already in a request or open exchange
                (since: when the self-assessment holding the need was loaded).

Scope: leadership sees every state; a program manager the items touching their assigned states; state users
have no queue (their requests and status are on their profile and the Exchanges page).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pandas as pd

from shisn.domain import auth, catalog, exchange_rules, pairing
from shisn.services import exchanges, offers, submissions
from shisn.store import queries, settings
from shisn.store.db import query_df

REQUEST, REVIEW, STUCK, UNMATCHED = "request", "review", "stuck", "unmatched"
KINDS = (REQUEST, REVIEW, STUCK, UNMATCHED)
KIND_LABELS = {
    REQUEST: "Introduction requests",
    REVIEW: "Self-assessments to review",
    STUCK: "Exchanges with no change",
    UNMATCHED: "Needs no mentor can take",
}
DECISIONS = (REQUEST, REVIEW)  # a person decides: listed before the follow-ups, whatever their age
COLUMNS = ["kind", "kind_label", "since", "age_days", "states", "item", "link", "ref"]
ROLES = (auth.LEADERSHIP, auth.PROGRAM_MANAGER)

# The setting lives in shisn.services.impact (network health reads it too); the queue adds the role check.


# --- the setting ---------------------------------------------------------------------------------------------------


# --- submitted self-assessments ---------------------------------------------------------------------------------------


def pending_reviews(con, viewer: auth.Viewer) -> pd.DataFrame:
    """Self-assessments waiting for this viewer's review: `shisn.services.submissions.pending_reviews` (columns
    submission_id, state, cycle, submitted_by, submitted_at, link)."""
    return submissions.pending_reviews(con, viewer)


# --- the items -----------------------------------------------------------------------------------------------------


def _link(path: str, **query) -> str:
    return f"/{path}" + ("?" + urllib.parse.urlencode(query) if query else "")


def _area_text(program_areas: str) -> str:
    return ", ".join(catalog.area_short(a) for a in str(program_areas).split(","))


def _requests(con, viewer) -> list[dict]:
    df = exchanges.list_exchanges(con, viewer, status=exchange_rules.REQUESTED)
    out = []
    for r in df.itertuples(index=False):
        asker = r.requested_state
        what = (
            f"{asker} asks to be mentored by {r.mentor}"
            if asker == r.mentee
            else f"{asker} offers to mentor {r.mentee}"
        )
        out.append(
            {
                "kind": REQUEST,
                "since": r.requested_at,
                "states": f"{r.mentor},{r.mentee}",
                "item": f"Request {r.exchange_id}: {what} · {r.areas_label}",
                "link": _link("exchanges", exchange=int(r.exchange_id)),
                "ref": int(r.exchange_id),
            }
        )
    return out


def _reviews(con, viewer) -> list[dict]:
    df = pending_reviews(con, viewer)
    return [
        {
            "kind": REVIEW,
            "since": r.submitted_at,
            "states": r.state,
            "item": f"Self-assessment {r.state} {int(r.cycle)} submitted by {r.submitted_by}",
            "link": r.link,
            "ref": int(r.submission_id),
        }
        for r in df.itertuples(index=False)
    ]


def _stuck(con, viewer, now: dt.datetime, days: int) -> list[dict]:
    df = exchanges.list_exchanges(con, viewer)
    cutoff = pd.Timestamp(now - dt.timedelta(days=days))
    df = df[df["status"].isin(exchange_rules.OPEN_STATUSES) & (pd.to_datetime(df["updated_at"]) <= cutoff)]
    return [
        {
            "kind": STUCK,
            "since": r.updated_at,
            "states": f"{r.mentor},{r.mentee}",
            "item": f"Exchange {r.exchange_id}: {r.mentor} → {r.mentee} · {r.areas_label} · {r.status_label} "
            f"since {pd.Timestamp(r.updated_at):%Y-%m-%d}, no change for {days}+ days",
            "link": _link("exchanges", exchange=int(r.exchange_id)),
            "ref": int(r.exchange_id),
        }
        for r in df.itertuples(index=False)
    ]


def _unmatched(con, viewer, referrals: pd.DataFrame | None, cycle: int | None) -> list[dict]:
    cycle = queries.latest_cycle(con) if cycle is None else int(cycle)
    if cycle is None:
        return []
    if referrals is None:
        referrals = pairing.suggest(
            queries.assessments(con, cycle), with_candidates=False, offers=offers.pairing_offers(con)
        ).referrals  # the Pairings page's plan: published offers count
    refs = referrals
    if viewer.role != auth.LEADERSHIP:
        refs = refs[refs["mentee"].isin(viewer.states)]
    if refs.empty:
        return []
    recorded = query_df(con, "SELECT state, program_area FROM ta_referrals WHERE cycle = ?", [cycle])
    done = set(zip(recorded["state"], recorded["program_area"]))
    active = query_df(
        con,
        f"""SELECT mentee, program_areas FROM exchanges
                               WHERE status IN ({", ".join("?" for _ in exchange_rules.ACTIVE_STATUSES)})""",
        list(exchange_rules.ACTIVE_STATUSES),
    )
    done |= {(m, a) for m, areas in zip(active["mentee"], active["program_areas"]) for a in areas.split(",")}
    loaded = query_df(
        con,
        """SELECT a.state, a.program_area, l.loaded_at FROM assessments a
                              JOIN load_log l ON l.load_id = a.load_id WHERE a.cycle = ?""",
        [cycle],
    )
    since = {(s, a): t for s, a, t in zip(loaded["state"], loaded["program_area"], loaded["loaded_at"])}
    out = []
    for r in refs.itertuples(index=False):
        if (r.mentee, r.program_area) in done:
            continue
        out.append(
            {
                "kind": UNMATCHED,
                "since": since.get((r.mentee, r.program_area)),
                "states": r.mentee,
                "item": f"{r.mentee_name} ({r.mentee}) · {r.area_label} ({cycle}): {r.reason}",
                "link": _link("pairings", pairings_view="Referred to TA"),
                "ref": f"{r.mentee}:{r.program_area}",
            }
        )
    return out


def items(
    con,
    viewer: auth.Viewer,
    *,
    now: dt.datetime | None = None,
    referrals: pd.DataFrame | None = None,
    cycle: int | None = None,
) -> pd.DataFrame:
    """Everything that needs `viewer`'s action, decisions first (DECISIONS), then the rest, each oldest first
    (COLUMNS: kind, kind_label, since, age_days, states,
    item, link (the page's address with its query), ref (exchange, submission or state:area)). `referrals`: the
    latest cycle's pairing referrals if the caller already has them (the app's cached pairing); otherwise solved
    here. A viewer who is not leadership or a program manager has an empty queue."""
    if viewer is None or viewer.role not in ROLES:
        return pd.DataFrame(columns=COLUMNS)
    now = now or dt.datetime.now().replace(microsecond=0)
    rows = (
        _requests(con, viewer)
        + _reviews(con, viewer)
        + _stuck(con, viewer, now, settings.stuck_days(con))
        + _unmatched(con, viewer, referrals, cycle)
    )
    df = pd.DataFrame(rows, columns=["kind", "since", "states", "item", "link", "ref"])
    df["since"] = pd.to_datetime(df["since"])
    df["kind_label"] = df["kind"].map(KIND_LABELS)
    # never negative: the app passes `now` to the minute (its cache key), so an item from this minute is 0 days old
    df["age_days"] = ((pd.Timestamp(now) - df["since"]).dt.total_seconds() // 86400).clip(lower=0).astype("Int64")
    df["_k"] = df["kind"].map(KINDS.index)
    df["_decide"] = ~df["kind"].isin(DECISIONS)
    df = df.sort_values(["_decide", "since", "_k", "item"], na_position="last", kind="stable")
    return df[COLUMNS].reset_index(drop=True)


def counts(df: pd.DataFrame) -> dict[str, int]:
    """{kind: number of items} for every kind (zeros included), in KINDS order."""
    got = df["kind"].value_counts() if len(df) else {}
    return {k: int(got.get(k, 0)) for k in KINDS}


def export(df: pd.DataFrame) -> pd.DataFrame:
    """The queue as the CLI prints it: kind, since (ISO), age_days, states, item, link."""
    out = df[["kind", "since", "age_days", "states", "item", "link"]].copy()
    out["since"] = [None if pd.isna(v) else pd.Timestamp(v).isoformat(sep=" ") for v in out["since"]]
    return out


def page_and_query(link: str) -> tuple[str, dict[str, str]]:
    """An item's link as (page file in pages/, query parameters), for the page's own links."""
    parts = urllib.parse.urlsplit(link)
    return (parts.path.strip("/") or "queue") + ".py", dict(urllib.parse.parse_qsl(parts.query))
