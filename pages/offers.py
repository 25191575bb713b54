"""Offers and practices: what a state can give, described before anyone asks (an offer), and what the network
learned, written by the states that learned it (a practice).

Every role searches what is published (`?q=`: words, typos forgiven; filters `?area=`, `?region=`, `?format=`,
`?kind=`) and opens an offer (`?offer=ID`) or a practice (`?practice=ID`) in detail; a state user asks for an
introduction from another state's offer; a state's users, its program manager and leadership describe, publish and
withdraw its offers and write and publish its practices (the view "Your offers and practices"). Layout and widgets
only: every read and write is a function of shisn.services.offers, shisn.services.practices and
shisn.services.exchanges; the search is shisn.domain.search over shisn.services.library's entries, which hold
published entries only, so nothing private can reach a result."""

import pandas as pd
import streamlit as st

from shisn.domain import auth, catalog, exchange_rules, jurisdictions, safe_text
from shisn.services import exchanges, library, offers, practices
from shisn.web import displays, forms, identity, loaders, widgets

viewer = identity.guard(*auth.ROLES)
con = loaders.connection()
NAMES = jurisdictions.names()
VIEW_SEARCH, VIEW_MINE = "Search", "Your offers and practices"
SHOWN = 25  # results drawn; the search says how many more there are
EXCERPT = 240  # characters of an entry's text under its title
MSG = "offers_msg_"  # + slot: a message to show once after an action (kind, text)
FORM_N = "offers_form_n"  # bumped after a new offer or practice is saved: the next form starts empty
ACTIONS = {
    offers.PUBLISHED: ("Publish offer {}", ":material/publish:"),
    offers.WITHDRAWN: ("Withdraw offer {}", ":material/remove_circle:"),
    offers.DRAFT: ("Offer {} back to draft", ":material/edit_note:"),
}


def as_id(raw) -> int | None:
    try:
        return int(str(raw).strip()) if raw is not None else None
    except ValueError:
        return None


