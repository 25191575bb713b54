"""Page components used on more than one page: the review queue links, data-quality flag lists with their
confirmation form, the introduction request form with a state's requests, and the published offers and practices
of a state or program area as links to their detail on the Offers and practices page."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from shisn.domain import (
    auth,
    catalog,
    exchange_rules,
    jurisdictions,
    quality,
    safe_text,
)
from shisn.services import exchanges, submissions
from shisn.store import db, flag_confirmations, queries
from shisn.web.displays import text_table
from shisn.web.loaders import (
    _confirmed_cycle_flags,
    _connection,
    _requests_of,
    _state_flag_rows,
    cycles,
    latest_cycle,
    published_library,
)
from shisn.web.widgets import lazy_expander


def _open_assessment(state: str, cycle: int) -> None:
    """Open a submission's form through the page's address, not the session's cached choices: the cycle of a form
    under review must not become the cycle the viewing pages show (they open on the latest closed one)."""
    st.session_state.pop("state", None)
    st.session_state.pop("cycle", None)
    st.query_params["state"], st.query_params["cycle"] = state, str(int(cycle))


def review_queue_links(con, viewer: auth.Viewer) -> None:
    """On the assessment page: the submissions awaiting this viewer's review (oldest first), each opening its form."""
    if viewer.role == auth.STATE:
        return
    pending = submissions.pending_reviews(con, viewer)
    if pending.empty:
        return
    with st.expander(f"Awaiting your review ({len(pending)})", icon=":material/inbox:"):
        for r in pending.itertuples(index=False):
            st.button(
                f"{safe_text.markdown(jurisdictions.names()[r.state])} ({r.state}) {r.cycle} · submitted by "
                f"{safe_text.markdown(r.submitted_by)} on {r.submitted_at:%d %b %Y, %H:%M}",
                key=f"open_review_{r.submission_id}",
                type="tertiary",
                icon=":material/arrow_forward:",
                on_click=_open_assessment,
                args=(r.state, r.cycle),
            )


def _confirm_flag(con, viewer: auth.Viewer, key: str) -> None:
    pick = st.session_state.get(f"{key}_pick")  # "state|cycle|rule|area"
    note = st.session_state.get(f"{key}_note", "")
    if not pick:
        return
    state, cycle, rule, area = pick.split("|")
    try:
        flag_confirmations.confirm(con, viewer, state, int(cycle), rule, area, note)
    except quality.FlagError as e:
        st.session_state[f"{key}_msg"] = ("error", str(e))
        return
    st.session_state[f"{key}_note"] = ""
    st.session_state[f"{key}_msg"] = ("success", "Flag confirmed: it stays listed, counted apart.")


