"""State profile: one jurisdiction's maturity against the national and FEMA-region medians, strengths and gaps,
POETE sub-ratings, trend, offers and needs, its published offers and practices (links to the Offers and practices
page), recommended partners, and the printable report.

Thin: widgets and layout. The numbers come from shisn.domain.profile (pure), the report from shisn.render.report. Deep link
`?state=VA` (code or name, any case) and `?cycle=2025`. Every role may open it; full detail only for states the
viewer sees in detail, others as scores and offer/seek flags. User text is shown as text (cells, escaped)."""

import streamlit as st

from shisn.domain import (
    auth,
    catalog,
    exchange_rules,
    jurisdictions,
    profile,
    safe_text,
)
from shisn.render import alt_text, profile_charts, report
from shisn.services import exchanges, offers
from shisn.web import displays, forms, identity, loaders, widgets

viewer = identity.guard(*auth.ROLES)
all_cycles = loaders.cycles()

st.title("State profile")
if not all_cycles:
    st.info(
        "No self-assessments are loaded yet. Load files on the Data page and the profiles appear here.",
        icon=":material/info:",
    )
    st.stop()

widgets.resolve_query_param("state", jurisdictions.state_code)
chosen = widgets.filters(
    [
        widgets.Filter(
            "State or territory",
            profile.state_options(),
            "state",
            default=profile.default_state(viewer),
            format_func=profile.state_label,
            width=2,
        ),
        widgets.cycle_filter("Assessment cycle"),
    ],
    title="State and cycle",
)
code, cycle = chosen["state"], chosen["cycle"]
widgets.cycle_notice(cycle)

detail = viewer.sees_detail_of(code)
p = loaders.state_profile(code, cycle, viewer)
status = loaders.data_status()
open_exchanges = (
    exchanges.involving(loaders.connection(), viewer, code, rows=loaders.exchange_rows(viewer)) if detail else None
)

# --- heading ---------------------------------------------------------------------------------------------------
head, action = st.columns([4, 1], vertical_alignment="bottom")
with head:
    st.header(f"{p.name} ({p.state})", anchor=False)
    on_record = ", ".join(str(c) for c in sorted(p.reported_cycles)) or "none"
    as_of = f" · data as of {status['last_loaded']:%d %b %Y, %H:%M}" if status["last_loaded"] else ""
    st.caption(
        f"{p.kind.capitalize()} · FEMA {p.region_label} · population {p.population:,} (2020 Census) · "
        f"cycles on record: {on_record}{as_of}"
    )
    if detail:
        pm = p.program_manager
        st.markdown(
            f":material/badge: **ODP program manager:** {safe_text.markdown(pm['name'])} · "
            f"{safe_text.markdown(pm['email'])}"
            if pm
            else ":material/badge: **ODP program manager:** not assigned"
        )
with action:
    if detail:
        displays.download(
            "Printable report",  # built once per content (shared across sessions), always delivered
            lambda: report.render(p, status, exchanges=open_exchanges).encode("utf-8"),
            ("state report", p.state, p.cycle, str(p.program_manager)),
            tables=("exchanges",),
            file_name=report.file_name(p),
            mime="text/html",
            icon=":material/print:",
            width="stretch",
            audit=f"state report {p.state} {p.cycle}",
            help="One self-contained HTML file (no internet needed). Open it and print, or save as PDF.",
        )

if not detail:
    if viewer.role == auth.STATE:
        why = (
            f"As a {viewer.home_state or 'state'} user you see other jurisdictions' maturity scores and offer/seek "
            "flags only."
        )
    elif viewer.role == auth.PROGRAM_MANAGER:
        pm = loaders.pm_name_of(code)
        why = (
            f"{p.name} is not one of your assigned states, so you see its scores and offer/seek flags only "
            f"({'its program manager is ' + pm if pm else 'no program manager is assigned to it'})."
        )
    else:
        why = "You see this jurisdiction's scores and offer/seek flags only."
    st.info(f"{why} {profile.DETAIL_HIDDEN}", icon=":material/visibility_off:")

