"""The State profile page's charts (plotly): maturity against the region and nation, the trend over cycles and the
POETE sub-ratings. The printable report draws the same charts as inline SVG (shisn.render.report)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from shisn.domain.profile import COLOURS, LEVEL_COLOURS, StateProfile, fmt


def maturity_figure(p: StateProfile):
    """Grouped horizontal bars per area: the state, its FEMA-region median and the national median (0-5)."""
    t = p.table
    some = bool(t["reported"].any())  # with no row at all in the cycle, the page says so once
    labels = [s if rep or not some else f"{s} · not reported" for s, rep in zip(t["short"], t["reported"])]
    fig = go.Figure()
    series = (
        ("state", p.name, t["maturity"].astype("Float64")),
        ("region", f"{p.region_label} median", t["region_median"]),
        ("national", "National median", t["national_median"]),
    )
    for key, name, values in series:
        vals = [None if pd.isna(v) else float(v) for v in values]
        fig.add_bar(
            y=labels,
            x=vals,
            name=name,
            orientation="h",
            marker_color=COLOURS[key],
            text=[fmt(v) if v is not None else "" for v in vals],
            textposition="outside",
            cliponaxis=False,
            customdata=list(t["area"]),
            hovertemplate="%{customdata}<br>" + name.replace("%", "%%") + ": %{x}<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        bargap=0.28,
        bargroupgap=0.06,
        height=90 + 62 * len(t),
        margin=dict(l=8, r=24, t=36, b=8),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, traceorder="normal"),
        plot_bgcolor="white",
        uniformtext=dict(minsize=9, mode="show"),
    )
    fig.update_xaxes(
        range=[0, 5.4],
        dtick=1,
        showgrid=True,
        gridcolor="#e6e9ee",
        zeroline=False,
        title=None,
        tickvals=[0, 1, 2, 3, 4, 5],
    )
    fig.update_yaxes(autorange="reversed", title=None, ticksuffix="  ")
    return fig


def _level_heatmap(t: pd.DataFrame, x: list, **xaxis):
    """Levels 1-5 as a heatmap (rows of `t` × `x`), the value written in each cell, blank where not given."""
    z = [[None if pd.isna(v) else int(v) for v in row] for row in t.to_numpy()]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=list(t.index),
            zmin=0.5,
            zmax=5.5,
            colorscale=_level_scale(),
            text=[["" if v is None else str(v) for v in row] for row in z],
            texttemplate="%{text}",
            textfont=dict(size=14),
            xgap=3,
            ygap=3,
            showscale=False,
            hoverongaps=False,
            hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(height=70 + 40 * len(t), margin=dict(l=8, r=8, t=30, b=8), plot_bgcolor="white")
    fig.update_xaxes(side="top", type="category", title=None, showgrid=False, **xaxis)
    fig.update_yaxes(autorange="reversed", title=None, ticksuffix="  ", showgrid=False)
    return fig


def trend_figure(p: StateProfile):
    """Heatmap of the state's maturity by area × cycle, the value in each cell (blank where not reported)."""
    return _level_heatmap(p.trend, [str(c) for c in p.trend.columns])


def poete_figure(p: StateProfile):
    """Heatmap of the POETE sub-ratings: areas × Planning ... Exercises, blank where not given."""
    return _level_heatmap(p.poete, list(p.poete.columns), tickangle=0, tickfont=dict(size=11))


def _level_scale() -> list:
    """A discrete plotly colour scale for levels 1-5 on zmin=0.5 .. zmax=5.5."""
    scale = []
    for level, colour in LEVEL_COLOURS.items():
        scale += [[(level - 1) / 5, colour], [level / 5, colour]]
    return scale
