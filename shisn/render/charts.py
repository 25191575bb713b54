"""Plotly figures for the national view. No data access: DataFrames (from `shisn.domain.coverage`) in, figures out.

One colour language across the app: ColorBrewer RdYlBu (colour-blind safe) centred on maturity 3, warm = gap, cool
= strength; the same blue for mentor supply and warm colours for demand. Hover text that carries user notes is
HTML-escaped (plotly renders a few tags in hover labels).
"""

from __future__ import annotations

import html
import textwrap
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from shisn.domain import catalog

MATURITY_HEX = ("#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6")
NO_DATA_HEX = "#c8c8c8"
SUPPLY_HEX = "#2c7bb6"  # eligible mentors (strength)
DEMAND_HEX = "#fdae61"  # states seeking guidance
UNMET_HEX = "#d7191c"  # needs no state can mentor (→ TA)
INK = "#262730"
ROW_PX = 18
MATURITY_COLORSCALE = [[i / 4, c] for i, c in enumerate(MATURITY_HEX)]
FONT = dict(family="Source Sans, Source Sans Pro, sans-serif", size=13, color=INK)


def _colorbar() -> dict:
    """A compact horizontal scale under the plot (the map's legend spells out the level names)."""
    title = f"Maturity: 1 {catalog.level_name(1)} · 3 {catalog.level_name(3)} · 5 {catalog.level_name(5)}"
    return dict(
        orientation="h",
        title=dict(text=title, side="top", font=dict(size=12)),
        tickvals=[1, 2, 3, 4, 5],
        lenmode="pixels",
        len=300,
        thickness=12,
        x=0,
        xanchor="left",
        y=0,
        yanchor="top",
        ypad=10,
        outlinewidth=0,
        tickfont=dict(size=12),
    )


@lru_cache(maxsize=8192)  # the same notes are wrapped on every rerun
def _wrap(text: str, width: int = 60) -> str:
    return "<br>".join(html.escape(line) for line in textwrap.wrap(text, width)) if text else ""


_LEVEL_LINES = {
    v: f"Maturity {v} · {html.escape(catalog.level_name(v))}" for v in range(catalog.MIN_LEVEL, catalog.MAX_LEVEL + 1)
}


def _cell_hover(row_label: str, area: str, value, detail) -> str:
    head = f"<b>{html.escape(row_label)}</b> · {html.escape(catalog.area_short(area))}"
    return _hover_text(head, value, detail)


def _hover_text(head: str, value, detail) -> str:
    """A heatmap cell's hover: `head` (escaped row and column) then what was reported."""
    if detail is None or value is None or value != value:
        return head + "<br>Not reported in this cycle"
    lines = [head]
    if detail.get("other"):
        lines.append(f"Area: {html.escape(detail['other'])}")
    v = int(value)
    lines.append(_LEVEL_LINES.get(v) or f"Maturity {v} · {html.escape(catalog.level_name(v))}")
    flags = []
    if detail.get("eligible"):
        flags.append("offers help (eligible mentor)")
    elif detail.get("offers"):
        flags.append(f"offers help (below {catalog.MENTOR_MIN}: cannot mentor)")
    if detail.get("seeks"):
        flags.append("seeks guidance")
    if flags:
        lines.append(" · ".join(flags))
    note = detail.get("note")
    if note is None:
        lines.append("<i>Notes are shown to leadership and the state's program manager</i>")
    elif note:
        lines.append("Notes: " + _wrap(note))
    return "<br>".join(lines)