if not p.reported:
    if p.latest_reported:
        st.warning(
            f"{p.name} has no self-assessment for {p.cycle}. Its latest is from {p.latest_reported}.",
            icon=":material/event_busy:",
        )
        st.button(
            f"Show {p.latest_reported}",
            on_click=st.session_state.update,
            kwargs={"cycle": p.latest_reported},
            icon=":material/history:",
        )
    else:
        st.warning(
            f"{p.name} has not submitted a self-assessment yet. The national and regional medians are "
            "shown for reference.",
            icon=":material/event_busy:",
        )

forms.state_flags(viewer, code, cycle)  # data-quality flags, only for viewers who see the state in detail

# --- one view at a time: only the open tab runs (its label is in the URL); other states' detail views do not
# exist for viewers who may not see that detail --------------------------------------------------------------------


def figure(make):
    """The profile's figure made by `make(p)`, built once per data version, state, cycle and viewer (loaders.cached)."""
    return loaders.cached(lambda: make(p), make.__name__, code, cycle, viewer=viewer)


def overview_view():
    """Maturity against the medians, strengths and gaps in words, what the state offers and seeks."""
    # --- maturity against the medians ------------------------------------------------------------------------------
    st.subheader(f"Maturity by program area, {p.cycle}", anchor=False)
    chart, words = st.columns([3, 2], gap="large")
    with chart:
        st.plotly_chart(
            figure(profile_charts.maturity_figure),
            width="stretch",
            config={"displayModeBar": False},
            alt=f"Bar chart of {p.name}'s maturity by program area, {p.cycle}, against the "
            f"{p.region_label} and national medians; its summary and data are below it.",
        )
        displays.chart_text(
            alt_text.profile_maturity(p), lambda: alt_text.profile_maturity_table(p), "profile_chart_data_open"
        )
    with words:
        if p.reported:
            with st.container(border=True):
                st.markdown("**:material/trending_up: Strengths** (rated 4–5)")
                st.markdown(
                    "\n".join(f"- {safe_text.markdown(a)} **({m})**" for a, m in p.strengths)
                    if p.strengths
                    else "None rated 4 or 5."
                )
                st.markdown("**:material/construction: Gaps** (rated 1–2)")
                st.markdown(
                    "\n".join(f"- {safe_text.markdown(a)} **({m})**" for a, m in p.gaps)
                    if p.gaps
                    else "None rated 1 or 2."
                )
        own = f"; the {p.region_label} median includes {p.name}'s own rating" if p.reported else ""
        st.caption(
            f"Medians over the jurisdictions that reported each area in {p.cycle}{own}. "
            "'Other' areas are each state's own, so they have no median. "
            "Scale: 1 Not started · 2 Developing · 3 Established · 4 Advanced · 5 Nationally leading."
        )

    # --- offers and needs ------------------------------------------------------------------------------------------
    reported = p.reported_areas
    if len(reported):
        st.subheader("What it offers and seeks", anchor=False)
        displays.text_table(
            profile.offers_table(p, detail)
        )  # nine rows at most: static, beside the chart (displays.text_table)
        if detail and (reported["offer_note"] != "").any():
            st.caption(f"An offer counts for pairing only with maturity {catalog.MENTOR_MIN} or higher.")

    # --- its published offers and practices (every viewer: published ones only) -----------------------------------
    forms.library_links(code, title=f"{p.name}'s published offers and practices")
    if offers.can_write(viewer, code):
        forms.page_link(
            "offers.py",
            f"Describe, publish or withdraw {code}'s offers and practices",
            ":material/edit_note:",
            offers_view="Your offers and practices",
            state=code,
        )


