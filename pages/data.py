"""Data: download the template, upload self-assessments (validated, all or nothing), see the load log."""
import streamlit as st

from shisn import auth, catalog, ingest, template, ui

viewer = ui.guard(*auth.ROLES)
con = ui.connection()

st.title("Self-assessment data")
st.caption("One row per state × program area × assessment cycle. Loading a file replaces that file's "
           "states × cycles; a file with any problem loads nothing.")

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("1 · Template")
    st.write("Fill in the template (CSV or Excel). It lists the columns, program areas and maturity levels.")
    st.caption("No spreadsheet at hand? Fill in the same self-assessment on the **Self-assessment** page "
               "(`/assessment`): the same rules, saved as a draft, reviewed by the state's program manager.")
    c1, c2 = st.columns(2)
    ui.download("Template (.xlsx)", lambda: template.template_bytes("xlsx"), ("template", "xlsx"), container=c1,
                file_name="shisn-self-assessment-template.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                icon=":material/download:", width="stretch")
    ui.download("Template (.csv)", lambda: template.template_bytes("csv"), ("template", "csv"), container=c2,
                file_name="shisn-self-assessment-template.csv", mime="text/csv", icon=":material/download:",
                width="stretch")
    levels = st.expander("Maturity levels and program areas", key="levels_open", on_change="rerun")
    if levels.open:  # drawn only when opened
        with levels:
            st.dataframe(template.levels_frame(), hide_index=True, width="stretch")
            st.dataframe(template.areas_frame(), hide_index=True, width="stretch")
            st.caption(f"Strength = {catalog.STRENGTH_MIN}–5, gap = 1–{catalog.GAP_MAX}. A state may mentor in an "
                       f"area only if it offers help there and rates itself {catalog.MENTOR_MIN} or higher.")

with right:
    st.subheader("2 · Load files")
    allowed = viewer.states if viewer.role == auth.STATE else None
    if allowed:
        st.write(f"As a state user you can load rows for **{allowed[0]}** only.")
    files = st.file_uploader("Self-assessment files", type=["csv", "xlsx"], accept_multiple_files=True,
                             help=f"CSV (UTF-8, comma or semicolon) or Excel .xlsx, up to "
                                  f"{ingest.MAX_BYTES // (1024 * 1024)} MB and {ingest.MAX_ROWS:,} rows each.")
    if st.button("Validate and load", type="primary", disabled=not files, icon=":material/task_alt:"):
        outcome = ui.load_files(con, [(f.name, f.getvalue()) for f in files], viewer, allowed)
        st.session_state["last_load"] = outcome
    outcome = st.session_state.get("last_load")
    if outcome:
        for w in outcome["warnings"]:
            st.warning(w)
        if outcome["problems"] is not None:
            n = len(outcome["problems"])
            st.error(f"{n} problem{'s' if n != 1 else ''} found: nothing was loaded. Fix the rows below and "
                     "upload again.", icon=":material/error:")
            st.dataframe(outcome["problems"].head(ingest.MAX_PROBLEMS_SHOWN), hide_index=True, width="stretch")
            if n > ingest.MAX_PROBLEMS_SHOWN:
                st.caption(f"Showing the first {ingest.MAX_PROBLEMS_SHOWN} of {n} problems.")
        for line in outcome["loaded"]:
            st.success(line, icon=":material/check_circle:")

st.subheader("Load log")
st.caption("Every accepted load: who, when, which file, how many rows.")
st.dataframe(auth.visible_loads(ui.load_log(), viewer), hide_index=True, width="stretch", column_config={
    "load_id": st.column_config.NumberColumn("Load", format="%d"),
    "loaded_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
    "loaded_by": "Who", "file_name": "File", "rows_in_file": "Rows", "rows_added": "New",
    "rows_replaced": "Replaced", "states": "Jurisdictions", "cycles": "Cycles",
    "synthetic": st.column_config.CheckboxColumn("Demo (synthetic)")})
