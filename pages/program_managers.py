"""Program managers: who is assigned to each jurisdiction. Leadership edits the table or loads a CSV (validated,
all or nothing); every change is logged. Layout and widgets only; the logic is shisn.services.assignments.

The four views are st.tabs: the assignments editor is drawn on every run (so unsaved edits in it survive a look at
another tab), the other tabs' tables only while their tab is open; the file uploader of the "Load a CSV" tab is in a
panel (**Choose a CSV file to load**) drawn only when opened. A browser opening the page cold draws one grid and
fetches no file-uploader code."""

import streamlit as st

from shisn.domain import auth, safe_text
from shisn.services import assignments
from shisn.store import ingest
from shisn.web import displays, identity, loaders, widgets

viewer = identity.guard(auth.LEADERSHIP)
con = loaders.connection()
GEN = "pm_editor_gen"  # bumped after a save so the editor starts again from the stored table
OUTCOME = "pm_outcome"

st.title("Program managers")
st.caption(
    "Each jurisdiction's assigned ODP program manager: the person a state tells what it offers or needs, "
    "and who introduces it to other states. Shown with the state on every page."
)

table, people = loaders.pm_tables()
assigned = table[table["name"] != ""]
m = st.columns(3)
m[0].metric("Jurisdictions with a program manager", f"{len(assigned)} of {len(table)}")
m[1].metric("Program managers", len(people))
m[2].metric("Unassigned jurisdictions", len(table) - len(assigned))
unassigned = table.loc[table["name"] == "", "state"].tolist()
if unassigned:
    st.warning(f"No program manager assigned: {', '.join(unassigned)}.", icon=":material/person_off:")
if assigned["name"].str.contains(r"\(demo\)").any() or assigned["email"].str.endswith("@example.org").any():
    st.info(
        "**Demo assignments.** The program managers below are fictional (reserved example.org addresses); "
        "replace them by loading your list.",
        icon=":material/science:",
    )

outcome = st.session_state.pop(OUTCOME, None)
if outcome:
    kind, text, problems = outcome
    (st.success if kind == "ok" else st.error)(
        safe_text.markdown(text), icon=":material/check_circle:" if kind == "ok" else ":material/error:"
    )
    if problems is not None:
        st.dataframe(
            problems,
            hide_index=True,
            width="stretch",
            column_config={
                "file": "File",
                "row": st.column_config.NumberColumn("Row", format="%d"),
                "line": st.column_config.NumberColumn("Line", format="%d"),
                "state": "State",
                "column": "Column",
                "value": "Value",
                "problem": st.column_config.TextColumn("Problem", width="large"),
            },
        )

# the assignments editor is drawn on every run (its unsaved edits survive a look at another tab); the other tabs'
# tables only while their tab is open, so a browser opening the page cold draws one grid
tab_edit, tab_people, tab_load, tab_log = st.tabs(
    ["Assignments", "By program manager", "Load a CSV", "Change log"], key="pm_tab", on_change="rerun"
)

with tab_edit:
    st.caption(
        "Edit names and e-mail addresses in place, then save. Clear both cells to leave a state unassigned. "
        "A save with any invalid row changes nothing."
    )
    gen = st.session_state.setdefault(GEN, 0)
    edited = st.data_editor(
        table[["state", "state_name", "region_label", "name", "email"]],
        hide_index=True,
        width="stretch",
        num_rows="fixed",
        key=f"pm_editor_{gen}",
        height=min(36 + 35 * len(table), 560),
        disabled=["state", "state_name", "region_label"],
        column_config={
            "state": st.column_config.TextColumn("State", width=60),
            "state_name": st.column_config.TextColumn("Jurisdiction"),
            "region_label": st.column_config.TextColumn("FEMA region", width=100),
            "name": st.column_config.TextColumn("Program manager", max_chars=assignments.MAX_NAME),
            "email": st.column_config.TextColumn("E-mail", max_chars=assignments.MAX_EMAIL),
        },
    )
    changed = int(((edited["name"].fillna("") != table["name"]) | (edited["email"].fillna("") != table["email"])).sum())
    c1, c2 = st.columns([1, 4], vertical_alignment="center")
    if c1.button("Save changes", type="primary", icon=":material/save:", disabled=changed == 0):
        try:
            counts = assignments.save(con, edited, viewer.name)
        except ingest.LoadError as e:
            st.session_state[OUTCOME] = (
                "error",
                f"{len(e.problems)} problem(s): nothing was saved.",
                assignments.problems_table(e.problems, edited),
            )
        else:
            st.cache_data.clear()  # the role switcher's PM list
            st.session_state[GEN] = gen + 1
            st.session_state[OUTCOME] = (
                "ok",
                f"Saved: {counts['added']} assigned, {counts['changed']} changed, {counts['removed']} unassigned.",
                None,
            )
        st.rerun()
    c2.caption(f"{changed} unsaved change(s)." if changed else "No unsaved changes.")

with tab_people:
    if tab_people.open:
        st.dataframe(
            people,
            hide_index=True,
            width="stretch",
            column_config={
                "name": "Program manager",
                "email": "E-mail",
                "states": st.column_config.TextColumn("States", width="large"),
                "count": st.column_config.NumberColumn("Count", format="%d", width=70),
            },
        )

with tab_load:
    st.write(
        "A CSV with the columns **state, name, email** (one row per state; header in any case, column order "
        "free). The states in the file get the file's program manager; other states keep theirs. A file with "
        "any problem changes nothing, and every problem is listed by row, line, column and value."
    )
    displays.download(
        "Current assignments (.csv)",
        lambda: assignments.to_csv_bytes(con),
        ("program managers CSV",),
        tables=("program_manager_log",),  # every edit of the assignments is logged there
        file_name="shisn-program-managers.csv",
        mime="text/csv",
        icon=":material/download:",
        audit="program-manager assignments CSV",
        help="The current list in the load format: edit it and load it back.",
    )
    # st.tabs draws every tab on every run: the uploader is drawn only when its panel is opened, so a browser opening
    # the page cold fetches no file-uploader code
    box = widgets.lazy_expander("Choose a CSV file to load", "pm_load_open", icon=":material/upload_file:")
    with box:
        if box.open:
            f = st.file_uploader("Program-manager CSV", type=["csv"], key="pm_csv")
            if st.button("Validate and load", type="primary", disabled=f is None, icon=":material/task_alt:"):
                try:
                    counts = assignments.load_csv(con, f.name, f.getvalue(), viewer.name)
                except ingest.LoadError as e:
                    n = len(e.problems)
                    st.session_state[OUTCOME] = (
                        "error",
                        f"{n} problem{'s' if n != 1 else ''} in {f.name}: nothing "
                        "was loaded. Fix the rows below and load again.",
                        ingest.problems_frame(e.problems),
                    )
                else:
                    st.cache_data.clear()
                    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1
                    st.session_state[OUTCOME] = (
                        "ok",
                        assignments.summary_line(f.name, counts)
                        + "".join(f" (warning: {w})" for w in counts["warnings"]),
                        None,
                    )
                st.rerun()

with tab_log:
    st.caption("Every change to an assignment: who, when, from where (this page or a file), old and new values.")
    if tab_log.open:
        st.dataframe(
            assignments.change_log(con),
            hide_index=True,
            width="stretch",
            column_config={
                "changed_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
                "changed_by": "Who",
                "source": "From",
                "state": "State",
                "old_name": "Old name",
                "old_email": "Old e-mail",
                "new_name": "New name",
                "new_email": "New e-mail",
            },
        )
