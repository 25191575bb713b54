"""Exchanges: program managers introduce states, the states choose how to share, the outcome is recorded.
Layout and widgets only; every read and write is a function of shisn.services.exchanges / shisn.services.assignments.

The exchange shown in detail is chosen by a row click on the table; its keyboard alternative, the same choice as a
select box, is in the **Exchange** panel under the table, drawn only when opened (a select box is the costliest
widget for a browser opening the page cold) and labelled with the exchange shown. The choice is in the URL
(`?exchange=`) either way, so a link opens that exchange at once."""

import datetime as dt

import pandas as pd
import streamlit as st

from shisn.domain import auth, catalog, exchange_rules, jurisdictions, safe_text
from shisn.render import alt_text, brief, exchange_map
from shisn.services import assignments, exchange_export, exchanges, offers, outcomes
from shisn.web import displays, forms, identity, loaders, widgets

viewer = identity.guard(*auth.ROLES)
con = loaders.connection()
NAMES = jurisdictions.names()
SNAP = "ex_snapshot"  # {exchange_id: the row as the viewer opened it}: the version every save names
FLASH = "ex_flash"  # a message to show once after a rerun


def state_label(code: str) -> str:
    return f"{code} · {NAMES[code]}"


def pm_text(code: str) -> str:
    return assignments.pm_label(assignments.pm_of(con, code, viewer))


def open_exchange(ex_id: int) -> None:
    """Show exchange `ex_id` in detail (a row click, a new exchange). The URL holds the opened exchange
    (`?exchange=`); the keyboard panel's select box, keyed `exchange`, is only drawn while open and then starts from
    the URL. Its session value is dropped rather than set: a value set while the box is not drawn would outlive a
    later choice made in the box (Streamlit keeps it under the key and shows it again once the box is gone)."""
    st.query_params["exchange"] = str(ex_id)
    if "exchange" in st.session_state:
        del st.session_state["exchange"]


def pms_md(mentor: str, mentee: str) -> str:
    """The program managers of an exchange's two states (each once) as the viewer may see them
    (`assignments.exchange_pms`, the brief's rule), for markdown text: names and addresses escaped."""
    pms = assignments.exchange_pms(con, mentor, mentee, viewer, loaders.pm_assignments())
    seen = dict.fromkeys(assignments.pm_label(pm) for pm in pms.values())
    return "; ".join(safe_text.markdown(t) for t in seen)


st.title("Exchanges")
st.caption(
    "A state tells its ODP program manager what it offers or needs; the program manager introduces the two "
    "states; the states decide how to share (teleconference, on-site visit, document exchange); the outcome "
    "and lessons learned are recorded here."
)

all_rows = loaders.exchange_rows(viewer)
if all_rows["synthetic"].any():
    st.info(
        f"**Demo exchanges.** {int(all_rows['synthetic'].sum())} of the exchanges shown are synthetic records "
        "created by the demo generator; they describe no real state's work.",
        icon=":material/science:",
    )

if viewer.role == auth.PROGRAM_MANAGER:
    if viewer.states:
        st.write(f"You see the exchanges of your {len(viewer.states)} assigned states: {', '.join(viewer.states)}.")
    else:
        st.warning(
            "No states are assigned to you, so there are no exchanges to show. Leadership assigns program "
            "managers on the Program managers page."
        )
elif viewer.role == auth.STATE:
    me = viewer.home_state
    st.write(
        f"The exchanges **{me}** takes part in. To start one or record what you agreed, tell your program manager:"
    )
    st.text(f"{state_label(me)} · program manager: {pm_text(me)}")
    latest = loaders.latest_cycle()
    if latest is not None:
        with st.expander(f"Request an introduction or offer help ({latest})", icon=":material/person_add:"):
            forms.request_introduction_form(con, viewer, loaders.state_profile(me, latest, viewer), key="ex_request")

