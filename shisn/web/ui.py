"""Streamlit glue shared by app.py and the pages: the store connection, the viewer and page guard, the demo
banner, and widgets bound to the URL query string. The only module in shisn/ that imports streamlit."""
from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from shisn.domain import auth
from shisn.store import db, queries
from shisn import demo
from shisn.domain import jurisdictions as J
from shisn.store import accounts
from shisn.store import flag_confirmations
from shisn.domain import exchange_rules
from shisn.domain import safe_text

VIEWER_KEY = "shisn_viewer"


@st.cache_resource(show_spinner=False)
def _connection(path: str):
    store = db.shared(path)
    demo.ensure_seeded(store)  # first start on an empty store: the demo set (flagged synthetic)
    from shisn.services import mailer
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
    from shisn.services import assignments
    con = _connection(path)
    return assignments.assignments(con), assignments.by_manager(con)


def pm_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(assignments.assignments, assignments.by_manager): every jurisdiction with its program manager, and one row
    per program manager; read again whenever any process or replica changed them, shared (never changed)."""
    path = db.locate()
    return _pm_tables(path, _connection(path).version("program_manager_log", "load_log"))


@st.cache_resource(show_spinner=False, max_entries=64)
def _assessments(path: str, version: int, cycle: int | None, states: tuple[str, ...] | None):
    # cache_resource: one shared frame per process, not a pickled copy per call (at county scale a copy costs
    # ~100 ms and tens of MB a rerun). Callers get a copy-on-write view (pandas 3), so none can change it.
    return queries.assessments(_connection(path), cycle, None if states is None else list(states))


def assessments(cycle: int | None = None, states: Sequence[str] | None = None):
    """Assessment rows of a cycle (or every cycle), optionally of some states only, AS THE CURRENT VIEWER MAY SEE
    THEM (auth.redact: other states' notes blanked for PMs and states; nothing for an unknown viewer). Cached until
    the next load. Every page reads assessments through here, so no page can forget the filter."""
    return _redacted(st.session_state.get(VIEWER_KEY), cycle, states)


def _redacted(viewer, cycle, states):
    path = db.locate()
    rows = _assessments(path, queries.data_version(_connection(path)), None if cycle is None else int(cycle),
                        None if states is None else tuple(sorted(states)))
    return auth.redact(rows.copy(deep=False), viewer)


@st.cache_data(show_spinner=False, max_entries=256)
def _state_profile(path: str, version: int, code: str, cycle: int, viewer: auth.Viewer):
    from shisn.domain import profile
    rows = pd.concat([_redacted(viewer, cycle, None), _redacted(viewer, None, (code,))], ignore_index=True)
    rows = rows.drop_duplicates(["state", "program_area", "cycle"])  # the state's rows of `cycle` are in both
    return profile.build(rows, code, cycle, viewer)


@st.cache_data(show_spinner=False, max_entries=256)
def _flag_preview(path: str, version: int, code: str, cycle: int, rows: pd.DataFrame) -> pd.DataFrame:
    from shisn.domain import quality
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
    from shisn.domain import profile
    path = db.locate()
    p = _state_profile(path, queries.data_version(_connection(path)), code, int(cycle), viewer)
    if p.detail:
        p.program_manager = profile.program_manager_of(pm_assignments(), code)
    return p


def cycles() -> list[int]:
    """Cycles with data, newest first (read once per data version; callers must not change the list)."""
    return shared(lambda: queries.cycles(connection()), "cycles")


def cycle_status() -> pd.DataFrame:
    """shisn.store.cycles.status (every cycle: open or closed, due date, how many reported), read once per data version
    and change of the reporting cycles."""
    from shisn.store import cycles as C
    con = connection()
    return shared(lambda: C.status(con), "cycle status", con.version("reporting_cycles"))


def latest_cycle() -> int | None:
    """The cycle every page opens on: the latest closed reporting cycle (shisn.store.cycles.default_cycle)."""
    from shisn.store import cycles as C
    return C.default_cycle(cycle_status())


def cycle_label(cycle: int) -> str:
    """'2026', or '2027 (in progress)' for a cycle still open."""
    from shisn.store import cycles as C
    return C.label(cycle_status(), cycle)


def cycle_filter(label: str, key: str = "cycle", **kwargs) -> "Filter":
    """The cycle picker of a page's filter panel: every cycle with data, the latest closed one by default, an open
    one labelled in progress."""
    options = cycles()
    return Filter(label, options, key, default=latest_cycle() if options else None, format_func=cycle_label,
                  **kwargs)


def collecting_cycle():
    """The cycle leadership opened for reporting (shisn.store.cycles.Cycle), or None: the form opens on it."""
    from shisn.store import cycles as C
    return C.collecting(cycle_status())


def cycle_notice(cycle: int | None) -> None:
    """Says so when `cycle` is still open for reporting: its figures are provisional."""
    from shisn.store import cycles as C
    c = None if cycle is None else C.find(cycle_status(), int(cycle))
    if c is not None and c.in_progress:
        st.info(C.provisional_note(c), icon=":material/pending:")


def data_status() -> dict:
    """queries.data_status, read once per data version (the demo banner on every page)."""
    return shared(lambda: queries.data_status(connection()), "data status")


def load_log() -> pd.DataFrame:
    """queries.load_log (the latest loads, newest first), read once per data version (every load adds a row)."""
    return shared(lambda: queries.load_log(connection()), "load log")


@st.cache_data(show_spinner=False, max_entries=16)
def _stuck_days(path: str, version: tuple) -> int:
    from shisn.services import impact
    return impact.stuck_days(_connection(path))


def stuck_days() -> int:
    """The stuck-exchange setting, read again whenever any setting changes."""
    path = db.locate()
    return _stuck_days(path, _connection(path).version("settings"))


def _remember(key: str, panel: str | None = None) -> None:
    st.session_state["_kept_" + key] = st.session_state[key]
    _keep_open(panel)


def _keep_open(panel: str | None) -> None:
    """on_change of a choice inside a `filters` panel: the choice changes the panel's label, which Streamlit draws
    as a new expander, closed; marked open here, it stays open for the next choice."""
    if panel:
        st.session_state[panel] = True


def lazy_expander(label: str, key: str, *, icon: str | None = None, open_now: Any = None):
    """An expander whose content the caller draws only while it is open (`with box: if box.open: ...`): a page
    opened cold then neither builds the widgets inside nor makes the browser fetch their code. `open_now`: open it,
    as st.expander(expanded=True) would, once per distinct value (e.g. the values of a link that prefills the form
    inside), so the user can still close it."""
    if open_now and st.session_state.get("_opened_" + key) != open_now:
        st.session_state[key] = True
        st.session_state["_opened_" + key] = open_now
    return st.expander(label, icon=icon, key=key, on_change="rerun")


def kept_slider(label: str, lo, hi, default, step=None, *, key: str, draw: bool = True, container=None,
                **kwargs):
    """A slider whose value is kept while it is not drawn (e.g. inside an expander drawn only when open: Streamlit
    forgets a widget's value in any run that does not draw it). Returns the value; with draw=False, the kept value
    (or `default`) without drawing anything."""
    kept = st.session_state.get("_kept_" + key, default)
    if not draw:
        return kept
    st.session_state[key] = kept
    return (container or st).slider(label, lo, hi, step=step, key=key, on_change=_remember, args=(key,), **kwargs)


def _kept(key: str, options, default):
    """The choice of a kept widget (`_kept_select`, `_kept_choice`) whether or not it is drawn this run: the user's
    last choice, else a value set under the widget's key (e.g. by a test), else `default` (else the first option)."""
    options = list(options)
    for value in (st.session_state.get("_kept_" + key), st.session_state.get(key)):
        if value in options:
            return value
    return default if default in options else options[0]


def _kept_select(label: str, options, key: str, default, panel: str | None = None, **kwargs):
    """A sidebar selectbox whose choice survives Streamlit dropping widget state when the page set changes (a
    role switch on the landing page otherwise snaps back), or when it is not drawn (its panel closed): the choice
    is also kept under a plain session key. `panel`: the key of the lazy expander it is drawn in, kept open."""
    options = list(options)
    st.session_state[key] = _kept(key, options, default)
    return st.selectbox(label, options, key=key, on_change=_remember, args=(key, panel), **kwargs)


def _kept_choice(label: str, options, key: str, default, panel: str | None = None, **kwargs):
    """`_kept_select` as a row of buttons (st.segmented_control, one choice always made)."""
    options = list(options)
    st.session_state[key] = _kept(key, options, default)
    return st.segmented_control(label, options, key=key, required=True, on_change=_remember, args=(key, panel),
                                width="stretch", **kwargs)


def signed_in_email() -> str | None:
    """The identity a real deployment passes in: Streamlit's OIDC login (SHISN_AUTH=oidc) or a trusted header set
    by the organisation's reverse proxy (SHISN_AUTH=header; SHISN_AUTH_HEADER names it)."""
    mode = auth.auth_mode()
    if mode == "oidc":
        user = getattr(st, "user", None)
        if user is not None and getattr(user, "is_logged_in", False):
            return user.get("email")
        return None
    if mode == "header":
        return st.context.headers.get(auth.auth_header())
    return None


APP_TITLE = "State Homeland Security Information Sharing Network"


def resolve_viewer() -> auth.Viewer | None:
    """Who is viewing: the demo role switcher's choice in demo mode, else the signed-in user's role from the users
    table. Shows a clear message (and returns None) when nobody is signed in or the user has no role. Draws no
    widget otherwise: `identity_panel` draws who is viewing once the page to run is known."""
    if auth.demo_mode():
        viewer = demo_viewer()
        st.session_state[VIEWER_KEY] = viewer
        return viewer
    st.session_state.pop(VIEWER_KEY, None)
    email = signed_in_email()
    if email is None:
        st.title(APP_TITLE)  # the page's one level-one heading, also when it shows nothing else
        st.warning("You are not signed in, so there is nothing to show.")
        if auth.auth_mode() == "oidc":
            st.button("Sign in", on_click=st.login, type="primary")
        else:
            st.markdown("[Open shisn](./)")
        return None
    viewer = accounts.viewer_for(connection(), email)
    if viewer is None:
        st.title(APP_TITLE)
        st.warning("You are signed in, but you have no shisn role yet, so there is nothing to show. Ask ODP "
                   "leadership to add you.")
        return None
    st.session_state[VIEWER_KEY] = viewer
    return viewer


def identity_panel(viewer: auth.Viewer) -> None:
    """The sidebar's title and who is viewing: the demo role switcher in demo mode, else the signed-in user.
    app.py draws it for every page but `/`, which only hands over to the landing page: a widget drawn in that
    handover belongs to `/`, so a click on it landing meanwhile would be lost."""
    with st.sidebar:
        st.markdown("### shisn\nState Homeland Security Information Sharing Network")
        if auth.demo_mode():
            role_switcher(viewer)
        else:
            st.caption(f"Signed in as {safe_text.markdown(viewer.name)} · {auth.ROLE_LABELS[viewer.role]}")


def audit_export(what: str) -> None:
    """on_click of every download button: record who exported what."""
    from shisn.store import audit
    viewer = st.session_state.get(VIEWER_KEY)
    audit.record(connection(), viewer.name if viewer else "unknown", "export", what)


ROLE_PANEL_KEY = "demo_role_open"
DEMO_STATE = "VA"   # the demo's default state (and its program manager the default PM)


def _pm_names(pms) -> list[str]:
    return sorted(pms["name"].unique()) if len(pms) else ["(no program managers loaded)"]


def _pm_of_default_state(pms, names: list[str]) -> str:
    """The demo's default program manager: the one who handles the demo's default state, so the two default
    choices work together."""
    got = pms.loc[pms["state"] == DEMO_STATE, "name"] if len(pms) else []
    return str(got.iloc[0]) if len(got) and got.iloc[0] in names else names[0]


def _pm_label(pms):
    """A program manager as the demo's choice shows them: name and their states."""
    states = pms.groupby("name")["state"].apply(lambda s: ", ".join(sorted(s))).to_dict() if len(pms) else {}
    return lambda name: f"{name} · {states[name]}" if name in states else name


def demo_viewer() -> auth.Viewer:
    """Who the demo role switcher says is viewing: its last choices, kept whether or not it is drawn (a choice made
    in it has already been kept by its callback, which runs before the script)."""
    pms = pm_assignments()
    role = _kept("demo_role", auth.ROLES, auth.LEADERSHIP)
    pm_name = state = None
    if role == auth.PROGRAM_MANAGER:
        names = _pm_names(pms)
        pm_name = _kept("demo_pm", names, _pm_of_default_state(pms, names))
    elif role == auth.STATE:
        state = _kept("demo_state", J.codes(), DEMO_STATE)
    return auth.demo_viewer(role, pms, pm_name=pm_name, state=state)


def role_switcher(viewer: auth.Viewer) -> None:
    """The DEMO role switcher in the sidebar (until access control lands): a panel named after `viewer` (from
    `demo_viewer`), which opens on a click to change it. Closed, it draws no widget, so a page opened cold (a shared
    link) neither builds the switcher nor makes the browser fetch its code; the choice is kept either way."""
    name = viewer.name.removesuffix(" (demo)")  # the demo's names say so already; the label adds it once
    who = auth.ROLE_LABELS[viewer.role] + (f" · {name}" if viewer.role == auth.PROGRAM_MANAGER else
                                           f" · {viewer.states[0]}" if viewer.role == auth.STATE else "")
    box = lazy_expander(f"Viewing as: {safe_text.markdown(who)} (demo)", ROLE_PANEL_KEY, icon=":material/switch_account:")
    with box:
        if box.open:
            # three buttons, not a select box: every role in view, one click
            role = _kept_choice("Viewing as (demo)", auth.ROLES, "demo_role", auth.LEADERSHIP,
                                panel=ROLE_PANEL_KEY, format_func=auth.ROLE_LABELS.get,
                                help="Demo mode: pick any role to see the app as that user would. "
                                     "Real deployments take identity from the organisation's login.")
            if role == auth.PROGRAM_MANAGER:
                pms = pm_assignments()
                names = _pm_names(pms)
                _kept_select("Program manager", names, "demo_pm", _pm_of_default_state(pms, names),
                             panel=ROLE_PANEL_KEY, format_func=_pm_label(pms))
            elif role == auth.STATE:
                _kept_select("State", J.codes(), "demo_state", DEMO_STATE, panel=ROLE_PANEL_KEY,
                             format_func=lambda c: f"{c} · {J.names()[c]}")
            st.caption("Demo mode: the role switcher is for evaluation only. Deployments sign users in "
                       "(SHISN_AUTH=oidc or header) and take roles from the users table.")


DEEP_LINK_KEY = "_shisn_deep_link"  # (page file name, query params) to reopen through app.py's navigation


def _legacy_pages_mode() -> bool:
    """True while Streamlit still serves pages/ the old way (a script per file, without app.py). That happens only
    in the first session after the server starts: Streamlit learns that app.py builds the navigation itself when
    app.py first runs. (Internal flag; if a Streamlit release drops it, this is simply never true.)"""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - other Streamlit layouts
        return False
    return PagesManager.uses_pages_directory is True


def open_deep_link(pages_by_file: dict[str, Any]) -> None:
    """In app.py, after st.navigation: if a page was opened by a link before the app shell ran (see guard), open
    that page now (if this viewer has it), with the link's query string, through the app's own navigation."""
    target = st.session_state.pop(DEEP_LINK_KEY, None)
    if target is not None and target[0] in pages_by_file:
        st.switch_page(pages_by_file[target[0]], query_params=target[1])


def guard(*roles: str) -> auth.Viewer:
    """Top of every page: the viewer, or a clear message and stop. A page script can be served directly, so each
    page calls this itself."""
    if _legacy_pages_mode():
        # A link to this page opened the server's first session: hand over to app.py (menu, banner, roles), which
        # reopens this page with the same query string.
        page_file = Path(sys._getframe(1).f_code.co_filename).name
        st.session_state[DEEP_LINK_KEY] = (page_file, st.query_params.to_dict())
        st.switch_page("app.py")
    viewer = st.session_state.get(VIEWER_KEY)
    if viewer is None:
        # Served directly (e.g. a shared link opened before any session ran app.py): resolve the viewer here too,
        # and say who is viewing as app.py would
        viewer = resolve_viewer()
        if viewer is not None:
            identity_panel(viewer)
    if viewer is None:
        st.stop()
    if viewer.role not in roles:
        # A link to a page this role may not use: say so on the page itself, with where to go instead, and stop
        # before any of the page's data is read.
        not_for_this_role(Path(sys._getframe(1).f_code.co_filename).name, roles, viewer)
        st.stop()
    return viewer


def data_banner() -> None:
    """Say plainly, on every page, when the figures are synthetic demo data."""
    status = data_status()
    if status["all_demo"]:
        st.info("**Demo data.** Every figure on this page comes from a synthetic data set generated for "
                "demonstration; no state's real self-assessment is shown. Load real files on the Data page.",
                icon=":material/science:")
    elif status["is_demo"]:
        st.warning(f"**Partly demo data.** {status['synthetic_rows']:,} of {status['rows']:,} assessment rows are "
                   "synthetic demo rows; replace them by loading real files for those states and cycles.",
                   icon=":material/science:")


class Filter:
    """One filter of a page's filter panel (`filters`): a select box held in the URL (`?key=value`, as
    `bound_select`), or with `multi` a multiselect of any number of options (none chosen = `none_text`).
    `short_func` names a value in the closed panel's label (default `format_func`)."""

    def __init__(self, label: str, options: Sequence[Any], key: str, default: Any = None,
                 format_func: Callable[[Any], str] = str, *, multi: bool = False, none_text: str = "all",
                 width: float = 1.0, short_func: Callable[[Any], str] | None = None, **kwargs):
        self.label, self.options, self.key, self.default = label, list(options), key, default
        self.format_func, self.multi, self.none_text, self.width, self.kwargs = (format_func, multi, none_text,
                                                                                 width, kwargs)
        self.short_func = short_func or format_func

    def value(self) -> Any:
        """The value without drawing the widget: the widget's while it is on the page, else the URL's (a link, or
        the widget's when it was last drawn), else the default. A multiselect's choice is kept in the session."""
        if self.multi:
            kept = st.session_state.get(self.key, st.session_state.get("_kept_" + self.key, []))
            return [o for o in (kept or []) if o in self.options]
        return url_choice(self.key, self.options, self.default)

    def text(self, value: Any) -> str:
        if self.multi:
            if not value:
                return self.none_text
            return ", ".join(self.short_func(v) for v in value) if len(value) <= 2 else \
                f"{len(value)} {self.label.lower()}"
        return self.short_func(value)

    def draw(self, container, panel: str | None = None) -> Any:
        """The widget, in `container`; a choice keeps the `panel` (its lazy expander's key) open."""
        if self.multi:
            st.session_state[self.key] = self.value()
            return container.multiselect(self.label, self.options, format_func=self.format_func, key=self.key,
                                         on_change=_remember, args=(self.key, panel), **self.kwargs)
        return bound_select(self.label, self.options, self.key, self.default, self.format_func,
                            container=container, on_change=_keep_open, args=(panel,), **self.kwargs)


class Selection(Filter):
    """A chart selection held in the URL parameter `param` (see `selection_select`), as one entry of a `filters`
    panel: the keyboard alternative to a click on the chart."""

    def __init__(self, label: str, options: Sequence[Any], param: str, parse: Callable[[Any], Any],
                 format_func: Callable[[Any], str] = str, none_text: str = "none selected", **kwargs):
        super().__init__(label, options, param, None, format_func, none_text=none_text, **kwargs)
        self.parse = parse

    def value(self) -> Any:
        value = url_selection(self.key, self.parse)
        return value if value in self.options else None

    def text(self, value: Any) -> str:
        return self.none_text if value is None else self.format_func(value)

    def draw(self, container, panel: str | None = None) -> Any:
        return selection_select(self.label, self.options, self.key, self.parse, self.format_func,
                                container=container, panel=panel, **self.kwargs)


def url_choice(key: str, options: Sequence[Any], default: Any = None) -> Any:
    """The value a `bound_select(label, options, key, default)` has, without drawing it: the widget's value in
    this run, else the URL's `?key=`, else `default` (else the first option). Written back to the URL, as the
    widget does, so the address still names the view after a page switch."""
    options = list(options)
    fallback = default if default in options else options[0]
    if key in st.session_state and st.session_state[key] in options:
        value = st.session_state[key]
    else:
        value = {str(o): o for o in options}.get(st.query_params.get(key), fallback)
    if value is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)
    return value


def filters(specs: Sequence[Filter], key: str = "filters_open", container=None, title: str = "Filters",
            icon: str = ":material/filter_list:") -> dict[str, Any]:
    """A page's filters in one panel whose label says what is shown ("Filters · 2026 · All program areas · ..."),
    values by key. The panel's select boxes are drawn only while it is open: a select box is the costliest widget
    for a browser opening the page cold (its code is fetched and compiled first), so a shared link opens on the
    chart or table at once and the filters are one click away. The values live in the URL either way."""
    values = {f.key: f.value() for f in specs}
    with container or st.container():
        box = lazy_expander(f"{title} · " + " · ".join(f.text(values[f.key]) for f in specs), key, icon=icon)
        with box:
            if box.open:
                for f, col in zip(specs, st.columns([f.width for f in specs])):
                    values[f.key] = f.draw(col, key)
    return values


def bound_select(label: str, options: Sequence[Any], key: str, default: Any = None,
                 format_func: Callable[[Any], str] = str, container=st, **kwargs) -> Any:
    """A selectbox whose value lives in the URL query string (`?key=value`), so a view can be shared as a link."""
    options = list(options)
    by_text = {str(o): o for o in options}
    if key not in st.session_state:
        wanted = st.query_params.get(key)
        st.session_state[key] = by_text.get(wanted, default if default in options else options[0])
    elif st.session_state[key] not in options:
        st.session_state[key] = default if default in options else options[0]
    value = container.selectbox(label, options, key=key, format_func=format_func, **kwargs)
    if value is None:  # an option meaning "nothing chosen" (e.g. no exchange opened): no parameter
        if key in st.query_params:
            del st.query_params[key]
    else:
        st.query_params[key] = str(value)
    return value


@st.fragment
def lazy_tabs(views: dict[str, Callable[[], None]], key: str) -> None:
    """A page's views as tabs of which only the open one runs (`views`: label → function drawing it). The open tab
    is the URL parameter `key`, so a view can be shared as a link. A fragment: opening another tab, or a widget
    inside a view, reruns only the views, not the page's filters and headline numbers above them."""
    tabs = st.tabs(list(views), key=key, on_change="rerun", bind="query-params")
    for (label, draw), tab in zip(views.items(), tabs):
        with tab:
            if tab.open:
                draw()


def load_files(con, files: list[tuple[str, bytes]], viewer: auth.Viewer, allowed_states=None) -> dict:
    """Validate and load uploaded files for the Data page; returns what to show (problems table or summaries)."""
    from shisn.store import ingest
    try:
        summaries = ingest.load(con, files, viewer.name, allowed_states=allowed_states)
    except ingest.LoadError as e:
        return {"problems": ingest.problems_frame(e.problems), "warnings": e.warnings, "loaded": []}
    st.cache_data.clear()
    _assessments.clear()  # the old version's frames: keyed by data version, they would only hold memory
    warnings = [f"{s.file_name}: {w}" for s in summaries for w in s.warnings]
    return {"problems": None, "warnings": warnings, "loaded": [s.line() for s in summaries]}


def resolve_query_param(key: str, resolve: Callable[[str], Any]) -> None:
    """Before a `bound_select` reads `?key=`: rewrite the URL value to its canonical form (e.g. `?state=virginia`
    → `VA` with `jurisdictions.state_code`), so deep links in any spelling reach the widget. A value `resolve`
    cannot place is dropped (the widget then opens on its default). Only until the widget owns the value."""
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    if raw is None:
        return
    canonical = resolve(raw)
    if canonical is None:
        del st.query_params[key]
    elif str(canonical) != raw:
        st.query_params[key] = str(canonical)


def svg_markdown(svg: str, alt: str) -> str:
    """Markdown showing `svg` (a fixed legend, built from catalogue text) as an image with `alt` as its text
    alternative. Markdown is drawn by Streamlit's main browser code: st.html would fetch its own (and DOMPurify's)
    on every cold open of the view."""
    alt = alt.replace("\\", "").replace("[", "(").replace("]", ")")
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode('utf-8')).decode('ascii')})"


