"""Self-assessment: a state fills in its self-assessment for a cycle (the nine program areas, maturity 1-5 with
each level's definition, offers / seeks, POETE sub-ratings, notes), saves a draft or submits it; the state's
program manager (or leadership) reviews it: accepts it into the national picture or returns it with a comment.

Thin: widgets and layout; the rules are shisn.services.submissions (which runs the file validator, shisn.store.ingest) and the
flags shisn.domain.quality. URL `/assessment?state=VA&cycle=2027`. A state user opens only its own state's form, a
program manager only assigned states' (leadership any): any other state in the query string gets a message and
nothing of that state. User text is shown as text."""

import datetime as dt

import streamlit as st

from shisn.domain import auth, catalog, jurisdictions, quality, safe_text
from shisn.render import template
from shisn.services import submissions
from shisn.store import flag_confirmations, ingest
from shisn.web import displays, forms, identity, loaders, widgets

viewer = identity.guard(*auth.ROLES)
con = loaders.connection()

st.title("Self-assessment")
st.caption(
    "One self-assessment per state and cycle: rate each program area, say where the state offers help or "
    "seeks guidance, save a draft at any time and submit it when complete. The state's ODP program manager "
    "reviews it; once accepted its ratings enter the national picture."
)

# --- which state and cycle (in the URL), and may this viewer open it -----------------------------------------------
mine = (
    list(jurisdictions.codes())
    if viewer.role == auth.LEADERSHIP
    else [s for s in jurisdictions.codes() if s in viewer.states]
)
if not mine:
    st.info(
        "You have no states assigned, so there is no self-assessment for you to fill in or review.",
        icon=":material/info:",
    )
    st.stop()
widgets.resolve_query_param("state", jurisdictions.state_code)
asked = st.query_params.get("state")
if asked is not None and asked not in mine and "state" not in st.session_state:
    # a link or an edited address naming a state this viewer may not open: say so, show nothing of it
    st.error(submissions.why_not_fill(viewer, asked, loaders.pm_name_of(asked)), icon=":material/lock:")
    st.stop()

this_year = dt.date.today().year
cycle_options = list(range(this_year + 1, ingest.FIRST_CYCLE - 1, -1))
state_filter = widgets.Filter(
    "State or territory",
    mine,
    "state",
    default=viewer.home_state or mine[0],
    format_func=lambda c: f"{jurisdictions.names()[c]} ({c})",
    width=2,
    disabled=len(mine) == 1,
)
state_rows = loaders.assessments(states=[state_filter.value()])
on_record = sorted(set(int(c) for c in state_rows["cycle"])) if len(state_rows) else []
collecting = widgets.collecting_cycle()  # the cycle leadership opened for reporting, if any
default_cycle = (
    collecting.cycle
    if collecting is not None and collecting.cycle in cycle_options
    else min(this_year + 1, (on_record[-1] + 1) if on_record else this_year + 1)
)
chosen = widgets.filters(
    [state_filter, widgets.Filter("Assessment cycle", cycle_options, "cycle", default=default_cycle)],
    title="State and cycle",
)
code, cycle = chosen["state"], chosen["cycle"]
if not submissions.can_fill(viewer, code):  # never reached through the widget; kept as the page's own last word
    st.error(submissions.why_not_fill(viewer, code, loaders.pm_name_of(code)), icon=":material/lock:")
    st.stop()

forms.review_queue_links(con, viewer)

sub = submissions.open_submission(con, code, cycle)
last = submissions.latest(con, code, cycle)
prev_cycle = submissions.previous_cycle(state_rows, cycle)
previous = state_rows[state_rows["cycle"] == prev_cycle] if prev_cycle is not None else state_rows.iloc[0:0]
if sub is not None:
    values, source = sub["areas"], None
else:
    values, source = submissions.prefill(state_rows, cycle)