# --- new exchange --------------------------------------------------------------------------------------------------
if exchange_rules.can_open(viewer):
    qp = st.query_params
    pre_mentor, pre_mentee = jurisdictions.state_code(qp.get("mentor")), jurisdictions.state_code(qp.get("mentee"))
    pre_areas = [a for a in (catalog.area_slug(x) for x in qp.get_all("area") for x in x.split(",")) if a]
    from_link = bool(pre_mentor or pre_mentee or pre_areas)
    cycles = loaders.cycles() or [dt.date.today().year]
    box = widgets.lazy_expander(
        "Open a new exchange" + (" (from a suggested pair)" if from_link else ""),
        "new_exchange_open",
        icon=":material/add_circle:",
        open_now=(pre_mentor, pre_mentee, tuple(pre_areas)) if from_link else None,
    )
    if box.open:  # drawn only when opened (a link from a suggested pair opens it)
        with box:
            codes = list(jurisdictions.codes())
            mine = [c for c in codes if c in viewer.states] if viewer.role == auth.PROGRAM_MANAGER else codes
            with st.form("new_exchange", border=False):
                c1, c2 = st.columns(2)
                mentor = c1.selectbox(
                    "Mentor state (offers help)",
                    codes,
                    format_func=state_label,
                    index=codes.index(pre_mentor) if pre_mentor else None,
                    placeholder="Choose a state",
                )
                mentee = c2.selectbox(
                    "Mentee state (seeks guidance)",
                    codes,
                    format_func=state_label,
                    index=codes.index(pre_mentee) if pre_mentee else None,
                    placeholder="Choose a state",
                )
                c1, c2, c3 = st.columns([2, 1, 1])
                areas = c1.multiselect(
                    "Program area(s)", catalog.AREA_SLUGS, default=pre_areas, format_func=catalog.area_short
                )
                cycle = c2.selectbox(
                    "Assessment cycle", cycles, help="The self-assessment cycle the need was raised in."
                )
                means = c3.selectbox(
                    "Means (if already chosen)",
                    [None, *exchange_rules.MEANS],
                    format_func=lambda v: "not decided yet" if v is None else exchange_rules.means_label(v),
                )
                note = st.text_area(
                    "Note (optional)",
                    max_chars=exchanges.MAX_TEXT,
                    height=80,
                    placeholder="What the mentee needs, who asked, anything the other PM should know.",
                )
                if viewer.role == auth.PROGRAM_MANAGER:
                    st.caption(f"You can open exchanges in which one of your states ({', '.join(mine)}) takes part.")
                submitted = st.form_submit_button("Open exchange", type="primary", icon=":material/add:")
            if submitted:
                if mentor is None or mentee is None:
                    st.error("Choose both a mentor and a mentee state.")
                elif not exchange_rules.can_edit(viewer, mentor, mentee):
                    st.error(
                        f"{mentor} and {mentee} are not among your states. Ask their program managers: "
                        f"{pms_md(mentor, mentee)}."
                    )
                else:
                    try:
                        new_id = exchanges.open_exchange(
                            con, mentor, mentee, areas, cycle, viewer.name, means=means, note=note
                        )
                    except exchanges.Duplicate as e:
                        st.error(safe_text.markdown(str(e)), icon=":material/content_copy:")
                    except exchanges.ExchangeError as e:
                        st.error(safe_text.markdown(str(e)))
                    else:
                        for k in ("mentor", "mentee", "area"):
                            if k in st.query_params:
                                del st.query_params[k]
                        st.session_state[FLASH] = (
                            f"Exchange {new_id} opened: {mentor} → {mentee} · "
                            f"{', '.join(catalog.area_short(a) for a in areas)}. "
                            f"Program managers to inform: {pms_md(mentor, mentee)}."
                        )
                        open_exchange(new_id)
                        st.rerun()

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")
    st.toast(flash, icon=":material/check_circle:")

# --- overview ------------------------------------------------------------------------------------------------------
summary = exchanges.summary(con, viewer, rows=all_rows)
held = int(summary.by_status.set_index("status").loc[[exchange_rules.HELD, exchange_rules.CLOSED], "count"].sum())
m = st.columns(5)
m[0].metric("Exchanges", summary.total)
m[1].metric("Open", summary.open, help="Proposed, introduced, in contact or exchange held.")
m[2].metric("Exchange held or closed", held)
m[3].metric("Declined", int(summary.by_status.set_index("status").loc[exchange_rules.DECLINED, "count"]))
median = summary.median_days_to_first_contact
m[4].metric(
    "Median days to first contact",
    "–" if median is None else f"{median:.0f}",
    help="Days from proposal to introduction (the first contact ODP facilitates), over the "
    f"{summary.introduced} exchange(s) introduced so far; {summary.awaiting_introduction} still await "
    "their introduction and are not counted.",
)


