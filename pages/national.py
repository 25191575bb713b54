"""National coverage: where the nation is strong, where it has gaps, per program area, and where the network can (and
cannot) meet the needs. Layout and widgets only: the numbers come from shisn.coverage, the figures from
shisn.charts and shisn.maps."""
import streamlit as st

from shisn import auth, charts, coverage, exchanges, maps, ui
from shisn import jurisdictions as J

viewer = ui.guard(auth.LEADERSHIP, auth.PROGRAM_MANAGER)

st.title("National coverage")
st.caption("Where the nation is strong and where it has gaps in each program area, and where the network can, "
           "and cannot, match a state seeking guidance with a state able to mentor it.")

cycles = ui.cycles()
if not cycles:
    st.info("No self-assessments are loaded yet. Load files on the Data page.", icon=":material/info:")
    st.stop()

# --- filters (in the URL query string, so a view can be shared as a link) -------------------------------------
f_cycle, f_area, f_region, f_download = st.columns([1, 2.2, 1.3, 1.2], vertical_alignment="bottom")
cycle = ui.bound_select("Assessment cycle", cycles, "cycle", default=cycles[0], container=f_cycle)
area = ui.bound_select("Program area", coverage.area_options(), "area", default=coverage.ALL_AREAS,
                       format_func=coverage.area_option_label, container=f_area)
region = ui.bound_select("FEMA region", coverage.region_options(), "region", default=coverage.ALL_REGIONS,
                         format_func=coverage.region_option_label, container=f_region)
single_area = area != coverage.ALL_AREAS

data = coverage.redact_notes(ui.assessments(cycle), viewer.sees_detail_of)
ui.download(
    "Download table (CSV)", lambda: coverage.safe_csv(coverage.export_table(data, region, area)),
    ("national coverage", cycle, area, region), container=f_download,
    file_name=f"shisn-coverage-{cycle}-{area}-{'all' if region == coverage.ALL_REGIONS else f'region{region}'}.csv",
    mime="text/csv", icon=":material/download:", width="stretch",
    audit=f"national coverage CSV {cycle} {area} {region}",
    help="The rows behind this view: one per jurisdiction × program area for the selected cycle, area and region. "
         "Notes are included only for states whose detail you may see.")

# --- headline numbers -----------------------------------------------------------------------------------------
prev_cycle = coverage.previous_cycle(cycles, cycle)
now = coverage.kpis(data, region, area)
delta = coverage.kpi_deltas(now, coverage.kpis(ui.assessments(prev_cycle), region, area) if prev_cycle else None)
versus = f"vs {prev_cycle}" if prev_cycle else None
pct = f" · {now['covered_pct']:.0f}%" if now["covered_pct"] is not None else ""
pp = delta["covered_pct"]

k = st.columns(5)
k[0].metric("Reporting", f"{now['reporting']} of {now['jurisdictions']}", delta["reporting"],
            delta_description=versus, border=True,
            help="Jurisdictions with at least one self-assessment row in this view.")
k[1].metric("Mentors offered", now["mentors_offered"], delta["mentors_offered"], delta_description=versus,
            border=True, help=f"State × area rows that offer help; {now['eligible_mentors']} of them can mentor "
                              "(maturity 4 or higher).")
k[2].metric("Needs raised", now["needs"], delta["needs"], delta_description=versus, delta_color="off",
            border=True, help="State × area rows that seek guidance.")
k[3].metric("Needs with a mentor", f"{now['needs_covered']}{pct}", None if pp is None else round(pp),
            delta_description=versus and f"pp {versus}", border=True,
            help="Another state offers help in the same area at maturity 4 or higher and above the seeker's "
                 "level (mentors may come from any region). The change is in percentage points of all needs.")
k[4].metric("Needs with none → TA", now["needs_uncovered"], delta["needs_uncovered"], delta_description=versus,
            delta_color="inverse", border=True,
            help="No other state can mentor these needs: they go to ODP technical assistance.")

ui.national_flags(viewer, cycle)  # data-quality flags of the cycle (issue 14): the count; the list when opened

# --- one view at a time: only the open tab's figures are computed and sent (the tab is in the URL too) ----------
area_name = coverage.area_option_label(area)
region_name = "" if region == coverage.ALL_REGIONS else f" · {coverage.region_option_label(region)}"