reviewer = submissions.can_review(viewer, code)
CORRECTING = "_assessment_correcting"  # (state, cycle) whose accepted self-assessment is being corrected
accepted_only = sub is None and last is not None and last["status"] == submissions.ACCEPTED
correcting = accepted_only and st.session_state.get(CORRECTING) == (code, cycle)
# an accepted self-assessment is shown as accepted, read-only, until someone starts a correction
editable = (sub is None and (not accepted_only or correcting)) or (
    sub is not None and sub["status"] in submissions.EDITABLE
)


def start_correction() -> None:
    st.session_state[CORRECTING] = (code, cycle)


# --- status ------------------------------------------------------------------------------------------------------
st.header(f"{jurisdictions.names()[code]} ({code}) · {cycle}", anchor=False)
if collecting is not None and cycle == collecting.cycle:
    st.caption(
        f"Self-assessment for {cycle}"
        + (f", due {collecting.due_on.isoformat()}" if collecting.due_on else "")
        + f": the cycle being collected ({collecting.reported} "
        f"of {collecting.jurisdictions} jurisdictions reported so far)."
    )
if sub is None:
    if last is not None and last["status"] == submissions.ACCEPTED:
        st.success(
            f"The {cycle} self-assessment submitted by {safe_text.markdown(last['submitted_by'])} was accepted by "
            f"{safe_text.markdown(last['reviewed_by'])} on {last['reviewed_at']:%d %b %Y, %H:%M}; its ratings are "
            "in the national picture.",
            icon=":material/verified:",
        )
        if not correcting and submissions.can_fill(viewer, code):
            st.button(
                "Start a correction",
                icon=":material/edit:",
                on_click=start_correction,
                key="asmt_correct",
                help="Edit the accepted ratings; the correction is saved as a draft and reviewed again.",
            )
        elif correcting:
            st.caption("Correcting the accepted self-assessment: save a draft or submit it for review again.")
    if editable:
        st.caption(f"Prefilled from {source}." if source else "Nothing on record for this state yet: a blank form.")
else:
    who = f"last saved by {safe_text.markdown(sub['updated_by'])} on {sub['updated_at']:%d %b %Y, %H:%M}"
    st.info(
        f"**Status: {submissions.STATUS_LABELS[sub['status']]}** (submission {sub['submission_id']}) · {who}",
        icon=":material/assignment:",
    )
    if sub["status"] in submissions.EDITABLE and sub["review_comment"]:
        st.warning(
            f"**Returned by {safe_text.markdown(sub['reviewed_by'])}** on {sub['reviewed_at']:%d %b %Y}: "
            f"{safe_text.markdown(sub['review_comment'])}",
            icon=":material/undo:",
        )
    if sub["status"] == submissions.SUBMITTED and not reviewer:
        st.caption(
            "Submitted for review: the state's program manager accepts it or returns it with a comment. "
            "It cannot be edited meanwhile."
        )


def show_flash(place: str | None) -> None:
    """What the last button did, shown where the user will look (`place`: 'form', under Save and Submit; 'review',
    under Accept and Return; 'status', at the top once the review is done; None: wherever, at the end of the page,
    when its place is not drawn (another reviewer answered first))."""
    flash = st.session_state.get("_assessment_flash")
    if flash and (place is None or (flash[2] if len(flash) > 2 else "form") == place):
        st.session_state.pop("_assessment_flash")
        getattr(st, flash[0])(flash[1])


show_flash("status")


# --- the form ----------------------------------------------------------------------------------------------------
# Two grids (st.data_editor), a row per program area: the ratings (maturity, offers, seeks, notes and the 'Other'
# area's name, beside last cycle's rating) and the optional POETE sub-ratings. Quicker to read and fill than nine
# blocks of radios, boxes and text areas, like the file template's rows, and one kind of element for the browser to
# load (a text box alone would fetch its own code on every cold open; each grid is a canvas to draw).

