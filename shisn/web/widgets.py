"""Widgets bound to the URL query string (a shared link reopens the same view): filters, kept choices, chart
selections, the cycle choice, lazy panels and tabs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from shisn.store import reporting_cycles
from shisn.web.loaders import cycle_status, cycles, latest_cycle


def cycle_label(cycle: int) -> str:
    """'2026', or '2027 (in progress)' for a cycle still open."""
    return reporting_cycles.label(cycle_status(), cycle)


def cycle_filter(label: str, key: str = "cycle", **kwargs) -> Filter:
    """The cycle picker of a page's filter panel: every cycle with data, the latest closed one by default, an open
    one labelled in progress."""
    options = cycles()
    return Filter(label, options, key, default=latest_cycle() if options else None, format_func=cycle_label, **kwargs)


def collecting_cycle():
    """The cycle leadership opened for reporting (shisn.store.reporting_cycles.Cycle), or None: the form opens on it."""
    return reporting_cycles.collecting(cycle_status())


def cycle_notice(cycle: int | None) -> None:
    """Says so when `cycle` is still open for reporting: its figures are provisional."""
    c = None if cycle is None else reporting_cycles.find(cycle_status(), int(cycle))
    if c is not None and c.in_progress:
        st.info(reporting_cycles.provisional_note(c), icon=":material/pending:")


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


def kept_slider(label: str, lo, hi, default, step=None, *, key: str, draw: bool = True, container=None, **kwargs):
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
    return st.segmented_control(
        label, options, key=key, required=True, on_change=_remember, args=(key, panel), width="stretch", **kwargs
    )


class Filter:
    """One filter of a page's filter panel (`filters`): a select box held in the URL (`?key=value`, as
    `bound_select`), or with `multi` a multiselect of any number of options (none chosen = `none_text`).
    `short_func` names a value in the closed panel's label (default `format_func`)."""

    def __init__(
        self,
        label: str,
        options: Sequence[Any],
        key: str,
        default: Any = None,
        format_func: Callable[[Any], str] = str,
        *,
        multi: bool = False,
        none_text: str = "all",
        width: float = 1.0,
        short_func: Callable[[Any], str] | None = None,
        **kwargs,
    ):
        self.label, self.options, self.key, self.default = label, list(options), key, default
        self.format_func, self.multi, self.none_text, self.width, self.kwargs = (
            format_func,
            multi,
            none_text,
            width,
            kwargs,
        )
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
            return (
                ", ".join(self.short_func(v) for v in value)
                if len(value) <= 2
                else f"{len(value)} {self.label.lower()}"
            )
        return self.short_func(value)

    def draw(self, container, panel: str | None = None) -> Any:
        """The widget, in `container`; a choice keeps the `panel` (its lazy expander's key) open."""
        if self.multi:
            st.session_state[self.key] = self.value()
            return container.multiselect(
                self.label,
                self.options,
                format_func=self.format_func,
                key=self.key,
                on_change=_remember,
                args=(self.key, panel),
                **self.kwargs,
            )
        return bound_select(
            self.label,
            self.options,
            self.key,
            self.default,
            self.format_func,
            container=container,
            on_change=_keep_open,
            args=(panel,),
            **self.kwargs,
        )


class SelectionFilter(Filter):
    """A chart selection held in the URL parameter `param` (see `selection_select`), as one entry of a `filters`
    panel: the keyboard alternative to a click on the chart."""

    def __init__(
        self,
        label: str,
        options: Sequence[Any],
        param: str,
        parse: Callable[[Any], Any],
        format_func: Callable[[Any], str] = str,
        none_text: str = "none selected",
        **kwargs,
    ):
        super().__init__(label, options, param, None, format_func, none_text=none_text, **kwargs)
        self.parse = parse

    def value(self) -> Any:
        value = url_selection(self.key, self.parse)
        return value if value in self.options else None

    def text(self, value: Any) -> str:
        return self.none_text if value is None else self.format_func(value)

    def draw(self, container, panel: str | None = None) -> Any:
        return selection_select(
            self.label,
            self.options,
            self.key,
            self.parse,
            self.format_func,
            container=container,
            panel=panel,
            **self.kwargs,
        )


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


