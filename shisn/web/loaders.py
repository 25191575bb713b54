"""Cached readers for the pages: the store connection (one per process) and each loader beside its versioned
cache (the key holds the store's version of the tables it reads, so a write anywhere shows at once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from shisn import demo
from shisn.domain import auth, coverage, pairing, profile, quality, selection
from shisn.services import assignments, exchanges, impact, library, mailer, offers, practices, queue
from shisn.store import db, flag_confirmations, ingest, queries, reporting_cycles, settings

VIEWER_KEY = "shisn_viewer"


@st.cache_resource(show_spinner=False)
def _connection(path: str):
    store = db.shared(path)
    demo.ensure_seeded(store)  # first start on an empty store: the demo set (flagged synthetic)
    mailer.app_started(store)  # the unsubscribe key; with SHISN_NOTIFY_SENDER=1 this replica's mail sender too
    return store


def connection():
    """The app's store (one per process: a DuckDB file opened only while in use, or a PostgreSQL pool; every
    read or write takes its own cursor)."""
    return _connection(db.locate())


@st.cache_data(show_spinner=False, max_entries=16)
def _pm_assignments(path: str, version: tuple):
    return queries.program_managers(_connection(path))


def pm_assignments():
    """Program-manager assignments, read again whenever any process or replica changed them."""
    path = db.locate()
    return _pm_assignments(path, _connection(path).version("program_manager_log", "load_log"))


def pm_name_of(state: str | None) -> str | None:
    """The name of the program manager assigned to `state` (None when nobody is): every role may know who handles
    a state (the contact itself follows shisn.services.assignments' rules)."""
    pms = pm_assignments()
    got = pms.loc[pms["state"] == state, "name"] if len(pms) else []
    return str(got.iloc[0]) if len(got) else None


@st.cache_resource(show_spinner=False, max_entries=16)
def _pm_tables(path: str, version: tuple):
    con = _connection(path)
    return assignments.assignments(con), assignments.by_manager(con)


def pm_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(assignments.assignments, assignments.by_manager): every jurisdiction with its program manager, and one row
    per program manager; read again whenever any process or replica changed them, cached (never changed)."""
    path = db.locate()
    return _pm_tables(path, _connection(path).version("program_manager_log", "load_log"))


@st.cache_resource(show_spinner=False, max_entries=64)
def _assessments(path: str, version: int, cycle: int | None, states: tuple[str, ...] | None):
    # cache_resource: one cached frame per process, not a pickled copy per call (at county scale a copy costs
    # ~100 ms and tens of MB a rerun). Callers get a copy-on-write view (pandas 3), so none can change it.
    return queries.assessments(_connection(path), cycle, None if states is None else list(states))


def assessments(cycle: int | None = None, states: Sequence[str] | None = None):
    """Assessment rows of a cycle (or every cycle), optionally of some states only, AS THE CURRENT VIEWER MAY SEE
    THEM (auth.redact: other states' notes blanked for PMs and states; nothing for an unknown viewer). Cached until
    the next load. Every page reads assessments through here, so no page can forget the filter."""
    return _redacted(st.session_state.get(VIEWER_KEY), cycle, states)


def _redacted(viewer, cycle, states):
    path = db.locate()
    rows = _assessments(
        path,
        queries.data_version(_connection(path)),
        None if cycle is None else int(cycle),
        None if states is None else tuple(sorted(states)),
    )
    return auth.redact(rows.copy(deep=False), viewer)


@st.cache_data(show_spinner=False, max_entries=256)
def _state_profile(path: str, version: int, code: str, cycle: int, viewer: auth.Viewer):
    rows = pd.concat([_redacted(viewer, cycle, None), _redacted(viewer, None, (code,))], ignore_index=True)
    rows = rows.drop_duplicates(["state", "program_area", "cycle"])  # the state's rows of `cycle` are in both
    return profile.build(rows, code, cycle, viewer)


@st.cache_data(show_spinner=False, max_entries=256)
def _flag_preview(path: str, version: int, code: str, cycle: int, rows: pd.DataFrame) -> pd.DataFrame:
    return quality.preview(_assessments(path, version, None, (code,)), rows, code, cycle)


def flag_preview(code: str, cycle: int, rows: pd.DataFrame) -> pd.DataFrame:
    """quality.preview of a form's rows against the state's stored history (ratings only, no notes), computed once
    per data version and form content: the form shows it on every rerun, and the same ratings come back often
    (a draft reopened, a reviewer's page)."""
    path = db.locate()
    return _flag_preview(path, queries.data_version(_connection(path)), code, int(cycle), rows)


def state_profile(code: str, cycle: int, viewer: auth.Viewer):
    """profile.build for one state and cycle as `viewer` may see it: from the cycle's rows and the state's own rows
    only (not every cycle of every state), cached per data version; the program manager (edited apart from loads)
    is looked up fresh."""
    path = db.locate()
    p = _state_profile(path, queries.data_version(_connection(path)), code, int(cycle), viewer)
    if p.detail:
        p.program_manager = profile.program_manager_of(pm_assignments(), code)
    return p


def cycles() -> list[int]:
    """Cycles with data, newest first (read once per data version; callers must not change the list)."""
    return cached(lambda: queries.cycles(connection()), "cycles")


def cycle_status() -> pd.DataFrame:
    """shisn.store.reporting_cycles.status (every cycle: open or closed, due date, how many reported), read once per data version
    and change of the reporting cycles."""
    con = connection()
    return cached(lambda: reporting_cycles.status(con), "cycle status", con.version("reporting_cycles"))


def latest_cycle() -> int | None:
    """The cycle every page opens on: the latest closed reporting cycle (shisn.store.reporting_cycles.default_cycle)."""
    return reporting_cycles.default_cycle(cycle_status())


def data_status() -> dict:
    """queries.data_status, read once per data version (the demo banner on every page)."""
    return cached(lambda: queries.data_status(connection()), "data status")


def load_log() -> pd.DataFrame:
    """queries.load_log (the latest loads, newest first), read once per data version (every load adds a row)."""
    return cached(lambda: queries.load_log(connection()), "load log")


@st.cache_data(show_spinner=False, max_entries=16)
def _stuck_days(path: str, version: tuple) -> int:
    return settings.stuck_days(_connection(path))


def stuck_days() -> int:
    """The stuck-exchange setting, read again whenever any setting changes."""
    path = db.locate()
    return _stuck_days(path, _connection(path).version("settings"))


def load_files(con, files: list[tuple[str, bytes]], viewer: auth.Viewer, allowed_states=None) -> dict:
    """Validate and load uploaded files for the Data page; returns what to show (problems table or summaries)."""
    try:
        summaries = ingest.load(con, files, viewer.name, allowed_states=allowed_states)
    except ingest.LoadError as e:
        return {"problems": ingest.problems_frame(e.problems), "warnings": e.warnings, "loaded": []}
    st.cache_data.clear()
    _assessments.clear()  # the old version's frames: keyed by data version, they would only hold memory
    warnings = [f"{s.file_name}: {w}" for s in summaries for w in s.warnings]
    return {"problems": None, "warnings": warnings, "loaded": [s.line() for s in summaries]}


@st.cache_resource(show_spinner=False, max_entries=128)
def _cached(key: tuple, _build: Callable[[], Any]) -> Any:
    return _build()


def cached(build: Callable[[], Any], *key: Any, viewer: auth.Viewer | None = None) -> Any:
    """`build()` once per `key` and data version, cached by every session of the process (a figure, a frame):
    building a plotly figure or a view's frame again on every rerun and for every session held the server for tens
    of ms each time. `key` names everything the result depends on besides the loaded data (the page's filters and
    selection, and which chart); pass `viewer` when it shows anything only some viewers may see (notes). Callers
    must not change what they get."""
    path = db.locate()
    return _cached((path, queries.data_version(_connection(path)), viewer, *key), build)


@st.cache_data(show_spinner=False, max_entries=64)
def _exchange_rows(path: str, version: tuple, viewer: auth.Viewer):
    return exchanges.list_exchanges(_connection(path), viewer)


def exchange_rows(viewer: auth.Viewer):
    """exchanges.list_exchanges for `viewer`, read again whenever any process or replica changed an exchange."""
    path = db.locate()
    return _exchange_rows(path, _connection(path).version("exchanges"), viewer)


@st.cache_data(show_spinner="Solving the pairing…", max_entries=32)
def _pairing(path: str, version: int, cycle: int, weights: tuple, capacity: int, offers_version: tuple = ()):
    w = pairing.Weights(**dict(weights))
    # the cycle's rows as the pages already hold them (not a second query); no page shows the candidate edges
    # (millions at county scale): the same pairs without building them
    return pairing.suggest(
        _assessments(path, version, cycle, None).copy(deep=False),
        w,
        capacity=capacity,
        with_candidates=False,
        offers=offers.pairing_offers(_connection(path)),
    )


def pairing_result(cycle: int, weights, capacity: int):
    """The national optimal pairing for a cycle, cached per data version and settings. ``candidates`` is left
    empty (same columns); pairs, referrals, totals and loads are complete."""
    path = db.locate()
    return _pairing(
        path,
        queries.data_version(_connection(path)),
        int(cycle),
        tuple(sorted(weights.as_dict().items())),
        int(capacity),
        _connection(path).version("offers"),
    )


def offers_version() -> tuple:
    """A token that changes whenever an offer changes (part of the keys of what the offers change)."""
    return connection().version("offers")


def pairing_offers():
    """The published offers the pairing reads (state, area, offer, title, capacity), per version of the offers."""
    return cached(lambda: offers.pairing_offers(connection()), "pairing offers", offers_version())


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _queue_items(path: str, version: tuple, viewer: auth.Viewer, now):
    cycle = latest_cycle()
    referrals = (
        pairing_result(cycle, pairing.Weights(), pairing.DEFAULT_CAPACITY).referrals if cycle is not None else None
    )
    return queue.items(_connection(path), viewer, now=now, referrals=referrals, cycle=cycle)


def queue_items(viewer: auth.Viewer) -> pd.DataFrame:
    """shisn.services.queue.items for `viewer` (with the app's cached pairing of the latest cycle), read again whenever the
    data, the exchanges, the submissions, the TA referrals or the settings change, and at least once a minute (an
    exchange becomes stuck on the clock)."""
    path = db.locate()
    con = _connection(path)
    version = (
        queries.data_version(con),
        *con.version("exchanges", "submissions", "ta_referrals", "settings", "reporting_cycles", "offers"),
    )
    return _queue_items(path, version, viewer, dt.datetime.now().replace(second=0, microsecond=0))


@st.cache_data(show_spinner="Computing the impact figures…", max_entries=32)
def _impact_figures(path: str, version: tuple, viewer: auth.Viewer, cycle: int | None, hour: str):

    con = _connection(path)
    inputs = impact.gather(con, viewer, _redacted(viewer, None, None))
    return impact.figures(inputs, dt.datetime.fromisoformat(hour), cycle=cycle)


def impact_figures(viewer: auth.Viewer, cycle: int | None = None):
    """impact.Figures as `viewer` may see them, for every cycle or for the cycle report of `cycle` (only
    aggregates and the viewer's own exchanges: the store-wide inputs stay inside the cached function).
    Cached until the assessments, exchanges, states' views, referrals, PM assignments or the stuck setting change,
    and for an hour at most (the days an exchange has been stuck run on the clock)."""

    path = db.locate()
    con = _connection(path)
    version = (
        queries.data_version(con),
        *con.version("exchanges", "exchange_outcomes", "ta_referrals", "program_manager_log"),
        stuck_days(),
    )
    hour = dt.datetime.now().replace(minute=0, second=0, microsecond=0).isoformat()
    return _impact_figures(path, version, viewer, None if cycle is None else int(cycle), hour)


def data_changed() -> None:
    """After the assessments changed in this process (a load, an accepted form): drop the cached frames of the old
    data version (they are keyed by it, so they would only hold memory)."""
    st.cache_data.clear()
    _assessments.clear()


@st.cache_data(show_spinner=False, max_entries=256)
def _state_flag_rows(path: str, version: int, confirmed_version: tuple, code: str, cycle: int, latest: int | None):
    return flag_confirmations.state_flags(
        _connection(path), _assessments(path, version, None, (code,)), code, cycle, latest
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _cycle_flags(path: str, version: int, cycle: int, latest: int | None):
    rows = _assessments(path, version, None, None)
    return quality.flags(rows[rows["cycle"] <= cycle], cycle=cycle, latest_cycle=latest)


@st.cache_data(show_spinner=False, max_entries=16)
def _confirmed_cycle_flags(path: str, version: int, confirmed_version: tuple, cycle: int, latest: int | None):
    return quality.with_confirmations(
        _cycle_flags(path, version, cycle, latest), flag_confirmations.confirmations(_connection(path), None, cycle)
    )


@st.cache_resource(show_spinner=False, max_entries=128)
def _requests_of(path: str, version: tuple, viewer: auth.Viewer, state: str, _con=None):
    return exchanges.requests_of(_con, viewer, state)  # read once per version of the exchanges, cached (never changed)


@st.cache_data(show_spinner=False, max_entries=256)
def _cell_panel(path: str, version: int, code: str, area: str, cycle: int, viewer: auth.Viewer):
    rows = coverage.redact_notes(_redacted(viewer, cycle, None), viewer.sees_detail_of)
    return selection.cell_panel(
        rows, code, area, cycle, viewer.sees_detail_of, history=_redacted(viewer, None, (code,))
    )


def cell_panel(code: str, area: str, cycle: int, viewer: auth.Viewer):
    """selection.cell_panel for the national page's heatmap click, as `viewer` may see it, cached per data version
    (a cached link to a cell opens without recomputing its mentors)."""
    path = db.locate()
    return _cell_panel(path, queries.data_version(_connection(path)), code, area, int(cycle), viewer)


# --- offers, practices and their search --------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=8)
def _library_index(path: str, version: tuple):
    return library.index(_connection(path))


def library_index():
    """The search index over every published offer and practice, built once per version of those tables (a
    publish, an edit or a withdrawal shows at once, on every replica)."""
    path = db.locate()
    return _library_index(path, _connection(path).version("offers", "practices"))


@st.cache_data(show_spinner=False, max_entries=64)
def _offers_of(path: str, version: tuple, viewer: auth.Viewer, state: str | None, area: str | None):
    return offers.visible(_connection(path), viewer, state=state, area=area)


def offers_visible(viewer: auth.Viewer, state: str | None = None, area: str | None = None):
    """The offers `viewer` may see (published, and its own states' drafts and withdrawn ones)."""
    path = db.locate()
    return _offers_of(path, _connection(path).version("offers"), viewer, state, area)


@st.cache_data(show_spinner=False, max_entries=64)
def _practices_of(path: str, version: tuple, viewer: auth.Viewer, state: str | None, area: str | None):
    return practices.visible(_connection(path), viewer, state=state, area=area)


def practices_visible(viewer: auth.Viewer, state: str | None = None, area: str | None = None):
    """The practices `viewer` may see (published, and its own states' private ones)."""
    path = db.locate()
    return _practices_of(path, _connection(path).version("practices"), viewer, state, area)


@st.cache_data(show_spinner=False, max_entries=128)
def _published_library(path: str, version: tuple, state: str | None, area: str | None):
    con = _connection(path)
    return offers.published(con, state=state, area=area), practices.published(con, state=state, area=area)


def published_library(state: str | None = None, area: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(offers.published, practices.published) of `state` and/or in `area`: what every signed-in user sees (the
    selection panels, the state profile, the Offers and practices page), read again whenever either table changes."""
    path = db.locate()
    return _published_library(path, _connection(path).version("offers", "practices"), state, area)
