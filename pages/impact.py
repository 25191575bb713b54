"""Did the network help? For leadership and program managers: how the mentees' next self-assessments moved against
like-for-like states without an exchange, what the states said of their exchanges, who mentored and facilitated,
the network's health, and the printable cycle report.

Thin: widgets and layout. The figures come from shisn.services.impact (cached in shisn.web.loaders), the report from
shisn.render.cycle_report. A PM sees the exchanges of their states, against the baseline of the whole network (only
aggregates of other states' exchanges reach the page); its cycle report is limited the same way.
URL parameters: `impact_view` (the open tab), `impact_cycle` (the cycle report's cycle).

Nothing costly for a browser opening the page cold is drawn before it is asked for: the report's cycle is a select
box in the **Cycle report** panel (its closed label names the cycle; the **Printable cycle report** button beside it
is for that cycle), and leadership's stuck-days setting (a number input) is in a panel of the Network health view;
both are drawn only when opened."""

import datetime as dt

import streamlit as st

from shisn.domain import auth, safe_text
from shisn.render import cycle_report
from shisn.services import impact
from shisn.store import settings
from shisn.web import displays, identity, loaders, widgets

viewer = identity.guard(auth.LEADERSHIP, auth.PROGRAM_MANAGER)
con = loaders.connection()

st.title("Did the network help?")
st.caption(
    "How the mentees' next self-assessments moved compared with like-for-like states that had no exchange, "
    "what the states said of their exchanges, and how well the facilitation runs."
)

cycles = loaders.cycles()
if not cycles:
    st.info("No self-assessments are loaded yet. Load files on the Data page.", icon=":material/info:")
    st.stop()
if viewer.role == auth.PROGRAM_MANAGER:
    if viewer.states:
        st.write(
            f"Figures for the exchanges of your {len(viewer.states)} states ({', '.join(viewer.states)}), "
            "against the baseline of the whole network: every state that sought guidance and had no exchange, "
            "whoever facilitates it."
        )
    else:
        st.warning(
            "No states are assigned to you, so there are no exchanges to show. Leadership assigns program "
            "managers on the Program managers page."
        )

fig = loaders.impact_figures(viewer)
overall = fig.by_area.iloc[-1]
h = fig.health

# --- headline and the cycle report ----------------------------------------------------------------------------
pick, get, _ = st.columns([1.3, 1.3, 2.4], vertical_alignment="top")
# the report's cycle: a select box in a panel drawn only when opened (a select box is the costliest widget for a
# browser opening the page cold); the closed label names the cycle, which is in the URL either way
report_cycle = widgets.filters(
    [widgets.cycle_filter("Cycle report", impact.CYCLE_KEY, help="The cycle the printable report is for.")],
    key="impact_cycle_open",
    container=pick,
    title="Cycle report",
    icon=":material/event:",
)[impact.CYCLE_KEY]
scope = (
    "All jurisdictions"
    if viewer.role == auth.LEADERSHIP
    else f"The exchanges of {viewer.name}'s states: {', '.join(viewer.states) or 'none'}"
)


def build_report() -> bytes:
    """Built once per content (displays.download's cache, shared across sessions), when the page is first drawn."""
    figures = loaders.impact_figures(viewer, report_cycle)
    previous = [c for c in cycles if c < report_cycle]
    return cycle_report.render(
        report_cycle,
        loaders.assessments(report_cycle),
        figures,
        loaders.data_status(),
        scope=scope,
        previous=loaders.assessments(previous[0]) if previous else None,
    ).encode("utf-8")


displays.download(
    "Printable cycle report",
    build_report,  # what the figures depend on, as loaders.impact_figures keys them
    ("cycle report", report_cycle, scope, loaders.stuck_days(), f"{dt.datetime.now():%Y-%m-%d %H}"),
    tables=("exchanges", "exchange_outcomes", "ta_referrals", "program_manager_log"),
    container=get,
    file_name=cycle_report.file_name(report_cycle),
    mime="text/html",
    icon=":material/print:",
    width="stretch",
    audit=f"cycle report {report_cycle}",
    help="One self-contained HTML file (no internet needed): headline figures, coverage by area and "
    "region, impact, network health, top uncovered needs. Open it and print, or save as PDF. "
    + (
        "It covers the whole network."
        if viewer.role == auth.LEADERSHIP
        else "It covers your states' exchanges, against the whole network's baseline."
    ),
)

