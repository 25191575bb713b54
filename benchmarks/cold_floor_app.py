"""Floors for benchmarks/bench_cold_open.py: a bare Streamlit page per kind of heavy element the app's views draw,
each holding ONLY that element, built by shisn's own code from the demo data (as the app draws it): the national
map, the jurisdiction heatmap, the supply-and-demand bars, the FEMA-region heatmap, the pairs' arc map, a state
profile chart and one table. Served the same way as app.py, opened cold by URL (/map, /heatmap, ...)."""

import sys
from pathlib import Path

import streamlit as st
from _util import demo_rows

from shisn.render import profile_charts

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@st.cache_resource
def _demo():
    return demo_rows()


def element_map():
    from shisn.domain import coverage, jurisdictions
    from shisn.render import maps

    st.title("Element: map")
    st.pydeck_chart(
        maps.coverage_deck(jurisdictions.geojson(), coverage.state_values(_demo()[0])), height=maps.MAP_HEIGHT_PX
    )


def element_heatmap():
    from shisn.domain import coverage, jurisdictions
    from shisn.render import charts

    st.title("Element: heatmap")
    data = coverage.redact_notes(_demo()[0], lambda s: True)
    m = coverage.maturity_matrix(data)
    st.plotly_chart(
        charts.jurisdiction_heatmap(m, jurisdictions.names(), coverage.cell_details(data, m)),
        config={"displayModeBar": False},
    )


def element_bars():
    from shisn.domain import coverage
    from shisn.render import charts

    st.title("Element: bars")
    st.plotly_chart(charts.supply_demand_bars(coverage.supply_demand(_demo()[0])), config={"displayModeBar": False})


def element_regions():
    from shisn.domain import coverage
    from shisn.render import charts

    st.title("Element: regions")
    st.plotly_chart(charts.region_heatmap(coverage.region_summary(_demo()[0])), config={"displayModeBar": False})


def element_arcs():
    from shisn.domain import pairing, pairing_tables
    from shisn.render import maps

    st.title("Element: arcs")
    st.pydeck_chart(
        maps.arc_deck(
            pairing_tables.arcs(pairing.suggest(_demo()[0], with_candidates=False).pairs),
            width=940,
            height=500,
            pitch=0,
        ),
        height=500,
    )


def element_chart():
    from shisn.domain import auth, profile

    st.title("Element: chart")
    rows, every, cycle = _demo()
    p = profile.build(every, "VA", cycle, auth.Viewer(auth.LEADERSHIP, "bench"))
    st.plotly_chart(profile_charts.maturity_figure(p), config={"displayModeBar": False})


def element_table():
    from shisn.domain import coverage

    st.title("Element: table")
    st.dataframe(coverage.export_table(_demo()[0]).head(56), hide_index=True, width="stretch")


st.set_page_config(page_title="floor", layout="wide")
st.navigation(
    [
        st.Page(element_map, title="Element: map", url_path="map", default=True),
        st.Page(element_heatmap, title="Element: heatmap", url_path="heatmap"),
        st.Page(element_bars, title="Element: bars", url_path="bars"),
        st.Page(element_regions, title="Element: regions", url_path="regions"),
        st.Page(element_arcs, title="Element: arcs", url_path="arcs"),
        st.Page(element_chart, title="Element: chart", url_path="chart"),
        st.Page(element_table, title="Element: table", url_path="table"),
    ]
).run()
