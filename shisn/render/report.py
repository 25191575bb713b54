"""The printable state report: one self-contained HTML file from a `profile.StateProfile`.

Self-contained on purpose (closed networks): inline CSS, charts as inline SVG drawn here, system fonts only; no
script, no link, no external image, font or stylesheet. Every piece of user text (notes, names, other-area names,
program manager) goes through `esc`. Prints on A4 and Letter (`@media print`, sections kept whole).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from shisn.domain import catalog, safe_text
from shisn.domain.profile import COLOURS, LEVEL_COLOURS, LEVEL_TEXT, StateProfile, fmt

FACILITATIONS_LINE = "No open exchanges: a program manager can open one from the Pairings or Exchanges page."
DEMO_LABEL = "SYNTHETIC DEMO DATA"


def _when(value) -> str:
    if value is None or pd.isna(value):
        return "no data loaded"
    return pd.Timestamp(value).strftime("%d %b %Y, %H:%M")


# ---------------------------------------------------------------------------------------------------------------
# SVG charts
# ---------------------------------------------------------------------------------------------------------------


def maturity_svg(p: StateProfile, width: int = 720) -> str:
    """Horizontal grouped bars per area: the state, its FEMA-region median and the national median, on 0-5."""
    t = p.table
    label_w, right_pad, top, bar_h, gap, group_gap = 200, 36, 34, 9, 2, 12
    plot_w = width - label_w - right_pad
    group_h = 3 * bar_h + 2 * gap
    height = top + len(t) * (group_h + group_gap) + 22

    def x(v: float) -> float:
        return label_w + plot_w * float(v) / catalog.MAX_LEVEL

    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-labelledby="mat-title">',
        f'<title id="mat-title">Maturity by program area, {safe_text.html(p.name)} {p.cycle}, '
        f"against the {safe_text.html(p.region_label)} and national medians</title>",
    ]
    # legend
    lx = label_w
    for key, text in (("state", p.name), ("region", f"{p.region_label} median"), ("national", "National median")):
        out.append(f'<rect x="{lx}" y="8" width="12" height="12" rx="2" fill="{COLOURS[key]}"/>')
        out.append(f'<text x="{lx + 17}" y="18" class="legend">{safe_text.html(text)}</text>')
        lx += 24 + 7.2 * len(text)
    # grid
    bottom = height - 20
    for v in range(0, catalog.MAX_LEVEL + 1):
        out.append(f'<line x1="{x(v):.1f}" y1="{top - 4}" x2="{x(v):.1f}" y2="{bottom}" class="grid"/>')
        out.append(f'<text x="{x(v):.1f}" y="{bottom + 14}" class="tick" text-anchor="middle">{v}</text>')
    for i, r in enumerate(t.itertuples(index=False)):
        y0 = top + i * (group_h + group_gap)
        out.append(
            f'<text x="{label_w - 8}" y="{y0 + group_h / 2 + 4:.1f}" class="area" '
            f'text-anchor="end">{safe_text.html(_clip(r.short, 30))}</text>'
        )
        for j, (key, value) in enumerate(
            (("state", r.maturity), ("region", r.region_median), ("national", r.national_median))
        ):
            y = y0 + j * (bar_h + gap)
            if value is None or pd.isna(value):
                if key == "state" and not p.reported:
                    continue  # no row at all in the cycle: the lead above says so once
                note = "not reported" if key == "state" else "no median"
                if r.program_area == catalog.OTHER and key != "state":
                    if key == "national":
                        continue
                    note = "no median: each state’s “other” area is its own"
                out.append(f'<text x="{label_w + 4}" y="{y + bar_h - 1}" class="na">{note}</text>')
                continue
            w = x(value) - label_w
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="1.5" fill="{COLOURS[key]}"/>')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 1}" class="val">{fmt(value)}</text>')
    out.append("</svg>")
    return "".join(out)


def sparkline_svg(values: list, cycles: list[int], width: int = 150, height: int = 34) -> str:
    """A small line over the cycles on the 1-5 scale; gaps where an area was not reported."""
    pad_x, pad_y = 6, 5
    n = len(cycles)

    def x(i):
        return pad_x + (width - 2 * pad_x) * (i / (n - 1) if n > 1 else 0.5)

    def y(v):
        return height - pad_y - (height - 2 * pad_y) * (float(v) - 1) / (catalog.MAX_LEVEL - 1)

    out = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-hidden="true">',
        f'<line x1="{pad_x}" y1="{y(3):.1f}" x2="{width - pad_x}" y2="{y(3):.1f}" class="mid"/>',
    ]
    segment: list[str] = []
    segments = []
    for i, v in enumerate(values):
        if v is None or pd.isna(v):
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    for s in segments:
        if len(s) > 1:
            out.append(f'<polyline points="{" ".join(s)}" fill="none" stroke="{COLOURS["state"]}" stroke-width="1.8"/>')
    for i, v in enumerate(values):
        if v is not None and not pd.isna(v):
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.6" fill="{COLOURS["state"]}"/>')
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _level_cell(value) -> str:
    if value is None or pd.isna(value):
        return '<td class="lvl empty"></td>'
    v = int(value)
    return (
        f'<td class="lvl" style="background:{LEVEL_COLOURS[v]};color:{LEVEL_TEXT[v]}" '
        f'title="{safe_text.html(catalog.level_name(v))}">{v}</td>'
    )


# ---------------------------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------------------------


def _maturity_section(p: StateProfile) -> str:
    rows = []
    for r in p.table.itertuples(index=False):
        band = r.band if r.reported else "not reported"
        rows.append(
            f'<tr data-area="{safe_text.html(r.program_area)}"><th scope="row">{safe_text.html(r.area)}</th>'
            f'<td class="num state">{fmt(r.maturity)}</td><td class="num">{fmt(r.region_median)}</td>'
            f'<td class="num">{fmt(r.national_median)}</td><td class="band {band.replace(" ", "-")}">{safe_text.html(band)}</td>'
            f"</tr>"
        )
    if p.reported:
        lead = f'<p class="lead">{safe_text.html(p.summary_text)}</p>'
    else:
        last = (
            f"its latest self-assessment is from {p.latest_reported}"
            if p.latest_reported
            else "it has not submitted a self-assessment yet"
        )
        lead = (
            f'<p class="lead"><strong>No self-assessment for {p.cycle}</strong>: {last}. The national and '
            f"{safe_text.html(p.region_label)} medians are shown for reference.</p>"
        )
    own = f" (the region median includes {safe_text.html(p.name)})" if p.reported else ""
    return (
        f'<section id="maturity-section"><h2>Maturity by program area, {p.cycle}</h2>{lead}'
        f"{maturity_svg(p)}"
        f'<table id="maturity" class="data"><thead><tr><th>Program area</th><th class="num">{safe_text.html(p.state)}</th>'
        f'<th class="num">{safe_text.html(p.region_label)} median</th><th class="num">National median</th><th>Band</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<p class="fine">Medians are over the jurisdictions that reported each area in {p.cycle}'
        f"{own}; each state’s “other” area is "
        f"its own, so it has no median. Scale: 1 Not started · 2 Developing · 3 Established · 4 Advanced · "
        f"5 Nationally leading. Strength 4–5, gap 1–2.</p></section>"
    )


def _poete_section(p: StateProfile) -> str:
    if not p.reported:
        return ""
    if not p.has_poete:
        body = f'<p class="muted">No POETE sub-ratings were given for {p.cycle}.</p>'
    else:
        head = "".join(f'<th class="lvl">{safe_text.html(c)}</th>' for c in p.poete.columns)
        rows = []
        for area, r in p.poete.iterrows():
            rows.append(
                f'<tr data-area="{safe_text.html(area)}"><th scope="row">{safe_text.html(area)}</th>'
                + "".join(_level_cell(v) for v in r)
                + "</tr>"
            )
        body = (
            f'<table id="poete" class="data heat"><thead><tr><th>Program area</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
            '<p class="fine">Planning, Organization, Equipment, Training, Exercises sub-ratings (1–5); '
            "blank where not given.</p>"
        )
    return f'<section id="poete-section"><h2>POETE sub-ratings</h2>{body}</section>'


def _trend_section(p: StateProfile) -> str:
    if p.trend is None or p.trend.empty:
        return ""
    cycles = list(p.trend.columns)
    head = "".join(f'<th class="num">{c}</th>' for c in cycles)
    change = {} if p.changes is None else dict(zip(p.changes["short"], p.changes["change"]))
    rows = []
    for area, r in p.trend.iterrows():
        values = list(r)
        ch = change.get(area, "")
        mark = {"improved": "▲ improved", "slipped": "▼ slipped", "unchanged": "unchanged", "new": "new"}.get(ch, "")
        rows.append(
            f'<tr data-area="{safe_text.html(area)}"><th scope="row">{safe_text.html(area)}</th>'
            f'<td class="spark-cell">{sparkline_svg(values, cycles)}</td>'
            + "".join(f'<td class="num">{fmt(v)}</td>' for v in values)
            + f'<td class="chg {safe_text.html(ch)}">{safe_text.html(mark)}</td></tr>'
        )
    return (
        f'<section id="trend-section" class="flow"><h2>Trend across cycles</h2>'
        f'<p class="lead">{safe_text.html(p.trend_text)}</p>'
        f'<table id="trend" class="data"><thead><tr><th>Program area</th><th>{cycles[0]}–{cycles[-1]}</th>'
        f"{head}<th>Since {p.since if p.since else '—'}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )


def _yes(flag: bool) -> str:
    return "Yes" if flag else "—"


def _offers_section(p: StateProfile) -> str:
    t = p.table[p.table["reported"]]
    if t.empty:
        return ""
    rows = []
    for r in t.itertuples(index=False):
        offer = _yes(r.offers_help)
        if r.offers_help and r.offer_note:
            offer += f'<div class="note warn">Not eligible to mentor: {safe_text.html(r.offer_note)}</div>'
        rows.append(
            f'<tr data-area="{safe_text.html(r.program_area)}"><th scope="row">{safe_text.html(r.short)}</th>'
            f'<td class="num">{fmt(r.maturity)}</td><td>{offer}</td><td>{_yes(r.seeks_help)}</td>'
            f'<td class="notes">{safe_text.html(r.notes)}</td></tr>'
        )
    return (
        '<section id="offers-section" class="flow"><h2>What it offers and seeks</h2>'
        '<table id="offers" class="data"><thead><tr><th>Program area</th><th class="num">Maturity</th>'
        "<th>Offers help</th><th>Seeks help</th><th>Notes</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


MENTEES_LISTED = 5  # per area in the report; the rest follow on one line, numbers included


def _partner_rows(df: pd.DataFrame, table_id: str, who: str, listed: int | None = None) -> str:
    rows = []
    for area, g in df.groupby("short", sort=False):
        shown, rest = (g, g.iloc[:0]) if listed is None else (g.iloc[:listed], g.iloc[listed:])
        span = len(shown) + (1 if len(rest) else 0)
        for i, r in enumerate(shown.itertuples(index=False)):
            area_cell = f'<th scope="rowgroup" rowspan="{span}">{safe_text.html(area)}</th>' if i == 0 else ""
            note = f'<div class="note">“{safe_text.html(r.partner_notes)}”</div>' if r.partner_notes else ""
            rows.append(
                f'<tr data-area="{safe_text.html(r.program_area)}" data-partner="{safe_text.html(r.partner)}">{area_cell}'
                f"<td><strong>{safe_text.html(r.partner_name)}</strong> ({safe_text.html(r.partner)})</td>"
                f'<td class="num">{fmt(r.partner_maturity)}</td><td class="num">{r.score:.2f}</td>'
                f"<td>{safe_text.html(r.why)}{note}</td></tr>"
            )
        if len(rest):
            more = "; ".join(
                f'<span data-partner="{safe_text.html(r.partner)}" data-maturity="{fmt(r.partner_maturity)}" '
                f'data-score="{r.score:.2f}">{safe_text.html(r.partner_name)} ({fmt(r.partner_maturity)}, match '
                f"{r.score:.2f})</span>"
                for r in rest.itertuples(index=False)
            )
            rows.append(
                f'<tr class="more" data-area="{safe_text.html(rest["program_area"].iloc[0])}"><td colspan="4">'
                f'<span class="more-label">Also seeking guidance ({len(rest)}):</span> {more}</td></tr>'
            )
    return (
        f'<table id="{table_id}" class="data partners"><thead><tr><th>Program area</th><th>{safe_text.html(who)}</th>'
        '<th class="num">Maturity</th><th class="num">Match</th><th>Why this match</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _partners_section(p: StateProfile) -> str:
    parts = [f"<h3>Who could help {safe_text.html(p.name)}</h3>"]
    if p.mentors is not None and len(p.mentors):
        parts.append(
            '<p class="fine">For each area it seeks help in or rates 1–2: the best eligible mentors '
            f"(offer help, maturity {catalog.MENTOR_MIN}+), up to three.</p>"
        )
        parts.append(_partner_rows(p.mentors, "mentors", "Mentor"))
    elif p.reported:
        parts.append(
            f'<p class="muted">{safe_text.html(p.name)} seeks no help and has no gaps in {p.cycle}.</p>'
            if not p.unmatched
            else ""
        )
    if p.unmatched:
        parts.append(
            f'<p class="muted">No eligible mentor (offering help and rated above {safe_text.html(p.name)}) in '
            f"{p.cycle} for: {safe_text.html('; '.join(p.unmatched))}.</p>"
        )
    parts.append(f"<h3>Who {safe_text.html(p.name)} could help</h3>")
    if p.mentees is not None and len(p.mentees):
        parts.append(
            '<p class="fine">States seeking guidance in the areas where it offers help and is an eligible '
            "mentor, best match first.</p>"
        )
        parts.append(_partner_rows(p.mentees, "mentees", "Seeking guidance", MENTEES_LISTED))
    else:
        parts.append(
            f'<p class="muted">No state is seeking guidance in an area where {safe_text.html(p.name)} offers help and '
            "is an eligible mentor.</p>"
        )
    return f'<section id="partners-section" class="flow"><h2>Recommended partners</h2>{"".join(parts)}</section>'


CSS = """
:root { --ink:#1f2328; --muted:#5b6470; --line:#d6dbe1; --soft:#f4f6f8; --accent:#1d4e89; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #e9edf1; color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans",
             "Noto Sans", sans-serif; }