def svg_image(svg: str, alt: str) -> None:
    st.markdown(svg_markdown(svg, alt))


def markdown_table(df: pd.DataFrame) -> str:
    """`df` as a Markdown table (GitHub's pipe syntax), every text cell escaped (shown as text, `|` included),
    numbers as they read (a column of whole numbers without decimals, others to two places), missing values
    blank."""
    whole = {c: bool(pd.api.types.is_float_dtype(df[c]) and (df[c].dropna() % 1 == 0).all()) for c in df.columns}

    def cell(v, column) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (float, np.floating)):
            return f"{v:.0f}" if whole[column] else f"{v:.2f}"
        if isinstance(v, (int, np.integer)):
            return str(v)
        return safe_text.markdown(v)
    head = "| " + " | ".join(safe_text.markdown(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
                          else "---" for c in df.columns) + "|"
    body = ["| " + " | ".join(cell(v, c) for v, c in zip(row, df.columns)) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def text_table(df: pd.DataFrame) -> None:
    """A short static table whose text cells are shown as text, drawn as Markdown. For the few-row tables beside a
    chart or a map: Markdown is drawn by Streamlit's main browser code, where st.table and st.dataframe each make a
    new session fetch and compile ~1 MB more (Arrow) before the view is complete (benchmarks/BENCHMARKS.md)."""
    if df.empty:
        return
    st.markdown(_markdown_of(df))


def bring_into_view(key: str, token: Any) -> None:
    """Scroll the container drawn with `st.container(key=key)` into view, once per `token` (a new selection): the
    answer to a click on a tall chart is drawn below it, out of sight. A zero-height component whose script (same
    origin, nothing fetched) scrolls the page; drawn only in the run where the selection changed."""
    if st.session_state.get("_in_view_" + key) == token:
        return
    st.session_state["_in_view_" + key] = token
    import json

    import streamlit.components.v1 as components  # only in the run that needs it
    target = json.dumps(f".st-key-{key}")
    components.html("<script>const f = window.frameElement; if (f) { f.tabIndex = -1; f.setAttribute('aria-hidden', "
                    "'true'); } setTimeout(() => { const el = window.parent.document.querySelector(" + target + ");"
                    " if (el) el.scrollIntoView({behavior: 'smooth', block: 'start'}); }, 150);</script>",
                    height=0)  # the frame itself is out of the tab order and hidden from screen readers


def chart_text(summary: str, table: Callable[[], pd.DataFrame], key: str, *, what: str = "chart",
               note: str | None = None) -> None:
    """A map's or chart's text alternative, drawn under it (WCAG 1.1.1): the sentence saying what it shows
    (shisn.render.alt_text), and the data behind it as a table in a panel ("Data behind the chart") drawn only when
    opened, so a cold open builds no table; a keyboard reaches the panel with Tab and opens it with Enter.
    `table()` builds the frame, `note` explains its cells. The sentence is escaped: it can name user text."""
    st.caption(safe_text.markdown(summary))
    box = lazy_expander(f"Data behind the {what}", key, icon=":material/table_view:")
    with box:
        if box.open:
            text_table(table())
            if note:
                st.caption(safe_text.markdown(note))


_MARKDOWN: dict[int, tuple[Any, str]] = {}  # id(frame) -> (weak reference to it, its Markdown)


def _markdown_of(df: pd.DataFrame) -> str:
    """markdown_table(df), kept while `df` lives: most tables drawn are frames shared by every session (ui.shared,
    cached reads), so a new session draws them without formatting every cell again. Frames are never changed after
    they are built (pandas copy-on-write; callers of ui.shared must not change what they get)."""
    import weakref
    key = id(df)
    hit = _MARKDOWN.get(key)
    if hit is not None and hit[0]() is df:
        return hit[1]
    text = markdown_table(df)
    _MARKDOWN[key] = (weakref.ref(df, lambda _ref, k=key: _MARKDOWN.pop(k, None)), text)
    return text


@st.cache_resource(show_spinner=False, max_entries=128)
def _shared(key: tuple, _build: Callable[[], Any]) -> Any:
    return _build()


def shared(build: Callable[[], Any], *key: Any, viewer: auth.Viewer | None = None) -> Any:
    """`build()` once per `key` and data version, shared by every session of the process (a figure, a frame):
    building a plotly figure or a view's frame again on every rerun and for every session held the server for tens
    of ms each time. `key` names everything the result depends on besides the loaded data (the page's filters and
    selection, and which chart); pass `viewer` when it shows anything only some viewers may see (notes). Callers
    must not change what they get."""
    path = db.locate()
    return _shared((path, queries.data_version(_connection(path)), viewer, *key), build)


@st.cache_data(show_spinner=False, max_entries=64)
def _exchange_rows(path: str, version: tuple, viewer: auth.Viewer):
    from shisn.services import exchanges
    return exchanges.list_exchanges(_connection(path), viewer)


def exchange_rows(viewer: auth.Viewer):
    """exchanges.list_exchanges for `viewer`, read again whenever any process or replica changed an exchange."""
    path = db.locate()
    return _exchange_rows(path, _connection(path).version("exchanges"), viewer)


@st.cache_data(show_spinner="Solving the pairing…", max_entries=32)
def _pairing(path: str, version: int, cycle: int, weights: tuple, capacity: int):
    from shisn.domain import pairing
    w = pairing.Weights(**dict(weights))
    # the cycle's rows as the pages already hold them (not a second query); no page shows the candidate edges
    # (millions at county scale): the same pairs without building them
    return pairing.suggest(_assessments(path, version, cycle, None).copy(deep=False), w, capacity=capacity,
                           with_candidates=False)


def pairing_result(cycle: int, weights, capacity: int):
    """The national optimal pairing for a cycle, cached per data version and settings. ``candidates`` is left
    empty (same columns); pairs, referrals, totals and loads are complete."""
    path = db.locate()
    return _pairing(path, queries.data_version(_connection(path)), int(cycle),
                    tuple(sorted(weights.as_dict().items())), int(capacity))


# --- work queue --------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _queue_items(path: str, version: tuple, viewer: auth.Viewer, now):
    from shisn.domain import pairing
    from shisn.services import queue as Q
    cycle = latest_cycle()
    referrals = (pairing_result(cycle, pairing.Weights(), pairing.DEFAULT_CAPACITY).referrals
                 if cycle is not None else None)
    return Q.items(_connection(path), viewer, now=now, referrals=referrals, cycle=cycle)


def queue_items(viewer: auth.Viewer) -> pd.DataFrame:
    """shisn.services.queue.items for `viewer` (with the app's cached pairing of the latest cycle), read again whenever the
    data, the exchanges, the submissions, the TA referrals or the settings change, and at least once a minute (an
    exchange becomes stuck on the clock)."""
    import datetime as _dt
    path = db.locate()
    con = _connection(path)
    version = (queries.data_version(con), *con.version("exchanges", "submissions", "ta_referrals", "settings",
                                                         "reporting_cycles"))
    return _queue_items(path, version, viewer, _dt.datetime.now().replace(second=0, microsecond=0))


# --- impact ------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner="Computing the impact figures…", max_entries=32)
def _impact_figures(path: str, version: tuple, viewer: auth.Viewer, cycle: int | None, hour: str):
    import datetime as _dt

    from shisn.services import impact
    con = _connection(path)
    inputs = impact.gather(con, viewer, _redacted(viewer, None, None))
    return impact.figures(inputs, _dt.datetime.fromisoformat(hour), cycle=cycle)


def impact_figures(viewer: auth.Viewer, cycle: int | None = None):
    """impact.Figures as `viewer` may see them, for every cycle or for the cycle report of `cycle` (only
    aggregates and the viewer's own exchanges: the store-wide inputs stay inside the cached function).
    Cached until the assessments, exchanges, states' views, referrals, PM assignments or the stuck setting change,
    and for an hour at most (the days an exchange has been stuck run on the clock)."""
    import datetime as _dt

    path = db.locate()
    con = _connection(path)
    version = (queries.data_version(con), *con.version("exchanges", "exchange_outcomes", "ta_referrals",
                                                         "program_manager_log"), stuck_days())
    hour = _dt.datetime.now().replace(minute=0, second=0, microsecond=0).isoformat()
    return _impact_figures(path, version, viewer, None if cycle is None else int(cycle), hour)


# --- pages a role may not open: the message ui.guard shows on the page ---------------------------------

_PAGE_INFO: dict[str, tuple[str, tuple[str, ...]]] = {}  # page file name -> (title, roles); app.py registers them
_ROLE_WORDS = {auth.LEADERSHIP: "ODP leadership", auth.PROGRAM_MANAGER: "program managers",
               auth.STATE: "state users"}


@st.cache_resource(show_spinner=False, max_entries=64)
def _nav_page(script: str, title: str, icon: str, url_path: str, visibility: str):
    if not Path(script).is_file():
        return None
    return st.Page(Path(script), title=title, icon=icon, url_path=url_path, visibility=visibility)


def nav_page(script: Path, title: str, icon: str, url_path: str, visible: bool):
    """app.py's st.Page for a page script, built once per process and copied for each run: st.Page resolves and
    checks the file on the disk (a few system calls per page, each a wait for the GIL when other sessions are
    busy: ~50 ms a run for ten pages under load). Each run gets its own copy because st.navigation marks the
    page it chooses as the one that may run, which must not be shared between sessions. None if the script is not
    there."""
    import copy
    page = _nav_page(str(script), title, icon, url_path, "visible" if visible else "hidden")
    return None if page is None else copy.copy(page)


def register_pages(info: dict[str, tuple[str, tuple[str, ...]]]) -> None:
    """app.py: every page's title and roles (the same on every run), for the guard's message."""
    _PAGE_INFO.update(info)


def _page_link(file: str, label: str, icon: str, **query) -> None:
    """A link to another page of the app; as plain text where the app's navigation is not running (a page script
    served on its own, e.g. in tests)."""
    try:
        st.page_link(f"pages/{file}", label=label, icon=icon, query_params=query or None)
    except Exception:  # noqa: BLE001 - no navigation to resolve the page in: name the address instead
        address = f"/{file.removesuffix('.py')}" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query
                                                     else "")
        st.markdown(f"{safe_text.markdown(label)}: `{address}`")


def not_for_this_role(page_file: str, roles: Sequence[str], viewer: auth.Viewer) -> None:
    """'National coverage is for ODP leadership and program managers', and the viewer's own pages as links."""
    title = _PAGE_INFO.get(page_file, (page_file.removesuffix(".py").replace("_", " ").capitalize(),))[0]
    words = [_ROLE_WORDS[r] for r in roles]
    who = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    st.title(title)
    st.warning(f"This page is for: {', '.join(auth.ROLE_LABELS[r] for r in roles)}. You are viewing as "
               f"{safe_text.markdown(viewer.label)}, so it shows nothing here.", icon=":material/lock:")
    if viewer.role == auth.STATE and viewer.home_state:
        code = viewer.home_state
        st.markdown(f"**{safe_text.markdown(title)}** is for {who}. Your state's profile:")
        _page_link("state_profile.py", f"{J.names()[code]} ({code}): state profile", ":material/account_balance:",
                   state=code)
        _page_link("exchanges.py", f"{code}'s exchanges and introduction requests", ":material/forum:")
    elif viewer.role == auth.PROGRAM_MANAGER:
        st.markdown(f"**{safe_text.markdown(title)}** is for {who}. What needs your action:")
        _page_link("queue.py", "Your work queue", ":material/inbox:")
        _page_link("national.py", "National coverage", ":material/public:")
    else:
        st.markdown(f"**{safe_text.markdown(title)}** is for {who}.")
        _page_link("national.py", "National coverage", ":material/public:")


# --- self-assessments on the form and data-quality flags ----------------------------------------------

def data_changed() -> None:
    """After the assessments changed in this process (a load, an accepted form): drop the cached frames of the old
    data version (they are keyed by it, so they would only hold memory)."""
    st.cache_data.clear()
    _assessments.clear()


def _open_assessment(state: str, cycle: int) -> None:
    """Open a submission's form through the page's address, not the session's shared choices: the cycle of a form
    under review must not become the cycle the viewing pages show (they open on the latest closed one)."""
    st.session_state.pop("state", None)
    st.session_state.pop("cycle", None)
    st.query_params["state"], st.query_params["cycle"] = state, str(int(cycle))


def review_queue_links(con, viewer: auth.Viewer) -> None:
    """On the assessment page: the submissions awaiting this viewer's review (oldest first), each opening its form."""
    from shisn.services import submissions
    if viewer.role == auth.STATE:
        return
    pending = submissions.pending_reviews(con, viewer)
    if pending.empty:
        return
    with st.expander(f"Awaiting your review ({len(pending)})", icon=":material/inbox:"):
        for r in pending.itertuples(index=False):
            st.button(f"{safe_text.markdown(J.names()[r.state])} ({r.state}) {r.cycle} · submitted by "
                      f"{safe_text.markdown(r.submitted_by)} on {r.submitted_at:%d %b %Y, %H:%M}",
                      key=f"open_review_{r.submission_id}", type="tertiary", icon=":material/arrow_forward:",
                      on_click=_open_assessment, args=(r.state, r.cycle))


def _confirm_flag(con, viewer: auth.Viewer, key: str) -> None:
    from shisn.domain import quality
    pick = st.session_state.get(f"{key}_pick")  # "state|cycle|rule|area"
    note = st.session_state.get(f"{key}_note", "")
    if not pick:
        return
    state, cycle, rule, area = pick.split("|")
    try:
        flag_confirmations.confirm(con, viewer, state, int(cycle), rule, area, note)
    except quality.FlagError as e:
        st.session_state[f"{key}_msg"] = ("error", str(e))
        return
    st.session_state[f"{key}_note"] = ""
    st.session_state[f"{key}_msg"] = ("success", "Flag confirmed: it stays listed, counted apart.")


def flag_list(con, viewer: auth.Viewer, flags, key: str, *, empty: str = "No data-quality flags.",
              confirm: bool = True) -> None:
    """Data-quality flags as a table (open first; confirmed ones stay, with their note where the viewer sees the
    state in detail) and, for those who may (the state, its PM, leadership), a form to confirm one with a note, in a
    panel drawn when opened (`{key}_open`)."""
    from shisn.domain import quality
    if flags.empty:
        st.caption(empty)
        return
    n = quality.counts(flags)
    st.caption(f"{n['open']} open · {n['confirmed']} confirmed. A flag marks a rating worth a second look; "
               "confirm it with a note when the rating stands.")
    order = flags.sort_values("confirmed", kind="stable")
    shown = quality.display_frame(order, show_notes=viewer.sees_detail_of)
    one_state, one_cycle = shown["state"].nunique() == 1, shown["cycle"].nunique() == 1
    hidden = ({"jurisdiction"} if one_state else set()) | ({"cycle"} if one_cycle else set())
    if one_state:  # one state's flags: a few rows, a static table (no grid code for a new session to load)
        labels = {"jurisdiction": "Jurisdiction", "cycle": "Cycle", "area": "Program area", "flag": "Flag",
                  "explanation": "Why", "confirmed": "Confirmed", "note": "Confirmation note"}
        text_table(shown[[c for c in labels if c not in hidden]].rename(columns=labels))
    else:
        st.dataframe(shown, hide_index=True, width="stretch",
                     column_order=[c for c in ("jurisdiction", "cycle", "area", "flag", "explanation", "confirmed",
                                               "note") if c not in hidden],
                     column_config={"jurisdiction": "Jurisdiction", "cycle": st.column_config.NumberColumn(
                                        "Cycle", format="%d"),
                                    "area": "Program area",
                                    "flag": st.column_config.TextColumn("Flag", width="medium"),
                                    "explanation": st.column_config.TextColumn("Why", width="large"),
                                    "confirmed": st.column_config.CheckboxColumn("Confirmed", width="small"),
                                    "note": st.column_config.TextColumn("Confirmation note", width="medium")})
    msg = st.session_state.pop(f"{key}_msg", None)
    if msg:
        getattr(st, msg[0])(msg[1])
    if not confirm:
        return
    can = flags[~flags["confirmed"] & flags["state"].map(lambda s: quality.can_confirm(viewer, s))]
    if can.empty:
        return
    box = lazy_expander(f"Confirm a flag ({len(can)} open)" if len(can) != 1 else "Confirm the flag", f"{key}_open",
                        icon=":material/task_alt:")
    with box:
        if not box.open:  # drawn on request: a select box and a text box are a cold open's costliest widgets
            return
        with st.form(f"{key}_form", border=False, enter_to_submit=False):
            st.markdown("The rating stands, and here is why:")
            labels = {f"{r['state']}|{r['cycle']}|{r['rule']}|{r['program_area']}":
                      (f"{r['state']} {r['cycle']} · " if not one_state else "")
                      + (_area_short(r["program_area"]) + " · " if r["program_area"] else "") + r["title"]
                      for _, r in can.iterrows()}
            st.selectbox("Flag", list(labels), format_func=labels.get, key=f"{key}_pick")
            st.text_input("Note", key=f"{key}_note", max_chars=quality.MAX_NOTE,
                          placeholder="e.g. We moved from 2 to 4 after the statewide radio system went live.")
            st.form_submit_button("Confirm flag", icon=":material/task_alt:", on_click=_confirm_flag,
                                  args=(con, viewer, key))


def _area_short(slug: str) -> str:
    from shisn.domain import catalog
    return catalog.area_short(slug)


@st.cache_data(show_spinner=False, max_entries=256)
def _state_flag_rows(path: str, version: int, confirmed_version: tuple, code: str, cycle: int, latest: int | None):
    return flag_confirmations.state_flags(_connection(path), _assessments(path, version, None, (code,)), code, cycle, latest)


def state_flags(viewer: auth.Viewer, code: str, cycle: int) -> None:
    """The state profile's block: the state × cycle's data-quality flags, for viewers who see the state in detail
    (nothing otherwise), in an expander whose label carries the counts."""
    from shisn.domain import quality
    if not viewer.sees_detail_of(code):
        return
    path = db.locate()
    con = _connection(path)
    all_cycles = cycles()
    flags = _state_flag_rows(path, queries.data_version(con), con.version("flag_confirmations"), code, int(cycle),
                             latest_cycle() if all_cycles else None)
    n = quality.counts(flags)
    label = (f"Data-quality flags, {cycle}: {n['open']} open, {n['confirmed']} confirmed" if len(flags)
             else f"Data-quality flags, {cycle}: none")
    box = st.expander(label, icon=":material/flag:", key="profile_flags_open", on_change="rerun")
    if box.open:  # the list and the confirm form are drawn only when opened
        with box:
            flag_list(con, viewer, flags, key="profile_flags", empty="No data-quality flag on these ratings.")


@st.cache_data(show_spinner=False, max_entries=16)
def _cycle_flags(path: str, version: int, cycle: int, latest: int | None):
    from shisn.domain import quality
    rows = _assessments(path, version, None, None)
    return quality.flags(rows[rows["cycle"] <= cycle], cycle=cycle, latest_cycle=latest)


@st.cache_data(show_spinner=False, max_entries=16)
def _confirmed_cycle_flags(path: str, version: int, confirmed_version: tuple, cycle: int, latest: int | None):
    from shisn.domain import quality
    return quality.with_confirmations(_cycle_flags(path, version, cycle, latest),
                                      flag_confirmations.confirmations(_connection(path), None, cycle))


def national_flags(viewer: auth.Viewer, cycle: int) -> None:
    """The national page's block (leadership and PMs): how many data-quality flags the cycle's assessments carry,
    open and confirmed, and the list (drawn only when opened). Confirmation notes only for states the viewer sees
    in detail."""
    from shisn.domain import quality
    if viewer.role not in (auth.LEADERSHIP, auth.PROGRAM_MANAGER):
        return
    path = db.locate()
    con = _connection(path)
    all_cycles = cycles()
    flags = _confirmed_cycle_flags(path, queries.data_version(con), con.version("flag_confirmations"), int(cycle),
                                   latest_cycle() if all_cycles else None)
    n = quality.counts(flags)
    states = flags["state"].nunique() if len(flags) else 0
    box = st.expander(f"Data-quality flags, {cycle}: {n['open']} open, {n['confirmed']} confirmed "
                      f"({states} jurisdiction{'s' if states != 1 else ''})", icon=":material/flag:",
                      key="national_flags_open", on_change="rerun")
    if box.open:  # the list is drawn only when opened
        with box:
            by_rule = flags.groupby("title").size().sort_values(ascending=False) if len(flags) else None
            if by_rule is not None:
                st.caption(" · ".join(f"{t}: {c}" for t, c in by_rule.items()))
            flag_list(con, viewer, flags, key="national_flags", confirm=False,
                      empty=f"No data-quality flag in {cycle}.")


# --- introduction requests: the state's form and list, shared by the profile and the Exchanges page ---

def request_introduction_form(con, viewer: auth.Viewer, p, key: str) -> None:
    """For a state user on its own profile data `p` (profile.StateProfile with mentors/mentees): pick a recommended
    mentor for a need, or a state it could help, add a message, and request the introduction."""
    from shisn.services import exchanges as X
    choices = X.request_choices(p.state, p.mentors, p.mentees)
    if not choices:
        st.caption(f"No recommended partner in {p.cycle} to ask for: {p.name} has no need an eligible mentor can "
                   "take and no state is seeking guidance where it can mentor.")
        return
    with st.form(key, border=True):
        st.markdown("**Request an introduction** · your program manager and the other state's see it and answer")
        pick = st.selectbox("Introduction", range(len(choices)), format_func=lambda i: choices[i]["label"],
                            key=f"{key}_pick")
        message = st.text_area("Message (optional)", max_chars=exchange_rules.MAX_MESSAGE, height=80, key=f"{key}_message",
                               placeholder="What you need or can offer, who to contact, any timing.")
        sent = st.form_submit_button("Request introduction", type="primary", icon=":material/send:")
    if sent:
        c = choices[pick]
        try:
            ex_id = X.request_introduction(con, viewer, c["mentor"], c["mentee"], [c["program_area"]], p.cycle,
                                           message)
        except X.ExchangeError as e:
            st.error(safe_text.markdown(str(e)), icon=":material/block:")
        else:
            st.success(f"Request {ex_id} sent: {safe_text.markdown(c['label'])}. It waits for a program manager's answer; "
                       "its status is listed below.", icon=":material/check_circle:")


@st.cache_resource(show_spinner=False, max_entries=128)
def _requests_of(path: str, version: tuple, viewer: auth.Viewer, state: str, _con=None):
    from shisn.services import exchanges as X
    return X.requests_of(_con, viewer, state)  # read once per version of the exchanges, shared (never changed)


def requests_table(con, viewer: auth.Viewer, state: str) -> None:
    """The introduction requests `state` takes part in, with their status, message and any decline reason."""
    reqs = _requests_of(db.locate(), con.version("exchanges"), viewer, state, _con=con)
    if reqs.empty:
        st.caption(f"No introduction requests involving {state} yet.")
        return
    st.dataframe(reqs[["exchange_id", "requested_state", "kind", "partner", "areas_label", "status_label",
                       "requested_at", "request_message", "decline_reason"]], hide_index=True, width="stretch",
                 column_config={
                     "exchange_id": st.column_config.NumberColumn("#", format="%d", width=50),
                     "requested_state": st.column_config.TextColumn("Asked by", width=70), "kind": "Request",
                     "partner": st.column_config.TextColumn("With", width=60), "areas_label": "Program area",
                     "status_label": "Status",
                     "requested_at": st.column_config.DatetimeColumn("Asked on", format="YYYY-MM-DD"),
                     "request_message": st.column_config.TextColumn("Message", width="medium"),
                     "decline_reason": st.column_config.TextColumn("Why declined", width="medium")})


# --- downloads that always arrive ------------------------------------------------------------------------
# A download button given a callable (`data=lambda: ...`, "built on click") is lost under load. On the click the
# browser asks the server to run the callable and waits for the file's URL; but (1) the click's own rerun clears the
# session's outgoing messages when it starts, and the URL's message is dropped if it is still queued then: the browser
# never hears back and the button spins, disabled, for 3 minutes; and (2) the file it builds is kept only until any
# two script runs of any session end (Streamlit keeps only files a session's last run drew), so with a dozen people
# working it is often gone before the browser fetches it. `download` instead draws the button with its file
# (cached across sessions, so it is built once per content), inside a fragment: the click's rerun (the audit
# record) reruns only the button, which keeps the file's URL valid, and nothing waits on a round trip.

@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def _download_payload(key: tuple, _build: Callable[[], bytes | str]) -> bytes:
    data = _build()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


@st.fragment
def _download_fragment(label: str, key: tuple, build, file_name: str, mime: str, audit: str | None,
                       kwargs: dict) -> None:
    extra = {"on_click": audit_export, "args": (audit,)} if audit else {"on_click": "ignore"}
    st.download_button(label, _download_payload(key, build), file_name=file_name, mime=mime, **extra, **kwargs)


def download(label: str, build: Callable[[], bytes | str], key: tuple, *, file_name: str, mime: str,
             audit: str | None = None, tables: tuple[str, ...] = (), container=None, **kwargs) -> None:
    """A download button whose file always arrives, even with many people working at once. `build()` makes the
    file's bytes (or text); `key` names everything the content depends on besides the loaded data, the viewer and
    the rows of `tables` (e.g. "exchanges"; all three added here), e.g. the page's filters, so the file is built
    once per content and shared across sessions. `audit` (what was exported) is recorded when the button is
    clicked. Other keyword arguments go to st.download_button (icon, width, help, key)."""
    con = connection()
    full_key = (*key, file_name, mime, queries.data_version(con), con.version(*tables) if tables else (),
                st.session_state.get(VIEWER_KEY))
    if container is None:
        _download_fragment(label, full_key, build, file_name, mime, audit, kwargs)
    else:
        with container:
            _download_fragment(label, full_key, build, file_name, mime, audit, kwargs)


# --- selections held in the URL: a chart click, a shared link and a select box lead to one state ---------------
# (the pure side, parsing URL values and chart events, is shisn/selection.py)

_SELECTION_GEN = "_shisn_selection_gen"


def selection_generation() -> int:
    """Bumped whenever a selection changes other than by a chart click (a select box, a table row): charts keyed
    with `chart_key` then start afresh, so a chart's own (client-side) selection never disagrees with the URL."""
    return int(st.session_state.get(_SELECTION_GEN, 0))


def chart_key(base: str) -> str:
    return f"{base}-{selection_generation()}"


def set_selection(values: dict[str, Any], *, from_chart: bool = False) -> None:
    """Write selection values to the URL query string (None removes the parameter)."""
    for k, v in values.items():
        if v is None:
            if k in st.query_params:
                del st.query_params[k]
        elif st.query_params.get(k) != str(v):
            st.query_params[k] = str(v)
    if not from_chart:
        st.session_state[_SELECTION_GEN] = selection_generation() + 1


def url_selection(param: str, parse: Callable[[Any], Any]) -> Any:
    """The canonical value of a selection parameter (`parse` of the URL value; None when absent or unknown). The
    URL is rewritten to the canonical spelling (`?selected_state=montana` → `MT`), and an unknown value dropped."""
    raw = st.query_params.get(param)
    value = parse(raw)
    if raw is not None and value is None:
        del st.query_params[param]
    elif value is not None and str(value) != raw:
        st.query_params[param] = str(value)
    return value


def selection_select(label: str, options: Sequence[Any], param: str, parse: Callable[[Any], Any],
                     format_func: Callable[[Any], str] = str, none_label: str = "None selected", container=st,
                     panel: str | None = None, **kwargs) -> Any:
    """The keyboard alternative to a chart click: a select box showing (and setting) the URL parameter `param`.
    Its first option, None, clears the selection."""
    options = [None, *options]
    current = url_selection(param, parse)
    key = "_pick_" + param
    st.session_state[key] = current if current in options else None

    def changed():
        set_selection({param: st.session_state[key]})
        _keep_open(panel)

    return container.selectbox(label, options, key=key, on_change=changed, placeholder=none_label,
                               format_func=lambda o: none_label if o is None else format_func(o), **kwargs)


def on_chart_select(key: str, read: Callable[[Any], dict[str, Any] | None]) -> Callable[[], None]:
    """An `on_select` callback for the chart (or table) keyed `key`: `read(event)` gives the URL values the click
    selects, or None when it picked nothing (the selection is then kept)."""
    def callback():
        values = read(st.session_state.get(key))
        if values:
            set_selection(values, from_chart=True)
    return callback


@st.cache_data(show_spinner=False, max_entries=256)
def _cell_panel(path: str, version: int, code: str, area: str, cycle: int, viewer: auth.Viewer):
    from shisn.domain import coverage, selection
    rows = coverage.redact_notes(_redacted(viewer, cycle, None), viewer.sees_detail_of)
    return selection.cell_panel(rows, code, area, cycle, viewer.sees_detail_of,
                                history=_redacted(viewer, None, (code,)))


def cell_panel(code: str, area: str, cycle: int, viewer: auth.Viewer):
    """selection.cell_panel for the national page's heatmap click, as `viewer` may see it, cached per data version
    (a shared link to a cell opens without recomputing its mentors)."""
    path = db.locate()
    return _cell_panel(path, queries.data_version(_connection(path)), code, area, int(cycle), viewer)
