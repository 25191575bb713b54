"""The app's navigation: page registration for app.py, deep links reopened through it, and links between pages."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import streamlit as st

from shisn.domain import safe_text

DEEP_LINK_KEY = "_shisn_deep_link"  # (page file name, query params) to reopen through app.py's navigation


def _legacy_pages_mode() -> bool:
    """True while Streamlit still serves pages/ the old way (a script per file, without app.py). That happens only
    in the first session after the server starts: Streamlit learns that app.py builds the navigation itself when
    app.py first runs. (Internal flag; if a Streamlit release drops it, this is simply never true.)"""
    try:
        from streamlit.runtime.pages_manager import PagesManager  # Streamlit's internal API, absent in some versions
    except ImportError:  # pragma: no cover - other Streamlit layouts
        return False
    return PagesManager.uses_pages_directory is True


def open_deep_link(pages_by_file: dict[str, Any]) -> None:
    """In app.py, after st.navigation: if a page was opened by a link before the app shell ran (see guard), open
    that page now (if this viewer has it), with the link's query string, through the app's own navigation."""
    target = st.session_state.pop(DEEP_LINK_KEY, None)
    if target is not None and target[0] in pages_by_file:
        st.switch_page(pages_by_file[target[0]], query_params=target[1])


_PAGE_INFO: dict[str, tuple[str, tuple[str, ...]]] = {}  # page file name -> (title, roles); app.py registers them


@st.cache_resource(show_spinner=False, max_entries=64)
def _nav_page(script: str, title: str, icon: str, url_path: str, visibility: str):
    if not Path(script).is_file():
        return None
    return st.Page(Path(script), title=title, icon=icon, url_path=url_path, visibility=visibility)


def nav_page(script: Path, title: str, icon: str, url_path: str, visible: bool):
    """app.py's st.Page for a page script, built once per process and copied for each run: st.Page resolves and
    checks the file on the disk (a few system calls per page, each a wait for the GIL when other sessions are
    busy: ~50 ms a run for ten pages under load). Each run gets its own copy because st.navigation marks the
    page it chooses as the one that may run, which must not be cached between sessions. None if the script is not
    there."""
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
        address = f"/{file.removesuffix('.py')}" + (
            "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        )
        st.markdown(f"{safe_text.markdown(label)}: `{address}`")
