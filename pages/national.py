"""National coverage: where the nation is strong, where it has gaps, per program area, and where the network can (and
cannot) meet the needs. Layout and widgets only: the numbers come from shisn.domain.coverage, the figures from
shisn.render.charts and shisn.render.maps."""

import streamlit as st

from shisn.domain import auth, catalog, coverage, jurisdictions, safe_text, selection
from shisn.render import alt_text, charts, exchange_map, maps
from shisn.services import exchanges
from shisn.web import displays, forms, identity, loaders, widgets

viewer = identity.guard(auth.LEADERSHIP, auth.PROGRAM_MANAGER)

st.title("National coverage")
st.caption(
    "Where the nation is strong and where it has gaps in each program area, and where the network can, "
    "and cannot, match a state seeking guidance with a state able to mentor it."
)

cycles = loaders.cycles()
if not cycles:
    st.info("No self-assessments are loaded yet. Load files on the Data page.", icon=":material/info:")
    st.stop()

# --- filters (in the URL query string, so a view can be shared as a link; drawn when the panel is opened) ------
f_panel, f_download = st.columns([5, 1.2])
chosen_filters = widgets.filters(
    [
        widgets.cycle_filter("Assessment cycle"),
        widgets.Filter(
            "Program area",
            coverage.area_options(),
            "area",
            default=coverage.ALL_AREAS,
            format_func=coverage.area_option_label,
            short_func=coverage.area_option_short,
            width=2.2,
        ),
        widgets.Filter(
            "FEMA region",
            coverage.region_options(),
            "region",
            default=coverage.ALL_REGIONS,
            format_func=coverage.region_option_label,
            width=1.3,
        ),
    ],
    container=f_panel,
)
cycle, area, region = chosen_filters["cycle"], chosen_filters["area"], chosen_filters["region"]
single_area = area != coverage.ALL_AREAS
widgets.cycle_notice(cycle)

data = coverage.redact_notes(loaders.assessments(cycle), viewer.sees_detail_of)
displays.download(
    "Download table (CSV)",
    lambda: safe_text.csv_file(coverage.export_table(data, region, area)),
    ("national coverage", cycle, area, region),
    container=f_download,
    file_name=f"shisn-coverage-{cycle}-{area}-{'all' if region == coverage.ALL_REGIONS else f'region{region}'}.csv",
    mime="text/csv",
    icon=":material/download:",
    width="stretch",
    audit=f"national coverage CSV {cycle} {area} {region}",
    help="The rows behind this view: one per jurisdiction × program area for the selected cycle, area and region. "
    "Notes are included only for states whose detail you may see.",
)

# --- headline numbers -----------------------------------------------------------------------------------------
prev_cycle = coverage.previous_cycle(cycles, cycle)
# the headline numbers count rows and needs and read no note: one copy for every viewer
now = loaders.cached(lambda: coverage.kpis(data, region, area), "kpis", cycle, region, area)
delta = coverage.kpi_deltas(
    now,
    loaders.cached(
        lambda: coverage.kpis(loaders.assessments(prev_cycle), region, area), "kpis", prev_cycle, region, area
    )
    if prev_cycle
    else None,
)
versus = f"vs {prev_cycle}" if prev_cycle else None
pct = f" · {now['covered_pct']:.0f}%" if now["covered_pct"] is not None else ""
pp = delta["covered_pct"]

