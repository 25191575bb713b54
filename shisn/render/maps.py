"""pydeck decks for the national map. No data access: DataFrames and the shipped GeoJSON in, `pdk.Deck` out.

The map works with no internet: the shapes are `data/us_states.geojson` (Alaska, Hawaii and the territories placed
as insets), drawn by deck.gl with no basemap (`map_provider=None`, which Streamlit serialises as its "no map style"
sentinel, so no tile or style is ever fetched). Labels are drawn by deck.gl from the browser's own fonts.
"""

from __future__ import annotations

import html
import json
import math
import re
import secrets
import threading
from collections.abc import Mapping

import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from shisn.domain import catalog, jurisdictions

# ColorBrewer RdYlBu (5 classes, colour-blind safe), centred on 3: 1-2 warm (gap), 3 neutral, 4-5 cool (strength);
# grey = nothing reported. Shared with the charts so the map and the heatmaps speak the same colours.
from shisn.render.charts import MATURITY_HEX, NO_DATA_HEX

OUT_OF_SCOPE_HEX = "#f0f0f0"  # outside the region filter
MARKER_HEX = "#252525"  # mentor dot / seeker ring
BORDER_RGBA = [255, 255, 255, 255]
OUT_OF_SCOPE_BORDER_RGBA = [210, 210, 210, 255]

# Assumed drawing area for the initial view (the page gives the map about this much room at 1440 px wide).
MAP_WIDTH_PX, MAP_HEIGHT_PX = 820, 460
TILE_PX = 512  # deck.gl: the whole world is 512 px wide at zoom 0

# Small north-eastern jurisdictions get their label (and markers) in open space, with a leader line.
CALLOUTS: dict[str, tuple[float, float]] = {
    "VT": (-75.5, 45.6),
    "NH": (-71.2, 46.3),
    "MA": (-69.0, 42.75),
    "RI": (-69.4, 41.45),
    "CT": (-70.9, 40.4),
    "NJ": (-72.6, 39.35),
    "DE": (-73.5, 38.35),
    "DC": (-73.9, 37.35),
}


# --- fast serialisation -----------------------------------------------------------------------------------------
# pydeck's own Deck.to_json pretty-prints through Python's pure-Python JSON encoder: ~70 ms for the national map on
# every rerun, and a 2 MB message. `Deck` below serialises compactly with the C encoder, and each shape's geometry
# (the bulk of the map, and the same on every rerun) is serialised once per process and spliced in.

_TOKEN = "@@shisn-geometry-" + secrets.token_hex(8) + ":"
_SPLICE = re.compile('"' + re.escape(_TOKEN) + r'([0-9]+:[^"@]*)@@"')
_GEOMETRY_TEXT: dict[str, str] = {}
_GEOMETRY_SETS: list[tuple[dict, dict]] = []  # (geojson, {code: _Geometry}); the geojson held so its id stays unique
_GEOMETRY_LOCK = threading.Lock()


class _Geometry(Mapping):
    """A shape's geometry (reads like the GeoJSON dict) that serialises as a placeholder for its cached JSON."""

    __slots__ = ("key", "geometry")

    def __init__(self, key: str, geometry: dict):
        self.key, self.geometry = key, geometry

    def __getitem__(self, k):
        return self.geometry[k]

    def __iter__(self):
        return iter(self.geometry)

    def __len__(self):
        return len(self.geometry)

    def to_dict(self, orient=None) -> dict:  # pydeck's own serialiser (repr, to_html) falls back to this
        return self.geometry


def _geometries(geojson: dict) -> dict[str, _Geometry]:
    """{code: geometry} for a FeatureCollection, each geometry's JSON text made once per collection object."""
    with _GEOMETRY_LOCK:
        for seen, geoms in _GEOMETRY_SETS:
            if seen is geojson:
                return geoms
        n = len(_GEOMETRY_TEXT)
        geoms = {}
        for i, f in enumerate(geojson["features"]):
            key = f"{n}:{i}"
            _GEOMETRY_TEXT[key] = json.dumps(f["geometry"], separators=(",", ":"), sort_keys=True)
            geoms[f["properties"]["code"]] = _Geometry(key, f["geometry"])
        _GEOMETRY_SETS.insert(0, (geojson, geoms))
        for old, old_geoms in _GEOMETRY_SETS[4:]:  # keep a few collections (the app uses one)
            for g in old_geoms.values():
                _GEOMETRY_TEXT.pop(g.key, None)
        del _GEOMETRY_SETS[4:]
        return geoms