# --- one view at a time: only the open tab runs (its label is in the URL; widgets.lazy_tabs) -------------------------


def list_view():
    """The exchanges the viewer may see; one of them in detail, with its history and the update form."""
    if viewer.role == auth.STATE:
        st.header(f"Exchanges with {viewer.home_state}")
    rows = all_rows
    if rows.empty:
        st.info(
            "No exchanges yet."
            + (
                " Open one above, or from a suggested pair on the Pairings page."
                if exchange_rules.can_open(viewer)
                else ""
            ),
            icon=":material/forum:",
        )
    else:
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        which = c1.segmented_control(
            "Show", ["Requests", "Open", "Held or closed", "Declined", "All"], default="All", key="ex_filter"
        )
        keep = {
            "Requests": [exchange_rules.REQUESTED],
            "Open": list(exchange_rules.OPEN_STATUSES),
            "Held or closed": [exchange_rules.HELD, exchange_rules.CLOSED],
            "Declined": [exchange_rules.DECLINED],
        }.get(which or "All", list(exchange_rules.ALL_STATUSES))
        view = rows[rows["status"].isin(keep)]
        pms = loaders.pm_assignments()
        view = assignments.with_exchange_pms(view, con, viewer, pms)
        displays.download(
            "Download CSV",
            lambda: safe_text.csv_file(exchange_export.export_frame(con, viewer)),
            ("exchanges CSV",),
            tables=("exchanges", "exchange_outcomes"),
            container=c2,
            file_name="shisn-exchanges.csv",
            mime="text/csv",
            icon=":material/download:",
            width="stretch",
            audit="exchanges CSV",
            help="Every exchange you can see (cells that could run as spreadsheet formulas are neutralised).",
        )
        table = view[
            [
                "exchange_id",
                "mentor",
                "mentee",
                "areas_label",
                "status_label",
                "means_label",
                "proposed_at",
                "first_contact_at",
                "updated_at",
                "mentor_pm_name",
                "mentee_pm_name",
                "synthetic",
            ]
        ]
        event = st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="ex_table",
            column_config={
                "exchange_id": st.column_config.NumberColumn("#", format="%d", width=50),
                "mentor": st.column_config.TextColumn("Mentor", width=70),
                "mentee": st.column_config.TextColumn("Mentee", width=70),
                "areas_label": "Program areas",
                "status_label": "Status",
                "means_label": "Means",
                "proposed_at": st.column_config.DateColumn("Proposed", format="YYYY-MM-DD"),
                "first_contact_at": st.column_config.DateColumn("First contact", format="YYYY-MM-DD"),
                "updated_at": st.column_config.DatetimeColumn("Last change", format="YYYY-MM-DD HH:mm"),
                "mentor_pm_name": "Mentor's PM",
                "mentee_pm_name": "Mentee's PM",
                "synthetic": st.column_config.CheckboxColumn("Demo", width=60),
            },
        )
        st.caption("Select a row to see its history and record what happened.")

        # --- one exchange: facts, history, update -----------------------------------------------------------------
        ids = [int(i) for i in rows["exchange_id"]]
        picked = event.selection.rows if event and event.selection else []
        if picked:
            pid = int(table.iloc[picked[0]]["exchange_id"])
            if st.session_state.get("ex_table_last") != pid:
                st.session_state["ex_table_last"] = pid
                open_exchange(pid)
        labels = {
            int(r.exchange_id): f"{r.exchange_id} · {r.mentor} → {r.mentee} · {r.areas_label} ({r.status_label})"
            for r in rows.itertuples()
        }
        st.divider()
        # the keyboard alternative to a row click: the same choice as a select box, in a panel drawn only when opened
        # (a select box is the costliest widget for a browser opening the page cold). Its closed label names the
        # exchange; the exchange is in the URL (?exchange=) either way, so a link opens it at once.
        ex_id = widgets.filters(
            [
                widgets.Filter(
                    "Exchange",
                    [None, *ids],
                    "exchange",
                    default=None,
                    format_func=lambda i: (
                        "Choose an exchange to see its history and update it" if i is None else labels[int(i)]
                    ),
                    short_func=lambda i: (
                        "none chosen (select a row above, or choose one here)" if i is None else labels[int(i)]
                    ),
                )
            ],
            key="exchange_pick_open",
            title="Exchange",
            icon=":material/ads_click:",
        )["exchange"]
        if ex_id is not None:
            exchange_detail(ex_id)