k = st.columns(5)
k[0].metric(
    "Reporting",
    f"{now['reporting']} of {now['jurisdictions']}",
    delta["reporting"],
    delta_description=versus,
    border=True,
    help="Jurisdictions with at least one self-assessment row in this view.",
)
k[1].metric(
    "Mentors offered",
    now["mentors_offered"],
    delta["mentors_offered"],
    delta_description=versus,
    border=True,
    help=f"State × area rows that offer help; {now['eligible_mentors']} of them can mentor (maturity 4 or higher).",
)
k[2].metric(
    "Needs raised",
    now["needs"],
    delta["needs"],
    delta_description=versus,
    delta_color="off",
    border=True,
    help="State × area rows that seek guidance.",
)
k[3].metric(
    "Needs with a mentor",
    f"{now['needs_covered']}{pct}",
    None if pp is None else round(pp),
    delta_description=versus and f"pp {versus}",
    border=True,
    help="Another state offers help in the same area at maturity 4 or higher and above the seeker's "
    "level (mentors may come from any region). The change is in percentage points of all needs.",
)
k[4].metric(
    "Needs with none → TA",
    now["needs_uncovered"],
    delta["needs_uncovered"],
    delta_description=versus,
    delta_color="inverse",
    border=True,
    help="No other state can mentor these needs: they go to ODP technical assistance.",
)

forms.national_flags(viewer, cycle)  # data-quality flags of the cycle: the count; the list when opened

# --- one view at a time: only the open tab's figures are computed and sent (the tab is in the URL too) ----------
area_name = coverage.area_option_label(area)
region_name = "" if region == coverage.ALL_REGIONS else f" · {coverage.region_option_label(region)}"
region_where = "" if region == coverage.ALL_REGIONS else f" in {coverage.region_option_label(region)}"


def map_view():
    """The map of maturity by jurisdiction, with exchanges as arcs on request; a click (or the select box) on a
    jurisdiction opens its panel under the map."""
    st.header(
        f"Maturity by jurisdiction · {area_name}{region_name}",
        help=f"Showing {coverage.scope_label(cycle, area, region)}. Maturity is each state's "
        f"self-assessment (1-5); the mean is over the {len(coverage.MEAN_AREAS)} named program areas.",
    )
    chosen = pick(pick_state())[selection.STATE_PARAM]
    map_col, legend_col = st.columns([5, 1], gap="medium")
    with map_col:
        # the map's values count rows and read no note: one copy for every viewer
        values = loaders.cached(lambda: coverage.state_values(data, area, region), "state values", cycle, area, region)
        deck = maps.coverage_deck(jurisdictions.geojson(), values, area_name, single_area=single_area, selected=chosen)
        # an on/off chip (st.pills, one option), not a toggle: its code is already loaded for the sidebar's buttons
        arcs = "Show exchanges as arcs (mentor → mentee, coloured by status)"
        if st.pills("On the map", [arcs], key="show_exchanges", label_visibility="collapsed") == arcs:
            arc_rows = exchanges.arcs(loaders.connection(), viewer, rows=loaders.exchange_rows(viewer))  # rows in cache
            deck = maps.add_arcs(deck, exchange_map.arc_rows(arc_rows))
        key = widgets.chart_key("national_map")
        st.pydeck_chart(
            deck,
            height=maps.MAP_HEIGHT_PX,
            key=key,
            selection_mode="single-object",
            on_select=widgets.on_chart_select(
                key,
                lambda e: {selection.STATE_PARAM: selection.from_map_event(e)} if selection.from_map_event(e) else None,
            ),
            alt=f"Map of the 56 jurisdictions coloured by maturity ({area_name}, {cycle}); "
            "click one for its ratings, offers and needs. Its summary and data are below it.",
        )
    with legend_col:
        displays.svg_image(maps.legend_svg(single_area), maps.legend_alt(single_area))
        st.caption(
            "Click a jurisdiction (or choose it by name above) for its ratings, offers and needs. Alaska, Hawaii "
            "and the territories are drawn as insets; drag to pan, double-click to zoom."
            + ("" if single_area else " Pick a program area to see one area's ratings.")
        )
    displays.chart_text(
        alt_text.coverage_map(values, area_name, single_area, cycle, region_where, now["needs_uncovered"]),
        lambda: alt_text.coverage_map_table(values, single_area),
        "map_data_open",
        what="map",
    )
    if chosen:
        state_panel(chosen)


