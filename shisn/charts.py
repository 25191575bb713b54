"""Plotly figures for the national view. No data access: DataFrames (from `shisn.coverage`) in, figures out.

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

from . import catalog

MATURITY_HEX = ("#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6")
NO_DATA_HEX = "#c8c8c8"
SUPPLY_HEX = "#2c7bb6"   # eligible mentors (strength)
DEMAND_HEX = "#fdae61"   # states seeking guidance
UNMET_HEX = "#d7191c"    # needs no state can mentor (→ TA)
INK = "#262730"
ROW_PX = 18
MATURITY_COLORSCALE = [[i / 4, c] for i, c in enumerate(MATURITY_HEX)]
FONT = dict(family="Source Sans, Source Sans Pro, sans-serif", size=13, color=INK)


def _colorbar() -> dict:
    """A compact horizontal scale under the plot (the map's legend spells out the level names)."""
    title = (f"Maturity: 1 {catalog.level_name(1)} · 3 {catalog.level_name(3)} · "
             f"5 {catalog.level_name(5)}")
    return dict(orientation="h", title=dict(text=title, side="top", font=dict(size=12)), tickvals=[1, 2, 3, 4, 5],
                lenmode="pixels", len=300, thickness=12, x=0, xanchor="left", y=0, yanchor="top", ypad=10,
                outlinewidth=0, tickfont=dict(size=12))


@lru_cache(maxsize=8192)  # the same notes are wrapped on every rerun
def _wrap(text: str, width: int = 60) -> str:
    return "<br>".join(html.escape(line) for line in textwrap.wrap(text, width)) if text else ""


_LEVEL_LINES = {v: f"Maturity {v} · {html.escape(catalog.level_name(v))}"
                for v in range(catalog.MIN_LEVEL, catalog.MAX_LEVEL + 1)}


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


def jurisdiction_heatmap(m: pd.DataFrame, names: dict[str, str], details: pd.DataFrame | None = None,
                         groups: list[str] | None = None, highlight: str | None = None) -> go.Figure:
    """Jurisdictions (rows, in the order given) × program areas (columns): maturity 1-5, grey where not reported.
    `details` (from `coverage.cell_details`) feeds the hover; `groups` (one label per row, e.g. the FEMA region
    when sorted by region) draws separators and labels; `highlight` outlines one area's column."""
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
    hover = np.array([[_hover_text(rh + ch, v, d) for ch, v, d in zip(col_heads, zrow, drow)]
                      for rh, zrow, drow in zip(row_heads, zl, det.tolist())], dtype=object).reshape(z.shape)
    missing = np.where(np.isnan(z), 0.0, np.nan)
    # The grey layer hovers only on its own (not reported) cells: its other cells would repeat the maturity
    # layer's text (twice the data sent to the browser for nothing).
    hover_missing = np.where(np.isnan(z), hover, "").astype(object)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=missing, x=x, y=y, colorscale=[[0, NO_DATA_HEX], [1, NO_DATA_HEX]], showscale=False,
                             hoverinfo="text", hovertext=hover_missing, hoverongaps=False, xgap=2, ygap=2,
                             name="not reported"))
    fig.add_trace(go.Heatmap(z=z, x=x, y=y, zmin=1, zmax=5, colorscale=MATURITY_COLORSCALE, colorbar=_colorbar(),
                             hoverinfo="text", hovertext=hover, xgap=2, ygap=2, name="maturity"))
    height = max(300, ROW_PX * len(rows) + 210)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=120, b=80), font=FONT, plot_bgcolor="white",
                      paper_bgcolor="white", hoverlabel=dict(bgcolor="white", font_size=13, align="left"),
                      showlegend=False)
    fig.update_xaxes(side="top", tickangle=-40, showgrid=False, fixedrange=True, ticks="")
    fig.update_yaxes(autorange="reversed", showgrid=False, fixedrange=True, ticks="", tickfont=dict(size=12),
                     categoryorder="array", categoryarray=y)
    if highlight in cols:
        j = cols.index(highlight)
        fig.add_shape(type="rect", xref="x", yref="paper", x0=j - 0.5, x1=j + 0.5, y0=0, y1=1,
                      line=dict(color=INK, width=2), fillcolor="rgba(0,0,0,0)")
    if groups:
        _group_bands(fig, groups, len(cols))
    return fig


def _group_bands(fig: go.Figure, groups: list[str], ncols: int) -> None:
    start = 0
    for i in range(1, len(groups) + 1):
        if i == len(groups) or groups[i] != groups[start]:
            if i < len(groups):
                fig.add_shape(type="line", xref="paper", yref="y", x0=-0.01, x1=1, y0=i - 0.5, y1=i - 0.5,
                              line=dict(color=INK, width=1.5))
            fig.add_annotation(xref="paper", yref="y", x=1.0, xanchor="left", y=(start + i - 1) / 2,
                               text=html.escape(groups[start]), showarrow=False, xshift=6,
                               font=dict(size=11, color="#555"))
            start = i
    fig.update_layout(margin=dict(r=90))