def trend_view():
    """POETE sub-ratings of the cycle and the trend across cycles."""
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("POETE sub-ratings", anchor=False)
        if p.has_poete:
            st.plotly_chart(
                figure(profile_charts.poete_figure),
                width="stretch",
                config={"displayModeBar": False},
                alt=f"Heatmap of {p.name}'s POETE sub-ratings by program area, {p.cycle}; its summary "
                "and data are under both charts.",
            )
            st.caption("Planning, Organization, Equipment, Training, Exercises (1–5); blank where not given.")
        elif p.reported:
            st.caption(f"No POETE sub-ratings were given for {p.cycle}.")
        else:
            st.caption(f"No self-assessment for {p.cycle}.")
    with right:
        st.subheader("Trend across cycles", anchor=False)
        if p.trend is not None and not p.trend.empty:
            st.plotly_chart(
                figure(profile_charts.trend_figure),
                width="stretch",
                config={"displayModeBar": False},
                alt=f"Heatmap of {p.name}'s maturity by program area and cycle; its summary and data are below it.",
            )
            displays.chart_text(
                alt_text.profile_trend(p), lambda: alt_text.frame_table(p.trend), "trend_data_open", what="trend"
            )
            if p.trend_text:
                st.markdown(safe_text.markdown(p.trend_text))
        else:
            st.caption("No cycles on record yet.")
    if p.has_poete:  # its table needs more than half the width
        displays.chart_text(
            alt_text.profile_poete(p),
            lambda: alt_text.frame_table(p.poete),
            "poete_data_open",
            what="POETE sub-ratings",
        )


def partners_view():
    """Recommended partners both ways (from the pairing scores) and the state's open exchanges."""
    # --- recommended partners ----------------------------------------------------------------------------------
    st.subheader("Recommended partners", anchor=False)
    st.caption(
        f"From the pairing scores for {p.cycle}. Mentors must offer help and rate themselves "
        f"{catalog.MENTOR_MIN} or higher in the area. Partners' notes are shown only where you may see them."
    )
    give, take = st.container(), st.container()
    partner_cols = {
        "short": st.column_config.TextColumn("Program area", width="medium"),
        "partner_name": st.column_config.TextColumn("State", width="medium"),
        "partner_maturity": st.column_config.NumberColumn("Maturity", format="%d", width="small"),
        "score": st.column_config.ProgressColumn(
            "Match", min_value=0.0, max_value=p.match_scale, format="%.2f", width="small"
        ),
        "why": st.column_config.TextColumn(
            "Why this match",
            width="large",
            help="From the pairing score: region, border, population, maturity gap, breadth",
        ),
        "partner_notes": st.column_config.TextColumn("Their notes", width="medium"),
    }
    with give:
        st.markdown(
            f"**Who could help {p.name}** · best {profile.TOP_MENTORS} eligible mentors for each area it "
            "seeks help in or rates 1–2"
        )
        if p.mentors is not None and len(p.mentors):
            st.dataframe(p.mentors[list(partner_cols)], hide_index=True, width="stretch", column_config=partner_cols)
        elif p.reported and not p.unmatched:
            st.caption(f"{p.name} seeks no help and has no gaps in {p.cycle}.")
        if p.unmatched:
            st.caption(
                safe_text.markdown(
                    f"No eligible mentor (offering help and rated above {p.name}) in {p.cycle} "
                    f"for: {'; '.join(p.unmatched)}."
                )
            )
        if not p.reported:
            st.caption(f"No self-assessment for {p.cycle}.")
    with take:
        st.markdown(f"**Who {p.name} could help** · states seeking guidance where it offers help and is eligible")
        if p.mentees is not None and len(p.mentees):
            st.dataframe(p.mentees[list(partner_cols)], hide_index=True, width="stretch", column_config=partner_cols)
        else:
            st.caption("No state is seeking guidance in an area where it offers help and is an eligible mentor.")

    # --- introduction requests (a state user on its own profile asks; everyone who sees the state reads them) ---
    st.subheader("Introduction requests", anchor=False)
    if exchange_rules.can_request(viewer) and viewer.home_state == code:
        forms.request_introduction_form(loaders.connection(), viewer, p, key="profile_request")
    forms.requests_table(loaders.connection(), viewer, code)

    # --- exchanges ---------------------------------------------------------------------------------------------
    st.subheader("Open exchanges", anchor=False)
    if len(open_exchanges):
        st.dataframe(open_exchanges, hide_index=True, width="stretch")
    else:
        st.caption(report.FACILITATIONS_LINE)


if detail:
    widgets.lazy_tabs(
        {profile.VIEW_OVERVIEW: overview_view, profile.VIEW_TREND: trend_view, profile.VIEW_PARTNERS: partners_view},
        profile.VIEW_KEY,
    )
else:
    overview_view()
