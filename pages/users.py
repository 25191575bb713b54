"""Users and audit (leadership): who has which role, the audit log of loads, edits, exports and role changes, and
the e-mail notifications (the outbox with each one's status, attempts and last error; the defaults per kind).

The forms to add, change or remove a user, and the notification defaults, are each in a panel (**Add or change a
user**, **Remove a user**, **Defaults for users who have not chosen**) drawn only when opened, so a browser opening
the page cold loads no text input or select box; the users table, the audit log and the outbox are shown as they
are."""

import pandas as pd
import streamlit as st

from shisn.domain import auth, jurisdictions, safe_text
from shisn.services import mailer, notify
from shisn.store import accounts, audit
from shisn.web import displays, identity, loaders, widgets

viewer = identity.guard(auth.LEADERSHIP)
con = loaders.connection()

st.title("Users and audit")
st.caption(
    "Roles for signed-in users (SHISN_AUTH=oidc or header). Program managers see the states assigned to "
    "their email on the Program managers page; a state user sees its own state in full."
)
if auth.demo_mode():
    st.info(
        "Demo mode: the sidebar's role switcher decides who you are; this table is used once real sign-in is on.",
        icon=":material/science:",
    )


def users_view():
    """Who may sign in with which role; add, change or remove a user."""
    left, right = st.columns([3, 2], gap="large")
    with right:  # the forms are drawn only when their panel is opened: no text input or select box on a cold open
        add = widgets.lazy_expander("Add or change a user", "user_add_open", icon=":material/person_add:")
        with add:
            if add.open:
                with st.form("user_form", clear_on_submit=True, border=False):
                    email = st.text_input("Email")
                    name = st.text_input("Name (optional)")
                    role = st.selectbox("Role", auth.ROLES, format_func=auth.ROLE_LABELS.get)
                    state = st.selectbox(
                        "State (state users only)",
                        [""] + list(jurisdictions.codes()),
                        format_func=lambda c: f"{c} · {jurisdictions.names()[c]}" if c else "—",
                    )
                    if st.form_submit_button("Save", type="primary"):
                        try:
                            u = accounts.add_user(con, email, role, viewer.name, state=state or None, name=name or None)
                            st.success(
                                f"{u['email']} is now {auth.ROLE_LABELS[u['role']]}"
                                + (f" for {u['state']}" if u["state"] else "")
                                + "."
                            )
                        except accounts.UserError as e:
                            st.error(str(e))
        remove = widgets.lazy_expander("Remove a user", "user_remove_open", icon=":material/person_remove:")
        with remove:
            if remove.open:
                with st.form("remove_form", clear_on_submit=True, border=False):
                    gone = st.text_input("Remove user (email)")
                    if st.form_submit_button("Remove"):
                        if accounts.remove_user(con, gone, viewer.name):
                            st.success("Removed.")
                        else:
                            st.warning("No such user.")
    # filled after the form, so a user just saved is in the table
    with left:
        st.dataframe(
            accounts.users(con),
            hide_index=True,
            width="stretch",
            column_config={
                "email": "Email",
                "role": "Role",
                "state": "State",
                "name": "Name",
                "added_by": "Added by",
                "added_at": st.column_config.DatetimeColumn("Added", format="YYYY-MM-DD HH:mm"),
            },
        )


def audit_view():
    """The audit log."""
    st.caption("Every load, edit, export and role change: who, when, what. Append-only.")
    st.dataframe(
        audit.log(con),
        hide_index=True,
        width="stretch",
        column_config={
            "audit_id": st.column_config.NumberColumn("#", format="%d"),
            "at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss"),
            "who": "Who",
            "action": "Action",
            "detail": st.column_config.TextColumn("What", width="large"),
        },
    )


def _retry_failed():
    n = notify.retry_failed(con, viewer.name)
    st.session_state["_notify_retried"] = n


def notifications_view():
    """The outbox: every notification with its status, attempts and last error; the defaults per kind."""
    relay = mailer.relay_label()
    st.caption(
        "E-mails shisn sends when something needs a user or changed for their state (docs/using.md: "
        "*Notifications*). Mail relay (SHISN_SMTP_URL): "
        + safe_text.markdown(relay)
        + (". Without one, notifications are kept here and not sent." if relay == "none" else ".")
    )
    counts = notify.counts(con)
    left, right = st.columns([3, 2], gap="large")
    with right:
        displays.text_table(
            pd.DataFrame({"Status": [notify.STATUS_LABELS[s] for s in counts], "Notifications": list(counts.values())})
        )
        if counts[notify.FAILED]:
            st.warning(
                f"{counts[notify.FAILED]} notification(s) failed: the relay refused them, or could not be "
                "reached for a day. Their last error is in the table.",
                icon=":material/error:",
            )
            st.button("Send the failed ones again", on_click=_retry_failed, icon=":material/replay:")
        if st.session_state.pop("_notify_retried", None):
            st.success("Put back in line: the sender delivers them on its next round.")
        box = widgets.lazy_expander(
            "Defaults for users who have not chosen", "notify_defaults_open", icon=":material/tune:"
        )
        with box:
            if box.open:
                now = notify.defaults(con)
                with st.form("notify_defaults", border=False):
                    picked = {}
                    for k in notify.KINDS:
                        options = list(notify.modes_for(k))
                        picked[k] = st.radio(
                            notify.KIND_LABELS[k],
                            options,
                            index=options.index(now[k]),
                            format_func=notify.MODE_LABELS.get,
                            horizontal=True,
                            key=f"notify_default_{k}_{now[k]}",
                        )
                    hour = st.number_input("Daily digest built from (hour, 0-23)", 0, 23, notify.digest_hour(con))
                    if st.form_submit_button("Save the defaults", type="primary"):
                        changed = notify.set_defaults(con, picked, viewer.name, hour=int(hour))
                        st.success(
                            "Saved: " + safe_text.markdown("; ".join(changed)) if changed else "Nothing changed."
                        )
    with left:
        st.dataframe(
            notify.outbox(con),
            hide_index=True,
            width="stretch",
            column_config={
                "notification_id": st.column_config.NumberColumn("#", format="%d"),
                "created_at": st.column_config.DatetimeColumn("Written", format="YYYY-MM-DD HH:mm"),
                "kind": "Kind",
                "recipient": "To",
                "state": "State",
                "subject": "Subject",
                "status": "Status",
                "attempts": st.column_config.NumberColumn("Attempts", format="%d"),
                "next_attempt_at": st.column_config.DatetimeColumn("Next attempt", format="YYYY-MM-DD HH:mm"),
                "sent_at": st.column_config.DatetimeColumn("Sent", format="YYYY-MM-DD HH:mm"),
                "last_error": st.column_config.TextColumn("Last error", width="large"),
            },
        )


# one view at a time: only the open tab runs (its label is in the URL)
widgets.lazy_tabs({"Users": users_view, "Audit log": audit_view, "Notifications": notifications_view}, "users_view")
