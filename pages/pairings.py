"""Pairings: who should talk to whom, and why; needs no mentor can take go to technical assistance."""

import streamlit as st

from shisn.domain import (
    auth,
    capacity,
    catalog,
    pairing,
    pairing_tables,
    safe_text,
    selection,
)
from shisn.render import alt_text, maps
from shisn.services import exchanges
from shisn.web import displays, identity, loaders, widgets

viewer = identity.guard(auth.LEADERSHIP, auth.PROGRAM_MANAGER)
con = loaders.connection()
cycles = loaders.cycles()

st.title("Pairing suggestions")
st.caption(
    "One national plan, solved to optimality: each need gets at most one mentor, each mentor state takes at "
    "most its capacity (where it published an offer, that offer's own capacity in its area). Area and region "
    "choices filter what is shown, so capacity is never double-booked."
)
if not cycles:
    st.info("No self-assessments are loaded yet. Load files on the Data page.")
    st.stop()

chosen_filters = widgets.filters(
    [
        widgets.cycle_filter("Cycle"),
        widgets.Filter(
            "Program areas",
            list(catalog.AREA_SLUGS),
            "areas",
            format_func=catalog.area_short,
            multi=True,
            none_text="All program areas",
            placeholder="All program areas",
            width=3,
        ),
        widgets.Filter(
            "Region",
            pairing_tables.region_options(viewer),
            "region",
            format_func=pairing_tables.region_label,
            width=1.4,
        ),
    ]
)
cycle, areas, region = chosen_filters["cycle"], chosen_filters["areas"], chosen_filters["region"]
widgets.cycle_notice(cycle)

# drawn only when opened (its sliders are a second kind of widget code for the browser to fetch); the values are
# kept while it is closed
box = st.expander("Capacity and score weights", icon=":material/tune:", key="weights_open", on_change="rerun")
with box:
    per_mentor = widgets.kept_slider(
        "Needs one mentor state takes at most (capacity)",
        0,
        10,
        pairing.DEFAULT_CAPACITY,
        key="capacity",
        draw=box.open,
    )
    cols = st.columns(3) if box.open else [None] * 3
    values = {}
    for i, (name, d) in enumerate(pairing.Weights.describe().items()):
        values[name] = widgets.kept_slider(
            d["label"],
            0.1 if name == "base" else 0.0,
            3.0,
            float(d["default"]),
            0.1,
            help=d["help"],
            key=f"w_{name}",
            draw=box.open,
            container=cols[i % 3],
        )
    if box.open:
        st.caption(
            "Score = serve-more-needs + maturity gap/4 × weight + same region + shared border + similar "
            "population + mentor breadth, each term 0–1 times its weight."
        )
weights = pairing.Weights(**values)

result = loaders.pairing_result(cycle, weights, per_mentor)
scope = pairing_tables.scope_states(viewer, region)
pairs = pairing_tables.filter_pairs(result.pairs, areas, scope)
referrals = pairing_tables.filter_referrals(result.referrals, areas, scope)
s = pairing_tables.summary(pairs, referrals)

k = st.columns(4)
k[0].metric("Suggested pairs", s["pairs"], help="Mentor → mentee pairs in this view.")
k[1].metric(
    "Needs served",
    "–" if s["served_share"] is None else f"{s['served_share']:.0%}",
    help="Share of the needs in view (states that asked for guidance) that get a mentor.",
)
k[2].metric("Referred to TA", s["referrals"], help="Needs no eligible mentor can take.")
k[3].metric("Mentor states", s["mentors"])


# --- one view at a time: only the open tab runs (its label is in the URL; widgets.lazy_tabs) -------------------------


def chosen_pair():
    """The selected pair (URL `pair`, MENTOR-MENTEE-area) and its row among the pairs in view (None if hidden)."""
    key = widgets.url_selection(
        selection.PAIR_PARAM,
        lambda v: None if selection.parse_pair(v) is None else selection.pair_key(*selection.parse_pair(v)),
    )
    return key, selection.pair_row(pairs, key)


def table_click(event):
    rows = (event or {}).get("selection", {}).get("rows", [])
    keys = selection.pair_keys(pairs)
    return {selection.PAIR_PARAM: keys[rows[0]] if rows and rows[0] < len(keys) else None}


