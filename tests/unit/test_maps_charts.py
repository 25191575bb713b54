"""The map and chart builders draw the data they are given: the right colours per jurisdiction, the heatmap's z
matrix equal to the input, notes escaped in hovers, and a map that never asks the network for a basemap."""

import json

import numpy as np
import pandas as pd
import pytest

from shisn.domain import catalog, coverage, jurisdictions
from shisn.render import charts, maps
from shisn.web import displays


def frame(rows):
    """A DataFrame in the shape `queries.assessments` returns, from (state, area, maturity, offers, seeks, notes)."""
    df = pd.DataFrame(rows, columns=["state", "program_area", "maturity", "offers_help", "seeks_help", "notes"])
    jur = jurisdictions.jurisdictions().set_index("code")
    df["cycle"] = 2025
    df["other_area"] = np.where(df["program_area"] == "other", "Cybersecurity", None)
    df["maturity"] = df["maturity"].astype("Int64")
    df["name"] = df["state"].map(jur["name"])
    df["fema_region"] = df["state"].map(jur["fema_region"]).astype(int)
    df["region_label"] = df["fema_region"].map(jurisdictions.region_label)
    df["eligible_mentor"] = (df["offers_help"] & (df["maturity"] >= catalog.MENTOR_MIN)).astype("boolean")
    return df


ROWS = [
    ("VA", "exercises", 5, True, False, "Hosts <b>drills</b> & shares plans"),
    ("VA", "recovery", 2, False, True, ""),
    ("MD", "exercises", 2, False, True, "Needs help"),
    ("MD", "recovery", 4, True, False, ""),
    ("NY", "exercises", 3, True, False, ""),
    ("AK", "exercises", 1, False, True, ""),
    ("GU", "exercises", 4, True, False, ""),
    ("VA", "other", 4, True, False, ""),
]


@pytest.fixture(scope="module")
def geo():
    return jurisdictions.geojson()


@pytest.fixture
def df():
    return frame(ROWS)


def deck_json(deck):
    return json.loads(deck.to_json())


def layer(j, layer_id):
    return next(la for la in j["layers"] if la["id"] == layer_id)


# --- colours --------------------------------------------------------------------------------------------------


def test_maturity_colours_are_the_diverging_scale_centred_on_3():
    assert maps.maturity_rgb(1) == maps.hex_rgb("#d7191c")
    assert maps.maturity_rgb(3) == maps.hex_rgb("#ffffbf")
    assert maps.maturity_rgb(5) == maps.hex_rgb("#2c7bb6")
    a, b = maps.hex_rgb("#ffffbf"), maps.hex_rgb("#abd9e9")
    assert maps.maturity_rgb(3.5) == [round((x + y) / 2) for x, y in zip(a, b)]
    assert maps.maturity_rgb(float("nan")) is None and maps.maturity_rgb(None) is None
    assert maps.maturity_rgb(9) == maps.maturity_rgb(5)
    assert charts.MATURITY_COLORSCALE[0][1] == "#d7191c" and charts.MATURITY_COLORSCALE[2] == [0.5, "#ffffbf"]


# --- map ------------------------------------------------------------------------------------------------------


def test_map_has_56_jurisdictions_coloured_by_mean_maturity(geo, df):
    values = coverage.state_values(df)
    j = deck_json(maps.coverage_deck(geo, values))
    feats = layer(j, "jurisdictions")["data"]["features"]
    assert len(feats) == 56 and {f["id"] for f in feats} == set(jurisdictions.codes())
    fill = {f["id"]: f["properties"]["fill"] for f in feats}
    assert fill["VA"] == maps.maturity_rgb(3.5) + [255]  # exercises 5, recovery 2 ("other" not in the mean)
    assert fill["MD"] == maps.maturity_rgb(3.0) + [255]
    assert fill["AK"] == maps.maturity_rgb(1) + [255]
    assert fill["TX"] == maps.hex_rgb(charts.NO_DATA_HEX) + [255]  # nothing reported: grey
    assert sum(f == maps.hex_rgb(charts.NO_DATA_HEX) + [255] for f in fill.values()) == 56 - 5


def test_map_in_one_area_marks_mentors_and_seekers(geo, df):
    values = coverage.state_values(df, area="exercises")
    j = deck_json(maps.coverage_deck(geo, values, "Exercise programs", single_area=True))
    fill = {f["id"]: f["properties"]["fill"] for f in layer(j, "jurisdictions")["data"]["features"]}
    assert fill["VA"] == maps.maturity_rgb(5) + [255] and fill["NY"] == maps.maturity_rgb(3) + [255]
    assert {m["code"] for m in layer(j, "mentors")["data"]} == {"VA", "GU"}  # NY offers at 3: not a mentor
    assert {m["code"] for m in layer(j, "seekers")["data"]} == {"MD", "AK"}
    assert {lab["code"] for lab in layer(j, "labels")["data"]} == set(jurisdictions.codes())
    tips = {f["id"]: f["properties"]["tip"] for f in layer(j, "jurisdictions")["data"]["features"]}
    assert tips["VA"].splitlines() == [
        "Virginia (VA) · Region III",
        "Exercise programs: maturity 5 · Nationally leading",
        "offers help · eligible mentor",
    ]
    assert "cannot mentor" in tips["NY"] and "seeks guidance" in tips["MD"]
    assert "No exercise programs reported" in tips["TX"]


