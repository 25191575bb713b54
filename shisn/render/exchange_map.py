"""The Exchanges page's arc map: each exchange an arc from mentor to mentee, coloured by status, over the
jurisdictions in light grey (pydeck; no basemap, nothing fetched)."""

from __future__ import annotations

import pandas as pd

from shisn.domain import catalog
from shisn.domain.exchange_rules import (
    CLOSED,
    DECLINED,
    HELD,
    IN_CONTACT,
    INTRODUCED,
    PROPOSED,
    REQUESTED,
    status_label,
)
from shisn.render import maps

STATUS_COLOURS = {
    PROPOSED: ("gray", (104, 98, 85)),
    INTRODUCED: ("blue", (36, 79, 180)),
    IN_CONTACT: ("violet", (111, 51, 184)),
    HELD: ("orange", (190, 90, 30)),
    CLOSED: ("green", (12, 120, 80)),
    DECLINED: ("red", (158, 48, 59)),
    REQUESTED: ("yellow", (160, 120, 0)),
}


MAP_WIDTH_PX, MAP_HEIGHT_PX = 960, 480


def arc_rows(arcs_frame: pd.DataFrame) -> pd.DataFrame:
    """`arcs(...)` in the shape `maps.arc_deck` / `maps.add_arcs` draw: mentor → mentee, coloured by status
    (declined ones faded)."""
    rows = []
    for r in arcs_frame.to_dict("records"):
        _, rgb = STATUS_COLOURS[r["status"]]
        rows.append(
            {
                "from_code": r["mentor"],
                "to_code": r["mentee"],
                "from_lon": r["mentor_lon"],
                "from_lat": r["mentor_lat"],
                "to_lon": r["mentee_lon"],
                "to_lat": r["mentee_lat"],
                "colour": [*rgb, 110 if r["status"] == DECLINED else 230],
                "tip": f"Exchange {r['exchange_id']}: {r['mentor']} → {r['mentee']}\n"
                f"{catalog.area_short(r['program_area'])} · {status_label(r['status'])}",
            }
        )
    cols = ["from_code", "to_code", "from_lon", "from_lat", "to_lon", "to_lat", "colour", "tip"]
    return pd.DataFrame(rows, columns=cols)


def arc_deck(arcs_frame: pd.DataFrame, width: int = MAP_WIDTH_PX, height: int = MAP_HEIGHT_PX):
    """The exchanges as arcs over the jurisdictions in light grey (no basemap: fully offline)."""
    return maps.arc_deck(arc_rows(arcs_frame), width=width, height=height, pitch=25)