def jurisdiction_heatmap(
    m: pd.DataFrame,
    names: dict[str, str],
    details: pd.DataFrame | None = None,
    groups: list[str] | None = None,
    highlight: str | None = None,
    selected: tuple[str | None, str | None] | None = None,
) -> go.Figure:
    """Jurisdictions (rows, in the order given) × program areas (columns): maturity 1-5, grey where not reported.
    `details` (from `coverage.cell_details`) feeds the hover and the markers; `groups` (one label per row, e.g. the
    FEMA region when sorted by region) draws separators and labels; `highlight` outlines one area's column;
    `selected` = (state, area) outlines that cell (or that row, when the area is None).

    Clickable: Plotly cannot select heatmap cells, so one invisible point sits on every cell (trace "cells",
    `customdata` = [code, area slug], carrying the hover text); a click selects the nearest, i.e. the cell under
    the pointer. Cells are marked legibly in greyscale, not by colour alone: a dark dot where the state can
    mentor (offers help at 4+), a ring where it seeks guidance, a ring with a dot where both."""
    rows = list(m.index)
    cols = list(m.columns)
    y = [f"{names.get(c, c)} ({c})" for c in rows]
    x = [catalog.area_short(a) for a in cols]
    z = m.to_numpy(dtype=float)
    det = details.to_numpy(dtype=object) if details is not None else np.full(z.shape, None, dtype=object)
    row_heads = [f"<b>{html.escape(label)}</b> · " for label in y]
    col_heads = [html.escape(catalog.area_short(a)) for a in cols]
    zl = z.tolist()
    # numpy object arrays: plotly takes them as they are (nested lists are walked cell by cell to validate)
    hover = np.array(
        [
            [_hover_text(rh + ch, v, d) for ch, v, d in zip(col_heads, zrow, drow)]
            for rh, zrow, drow in zip(row_heads, zl, det.tolist())
        ],
        dtype=object,
    ).reshape(z.shape)
    missing = np.where(np.isnan(z), 0.0, np.nan)
    fig = go.Figure()
    # The hover text rides on the clickable cell points (below), once per cell; the colour layers only paint.
    fig.add_trace(
        go.Heatmap(
            z=missing,
            x=x,
            y=y,
            colorscale=[[0, NO_DATA_HEX], [1, NO_DATA_HEX]],
            showscale=False,
            hoverinfo="skip",
            hoverongaps=False,
            xgap=2,
            ygap=2,
            name="not reported",
        )
    )
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=x,
            y=y,
            zmin=1,
            zmax=5,
            colorscale=MATURITY_COLORSCALE,
            colorbar=_colorbar(),
            hoverinfo="skip",
            xgap=2,
            ygap=2,
            name="maturity",
        )
    )
    n_rows, n_cols = z.shape
    cx = np.tile(np.array(x, dtype=object), n_rows)
    cy = np.repeat(np.array(y, dtype=object), n_cols)
    custom = np.stack(
        [np.repeat(np.array(rows, dtype=object), n_cols), np.tile(np.array(cols, dtype=object), n_rows)], axis=1
    )
    keep = dict(marker=dict(opacity=1))  # a click must not dim the other cells' markers
    fig.add_trace(
        go.Scatter(
            x=cx,
            y=cy,
            mode="markers",
            customdata=custom,
            hoverinfo="text",
            hovertext=hover.reshape(-1),
            name="cells",
            showlegend=False,
            marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(width=0)),
            selected=keep,
            unselected=keep,
        )
    )
    _cell_markers(fig, det, cx, cy, keep)
    height = max(300, ROW_PX * len(rows) + 210)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=120, b=80),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        hoverlabel=dict(bgcolor="white", font_size=13, align="left"),
        showlegend=True,
        hovermode="closest",
        hoverdistance=80,
        legend=dict(
            orientation="h",
            x=1,
            xanchor="right",
            y=0,
            yanchor="top",
            font=dict(size=12),
            itemclick=False,
            itemdoubleclick=False,
        ),
    )
    fig.update_xaxes(side="top", tickangle=-40, showgrid=False, fixedrange=True, ticks="")
    fig.update_yaxes(
        autorange="reversed",
        showgrid=False,
        fixedrange=True,
        ticks="",
        tickfont=dict(size=12),
        categoryorder="array",
        categoryarray=y,
    )
    if highlight in cols:
        j = cols.index(highlight)
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=j - 0.5,
            x1=j + 0.5,
            y0=0,
            y1=1,
            line=dict(color=INK, width=2),
            fillcolor="rgba(0,0,0,0)",
        )
    if selected is not None and selected[0] in rows:
        i = rows.index(selected[0])
        if selected[1] in cols:
            j = cols.index(selected[1])
            fig.add_shape(
                type="rect",
                xref="x",
                yref="y",
                x0=j - 0.5,
                x1=j + 0.5,
                y0=i - 0.5,
                y1=i + 0.5,
                line=dict(color=INK, width=3),
                fillcolor="rgba(0,0,0,0)",
            )
        else:
            fig.add_shape(
                type="rect",
                xref="paper",
                yref="y",
                x0=0,
                x1=1,
                y0=i - 0.5,
                y1=i + 0.5,
                line=dict(color=INK, width=2),
                fillcolor="rgba(0,0,0,0)",
            )
    if groups:
        _group_bands(fig, groups, len(cols))
    return fig


