"""The floor for page-ready times: a bare Streamlit app served by the same server build, started the same way as
app.py. Two bare pages under st.navigation (a title and a line of text each), so that clicking between them in
the sidebar measures exactly what the real pages' sidebar clicks measure, minus shisn's work.

Three more pages hold ONE of the heavy elements the real pages draw, with the same data and settings and nothing
else: the national map (shisn.render.maps.coverage_deck of the shipped geometry), the jurisdiction heatmap
(shisn.render.charts.jurisdiction_heatmap) and one table. They are not the floor; they show what the chart libraries alone
cost in this browser, so a page's time can be read as floor + its elements + shisn's own work."""

import sys
from pathlib import Path

import streamlit as st
from _util import demo_rows
from floor_app_titles import ELEMENT_TITLES, FLOOR_TITLES  # noqa: F401 (the titles below)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@st.cache_resource
def _demo():
    """The demo data set (generated in memory: no store), as the app's queries return it for one cycle."""
    return demo_rows()[0]


def floor_a():
    st.title("Floor A")
    st.write("A bare page: the time Streamlit itself needs to serve a page.")


def floor_b():
    st.title("Floor B")
    st.write("Another bare page.")


def element_map():
    from shisn.domain import coverage, jurisdictions
    from shisn.render import maps

    st.title("Element: map")
    data = _demo()
    st.pydeck_chart(
        maps.coverage_deck(
            jurisdictions.geojson(),
            coverage.state_values(data, coverage.ALL_AREAS, coverage.ALL_REGIONS),
            "All areas (mean)",
        ),
        height=maps.MAP_HEIGHT_PX,
    )


def element_heatmap():
    from shisn.domain import coverage, jurisdictions
    from shisn.render import charts

    st.title("Element: heatmap")
    data = _demo()
    matrix = coverage.maturity_matrix(data, coverage.ALL_REGIONS, "total")
    st.plotly_chart(
        charts.jurisdiction_heatmap(
            matrix,
            jurisdictions.names(),
            coverage.cell_details(data, matrix),
            coverage.row_groups(matrix, "total"),
            None,
        ),
        config={"displayModeBar": False},
    )


def element_table():
    from shisn.domain import coverage

    st.title("Element: table")
    st.dataframe(
        coverage.export_table(_demo(), coverage.ALL_REGIONS, coverage.ALL_AREAS).head(56),
        hide_index=True,
        width="stretch",
    )


st.set_page_config(page_title="floor", layout="wide")
st.navigation(
    [
        st.Page(floor_a, title="Floor A", url_path="a", default=True),
        st.Page(floor_b, title="Floor B", url_path="b"),
        st.Page(element_map, title="Element: map", url_path="map"),
        st.Page(element_heatmap, title="Element: heatmap", url_path="heatmap"),
        st.Page(element_table, title="Element: table", url_path="table"),
    ]
).run()