def pick_state():
    """The selected jurisdiction (URL `selected_state`): the keyboard alternative to a click."""
    return widgets.SelectionFilter(
        "Jurisdiction",
        jurisdictions.codes(),
        selection.STATE_PARAM,
        selection.parse_state,
        format_func=lambda c: f"{jurisdictions.names()[c]} ({c})",
        none_text="no jurisdiction selected",
        help="Or click a jurisdiction on the map / a cell of the heatmap.",
    )


def pick_area():
    """The selected program area (URL `selected_area`)."""
    return widgets.SelectionFilter(
        "Program area of the selection",
        coverage.matrix_areas(data),
        selection.AREA_PARAM,
        selection.parse_area,
        format_func=catalog.area_short,
        none_text="no program area selected",
        help="Or click a heatmap cell / a supply and demand bar.",
    )


def pick(*choices, title="Select by name"):
    """A view's choices (the keyboard alternative to a click, the heatmap's row order) in one panel, drawn when
    opened; its label says what is chosen."""
    return widgets.filters(choices, key="pick_open", title=title, icon=":material/ads_click:")


def state_panel(code):
    """The selected jurisdiction: its ratings in the chosen area(s), what it can mentor, what it needs."""
    # shown as this viewer may see it (notes): shared by the sessions of the same viewer, so a link opens at once
    p = loaders.cached(
        lambda: selection.state_panel(data, code, area if single_area else None, viewer.sees_detail_of),
        "state panel",
        cycle,
        code,
        area,
        viewer=viewer,
    )
    with st.container(border=True):
        head, link = st.columns([3, 1], vertical_alignment="center")
        head.markdown(f"### {p.name} ({p.state}) · {p.region_label}")
        link.page_link(
            "pages/state_profile.py",
            label="Open its profile",
            icon=":material/arrow_forward:",
            query_params={"state": p.state, "cycle": str(cycle)},
        )
        if not p.reported:
            st.info(f"{p.name} reported no self-assessment in {cycle}.", icon=":material/info:")
            state_library(p)
            return
        if p.ratings.empty:
            st.caption(f"No rating in {area_name} in {cycle}.")
        else:
            st.markdown(
                f"**Ratings · {area_name if single_area else 'every program area'} · {cycle}**"
                + ("" if p.notes_shown else " (notes are shown for states whose detail you may see)")
            )
            displays.text_table(p.ratings)
        left, right = st.columns(2)
        left.markdown(
            "**Offers**  \n"
            + ("Can mentor in: " + ", ".join(p.can_mentor) if p.can_mentor else "Cannot mentor in any area shown.")
            + (
                "  \nOffers below maturity 4 (cannot mentor): " + ", ".join(p.offers_unusable)
                if p.offers_unusable
                else ""
            )
        )
        with right:
            st.markdown("**Needs**" + ("" if len(p.needs) else "  \nSeeks guidance in no area shown."))
            displays.text_table(p.needs)
        state_library(p)


def state_library(p):
    """The selected jurisdiction's published offers and practices (in the chosen area), each a link to its detail."""
    forms.library_links(
        p.state,
        area if single_area else None,
        title=f"{p.name}'s published offers and practices" + (f" in {area_name}" if single_area else ""),
    )