def exchange_detail(ex_id: int) -> None:
    """One exchange: where it stands, its facts, the request or update form, each state's view, its history."""
    snaps = st.session_state.setdefault(SNAP, {})
    for other in [k for k in snaps if k != ex_id]:
        del snaps[other]  # opening another exchange re-reads this one when you come back
    current = exchanges.get(con, ex_id)
    if ex_id not in snaps:
        snaps[ex_id] = current
    snap = snaps[ex_id]
    editable = exchange_rules.can_edit(viewer, snap["mentor"], snap["mentee"])

    colour, _ = exchange_map.STATUS_COLOURS[snap["status"]]
    st.header(
        f"Exchange {ex_id}: {snap['mentor']} → {snap['mentee']} "
        f":{colour}-badge[{exchange_rules.status_label(snap['status'])}]"
    )
    if int(current["version"]) != int(snap["version"]):
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        stale = exchanges.StaleEdit(
            ex_id,
            current["updated_by"],
            pd.Timestamp(current["updated_at"]).to_pydatetime(),
            int(current["version"]),
        )
        c1.warning(safe_text.markdown(str(stale)), icon=":material/sync_problem:")
        if c2.button("Reload", icon=":material/refresh:", key=f"reload_{ex_id}"):
            snaps[ex_id] = current
            st.rerun()
    steps = (
        [s for s in exchange_rules.STATUSES if s != exchange_rules.DECLINED]
        if snap["status"] != exchange_rules.DECLINED
        else [s for s in exchange_rules.STATUSES if snap[exchange_rules.STATUS_TIME[s]] is not None]
    )
    for col, s in zip(st.columns(len(exchange_rules.STATUSES) - 1), steps):
        when = snap[exchange_rules.STATUS_TIME[s]]
        if when is not None:
            col.markdown(
                f":{exchange_map.STATUS_COLOURS[s][0]}[:material/check_circle:] **{exchange_rules.status_label(s)}**  \n"
                f"{pd.Timestamp(when):%Y-%m-%d}"
            )
        else:
            col.markdown(f":gray[:material/radio_button_unchecked: {exchange_rules.status_label(s)}]  \n:gray[–]")

    facts, form_col = st.columns([1, 1], gap="large")
    with facts:
        exchange_facts(snap)
    with form_col:
        exchange_actions(ex_id, snap, snaps, editable)
    outcome_block(ex_id, snap)  # each state's view once held
    exchange_history(ex_id)


def exchange_facts(snap: dict) -> None:
    """Both states with their program managers, the areas, cycle, means, planned date and outcome."""
    pms = assignments.exchange_pms(con, snap["mentor"], snap["mentee"], viewer, loaders.pm_assignments())
    for role, code in (("Mentor", snap["mentor"]), ("Mentee", snap["mentee"])):
        pm = pms[code]
        st.markdown(
            f"**{role}** · {code} · {NAMES[code]}  \n"
            + (
                f":material/badge: {safe_text.markdown(assignments.pm_label(pm))}"
                if pm
                else ":gray[no program manager assigned]"
            )
        )
    st.markdown("**Program areas** · " + "; ".join(catalog.area_label(a) for a in snap["program_areas"].split(",")))
    st.markdown(
        f"**Cycle** · {snap['cycle']}  \n**Means** · "
        + (exchange_rules.means_label(snap["means"]) if snap["means"] else ":gray[not decided yet]")
        + (f" ({safe_text.markdown(snap['means_detail'])})" if snap["means_detail"] else "")
        + f"  \n**Planned date** · {snap['planned_on'] or '–'}"
    )
    st.markdown("**Outcome and lessons learned**")
    if snap["outcome"]:
        st.text(snap["outcome"])
    else:
        st.caption("Not recorded yet.")


