"""The printable cycle report for leadership: one self-contained HTML file for one assessment cycle.

Like the state report (`shisn/render/report.py`, whose stylesheet it shares): inline CSS, charts as inline SVG drawn here,
system fonts only; no script, no link, no external image, font or stylesheet, so it opens and prints on a closed
network. Every value that could carry user text goes through `esc`.

Sections: headline KPIs; coverage by program area and by FEMA region (`shisn.domain.coverage`); impact as known when the
cycle was reported (`shisn.services.impact`, with the plain-words explanation); the network's health for the exchanges raised
in the cycle; the top needs no state can mentor.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from shisn.domain import coverage, safe_text
from shisn.render.report import CSS as REPORT_CSS
from shisn.render.report import DEMO_LABEL
from shisn.services import impact

TOP_UNCOVERED = 15
COLOURS = {"covered": "#1d4e89", "uncovered": "#d08c2a", "interval": "#1d4e89", "zero": "#8a939d"}

CSS = (
    REPORT_CSS
    + """
table#impact td, table#impact-by-cycle td { white-space: nowrap; }
table#impact td:last-child, table#impact-by-cycle td:last-child { white-space: normal; min-width: 90px; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 10px 0 4px; }
.kpi { border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; }
.kpi b { display: block; font-size: 20px; line-height: 1.2; }
.kpi span { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.kpi small { display: block; color: var(--muted); font-size: 11px; }
.method { background: var(--soft); border-left: 3px solid var(--accent); padding: 8px 12px; font-size: 12.5px; }
.method p { margin: 4px 0; }
td.too-few { color: var(--muted); font-style: italic; }
"""
)


def _num(v, digits: int = 0, suffix: str = "") -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{float(v):,.{digits}f}{suffix}"


def _table(df: pd.DataFrame, table_id: str, numeric: set[str] = frozenset(), classes: dict | None = None) -> str:
    head = "".join(
        f'<th class="num">{safe_text.html(c)}</th>' if c in numeric else f"<th>{safe_text.html(c)}</th>"
        for c in df.columns
    )
    body = []
    for r in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, r):
            cls = ["num"] if c in numeric else []
            if classes and c in classes and classes[c](v):
                cls.append(classes[c](v))
            cells.append(
                f'<td class="{" ".join(cls)}">{safe_text.html(v)}</td>' if cls else f"<td>{safe_text.html(v)}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table id="{table_id}" class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


# --- SVG charts -----------------------------------------------------------------------------------------------


def coverage_svg(sd: pd.DataFrame, width: int = 720) -> str:
    """Needs per program area as stacked bars: with an eligible mentor, and with none (→ TA)."""
    label_w, right, top, bar_h, gap = 190, 40, 30, 14, 7
    height = top + len(sd) * (bar_h + gap) + 10
    most = max(1, int((sd["covered"] + sd["uncovered"]).max()) if len(sd) else 1)
    plot = width - label_w - right

    def x(v):
        return label_w + plot * v / most

    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-labelledby="cov-title"><title id="cov-title">Needs per program '
        f"area: with an eligible mentor and with none</title>"
    ]
    lx = label_w
    for key, text in (("covered", "Needs with an eligible mentor"), ("uncovered", "Needs with none (→ TA)")):
        out.append(
            f'<rect x="{lx}" y="6" width="12" height="12" rx="2" fill="{COLOURS[key]}"/>'
            f'<text x="{lx + 17}" y="16" class="legend">{safe_text.html(text)}</text>'
        )
        lx += 30 + 7 * len(text)
    for i, r in enumerate(sd.itertuples(index=False)):
        y = top + i * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 3}" class="area" text-anchor="end">{safe_text.html(r.label)}</text>'
        )
        out.append(
            f'<rect class="bar covered" x="{label_w}" y="{y}" width="{x(r.covered) - label_w:.1f}" '
            f'height="{bar_h}" fill="{COLOURS["covered"]}"/>'
        )
        out.append(
            f'<rect class="bar uncovered" x="{x(r.covered):.1f}" y="{y}" '
            f'width="{x(r.covered + r.uncovered) - x(r.covered):.1f}" height="{bar_h}" '
            f'fill="{COLOURS["uncovered"]}"/>'
        )
        out.append(
            f'<text x="{x(r.covered + r.uncovered) + 4:.1f}" y="{y + bar_h - 3}" class="val">'
            f"{int(r.covered)} + {int(r.uncovered)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def impact_svg(comparison: pd.DataFrame, width: int = 720) -> str:
    """Each area's difference (dot) and 95% interval (line) around zero; 'too few to compare' where it applies."""
    label_w, right, top, row_h = 190, 30, 30, 22
    height = top + len(comparison) * row_h + 26
    finite = pd.concat([comparison["low"], comparison["high"]]).dropna().astype(float)
    span = max(1.0, float(finite.abs().max()) if len(finite) else 1.0)
    span = float(int(span * 2 + 0.999)) / 2  # round up to a half level
    plot = width - label_w - right

    def x(v):
        return label_w + plot * (float(v) + span) / (2 * span)

    out = [
        f'<svg class="chart" id="impact-chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-labelledby="imp-title imp-desc"><title id="imp-title">'
        f"Difference in mean rating change, mentees with an exchange minus like-for-like states without, with "
        f'95% intervals</title><desc id="imp-desc">{safe_text.html(chart_summary(comparison))}</desc>'
        # its own text styles, so it reads the same as an image on the page as inline in the report
        '<style>#impact-chart text{font-family:"Source Sans 3",Arial,sans-serif;font-size:11.5px;fill:#1f2933}'
        "#impact-chart .tick,#impact-chart .na{fill:#4f5b67;font-size:10.5px}"
        "#impact-chart .val{font-size:10.5px}</style>"
    ]
    bottom = height - 20
    ticks = [t / 2 for t in range(int(-span * 2), int(span * 2) + 1)]
    for t in ticks:
        cls = "zero" if t == 0 else "grid"
        out.append(
            f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{bottom}" class="{cls}" '
            f'stroke="{COLOURS["zero"] if t == 0 else "#e3e7ec"}"/>'
        )
        out.append(
            f'<text x="{x(t):.1f}" y="{bottom + 14}" class="tick" text-anchor="middle">'
            f"{impact.fmt_change(t) if t else '0'}</text>"
        )
    out.append(
        f'<text x="{x(-span):.1f}" y="{top - 12}" class="tick">← mentees moved less</text>'
        f'<text x="{x(span):.1f}" y="{top - 12}" class="tick" text-anchor="end">mentees moved more →</text>'
    )
    for i, r in enumerate(comparison.itertuples(index=False)):
        y = top + i * row_h + row_h / 2
        weight = ' font-weight="700"' if r.scope == impact.ALL else ""
        out.append(
            f'<text x="{label_w - 8}" y="{y + 4:.1f}" class="area" text-anchor="end"{weight}>'
            f"{safe_text.html(r.label)}</text>"
        )
        if not r.enough:
            out.append(
                f'<text x="{label_w + 4}" y="{y + 4:.1f}" class="na">{impact.TOO_FEW_TEXT} '
                f"({int(r.mentee_states)} mentee, {int(r.baseline_states)} baseline states)</text>"
            )
            continue
        out.append(
            f'<line class="interval" x1="{x(r.low):.1f}" y1="{y:.1f}" x2="{x(r.high):.1f}" y2="{y:.1f}" '
            f'stroke="{COLOURS["interval"]}" stroke-width="2.5" stroke-linecap="round"/>'
        )
        out.append(
            f'<circle class="difference" cx="{x(r.difference):.1f}" cy="{y:.1f}" r="4.5" fill="{COLOURS["interval"]}"/>'
        )
        out.append(
            f'<text x="{x(r.high) + 8:.1f}" y="{y + 4:.1f}" class="val">{impact.fmt_change(r.difference)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def chart_summary(comparison: pd.DataFrame) -> str:
    """The impact chart's text alternative: the headline and what the areas say."""
    overall = comparison[comparison["scope"] == impact.ALL]
    if len(overall):
        return impact.headline(overall.iloc[0]) + " " + impact.areas_sentence(comparison)
    return "; ".join(
        f"{r.label}: {impact.fmt_change(r.difference) if r.enough else 'too few'}"
        for r in comparison.itertuples(index=False)
    )


def explanation_html() -> str:
    """impact.EXPLANATION (Markdown: **bold**, *italic*, paragraphs) as HTML paragraphs."""
    paras = []
    for p in impact.EXPLANATION.split("\n\n"):
        h = safe_text.html(p)
        h = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", h)
        h = re.sub(r"\*(.+?)\*", r"<em>\1</em>", h)
        paras.append(f"<p>{h}</p>")
    return f'<div class="method">{"".join(paras)}</div>'


# --- the document ---------------------------------------------------------------------------------------------


def _kpis(items: list[tuple[str, str, str]]) -> str:
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi" data-kpi="{safe_text.html(label)}"><span>{safe_text.html(label)}</span><b>{safe_text.html(value)}</b>'
            f"<small>{safe_text.html(note)}</small></div>"
            for label, value, note in items
        )
        + "</div>"
    )