def when(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def lines(text) -> str:
    """User text as Markdown: escaped line by line, its line breaks kept."""
    return "  \n".join(safe_text.markdown(x) for x in str(text).splitlines() if x.strip())


def short(text: str, limit: int = EXCERPT) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[:limit].rsplit(" ", 1)[0] + " …"


def state_text(code: str) -> str:
    return f"{NAMES[code]} ({code})"


def say(slot: str, kind: str, text: str) -> None:
    st.session_state[MSG + slot] = (kind, text)


def flash(slot: str) -> None:
    """The message an action left for `slot`: a stale write as a warning with Reload, an error, or a success."""
    msg = st.session_state.pop(MSG + slot, None)
    if not msg:
        return
    kind, text = msg
    if kind == "stale":
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.warning(safe_text.markdown(text), icon=":material/sync_problem:")
        c2.button("Reload", icon=":material/refresh:", key=f"reload_{slot}")  # a rerun reads the current version
    elif kind == "error":
        st.error(safe_text.markdown(text), icon=":material/block:")
    else:
        st.success(safe_text.markdown(text), icon=":material/check_circle:")


def open_entry(kind: str, entry_id: int) -> None:
    """Show an offer or a practice in detail: its id in the URL (a link to it opens it), the search kept."""
    keep, drop = ("offer", "practice") if kind == library.OFFER else ("practice", "offer")
    if drop in st.query_params:
        del st.query_params[drop]
    st.query_params[keep] = str(int(entry_id))
    st.rerun()  # the whole page (a button inside a view reruns only the view)


def open_button(kind: str, entry_id: int, label: str, key: str, **kwargs) -> None:
    icon = forms.OFFER_ICON if kind == library.OFFER else forms.PRACTICE_ICON
    if st.button(label, key=key, icon=icon, **kwargs):
        open_entry(kind, entry_id)


# --- writes (button callbacks: they name the version the viewer saw) ---------------------------------------------


def write(slot: str, done: str, action, *args, **kwargs) -> bool:
    try:
        action(con, viewer, *args, **kwargs)
    except (offers.StaleOffer, practices.StalePractice) as e:
        say(slot, "stale", str(e))
    except (offers.OfferError, practices.PracticeError) as e:
        say(slot, "error", str(e))
    else:
        say(slot, "success", done)
        return True
    return False


def set_offer_status(slot: str, offer_id: int, version: int, target: str) -> None:
    done = {
        offers.PUBLISHED: "published: every signed-in user sees it and the search finds it",
        offers.WITHDRAWN: "withdrawn: only the state's users, its program manager and leadership see it",
        offers.DRAFT: "back to draft: only the state's users, its program manager and leadership see it",
    }[target]
    write(slot, f"Offer {offer_id} {done}.", offers.update, offer_id, version, status=target)


def set_practice_status(slot: str, practice_id: int, version: int, target: str) -> None:
    done = (
        "published: every signed-in user sees it and the search finds it"
        if target == practices.PUBLISHED
        else "private again: only the state's users, its program manager and leadership see it"
    )
    write(slot, f"Practice {practice_id} {done}.", practices.update, practice_id, version, status=target)


def offer_fields(k: str) -> dict:
    ss = st.session_state
    return {
        "program_area": ss.get(f"{k}_area"),
        "title": ss.get(f"{k}_title"),
        "covers": ss.get(f"{k}_covers"),
        "formats": ss.get(f"{k}_formats") or [],
        "capacity": ss.get(f"{k}_capacity"),
        "lead_time_days": ss.get(f"{k}_lead"),
        "prepare": ss.get(f"{k}_prepare"),
    }


def practice_fields(k: str) -> dict:
    ss = st.session_state
    return {
        "program_area": ss.get(f"{k}_area"),
        "title": ss.get(f"{k}_title"),
        "summary": ss.get(f"{k}_summary"),
        "what_worked": ss.get(f"{k}_worked"),
        "differently": ss.get(f"{k}_differently"),
        "documents": ss.get(f"{k}_documents"),
        "exchange_id": ss.get(f"{k}_exchange"),
    }


def create_record(slot: str, state: str, k: str, publish: bool, what: str) -> None:
    """A new offer or practice (`what`) of `state` from its form's fields, a draft/private or published."""
    service, fields = (offers, offer_fields(k)) if what == "offer" else (practices, practice_fields(k))
    if fields["program_area"] is None:
        say(slot, "error", f"Choose the {what}'s program area.")
        return
    try:
        new_id = service.create(con, viewer, state=state, publish=publish, **fields)
    except (offers.OfferError, practices.PracticeError) as e:
        say(slot, "error", str(e))
        return
    done = "published" if publish else ("saved as a draft" if what == "offer" else "saved, private")
    later = " Publish it when it is ready: only then do other states see it." if what == "offer" and not publish else ""
    say(slot, "success", f"{what.capitalize()} {new_id} {done}: {fields['title'].strip()}.{later}")
    st.session_state[FORM_N] = st.session_state.get(FORM_N, 0) + 1


def edit_offer(slot: str, offer_id: int, version: int, k: str) -> None:
    if write(slot, f"Offer {offer_id} saved.", offers.update, offer_id, version, **offer_fields(k)):
        st.session_state[f"offer_edit_open_{offer_id}"] = False


def edit_practice(slot: str, practice_id: int, version: int, k: str) -> None:
    fields = practice_fields(k)
    if write(slot, f"Practice {practice_id} saved.", practices.update, practice_id, version, **fields):
        st.session_state[f"practice_edit_open_{practice_id}"] = False


# --- forms -------------------------------------------------------------------------------------------------------


def offer_inputs(k: str, r=None) -> None:
    """The offer's fields, keyed `{k}_…`, starting from offer row `r` (an edit) or empty (a new offer)."""
    areas = list(catalog.AREA_SLUGS)
    st.text_input(
        "Title",
        value="" if r is None else r["title"],
        max_chars=offers.MAX_TITLE,
        key=f"{k}_title",
        placeholder="e.g. Designing a statewide tabletop exercise series",
    )
    st.selectbox(
        "Program area",
        areas,
        index=None if r is None else areas.index(r["program_area"]),
        format_func=catalog.area_label,
        placeholder="Choose a program area",
        key=f"{k}_area",
        help="One published offer per program area: its capacity is what the pairing gives your state there.",
    )
    st.text_area(
        "What it covers",
        value="" if r is None else r["covers"],
        max_chars=offers.MAX_TEXT,
        height=100,
        key=f"{k}_covers",
        placeholder="What you can share or show, for whom, what a mentee comes away with.",
    )
    st.multiselect(
        "Formats",
        offers.FORMATS,
        default=[] if r is None else [f for f in str(r["formats"]).split(",") if f],
        format_func=offers.format_label,
        key=f"{k}_formats",
        placeholder="Choose one or more",
    )
    c1, c2 = st.columns(2)
    c1.number_input(
        "Capacity (exchanges per cycle)",
        min_value=1,
        max_value=offers.MAX_CAPACITY,
        value=2 if r is None else max(1, int(r["capacity"])),
        step=1,
        key=f"{k}_capacity",
        help=f"How many exchanges your state can take on in one cycle from this offer (1 to {offers.MAX_CAPACITY}).",
    )
    lead = None if r is None or pd.isna(r["lead_time_days"]) else int(r["lead_time_days"])
    c2.number_input(
        "Lead time in days (optional)",
        min_value=0,
        max_value=offers.MAX_LEAD_DAYS,
        value=lead,
        step=1,
        key=f"{k}_lead",
        placeholder="e.g. 30",
        help="How long you need between a request and the exchange.",
    )
    st.text_area(
        "What the mentee should prepare (optional)",
        value="" if r is None or pd.isna(r["prepare"]) else r["prepare"],
        max_chars=offers.MAX_TEXT,
        height=80,
        key=f"{k}_prepare",
    )


def practice_inputs(k: str, state: str, r=None) -> None:
    """The practice's fields, keyed `{k}_…`, from practice row `r` (an edit) or empty; the exchange it came from
    is one `state` held."""
    held = practices.held_exchanges(con, viewer, state)
    ex_labels: dict = {None: "Not from an exchange"}
    for h in held.itertuples(index=False):
        areas = ", ".join(catalog.area_short(a) for a in str(h.program_areas).split(","))
        ex_labels[int(h.exchange_id)] = f"Exchange {int(h.exchange_id)} · {h.mentor} → {h.mentee} · {areas} ({h.cycle})"
    current = None if r is None or pd.isna(r["exchange_id"]) else int(r["exchange_id"])
    if current is not None and current not in ex_labels:
        ex_labels[current] = f"Exchange {current}"
    options = list(ex_labels)
    st.selectbox(
        "From the exchange (optional)",
        options,
        index=options.index(current),
        format_func=ex_labels.get,
        key=f"{k}_exchange",
        help=f"An exchange {state} held (or closed), in the practice's program area.",
    )
    areas = list(catalog.AREA_SLUGS)
    st.selectbox(
        "Program area",
        areas,
        index=None if r is None else areas.index(r["program_area"]),
        format_func=catalog.area_label,
        placeholder="Choose a program area",
        key=f"{k}_area",
    )
    st.text_input(
        "Title",
        value="" if r is None else r["title"],
        max_chars=practices.MAX_TITLE,
        key=f"{k}_title",
        placeholder="e.g. A shared exercise calendar with our neighbours",
    )
    for field, label, limit, height in (
        ("summary", "Summary", practices.MAX_TEXT, 100),
        ("worked", "What worked (optional)", practices.MAX_TEXT, 80),
        ("differently", "What you would do differently (optional)", practices.MAX_TEXT, 80),
        (
            "documents",
            "Documents you can share, one per line (optional; named here, not uploaded)",
            practices.MAX_DOCUMENTS,
            80,
        ),
    ):
        column = {"worked": "what_worked"}.get(field, field)
        st.text_area(
            label,
            value="" if r is None or pd.isna(r[column]) else r[column],
            max_chars=limit,
            height=height,
            key=f"{k}_{field}",
        )


def new_offer_form(state: str) -> None:
    slot = f"new_offer_{state}"
    k = f"new_offer_{state}_{st.session_state.get(FORM_N, 0)}"
    box = widgets.lazy_expander("Describe a new offer", f"new_offer_open_{state}", icon=":material/add_circle:")
    with box:
        if not box.open:  # drawn when opened: text boxes and select boxes are a cold open's costliest widgets
            return
        with st.form(k, border=False, enter_to_submit=False):
            offer_inputs(k)
            b1, b2 = st.columns(2)
            b1.form_submit_button(
                "Save as draft", icon=":material/save:", on_click=create_record, args=(slot, state, k, False, "offer")
            )
            b2.form_submit_button(
                "Publish",
                type="primary",
                icon=":material/publish:",
                on_click=create_record,
                args=(slot, state, k, True, "offer"),
            )
        flash(slot)


def new_practice_form(state: str) -> None:
    slot = f"new_practice_{state}"
    k = f"new_practice_{state}_{st.session_state.get(FORM_N, 0)}"
    box = widgets.lazy_expander("Write a new practice", f"new_practice_open_{state}", icon=":material/add_circle:")
    with box:
        if not box.open:
            return
        with st.form(k, border=False, enter_to_submit=False):
            practice_inputs(k, state)
            b1, b2 = st.columns(2)
            b1.form_submit_button(
                "Keep private", icon=":material/lock:", on_click=create_record, args=(slot, state, k, False, "practice")
            )
            b2.form_submit_button(
                "Publish",
                type="primary",
                icon=":material/publish:",
                on_click=create_record,
                args=(slot, state, k, True, "practice"),
            )
        flash(slot)


# --- one offer, one practice: what the viewer may do with it --------------------------------------------------------


def offer_actions(r, slot: str) -> None:
    """Publish / withdraw / back to draft, and edit, for a viewer who may write the offer (as of the version shown)."""
    oid, v, status = int(r["offer_id"]), int(r["version"]), r["status"]
    targets = [t for t in (offers.PUBLISHED, offers.WITHDRAWN, offers.DRAFT) if t in offers.TRANSITIONS[status]]
    for col, target in zip(st.columns(len(targets)), targets):
        label, icon = ACTIONS[target]
        col.button(
            label.format(oid),
            key=f"offer_{target}_{oid}_{v}_{slot}",
            icon=icon,
            type="primary" if target == offers.PUBLISHED else "secondary",
            on_click=set_offer_status,
            args=(slot, oid, v, target),
            width="stretch",
        )
    box = widgets.lazy_expander(f"Edit offer {oid}", f"offer_edit_open_{oid}", icon=":material/edit:")
    with box:
        if box.open:
            k = f"offer_edit_{oid}_{v}"
            with st.form(k, border=False, enter_to_submit=False):
                offer_inputs(k, r)
                st.form_submit_button(
                    "Save changes", icon=":material/save:", on_click=edit_offer, args=(slot, oid, v, k)
                )


def practice_actions(r, slot: str) -> None:
    pid, v, status = int(r["practice_id"]), int(r["version"]), r["status"]
    if status == practices.PUBLISHED:
        st.button(
            f"Make practice {pid} private",
            key=f"practice_private_{pid}_{v}_{slot}",
            icon=":material/lock:",
            on_click=set_practice_status,
            args=(slot, pid, v, practices.PRIVATE),
            width="stretch",
        )
    else:
        st.button(
            f"Publish practice {pid}",
            key=f"practice_publish_{pid}_{v}_{slot}",
            icon=":material/publish:",
            type="primary",
            on_click=set_practice_status,
            args=(slot, pid, v, practices.PUBLISHED),
            width="stretch",
        )
    box = widgets.lazy_expander(f"Edit practice {pid}", f"practice_edit_open_{pid}", icon=":material/edit:")
    with box:
        if box.open:
            k = f"practice_edit_{pid}_{v}"
            with st.form(k, border=False, enter_to_submit=False):
                practice_inputs(k, r["state"], r)
                st.form_submit_button(
                    "Save changes", icon=":material/save:", on_click=edit_practice, args=(slot, pid, v, k)
                )


def offer_facts(r) -> str:
    """Area, formats, capacity and lead time of an offer row, as one Markdown line."""
    n = int(r["capacity"])
    lead = r["lead_time_days"]
    return " · ".join(
        [
            safe_text.markdown(catalog.area_label(r["program_area"])),
            f"formats: {safe_text.markdown(offers.formats_text(r['formats']))}",
            f"up to {n} exchange{'s' if n != 1 else ''} a cycle",
            "lead time not given" if lead is None or pd.isna(lead) else f"lead time {int(lead)} days",
        ]
    )


def offer_detail(offer_id: int) -> None:
    """One offer: all its fields, its state's practices in its area, its history (for those who may write it),
    what the viewer may do: ask for an introduction (a user of another state), or publish, withdraw and edit."""
    try:
        o = offers.get(con, offer_id)
    except offers.OfferError:
        o = None
    if o is None or not offers.can_see(viewer, o["state"], o["status"]):
        st.warning(
            f"There is no offer {offer_id} you may see: it does not exist, or it is not published (a draft or "
            "withdrawn offer is seen only by its state's users, its program manager and leadership).",
            icon=":material/visibility_off:",
        )
        return
    writer = offers.can_write(viewer, o["state"])
    st.header(f"Offer {offer_id}: {safe_text.markdown(o['title'])}", anchor=False)
    st.markdown(
        f"**Status: {offers.status_label(o['status'])}** · {state_text(o['state'])} · FEMA "
        f"{jurisdictions.region_label(jurisdictions.regions()[o['state']])} · " + offer_facts(o)
    )
    if o["synthetic"]:
        st.caption("Demo: a synthetic offer written by the demo generator; it describes no real state's work.")
    flash("detail")
    facts, side = st.columns([3, 2], gap="large")
    with facts:
        st.markdown("**What it covers**")
        st.markdown(lines(o["covers"]))
        st.markdown("**What the mentee should prepare**")
        st.markdown(lines(o["prepare"]) if o["prepare"] else ":gray[Nothing said.]")
        st.caption(
            f"Published {when(o['published_at'])} · last changed {when(o['updated_at'])} by "
            f"{safe_text.markdown(o['updated_by'])} · version {int(o['version'])}"
            if o["published_at"] is not None
            else f"Never published · last changed {when(o['updated_at'])} by {safe_text.markdown(o['updated_by'])} "
            f"· version {int(o['version'])}"
        )
    with side:
        forms.page_link(
            "state_profile.py",
            f"{state_text(o['state'])}: state profile",
            ":material/account_balance:",
            state=o["state"],
        )
        if viewer.role == auth.STATE and viewer.home_state != o["state"]:
            if o["status"] == offers.PUBLISHED:
                forms.offer_request_form(con, viewer, o, loaders.latest_cycle(), key=f"offer_request_{offer_id}")
        elif viewer.role == auth.STATE:
            st.caption("Your state's offer: other states' users ask for an introduction from here.")
        else:
            st.caption(
                "State users of other states ask for an introduction from here; program managers open exchanges "
                "on the Exchanges page or from a suggested pair."
            )
        if writer:
            offer_actions(o, "detail")
    area = catalog.area_short(o["program_area"])
    st.subheader(f"{o['state']}'s practices in {safe_text.markdown(area)}", anchor=False)
    rows = loaders.practices_visible(viewer, state=o["state"], area=o["program_area"])
    if rows.empty:
        st.caption(f"{o['state']} has written no practice in {safe_text.markdown(area)} yet.")
    for r in rows.itertuples(index=False):
        private = "" if r.status == practices.PUBLISHED else " (private)"
        open_button(
            library.PRACTICE,
            r.practice_id,
            f"Practice {r.practice_id}: {safe_text.markdown(r.title)}{private}",
            key=f"open_practice_{r.practice_id}_from_offer",
            type="tertiary",
        )
    if writer:
        st.subheader("History", anchor=False)
        hist = offers.history(con, offer_id)
        displays.text_table(
            pd.DataFrame(
                {
                    "Version": hist["version"].astype(int),
                    "When": [f"{pd.Timestamp(t):%Y-%m-%d %H:%M}" for t in hist["changed_at"]],
                    "By": hist["changed_by"],
                    "Status": [
                        offers.status_label(b)
                        if a is None or a == b
                        else f"{offers.status_label(a)} → {offers.status_label(b)}"
                        for a, b in zip(hist["from_status"], hist["to_status"])
                    ],
                    "Change": hist["summary"],
                }
            )
        )
        st.caption("The history is append-only: every change is kept with who made it and when.")


def practice_detail(practice_id: int) -> None:
    """One practice: all it says, the exchange it came from, its state's offer in its area; publish or make private
    and edit for those who may write it."""
    try:
        p = practices.get(con, practice_id)
    except practices.PracticeError:
        p = None
    if p is None or not (p["status"] == practices.PUBLISHED or practices.can_write(viewer, p["state"])):
        st.warning(
            f"There is no practice {practice_id} you may see: it does not exist, or it is private (seen only by its "
            "state's users, its program manager and leadership).",
            icon=":material/visibility_off:",
        )
        return
    writer = practices.can_write(viewer, p["state"])
    st.header(f"Practice {practice_id}: {safe_text.markdown(p['title'])}", anchor=False)
    st.markdown(
        f"**Status: {'published' if p['status'] == practices.PUBLISHED else 'private'}** · "
        f"{state_text(p['state'])} · {safe_text.markdown(catalog.area_label(p['program_area']))}"
    )
    if p["synthetic"]:
        st.caption("Demo: a synthetic practice written by the demo generator; it describes no real state's work.")
    flash("detail")
    text, side = st.columns([3, 2], gap="large")
    with text:
        for field, label in (
            ("summary", "Summary"),
            ("what_worked", "What worked"),
            ("differently", "What it would do differently"),
        ):
            if p[field]:
                st.markdown(f"**{label}**")
                st.markdown(lines(p[field]))
        if p["documents"]:
            st.markdown("**Documents it can share** (ask the state; nothing is uploaded here)")
            st.markdown("\n".join(f"- {safe_text.markdown(d)}" for d in str(p["documents"]).splitlines() if d.strip()))
        st.caption(
            f"Written by {safe_text.markdown(p['created_by'])} · last changed {when(p['updated_at'])} · "
            f"version {int(p['version'])}"
        )
    with side:
        forms.page_link(
            "state_profile.py",
            f"{state_text(p['state'])}: state profile",
            ":material/account_balance:",
            state=p["state"],
        )
        if p["exchange_id"] is not None and not pd.isna(p["exchange_id"]):
            ex_id = int(p["exchange_id"])
            try:
                ex = exchanges.get(con, ex_id)
            except exchanges.ExchangeError:
                ex = None
            if ex is not None and exchange_rules.can_see(viewer, ex["mentor"], ex["mentee"]):
                forms.page_link(
                    "exchanges.py",
                    f"From exchange {ex_id}: {ex['mentor']} → {ex['mentee']}",
                    ":material/forum:",
                    exchange=ex_id,
                )
            else:
                st.caption(f"Written after exchange {ex_id}.")
        offer = None
        if p["offer_id"] is not None and not pd.isna(p["offer_id"]):
            try:
                offer = offers.get(con, int(p["offer_id"]))
            except offers.OfferError:
                offer = None
        if offer is None or not offers.can_see(viewer, offer["state"], offer["status"]):
            own, _ = loaders.published_library(p["state"], p["program_area"])
            offer = own.iloc[0].to_dict() if len(own) else None
        if offer is not None:
            st.markdown(f"**{p['state']}'s offer in {safe_text.markdown(catalog.area_short(p['program_area']))}**")
            open_button(
                library.OFFER,
                offer["offer_id"],
                f"Offer {int(offer['offer_id'])}: {safe_text.markdown(offer['title'])}",
                key=f"open_offer_{int(offer['offer_id'])}_from_practice",
                type="tertiary",
            )
        else:
            st.caption(f"{p['state']} has no published offer in this program area.")
        if writer:
            practice_actions(p, "detail")


# --- the views -----------------------------------------------------------------------------------------------------


def search_view():
    """The search box and its filters (all in the URL), and the published offers and practices matching them."""
    if "q" not in st.session_state:
        st.session_state["q"] = st.query_params.get("q", "")
    q = st.text_input(
        "Search offers and practices",
        key="q",
        placeholder="e.g. tabletop exercise, interoperability, Virginia",
        help="Words from a title, what an offer covers, what a practice says, a state's name, a program area or a "
        "format. Every word must match; small typos are forgiven. Press Enter to search.",
    )
    if q.strip():
        st.query_params["q"] = q
    elif "q" in st.query_params:
        del st.query_params["q"]
    widgets.resolve_query_param("area", catalog.area_slug)
    chosen = widgets.filters(
        [
            widgets.Filter(
                "Program area",
                [None, *catalog.AREA_SLUGS],
                "area",
                format_func=lambda a: "All program areas" if a is None else catalog.area_label(a),
                short_func=lambda a: "All program areas" if a is None else catalog.area_short(a),
                width=2,
            ),
            widgets.Filter(
                "FEMA region",
                [None, *range(1, 11)],
                "region",
                format_func=lambda r: "All regions" if r is None else jurisdictions.region_label(int(r)),
            ),
            widgets.Filter(
                "Format",
                [None, *offers.FORMATS],
                "format",
                format_func=lambda f: "All formats" if f is None else offers.format_label(f),
                help="Practices have no format: choosing one lists offers only.",
            ),
            widgets.Filter(
                "Kind",
                [None, library.OFFER, library.PRACTICE],
                "kind",
                format_func=lambda k: {None: "Offers and practices", library.OFFER: "Offers only"}.get(
                    k, "Practices only"
                ),
            ),
        ]
    )
    index = loaders.library_index()
    found = index.search(
        q,
        area=chosen["area"],
        region=chosen["region"],
        format=chosen["format"],
        kind=chosen["kind"],
        limit=None,
    )
    published_offers, published_practices = loaders.published_library()
    capacity = dict(zip(published_offers["offer_id"].astype(int), published_offers["capacity"].astype(int)))
    demo = {
        (kind, int(i))
        for kind, frame, col in (
            (library.OFFER, published_offers, "offer_id"),
            (library.PRACTICE, published_practices, "practice_id"),
        )
        for i in frame.loc[frame["synthetic"].astype(bool), col]
    }
    if demo:
        st.info(
            f"**Demo offers and practices.** {len(demo)} of those published are synthetic, written by the demo "
            "generator (marked *demo* below); they describe no real state's work.",
            icon=":material/science:",
        )
    words = q.strip()
    if found.empty:
        st.header("No results", anchor=False)
        filtered = any(v is not None for v in chosen.values())
        st.info(
            "Nothing published matches"
            + (f" “{safe_text.markdown(words)}”" if words else "")
            + (" these filters" if filtered and not words else " with these filters" if filtered else "")
            + ": try other words or fewer filters."
            if words or filtered
            else "No state has published an offer or a practice yet.",
            icon=":material/search_off:",
        )
        return
    n = len(found)
    st.header(
        f"{n} result{'s' if n != 1 else ''}" + (f" for “{safe_text.markdown(words)}”" if words else ""), anchor=False
    )
    st.caption(
        ("Best match first." if words else "Every published offer and practice passing the filters, by title.")
        + (f" The first {SHOWN} are shown: add words or filters to narrow the search." if n > SHOWN else "")
    )
    for r in found.head(SHOWN).itertuples(index=False):
        is_offer = r.kind == library.OFFER
        kind = "Offer" if is_offer else "Practice"
        with st.container(border=True):
            st.subheader(safe_text.markdown(r.title), anchor=False)
            meta = [
                f"**{kind} {int(r.id)}**" + (" (*demo*)" if (r.kind, int(r.id)) in demo else ""),
                safe_text.markdown(f"{r.state_name} ({r.state})"),
                safe_text.markdown(catalog.area_short(r.program_area)),
                jurisdictions.region_label(int(r.region)) if not pd.isna(r.region) else "",
            ]
            if is_offer:
                cap = capacity.get(int(r.id))
                meta.append(f"formats: {safe_text.markdown(offers.formats_text(r.formats))}")
                if cap is not None:
                    meta.append(f"up to {cap} exchange{'s' if cap != 1 else ''} a cycle")
            st.markdown(" · ".join(m for m in meta if m))
            text = str(r.text or "")
            if is_offer:  # the entry's text ends with its formats, already named above
                text = text.removesuffix(offers.formats_text(r.formats))
            st.markdown(safe_text.markdown(short(text)))
            if r.matched:
                st.caption("Matched: " + safe_text.markdown(r.matched.replace(",", ", ")))
            open_button(r.kind, int(r.id), f"Open {kind.lower()} {int(r.id)}", key=f"open_{r.kind}_{int(r.id)}")


def mine_view():
    """A state's offers and practices, all of them (drafts, withdrawn and private ones too), with the forms to
    describe a new one and to publish, withdraw and edit each."""
    states = offers.writable_states(viewer)
    if not states:
        st.info(
            "No states are assigned to you, so there are no offers or practices for you to write. Leadership "
            "assigns program managers on the Program managers page.",
            icon=":material/badge:",
        )
        return
    if len(states) == 1:
        code = states[0]
    else:
        code = widgets.bound_select(
            "State whose offers and practices you write",
            states,
            "state",
            default=states[0],
            format_func=state_text,
        )
    st.header(f"{state_text(code)}: offers", anchor=False)
    st.caption(
        f"An offer says what {code} can give in one program area before anyone asks. A published offer is seen "
        "by every signed-in user and found by the search; a draft or withdrawn one only by "
        f"{code}'s users, its program manager and leadership. One published offer per program area: its capacity "
        f"is what the pairing gives {code} there."
    )
    new_offer_form(code)
    flash("offers")
    rows = loaders.offers_visible(viewer, state=code)
    if rows.empty:
        st.caption(f"{code} has described no offer yet.")
    for _, r in rows.iterrows():
        oid = int(r["offer_id"])
        with st.container(border=True):
            st.subheader(f"Offer {oid}: {safe_text.markdown(r['title'])}", anchor=False)
            st.markdown(
                f"**Status: {offers.status_label(r['status'])}** · version {int(r['version'])} · " + offer_facts(r)
            )
            st.caption(f"Last changed {when(r['updated_at'])} by {safe_text.markdown(r['updated_by'])}")
            open_button(library.OFFER, oid, f"Open offer {oid}", key=f"mine_open_offer_{oid}", type="tertiary")
            offer_actions(r, "offers")

    st.header(f"{state_text(code)}: practices", anchor=False)
    st.caption(
        f"A practice is what {code} learned, for others to use: from an exchange it held, or not. It stays private "
        f"({code}'s users, its program manager and leadership) until published; an exchange's own notes are never "
        "part of it."
    )
    new_practice_form(code)
    flash("practices")
    rows = loaders.practices_visible(viewer, state=code)
    if rows.empty:
        st.caption(f"{code} has written no practice yet.")
    for _, r in rows.iterrows():
        pid = int(r["practice_id"])
        with st.container(border=True):
            st.subheader(f"Practice {pid}: {safe_text.markdown(r['title'])}", anchor=False)
            origin = (
                "not from an exchange"
                if r["exchange_id"] is None or pd.isna(r["exchange_id"])
                else f"from exchange {int(r['exchange_id'])}"
            )
            st.markdown(
                f"**Status: {'published' if r['status'] == practices.PUBLISHED else 'private'}** · "
                f"{safe_text.markdown(catalog.area_label(r['program_area']))} · {origin} · version {int(r['version'])}"
            )
            st.caption(f"Last changed {when(r['updated_at'])} by {safe_text.markdown(r['updated_by'])}")
            open_button(library.PRACTICE, pid, f"Open practice {pid}", key=f"mine_open_practice_{pid}", type="tertiary")
            practice_actions(r, "practices")


# --- the page ------------------------------------------------------------------------------------------------------

st.title("Offers and practices")
st.caption(
    "What states can give, described before anyone asks (offers), and what they learned from their exchanges "
    "(practices). Search what is published, open an offer to ask for an introduction from it, and describe and "
    "publish your own state's."
)

offer_id = as_id(st.query_params.get("offer"))
practice_id = None if offer_id is not None else as_id(st.query_params.get("practice"))
if offer_id is not None or practice_id is not None:
    if st.button("Back to the search", icon=":material/arrow_back:", key="back_to_search"):
        for param in ("offer", "practice"):
            if param in st.query_params:
                del st.query_params[param]
        st.rerun()
    if offer_id is not None:
        offer_detail(offer_id)
    else:
        practice_detail(practice_id)
else:
    widgets.lazy_tabs({VIEW_SEARCH: search_view, VIEW_MINE: mine_view}, "offers_view")