def exchange_actions(ex_id: int, snap: dict, snaps: dict, editable: bool) -> None:
    """The request it began as, the pairing brief, and what the viewer may do: answer or withdraw a request, or
    record what happened."""
    if snap["requested_at"] is not None:  # it began as a state's introduction request
        asker = snap["requested_state"]
        st.markdown(
            f"**Introduction request** from {asker} ({safe_text.markdown(snap['requested_by'])}), "
            f"{pd.Timestamp(snap['requested_at']):%Y-%m-%d %H:%M}: "
            + ("asks for an introduction to a mentor" if asker == snap["mentee"] else "offers help")
        )
        offer = offers.of_exchange(con, ex_id)
        if offer is not None:  # the request was made from a state's offer (the Offers and practices page)
            forms.page_link(
                "offers.py",
                f"Requested from offer {int(offer['offer_id'])}: {safe_text.markdown(offer['title'])}",
                forms.OFFER_ICON,
                offer=int(offer["offer_id"]),
            )
        if snap["request_message"]:
            st.text(snap["request_message"])
        if snap["decline_reason"]:
            st.markdown("**Declined:**")
            st.text(snap["decline_reason"])
    displays.download(
        "Pairing brief",
        lambda: brief.render(con, ex_id, viewer),
        ("pairing brief", int(ex_id)),
        tables=("exchanges", "program_manager_log", "offers", "practices"),  # status, request, PMs, the offer
        file_name=brief.file_name(snap),
        mime="text/html",
        icon=":material/print:",
        audit=f"pairing brief exchange {ex_id}",
        help="One printable page for the introduction: both states "
        "side by side, why they were paired, both program managers, suggested means. "
        "Self-contained HTML (no internet needed).",
    )
    if snap["status"] == exchange_rules.REQUESTED:
        answer_request(ex_id, snap, snaps)
    elif not editable:
        st.caption(
            f"Read only. The program manager of either state records changes: {pms_md(snap['mentor'], snap['mentee'])}."
        )
    else:
        record_update(ex_id, snap, snaps)


def answer_request(ex_id: int, snap: dict, snaps: dict) -> None:
    """A program manager (or leadership) accepts or declines a request; the state that asked may withdraw it."""
    v = int(snap["version"])
    if exchange_rules.can_answer(viewer, snap):
        with st.form(f"answer_{ex_id}_{v}"):
            st.markdown("**Answer the request** (the first answer counts; the state sees it)")
            to = st.radio(
                "Accept as",
                [exchange_rules.PROPOSED, exchange_rules.INTRODUCED],
                format_func=exchange_rules.status_label,
                captions=[
                    "you will introduce the two states later",
                    "you have introduced them already (first contact made)",
                ],
                horizontal=True,
                key=f"accept_to_{ex_id}_{v}",
            )
            reason = st.text_input(
                "Reason, if declining (the state sees it)",
                max_chars=exchange_rules.MAX_MESSAGE,
                key=f"decline_reason_{ex_id}_{v}",
            )
            b1, b2 = st.columns(2)
            accept = b1.form_submit_button("Accept", type="primary", icon=":material/check:")
            decline = b2.form_submit_button("Decline", icon=":material/close:")
        action = (
            (lambda: exchanges.accept_request(con, ex_id, v, viewer, to))
            if accept
            else (lambda: exchanges.decline_request(con, ex_id, v, viewer, reason))
            if decline
            else None
        )
    elif exchange_rules.can_withdraw(viewer, snap):
        st.caption("Waiting for a program manager's answer.")
        action = (
            (lambda: exchanges.decline_request(con, ex_id, v, viewer, None))
            if st.button("Withdraw the request", icon=":material/undo:", key=f"withdraw_{ex_id}")
            else None
        )
    else:
        st.caption(
            f"Waiting for the answer of either state's program manager: {pms_md(snap['mentor'], snap['mentee'])}."
        )
        action = None
    if action is not None:
        try:
            new_v = action()
        except exchanges.ExchangeError as e:  # StaleEdit included: someone else answered first
            st.error(safe_text.markdown(str(e)), icon=":material/sync_problem:")
        else:
            snaps[ex_id] = exchanges.get(con, ex_id)
            st.session_state[FLASH] = (
                f"Request {ex_id} is now {exchange_rules.status_label(snaps[ex_id]['status'])} (version {new_v})."
            )
            st.rerun()


