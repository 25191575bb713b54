"""The shipped map geometry (data/us_states.geojson) and land borders (data/borders.csv).

Both are built by data/build_geodata.py from the Census cartographic boundary file; the geometry checks that
need shapely (a build-time tool, not an app dependency) are skipped when it is not installed.
"""

import csv
import importlib.util
import json

import pytest

from shisn.domain import jurisdictions

DATA = jurisdictions.DATA_DIR
GEOJSON = DATA / "us_states.geojson"
BORDERS = DATA / "borders.csv"
INSETS = {"AK", "HI", "PR", "VI", "GU", "MP", "AS"}


@pytest.fixture(scope="module")
def fc():
    with open(GEOJSON, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def shapes(fc):
    shapely = pytest.importorskip("shapely")
    from shapely.geometry import shape

    return shapely, {f["id"]: shape(f["geometry"]) for f in fc["features"]}


def _rings(geometry):
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for poly in polys:
        yield from poly


def test_fifty_six_features_matching_jurisdictions(fc):
    with open(DATA / "jurisdictions.csv", newline="", encoding="utf-8") as fh:
        rows = {r["code"]: r for r in csv.DictReader(fh)}
    assert fc["type"] == "FeatureCollection"
    feats = fc["features"]
    assert len(feats) == 56
    assert sorted(f["id"] for f in feats) == sorted(rows)
    for f in feats:
        p = f["properties"]
        assert f["type"] == "Feature"
        assert f["id"] == p["code"]
        assert p["name"] == rows[p["code"]]["name"]
        assert p["inset"] is (p["code"] in INSETS)
        assert isinstance(p["label_lon"], float) and isinstance(p["label_lat"], float)
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert jurisdictions.geojson()["features"][0]["properties"]["code"] == feats[0]["id"]


def test_size_source_bbox_and_coordinates(fc):
    assert GEOJSON.stat().st_size < 1_000_000
    assert "Census" in fc["source"] and "public domain" in fc["source"]
    x0, y0, x1, y1 = fc["bbox"]
    assert -180 < x0 < x1 < -60 and 10 < y0 < y1 < 50  # one national view, everything in the western hemisphere
    for f in fc["features"]:
        for ring in _rings(f["geometry"]):
            assert len(ring) >= 4 and ring[0] == ring[-1]
            for lon, lat in ring:
                assert x0 <= lon <= x1 and y0 <= lat <= y1
                assert round(lon, 4) == lon and round(lat, 4) == lat


def test_geometries_valid_non_empty_with_label_inside(fc, shapes):
    shapely, geoms = shapes
    for f in fc["features"]:
        g = geoms[f["id"]]
        assert g.is_valid and not g.is_empty and g.area > 0, f["id"]
        p = f["properties"]
        assert g.contains(shapely.Point(p["label_lon"], p["label_lat"])), f["id"]


def test_insets_visible_and_apart_from_everything(shapes):
    _, geoms = shapes
    deg_per_px = 72 / 1440  # national view: ~72 degrees of longitude over 1440 px
    for code in INSETS:
        x0, y0, x1, y1 = geoms[code].bounds
        assert x1 - x0 > 8 * deg_per_px, code  # at least 8 px wide
        assert -140 < x0 and x1 < -65 and 15 < y0 and y1 < 50, code  # moved next to the lower 48
        for other, g in geoms.items():
            if other != code and {code, other} != {"PR", "VI"}:
                assert geoms[code].distance(g) > 0.5, (code, other)
    assert geoms["PR"].distance(geoms["VI"]) > 0.1
    # Alaska below California/Arizona, Hawaii below Arizona/New Mexico, PR east of Florida.
    assert geoms["AK"].bounds[3] < geoms["CA"].bounds[1] and geoms["AK"].bounds[2] < geoms["NM"].bounds[0]
    assert geoms["HI"].bounds[3] < geoms["AZ"].bounds[1]
    assert geoms["PR"].bounds[0] > geoms["FL"].bounds[2]
    # Guam, Northern Mariana Islands and American Samoa in a row west of California.
    row = sorted(("GU", "MP", "AS"), key=lambda c: geoms[c].centroid.x)
    assert row == ["GU", "MP", "AS"]
    assert all(geoms[c].bounds[2] < geoms["CA"].bounds[0] for c in row)


def test_lower_48_form_a_clean_coverage(shapes):
    shapely, geoms = shapes
    import numpy as np

    lower = [g for c, g in sorted(geoms.items()) if c not in INSETS]
    assert len(lower) == 49
    assert shapely.coverage_is_valid(np.array(lower))


def test_borders_file_shape():
    with open(BORDERS, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["a", "b"]
        rows = [tuple(r) for r in reader]
    assert len(rows) == len(set(rows))
    codes = set(jurisdictions.codes())
    for a, b in rows:
        assert a < b and a in codes and b in codes
    assert 105 <= len(rows) <= 111
    assert jurisdictions.borders() == frozenset(rows)


@pytest.mark.parametrize(
    "a,b",
    [
        ("VA", "MD"),
        ("VA", "DC"),
        ("MD", "DC"),
        ("VA", "WV"),
        ("VA", "NC"),
        ("VA", "KY"),
        ("VA", "TN"),
        ("NY", "NJ"),
        ("NY", "PA"),
        ("NY", "VT"),
        ("MI", "WI"),
        ("MI", "OH"),
        ("MI", "IN"),
        ("WA", "OR"),
        ("WA", "ID"),
        ("ME", "NH"),
    ],
)
def test_land_borders(a, b):
    assert jurisdictions.share_border(a, b) and jurisdictions.share_border(b, a)


@pytest.mark.parametrize("a,b", [("AZ", "CO"), ("UT", "NM"), ("MI", "IL"), ("MI", "MN")])
def test_not_borders(a, b):
    assert not jurisdictions.share_border(a, b)  # Four Corners points; Lake Michigan/Superior water boundaries


def test_islands_have_no_neighbours():
    for code in INSETS:
        assert jurisdictions.neighbours(code) == [], code
    assert jurisdictions.neighbours("VA") == ["DC", "KY", "MD", "NC", "TN", "WV"]
    assert jurisdictions.neighbours("ME") == ["NH"]


def _load_build_script():
    for mod in ("shapely", "shapefile", "_plotly_geo"):
        pytest.importorskip(mod)
    spec = importlib.util.spec_from_file_location("build_geodata", DATA / "build_geodata.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


def test_build_script_is_deterministic():
    build = _load_build_script()
    borders_csv, geojson, _ = build.build()  # builds in memory, writes nothing
    assert borders_csv == BORDERS.read_text(encoding="utf-8")
    assert geojson == GEOJSON.read_text(encoding="utf-8")


def test_build_is_independent_of_the_last_bits_of_the_projection():
    """Another CPU computes the projection's log/tan/exp/arctan with other kernels (numpy's AVX-512 ones where the
    CPU has them), off by an ulp here and there; the built file must still be the committed one."""
    import numpy as np

    build = _load_build_script()

    def off_by_one_ulp(project):
        def nudged(xy):
            out = project(xy).copy()
            y = out[:, 1]
            up = y.view(np.int64) % 3 == 0  # a fixed function of the value, so rings stay closed
            out[:, 1] = np.where(up, np.nextafter(y, np.inf), np.nextafter(y, -np.inf))
            return out

        return nudged

    build._to_merc = off_by_one_ulp(build._to_merc)
    build._from_merc = off_by_one_ulp(build._from_merc)
    geojson = build.geojson_text(build.build_geojson(build.read_census()))
    assert geojson == GEOJSON.read_text(encoding="utf-8")
