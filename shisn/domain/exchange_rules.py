"""The words and rules of a facilitated exchange, with no store: its statuses and the transitions between them, the
means states choose, the Exchanges page's views, and who may see, change, request, answer or withdraw one.
shisn.services.exchanges stores and changes exchanges by these rules."""

from __future__ import annotations

from shisn.domain import auth

# --- vocabulary --------------------------------------------------------------------------------------------------

PROPOSED, INTRODUCED, IN_CONTACT, HELD, CLOSED, DECLINED = (
    "proposed",
    "introduced",
    "in_contact",
    "exchange_held",
    "closed",
    "declined",
)
STATUSES: tuple[str, ...] = (PROPOSED, INTRODUCED, IN_CONTACT, HELD, CLOSED, DECLINED)
# The Exchanges page's views, one tab each; only the open one runs. The label is the value of the URL
# parameter VIEW_KEY (Streamlit binds the tab to the query string verbatim), so renaming one breaks shared links.
VIEW_LIST, VIEW_MAP, VIEW_TA = "Exchanges", "Map and counts", "Technical assistance"
VIEWS = (VIEW_LIST, VIEW_MAP, VIEW_TA)
VIEW_KEY = "exchanges_view"  # widget key and URL parameter; unique across pages (widget state is per session)
STATUS_LABELS = {
    PROPOSED: "proposed",
    INTRODUCED: "introduced",
    IN_CONTACT: "in contact",
    HELD: "exchange held",
    CLOSED: "closed",
    DECLINED: "declined",
}
# Introduction requests: the first status, before the machine below; answered only by accept_request (→ one of
# REQUEST_ACCEPT) or decline_request. STATUSES stays the facilitation machine; ALL_STATUSES adds the request.
REQUESTED = "requested"
STATUS_LABELS[REQUESTED] = "requested"
ALL_STATUSES: tuple[str, ...] = (REQUESTED, *STATUSES)
REQUEST_ACCEPT: tuple[str, ...] = (PROPOSED, INTRODUCED)
MAX_OPEN_REQUESTS = 10  # unanswered requests one state may have at once
MAX_MESSAGE = 2000  # a request's message, a decline reason
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PROPOSED: (INTRODUCED, DECLINED),
    INTRODUCED: (IN_CONTACT, DECLINED),
    IN_CONTACT: (HELD, DECLINED),
    HELD: (CLOSED, DECLINED),
    CLOSED: (),
    DECLINED: (),
}
TERMINAL: tuple[str, ...] = tuple(s for s, nxt in TRANSITIONS.items() if not nxt)
OPEN_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s not in TERMINAL)
# What blocks a second request or exchange for the same pair and area: an unanswered request or an open exchange.
ACTIVE_STATUSES: tuple[str, ...] = (REQUESTED, *OPEN_STATUSES)
# The column holding the date each status was reached.
STATUS_TIME = {
    REQUESTED: "requested_at",
    PROPOSED: "proposed_at",
    INTRODUCED: "introduced_at",
    IN_CONTACT: "contact_at",
    HELD: "held_at",
    CLOSED: "closed_at",
    DECLINED: "declined_at",
}

MEANS: tuple[str, ...] = ("teleconference", "on_site_visit", "document_exchange", "other")
MEANS_LABELS = {
    "teleconference": "teleconference",
    "on_site_visit": "on-site visit",
    "document_exchange": "document exchange",
    "other": "other",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, str(status))


def means_label(means: str | None) -> str:
    return MEANS_LABELS.get(means, "") if means else ""


def allowed_next(status: str) -> tuple[str, ...]:
    """The statuses `status` can move to (a request: accepted as one of REQUEST_ACCEPT, or declined)."""
    return (*REQUEST_ACCEPT, DECLINED) if status == REQUESTED else TRANSITIONS[status]


def can_see(viewer: auth.Viewer, mentor: str, mentee: str) -> bool:
    return viewer.role == auth.LEADERSHIP or mentor in viewer.states or mentee in viewer.states


def can_edit(viewer: auth.Viewer, mentor: str, mentee: str) -> bool:
    """Leadership, or the PM of either state. State users tell their PM; they do not edit."""
    if viewer.role == auth.LEADERSHIP:
        return True
    return viewer.role == auth.PROGRAM_MANAGER and (mentor in viewer.states or mentee in viewer.states)


def can_open(viewer: auth.Viewer) -> bool:
    return viewer.role == auth.LEADERSHIP or (viewer.role == auth.PROGRAM_MANAGER and bool(viewer.states))


def can_request(viewer: auth.Viewer | None) -> bool:
    """State users request introductions for their own state."""
    return viewer is not None and viewer.role == auth.STATE and viewer.home_state is not None


def can_answer(viewer: auth.Viewer | None, row: dict) -> bool:
    """Accept or decline a request: leadership or the PM of either state (as for any change of an exchange)."""
    return viewer is not None and can_edit(viewer, row["mentor"], row["mentee"])


def can_withdraw(viewer: auth.Viewer | None, row: dict) -> bool:
    """The state that asked may withdraw its own unanswered request; no other state may touch it."""
    return (
        viewer is not None
        and viewer.role == auth.STATE
        and row.get("requested_state") is not None
        and viewer.home_state == row["requested_state"]
    )