def flag_list(
    con, viewer: auth.Viewer, flags, key: str, *, empty: str = "No data-quality flags.", confirm: bool = True
) -> None:
    """Data-quality flags as a table (open first; confirmed ones stay, with their note where the viewer sees the
    state in detail) and, for those who may (the state, its PM, leadership), a form to confirm one with a note, in a
    panel drawn when opened (`{key}_open`)."""
    if flags.empty:
        st.caption(empty)
        return
    n = quality.counts(flags)
    st.caption(
        f"{n['open']} open · {n['confirmed']} confirmed. A flag marks a rating worth a second look; "
        "confirm it with a note when the rating stands."
    )
    order = flags.sort_values("confirmed", kind="stable")
    shown = quality.display_frame(order, show_notes=viewer.sees_detail_of)
    one_state, one_cycle = shown["state"].nunique() == 1, shown["cycle"].nunique() == 1
    hidden = ({"jurisdiction"} if one_state else set()) | ({"cycle"} if one_cycle else set())
    if one_state:  # one state's flags: a few rows, a static table (no grid code for a new session to load)
        labels = {
            "jurisdiction": "Jurisdiction",
            "cycle": "Cycle",
            "area": "Program area",
            "flag": "Flag",
            "explanation": "Why",
            "confirmed": "Confirmed",
            "note": "Confirmation note",
        }
        text_table(shown[[c for c in labels if c not in hidden]].rename(columns=labels))
    else:
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_order=[
                c
                for c in ("jurisdiction", "cycle", "area", "flag", "explanation", "confirmed", "note")
                if c not in hidden
            ],
            column_config={
                "jurisdiction": "Jurisdiction",
                "cycle": st.column_config.NumberColumn("Cycle", format="%d"),
                "area": "Program area",
                "flag": st.column_config.TextColumn("Flag", width="medium"),
                "explanation": st.column_config.TextColumn("Why", width="large"),
                "confirmed": st.column_config.CheckboxColumn("Confirmed", width="small"),
                "note": st.column_config.TextColumn("Confirmation note", width="medium"),
            },
        )
    msg = st.session_state.pop(f"{key}_msg", None)
    if msg:
        getattr(st, msg[0])(msg[1])
    if not confirm:
        return
    can = flags[~flags["confirmed"] & flags["state"].map(lambda s: quality.can_confirm(viewer, s))]
    if can.empty:
        return
    box = lazy_expander(
        f"Confirm a flag ({len(can)} open)" if len(can) != 1 else "Confirm the flag",
        f"{key}_open",
        icon=":material/task_alt:",
    )
    with box:
        if not box.open:  # drawn on request: a select box and a text box are a cold open's costliest widgets
            return
        with st.form(f"{key}_form", border=False, enter_to_submit=False):
            st.markdown("The rating stands, and here is why:")
            labels = {
                f"{r['state']}|{r['cycle']}|{r['rule']}|{r['program_area']}": (
                    f"{r['state']} {r['cycle']} · " if not one_state else ""
                )
                + (_area_short(r["program_area"]) + " · " if r["program_area"] else "")
                + r["title"]
                for _, r in can.iterrows()
            }
            st.selectbox("Flag", list(labels), format_func=labels.get, key=f"{key}_pick")
            st.text_input(
                "Note",
                key=f"{key}_note",
                max_chars=quality.MAX_NOTE,
                placeholder="e.g. We moved from 2 to 4 after the statewide radio system went live.",
            )
            st.form_submit_button(
                "Confirm flag", icon=":material/task_alt:", on_click=_confirm_flag, args=(con, viewer, key)
            )


def _area_short(slug: str) -> str:
    return catalog.area_short(slug)


def state_flags(viewer: auth.Viewer, code: str, cycle: int) -> None:
    """The state profile's block: the state × cycle's data-quality flags, for viewers who see the state in detail
    (nothing otherwise), in an expander whose label carries the counts."""
    if not viewer.sees_detail_of(code):
        return
    path = db.locate()
    con = _connection(path)
    all_cycles = cycles()
    flags = _state_flag_rows(
        path,
        queries.data_version(con),
        con.version("flag_confirmations"),
        code,
        int(cycle),
        latest_cycle() if all_cycles else None,
    )
    n = quality.counts(flags)
    label = (
        f"Data-quality flags, {cycle}: {n['open']} open, {n['confirmed']} confirmed"
        if len(flags)
        else f"Data-quality flags, {cycle}: none"
    )
    box = st.expander(label, icon=":material/flag:", key="profile_flags_open", on_change="rerun")
    if box.open:  # the list and the confirm form are drawn only when opened
        with box:
            flag_list(con, viewer, flags, key="profile_flags", empty="No data-quality flag on these ratings.")


def national_flags(viewer: auth.Viewer, cycle: int) -> None:
    """The national page's block (leadership and PMs): how many data-quality flags the cycle's assessments carry,
    open and confirmed, and the list (drawn only when opened). Confirmation notes only for states the viewer sees
    in detail."""
    if viewer.role not in (auth.LEADERSHIP, auth.PROGRAM_MANAGER):
        return
    path = db.locate()
    con = _connection(path)
    all_cycles = cycles()
    flags = _confirmed_cycle_flags(
        path,
        queries.data_version(con),
        con.version("flag_confirmations"),
        int(cycle),
        latest_cycle() if all_cycles else None,
    )
    n = quality.counts(flags)
    states = flags["state"].nunique() if len(flags) else 0
    box = st.expander(
        f"Data-quality flags, {cycle}: {n['open']} open, {n['confirmed']} confirmed "
        f"({states} jurisdiction{'s' if states != 1 else ''})",
        icon=":material/flag:",
        key="national_flags_open",
        on_change="rerun",
    )
    if box.open:  # the list is drawn only when opened
        with box:
            by_rule = flags.groupby("title").size().sort_values(ascending=False) if len(flags) else None
            if by_rule is not None:
                st.caption(" · ".join(f"{t}: {c}" for t, c in by_rule.items()))
            flag_list(
                con, viewer, flags, key="national_flags", confirm=False, empty=f"No data-quality flag in {cycle}."
            )