def region_heatmap(summary: pd.DataFrame) -> go.Figure:
    """FEMA regions × program areas from `coverage.region_summary`: colour and number = median maturity; hover
    adds reporting states, eligible mentors, needs and needs with no mentor."""
    areas = list(dict.fromkeys(summary["program_area"]))
    regions = list(dict.fromkeys(summary["region_label"]))
    piv = {c: summary.pivot(index="region_label", columns="program_area", values=c).reindex(index=regions,
                                                                                            columns=areas)
           for c in ("median", "states", "mentors", "needs", "uncovered")}
    z = piv["median"].to_numpy(dtype=float)
    x = [catalog.area_short(a) for a in areas]
    text = [["" if np.isnan(v) else (f"{v:.1f}" if v % 1 else f"{int(v)}") for v in row] for row in z]
    hover = [[(f"<b>{html.escape(regions[i])}</b> · {html.escape(x[j])}<br>"
               + ("No state reported" if np.isnan(z[i, j]) else
                  f"Median maturity {text[i][j]} ({int(piv['states'].iat[i, j])} reporting)")
               + f"<br>Eligible mentors: {int(piv['mentors'].iat[i, j])}"
               + f"<br>Needs: {int(piv['needs'].iat[i, j])}"
               + f" · with no eligible mentor: {int(piv['uncovered'].iat[i, j])}")
              for j in range(len(areas))] for i in range(len(regions))]
    missing = np.where(np.isnan(z), 0.0, np.nan)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=missing, x=x, y=regions, colorscale=[[0, NO_DATA_HEX], [1, NO_DATA_HEX]],
                             showscale=False, hoverinfo="text", hovertext=hover, xgap=2, ygap=2))
    fig.add_trace(go.Heatmap(z=z, x=x, y=regions, zmin=1, zmax=5, colorscale=MATURITY_COLORSCALE, showscale=False,
                             text=text, texttemplate="%{text}", textfont=dict(size=12, color=INK),
                             hoverinfo="text", hovertext=hover, xgap=2, ygap=2))
    fig.update_layout(height=max(200, 30 * len(regions) + 130), margin=dict(l=10, r=10, t=100, b=10), font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white",
                      hoverlabel=dict(bgcolor="white", font_size=13, align="left"))
    fig.update_xaxes(side="top", tickangle=-40, showgrid=False, fixedrange=True, ticks="")
    fig.update_yaxes(autorange="reversed", showgrid=False, fixedrange=True, ticks="")
    return fig


def supply_demand_bars(sd: pd.DataFrame, highlight: str | None = None) -> go.Figure:
    """Per program area (from `coverage.supply_demand`): eligible mentors vs states seeking guidance, and the needs
    no state can mentor (→ TA), as grouped horizontal bars."""
    y = list(sd["label"])
    fig = go.Figure()
    series = [("eligible", "Eligible mentors", SUPPLY_HEX),
              ("seekers", "States seeking guidance", DEMAND_HEX),
              ("uncovered", "Needs no state can mentor (→ TA)", UNMET_HEX)]
    for col, name, color in series:
        fig.add_trace(go.Bar(y=y, x=sd[col], name=name, orientation="h", marker=dict(color=color, line_width=0),
                             text=[str(v) if v else "" for v in sd[col]], textposition="outside", cliponaxis=False,
                             textfont=dict(size=11), constraintext="none",
                             hovertemplate=f"%{{y}}<br>{html.escape(name)}: %{{x}}<extra></extra>"))
    fig.update_layout(barmode="group", bargap=0.28, bargroupgap=0.05, height=max(300, 46 * len(y) + 90),
                      margin=dict(l=10, r=30, t=40, b=10), font=FONT, plot_bgcolor="white", paper_bgcolor="white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, font=dict(size=12)))
    fig.update_yaxes(autorange="reversed", fixedrange=True, ticks="", categoryorder="array", categoryarray=y)
    fig.update_xaxes(title="Jurisdictions", fixedrange=True, showgrid=True, gridcolor="#eeeeee", rangemode="tozero")
    if highlight is not None and highlight in list(sd["program_area"]):
        i = list(sd["program_area"]).index(highlight)
        fig.add_shape(type="rect", xref="paper", yref="y", x0=0, x1=1, y0=i - 0.5, y1=i + 0.5, layer="below",
                      line=dict(width=0), fillcolor="rgba(31,78,121,0.08)")
    return fig