m = st.columns(5)
m[0].metric(
    "Exchanges held",
    fig.held,
    border=True,
    help=f"Of {fig.exchanges} exchanges; an exchange counts from the day it was held, whatever came next.",
)
m[1].metric(
    "Mentee states",
    int(overall["mentee_states"]),
    border=True,
    help=f"{int(overall['compared'])} mentee state-areas compared with {int(overall['baseline_states'])} "
    f"like-for-like baseline states; {int(overall['awaiting'])} more await their next rating, "
    f"{int(overall['gap'])} were rated again only after a skipped cycle (left out).",
)
m[2].metric(
    "Rating difference",
    impact.fmt_change(overall["difference"]) if overall["enough"] else impact.TOO_FEW_TEXT,
    border=True,
    help="Mean change with an exchange minus the like-for-like mean without, in rating levels; 95% "
    f"interval {impact.fmt_interval(overall['low'], overall['high'])}: "
    f"{impact.VERDICT_WORDS[overall['verdict']]}.",
)
u = fig.useful
m[3].metric(
    "Mentees' own view",
    "–" if u["mentee_mean"] is None else f"{u['mentee_mean']:.1f} of 5",
    border=True,
    help=f"Mean usefulness the mentee states recorded (n {u['mentee_n']}); mentors: "
    + ("–" if u["mentor_mean"] is None else f"{u['mentor_mean']:.1f}")
    + f" (n {u['mentor_n']}).",
)
m[4].metric(
    "Stuck exchanges", len(h.stuck), border=True, help=f"Open, with no change recorded for {h.stuck_days} days or more."
)

with st.container(border=True):
    st.markdown(impact.EXPLANATION)


# --- views (only the open tab runs; its label is in the URL) ---------------------------------------------------


def impact_view():
    if fig.exchanges == 0:
        st.info("No exchanges yet: there is nothing to compare.", icon=":material/forum:")
    st.header("All areas: the headline")
    st.write(impact.headline(overall))
    st.header("By program area, read together")
    st.write(
        impact.areas_sentence(fig.by_area) + " With eight areas, one would often look different by chance "
        "alone; an area's reading is adjusted for that, its interval is shown as it is."
    )
    # an image (the table below holds its data; its text alternative says what it shows): st.html drops SVG
    displays.svg_image(cycle_report.impact_svg(fig.by_area), cycle_report.chart_summary(fig.by_area))
    st.dataframe(impact.display_table(fig.by_area), hide_index=True, width="stretch")
    if len(fig.by_cycle):
        st.header("By the year the exchanges were held")
        st.dataframe(impact.display_table(fig.by_cycle, "Held in"), hide_index=True, width="stretch")
    with st.expander("The mentee areas behind the figures"):
        st.dataframe(
            fig.units[
                [
                    "state",
                    "program_area",
                    "held_in",
                    "cycle",
                    "start",
                    "next_cycle",
                    "next",
                    "change",
                    "mentors",
                    "exchange_ids",
                    "note",
                ]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "state": "Mentee",
                "program_area": "Program area",
                "held_in": st.column_config.NumberColumn("Held in", format="%d"),
                "cycle": st.column_config.NumberColumn("Rated before", format="%d"),
                "start": st.column_config.NumberColumn("Rating", format="%d"),
                "next_cycle": st.column_config.NumberColumn("Next rated", format="%d"),
                "next": st.column_config.NumberColumn("Next rating", format="%d"),
                "change": st.column_config.NumberColumn("Change", format="%+d"),
                "mentors": "Mentor",
                "exchange_ids": "Exchange",
                "note": "Not compared because",
            },
        )


def people_view():
    st.header("Mentor states: how their mentees' ratings moved")
    if fig.mentors.empty:
        st.info("No exchange has been held yet.", icon=":material/handshake:")
    else:
        st.dataframe(
            fig.mentors,
            hide_index=True,
            width="stretch",
            column_config={
                "mentor": st.column_config.TextColumn("Mentor", width=60),
                "mentor_name": "Name",
                "mentee_areas": st.column_config.NumberColumn("Mentee areas", help="Exchange × area held or closed."),
                "rated_again": "Rated again",
                "rose": "Rose",
                "same": "Same",
                "slipped": "Slipped",
                "mean_change": st.column_config.NumberColumn("Mean change", format="%+.2f"),
                "awaiting": "Awaiting next rating",
                "mentee_views": "Mentees' views",
                "mentee_useful": st.column_config.NumberColumn(
                    "Mentees' usefulness", format="%.1f", help="Mean of 1 (not useful) to 5 (essential)."
                ),
            },
        )
        st.caption("Small numbers: one mentee's rating can move a mentor's figures a lot. Not a ranking.")
    st.header("Program managers")
    st.dataframe(
        fig.pms,
        hide_index=True,
        width="stretch",
        column_config={
            "pm": "Program manager",
            "states": "States",
            "exchanges": "Exchanges",
            "open": "Open",
            "held": st.column_config.NumberColumn("Held or closed"),
            "declined": "Declined",
            "median_days_to_first_contact": st.column_config.NumberColumn(
                "Median days to first contact", format="%.1f"
            ),
        },
    )
    st.caption("An exchange counts for the program manager of each of its two states.")