POETE_OPEN = "_assessment_poete_open"  # the POETE grid is drawn (else its values as a static table)
token = (code, cycle, None if sub is None else (sub["submission_id"], sub["version"]))
if st.session_state.get("_assessment_token") != token:  # (re)load the values into the grids
    st.session_state["_assessment_token"] = token
    st.session_state.pop("_assessment_problems", None)
    st.session_state.pop(POETE_OPEN, None)
    st.session_state["_assessment_values"] = submissions.normalise(values)
    # fresh editors (no edits carried over from another state, cycle or version)
    st.session_state["_assessment_gen"] = st.session_state.get("_assessment_gen", 0) + 1


def open_poete() -> None:
    st.session_state[POETE_OPEN] = True


def grid_key(name: str) -> str:
    return f"asmt_{name}_{st.session_state.get('_assessment_gen', 0)}"


def edits(name: str) -> dict:
    return (st.session_state.get(grid_key(name)) or {}).get("edited_rows", {})


def form_values() -> list[dict]:
    """The form as it stands: the loaded values with the grids' edits (ratings, POETE, the 'Other' area's name)."""
    areas = submissions.ratings_after_edits(st.session_state.get("_assessment_values", []), edits("ratings"))
    poete = submissions.poete_after_edits(submissions.poete_values(areas), edits("poete"))
    for a in areas:
        a.update(poete[a["program_area"]])
    return areas


def save(submit: bool) -> None:
    """on_click of Save draft / Submit: runs before the page redraws, so problems show next to their areas."""
    try:
        submissions.save(
            con,
            viewer,
            code,
            cycle,
            form_values(),
            submit=submit,
            submission_id=None if sub is None else sub["submission_id"],
            version=None if sub is None else sub["version"],
        )
    except submissions.Invalid as e:
        st.session_state["_assessment_problems"] = e.by_area
        n = len(e.problems)
        st.session_state["_assessment_flash"] = (
            "error",
            f"{n} problem{'s' if n != 1 else ''} to fix before "
            "submitting (shown next to each area): nothing was submitted.",
        )
        return
    except submissions.SubmissionError as e:
        st.session_state["_assessment_flash"] = ("error", safe_text.markdown(e))  # names people: user text
        return
    st.session_state.pop("_assessment_problems", None)
    st.session_state["_assessment_flash"] = (
        ("success", f"Submitted {code} {cycle} for review by the state's program manager.")
        if submit
        else ("success", f"Draft saved ({code} {cycle}). Only {code}, its program manager and leadership see it.")
    )


# --- checks on the ratings (flags) and, for the reviewer, accept / return --------------------------------------------


def flags_block() -> bool:
    """The data-quality flags these ratings would get (the state sees them while filling in; the reviewer before
    accepting). False when the form does not pass the validator yet."""
    checked, _ = submissions.validate(code, cycle, form_values())
    if not checked.ok:
        return False
    flags = quality.with_confirmations(
        loaders.flag_preview(code, cycle, checked.rows), flag_confirmations.confirmations(con, code, cycle)
    )
    st.subheader("Data-quality checks", anchor=False)
    forms.flag_list(con, viewer, flags, key="assessment_flags", empty="No data-quality flag on these ratings.")
    return True


def accept(replace_newer: bool) -> None:
    try:
        summary = submissions.accept(con, viewer, sub["submission_id"], sub["version"], replace_newer=replace_newer)
    except submissions.SubmissionError as e:
        st.session_state["_assessment_flash"] = ("error", safe_text.markdown(e), "review")
        return
    loaders.data_changed()
    st.session_state["_assessment_flash"] = ("success", f"Accepted: {safe_text.markdown(summary.line())}", "status")


def send_back() -> None:
    try:
        submissions.return_submission(
            con, viewer, sub["submission_id"], sub["version"], st.session_state.get("asmt_return_comment", "")
        )
    except submissions.SubmissionError as e:
        st.session_state["_assessment_flash"] = ("error", safe_text.markdown(e), "review")
        return
    st.session_state["asmt_return_comment"] = ""
    st.session_state["_assessment_flash"] = ("success", f"Returned to {code} with your comment.", "status")


