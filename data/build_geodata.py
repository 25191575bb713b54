"""Build the shipped map geometry: `data/us_states.geojson` and `data/borders.csv`.

Source and licence
------------------
US Census Bureau, 2016 cartographic boundary file of states at 1:500,000
(`cb_2016_us_state_500k.shp`), as shipped inside the `plotly-geo` wheel (`import _plotly_geo`,
folder `package_data/`). Works of the US federal government are in the public domain (17 U.S.C. 105),
so the derived files may be redistributed freely. The shapefile is read with `pyshp` and processed with
`shapely`; both are needed only to run this script, never by the app (which reads the two output files).

Outputs
-------
`data/borders.csv`
    Header `a,b` (a < b, USPS codes): one row per pair of jurisdictions sharing a *land* border. It is
    derived from the original, unsimplified and untransformed geometry: b's boundary that lies within
    BORDER_BUFFER_DEG of a must be longer than BORDER_MIN_KM. A single contact point (Four Corners:
    AZ-CO, UT-NM) therefore is not a border, and neither are water boundaries (the cartographic file
    clips states to the shoreline, so Michigan touches neither Illinois nor Minnesota).

`data/us_states.geojson`
    FeatureCollection of the 56 jurisdictions (50 states, DC, PR, VI, GU, MP, AS), feature `id` and
    `properties.code` = USPS code, plus `name`, `inset` and a label point (`label_lon`, `label_lat`,
    shapely `representative_point()` of the largest part of the drawn shape). Laid out for ONE national
    map of the lower 48 drawn in Web Mercator (pydeck without basemap, plotly `Choroplethmap`), so the
    jurisdictions far from the lower 48 are drawn as repositioned insets (`inset: true`):

    - Alaska, scaled to 0.30 (in Mercator space: at 64 N Mercator already inflates it 2.3 times, so this
      draws it about the size of Texas), below California/Arizona; the Aleutians west of the antimeridian
      are shifted by -360 degrees first.
    - Hawaii (the eight main islands; the Northwestern Hawaiian Islands are dropped), 1.2 times (about its
      true size next to the lower 48 at their latitude), below Arizona/New Mexico.
    - Puerto Rico and the U.S. Virgin Islands, one group enlarged 2.5 times, east of southern Florida.
    - Guam, the Northern Mariana Islands (Saipan, Tinian, Aguijan and Rota; the small northern islands
      would stretch the inset over 40 degrees) and American Samoa (Tutuila and the Manu'a islands; Swains
      Island and Rose Atoll are dropped), each enlarged 8 times, in a row in the Pacific west of southern
      California. Rota and the Manu'a islands are moved closer to the main islands than they really are.

    Every inset is scaled around its own centroid in Web Mercator coordinates and then translated, so it
    keeps its shape on a Mercator map. The positions are therefore NOT geographic: use the file for
    drawing, never for distances. After the layout, islands smaller than about one pixel of a 1440-pixel
    national view are dropped (each jurisdiction keeps at least its largest part), edges are simplified as a
    coverage (shared borders stay shared, no slivers) and coordinates are rounded to 4 decimals. The Mercator
    coordinates are snapped to 9 decimals before that (see `snap`), so the output does not depend on the CPU.

Run from the project root (deterministic, re-runnable)::

    python data/build_geodata.py
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import sys
from pathlib import Path

import _plotly_geo
import numpy as np
import shapefile  # pyshp
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.polygon import orient

DATA_DIR = Path(__file__).resolve().parent
GEOJSON_OUT = DATA_DIR / "us_states.geojson"
BORDERS_OUT = DATA_DIR / "borders.csv"
JURISDICTIONS = DATA_DIR / "jurisdictions.csv"
SHAPEFILE = Path(os.path.dirname(_plotly_geo.__file__)) / "package_data" / "cb_2016_us_state_500k.shp"
SOURCE = (
    "US Census Bureau, cartographic boundary file cb_2016_us_state_500k (2016, 1:500,000), "
    "as shipped in the plotly-geo package; public domain (work of the US federal government, "
    "17 U.S.C. 105). Simplified, with AK, HI, PR, VI, GU, MP and AS repositioned as insets: "
    "positions are for drawing only. Built by data/build_geodata.py."
)

# --- land borders (on the original geometry, degrees) ---
BORDER_BUFFER_DEG = 0.002  # ~200 m: tolerance for "the two boundaries run together"
BORDER_MIN_KM = 1.0  # shared boundary must be longer than this (a corner point gives ~0.5 km)

# --- layout / simplification (Web Mercator "degrees": x = lon, y = Mercator northing in degrees) ---
# 1440 px over ~80 degrees of longitude: one pixel is ~0.055 Mercator degrees.
MIN_PART_AREA = 0.0025  # drop islands/holes smaller than ~1 px^2 in the final layout
SIMPLIFY_TOLERANCE = 0.03  # coverage (Visvalingam-Whyatt) tolerance, ~1/2 px
PRECISION = 1e-4  # coordinate grid (4 decimals, ~11 m)
SNAP_DECIMALS = 9  # laid-out Mercator coordinates are rounded to this before simplifying (see snap)
MIN_INSET_GAP_DEG = 0.5  # insets must stay this far from any other jurisdiction

# Inset pieces: (label, codes, keep, scale, target). `keep(lon, lat)` is applied to the centroid of each
# original part (None keeps all); the kept parts of all `codes` are scaled by `scale` around their common
# Mercator centroid, which is then moved to `target` (lon, lat). Parts of an inset jurisdiction that no
# piece keeps are dropped. Two pieces of one jurisdiction (MP, AS) bring its outlying main islands closer.
INSETS = [
    ("Alaska", ("AK",), None, 0.30, (-121.2, 26.0)),
    ("Hawaii (main islands)", ("HI",), lambda lon, lat: lon > -161.0, 1.2, (-109.0, 26.2)),
    ("Puerto Rico and U.S. Virgin Islands", ("PR", "VI"), None, 2.5, (-74.5, 26.0)),
    ("Guam", ("GU",), None, 8.0, (-137.5, 34.0)),
    ("Saipan, Tinian, Aguijan", ("MP",), lambda lon, lat: 14.7 < lat < 15.5, 8.0, (-133.0, 34.8)),
    ("Rota", ("MP",), lambda lon, lat: lat < 14.5, 8.0, (-134.2, 32.6)),
    ("Tutuila", ("AS",), lambda lon, lat: lon < -170.3 and lat < -14.0, 8.0, (-129.0, 34.0)),
    ("Manu'a Islands", ("AS",), lambda lon, lat: -170.0 < lon < -169.2 and lat < -14.0, 8.0, (-126.2, 34.0)),
]

# Facts the derived borders must reproduce (the script fails loudly otherwise).
EXPECTED_BORDERS = [
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
    ("DE", "NJ"),
]
EXPECTED_NOT_BORDERS = [("AZ", "CO"), ("UT", "NM"), ("MI", "IL"), ("MI", "MN"), ("NY", "RI")]
ISLANDS = ["HI", "AK", "PR", "VI", "GU", "AS", "MP"]


def read_jurisdictions() -> list[dict]:
    with open(JURISDICTIONS, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_census() -> dict[str, shapely.Geometry]:
    """USPS code -> MultiPolygon (lon/lat, NAD83) from the Census shapefile, checked against jurisdictions.csv."""
    wanted = {r["code"]: r["fips"] for r in read_jurisdictions()}
    out = {}
    with shapefile.Reader(str(SHAPEFILE)) as reader:
        for sr in reader.iterShapeRecords():
            code = sr.record["STUSPS"]
            if code not in wanted:
                continue
            assert sr.record["STATEFP"] == wanted[code], (code, sr.record["STATEFP"], wanted[code])
            geom = shape(sr.shape.__geo_interface__)
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            out[code] = _as_multipolygon(geom)
    missing = sorted(set(wanted) - set(out))
    assert not missing, f"not in the Census file: {missing}"
    return out


def _as_multipolygon(geom) -> MultiPolygon:
    """The polygonal parts of any geometry (make_valid may return a collection) as one MultiPolygon."""
    polys = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            polys.append(part)
        elif isinstance(part, (MultiPolygon, shapely.GeometryCollection)):
            polys.extend(_as_multipolygon(part).geoms)
    return MultiPolygon([p for p in polys if not p.is_empty])


# ---------------------------------------------------------------------------------------------- borders


def _length_km(lines) -> float:
    """Approximate geodesic length (km) of a (multi)linestring in lon/lat degrees."""
    total = 0.0
    for part in shapely.get_parts(lines):
        if part.geom_type not in ("LineString", "LinearRing"):
            continue
        c = np.asarray(part.coords)
        if len(c) < 2:
            continue
        lat = np.radians((c[1:, 1] + c[:-1, 1]) / 2)
        dx = np.diff(c[:, 0]) * 111.32 * np.cos(lat)
        dy = np.diff(c[:, 1]) * 110.57
        total += float(np.hypot(dx, dy).sum())
    return total


def derive_borders(geoms: dict[str, shapely.Geometry]) -> list[tuple[str, str, float]]:
    """(a, b, shared length km) for every pair whose boundaries run together for more than BORDER_MIN_KM."""
    codes = sorted(geoms)
    buffered = {c: geoms[c].buffer(BORDER_BUFFER_DEG) for c in codes}
    boundary = {c: geoms[c].boundary for c in codes}
    pairs = []
    for a, b in itertools.combinations(codes, 2):
        if not buffered[a].intersects(geoms[b]):
            continue
        shared = min(
            _length_km(boundary[b].intersection(buffered[a])), _length_km(boundary[a].intersection(buffered[b]))
        )
        if shared > BORDER_MIN_KM:
            pairs.append((a, b, shared))
        elif shared > 0:
            print(f"  not a border (contact of {shared:.2f} km): {a}-{b}")
    return pairs


def check_borders(pairs: list[tuple[str, str, float]]) -> None:
    found = {(a, b) for a, b, _ in pairs}
    for a, b in EXPECTED_BORDERS:
        assert tuple(sorted((a, b))) in found, f"expected a land border {a}-{b}"
    for a, b in EXPECTED_NOT_BORDERS:
        assert tuple(sorted((a, b))) not in found, f"{a}-{b} must not be a land border"
    for code in ISLANDS:
        assert not any(code in p for p in found), f"{code} must have no land border"
    assert 105 <= len(found) <= 111, f"unexpected number of border pairs: {len(found)}"


def borders_text(pairs) -> str:
    lines = ["a,b"] + [f"{a},{b}" for a, b, _ in sorted(pairs)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ projection


def _to_merc(xy: np.ndarray) -> np.ndarray:
    lat = np.clip(xy[:, 1], -85.0, 85.0)
    y = np.degrees(np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)))
    return np.column_stack([xy[:, 0], y])


def _from_merc(xy: np.ndarray) -> np.ndarray:
    lat = np.degrees(2 * np.arctan(np.exp(np.radians(xy[:, 1]))) - np.pi / 2)
    return np.column_stack([xy[:, 0], lat])


def merc_y(lat: float) -> float:
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def _shift_antimeridian(xy: np.ndarray) -> np.ndarray:
    """Alaska: the Aleutians west of 180 degrees become longitudes below -180 (continuous with the rest)."""
    out = xy.copy()
    out[out[:, 0] > 0, 0] -= 360.0
    return out


# ---------------------------------------------------------------------------------------------- layout


def layout(geoms: dict[str, shapely.Geometry]) -> tuple[dict[str, MultiPolygon], set[str]]:
    """Everything in Web Mercator degrees, insets scaled around their Mercator centroid and translated."""
    merc = {}
    for code, g in geoms.items():
        if code == "AK":
            g = shapely.transform(g, _shift_antimeridian)
        merc[code] = shapely.transform(g, _to_merc)
    placed: dict[str, list[Polygon]] = {}
    for label, codes, keep, scale, (tlon, tlat) in INSETS:
        group = {}
        for code in codes:
            parts = list(merc[code].geoms)  # same order as the lon/lat parts the filter looks at
            if keep is not None:
                parts = [m for m, src in zip(parts, geoms[code].geoms) if keep(src.centroid.x, src.centroid.y)]
            assert parts, f"{label}: the filter dropped every part of {code}"
            group[code] = MultiPolygon(parts)
        cen = shapely.union_all(list(group.values())).centroid
        dx, dy = tlon - cen.x, merc_y(tlat) - cen.y
        for code, g in group.items():
            g = shapely.affinity.translate(shapely.affinity.scale(g, scale, scale, origin=cen), dx, dy)
            placed.setdefault(code, []).extend(g.geoms)
    for code, parts in placed.items():
        merc[code] = MultiPolygon(parts)
    inset_codes = set(placed)
    return merc, inset_codes


def snap(g):
    """The laid-out Mercator coordinates rounded to SNAP_DECIMALS, so that simplifying does not depend on the CPU.

    numpy computes float64 log/tan/exp/arctan with its own AVX-512 kernels where the CPU has them and with the
    C library elsewhere; the two differ in the last bit or two, and so do the inset centroids derived from them.
    coverage_simplify is sensitive to such 1-ulp differences (it keeps another vertex of a near tie), so the
    unsnapped build gave a slightly different file on another machine. 1e-9 is some 10^4 ulps above that noise
    and far below the smallest vertex spacing (~2.5e-7) and the output grid (PRECISION).
    """
    return shapely.transform(g, lambda xy: np.round(xy, SNAP_DECIMALS))


def drop_small_parts(g: MultiPolygon) -> MultiPolygon:
    """Islands and holes below MIN_PART_AREA go; the largest part always stays."""
    parts = sorted(g.geoms, key=lambda p: p.area, reverse=True)
    kept = [parts[0]] + [p for p in parts[1:] if p.area >= MIN_PART_AREA]
    out = []
    for p in kept:
        holes = [r for r in p.interiors if Polygon(r).area >= MIN_PART_AREA]
        out.append(Polygon(p.exterior, holes))
    return MultiPolygon(out)


def finish(g_merc, code: str) -> shapely.Geometry:
    """Mercator -> lon/lat, snapped to the 4-decimal grid, valid, exterior rings counter-clockwise."""
    g = shapely.transform(g_merc, _from_merc)
    g = shapely.set_precision(g, PRECISION)
    g = _as_multipolygon(g)
    assert not g.is_empty and g.is_valid, code
    polys = [orient(p, sign=1.0) for p in sorted(g.geoms, key=lambda p: (-p.area, p.bounds))]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _coords(ring) -> list[list[float]]:
    return [[round(x, 4), round(y, 4)] for x, y in ring.coords]


def geometry_json(g) -> dict:
    def poly(p):
        return [_coords(p.exterior)] + [_coords(r) for r in p.interiors]

    if isinstance(g, Polygon):
        return {"type": "Polygon", "coordinates": poly(g)}
    return {"type": "MultiPolygon", "coordinates": [poly(p) for p in g.geoms]}


def build_geojson(geoms: dict[str, shapely.Geometry]) -> dict:
    rows = {r["code"]: r for r in read_jurisdictions()}
    merc, insets = layout(geoms)
    codes = sorted(merc)
    merc = {c: drop_small_parts(_as_multipolygon(snap(merc[c]))) for c in codes}
    simplified = shapely.coverage_simplify(np.array([merc[c] for c in codes], dtype=object), SIMPLIFY_TOLERANCE)
    final = {c: finish(s, c) for c, s in zip(codes, simplified)}

    for code in insets:  # no inset may touch (or come close to) another jurisdiction
        for other in codes:
            if other != code:
                d = final[code].distance(final[other])
                assert d >= MIN_INSET_GAP_DEG or (other in insets and {code, other} == {"PR", "VI"}), (
                    f"inset {code} too close to {other} ({d:.2f} deg)"
                )
    assert final["PR"].distance(final["VI"]) > 0.1, "PR and VI insets touch"

    features = []
    for code in codes:
        g = final[code]
        largest = g if isinstance(g, Polygon) else g.geoms[0]
        label = largest.representative_point()
        lon, lat = round(label.x, 4), round(label.y, 4)
        assert g.contains(shapely.Point(lon, lat)), code
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {
                    "code": code,
                    "name": rows[code]["name"],
                    "inset": code in insets,
                    "label_lon": lon,
                    "label_lat": lat,
                },
                "geometry": geometry_json(g),
            }
        )
    bounds = shapely.union_all(list(final.values())).bounds
    return {"type": "FeatureCollection", "source": SOURCE, "bbox": [round(v, 4) for v in bounds], "features": features}


def geojson_text(fc: dict) -> str:
    """One feature per line: compact but diff-friendly."""
    head = {k: v for k, v in fc.items() if k != "features"}
    lines = [json.dumps(f, separators=(",", ":"), ensure_ascii=False) for f in fc["features"]]
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1]
    return text + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


def build() -> tuple[str, str, dict]:
    """(borders.csv text, us_states.geojson text, summary) without writing anything."""
    geoms = read_census()
    assert len(geoms) == 56, len(geoms)
    pairs = derive_borders(geoms)
    check_borders(pairs)
    fc = build_geojson(geoms)
    text = geojson_text(fc)
    assert len(text.encode("utf-8")) < 1_000_000, f"GeoJSON would be {len(text)} bytes"
    summary = {
        "pairs": len(pairs),
        "shortest": sorted(pairs, key=lambda p: p[2])[:3],
        "vertices": sum(len(shapely.get_coordinates(shape(f["geometry"]))) for f in fc["features"]),
        "bbox": fc["bbox"],
    }
    return borders_text(pairs), text, summary


def main() -> int:
    print(f"reading {SHAPEFILE}")
    borders_csv, geojson, summary = build()
    for path, text in ((BORDERS_OUT, borders_csv), (GEOJSON_OUT, geojson)):
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    print(
        f"{summary['pairs']} land-border pairs (lower 48 + DC; shortest: "
        + ", ".join(f"{a}-{b} {km:.1f} km" for a, b, km in summary["shortest"])
        + f") -> {BORDERS_OUT.relative_to(DATA_DIR.parent)}"
    )
    print(
        f"56 features, {summary['vertices']} vertices, {GEOJSON_OUT.stat().st_size / 1024:.0f} KB, "
        f"bbox {summary['bbox']} -> {GEOJSON_OUT.relative_to(DATA_DIR.parent)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