def _default(o):
    if isinstance(o, _Geometry):
        return _TOKEN + o.key + "@@"
    return default_serialize(o)


class Deck(pdk.Deck):
    """pydeck.Deck with a fast, compact `to_json` (what st.pydeck_chart sends): same JSON document as pydeck's."""

    def to_json(self) -> str:
        text = json.dumps(self, sort_keys=True, default=_default, separators=(",", ":"))
        return _SPLICE.sub(lambda m: _GEOMETRY_TEXT[m.group(1)], text)


TARGET_LAYER = "targets"  # the pickable layer of coverage_deck
HIT_TOLERANCE_DEG = 0.3  # the click target's simplification (a few pixels at the national view)
_HIT_SETS: list[tuple[dict, dict]] = []


def _simplify_ring(ring: list, tol: float) -> list:
    """Douglas-Peucker on a closed ring (first point = last); the ring itself when it would collapse."""
    pts = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else list(ring)
    if len(pts) < 4:
        return ring
    far = max(range(len(pts)), key=lambda i: (pts[i][0] - pts[0][0]) ** 2 + (pts[i][1] - pts[0][1]) ** 2)
    keep = {0, far, len(pts) - 1}
    stack = [(0, far), (far, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = pts[a][:2], pts[b][:2]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5
        best, best_d = None, tol
        for i in range(a + 1, b):
            px, py = pts[i][:2]
            d = abs(dy * (px - ax) - dx * (py - ay)) / norm if norm else ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            if d > best_d:
                best, best_d = i, d
        if best is not None:
            keep.add(best)
            stack += [(a, best), (best, b)]
    out = [pts[i] for i in sorted(keep)]
    return ring if len(out) < 3 else out + [out[0]]


def hit_geometry(geojson: dict, tol: float = HIT_TOLERANCE_DEG) -> dict[str, dict]:
    """{code: simplified geometry} for the map's click target, made once per collection. A click is picked on
    the GPU; on slow software renderers (headless browsers on busy machines) picking the full-detail shapes on
    pointer-down takes long enough that the browser no longer counts the press as a click, so clicks are picked on
    this light copy (about an eighth of the vertices, borders within a few pixels) and the detailed shapes only
    draw."""
    for seen, hits in _HIT_SETS:
        if seen is geojson:
            return hits
    hits = {}
    for f in geojson["features"]:
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        parts = [[_simplify_ring(r, tol) for r in poly[:1]] for poly in polys]  # outer rings only: a target
        hits[f["properties"]["code"]] = {"type": "MultiPolygon", "coordinates": parts}
    _HIT_SETS.insert(0, (geojson, hits))
    del _HIT_SETS[4:]
    return hits


def _features(geojson: dict) -> list[dict]:
    """The collection's features with their geometry swapped for the cached-serialisation kind."""
    geoms = _geometries(geojson)
    return [{**f, "geometry": geoms[f["properties"]["code"]]} for f in geojson["features"]]


def hex_rgb(hex_color: str) -> list[int]:
    h = hex_color.lstrip("#")
    return [int(h[i : i + 2], 16) for i in (0, 2, 4)]


def maturity_rgb(value) -> list[int] | None:
    """The fill colour for a maturity (1-5, fractional for means, linear between the five classes), or None."""
    if value is None or value != value:  # None or NaN
        return None
    v = min(max(float(value), catalog.MIN_LEVEL), catalog.MAX_LEVEL) - 1
    lo = int(math.floor(v))
    hi = min(lo + 1, len(MATURITY_HEX) - 1)
    t = v - lo
    a, b = hex_rgb(MATURITY_HEX[lo]), hex_rgb(MATURITY_HEX[hi])
    return [round(a[i] + (b[i] - a[i]) * t) for i in range(3)]


def bounds(geojson: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north) of every coordinate in the collection."""
    if geojson.get("bbox"):
        w, s, e, n = geojson["bbox"][:4]
        return float(w), float(s), float(e), float(n)
    xs, ys = [], []

    def walk(c):
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for part in c:
                walk(part)

    for f in geojson["features"]:
        walk(f["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def _scope_bounds(geojson: dict, by_state: dict) -> tuple[float, float, float, float]:
    """The whole map, or (when a region filter leaves some jurisdictions out) the in-scope ones, never zoomed in
    further than a quarter of the national extent."""
    full = bounds(geojson)
    inside = [f for f in geojson["features"] if by_state.get(f["properties"]["code"], {}).get("in_scope")]
    if not inside or len(inside) == len(geojson["features"]):
        return full
    w, s, e, n = bounds({"features": inside})
    min_w, min_h = (full[2] - full[0]) / 4, (full[3] - full[1]) / 4
    if e - w < min_w:
        w, e = (w + e) / 2 - min_w / 2, (w + e) / 2 + min_w / 2
    if n - s < min_h:
        s, n = (s + n) / 2 - min_h / 2, (s + n) / 2 + min_h / 2
    return w, s, e, n


def _merc_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _inv_merc_y(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def fit_view(
    bbox: tuple[float, float, float, float], width: int = MAP_WIDTH_PX, height: int = MAP_HEIGHT_PX, padding: int = 24
) -> pdk.ViewState:
    """A Web-Mercator view state that shows the whole bbox in a width × height px canvas (like fitBounds)."""
    w, s, e, n = bbox
    x_span = math.radians(e - w)
    y_span = _merc_y(n) - _merc_y(s)
    zx = math.log2((width - 2 * padding) * 2 * math.pi / (TILE_PX * x_span))
    zy = math.log2((height - 2 * padding) * 2 * math.pi / (TILE_PX * y_span))
    zoom = round(min(zx, zy), 3)
    return pdk.ViewState(
        longitude=round((w + e) / 2, 4),
        latitude=round(_inv_merc_y((_merc_y(s) + _merc_y(n)) / 2), 4),
        zoom=zoom,
        min_zoom=max(zoom - 1, 0),
        max_zoom=zoom + 4,
        pitch=0,
        bearing=0,
    )


def _deg_per_px(zoom: float) -> float:
    return 360.0 / (TILE_PX * 2**zoom)


def _tooltip_text(r: dict, area_label: str, single_area: bool) -> str:
    lines = [f"{r['name']} ({r['state']}) · {r['region_label']}"]
    if not r["in_scope"]:
        lines.append("Outside the selected FEMA region")
    if not r["reported"]:
        lines.append(f"No {area_label.lower() if single_area else 'self-assessment'} reported in this cycle")
        return "\n".join(lines)
    m = r["maturity"]
    if single_area:
        lines.append(f"{area_label}: maturity {int(m)} · {catalog.level_name(int(m))}")
        flags = []
        if r["eligible"]:
            flags.append("offers help · eligible mentor")
        elif r["offers"]:
            flags.append(f"offers help, but below {catalog.MENTOR_MIN}: cannot mentor")
        if r["seeks"]:
            flags.append("seeks guidance")
        lines.append(" · ".join(flags) if flags else "neither offers nor seeks help here")
    else:
        lines.append(f"Mean maturity over {r['areas']} area{'s' if r['areas'] != 1 else ''}: {m:.1f}")
        lines.append(
            f"Eligible mentor in {r['eligible']} area{'s' if r['eligible'] != 1 else ''} (offers help in {r['offers']})"
        )
        lines.append(f"Seeks guidance in {r['seeks']} area{'s' if r['seeks'] != 1 else ''}")
    return "\n".join(lines)


def coverage_deck(
    geojson: dict,
    values,
    area_label: str = "All areas (mean)",
    single_area: bool = False,
    width: int = MAP_WIDTH_PX,
    height: int = MAP_HEIGHT_PX,
    selected: str | None = None,
) -> pdk.Deck:
    """The national choropleth: every jurisdiction coloured by `maturity` (from `coverage.state_values`), grey
    when nothing was reported, pale outside the region filter; labels; a dark dot where the state is an eligible
    mentor and a ring where it seeks guidance (sized by the number of areas when showing the mean).

    Clickable: the layer TARGET_LAYER (a light copy of the shapes, `hit_geometry`) is the pickable one and each of
    its features carries `properties.code`, so a click comes back from `st.pydeck_chart(on_select=...)` as that
    feature; `selected` (a code) gets a thick outline."""
    by_state = {r["state"]: r for r in values.to_dict("records")}
    view = fit_view(_scope_bounds(geojson, by_state), width, height)
    dpp = _deg_per_px(view.zoom)
    # Callouts only on the national view: zoomed in on a region, the small states have room for their labels.
    callouts = CALLOUTS if view.zoom < fit_view(bounds(geojson), width, height).zoom + 0.5 else {}
    features, labels, leaders, mentors, seekers = [], [], [], [], []
    geoms = _geometries(geojson)
    hits = hit_geometry(geojson)
    for f in geojson["features"]:
        p = f["properties"]
        code = p["code"]
        r = by_state.get(code)
        if r is None:
            continue
        rgb = maturity_rgb(r["maturity"]) if r["in_scope"] else None
        if not r["in_scope"]:
            fill, line = hex_rgb(OUT_OF_SCOPE_HEX) + [255], OUT_OF_SCOPE_BORDER_RGBA
        elif rgb is None:
            fill, line = hex_rgb(NO_DATA_HEX) + [255], BORDER_RGBA
        else:
            fill, line = rgb + [255], BORDER_RGBA
        props = {
            "code": code,
            "name": p.get("name", r["name"]),
            "fill": fill,
            "line": line,
            "tip": _tooltip_text(r, area_label, single_area),
        }
        features.append({"type": "Feature", "id": code, "geometry": geoms[code], "properties": props})

        lon, lat = float(p["label_lon"]), float(p["label_lat"])
        anchor = callouts.get(code)
        if anchor:
            leaders.append({"from": [lon, lat], "to": list(anchor)})
            lon, lat = anchor
        # Dark text with a white halo reads on every fill (and on the white page for callouts and islands).
        labels.append(
            {
                "code": code,
                "position": [lon, lat],
                "color": [170, 170, 170, 255] if not r["in_scope"] else [37, 37, 37, 255],
            }
        )
        if not r["in_scope"] or not r["reported"]:
            continue
        # Markers: to the right of a callout label, below an in-place label.
        ky = math.cos(math.radians(lat))
        if anchor:
            spots = [(lon + 17 * dpp, lat), (lon + 31 * dpp, lat)]
        else:
            spots = [(lon - 5 * dpp, lat - 11 * dpp * ky), (lon + 5 * dpp, lat - 11 * dpp * ky)]
        n_mentor = r["eligible"] if not single_area else int(bool(r["eligible"]))
        n_seek = r["seeks"] if not single_area else int(bool(r["seeks"]))
        if n_mentor:
            mentors.append({"code": code, "position": list(spots[0]), "radius": _marker_px(n_mentor, single_area)})
        if n_seek:
            seekers.append({"code": code, "position": list(spots[1]), "radius": _marker_px(n_seek, single_area)})

    marker_rgb = hex_rgb(MARKER_HEX)
    layers = [
        pdk.Layer(
            "GeoJsonLayer",
            id="jurisdictions",
            data={"type": "FeatureCollection", "features": features},
            get_fill_color="properties.fill",
            get_line_color="properties.line",
            line_width_min_pixels=1,
            line_width_units="'pixels'",
            get_line_width=1,
            stroked=True,
            filled=True,
            pickable=False,
        ),
        # The click and hover target: the same jurisdictions, simplified and all but transparent, as a list of
        # features (Streamlit keeps a selection's index only for list data).
        pdk.Layer(
            "GeoJsonLayer",
            id=TARGET_LAYER,
            data=[
                {
                    "type": "Feature",
                    "geometry": hits[f["properties"]["code"]],
                    "properties": {"code": f["properties"]["code"], "tip": f["properties"]["tip"]},
                }
                for f in features
            ],
            get_fill_color=[255, 255, 255, 1],
            stroked=False,
            filled=True,
            pickable=True,
            auto_highlight=True,
            highlight_color=[31, 78, 121, 70],
        ),
        pdk.Layer(
            "GeoJsonLayer",
            id="selected",
            data={
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "id": selected, "geometry": geoms[selected], "properties": {"code": selected}}
                ]
                if selected in by_state
                else [],
            },
            filled=False,
            stroked=True,
            get_line_color=hex_rgb(MARKER_HEX) + [255],
            get_line_width=3,
            line_width_units="'pixels'",
            line_width_min_pixels=3,
            pickable=False,
        ),
        pdk.Layer(
            "LineLayer",
            id="callout-leaders",
            data=leaders,
            get_source_position="from",
            get_target_position="to",
            get_color=[120, 120, 120, 200],
            get_width=1,
            width_units="'pixels'",
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="mentors",
            data=mentors,
            get_position="position",
            get_radius="radius",
            radius_units="'pixels'",
            get_fill_color=marker_rgb + [255],
            get_line_color=[255, 255, 255, 255],
            stroked=True,
            filled=True,
            line_width_units="'pixels'",
            get_line_width=1,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="seekers",
            data=seekers,
            get_position="position",
            get_radius="radius",
            radius_units="'pixels'",
            get_fill_color=[255, 255, 255, 230],
            get_line_color=marker_rgb + [255],
            stroked=True,
            filled=True,
            line_width_units="'pixels'",
            get_line_width=2,
        ),
        pdk.Layer(
            "TextLayer",
            id="labels",
            data=labels,
            get_position="position",
            get_text="code",
            get_color="color",
            get_size=11,
            size_units="'pixels'",
            font_family='"Source Sans, Source Sans Pro, sans-serif"',
            font_weight=600,
            get_text_anchor="'middle'",
            get_alignment_baseline="'center'",
            font_settings={"sdf": True},
            outline_width=2,
            outline_color=[255, 255, 255, 210],
        ),
    ]
    return Deck(
        layers=layers,
        initial_view_state=view,
        views=[
            pdk.View(
                "MapView",
                controller={
                    "scrollZoom": False,
                    "dragRotate": False,
                    "touchRotate": False,
                    "doubleClickZoom": True,
                    "keyboard": True,
                },
            )
        ],
        map_provider=None,  # no basemap: nothing is fetched (Streamlit's "no map style" sentinel)
        tooltip={
            "text": "{tip}",
            "style": {
                "backgroundColor": "#ffffff",
                "color": "#262730",
                "fontSize": "13px",
                "border": "1px solid #d0d0d0",
                "whiteSpace": "pre-line",
                "fontFamily": "'Source Sans', sans-serif",
            },
        },
    )


def _marker_px(n: int, single_area: bool) -> float:
    return 4.0 if single_area else min(2.5 + 0.6 * n, 6.5)


def _legend_font(colour: str = "#262730") -> str:
    return f'font-family="\'Source Sans Pro\', \'Source Sans 3\', sans-serif" font-size="12" fill="{colour}"'


LEGEND_WIDTH_PX = 150  # the legend column beside the map is about this wide: drawn 1:1, not scaled down
LEGEND_LINE_CHARS = 16  # at 12 px a label longer than this goes on two lines


def _legend_lines(label: str) -> list[str]:
    if len(label) <= LEGEND_LINE_CHARS or " " not in label:
        return [label]
    cut = label.rfind(" ", 0, LEGEND_LINE_CHARS + 1)
    cut = cut if cut > 0 else label.find(" ")
    return [label[:cut], label[cut + 1 :]]


def legend_svg(single_area: bool) -> str:
    """The map's small static legend as an SVG image (catalogue text only, escaped: nothing user-supplied): the five
    maturity colours, 'not reported', the mentor dot and the seeker ring. An image in Markdown (shisn.web.displays.svg_image) is drawn
    by Streamlit's main browser code; st.html would fetch its own (and DOMPurify) on every cold open."""
    rows, y = ['<text x="0" y="14" font-weight="600">Maturity</text>'], 14

    def item(mark, label: str, gap: int = 19) -> None:  # mark(baseline y): the swatch or marker, left of the label
        nonlocal y
        y += gap
        rows.append(mark(y))
        for n, line in enumerate(_legend_lines(label)):
            y += 15 if n else 0
            rows.append(f'<text x="30" y="{y}">{html.escape(line)}</text>')

    def swatch(fill):
        return lambda y: f'<rect x="0.5" y="{y - 10.5}" width="22" height="13" rx="2" fill="{fill}" stroke="#c8c8c8"/>'

    for i in range(catalog.MAX_LEVEL, catalog.MIN_LEVEL - 1, -1):
        item(swatch(MATURITY_HEX[i - 1]), f"{i} · {catalog.level_name(i)}")
    item(swatch(NO_DATA_HEX), "Not reported")
    item(
        lambda y: f'<circle cx="11.5" cy="{y - 4}" r="5" fill="{MARKER_HEX}"/>',
        f"Eligible mentor (offers help, {catalog.MENTOR_MIN}+)",
        gap=23,
    )
    item(
        lambda y: f'<circle cx="11.5" cy="{y - 4}" r="3.5" fill="none" stroke="{MARKER_HEX}" stroke-width="2"/>',
        "Seeks guidance",
    )
    if not single_area:
        y += 19
        rows.append(f'<text x="0" y="{y}" fill="#6b6b6b">larger = more areas</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEGEND_WIDTH_PX}" height="{y + 6}" '
        f'viewBox="0 0 {LEGEND_WIDTH_PX} {y + 6}"><g {_legend_font()}>{"".join(rows)}</g></svg>'
    )


def legend_alt(single_area: bool) -> str:
    """The legend's text alternative (the image's alt text)."""
    colours = {5: "dark blue", 4: "light blue", 3: "pale yellow", 2: "orange", 1: "red"}  # MATURITY_HEX, in words
    levels = ", ".join(
        f"{i} {catalog.level_name(i)} {colours[i]}" for i in range(catalog.MAX_LEVEL, catalog.MIN_LEVEL - 1, -1)
    )
    return (
        f"Legend: maturity colours {levels}; grey: not reported; a filled dot: "
        f"eligible mentor (offers help, {catalog.MENTOR_MIN}+); a ring: seeks guidance"
        + ("" if single_area else "; larger markers: more areas")
    )


# --- arcs (pairs and exchanges) ----------------------------------------------------------------------------------


def _arc_data(arcs) -> tuple[list[dict], list[dict]]:
    """ArcLayer rows and end-point labels from an arcs frame (see arc_deck)."""
    data, ends = [], {}
    for r in arcs.to_dict("records"):
        rgb = hex_rgb(r["colour"]) if isinstance(r["colour"], str) else list(r["colour"])[:3]
        alpha = int(r["colour"][3]) if not isinstance(r["colour"], str) and len(r["colour"]) > 3 else 230
        row = {
            "from": [r["from_lon"], r["from_lat"]],
            "to": [r["to_lon"], r["to_lat"]],
            "colour": rgb + [alpha],
            "source_colour": rgb + [max(60, alpha - 90)],
            "tip": r["tip"],
        }
        if isinstance(r.get("pair"), str):
            row["pair"] = r["pair"]  # comes back with a click (selection.from_arc_event)
        data.append(row)
        ends[r["from_code"]] = [r["from_lon"], r["from_lat"]]
        ends[r["to_code"]] = [r["to_lon"], r["to_lat"]]
    labels = [{"code": c, "position": p} for c, p in sorted(ends.items())]
    return data, labels


def _arc_layer(data: list[dict], layer_id: str = "arcs", width: float = 3) -> pdk.Layer:
    return pdk.Layer(
        "ArcLayer",
        id=layer_id,
        data=data,
        get_source_position="from",
        get_target_position="to",
        get_source_color="source_colour",
        get_target_color="colour",
        get_width=width,
        width_units="'pixels'",
        get_height=0.45,
        great_circle=False,
        pickable=True,
        auto_highlight=True,
    )


def add_arcs(deck: pdk.Deck, arcs) -> pdk.Deck:
    """Overlay arcs (same frame as arc_deck) on another deck, e.g. the exchanges on the national coverage map."""
    data, _ = _arc_data(arcs)
    if data:
        deck.layers.append(_arc_layer(data, "exchange-arcs", width=2.5))
    return deck


def arc_deck(
    arcs,
    geojson: dict | None = None,
    width: int = MAP_WIDTH_PX,
    height: int = MAP_HEIGHT_PX,
    pitch: float = 25,
    selected: str | None = None,
) -> pdk.Deck:
    """Arcs from one state to another over the jurisdictions in light grey, with the codes at the arcs' ends.
    `arcs` has from_code, to_code, from_lon, from_lat, to_lon, to_lat, colour (hex or RGB(A) list) and tip, and
    optionally `pair` (a key returned with a click on the pickable layer "arcs"); the arc whose `pair` is
    `selected` is drawn again, thick and dark. No basemap (map_provider=None): nothing is fetched."""
    if geojson is None:
        geojson = jurisdictions.geojson()
    data, labels = _arc_data(arcs)
    layers = [
        pdk.Layer(
            "GeoJsonLayer",
            id="jurisdictions",
            data={**geojson, "features": _features(geojson)},
            stroked=True,
            filled=True,
            get_fill_color=[226, 229, 234, 255],
            get_line_color=[255, 255, 255, 255],
            get_line_width=1,
            line_width_units="'pixels'",
            line_width_min_pixels=1,
            pickable=False,
        ),
        _arc_layer(data),
        pdk.Layer(
            "ArcLayer",
            id="selected-arc",
            data=[d for d in data if selected and d.get("pair") == selected],
            get_source_position="from",
            get_target_position="to",
            get_source_color=[37, 37, 37, 255],
            get_target_color=[37, 37, 37, 255],
            get_width=7,
            width_units="'pixels'",
            get_height=0.45,
            great_circle=False,
            pickable=False,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="ends",
            data=labels,
            get_position="position",
            get_radius=3,
            radius_units="'pixels'",
            get_fill_color=[38, 39, 48, 255],
        ),
        pdk.Layer(
            "TextLayer",
            id="labels",
            data=labels,
            get_position="position",
            get_text="code",
            get_size=11,
            size_units="'pixels'",
            get_color=[38, 39, 48, 255],
            font_weight=600,
            get_pixel_offset=[0, -10],
            font_family='"Source Sans, Source Sans Pro, sans-serif"',
            font_settings={"sdf": True},
            outline_width=2,
            outline_color=[255, 255, 255, 220],
            get_text_anchor="'middle'",
            get_alignment_baseline="'bottom'",
        ),
    ]
    view = fit_view(bounds(geojson), width, height)
    if pitch:  # a tilted view shows less at the far edge: zoom out a little so the whole map stays in frame
        view.pitch = pitch
        view.zoom = round(view.zoom - 0.35 * pitch / 25, 3)
    return Deck(
        layers=layers,
        initial_view_state=view,
        map_provider=None,
        views=[
            pdk.View(
                "MapView",
                controller={"scrollZoom": False, "dragRotate": False, "touchRotate": False, "doubleClickZoom": True},
            )
        ],
        tooltip={
            "text": "{tip}",
            "style": {
                "backgroundColor": "#ffffff",
                "color": "#262730",
                "fontSize": "13px",
                "border": "1px solid #d0d0d0",
                "whiteSpace": "pre-line",
            },
        },
    )


def area_legend_svg(areas, colours: dict[str, str], width: int = 760) -> str:
    """A legend of program-area colours as an SVG image (catalogue labels only, escaped: nothing user-supplied),
    laid out in lines of at most `width` pixels (labels measured at ~7 px a character)."""
    items, x, y = [], 0, 14
    for a in areas:
        label = catalog.area_short(a)
        w = 26 + 7 * len(label) + 16
        if x and x + w > width:
            x, y = 0, y + 22
        items.append(
            f'<rect x="{x}" y="{y - 6}" width="18" height="4" fill="{colours[a]}"/>'
            f'<text x="{x + 24}" y="{y}">{html.escape(label)}</text>'
        )
        x += w
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 6}" viewBox="0 0 {width} {y + 6}">'
        f"<g {_legend_font('#444444')}>{''.join(items)}</g></svg>"
    )