def review_block() -> None:
    """Above the (read-only) form for the reviewer: the flags, the newer-load warning, accept or return."""
    st.subheader("Review", anchor=False)
    st.write(
        f"Submitted by {safe_text.markdown(sub['submitted_by'])} on {sub['submitted_at']:%d %b %Y, %H:%M}. "
        "Check the flags, and the ratings below, then accept it into the national picture or return it with "
        "a comment."
    )
    valid = flags_block()
    newer = submissions.newer_loads(con, sub)
    replace = False
    if len(newer):
        st.warning(
            f"**A newer load replaced {code} {cycle} after this was submitted** "
            f"({len(newer)} load{'s' if len(newer) != 1 else ''}; latest "
            f"{safe_text.markdown(newer.iloc[0]['file_name'])} by {safe_text.markdown(newer.iloc[0]['loaded_by'])} on "
            f"{newer.iloc[0]['loaded_at']:%d %b %Y, %H:%M}). Accepting replaces those newer rows.",
            icon=":material/warning:",
        )
        replace = st.checkbox("Accept anyway: replace the newer rows with this submission", key="asmt_replace")
    a, r = st.columns(2, gap="large")
    with a:
        st.button(
            "Accept",
            type="primary",
            icon=":material/check_circle:",
            on_click=accept,
            args=(replace,),
            disabled=not valid or (len(newer) > 0 and not replace),
            key="asmt_accept",
        )
    with r:
        st.text_area(
            "Comment for the state (needed to return it)", key="asmt_return_comment", max_chars=submissions.MAX_COMMENT
        )
        st.button("Return to the state", icon=":material/undo:", on_click=send_back, key="asmt_return")
    show_flash("review")
    st.subheader("The submitted ratings", anchor=False)


reviewing = sub is not None and sub["status"] == submissions.SUBMITTED and reviewer
if reviewing:
    review_block()

problems = st.session_state.get("_assessment_problems") or {}
if prev_cycle is not None:
    changes = {slug: what for slug, what in submissions.changes_since(form_values(), previous).items() if what}
    # the grids' edits reach the page when the form is saved: the badge says it speaks of the ratings as saved
    saved = "as last saved" if sub is not None else "as prefilled"
    st.markdown(
        (
            f":orange-badge[:material/change_history: changed since {prev_cycle}, {saved}] "
            + "; ".join(
                f"**{safe_text.markdown(catalog.area_short(slug))}**: {safe_text.markdown(what)}"
                for slug, what in changes.items()
            )
        )
        if changes
        else f":gray-badge[unchanged since {prev_cycle}, {saved}]"
    )
for slug, messages in problems.items():
    if slug:  # the problems of an area, named (those of the whole form are under the grids)
        st.error(
            f"**{safe_text.markdown(catalog.AREAS_BY_SLUG[slug].label)}**: "
            + "; ".join(map(safe_text.markdown, messages)),
            icon=":material/error:",
        )

with st.expander("What the maturity levels mean", icon=":material/info:", expanded=editable):
    st.markdown(
        displays.markdown_table(template.levels_frame().set_axis(["Level", "Name", "What it means"], axis=1))
        + f"\n\nA state can offer help (mentor) only at maturity "
        f"{catalog.MENTOR_MIN} or higher. Leave an area's maturity empty where the state does not rate it."
    )