def heatmap_view():
    """Strengths and gaps: the jurisdiction × area heatmap; a click on a cell (or the select boxes) opens that
    state and area: its rating and flags, and its mentors or the states it could mentor."""
    st.header(
        f"Strengths and gaps by jurisdiction · {area_name}{region_name}",
        help=f"Showing {coverage.scope_label(cycle, area, region)}.",
    )
    chosen = pick(
        widgets.Filter("Order rows by", coverage.SORTS, "sort", format_func=coverage.SORT_LABELS.get, width=1.4),
        pick_state(),
        pick_area(),
        title="Rows and selection",
    )
    sort, chosen_area, chosen = chosen["sort"], chosen[selection.AREA_PARAM], chosen[selection.STATE_PARAM]
    st.caption(
        "Click a cell for that state and area: its mentors, or the states it could mentor. ● can mentor "
        "(offers help at 4+) · ○ seeks guidance · ◉ both. Hover a cell for the state's flags and notes"
        + (": notes are shown for your assigned states only." if viewer.role == auth.PROGRAM_MANAGER else ".")
    )

    def heatmap():
        matrix = coverage.maturity_matrix(data, region, sort)
        return charts.jurisdiction_heatmap(
            matrix,
            jurisdictions.names(),
            coverage.cell_details(data, matrix),
            coverage.row_groups(matrix, sort),
            area if single_area else None,
            selected=(chosen, chosen_area),
        )

    key = widgets.chart_key("heatmap")
    # hover text holds notes where the viewer may see them: shared by the sessions of the same viewer
    st.plotly_chart(
        loaders.cached(heatmap, "heatmap", cycle, region, sort, area, chosen, chosen_area, viewer=viewer),
        config={"displayModeBar": False},
        key=key,
        selection_mode="points",
        on_select=widgets.on_chart_select(key, heatmap_click),
        alt=f"Heatmap of maturity by jurisdiction and program area, {cycle}; its summary and data are below it.",
    )

    def text():  # the cells' flags, not notes: one copy for every viewer
        matrix = coverage.maturity_matrix(data, region, sort)
        details = coverage.cell_details(data, matrix)
        return alt_text.heatmap(matrix, details, region_where), alt_text.heatmap_table(
            matrix, jurisdictions.names(), details
        )

    summary, table = loaders.cached(text, "heatmap text", cycle, region, sort)
    displays.chart_text(summary, lambda: table, "heatmap_data_open")
    if chosen and chosen_area:
        cell_panel(chosen, chosen_area)
        widgets.bring_into_view("cell_panel", (chosen, chosen_area))  # the answer is below a tall chart: show it
    elif chosen:
        state_panel(chosen)


def heatmap_click(event):
    cell = selection.from_heatmap_event(event)
    return None if cell is None else {selection.STATE_PARAM: cell[0], selection.AREA_PARAM: cell[1]}


def cell_panel(code, slug):
    """One state × area: rating, flags, and the eligible mentors (or the states it could mentor)."""
    p = loaders.cell_panel(code, slug, cycle, viewer)
    with st.container(border=True, key="cell_panel"):
        head, link = st.columns([3, 1], vertical_alignment="center")
        head.markdown(f"### {p.name} ({p.state}) · {safe_text.markdown(p.area_name)}")
        link.page_link(
            "pages/state_profile.py",
            label="Open its profile",
            icon=":material/arrow_forward:",
            query_params={"state": p.state, "cycle": str(cycle)},
        )
        if not p.reported:
            st.info(
                f"{p.name} reported no rating in {safe_text.markdown(p.area_name)} in {cycle}.", icon=":material/info:"
            )
        else:
            what = {
                "seeks": "seeks guidance",
                "offers": "offers help and can mentor",
                "both": "seeks guidance and can mentor",
                "neither": "neither seeks guidance nor can mentor",
            }
            st.markdown(
                f"Maturity **{p.maturity} · {catalog.level_name(p.maturity)}** in {cycle}; "
                f"{what[p.role]} here"
                + (
                    f" (offers help, but below {catalog.MENTOR_MIN}: cannot mentor)"
                    if p.offers and not p.eligible
                    else ""
                )
                + "."
            )
            if p.note:
                st.caption("Notes")
                st.text(p.note)
        if p.flags is None:
            st.caption("Data-quality flags: not available in this installation.")
        elif len(p.flags):
            st.markdown(f"**Data-quality flags ({len(p.flags)})**")
            displays.text_table(p.flags)
        if p.reported and p.wants_mentor:
            st.markdown(
                f"**Eligible mentors for this need ({len(p.mentors)})**, best pairing score first"
                + ("" if p.seeks else " (a gap the state has not flagged as a need)")
            )
            if len(p.mentors):
                displays.text_table(selection.partner_table(p.mentors))
                exchange_action(p, p.mentors, mentee=p.state)
            else:
                st.caption("No state can mentor this need: it goes to ODP technical assistance.")
        if p.reported and p.eligible:
            st.markdown(f"**States it could mentor here ({len(p.mentees)})**, best pairing score first")
            if len(p.mentees):
                displays.text_table(selection.partner_table(p.mentees))
                exchange_action(p, p.mentees, mentor=p.state)
            else:
                st.caption("No state seeking guidance here is rated below it.")
        forms.library_links(p.state, p.area, title=f"{p.name}'s published offers and practices in {p.area_name}")
        if p.reported and p.wants_mentor and len(p.mentors):
            forms.library_links(
                None,
                p.area,
                states=p.mentors["partner"],
                title=f"Published offers and practices of its eligible mentors in {p.area_name}",
            )