def filters(
    specs: Sequence[Filter],
    key: str = "filters_open",
    container=None,
    title: str = "Filters",
    icon: str = ":material/filter_list:",
) -> dict[str, Any]:
    """A page's filters in one panel whose label says what is shown ("Filters · 2026 · All program areas · ..."),
    values by key. The panel's select boxes are drawn only while it is open: a select box is the costliest widget
    for a browser opening the page cold (its code is fetched and compiled first), so a cached link opens on the
    chart or table at once and the filters are one click away. The values live in the URL either way."""
    values = {f.key: f.value() for f in specs}
    with container or st.container():
        box = lazy_expander(f"{title} · " + " · ".join(f.text(values[f.key]) for f in specs), key, icon=icon)
        with box:
            if box.open:
                for f, col in zip(specs, st.columns([f.width for f in specs])):
                    values[f.key] = f.draw(col, key)
    return values


def bound_select(
    label: str,
    options: Sequence[Any],
    key: str,
    default: Any = None,
    format_func: Callable[[Any], str] = str,
    container=st,
    **kwargs,
) -> Any:
    """A selectbox whose value lives in the URL query string (`?key=value`), so a view can be cached as a link."""
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
    is the URL parameter `key`, so a view can be cached as a link. A fragment: opening another tab, or a widget
    inside a view, reruns only the views, not the page's filters and headline numbers above them."""
    tabs = st.tabs(list(views), key=key, on_change="rerun", bind="query-params")
    for (label, draw), tab in zip(views.items(), tabs):
        with tab:
            if tab.open:
                draw()


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


def bring_into_view(key: str, token: Any) -> None:
    """Scroll the container drawn with `st.container(key=key)` into view, once per `token` (a new selection): the
    answer to a click on a tall chart is drawn below it, out of sight. A zero-height component whose script (same
    origin, nothing fetched) scrolls the page; drawn only in the run where the selection changed."""
    if st.session_state.get("_in_view_" + key) == token:
        return
    st.session_state["_in_view_" + key] = token

    import streamlit.components.v1 as components  # only in the run that needs it

    target = json.dumps(f".st-key-{key}")
    components.html(
        "<script>const f = window.frameElement; if (f) { f.tabIndex = -1; f.setAttribute('aria-hidden', "
        "'true'); } setTimeout(() => { const el = window.parent.document.querySelector(" + target + ");"
        " if (el) el.scrollIntoView({behavior: 'smooth', block: 'start'}); }, 150);</script>",
        height=0,
    )  # the frame itself is out of the tab order and hidden from screen readers


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


def selection_select(
    label: str,
    options: Sequence[Any],
    param: str,
    parse: Callable[[Any], Any],
    format_func: Callable[[Any], str] = str,
    none_label: str = "None selected",
    container=st,
    panel: str | None = None,
    **kwargs,
) -> Any:
    """The keyboard alternative to a chart click: a select box showing (and setting) the URL parameter `param`.
    Its first option, None, clears the selection."""
    options = [None, *options]
    current = url_selection(param, parse)
    key = "_pick_" + param
    st.session_state[key] = current if current in options else None

    def changed():
        set_selection({param: st.session_state[key]})
        _keep_open(panel)

    return container.selectbox(
        label,
        options,
        key=key,
        on_change=changed,
        placeholder=none_label,
        format_func=lambda o: none_label if o is None else format_func(o),
        **kwargs,
    )


def on_chart_select(key: str, read: Callable[[Any], dict[str, Any] | None]) -> Callable[[], None]:
    """An `on_select` callback for the chart (or table) keyed `key`: `read(event)` gives the URL values the click
    selects, or None when it picked nothing (the selection is then kept)."""

    def callback():
        values = read(st.session_state.get(key))
        if values:
            set_selection(values, from_chart=True)

    return callback
