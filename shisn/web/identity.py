"""Who is viewing: the signed-in e-mail (or the demo's role switcher), the Viewer it maps to, the identity panel,
the demo banner and the guard every page calls first."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from shisn.domain import auth, jurisdictions, safe_text
from shisn.store import accounts, audit
from shisn.web.loaders import VIEWER_KEY, connection, data_status, pm_assignments
from shisn.web.navigation import (
    _PAGE_INFO,
    DEEP_LINK_KEY,
    _legacy_pages_mode,
    _page_link,
)
from shisn.web.widgets import _kept, _kept_choice, _kept_select, lazy_expander


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
        st.warning(
            "You are signed in, but you have no shisn role yet, so there is nothing to show. Ask ODP "
            "leadership to add you."
        )
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
    viewer = st.session_state.get(VIEWER_KEY)
    audit.record(connection(), viewer.name if viewer else "unknown", "export", what)


ROLE_PANEL_KEY = "demo_role_open"


DEMO_STATE = "VA"  # the demo's default state (and its program manager the default PM)


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
        state = _kept("demo_state", jurisdictions.codes(), DEMO_STATE)
    return auth.demo_viewer(role, pms, pm_name=pm_name, state=state)


def role_switcher(viewer: auth.Viewer) -> None:
    """The DEMO role switcher in the sidebar (until access control lands): a panel named after `viewer` (from
    `demo_viewer`), which opens on a click to change it. Closed, it draws no widget, so a page opened cold (a cached
    link) neither builds the switcher nor makes the browser fetch its code; the choice is kept either way."""
    name = viewer.name.removesuffix(" (demo)")  # the demo's names say so already; the label adds it once
    who = auth.ROLE_LABELS[viewer.role] + (
        f" · {name}"
        if viewer.role == auth.PROGRAM_MANAGER
        else f" · {viewer.states[0]}"
        if viewer.role == auth.STATE
        else ""
    )
    box = lazy_expander(
        f"Viewing as: {safe_text.markdown(who)} (demo)", ROLE_PANEL_KEY, icon=":material/switch_account:"
    )
    with box:
        if box.open:
            # three buttons, not a select box: every role in view, one click
            role = _kept_choice(
                "Viewing as (demo)",
                auth.ROLES,
                "demo_role",
                auth.LEADERSHIP,
                panel=ROLE_PANEL_KEY,
                format_func=auth.ROLE_LABELS.get,
                help="Demo mode: pick any role to see the app as that user would. "
                "Real deployments take identity from the organisation's login.",
            )
            if role == auth.PROGRAM_MANAGER:
                pms = pm_assignments()
                names = _pm_names(pms)
                _kept_select(
                    "Program manager",
                    names,
                    "demo_pm",
                    _pm_of_default_state(pms, names),
                    panel=ROLE_PANEL_KEY,
                    format_func=_pm_label(pms),
                )
            elif role == auth.STATE:
                _kept_select(
                    "State",
                    jurisdictions.codes(),
                    "demo_state",
                    DEMO_STATE,
                    panel=ROLE_PANEL_KEY,
                    format_func=lambda c: f"{c} · {jurisdictions.names()[c]}",
                )
            st.caption(
                "Demo mode: the role switcher is for evaluation only. Deployments sign users in "
                "(SHISN_AUTH=oidc or header) and take roles from the users table."
            )


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
        # Served directly (e.g. a cached link opened before any session ran app.py): resolve the viewer here too,
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
        st.info(
            "**Demo data.** Every figure on this page comes from a synthetic data set generated for "
            "demonstration; no state's real self-assessment is shown. Load real files on the Data page.",
            icon=":material/science:",
        )
    elif status["is_demo"]:
        st.warning(
            f"**Partly demo data.** {status['synthetic_rows']:,} of {status['rows']:,} assessment rows are "
            "synthetic demo rows; replace them by loading real files for those states and cycles.",
            icon=":material/science:",
        )


_ROLE_WORDS = {auth.LEADERSHIP: "ODP leadership", auth.PROGRAM_MANAGER: "program managers", auth.STATE: "state users"}


def not_for_this_role(page_file: str, roles: Sequence[str], viewer: auth.Viewer) -> None:
    """'National coverage is for ODP leadership and program managers', and the viewer's own pages as links."""
    title = _PAGE_INFO.get(page_file, (page_file.removesuffix(".py").replace("_", " ").capitalize(),))[0]
    words = [_ROLE_WORDS[r] for r in roles]
    who = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    st.title(title)
    st.warning(
        f"This page is for: {', '.join(auth.ROLE_LABELS[r] for r in roles)}. You are viewing as "
        f"{safe_text.markdown(viewer.label)}, so it shows nothing here.",
        icon=":material/lock:",
    )
    if viewer.role == auth.STATE and viewer.home_state:
        code = viewer.home_state
        st.markdown(f"**{safe_text.markdown(title)}** is for {who}. Your state's profile:")
        _page_link(
            "state_profile.py",
            f"{jurisdictions.names()[code]} ({code}): state profile",
            ":material/account_balance:",
            state=code,
        )
        _page_link("exchanges.py", f"{code}'s exchanges and introduction requests", ":material/forum:")
    elif viewer.role == auth.PROGRAM_MANAGER:
        st.markdown(f"**{safe_text.markdown(title)}** is for {who}. What needs your action:")
        _page_link("queue.py", "Your work queue", ":material/inbox:")
        _page_link("national.py", "National coverage", ":material/public:")
    else:
        st.markdown(f"**{safe_text.markdown(title)}** is for {who}.")
        _page_link("national.py", "National coverage", ":material/public:")
