"""Notifications (every role): which e-mails you get from shisn, per kind: immediately, in the daily digest, or off
(shisn/services/notify.py). The unsubscribe link at the foot of every e-mail lands here (`?unsubscribe=TOKEN`): it turns that
kind off, says so, and leaves the address, so a later save here cannot undo it."""

import pandas as pd
import streamlit as st

from shisn.domain import auth, safe_text
from shisn.services import mailer, notify
from shisn.web import displays, identity, loaders

viewer = identity.guard(*auth.ROLES)
con = loaders.connection()

st.title("Notifications")

token = st.query_params.get("unsubscribe")
if token:
    del st.query_params["unsubscribe"]  # honoured once
    try:
        who, kinds = notify.unsubscribe(con, token)
        what = ", ".join(notify.KIND_LABELS[k].lower() for k in kinds)
        st.success(
            f"{safe_text.markdown(who)} gets no more e-mails about {safe_text.markdown(what)}."
            if kinds
            else f"{safe_text.markdown(who)} already gets no such e-mails.",
            icon=":material/unsubscribe:",
        )
    except notify.BadToken as e:
        st.error(safe_text.markdown(str(e)), icon=":material/link_off:")

st.caption(
    "shisn e-mails you when something needs you or changed for your state, with a link to where it is "
    "handled. Choose per kind: immediately, in one daily digest (grouped per state, oldest first), or off."
)
if mailer.relay_label() == "none":
    st.caption(
        "No mail relay is configured yet (SHISN_SMTP_URL): notifications are kept in shisn's outbox, where "
        "ODP leadership sees them, and not sent."
    )

email = (identity.signed_in_email() or "").strip().lower()
kinds = notify.kinds_for(viewer.role)
if not email:
    st.info(
        "Demo mode: nobody is signed in, so there is no address to e-mail. A signed-in user chooses here; "
        f"until then leadership's defaults apply to {auth.ROLE_LABELS[viewer.role].lower()} users:",
        icon=":material/science:",
    )
    defaults = notify.defaults(con)
    displays.text_table(
        pd.DataFrame(
            {
                "Notification": [notify.KIND_LABELS[k] for k in kinds],
                "Default": [notify.MODE_LABELS[defaults[k]] for k in kinds],
            }
        )
    )
    st.stop()

st.markdown(f"E-mails go to **{safe_text.markdown(email)}**.")
current = notify.preferences(con, email)
with st.form("notify_prefs", border=False):
    picked = {}
    for k in kinds:
        options = list(notify.modes_for(k))
        # the key names the stored choice: an unsubscribe link or another session's save shows at once
        picked[k] = st.radio(
            notify.KIND_LABELS[k],
            options,
            index=options.index(current[k]),
            horizontal=True,
            format_func=notify.MODE_LABELS.get,
            key=f"notify_mode_{k}_{current[k]}",
        )
    saved = st.form_submit_button("Save", type="primary")
if saved:  # only what the user changed becomes their own choice; the rest keeps following leadership's defaults
    n = notify.set_preferences(con, email, {k: m for k, m in picked.items() if m != current[k]}, viewer.name)
    st.success("Saved." if n else "Nothing changed.")

st.subheader("Recent e-mails to you")
recent = notify.outbox(con, recipient=email, limit=20)
if recent.empty:
    st.caption("None yet.")
else:
    displays.text_table(
        pd.DataFrame(
            {
                "When": [f"{pd.Timestamp(t):%Y-%m-%d %H:%M}" for t in recent["created_at"]],
                "Subject": recent["subject"],
                "Status": [notify.STATUS_LABELS.get(s, s) for s in recent["status"]],
            }
        )
    )
