"""The pairing brief: a one-page printable introduction for one exchange (any status, from a request on).

Self-contained HTML like the state report (shisn/render/report.py: inline CSS, system fonts, no script, link, image,
font or stylesheet from anywhere). It holds only the exchange's two states: side by side their ratings in the
exchange's program areas (maturity, offers/seeks, POETE sub-ratings where given, notes only where the viewer may
see that state's detail: `auth.redact`), their strengths and needs in the cycle, why the pair was suggested (the
pairing's own explanation, `pairing.candidates` on the two states' rows: an edge's score and reasons depend only
on its two ends), both program managers' contacts (the two parties need them to make contact; shown as the
Exchanges page shows them, `assignments.exchange_pms`), the request's
message when it began as one, the mentor's offer (the one the request was made from, else the mentor state's
published offer in the exchange's area) and the practices the mentor state has published there, and suggested
means. Every piece of user text goes through `safe_text.html`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from shisn.domain import (
    auth,
    catalog,
    exchange_rules,
    jurisdictions,
    pairing,
    safe_text,
)
from shisn.render.report import DEMO_LABEL
from shisn.services import assignments, exchanges, offers, practices
from shisn.store import queries

CSS = """
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #e9edf1; color: #1f2328;
       font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans",
             sans-serif; }
.page { max-width: 860px; margin: 20px auto; background: #fff; padding: 28px 36px; border-radius: 4px;
        box-shadow: 0 1px 4px rgba(0,0,0,.12); }