def request_introduction_form(con, viewer: auth.Viewer, p, key: str) -> None:
    """For a state user on its own profile data `p` (profile.StateProfile with mentors/mentees): pick a recommended
    mentor for a need, or a state it could help, add a message, and request the introduction."""
    choices = exchanges.request_choices(p.state, p.mentors, p.mentees)
    if not choices:
        st.caption(
            f"No recommended partner in {p.cycle} to ask for: {p.name} has no need an eligible mentor can "
            "take and no state is seeking guidance where it can mentor."
        )
        return
    with st.form(key, border=True):
        st.markdown("**Request an introduction** · your program manager and the other state's see it and answer")
        pick = st.selectbox(
            "Introduction", range(len(choices)), format_func=lambda i: choices[i]["label"], key=f"{key}_pick"
        )
        message = st.text_area(
            "Message (optional)",
            max_chars=exchange_rules.MAX_MESSAGE,
            height=80,
            key=f"{key}_message",
            placeholder="What you need or can offer, who to contact, any timing.",
        )
        sent = st.form_submit_button("Request introduction", type="primary", icon=":material/send:")
    if sent:
        c = choices[pick]
        try:
            ex_id = exchanges.request_introduction(
                con, viewer, c["mentor"], c["mentee"], [c["program_area"]], p.cycle, message
            )
        except exchanges.ExchangeError as e:
            st.error(safe_text.markdown(str(e)), icon=":material/block:")
        else:
            st.success(
                f"Request {ex_id} sent: {safe_text.markdown(c['label'])}. It waits for a program manager's answer; "
                "its status is listed below.",
                icon=":material/check_circle:",
            )