MENTOR_LABEL = f"Can mentor (offers help, {catalog.MENTOR_MIN}+)"
SEEKS_LABEL = "Seeks guidance"


def cell_marks(details: np.ndarray) -> np.ndarray:
    """Per cell: 'both', 'offers' (an eligible mentor), 'seeks' or '' (from `coverage.cell_details` dicts)."""
    flat = details.reshape(-1)
    out = np.full(flat.shape, "", dtype=object)
    for k, d in enumerate(flat.tolist()):
        if d:
            e, s = bool(d.get("eligible")), bool(d.get("seeks"))
            out[k] = "both" if e and s else ("offers" if e else ("seeks" if s else ""))
    return out


def _cell_markers(fig: go.Figure, det: np.ndarray, cx: np.ndarray, cy: np.ndarray, keep: dict) -> None:
    """Greyscale-legible markers: a dark dot (white rim) = can mentor, a dark ring (white halo) = seeks guidance,
    a ring around a dot = both. Not hoverable: hover and clicks go to the cell points."""
    marks = cell_marks(det)
    ring = np.isin(marks, ("seeks", "both"))
    dot = np.isin(marks, ("offers", "both"))
    if ring.any():  # the halo first, so the ring reads on dark and light cells alike
        fig.add_trace(
            go.Scatter(
                x=cx[ring],
                y=cy[ring],
                mode="markers",
                hoverinfo="skip",
                showlegend=False,
                name="ring halo",
                marker=dict(symbol="circle-open", size=11, color="white", line=dict(width=4.5, color="white")),
                selected=keep,
                unselected=keep,
            )
        )
    for mask, symbol, size, label, line in (
        (dot, "circle", 7, MENTOR_LABEL, dict(width=1.2, color="white")),
        (ring, "circle-open", 11, SEEKS_LABEL, dict(width=2, color=INK)),
    ):
        fig.add_trace(
            go.Scatter(
                x=cx[mask],
                y=cy[mask],
                mode="markers",
                hoverinfo="skip",
                name=label,
                showlegend=True,
                marker=dict(symbol=symbol, size=size, color=INK, line=line),
                selected=keep,
                unselected=keep,
            )
        )


def _group_bands(fig: go.Figure, groups: list[str], ncols: int) -> None:
    start = 0
    for i in range(1, len(groups) + 1):
        if i == len(groups) or groups[i] != groups[start]:
            if i < len(groups):
                fig.add_shape(
                    type="line",
                    xref="paper",
                    yref="y",
                    x0=-0.01,
                    x1=1,
                    y0=i - 0.5,
                    y1=i - 0.5,
                    line=dict(color=INK, width=1.5),
                )
            fig.add_annotation(
                xref="paper",
                yref="y",
                x=1.0,
                xanchor="left",
                y=(start + i - 1) / 2,
                text=html.escape(groups[start]),
                showarrow=False,
                xshift=6,
                font=dict(size=11, color="#555"),
            )
            start = i
    fig.update_layout(margin=dict(r=90))