.page { max-width: 820px; margin: 24px auto; background: #fff; padding: 36px 44px 28px;
        box-shadow: 0 1px 4px rgba(0,0,0,.12); border-radius: 4px; }
.demo { border: 2px solid #b3261e; color: #b3261e; font-weight: 700; letter-spacing: .06em; text-align: center;
        padding: 6px 10px; margin-bottom: 18px; border-radius: 3px; }
.demo span { font-weight: 400; letter-spacing: 0; }
.kicker { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .08em; }
h1 { font-size: 28px; margin: 4px 0 10px; line-height: 1.15; }
h1 .code { color: var(--muted); font-weight: 400; }
h2 { font-size: 17px; margin: 0 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 14px; margin: 14px 0 4px; }
.meta { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px 18px; margin: 12px 0 4px; padding: 10px 12px;
        background: var(--soft); border-radius: 4px; font-size: 13px; }
.meta div span { display: block; color: var(--muted); font-size: 11px; text-transform: uppercase;
                 letter-spacing: .05em; }
section { margin-top: 22px; break-inside: avoid-page; }
section.flow { break-inside: auto; }
.lead { margin: 6px 0 10px; }
.fine { color: var(--muted); font-size: 11.5px; margin: 6px 0 0; }
.muted { color: var(--muted); }
svg.chart { display: block; margin: 6px 0 10px; font-family: inherit; }
svg text { fill: var(--ink); font-size: 11.5px; }
svg text.legend { font-size: 12px; }
svg text.tick, svg text.na { fill: var(--muted); font-size: 10.5px; }
svg text.val { font-size: 10.5px; }
svg .grid { stroke: #e3e7ec; stroke-width: 1; }
svg .mid { stroke: #e3e7ec; stroke-dasharray: 2 2; }
table.data { width: 100%; border-collapse: collapse; font-size: 12.5px; }
table.data th, table.data td { padding: 4px 6px; border-bottom: 1px solid var(--line); text-align: left;
                               vertical-align: top; }
table.data thead th { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
                      border-bottom: 1.5px solid #aab3bd; vertical-align: bottom; }
table.data tbody th { font-weight: 600; }
table.data tr { break-inside: avoid; }
.num { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.state { font-weight: 700; color: var(--accent); }
td.band.strength { color: #1d4e89; font-weight: 600; }
td.band.gap { color: #b0461a; font-weight: 600; }
td.band { white-space: nowrap; }
td.band.not-reported { color: var(--muted); }
table.heat td.lvl, table.heat th.lvl { text-align: center; width: 13%; }
table.heat td.lvl { font-weight: 600; border: 2px solid #fff; }
table.heat td.empty { background: #fafbfc; }
td.spark-cell { padding: 0 6px; width: 160px; }
td.chg.improved { color: #1d6b3a; font-weight: 600; }
td.chg.slipped { color: #b0461a; font-weight: 600; }
td.chg { white-space: nowrap; color: var(--muted); }
td.notes, .note { white-space: pre-wrap; overflow-wrap: anywhere; }
.note { color: var(--muted); font-size: 11.5px; margin-top: 2px; }
.note.warn { color: #8a4b00; }
tr.more td { font-size: 11.5px; color: var(--muted); }
.more-label { font-weight: 600; }
table#trend td, table#trend th { vertical-align: middle; }
table.partners tbody th { width: 22%; }
footer { margin-top: 26px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted);
         font-size: 11px; display: flex; justify-content: space-between; gap: 12px; }
@page { margin: 14mm 13mm 16mm; }
@media print {
  body { background: #fff; font-size: 12px; }
  .page { max-width: none; margin: 0; padding: 0; box-shadow: none; border-radius: 0; }
  section { margin-top: 16px; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"""


def render(p: StateProfile, status: dict, generated: dt.datetime | None = None, exchanges=None) -> str:
    """The report as one HTML document. Only for a profile built with detail (the viewer sees this state in full)."""
    if not p.detail:
        raise PermissionError("the state report is only for viewers who see this state in detail")
    generated = generated or dt.datetime.now().replace(microsecond=0)
    demo = (
        (
            f'<div class="demo">{DEMO_LABEL} <span>· every figure comes from a generated data set; no state\'s '
            "real self-assessment is shown</span></div>"
        )
        if status.get("is_demo")
        else ""
    )
    pm = p.program_manager
    pm_html = f"{safe_text.html(pm['name'])}<br>{safe_text.html(pm['email'])}" if pm else "not assigned"
    meta = [
        ("Assessment cycle", str(p.cycle)),
        ("FEMA region", safe_text.html(p.region_label)),
        ("Population (2020 Census)", f"{p.population:,}"),
        ("Data as of", safe_text.html(_when(status.get("last_loaded")))),
        ("Cycles on record", safe_text.html(", ".join(str(c) for c in sorted(p.reported_cycles)) or "none")),
        ("ODP program manager", pm_html),
    ]
    meta_html = "".join(f"<div><span>{k}</span>{v}</div>" for k, v in meta)
    if p.reported:
        body = _maturity_section(p) + _poete_section(p) + _trend_section(p) + _offers_section(p) + _partners_section(p)
    else:
        body = _maturity_section(p) + _trend_section(p)
    if exchanges is not None and len(exchanges):
        head = "".join(f"<th>{safe_text.html(c)}</th>" for c in exchanges.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{safe_text.html(v)}</td>" for v in r) + "</tr>"
            for r in exchanges.itertuples(index=False)
        )
        ex_html = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    else:
        ex_html = f'<p class="muted">{FACILITATIONS_LINE}</p>'
    body += f'<section id="exchanges-section"><h2>Open exchanges</h2>{ex_html}</section>'
    title = f"{p.name} ({p.state}) · State profile {p.cycle}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{safe_text.html(title)}</title><style>{CSS}</style></head><body><main class="page">'
        f'{demo}<div class="kicker">State Homeland Security Information Sharing Network · State profile</div>'
        f'<h1>{safe_text.html(p.name)} <span class="code">({safe_text.html(p.state)})</span></h1>'
        f'<div class="meta">{meta_html}</div>{body}'
        f"<footer><span>shisn · prepared {safe_text.html(generated.strftime('%d %b %Y, %H:%M'))} · data as of "
        f"{safe_text.html(_when(status.get('last_loaded')))} · cycle {p.cycle}"
        f"{' · ' + DEMO_LABEL if status.get('is_demo') else ''}</span>"
        f"<span>Includes the state’s own notes and contacts: share with care</span></footer>"
        f"</main></body></html>"
    )


def file_name(p: StateProfile) -> str:
    return f"shisn-state-profile-{p.state}-{p.cycle}.html"