def pairs_view():
    """The suggested pairs; one of them side by side, with a button to open an exchange."""
    st.header("Suggested pairs")
    st.caption("Select a row (or an arc on the Map) to compare the two states and open an exchange.")
    key, row = chosen_pair()
    # the table shows the URL's pair as selected (a click on the map, a link, or a row clicked before)
    st.session_state["pairs_table"] = {"selection": {"rows": [] if row is None else [row], "columns": [], "cells": []}}
    st.dataframe(
        pairing_tables.pairs_table(pairs),
        hide_index=True,
        width="stretch",
        height=400,
        on_select=widgets.on_chart_select("pairs_table", table_click),
        selection_mode="single-row",
        key="pairs_table",
        column_config={
            "Score": st.column_config.ProgressColumn(
                "Score",
                min_value=0.0,
                max_value=float(max(1.0, result.pairs["score"].max() if len(result.pairs) else 1.0)),
                format="%.2f",
            ),
            "Why": st.column_config.TextColumn("Why", width="large"),
        },
    )
    if key is not None and row is None:
        st.caption("The pair in the link is not among the pairs in this view (another cycle, area or region).")
    if row is not None:
        p = pairs.iloc[row]
        st.subheader(f"{p['mentor']} → {p['mentee']} · {catalog.area_short(p['program_area'])}")
        st.text(p["reasons"])
        displays.text_table(
            loaders.cached(
                lambda: pairing_tables.side_by_side(loaders.assessments(cycle), p["mentor"], p["mentee"], viewer),
                "side by side",
                cycle,
                p["mentor"],
                p["mentee"],
                viewer=viewer,
            )
        )  # static: 9 rows
        if st.button("Open an exchange for this pair", type="primary", icon=":material/forum:"):
            try:
                ex_id = exchanges.open_exchange(con, p["mentor"], p["mentee"], [p["program_area"]], cycle, viewer.name)
            except exchanges.ExchangeError as e:
                st.warning(str(e))
            else:
                st.success(f"Exchange {ex_id} opened (status: proposed). Introduce the states on the Exchanges page.")
                # as on the national page: the link to the new exchange once there is one (the sidebar has the page)
                st.page_link(
                    "pages/exchanges.py",
                    label="Go to Exchanges",
                    icon=":material/arrow_forward:",
                    query_params={"exchange": str(ex_id)},
                )
    displays.download(
        "Download pairs (CSV)",
        lambda: safe_text.csv_file(pairing_tables.export_pairs(pairs)),
        ("pairs CSV", cycle, tuple(sorted(weights.as_dict().items())), per_mentor, tuple(areas), region),
        file_name=f"shisn-pairs-{cycle}.csv",
        mime="text/csv",
        icon=":material/download:",
        audit=f"pairs CSV {cycle}",
    )  # the key: everything the view depends on (viewer added)


def map_view():
    """The pairs in view as arcs from mentor to mentee; a click on an arc (or the select box) selects that pair,
    also in the pairs table."""
    st.header("Pairs on the map")
    keys = selection.pair_keys(pairs)
    key = widgets.filters(
        [
            widgets.SelectionFilter(
                "Pair",
                keys,
                selection.PAIR_PARAM,
                lambda v: None if selection.parse_pair(v) is None else selection.pair_key(*selection.parse_pair(v)),
                format_func=lambda k: selection.pair_label(pairs, k),
                none_text="no pair selected",
                help="Or click an arc on the map.",
            )
        ],
        key="pick_open",
        title="Select by name",
        icon=":material/ads_click:",
    )[selection.PAIR_PARAM]
    deck_key = widgets.chart_key("pairs_map")
    st.pydeck_chart(
        maps.arc_deck(pairing_tables.arcs(pairs), width=940, height=500, pitch=0, selected=key),
        height=500,
        key=deck_key,
        selection_mode="single-object",
        on_select=widgets.on_chart_select(
            deck_key,
            lambda e: (
                {selection.PAIR_PARAM: selection.from_arc_event(e, keys)} if selection.from_arc_event(e, keys) else None
            ),
        ),
        alt=f"Map of the suggested pairs, {cycle}, as arcs from mentor to mentee; click one to select "
        "that pair. Its summary and data are below it.",
    )
    shown = areas or list(catalog.AREA_SLUGS)
    displays.svg_image(
        maps.area_legend_svg(shown, pairing_tables.AREA_COLOURS, width=940),  # catalogue labels only
        "Legend: the arcs' colours by program area: " + ", ".join(catalog.area_short(a) for a in shown),
    )
    st.caption(
        "Lines run from mentor (light end) to mentee (dark end), coloured by program area; click one to "
        "select that pair. Alaska, Hawaii and the territories are drawn as insets."
    )
    displays.chart_text(
        alt_text.pairs_map(pairs),
        lambda: pairing_tables.pairs_table(pairs).drop(columns="Why"),  # why: on the table
        "pairs_map_data_open",
        what="map",
    )
    row = selection.pair_row(pairs, key)
    if row is not None:
        p = pairs.iloc[row]
        with st.container(border=True):
            st.markdown(
                f"**{p['mentor']} → {p['mentee']} · {safe_text.markdown(catalog.area_short(p['program_area']))}**"
                f" · score {float(p['score']):.2f}"
            )
            st.text(p["reasons"])
            st.page_link(
                "pages/pairings.py",
                label="Show it in the pairs table (compare, open an exchange)",
                icon=":material/table_rows:",
                query_params={**st.query_params.to_dict(), pairing_tables.VIEW_KEY: pairing_tables.VIEW_PAIRS},
            )


