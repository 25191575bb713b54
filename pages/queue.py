"""Work queue: what needs the viewer's action (a program manager's landing page; leadership sees every state):
first what waits for a decision (introduction requests, self-assessments to review), then exchanges with no change
for the stuck-days setting and needs no mentor can take that are not yet TA referrals, each oldest first; each item
links to the page where it is handled. The count of each kind is a button that shows only that kind (`?kind=`).
Layout and widgets only: the items come from shisn.services.queue (the same as `python -m shisn queue`)."""

import hashlib

import pandas as pd
import streamlit as st

from shisn.domain import auth, safe_text
from shisn.services import queue
from shisn.store import settings
from shisn.web import displays, identity, loaders, widgets

viewer = identity.guard(auth.LEADERSHIP, auth.PROGRAM_MANAGER)
con = loaders.connection()
ICONS = {
    queue.REQUEST: ":material/person_add:",
    queue.REVIEW: ":material/fact_check:",
    queue.STUCK: ":material/hourglass_top:",
    queue.UNMATCHED: ":material/support_agent:",
}
SHOWN = 150  # items drawn as links; the download holds them all
ALL = "all"

st.title("Work queue")
days = loaders.stuck_days()
scope = (
    "every state"
    if viewer.role == auth.LEADERSHIP
    else f"your {len(viewer.states)} assigned states ({', '.join(viewer.states)})"
)
st.caption(
    f"What needs your action for {scope}: first what waits for your decision (introduction requests from "
    f"states, self-assessments to review), then exchanges with no change for {days} days or more and needs "
    "no eligible mentor can take that are not yet referred to technical assistance, each oldest first. Each "
    "item opens the page where it is handled."
)
if viewer.role == auth.PROGRAM_MANAGER and not viewer.states:
    st.warning(
        "No states are assigned to you, so nothing can need your action. Leadership assigns program "
        "managers on the Program managers page.",
        icon=":material/badge:",
    )

items = loaders.queue_items(viewer)
counts = queue.counts(items)

# the counts, as buttons that show one kind only (again, or "All": every kind); the choice is in the URL
shown = widgets.url_choice("kind", (ALL,) + queue.KINDS, ALL)
cols = st.columns(len(queue.KINDS) + 1)
for col, kind in zip(cols, (ALL,) + queue.KINDS):
    n = len(items) if kind == ALL else counts[kind]
    label = f"{n} · {'All' if kind == ALL else queue.KIND_LABELS[kind]}"  # the count first: a narrow tile cuts the end
    if col.button(
        label,
        key=f"queue_kind_{kind}",
        type="primary" if kind == shown else "secondary",
        width="stretch",
        help="Show every item" if kind == ALL else f"Show {queue.KIND_LABELS[kind].lower()} only",
    ):
        st.query_params["kind"] = kind
        st.rerun()
if shown != ALL:
    items = items[items["kind"] == shown]

if items.empty and shown != ALL:
    st.info(f"None now: {queue.KIND_LABELS[shown].lower()}.", icon=":material/task_alt:")
elif items.empty:
    st.success(
        "Nothing needs your action: no introduction requests, self-assessments to review, exchanges "
        f"without a change for {days} days, or needs left without a mentor.",
        icon=":material/task_alt:",
    )
else:
    head, dl = st.columns([4, 1], vertical_alignment="bottom")
    head.header(
        f"{len(items)} item{'s' if len(items) != 1 else ''}"
        + ("" if shown == ALL else f" · {queue.KIND_LABELS[shown].lower()}"),
        anchor=False,
    )
    csv = queue.export(items).to_csv(index=False).encode("utf-8")  # the items are drawn anyway: the file is cheap
    displays.download(
        "Download CSV",
        lambda: csv,
        ("work queue CSV", hashlib.sha256(csv).hexdigest()),
        container=dl,
        file_name="shisn-work-queue.csv",
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
        audit="work queue CSV",
    )
    with st.container(border=True):
        for r in items.head(SHOWN).itertuples(index=False):
            when = "" if pd.isna(r.since) else f"{r.since:%Y-%m-%d}"
            age = "" if pd.isna(r.age_days) else f" · {int(r.age_days)} d"
            text, meta = st.columns([6, 1], vertical_alignment="center")
            page, query = queue.page_and_query(r.link)
            label = safe_text.markdown(r.item)
            try:
                text.page_link(f"pages/{page}", label=label, icon=ICONS[r.kind], query_params=query or None)
            except Exception:  # noqa: BLE001 - the page is not part of this app (yet): show the address
                text.markdown(f"{label} · `{r.link}`")
            meta.caption(f"{when}{age}")
    if len(items) > SHOWN:
        st.caption(f"The {SHOWN} oldest are listed; the download holds all {len(items)}.")

if viewer.role == auth.LEADERSHIP:
    box = widgets.lazy_expander("When an exchange counts as stuck", "stuck_days_open", icon=":material/settings:")
    if box.open:  # drawn only when opened
        with box:
            with st.form("stuck_days_form", border=False):
                new_days = st.number_input(
                    "Days without a change",
                    min_value=1,
                    max_value=settings.MAX_STUCK_DAYS,
                    value=days,
                    step=1,
                    key="stuck_days",
                )
                if st.form_submit_button("Save"):
                    try:
                        settings.set_stuck_days(con, new_days, viewer)
                    except (ValueError, PermissionError) as e:
                        st.error(safe_text.markdown(str(e)))
                    else:
                        st.rerun()