def health_view():
    fc, th = h.first_contact, h.to_held

    def days(v):
        return "–" if v is None else f"{v:.0f}"

    c = st.columns(4)
    c[0].metric(
        "Days to first contact",
        days(fc["median"]),
        border=True,
        help=f"Median days from proposed to introduced (n {fc['n']}).",
    )
    c[1].metric(
        "Days to exchange held",
        days(th["median"]),
        border=True,
        help=f"Median days from proposed to exchange held (n {th['n']}).",
    )
    c[2].metric(
        "Declined",
        "–" if h.declined_share is None else f"{h.declined_share * 100:.0f}%",
        border=True,
        help=f"{h.declined} of {h.exchanges} exchanges.",
    )
    c[3].metric("Stuck", len(h.stuck), border=True, help=f"Open, no change for {h.stuck_days} days or more.")
    st.caption(
        f"90th percentile: {days(fc['p90'])} days to first contact, {days(th['p90'])} days to exchange "
        "held (nine in ten exchanges got there sooner)."
    )
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Why exchanges were declined**")
        if h.decline_reasons.empty:
            st.caption("None declined.")
        else:
            st.dataframe(
                h.decline_reasons,
                hide_index=True,
                width="stretch",
                column_config={"reason": "Reason", "exchanges": "Exchanges"},
            )
    with right:
        st.markdown(f"**Stuck: no change recorded for {h.stuck_days} days or more**")
        if h.stuck.empty:
            st.caption("No open exchange is stuck.")
        else:
            st.dataframe(
                h.stuck,
                hide_index=True,
                width="stretch",
                column_config={
                    "exchange_id": st.column_config.NumberColumn("#", format="%d"),
                    "mentor": "Mentor",
                    "mentee": "Mentee",
                    "areas": "Program areas",
                    "status": "Status",
                    "last_change": st.column_config.DateColumn("Last change", format="YYYY-MM-DD"),
                    "days_without_change": "Days",
                },
            )
        if viewer.role == auth.LEADERSHIP:  # the setting's form is drawn only when opened (no number input cold)
            box = widgets.lazy_expander(
                f"When an exchange counts as stuck ({h.stuck_days} days)",
                "impact_stuck_open",
                icon=":material/settings:",
            )
            with box:
                if box.open:
                    with st.form("stuck_days", border=False):
                        a, b = st.columns([2, 1], vertical_alignment="bottom")
                        days = a.number_input(
                            "Count an exchange as stuck after (days)",
                            min_value=1,
                            max_value=settings.MAX_STUCK_DAYS,
                            value=h.stuck_days,
                            step=1,
                        )
                        if b.form_submit_button("Save"):
                            try:
                                settings.set_stuck_days(con, days, viewer)
                            except ValueError as e:
                                st.error(safe_text.markdown(str(e)))
                            else:
                                st.rerun()
    st.markdown("**Mentor capacity used, per cycle**")
    st.dataframe(
        h.capacity,
        hide_index=True,
        width="stretch",
        column_config={
            "cycle": st.column_config.NumberColumn("Cycle", format="%d"),
            "eligible_mentors": "Eligible mentor states",
            "mentoring": "Mentoring",
            "areas_mentored": "Areas mentored",
            "capacity": st.column_config.NumberColumn(
                "Capacity", help="Eligible mentor states × the pairing's capacity of 3 areas each."
            ),
            "share_used": st.column_config.ProgressColumn("Used", format="percent", min_value=0, max_value=1),
            "at_capacity": "At capacity",
        },
    )
    st.markdown("**Needs referred to technical assistance, per cycle**")
    st.dataframe(
        h.referrals,
        hide_index=True,
        width="stretch",
        column_config={
            "cycle": st.column_config.NumberColumn("Cycle", format="%d"),
            "referred": "Referred (recorded)",
            "states": "States",
            "no_eligible_mentor": "Needs with no eligible mentor",
        },
    )


widgets.lazy_tabs(
    {impact.VIEW_IMPACT: impact_view, impact.VIEW_PEOPLE: people_view, impact.VIEW_HEALTH: health_view}, impact.VIEW_KEY
)