def ta_view():
    """Needs no mentor can take (to technical assistance), and offers that cannot be used."""
    st.header("Referred to technical assistance")
    if len(referrals):
        st.caption("Needs the network cannot meet this cycle, and why. Record them so nothing raised is dropped.")
        st.dataframe(
            pairing_tables.referrals_table(referrals),
            hide_index=True,
            width="stretch",
            column_config={"Why no mentor": st.column_config.TextColumn(width="large")},
        )
        if st.button(
            f"Record {len(referrals)} TA referral{'s' if len(referrals) != 1 else ''}",
            icon=":material/assignment_turned_in:",
        ):
            n = exchanges.refer_all(con, referrals, cycle, viewer.name)
            st.success(f"{n} new referral{'s' if n != 1 else ''} recorded ({len(referrals) - n} were already on file).")
    else:
        st.caption("Every need in view has a mentor.")

    if len(result.ineligible_offers):
        with st.expander(f"Offers that cannot be used for pairing ({len(result.ineligible_offers)})"):
            st.dataframe(
                result.ineligible_offers[["state_name", "area_label", "maturity", "reason"]].rename(
                    columns={
                        "state_name": "State",
                        "area_label": "Program area",
                        "maturity": "Maturity",
                        "reason": "Why not",
                    }
                ),
                hide_index=True,
                width="stretch",
            )
    displays.download(
        "Download TA referrals (CSV)",
        lambda: safe_text.csv_file(pairing_tables.export_referrals(referrals)),
        ("TA referrals CSV", cycle, tuple(sorted(weights.as_dict().items())), per_mentor, tuple(areas), region),
        file_name=f"shisn-ta-referrals-{cycle}.csv",
        mime="text/csv",
        icon=":material/download:",
        audit=f"TA referrals CSV {cycle}",
    )  # the key: everything the view depends on (viewer added)


def capacity_view():
    """Leadership: what one more slot for each mentor state at capacity would serve (the plan solved again), and
    the needs per area no slot can meet."""
    st.header("Capacity planning")
    plan = loaders.cached(
        lambda: capacity.plan(loaders.assessments(cycle), weights, per_mentor, offers=loaders.pairing_offers()),
        "capacity plan",
        cycle,
        tuple(sorted(weights.as_dict().items())),
        per_mentor,
        loaders.offers_version(),
    )
    slots = pairing_tables.filter_capacity_slots(plan.slots, areas, scope)
    by_area = pairing_tables.filter_capacity_areas(plan.areas, areas)
    whole = not areas and scope is None
    st.markdown(safe_text.markdown(capacity.summary(slots, by_area, plan.mentors if whole else None)))
    st.caption(
        "For each mentor state at capacity, the national plan solved again, exactly, with one more slot for "
        "that state alone (capacity + 1, the others unchanged): the needs it would serve and the score gained. "
        "A state with a free slot gains nothing from another." + pairing_tables.capacity_scope_note(areas, scope)
    )
    st.subheader("One more slot per mentor state")
    if len(slots):
        st.dataframe(
            pairing_tables.capacity_slots_table(slots),
            hide_index=True,
            width="stretch",
            column_config={"What one more slot does": st.column_config.TextColumn(width="large")},
        )
    else:
        st.caption("No mentor state in view is at capacity.")
    st.subheader("Needs per program area")
    st.caption(
        "Unmet for lack of capacity: some state could mentor it, all are full. No possible mentor: no other "
        "state offers help there at maturity 4 or more above the seeker, so technical assistance is the way."
    )
    st.dataframe(pairing_tables.capacity_areas_table(by_area), hide_index=True, width="stretch")


widgets.lazy_tabs(
    {
        v: {
            pairing_tables.VIEW_PAIRS: pairs_view,
            pairing_tables.VIEW_MAP: map_view,
            pairing_tables.VIEW_TA: ta_view,
            pairing_tables.VIEW_CAPACITY: capacity_view,
        }[v]
        for v in pairing_tables.views(viewer)
    },
    pairing_tables.VIEW_KEY,
)
