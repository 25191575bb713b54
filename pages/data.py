"""Data: download the template, upload self-assessments (validated, all or nothing), see the load log."""

import datetime as dt

import streamlit as st

from shisn.domain import auth, catalog, safe_text
from shisn.render import template
from shisn.store import ingest, reporting_cycles
from shisn.web import displays, identity, loaders, widgets

viewer = identity.guard(*auth.ROLES)
con = loaders.connection()

st.title("Self-assessment data")
st.caption(
    "One row per state × program area × assessment cycle. Loading a file replaces that file's "
    "states × cycles; a file with any problem loads nothing."
)

left, right = st.columns([1, 1], gap="large")
with left:
    st.header("1 · Template")
    st.write("Fill in the template (CSV or Excel). It lists the columns, program areas and maturity levels.")
    st.caption(
        "No spreadsheet at hand? Fill in the same self-assessment on the **Self-assessment** page "
        "(/assessment): the same rules, saved as a draft, reviewed by the state's program manager."
    )
    c1, c2 = st.columns(2)
    displays.download(
        "Template (.xlsx)",
        lambda: template.template_bytes("xlsx"),
        ("template", "xlsx"),
        container=c1,
        file_name="shisn-self-assessment-template.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        width="stretch",
    )
    displays.download(
        "Template (.csv)",
        lambda: template.template_bytes("csv"),
        ("template", "csv"),
        container=c2,
        file_name="shisn-self-assessment-template.csv",
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
    )
    levels = st.expander("Maturity levels and program areas", key="levels_open", on_change="rerun")
    if levels.open:  # drawn only when opened
        with levels:
            st.dataframe(template.levels_frame(), hide_index=True, width="stretch")
            st.dataframe(template.areas_frame(), hide_index=True, width="stretch")
            st.caption(
                f"Strength = {catalog.STRENGTH_MIN}–5, gap = 1–{catalog.GAP_MAX}. A state may mentor in an "
                f"area only if it offers help there and rates itself {catalog.MENTOR_MIN} or higher."
            )

with right:
    st.header("2 · Load files")
    allowed = viewer.states if viewer.role == auth.STATE else None
    if allowed:
        st.write(f"As a state user you can load rows for **{allowed[0]}** only.")
    files = st.file_uploader(
        "Self-assessment files",
        type=["csv", "xlsx"],
        accept_multiple_files=True,
        help=f"CSV (UTF-8, comma or semicolon) or Excel .xlsx, up to "
        f"{ingest.MAX_BYTES // (1024 * 1024)} MB and {ingest.MAX_ROWS:,} rows each.",
    )
    if st.button("Validate and load", type="primary", disabled=not files, icon=":material/task_alt:"):
        outcome = loaders.load_files(con, [(f.name, f.getvalue()) for f in files], viewer, allowed)
        st.session_state["last_load"] = outcome
    outcome = st.session_state.get("last_load")
    if outcome:
        for w in outcome["warnings"]:
            st.warning(w)
        if outcome["problems"] is not None:
            n = len(outcome["problems"])
            st.error(
                f"{n} problem{'s' if n != 1 else ''} found: nothing was loaded. Fix the rows below and upload again.",
                icon=":material/error:",
            )
            st.dataframe(outcome["problems"].head(ingest.MAX_PROBLEMS_SHOWN), hide_index=True, width="stretch")
            if n > ingest.MAX_PROBLEMS_SHOWN:
                st.caption(f"Showing the first {ingest.MAX_PROBLEMS_SHOWN} of {n} problems.")
        for line in outcome["loaded"]:
            st.success(line, icon=":material/check_circle:")

st.header("Reporting cycles")
status = loaders.cycle_status()
default = reporting_cycles.default_cycle(status)
st.caption(
    "Leadership opens a cycle for reporting with a due date and closes it when reports are in. Every page "
    f"opens on the latest closed cycle{f' ({default})' if default else ''}; an open cycle can be chosen and "
    "is labelled in progress."
)
st.dataframe(
    status.assign(default=status["cycle"] == default),
    hide_index=True,
    width="stretch",
    column_config={
        "cycle": st.column_config.NumberColumn("Cycle", format="%d"),
        "status": "Status",
        "explicit": st.column_config.CheckboxColumn(
            "Set by leadership", help="Unset: counted as closed once half the jurisdictions report."
        ),
        "due_on": st.column_config.DateColumn("Due", format="YYYY-MM-DD"),
        "reported": "Reported",
        "jurisdictions": "Jurisdictions",
        "default": st.column_config.CheckboxColumn("Pages open on it"),
    },
)
if viewer.role == auth.LEADERSHIP:  # the forms are drawn only when the panel is opened
    if done := st.session_state.pop("cycles_done", None):
        st.success(done, icon=":material/check_circle:")
    box = widgets.lazy_expander("Open or close a cycle", "cycles_open", icon=":material/event_available:")
    with box:
        if box.open:
            with st.form("open_cycle", border=False):
                a, b, c = st.columns([1, 1, 1], vertical_alignment="bottom")
                year = a.number_input(
                    "Cycle (year)",
                    min_value=reporting_cycles.FIRST,
                    step=1,
                    value=(max(status["cycle"]) + 1) if len(status) else dt.date.today().year,
                )
                due = b.date_input("Due on", value=dt.date(int(year), 3, 31))
                if c.form_submit_button("Open for reporting", icon=":material/lock_open:"):
                    try:
                        got = reporting_cycles.open_cycle(con, year, due, viewer.name)
                    except ValueError as e:
                        st.error(safe_text.markdown(str(e)))
                    else:
                        st.session_state["cycles_done"] = (
                            f"Cycle {got.cycle} is open for reporting, due {got.due_on.isoformat()}."
                        )
                        st.rerun()
            closable = [int(c) for c in status.loc[status["status"] == reporting_cycles.OPEN, "cycle"]]
            if closable:
                with st.form("close_cycle", border=False):
                    a, b = st.columns([2, 1], vertical_alignment="bottom")
                    year = a.selectbox("Cycle to close", closable)
                    if b.form_submit_button("Close the cycle", icon=":material/lock:"):
                        try:
                            got = reporting_cycles.close_cycle(con, year, viewer.name)
                        except ValueError as e:
                            st.error(safe_text.markdown(str(e)))
                        else:
                            st.session_state["cycles_done"] = (
                                f"Cycle {got.cycle} is closed ({got.reported} of {got.jurisdictions} reported)."
                            )
                            st.rerun()

st.header("Load log")
st.caption("Every accepted load: who, when, which file, how many rows.")
st.dataframe(
    auth.visible_loads(loaders.load_log(), viewer),
    hide_index=True,
    width="stretch",
    column_config={
        "load_id": st.column_config.NumberColumn("Load", format="%d"),
        "loaded_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
        "loaded_by": "Who",
        "file_name": "File",
        "rows_in_file": "Rows",
        "rows_added": "New",
        "rows_replaced": "Replaced",
        "states": "Jurisdictions",
        "cycles": "Cycles",
        "synthetic": st.column_config.CheckboxColumn("Demo (synthetic)"),
    },
)