def test_map_region_filter_pales_the_rest_and_zooms_in(geo, df):
    national = deck_json(maps.coverage_deck(geo, coverage.state_values(df)))
    j = deck_json(maps.coverage_deck(geo, coverage.state_values(df, region=3)))
    fill = {f["id"]: f["properties"]["fill"] for f in layer(j, "jurisdictions")["data"]["features"]}
    assert fill["NY"] == maps.hex_rgb(maps.OUT_OF_SCOPE_HEX) + [255]
    assert fill["DE"] == maps.hex_rgb(charts.NO_DATA_HEX) + [255]  # in Region III, nothing reported
    assert fill["VA"] == maps.maturity_rgb(3.5) + [255]
    assert j["initialViewState"]["zoom"] > national["initialViewState"]["zoom"]
    assert {m["code"] for m in layer(j, "seekers")["data"]} <= {"VA", "MD", "PA", "DE", "DC", "WV"}


def test_map_never_uses_a_basemap_or_the_network(geo, df):
    deck = maps.coverage_deck(geo, coverage.state_values(df))
    text = deck.to_json()
    j = json.loads(text)
    assert j["mapStyle"] == "__MAP_STYLE__"  # Streamlit's "no basemap" sentinel (map_provider=None)
    assert deck.map_provider is None and "mapProvider" not in j
    assert "http" not in text and "mapbox" not in text.lower() and "carto" not in text.lower()
    assert j["views"][0]["@@type"] == "MapView" and j["views"][0]["controller"]["scrollZoom"] is False
    for la in j["layers"]:
        assert la["@@type"] in {"GeoJsonLayer", "LineLayer", "ScatterplotLayer", "TextLayer"}
        for k, v in la.items():  # unit props must be literals, not accessor expressions
            if k.endswith("Units"):
                assert v == "pixels", (la["id"], k, v)


def test_initial_view_fits_every_jurisdiction_including_the_insets(geo):
    w, s, e, n = maps.bounds(geo)
    assert w < -130 and e > -68 and s < 25 and n > 48  # the Pacific insets, Maine, Hawaii/Puerto Rico
    view = maps.fit_view((w, s, e, n), 820, 500)
    scale = maps.TILE_PX * 2**view.zoom / (2 * np.pi)  # px per radian
    cx, cy = np.radians(view.longitude), maps._merc_y(view.latitude)
    for lon, lat in [(w, s), (w, n), (e, s), (e, n)]:
        x = (np.radians(lon) - cx) * scale
        y = (maps._merc_y(lat) - cy) * scale
        assert abs(x) <= 410 and abs(y) <= 250


def test_legend_names_every_level_and_no_data_in_its_image_and_its_alt_text():
    import base64
    import xml.etree.ElementTree as ET

    for single in (True, False):
        svg, alt = maps.legend_svg(single_area=single), maps.legend_alt(single_area=single)
        root = ET.fromstring(svg)  # well-formed: the browser draws it as an image
        text = " ".join(t.text for t in root.iter() if t.tag.endswith("text"))  # long labels take two lines
        assert int(root.get("width")) == maps.LEGEND_WIDTH_PX  # drawn 1:1 in its column, not shrunk
        for i in range(1, 6):
            assert f"{i} · {catalog.level_name(i)}" in text and f"{i} {catalog.level_name(i)}" in alt
        assert "Not reported" in text and "Seeks guidance" in text and "Eligible mentor (offers help, 4+)" in text
        assert ("larger = more areas" in text) is (not single) and ("larger markers" in alt) is (not single)
        md = displays.svg_markdown(svg, alt)  # Markdown image: alt text, then the SVG itself as a data URI
        assert md.startswith(f"![{alt}](data:image/svg+xml;base64,")
        assert base64.b64decode(md.split("base64,", 1)[1].rstrip(")")).decode() == svg
    assert displays.svg_markdown("<svg/>", "a [b] c").startswith("![a (b) c](")  # brackets cannot end the alt text