def map_view():
    """The map of maturity by jurisdiction, with exchanges as arcs on request."""
    st.subheader(f"Maturity by jurisdiction · {area_name}{region_name}",
                 help=f"Showing {coverage.scope_label(cycle, area, region)}. Maturity is each state's "
                      f"self-assessment (1-5); the mean is over the {len(coverage.MEAN_AREAS)} named program "
                      "areas.")
    map_col, legend_col = st.columns([5, 1], gap="medium")
    with map_col:
        deck = maps.coverage_deck(J.geojson(), coverage.state_values(data, area, region), area_name,
                                  single_area=single_area)
        if st.toggle("Show exchanges as arcs (mentor → mentee, coloured by status)", key="show_exchanges"):
            deck = maps.add_arcs(deck, exchanges.arc_rows(exchanges.arcs(ui.connection(), viewer)))
        st.pydeck_chart(deck, height=maps.MAP_HEIGHT_PX,
                        alt=f"Map of the 56 jurisdictions coloured by maturity ({area_name}, {cycle})")
    with legend_col:
        st.html(maps.legend_html(single_area))
        st.caption("Alaska, Hawaii and the territories are drawn as insets. Hover a jurisdiction for details; "
                   "drag to pan, double-click to zoom." + ("" if single_area else
                                                           " Pick a program area to see one area's ratings."))


def heatmap_view():
    """Strengths and gaps: the jurisdiction × area heatmap."""
    st.subheader(f"Strengths and gaps by jurisdiction · {area_name}{region_name}",
                 help=f"Showing {coverage.scope_label(cycle, area, region)}.")
    sort = ui.bound_select("Order rows by", coverage.SORTS, "sort", format_func=coverage.SORT_LABELS.get)
    st.caption("Hover a cell for the state's flags and notes"
               + (": notes are shown for your assigned states only." if viewer.role == auth.PROGRAM_MANAGER
                  else "."))
    matrix = coverage.maturity_matrix(data, region, sort)
    st.plotly_chart(charts.jurisdiction_heatmap(matrix, J.names(), coverage.cell_details(data, matrix),
                                                coverage.row_groups(matrix, sort), area if single_area else None),
                    config={"displayModeBar": False}, key="heatmap")


def supply_view():
    """Supply and demand per area, and the needs no state can mentor."""
    st.subheader(f"Supply and demand{region_name}")
    st.caption("Eligible mentors against states seeking guidance. Where demand outruns supply, or no state can "
               "mentor a need at all, ODP technical assistance has to fill in.")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.plotly_chart(charts.supply_demand_bars(coverage.supply_demand(data, region),
                                                  area if single_area else None),
                        config={"displayModeBar": False}, key="supply_demand")
    with right:
        st.markdown("**Needs no state can mentor**")
        ta = coverage.uncovered_needs(data, region, area)
        if ta.empty:
            st.success("Every need in this view has at least one eligible mentor.", icon=":material/check_circle:")
        else:
            st.caption(f"{len(ta)} need{'s' if len(ta) != 1 else ''} to refer to ODP technical assistance.")
            st.dataframe(ta, hide_index=True, width="stretch", column_order=["name", "area", "maturity"],
                         column_config={"name": st.column_config.TextColumn("Jurisdiction", width="medium"),
                                        "area": st.column_config.TextColumn("Program area", width="large"),
                                        "maturity": st.column_config.NumberColumn("Maturity", width="small")})


def regions_view():
    """FEMA regions × areas."""
    st.subheader(f"FEMA regions{region_name}")
    st.caption("Median maturity by region and program area; hover for mentors and needs.")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.plotly_chart(charts.region_heatmap(coverage.region_summary(data, region)),
                        config={"displayModeBar": False}, key="regions")
    with right:
        st.dataframe(coverage.region_totals(data, region), hide_index=True, width="stretch")


ui.lazy_tabs({coverage.VIEW_MAP: map_view, coverage.VIEW_HEATMAP: heatmap_view, coverage.VIEW_SUPPLY: supply_view,
              coverage.VIEW_REGIONS: regions_view}, coverage.VIEW_KEY)