def exchange_action(p, partners, mentee=None, mentor=None):
    """ "Open an exchange" with one of the listed partners, for those who may (PMs of either state, leadership)."""
    codes = list(partners["partner"])
    allowed = [c for c in codes if selection.may_open_exchange(viewer, mentor or c, mentee or c)]
    if not allowed:
        if viewer.role == auth.PROGRAM_MANAGER:
            st.caption("You can open exchanges only for pairs with one of your states.")
        return
    # drawn when opened: the partner's select box is costly code for a browser opening a shared link cold
    box = widgets.lazy_expander(
        "Open an exchange with one of them" if mentee else "Open an exchange to mentor one of them",
        "exchange_action_open",
        icon=":material/forum:",
    )
    with box:
        if box.open:
            open_exchange_form(p, allowed, mentee, mentor)


def open_exchange_form(p, allowed, mentee, mentor):
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    other = left.selectbox(
        "Open an exchange with" if mentee else "Open an exchange to mentor",
        allowed,
        format_func=lambda c: f"{jurisdictions.names()[c]} ({c})",
        key=f"ex_partner_{p.state}_{p.area}",
    )
    if right.button("Open an exchange", type="primary", icon=":material/forum:", key=f"ex_open_{p.state}_{p.area}"):
        try:
            ex_id = exchanges.open_exchange(
                loaders.connection(), mentor or other, mentee or other, [p.area], cycle, viewer.name
            )
        except exchanges.ExchangeError as e:
            st.warning(safe_text.markdown(str(e)))
        else:
            st.success(
                f"Exchange {ex_id} opened (status: proposed): {mentor or other} → {mentee or other}, "
                f"{safe_text.markdown(p.area_name)}."
            )
            st.page_link(
                "pages/exchanges.py",
                label="Go to Exchanges",
                icon=":material/arrow_forward:",
                query_params={"exchange": str(ex_id)},
            )


TA_SHOWN = 10  # needs listed beside the supply and demand chart (about its height); the rest on request