def record_update(ex_id: int, snap: dict, snaps: dict) -> None:
    """The form recording a status change, the means, dates, outcome and a comment, with a TA referral when
    declined."""
    v = int(snap["version"])
    k = f"{ex_id}_{v}"  # new widgets (with fresh defaults) for every version opened
    terminal = snap["status"] in exchange_rules.TERMINAL
    with st.form(f"update_{k}"):
        st.markdown("**Record what happened**")
        nxt = [None, *exchange_rules.allowed_next(snap["status"])]
        if terminal:
            st.caption(
                f"This exchange is {exchange_rules.status_label(snap['status'])}, which is final: you can still "
                "complete the outcome note and add comments."
            )
            target = on = None
            means, detail, planned = snap["means"], snap["means_detail"], snap["planned_on"]
        else:
            c1, c2 = st.columns(2)
            target = c1.selectbox(
                "Move to",
                nxt,
                key=f"to_{k}",
                format_func=lambda s: "(keep status)" if s is None else exchange_rules.status_label(s),
            )
            on = c2.date_input(
                "On",
                value=dt.date.today(),
                max_value=dt.date.today(),
                key=f"on_{k}",
                help="When it happened (for a status change recorded after the fact).",
            )
            c1, c2 = st.columns(2)
            opts = [None, *exchange_rules.MEANS]
            means = c1.selectbox(
                "Means chosen by the states",
                opts,
                index=opts.index(snap["means"]),
                key=f"means_{k}",
                format_func=lambda m: "not decided yet" if m is None else exchange_rules.means_label(m),
                help="Needed to record 'exchange held'.",
            )
            planned = c2.date_input("Planned date", value=snap["planned_on"], key=f"planned_{k}")
            detail = st.text_input(
                "Means detail",
                value=snap["means_detail"] or "",
                key=f"detail_{k}",
                max_chars=exchanges.MAX_DETAIL,
                placeholder="e.g. two-day visit to the EOC",
            )
        outcome = st.text_area(
            "Outcome and lessons learned",
            value=snap["outcome"] or "",
            key=f"out_{k}",
            max_chars=exchanges.MAX_TEXT,
            height=100,
        )
        comment = st.text_input("Comment for the history (optional)", key=f"comment_{k}")
        refer = False
        if not terminal:
            refer = st.checkbox(
                "If declining: refer the mentee's need to technical assistance",
                value=True,
                key=f"refer_{k}",
            )
        save = st.form_submit_button("Save", type="primary", icon=":material/save:")
    if save:
        fields = {"outcome": outcome}
        if not terminal:
            fields.update(means=means, means_detail=detail, planned_on=planned)
        try:
            new_v = exchanges.update(con, ex_id, v, viewer.name, status=target, at=on, comment=comment, **fields)
        except exchanges.StaleEdit as e:
            st.error(safe_text.markdown(str(e)), icon=":material/sync_problem:")
        except exchanges.ExchangeError as e:
            st.error(safe_text.markdown(str(e)))
        else:
            msg = f"Saved exchange {ex_id} (version {new_v})." if new_v != v else "Nothing changed: nothing was saved."
            if target == exchange_rules.DECLINED and refer:
                exchanges.refer_declined(con, ex_id, viewer.name)
                msg += f" {snap['mentee']}'s need was referred to technical assistance."
            snaps[ex_id] = exchanges.get(con, ex_id)
            st.session_state[FLASH] = msg
            st.rerun()


def exchange_history(ex_id: int) -> None:
    """The append-only history of the exchange."""
    st.markdown("**History**")
    hist = exchanges.history(con, ex_id)
    st.dataframe(
        hist[["version", "changed_at", "changed_by", "effective_at", "summary", "comment"]],
        hide_index=True,
        width="stretch",
        column_config={
            "version": st.column_config.NumberColumn("Version", format="%d", width=70),
            "changed_at": st.column_config.DatetimeColumn("Recorded", format="YYYY-MM-DD HH:mm"),
            "changed_by": "By",
            "summary": st.column_config.TextColumn("Change", width="large"),
            "effective_at": st.column_config.DateColumn("Happened on", format="YYYY-MM-DD"),
            "comment": st.column_config.TextColumn("Comment", width="medium"),
        },
    )
    st.caption("The history is append-only: every change is kept with who recorded it and when.")