def render(
    cycle: int,
    rows: pd.DataFrame,
    figures: impact.Figures,
    status: dict,
    *,
    scope: str = "All jurisdictions",
    previous: pd.DataFrame | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The cycle report as one HTML document. `rows`: the cycle's assessment rows (`queries.assessments(con,
    cycle)`, as the viewer may see them); `figures`: `impact.figures(inputs, cycle=cycle)`; `status`:
    `queries.data_status`; `scope`: whose exchanges it covers (leadership: all; a PM: their states);
    `previous`: the previous cycle's rows, for the change in needs covered."""
    generated = generated or dt.datetime.now().replace(microsecond=0)
    k = coverage.kpis(rows)
    before = coverage.kpis(previous) if previous is not None and len(previous) else None
    h = figures.health
    overall = figures.by_area.iloc[-1]
    ex = h.exchanges
    demo = (
        (
            f'<div class="demo">{DEMO_LABEL} <span>· every figure comes from a generated data set; no state\'s '
            "real self-assessment or exchange is shown</span></div>"
        )
        if status.get("is_demo")
        else ""
    )
    covered = (
        f"{k['needs_covered']} · {k['covered_pct']:.0f}%" if k["covered_pct"] is not None else str(k["needs_covered"])
    )
    change = ""
    if before is not None and before["covered_pct"] is not None and k["covered_pct"] is not None:
        change = f"{k['covered_pct'] - before['covered_pct']:+.0f} pp on the previous cycle"
    diff = impact.fmt_change(overall["difference"]) if overall["enough"] else impact.TOO_FEW_TEXT
    kpis = _kpis(
        [
            ("Reporting", f"{k['reporting']} of {k['jurisdictions']}", "jurisdictions with a self-assessment"),
            ("Needs raised", str(k["needs"]), "state × area seeking guidance"),
            ("Needs with a mentor", covered, change or "an eligible mentor rated above the seeker"),
            ("Needs with none → TA", str(k["needs_uncovered"]), "no eligible mentor anywhere"),
            ("Exchanges raised", str(ex), f"{h.declined} declined · {len(h.stuck)} stuck"),
            (
                "Median days to first contact",
                _num(h.first_contact["median"]),
                f"90th percentile {_num(h.first_contact['p90'])} · n {h.first_contact['n']}",
            ),
            (
                "Mentee states compared",
                str(int(overall["mentee_states"])),
                f"{int(overall['compared'])} state-areas, against {int(overall['baseline_states'])} baseline states",
            ),
            (
                "Difference in rating change",
                diff,
                f"95% interval {impact.fmt_interval(overall['low'], overall['high'])}"
                if overall["enough"]
                else "counts only below the minimum",
            ),
        ]
    )

    # coverage
    sd = coverage.supply_demand(rows)
    sd_table = pd.DataFrame(
        {
            "Program area": sd["label"],
            "Eligible mentors": sd["eligible"],
            "Seeking guidance": sd["seekers"],
            "Needs with a mentor": sd["covered"],
            "Needs with none → TA": sd["uncovered"],
        }
    )
    regions = coverage.region_totals(rows)
    cov_html = (
        f'<section id="coverage-area-section"><h2>Coverage by program area, {cycle}</h2>'
        f"{coverage_svg(sd)}"
        + _table(
            sd_table,
            "coverage-area",
            {"Eligible mentors", "Seeking guidance", "Needs with a mentor", "Needs with none → TA"},
        )
        + '<p class="fine">A need has a mentor when another state offers help in the area at maturity 4 or '
        "higher and is rated above the seeker (from any region).</p></section>"
        f'<section id="coverage-region-section"><h2>Coverage by FEMA region, {cycle}</h2>'
        + _table(regions, "coverage-region", {"Mentors", "Needs", "→ TA"})
        + "</section>"
    )

    # impact
    num = {"Mentee states", "Baseline states", "State-areas", "Change with", "Change without"}
    too_few = {"Difference": lambda v: "too-few" if v == impact.TOO_FEW_TEXT else ""}
    by_cycle = _impact_table(figures.by_cycle, "Held in") if len(figures.by_cycle) else None
    waiting = int(overall["awaiting"])
    imp_html = (
        f'<section id="impact-section" class="flow"><h2>Impact: the mentees\' next ratings, as known in '
        f"{cycle}</h2>"
        f'<p class="lead">Exchanges held before {cycle} whose mentees rated the area again by {cycle}. '
        f"{safe_text.html(impact.headline(overall))}</p><p>{safe_text.html(impact.areas_sentence(figures.by_area))}</p>"
        f"{impact_svg(figures.by_area)}"
        + _table(_impact_table(figures.by_area), "impact", num, too_few)
        + '<p class="fine">Mentee states: states whose exchange was held, compared in the area; baseline '
        "states: like-for-like states without one (same area, starting cycle and starting rating); "
        "state-areas: the mentee state × area changes compared. Changes in rating levels (1–5 scale)."
        + (f" {waiting} mentee state-areas still await their next rating." if waiting else "")
        + (
            f" {int(overall['no_baseline'])} had no like-for-like state to compare with."
            if int(overall["no_baseline"])
            else ""
        )
        + (
            f" {int(overall['gap'])} were rated again only after a skipped cycle and are left out."
            if int(overall["gap"])
            else ""
        )
        + "</p>"
        + (
            ("<h3>By the year the exchanges were held</h3>" + _table(by_cycle, "impact-by-cycle", num, too_few))
            if by_cycle is not None
            else ""
        )
        + f"<h3>How to read this</h3>{explanation_html()}"
        + _useful_html(figures.useful)
        + "</section>"
    )

    # health
    reasons = h.decline_reasons.rename(columns={"reason": "Why declined", "exchanges": "Exchanges"})
    stuck = h.stuck.assign(last_change=h.stuck["last_change"].dt.strftime("%Y-%m-%d")).rename(
        columns={
            "exchange_id": "Exchange",
            "mentor": "Mentor",
            "mentee": "Mentee",
            "areas": "Program areas",
            "status": "Status",
            "last_change": "Last change",
            "days_without_change": "Days without change",
        }
    )
    cap = h.capacity
    cap_line = ""
    if len(cap):
        c = cap[cap["cycle"] == cycle]
        if len(c):
            c = c.iloc[0]
            used = None if c["share_used"] is None or pd.isna(c["share_used"]) else c["share_used"] * 100
            cap_line = (
                f"<li>Mentor capacity used: <strong>{_num(used)}%</strong> ({int(c['areas_mentored'])} areas mentored of {int(c['capacity'])}: "
                f"{int(c['eligible_mentors'])} eligible mentor states × {impact.DEFAULT_CAPACITY}); "
                f"{int(c['mentoring'])} states mentoring"
                + (f"; at capacity: {safe_text.html(c['at_capacity'])}" if c["at_capacity"] else "")
                + "</li>"
            )
    refs = h.referrals
    ref_line = ""
    if len(refs):
        r = refs[refs["cycle"] == cycle]
        if len(r):
            r = r.iloc[0]
            ref_line = (
                f"<li>Needs referred to technical assistance: <strong>{int(r['referred'])}</strong> recorded "
                f"(from {int(r['states'])} states)"
                + (
                    f"; {int(r['no_eligible_mentor'])} needs had no eligible mentor at all"
                    if "no_eligible_mentor" in r
                    else ""
                )
                + "</li>"
            )
    share = "–" if h.declined_share is None else f"{h.declined_share * 100:.0f}%"
    health_html = (
        f'<section id="health-section" class="flow"><h2>Network health: exchanges raised in {cycle}</h2><ul>'
        f"<li>Days from proposed to first contact: median <strong>{_num(h.first_contact['median'])}</strong>, "
        f"90th percentile {_num(h.first_contact['p90'])} (n {h.first_contact['n']})</li>"
        f"<li>Days from proposed to exchange held: median <strong>{_num(h.to_held['median'])}</strong>, "
        f"90th percentile {_num(h.to_held['p90'])} (n {h.to_held['n']})</li>"
        f"<li>Declined: <strong>{h.declined}</strong> of {h.exchanges} ({share})</li>"
        f"<li>Stuck (open, no change recorded for {h.stuck_days} days or more): <strong>{len(h.stuck)}</strong>"
        f"</li>{cap_line}{ref_line}</ul>"
        + (
            "<h3>Why exchanges were declined</h3>" + _table(reasons, "decline-reasons", {"Exchanges"})
            if len(reasons)
            else ""
        )
        + (
            "<h3>Stuck exchanges</h3>" + _table(stuck, "stuck", {"Exchange", "Days without change"})
            if len(stuck)
            else ""
        )
        + "</section>"
    )

    # top uncovered needs
    unc = coverage.uncovered_needs(rows)
    top = unc.head(TOP_UNCOVERED).rename(
        columns={
            "state": "State",
            "name": "Jurisdiction",
            "region_label": "FEMA region",
            "area": "Program area",
            "maturity": "Maturity",
        }
    )
    unc_html = (
        f'<section id="uncovered-section" class="flow"><h2>Top needs no state can mentor, {cycle}</h2>'
        + (
            _table(top, "uncovered", {"Maturity"})
            + (f'<p class="fine">{len(unc) - TOP_UNCOVERED} more not listed.</p>' if len(unc) > TOP_UNCOVERED else "")
            if len(unc)
            else '<p class="muted">Every need has at least one eligible mentor.</p>'
        )
        + "</section>"
    )

    meta = [
        ("Assessment cycle", str(cycle)),
        ("Exchanges covered", safe_text.html(scope)),
        ("Data as of", safe_text.html(_when(status.get("last_loaded")))),
        ("Minimum to compare", f"{impact.MIN_N} states on each side"),
        ("Interval", "95%, jackknife over states, Student's t; areas Holm-adjusted"),
        ("Stuck after", f"{h.stuck_days} days without change"),
    ]
    meta_html = "".join(f"<div><span>{k_}</span>{v}</div>" for k_, v in meta)
    title = f"Cycle report {cycle} · State Homeland Security Information Sharing Network"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{safe_text.html(title)}</title><style>{CSS}</style></head><body><main class="page">'
        f'{demo}<div class="kicker">State Homeland Security Information Sharing Network · Cycle report</div>'
        f'<h1>Cycle report {cycle}</h1><div class="meta">{meta_html}</div>'
        f'<section id="kpi-section"><h2>Headline figures, {cycle}</h2>{kpis}</section>'
        f"{cov_html}{imp_html}{health_html}{unc_html}"
        f"<footer><span>shisn · prepared {safe_text.html(generated.strftime('%d %b %Y, %H:%M'))} · cycle {cycle}"
        f"{' · ' + DEMO_LABEL if status.get('is_demo') else ''}</span>"
        f"<span>Self-assessed ratings; small numbers; not proof of cause</span></footer>"
        f"</main></body></html>"
    )


def _impact_table(comparison: pd.DataFrame, first: str = "Program area") -> pd.DataFrame:
    """The comparison in the report's compact columns."""
    return pd.DataFrame(
        {
            first: comparison["label"],
            "Mentee states": comparison["mentee_states"],
            "Baseline states": comparison["baseline_states"],
            "State-areas": comparison["compared"],
            "Change with": [impact.fmt_change(v) for v in comparison["mean_with"]],
            "Change without": [impact.fmt_change(v) for v in comparison["mean_without"]],
            "Difference": [
                impact.fmt_change(v) if e else impact.TOO_FEW_TEXT
                for v, e in zip(comparison["difference"], comparison["enough"])
            ],
            "95% interval": [impact.fmt_interval(lo, hi) for lo, hi in zip(comparison["low"], comparison["high"])],
            "Reading": [impact.VERDICT_WORDS[v] for v in comparison["verdict"]],
        }
    )


def _useful_html(u: dict) -> str:
    if not u.get("views"):
        return ""
    return (
        f"<h3>The states' own view</h3><p>{u['views']} views recorded on {u['exchanges_with_view']} exchanges: "
        f"mentees rated their exchanges {_num(u['mentee_mean'], 1)} of 5 on average (n {u['mentee_n']}), "
        f"mentors {_num(u['mentor_mean'], 1)} (n {u['mentor_n']}).</p>"
    )


def _when(value) -> str:
    if value is None or pd.isna(value):
        return "no data loaded"
    return pd.Timestamp(value).strftime("%d %b %Y, %H:%M")


def file_name(cycle: int) -> str:
    return f"shisn-cycle-report-{cycle}.html"