def test_area_legend_wraps_the_areas_into_lines_within_its_width():
    import xml.etree.ElementTree as ET

    colours = {a: "#123456" for a in catalog.AREA_SLUGS}
    svg = ET.fromstring(maps.area_legend_svg(list(catalog.AREA_SLUGS), colours, width=400))
    texts = [t for t in svg.iter() if t.tag.endswith("text")]
    assert [t.text for t in texts] == [catalog.area_short(a) for a in catalog.AREA_SLUGS]
    assert len({t.get("y") for t in texts}) > 1 and max(float(t.get("x")) for t in texts) < 400


# --- heatmaps -------------------------------------------------------------------------------------------------


def test_heatmap_z_matrix_is_the_input_and_missing_cells_are_grey(df):
    m = coverage.maturity_matrix(df)
    fig = charts.jurisdiction_heatmap(
        m, jurisdictions.names(), coverage.cell_details(coverage.redact_notes(df, lambda s: True), m)
    )
    grey, mat = fig.data[:2]
    z = np.array(mat.z, dtype=float)
    assert z.shape == (56, 9)
    np.testing.assert_array_equal(z, m.to_numpy(dtype=float))
    assert (np.array(grey.z, dtype=float) == 0).sum() == np.isnan(z).sum()  # grey exactly where nothing reported
    assert list(mat.y[:3]) == ["Guam (GU)", "Virginia (VA)", "Maryland (MD)"]  # 4, 3.5, 3
    assert list(mat.x) == [catalog.area_short(a) for a in m.columns]
    assert (mat.zmin, mat.zmax) == (1, 5)
    assert fig.layout.height >= 56 * charts.ROW_PX  # readable: at least 18 px per row


def test_heatmap_hover_shows_escaped_notes_only_where_visible(df):
    m = coverage.maturity_matrix(df)
    seen = coverage.redact_notes(df, lambda s: s == "VA")
    fig = charts.jurisdiction_heatmap(m, jurisdictions.names(), coverage.cell_details(seen, m))
    cells = next(t for t in fig.data if t.name == "cells")  # hover rides on the clickable cell points
    hover = pd.DataFrame(np.array(cells.hovertext).reshape(m.shape), index=m.index, columns=m.columns)
    va = hover.loc["VA", "exercises"]
    assert "Hosts &lt;b&gt;drills&lt;/b&gt; &amp; shares plans" in va and "<b>drills" not in va
    assert "offers help (eligible mentor)" in va and "Maturity 5 · Nationally leading" in va
    md = hover.loc["MD", "exercises"]
    assert "Needs help" not in md and "program manager" in md and "seeks guidance" in md
    assert "Not reported" in hover.loc["TX", "exercises"]
    assert "Area: Cybersecurity" in hover.loc["VA", "other"]


def test_heatmap_highlights_the_selected_area_and_draws_region_groups(df):
    m = coverage.maturity_matrix(df, sort="region")
    fig = charts.jurisdiction_heatmap(
        m, jurisdictions.names(), None, coverage.row_groups(m, "region"), highlight="exercises"
    )
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 1 and rects[0].x0 == list(m.columns).index("exercises") - 0.5
    labels = {a.text for a in fig.layout.annotations}
    assert {"Region II", "Region III", "Region IX", "Region X", "Not reported"} <= labels


def test_region_heatmap_shows_medians(df):
    summary = coverage.region_summary(df)
    fig = charts.region_heatmap(summary)
    z = np.array(fig.data[1].z, dtype=float)
    assert z.shape == (10, 9) and list(fig.data[1].y) == [jurisdictions.region_label(r) for r in range(1, 11)]
    expected = summary.pivot(index="fema_region", columns="program_area", values="median")[
        list(dict.fromkeys(summary["program_area"]))
    ].to_numpy(dtype=float)
    np.testing.assert_array_equal(z, expected)
    row3 = list(fig.data[1].y).index("Region III")
    assert fig.data[1].text[row3][list(fig.data[1].x).index("Exercises")] == "3.5"  # median of VA 5 and MD 2
    assert "Needs: 1" in fig.data[1].hovertext[row3][list(fig.data[1].x).index("Exercises")]


def test_supply_demand_bars_match_the_table(df):
    sd = coverage.supply_demand(df)
    fig = charts.supply_demand_bars(sd, highlight="exercises")
    assert [t.name for t in fig.data] == [
        "Eligible mentors",
        "States seeking guidance",
        "Needs no state can mentor (→ TA)",
    ]
    assert list(fig.data[0].x) == list(sd["eligible"]) and list(fig.data[1].x) == list(sd["seekers"])
    assert list(fig.data[2].x) == list(sd["uncovered"]) and list(fig.data[0].y) == list(sd["label"])
    assert [t.marker.color for t in fig.data] == [charts.SUPPLY_HEX, charts.DEMAND_HEX, charts.UNMET_HEX]
    assert len(fig.layout.shapes) == 1