def supply_view():
    """Supply and demand per area, and the needs no state can mentor; a click on an area's bars (or the select
    box) lists the mentors and the seekers behind them."""
    st.header(f"Supply and demand{region_name}")
    st.caption(
        "Eligible mentors against states seeking guidance. Where demand outruns supply, or no state can "
        "mentor a need at all, ODP technical assistance has to fill in. Click an area's bars for the states "
        "behind them."
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        chosen_area = pick(pick_area())[selection.AREA_PARAM]
        sd = loaders.cached(lambda: coverage.supply_demand(data, region), "supply and demand", cycle, region)
        key = widgets.chart_key("supply_demand")
        labels = dict(zip(sd["label"], sd["program_area"]))
        bars = loaders.cached(
            lambda: charts.supply_demand_bars(sd, area if single_area else None, selected=chosen_area),
            "supply and demand bars",
            cycle,
            region,
            area,
            chosen_area,
        )
        st.plotly_chart(
            bars,
            config={"displayModeBar": False},
            key=key,
            selection_mode="points",
            on_select=widgets.on_chart_select(
                key,
                lambda e: (
                    {selection.AREA_PARAM: selection.from_bars_event(e, labels)}
                    if selection.from_bars_event(e, labels)
                    else None
                ),
            ),
            alt=f"Bar chart of eligible mentors and states seeking guidance per program area, {cycle}; "
            "its summary and data are below it.",
        )
        displays.chart_text(
            alt_text.supply_demand(sd, region_where), lambda: alt_text.supply_demand_table(sd), "supply_data_open"
        )
    with right:
        if chosen_area:
            area_panel(chosen_area)
            return
        st.markdown("**Needs no state can mentor**")
        ta = coverage.uncovered_needs(data, region, area)
        if ta.empty:
            st.success("Every need in this view has at least one eligible mentor.", icon=":material/check_circle:")
        else:
            st.caption(f"{len(ta)} need{'s' if len(ta) != 1 else ''} to refer to ODP technical assistance.")
            # a static table (as the panels): a second interactive grid beside the chart would cost its own
            # browser code on every cold open of this view. Not a scrolling box (a keyboard cannot scroll a box
            # that holds nothing focusable): the first rows, and the rest in a panel drawn when opened
            table = ta[["name", "area", "maturity"]].rename(
                columns={"name": "Jurisdiction", "area": "Program area", "maturity": "Maturity"}
            )
            displays.text_table(table.head(TA_SHOWN))
            if len(table) > TA_SHOWN:
                box = widgets.lazy_expander(
                    f"The other {len(table) - TA_SHOWN} needs no state can mentor",
                    "ta_more_open",
                    icon=":material/list:",
                )
                with box:
                    if box.open:
                        displays.text_table(table.iloc[TA_SHOWN:])


def area_panel(slug):
    """The mentors and the seekers behind one area's bars."""
    p = loaders.cached(
        lambda: selection.area_panel(data, slug, region), "area panel", cycle, slug, region, viewer=viewer
    )
    with st.container(border=True):
        st.markdown(f"### {safe_text.markdown(p.area_name)}{region_name}")
        st.markdown(f"**Eligible mentors ({len(p.mentors)})**, strongest first")
        if len(p.mentors):
            displays.text_table(p.mentors)
        else:
            st.caption("No state can mentor in this area here.")
        st.markdown(f"**States seeking guidance ({len(p.seekers)})**, with their eligible mentors (from anywhere)")
        if len(p.seekers):
            displays.text_table(p.seekers)
        else:
            st.caption("No state seeks guidance in this area here.")
        forms.library_links(
            None,
            slug,
            region=None if region == coverage.ALL_REGIONS else region,
            title=f"Published offers and practices in {p.area_name}{region_name}",
        )


def regions_view():
    """FEMA regions × areas."""
    st.header(f"FEMA regions{region_name}")
    st.caption("Median maturity by region and program area; hover for mentors and needs.")
    left, right = st.columns([3, 2], gap="large")
    with left:
        summary = loaders.cached(lambda: coverage.region_summary(data, region), "region summary", cycle, region)
        st.plotly_chart(
            loaders.cached(lambda: charts.region_heatmap(summary), "regions heatmap", cycle, region),
            config={"displayModeBar": False},
            key="regions",
            alt=f"Heatmap of median maturity by FEMA region and program area, {cycle}; its summary and "
            "data are below it.",
        )
    with right:
        displays.text_table(coverage.region_totals(data, region))  # ten rows at most: a static table, as above
    displays.chart_text(alt_text.regions(summary), lambda: alt_text.regions_table(summary), "regions_data_open")


widgets.lazy_tabs(
    {
        coverage.VIEW_MAP: map_view,
        coverage.VIEW_HEATMAP: heatmap_view,
        coverage.VIEW_SUPPLY: supply_view,
        coverage.VIEW_REGIONS: regions_view,
    },
    coverage.VIEW_KEY,
)
