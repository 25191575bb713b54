"""Tables, pictures and files on a page: Markdown tables screen readers read, SVG images with text alternatives,
a chart's text summary and data table, and downloads built only when asked for."""

from __future__ import annotations

import base64
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from shisn.domain import safe_text
from shisn.store import queries
from shisn.web.identity import audit_export
from shisn.web.loaders import VIEWER_KEY, connection
from shisn.web.widgets import lazy_expander


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
    rule = (
        "|"
        + "|".join(
            "---:" if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) else "---"
            for c in df.columns
        )
        + "|"
    )
    body = ["| " + " | ".join(cell(v, c) for v, c in zip(row, df.columns)) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def text_table(df: pd.DataFrame) -> None:
    """A short static table whose text cells are shown as text, drawn as Markdown. For the few-row tables beside a
    chart or a map: Markdown is drawn by Streamlit's main browser code, where st.table and st.dataframe each make a
    new session fetch and compile ~1 MB more (Arrow) before the view is complete (BENCHMARKS.md)."""
    if df.empty:
        return
    st.markdown(_markdown_of(df))


def chart_text(
    summary: str, table: Callable[[], pd.DataFrame], key: str, *, what: str = "chart", note: str | None = None
) -> None:
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
    """markdown_table(df), kept while `df` lives: most tables drawn are frames cached by every session (loaders.cached,
    cached reads), so a new session draws them without formatting every cell again. Frames are never changed after
    they are built (pandas copy-on-write; callers of loaders.cached must not change what they get)."""
    key = id(df)
    hit = _MARKDOWN.get(key)
    if hit is not None and hit[0]() is df:
        return hit[1]
    text = markdown_table(df)
    _MARKDOWN[key] = (weakref.ref(df, lambda _ref, k=key: _MARKDOWN.pop(k, None)), text)
    return text


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def _download_payload(key: tuple, _build: Callable[[], bytes | str]) -> bytes:
    data = _build()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


@st.fragment
def _download_fragment(
    label: str, key: tuple, build, file_name: str, mime: str, audit: str | None, kwargs: dict
) -> None:
    extra = {"on_click": audit_export, "args": (audit,)} if audit else {"on_click": "ignore"}
    st.download_button(label, _download_payload(key, build), file_name=file_name, mime=mime, **extra, **kwargs)


def download(
    label: str,
    build: Callable[[], bytes | str],
    key: tuple,
    *,
    file_name: str,
    mime: str,
    audit: str | None = None,
    tables: tuple[str, ...] = (),
    container=None,
    **kwargs,
) -> None:
    """A download button whose file always arrives, even with many people working at once. `build()` makes the
    file's bytes (or text); `key` names everything the content depends on besides the loaded data, the viewer and
    the rows of `tables` (e.g. "exchanges"; all three added here), e.g. the page's filters, so the file is built
    once per content and cached across sessions. `audit` (what was exported) is recorded when the button is
    clicked. Other keyword arguments go to st.download_button (icon, width, help, key)."""
    con = connection()
    full_key = (
        *key,
        file_name,
        mime,
        queries.data_version(con),
        con.version(*tables) if tables else (),
        st.session_state.get(VIEWER_KEY),
    )
    if container is None:
        _download_fragment(label, full_key, build, file_name, mime, audit, kwargs)
    else:
        with container:
            _download_fragment(label, full_key, build, file_name, mime, audit, kwargs)