.demo { border: 2px solid #b3261e; color: #b3261e; font-weight: 700; text-align: center; padding: 4px; margin-bottom: 12px; }
.kicker { color: #5b6470; font-size: 11px; text-transform: uppercase; letter-spacing: .08em; }
h1 { font-size: 22px; margin: 2px 0 6px; }
h2 { font-size: 14px; margin: 14px 0 6px; padding-bottom: 3px; border-bottom: 2px solid #1d4e89; }
h3, h2.state-name { font-size: 13px; margin: 0 0 4px; padding: 0; border: 0; }
.meta { color: #5b6470; margin-bottom: 4px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.state { border: 1px solid #d6dbe1; border-radius: 4px; padding: 8px 10px; }
.role { font-size: 11px; text-transform: uppercase; color: #5b6470; letter-spacing: .05em; }
table { width: 100%; border-collapse: collapse; font-size: 12px; margin: 4px 0; }
th, td { text-align: left; padding: 3px 5px; border-bottom: 1px solid #d6dbe1; vertical-align: top; }
thead th { font-size: 10.5px; text-transform: uppercase; color: #5b6470; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.note, .message { white-space: pre-wrap; overflow-wrap: anywhere; }
.note { color: #5b6470; font-size: 11.5px; }
.muted { color: #5b6470; }
ul { margin: 2px 0 4px 18px; padding: 0; }
footer { margin-top: 14px; padding-top: 6px; border-top: 1px solid #d6dbe1; color: #5b6470; font-size: 10.5px; }
@page { margin: 12mm; }
@media print { body { background: #fff; } .page { margin: 0; padding: 0; box-shadow: none; max-width: none; } }
"""


def file_name(exchange: dict) -> str:
    return f"shisn-pairing-brief-{int(exchange['exchange_id'])}-{exchange['mentor']}-{exchange['mentee']}.html"


def _rows(con, codes: list[str], cycle: int, viewer: auth.Viewer) -> pd.DataFrame:
    """The cycle's rows of the two states only, as the viewer may see them (notes blanked where not allowed)."""
    return auth.redact(queries.assessments(con, cycle, codes), viewer)


def _explanation(rows: pd.DataFrame, mentor: str, mentee: str, areas: list[str], cycle: int) -> list[str]:
    """The pairing's explanation per area, or why the pair is not a pairing candidate there."""
    inp = rows[["state", "program_area", "maturity", "offers_help", "seeks_help", "other_area"]].copy()
    # as on the profile: the mentee's gaps count as sought, so a pair a state asked for is explained too
    gap = (inp["state"] == mentee) & (inp["maturity"] <= catalog.GAP_MAX)
    inp.loc[gap, "seeks_help"] = True
    cands = pairing.candidates(inp) if len(inp) else pd.DataFrame(columns=pairing.CANDIDATE_COLUMNS)
    out = []
    for a in areas:
        hit = cands[(cands["mentor"] == mentor) & (cands["mentee"] == mentee) & (cands["program_area"] == a)]
        if len(hit):
            r = hit.iloc[0]
            out.append(f"{r['reasons']} (match {float(r['score']):.2f})")
        else:
            out.append(
                f"{catalog.area_short(a)}: not a pairing candidate in {cycle} (the mentor must offer help, "
                f"rate itself {catalog.MENTOR_MIN}+ and above the mentee, who seeks help or rates it 1–2)"
            )
    return out


def _means(mentor: str, mentee: str, chosen: str | None) -> list[str]:
    near = jurisdictions.share_border(mentor, mentee)
    same_region = jurisdictions.regions()[mentor] == jurisdictions.regions()[mentee]
    out = []
    if chosen:
        out.append(f"Chosen: {exchange_rules.means_label(chosen)}.")
    out.append(
        "Teleconference first: both program managers and the two program leads, to agree what the mentee "
        "needs and what the mentor can share."
    )
    out.append("Document exchange: plans, templates, after-action reports and course material the mentor can share.")
    if near or same_region:
        why = (
            "they share a border"
            if near
            else f"both are in FEMA {jurisdictions.region_label(jurisdictions.regions()[mentor])}"
        )
        out.append(f"On-site visit: practical, {why}.")
    else:
        out.append("On-site visit: worth it for exercises and operations centres; otherwise calls and documents.")
    return out


def _state_block(
    rows: pd.DataFrame, code: str, role: str, areas: list[str], viewer: auth.Viewer, pm: dict | None, cycle: int
) -> str:
    own = rows[rows["state"] == code]
    own = own.iloc[sorted(range(len(own)), key=lambda i: catalog.AREA_SLUGS.index(own["program_area"].iloc[i]))]
    detail = viewer.sees_detail_of(code)
    poete = [p for p in catalog.POETE if own[p].notna().any()] if len(own) else []
    head = "<th>Program area</th><th class='num'>Maturity</th><th>Offers / seeks</th>" + "".join(
        f"<th class='num'>{safe_text.html(catalog.POETE_LABELS[p][:1])}</th>" for p in poete
    )
    body = []
    for a in areas:
        hit = own[own["program_area"] == a]
        if not len(hit):
            body.append(
                f"<tr><th>{safe_text.html(catalog.area_short(a))}</th><td colspan='{2 + len(poete)}' class='muted'>"
                f"not reported in {cycle}</td></tr>"
            )
            continue
        r = hit.iloc[0]
        flags = " · ".join(t for t, on in (("offers", r["offers_help"]), ("seeks", r["seeks_help"])) if on) or "—"
        note = ""
        if detail and isinstance(r["notes"], str) and r["notes"].strip():
            note = f"<div class='note'>“{safe_text.html(r['notes'])}”</div>"
        body.append(
            f"<tr data-area='{safe_text.html(a)}'><th>{safe_text.html(catalog.area_short(a))}{note}</th>"
            f"<td class='num'>{int(r['maturity'])}</td><td>{safe_text.html(flags)}</td>"
            + "".join(f"<td class='num'>{'' if pd.isna(r[p]) else int(r[p])}</td>" for p in poete)
            + "</tr>"
        )
    strengths = [
        catalog.area_short(a) + f" ({int(m)})"
        for a, m in zip(own["program_area"], own["maturity"])
        if m >= catalog.STRENGTH_MIN
    ]
    needs = [
        catalog.area_short(a) + f" ({int(m)})"
        for a, m, s in zip(own["program_area"], own["maturity"], own["seeks_help"])
        if s or m <= catalog.GAP_MAX
    ]
    pm_html = (
        f"{safe_text.html(pm['name'])} · {safe_text.html(pm['email'])}"
        if pm
        else "<span class='muted'>no program manager assigned</span>"
    )
    legend = (
        f"<div class='note'>POETE: {safe_text.html(', '.join(catalog.POETE_LABELS[p] for p in poete))}</div>"
        if poete
        else ""
    )
    hidden = "" if detail else "<div class='note'>Notes are shown only to viewers who see this state in detail.</div>"
    return (
        f"<div class='state' data-state='{safe_text.html(code)}'><div class='role'>{safe_text.html(role)}</div>"
        f"<h2 class='state-name'>{safe_text.html(jurisdictions.names()[code])} ({safe_text.html(code)})</h2>"
        f"<div class='meta'>FEMA {safe_text.html(jurisdictions.region_label(jurisdictions.regions()[code]))} · population "
        f"{jurisdictions.populations()[code]:,}</div>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{legend}{hidden}"
        f"<div><strong>Strengths</strong> (4–5): {safe_text.html('; '.join(strengths) or 'none')}</div>"
        f"<div><strong>Needs</strong> (seeks help or 1–2): {safe_text.html('; '.join(needs) or 'none')}</div>"
        f"<div style='margin-top:4px'><strong>Program manager</strong>: {pm_html}</div></div>"
    )


def _text_html(value) -> str:
    """User text for the page: escaped, its line breaks kept (the `message` class)."""
    return f"<span class='message'>{safe_text.html(value)}</span>"


def _offer(con, exchange_id: int, mentor: str, areas: list[str]) -> tuple[dict | None, str]:
    """The offer the request was made from, else the mentor state's published offer in the exchange's first area
    that has one; with a sentence saying which it is."""
    named = offers.of_exchange(con, exchange_id)
    if named is not None:
        since = "" if named["status"] == offers.PUBLISHED else f" (now {offers.status_label(named['status'])})"
        return named, f"The request was made from this offer{since}."
    for a in areas:
        got = offers.published(con, state=mentor, area=a)
        if len(got):
            return got.iloc[0].to_dict(), f"{mentor}'s published offer in {catalog.area_short(a)}."
    return None, ""


def _offer_html(con, exchange_id: int, mentor: str, areas: list[str]) -> str:
    """The mentor's offer (all its fields) and the practices the mentor state published in the exchange's areas."""
    name = jurisdictions.names()[mentor]
    offer, why = _offer(con, exchange_id, mentor, areas)
    if offer is None:
        out = (
            f"<h2>The offer</h2><p class='muted'>{safe_text.html(name)} has published no offer in "
            f"{safe_text.html('; '.join(catalog.area_short(a) for a in areas))}.</p>"
        )
    else:
        lead = offer["lead_time_days"]
        rows = [
            ("What it covers", _text_html(offer["covers"])),
            ("Formats", safe_text.html(offers.formats_text(offer["formats"]))),
            ("Capacity", f"up to {int(offer['capacity'])} exchange(s) a cycle"),
            ("Lead time", "not given" if lead is None or pd.isna(lead) else f"{int(lead)} days"),
            ("What the mentee should prepare", _text_html(offer["prepare"]) if offer["prepare"] else "—"),
        ]
        out = (
            f"<h2>The offer</h2><p class='meta'>{safe_text.html(why)}</p>"
            f"<h3 data-offer='{int(offer['offer_id'])}'>Offer {int(offer['offer_id'])}: "
            f"{safe_text.html(offer['title'])} ({safe_text.html(catalog.area_short(offer['program_area']))})</h3>"
            "<table><tbody>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</tbody></table>"
        )
    found = [practices.published(con, state=mentor, area=a) for a in areas]
    found = [f for f in found if len(f)]
    items = [r for f in found for _, r in f.iterrows()]
    out += f"<h2>Practices {safe_text.html(name)} has published here</h2>"
    if not items:
        return out + "<p class='muted'>None yet.</p>"
    lis = []
    for r in items:
        parts = [
            f"<strong>{safe_text.html(r['title'])}</strong> ({safe_text.html(catalog.area_short(r['program_area']))}, "
            f"practice {int(r['practice_id'])}): {_text_html(r['summary'])}"
        ]
        for field, label in (("what_worked", "What worked"), ("differently", "What it would do differently")):
            if isinstance(r[field], str) and r[field].strip():
                parts.append(f"<div><em>{label}:</em> {_text_html(r[field])}</div>")
        if isinstance(r["documents"], str) and r["documents"].strip():
            parts.append(f"<div><em>Documents it can share:</em> {_text_html(r['documents'])}</div>")
        lis.append(f"<li data-practice='{int(r['practice_id'])}'>{''.join(parts)}</li>")
    return out + f"<ul>{''.join(lis)}</ul>"


def render(con, exchange_id: int, viewer: auth.Viewer, *, now: dt.datetime | None = None) -> str:
    """The brief as one HTML document, for a viewer who may see the exchange (PermissionError otherwise)."""
    ex = exchanges.get(con, exchange_id)
    if viewer is None or not exchange_rules.can_see(viewer, ex["mentor"], ex["mentee"]):
        raise PermissionError(f"exchange {exchange_id} is not one you may see")
    now = now or dt.datetime.now().replace(microsecond=0)
    mentor, mentee, cycle = ex["mentor"], ex["mentee"], int(ex["cycle"])
    areas = ex["program_areas"].split(",")
    rows = _rows(con, [mentor, mentee], cycle, viewer)
    pms = assignments.exchange_pms(con, mentor, mentee, viewer)  # both parties' contacts: the one rule
    status = queries.data_status(con)
    demo = bool(ex["synthetic"]) or status.get("is_demo")
    area_text = "; ".join(catalog.area_label(a) for a in areas)
    request = ""
    if ex["requested_at"] is not None:
        asker = ex["requested_state"]
        kind = "asked for an introduction to a mentor" if asker == mentee else "offered help"
        request = (
            f"<h2>The request</h2><p>{safe_text.html(jurisdictions.names()[asker])} ({safe_text.html(asker)}) {kind} on "
            f"{pd.Timestamp(ex['requested_at']):%d %b %Y} ({safe_text.html(ex['requested_by'])}).</p>"
            + (f"<p class='message'>“{safe_text.html(ex['request_message'])}”</p>" if ex["request_message"] else "")
            + (
                f"<p><strong>Declined:</strong> <span class='message'>{safe_text.html(ex['decline_reason'])}</span></p>"
                if ex["decline_reason"]
                else ""
            )
        )
    why = "".join(f"<li>{safe_text.html(t)}</li>" for t in _explanation(rows, mentor, mentee, areas, cycle))
    means = "".join(f"<li>{safe_text.html(t)}</li>" for t in _means(mentor, mentee, ex["means"]))
    title = f"Pairing brief · exchange {int(exchange_id)}: {jurisdictions.names()[mentor]} → {jurisdictions.names()[mentee]}"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{safe_text.html(title)}</title>"
        f"<style>{CSS}</style></head><body><main class='page'>"
        + (f"<div class='demo'>{DEMO_LABEL}</div>" if demo else "")
        + f"<div class='kicker'>State Homeland Security Information Sharing Network · Pairing brief</div>"
        f"<h1>{safe_text.html(jurisdictions.names()[mentor])} → {safe_text.html(jurisdictions.names()[mentee])}</h1>"
        f"<div class='meta'>Exchange {int(exchange_id)} · {safe_text.html(area_text)} · assessment cycle {cycle} · status "
        f"<strong>{safe_text.html(exchange_rules.status_label(ex['status']))}</strong></div>"
        f"<div class='pair'>{_state_block(rows, mentor, 'Mentor (offers help)', areas, viewer, pms[mentor], cycle)}"
        f"{_state_block(rows, mentee, 'Mentee (seeks guidance)', areas, viewer, pms[mentee], cycle)}</div>"
        f"<h2>Why this pair</h2><ul>{why}</ul>{request}{_offer_html(con, exchange_id, mentor, areas)}"
        f"<h2>Suggested means</h2><ul>{means}</ul>"
        f"<footer>shisn · prepared {now:%d %b %Y, %H:%M} for {safe_text.html(viewer.label)} · maturity 1 Not started … "
        f"5 Nationally leading{' · ' + DEMO_LABEL if demo else ''} · includes contacts: share with the two "
        f"states and their program managers only</footer></main></body></html>"
    )