def outcome_block(ex_id: int, snap: dict) -> None:
    """Each state's view of the exchange (how useful, what changed, what it would do differently), and a form for
    the states the viewer may record for (its own state; a PM's states; leadership both) once it has been held."""
    views = outcomes.for_exchange(con, viewer, ex_id)
    mine = outcomes.recordable_states(viewer, snap)
    if views.empty and not outcomes.can_record(snap):
        return
    st.markdown("**The states' views**")
    if views.empty:
        st.caption("Neither state has recorded its view yet.")
    else:
        st.dataframe(
            views[["state", "part", "useful_label", "what_changed", "differently", "recorded_by", "recorded_at"]],
            hide_index=True,
            width="stretch",
            key=f"views_{ex_id}",
            column_config={
                "state": st.column_config.TextColumn("State", width=60),
                "part": "Part",
                "useful_label": "How useful",
                "what_changed": st.column_config.TextColumn("What changed", width="medium"),
                "differently": st.column_config.TextColumn("Would do differently", width="medium"),
                "recorded_by": "Recorded by",
                "recorded_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD"),
            },
        )
    if not mine:
        return
    with st.expander(
        "Record a state's view" if len(mine) > 1 else f"Record {mine[0]}'s view", icon=":material/rate_review:"
    ):
        state = (
            st.selectbox(
                "For",
                mine,
                key=f"view_for_{ex_id}",
                format_func=lambda c: f"{c} · {NAMES[c]} (" + ("mentor" if c == snap["mentor"] else "mentee") + ")",
            )
            if len(mine) > 1
            else mine[0]
        )
        old = views[views["state"] == state]
        old = old.iloc[0] if len(old) else None
        version = None if old is None else int(old["version"])
        with st.form(f"view_{ex_id}_{state}_{version or 0}", border=False):
            levels = list(outcomes.USEFUL_LABELS)
            useful = st.radio(
                "How useful was the exchange?",
                levels,
                horizontal=True,
                index=None if old is None else levels.index(int(old["useful"])),
                format_func=outcomes.useful_label,
            )
            changed = st.text_area(
                "What changed",
                value="" if old is None else old["what_changed"] or "",
                max_chars=outcomes.MAX_TEXT,
                height=80,
            )
            differently = st.text_area(
                "What it would do differently",
                max_chars=outcomes.MAX_TEXT,
                height=80,
                value="" if old is None else old["differently"] or "",
            )
            save = st.form_submit_button("Save view", icon=":material/save:")
        if save:
            if useful is None:
                st.error("Choose how useful the exchange was (1 to 5).")
            else:
                try:
                    outcomes.record(con, ex_id, state, viewer, useful, changed, differently, version=version)
                except outcomes.OutcomeError as e:
                    st.error(safe_text.markdown(str(e)))
                else:
                    st.session_state[FLASH] = f"Saved {state}'s view of exchange {ex_id}."
                    st.rerun()


def map_view():
    """Counts by status, area and region (leadership) and the exchanges as arcs on the map."""
    version = con.version("exchanges")
    if viewer.role == auth.LEADERSHIP and summary.total:

        def counts():  # static tables: a few rows each, beside the map (no second grid to load, see displays.text_table)
            return [
                (
                    title,
                    displays.markdown_table(
                        df[["label", "count"]].rename(
                            columns={
                                "label": title.removeprefix("By ")[:1].upper() + title.removeprefix("By ")[1:],
                                "count": "Exchanges",
                            }
                        )
                    ),
                )
                for title, df in (
                    ("By status", summary.by_status),
                    ("By program area", summary.by_area),
                    ("By FEMA region", summary.by_region),
                )
            ]

        for col, (title, table) in zip(
            st.columns(3, gap="medium"), loaders.cached(counts, "exchange counts", version, viewer=viewer)
        ):
            col.markdown(f"**{title}**")
            col.markdown(table)
        st.caption(
            "An exchange counts once in each of its program areas and once in each FEMA region it involves "
            "(mentor's and mentee's)."
        )

    # --- map ---------------------------------------------------------------------------------------------------
    # from the rows the page already holds (no second read), once per version of the exchanges and viewer
    arc_rows = loaders.cached(
        lambda: exchanges.arcs(con, viewer, rows=all_rows), "exchange arc rows", version, viewer=viewer
    )
    if len(arc_rows):
        st.header("On the map")
        # an on/off chip (st.pills, one option), not a toggle: its code is already loaded for the sidebar's buttons
        show_closed = (
            st.pills("On the map", ["Include declined exchanges"], key="ex_map_declined", label_visibility="collapsed")
            is not None
        )
        # the deck as this viewer sees it, built once per version of the exchanges (a link opens without rebuilding)
        deck = loaders.cached(
            lambda: exchange_map.arc_deck(
                arc_rows if show_closed else arc_rows[arc_rows["status"] != exchange_rules.DECLINED]
            ),
            "exchange arcs",
            show_closed,
            version,
            viewer=viewer,
        )
        st.pydeck_chart(
            deck,
            height=exchange_map.MAP_HEIGHT_PX,
            width="stretch",
            alt="Map of the exchanges as arcs from mentor to mentee, coloured by status; its summary "
            "and data are below it.",
        )
        st.markdown(
            "Arcs run from the mentor to the mentee (the stronger end). "
            + " ".join(
                f":{exchange_map.STATUS_COLOURS[s][0]}[**━━ {exchange_rules.status_label(s)}**]"
                for s in exchange_rules.STATUSES
            )
        )
        shown = arc_rows if show_closed else arc_rows[arc_rows["status"] != exchange_rules.DECLINED]
        displays.chart_text(
            alt_text.exchanges_map(shown),
            lambda: alt_text.exchanges_map_table(shown),
            "exchanges_map_data_open",
            what="map",
        )