# editable: a form (the grids' edits reach the page on Save); read-only (submitted, accepted): the same grids, no form
with st.form("assessment_form", border=False, enter_to_submit=False) if editable else st.container():
    st.markdown(
        "**Ratings** · a row per program area: choose the maturity, tick whether the state offers help or "
        "seeks guidance, add notes and, on the Other row, name the area (double-click or Enter on a cell to "
        "edit it)"
    )
    st.data_editor(
        submissions.rating_grid(
            st.session_state.get("_assessment_values", []), previous if prev_cycle is not None else None
        ),
        key=grid_key("ratings"),
        hide_index=True,
        width="stretch",
        num_rows="fixed",
        disabled=True if not editable else [submissions.GRID_AREA, submissions.GRID_LAST],
        column_order=[
            submissions.GRID_AREA,
            *([submissions.GRID_LAST] if prev_cycle is not None else []),
            *submissions.RATING_COLUMNS,
        ],
        column_config={
            submissions.GRID_AREA: st.column_config.TextColumn(submissions.GRID_AREA, width=170),
            submissions.GRID_LAST: st.column_config.TextColumn(
                f"In {prev_cycle}", width=150, help=f"The state's {prev_cycle} rating"
            ),
            "maturity": st.column_config.SelectboxColumn(
                "Maturity",
                options=submissions.MATURITY_CHOICES,
                width=120,
                help="1 Not started … 5 (see what the levels mean above); empty: not rated",
            ),
            "offers_help": st.column_config.CheckboxColumn(
                "Offers help", width=95, help=f"A state can mentor only at maturity {catalog.MENTOR_MIN} or higher."
            ),
            "seeks_help": st.column_config.CheckboxColumn("Seeks guidance", width=125),
            "notes": st.column_config.TextColumn("Notes", max_chars=ingest.MAX_NOTES, width=170),
            "other_area": st.column_config.TextColumn(
                "Name (Other)",
                max_chars=ingest.MAX_OTHER_AREA,
                width=150,
                help="On the Other row only: name the area (e.g. Cybersecurity); needed when it is "
                "rated. Ignored on the other rows.",
            ),
        },
    )
    st.markdown("**POETE sub-ratings** (optional)")
    if editable and st.session_state.get(POETE_OPEN):
        st.caption(
            "Rate planning, organization, equipment, training and exercises 1–5 for any area; leave a cell "
            "empty where the state does not rate it."
        )
        st.data_editor(
            submissions.poete_grid(submissions.poete_values(st.session_state.get("_assessment_values", []))),
            key=grid_key("poete"),
            hide_index=True,
            width="stretch",
            disabled=[submissions.POETE_GRID_AREA],
            num_rows="fixed",
            column_config={
                submissions.POETE_GRID_AREA: st.column_config.TextColumn(submissions.POETE_GRID_AREA, width="medium"),
                **{
                    p: st.column_config.SelectboxColumn(catalog.POETE_LABELS[p], options=[1, 2, 3, 4, 5])
                    for p in catalog.POETE
                },
            },
        )
    else:
        # as a static table until asked for: a second grid is a second canvas for a cold open to draw. Opening it
        # submits the form (a rerun that keeps the ratings' unsaved edits), as Save does, without saving
        poete_now = submissions.poete_grid(submissions.poete_values(form_values()))
        rated = poete_now[poete_now[list(catalog.POETE)].notna().any(axis=1)]
        if len(rated):
            displays.text_table(rated.rename(columns=catalog.POETE_LABELS))
        else:
            st.caption("No area has POETE sub-ratings.")
        if editable:
            st.form_submit_button("Edit the POETE sub-ratings", icon=":material/edit:", on_click=open_poete)
    for message in problems.get("", []):
        st.error(message, icon=":material/error:")
    if editable:
        b1, b2, _ = st.columns([1, 1, 3])
        b1.form_submit_button("Save draft", icon=":material/save:", on_click=save, args=(False,), width="stretch")
        b2.form_submit_button(
            "Submit for review", type="primary", icon=":material/send:", on_click=save, args=(True,), width="stretch"
        )
show_flash("form")
show_flash(None)

if not reviewing:
    flags_block()

if sub is not None or last is not None:
    box = widgets.lazy_expander(
        f"History of submission {(sub or last)['submission_id']}", "asmt_history_open", icon=":material/history:"
    )
    with box:
        if box.open:  # read and drawn when opened: one grid fewer for a cold open to draw
            st.dataframe(
                submissions.history(con, (sub or last)["submission_id"]),
                hide_index=True,
                width="stretch",
                column_config={
                    "version": st.column_config.NumberColumn("Version", format="%d"),
                    "changed_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
                    "changed_by": "Who",
                    "from_status": "From",
                    "to_status": "To",
                    "comment": "Comment",
                },
            )