def requests_table(con, viewer: auth.Viewer, state: str) -> None:
    """The introduction requests `state` takes part in, with their status, message and any decline reason."""
    reqs = _requests_of(db.locate(), con.version("exchanges"), viewer, state, _con=con)
    if reqs.empty:
        st.caption(f"No introduction requests involving {state} yet.")
        return
    st.dataframe(
        reqs[
            [
                "exchange_id",
                "requested_state",
                "kind",
                "partner",
                "areas_label",
                "status_label",
                "requested_at",
                "request_message",
                "decline_reason",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "exchange_id": st.column_config.NumberColumn("#", format="%d", width=50),
            "requested_state": st.column_config.TextColumn("Asked by", width=70),
            "kind": "Request",
            "partner": st.column_config.TextColumn("With", width=60),
            "areas_label": "Program area",
            "status_label": "Status",
            "requested_at": st.column_config.DatetimeColumn("Asked on", format="YYYY-MM-DD"),
            "request_message": st.column_config.TextColumn("Message", width="medium"),
            "decline_reason": st.column_config.TextColumn("Why declined", width="medium"),
        },
    )


# --- offers and practices ----------------------------------------------------------------------------------------

OFFER_ICON, PRACTICE_ICON = ":material/volunteer_activism:", ":material/menu_book:"


def page_link(file: str, label: str, icon: str, container=None, **query) -> None:
    """A link to a page of the app, `label` Markdown (escape the user text in it); where the app's navigation is not
    running (a page script served on its own, e.g. in tests) the label and the page's address, as text."""
    where = container or st
    try:
        where.page_link(f"pages/{file}", label=label, icon=icon, query_params=query or None)
    except Exception:  # noqa: BLE001 - no navigation to resolve the page in: name the address instead
        address = f"/{file.removesuffix('.py')}" + (
            "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        )
        where.markdown(f"{label} · `{address}`")


def offer_label(r) -> str:
    """'Offer 3: title · VA · Exercises · up to 2 exchanges a cycle' (Markdown, the title escaped)."""
    n = int(r["capacity"])
    return (
        f"Offer {int(r['offer_id'])}: {safe_text.markdown(r['title'])} · {r['state']} · "
        f"{safe_text.markdown(catalog.area_short(r['program_area']))} · up to {n} exchange{'s' if n != 1 else ''} "
        "a cycle"
    )


def practice_label(r) -> str:
    """'Practice 5: title · VA · Exercises' (Markdown, the title escaped)."""
    return (
        f"Practice {int(r['practice_id'])}: {safe_text.markdown(r['title'])} · {r['state']} · "
        f"{safe_text.markdown(catalog.area_short(r['program_area']))}"
    )


def library_links(
    state: str | None = None,
    area: str | None = None,
    *,
    states: Iterable[str] | None = None,
    region: int | None = None,
    title: str = "Published offers and practices",
    shown: int = 8,
) -> None:
    """The published offers and practices of `state` (or of `states`, or of FEMA `region`'s states) and/or in
    `area`, each a link to its detail on the Offers and practices page (`/offers?offer=ID`, `/offers?practice=ID`),
    offers first; the first `shown` of each, and a link to the search for the rest. Published entries only: the
    same for every viewer (the national page's selection panels, the state profile)."""
    o, p = published_library(state, area)
    keep = set(states) if states is not None else None
    if region is not None:
        in_region = {c for c, r in jurisdictions.regions().items() if r == int(region)}
        keep = in_region if keep is None else keep & in_region
    if keep is not None:
        o, p = o[o["state"].isin(keep)], p[p["state"].isin(keep)]
    st.markdown(
        f"**{safe_text.markdown(title)}** ({len(o)} offer{'s' if len(o) != 1 else ''}, {len(p)} practice{'s' if len(p) != 1 else ''})"
    )
    if o.empty and p.empty:
        st.caption("None published yet.")
        return
    for _, r in o.head(shown).iterrows():
        page_link("offers.py", offer_label(r), OFFER_ICON, offer=int(r["offer_id"]))
    for _, r in p.head(shown).iterrows():
        page_link("offers.py", practice_label(r), PRACTICE_ICON, practice=int(r["practice_id"]))
    if len(o) > shown or len(p) > shown:
        query = {"area": area} if area else {}
        if state:
            query["q"] = jurisdictions.names()[state]
        page_link("offers.py", "All of them on the Offers and practices page", ":material/search:", **query)


def offer_request_form(con, viewer: auth.Viewer, offer: dict, cycle: int | None, key: str) -> None:
    """For a state user of another state, on a published offer's detail: ask for an introduction from it (mentor:
    the offer's state; mentee: the viewer's; the offer's program area; the latest closed cycle) with an optional
    message. The request names the offer (exchanges.request_introduction's `offer_id`). A pair the cycle's
    self-assessments do not support is refused, saying why, and nothing is written."""
    me, them = viewer.home_state, offer["state"]
    area = catalog.area_short(offer["program_area"])
    if cycle is None:
        st.caption("No reporting cycle is closed yet: an introduction is asked for on a closed cycle's ratings.")
        return
    with st.form(key, border=True):
        st.markdown(
            f"**Ask for an introduction** · {me} asks for {them}'s help in {safe_text.markdown(area)} "
            f"({cycle} self-assessments), from this offer. Your program manager and {them}'s see the request and "
            "answer it."
        )
        message = st.text_area(
            "Message (optional)",
            max_chars=exchange_rules.MAX_MESSAGE,
            height=80,
            key=f"{key}_message",
            placeholder="What you need from this offer, who to contact, any timing.",
        )
        sent = st.form_submit_button("Ask for an introduction", type="primary", icon=":material/send:")
    if not sent:
        return
    try:
        ex_id = exchanges.request_introduction(
            con, viewer, them, me, [offer["program_area"]], cycle, message, offer_id=int(offer["offer_id"])
        )
    except exchanges.ExchangeError as e:
        st.error(f"The introduction was not requested: {safe_text.markdown(str(e))}.", icon=":material/block:")
    else:
        st.success(
            f"Request {ex_id} sent: {me} asks {them} for an introduction in {safe_text.markdown(area)}, from offer "
            f"{int(offer['offer_id'])}. It waits for a program manager's answer.",
            icon=":material/check_circle:",
        )
        page_link("exchanges.py", f"Request {ex_id} on the Exchanges page", ":material/forum:", exchange=ex_id)