def region_heatmap(summary: pd.DataFrame) -> go.Figure:
    """FEMA regions × program areas from `coverage.region_summary`: colour and number = median maturity; hover
    adds reporting states, eligible mentors, needs and needs with no mentor."""
    areas = list(dict.fromkeys(summary["program_area"]))
    regions = list(dict.fromkeys(summary["region_label"]))
    piv = {
        c: summary.pivot(index="region_label", columns="program_area", values=c).reindex(index=regions, columns=areas)
        for c in ("median", "states", "mentors", "needs", "uncovered")
    }
    z = piv["median"].to_numpy(dtype=float)
    x = [catalog.area_short(a) for a in areas]
    text = [["" if np.isnan(v) else (f"{v:.1f}" if v % 1 else f"{int(v)}") for v in row] for row in z]
    hover = [
        [
            (
                f"<b>{html.escape(regions[i])}</b> · {html.escape(x[j])}<br>"
                + (
                    "No state reported"
                    if np.isnan(z[i, j])
                    else f"Median maturity {text[i][j]} ({int(piv['states'].iat[i, j])} reporting)"
                )
                + f"<br>Eligible mentors: {int(piv['mentors'].iat[i, j])}"
                + f"<br>Needs: {int(piv['needs'].iat[i, j])}"
                + f" · with no eligible mentor: {int(piv['uncovered'].iat[i, j])}"
            )
            for j in range(len(areas))
        ]
        for i in range(len(regions))
    ]
    missing = np.where(np.isnan(z), 0.0, np.nan)
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            z=missing,
            x=x,
            y=regions,
            colorscale=[[0, NO_DATA_HEX], [1, NO_DATA_HEX]],
            showscale=False,
            hoverinfo="text",
            hovertext=hover,
            xgap=2,
            ygap=2,
        )
    )
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=x,
            y=regions,
            zmin=1,
            zmax=5,
            colorscale=MATURITY_COLORSCALE,
            showscale=False,
            # the numbers' colour left to plotly ("auto": white on the dark cells, dark on the
            # light ones), so each reads at 4.5:1 or more against its cell (WCAG 1.4.3)
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=12),
            hoverinfo="text",
            hovertext=hover,
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(
        height=max(200, 30 * len(regions) + 130),
        margin=dict(l=10, r=10, t=100, b=10),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        hoverlabel=dict(bgcolor="white", font_size=13, align="left"),
    )
    fig.update_xaxes(side="top", tickangle=-40, showgrid=False, fixedrange=True, ticks="")
    fig.update_yaxes(autorange="reversed", showgrid=False, fixedrange=True, ticks="")
    return fig


def supply_demand_bars(sd: pd.DataFrame, highlight: str | None = None, selected: str | None = None) -> go.Figure:
    """Per program area (from `coverage.supply_demand`): eligible mentors vs states seeking guidance, and the needs
    no state can mentor (→ TA), as grouped horizontal bars. Clickable: every bar carries its area's slug as
    `customdata`; `selected` (a slug) outlines that area's bars."""
    y = list(sd["label"])
    slugs = list(sd["program_area"])
    keep = dict(marker=dict(opacity=1))  # the selection is drawn as an outline, not by dimming the other bars
    fig = go.Figure()
    series = [
        ("eligible", "Eligible mentors", SUPPLY_HEX),
        ("seekers", "States seeking guidance", DEMAND_HEX),
        ("uncovered", "Needs no state can mentor (→ TA)", UNMET_HEX),
    ]
    for col, name, color in series:
        fig.add_trace(
            go.Bar(
                y=y,
                x=sd[col],
                name=name,
                orientation="h",
                marker=dict(color=color, line_width=0),
                text=[str(v) if v else "" for v in sd[col]],
                textposition="outside",
                cliponaxis=False,
                textfont=dict(size=11),
                constraintext="none",
                customdata=slugs,
                selected=keep,
                unselected=keep,
                hovertemplate=f"%{{y}}<br>{html.escape(name)}: %{{x}}<br>Click for the states<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        bargap=0.28,
        bargroupgap=0.05,
        height=max(300, 46 * len(y) + 90),
        margin=dict(l=10, r=30, t=40, b=10),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, font=dict(size=12)),
    )
    fig.update_yaxes(autorange="reversed", fixedrange=True, ticks="", categoryorder="array", categoryarray=y)
    fig.update_xaxes(title="Jurisdictions", fixedrange=True, showgrid=True, gridcolor="#eeeeee", rangemode="tozero")
    if highlight is not None and highlight in list(sd["program_area"]):
        i = list(sd["program_area"]).index(highlight)
        fig.add_shape(
            type="rect",
            xref="paper",
            yref="y",
            x0=0,
            x1=1,
            y0=i - 0.5,
            y1=i + 0.5,
            layer="below",
            line=dict(width=0),
            fillcolor="rgba(31,78,121,0.08)",
        )
    if selected is not None and selected in slugs:
        i = slugs.index(selected)
        fig.add_shape(
            type="rect",
            xref="paper",
            yref="y",
            x0=0,
            x1=1,
            y0=i - 0.5,
            y1=i + 0.5,
            line=dict(width=2, color=INK),
            fillcolor="rgba(0,0,0,0)",
        )
    return fig