def ta_view():
    """Needs referred to technical assistance, and (PMs, leadership) a form to refer one."""
    st.header("Referred to technical assistance")
    st.caption(
        "Needs no exchange will meet (no eligible mentor, mentors at capacity, or an exchange declined) go to "
        "ODP's technical-assistance program, so nothing a state raised is dropped."
    )
    refs = exchanges.ta_referrals(con, viewer)
    if refs.empty:
        st.info("No needs referred to technical assistance.", icon=":material/support_agent:")
    else:
        st.dataframe(
            refs[
                [
                    "state",
                    "state_name",
                    "area_label",
                    "cycle",
                    "reason",
                    "referred_by",
                    "referred_at",
                    "exchange_id",
                    "synthetic",
                ]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "state": st.column_config.TextColumn("State", width=60),
                "state_name": "Name",
                "area_label": "Program area",
                "cycle": st.column_config.NumberColumn("Cycle", format="%d"),
                "reason": "Reason",
                "referred_by": "By",
                "referred_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD"),
                "exchange_id": st.column_config.NumberColumn("From exchange", format="%d"),
                "synthetic": st.column_config.CheckboxColumn("Demo", width=60),
            },
        )
    if exchange_rules.can_open(viewer):
        box = widgets.lazy_expander(
            "Refer a need to technical assistance", "refer_open", icon=":material/support_agent:"
        )
        if box.open:  # drawn only when opened
            with box:
                choices = [c for c in jurisdictions.codes() if viewer.role == auth.LEADERSHIP or c in viewer.states]
                cycles = loaders.cycles() or [dt.date.today().year]
                with st.form("refer", border=False):
                    c1, c2, c3 = st.columns([2, 2, 1])
                    r_state = c1.selectbox("State", choices, format_func=state_label)
                    r_area = c2.selectbox("Program area", catalog.AREA_SLUGS, format_func=catalog.area_short)
                    r_cycle = c3.selectbox("Cycle", cycles, key="refer_cycle")
                    r_reason = st.text_input(
                        "Reason", max_chars=exchanges.MAX_TEXT, placeholder="e.g. no eligible mentor this cycle"
                    )
                    if st.form_submit_button("Refer", icon=":material/send:"):
                        try:
                            rid = exchanges.refer_to_ta(con, r_state, r_area, r_cycle, r_reason, viewer.name)
                        except exchanges.ExchangeError as e:
                            st.error(safe_text.markdown(str(e)))
                        else:
                            st.session_state[FLASH] = (
                                f"Referral {rid}: {r_state} · {catalog.area_short(r_area)} ({r_cycle})."
                            )
                            st.rerun()


widgets.lazy_tabs(
    {exchange_rules.VIEW_LIST: list_view, exchange_rules.VIEW_MAP: map_view, exchange_rules.VIEW_TA: ta_view},
    exchange_rules.VIEW_KEY,
)
