"""Who is viewing and what they may see. Pure: no Streamlit.

Roles: leadership (everything), program_manager (their assigned states in full, others in summary),
state (its own profile in full; other states only as scores and offer/seek flags).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

LEADERSHIP, PROGRAM_MANAGER, STATE = "leadership", "program_manager", "state"
ROLES = (LEADERSHIP, PROGRAM_MANAGER, STATE)
ROLE_LABELS = {LEADERSHIP: "ODP leadership", PROGRAM_MANAGER: "Program manager", STATE: "State"}


@dataclass(frozen=True)
class Viewer:
    role: str
    name: str
    states: tuple[str, ...] = field(default=())  # PM: assigned states; state: its own (one)

    @property
    def label(self) -> str:
        if self.role == STATE:
            return f"{ROLE_LABELS[self.role]}: {self.states[0] if self.states else '?'}"
        return f"{ROLE_LABELS[self.role]}: {self.name}"

    def sees_detail_of(self, state: str) -> bool:
        """Full detail (notes, contacts, exchanges) of `state`?"""
        return self.role == LEADERSHIP or state in self.states

    @property
    def home_state(self) -> str | None:
        return self.states[0] if self.role == STATE and self.states else None


AUTH_MODES = ("demo", "oidc", "header")
DEFAULT_HEADER = "X-Forwarded-Email"


def auth_mode() -> str:
    """How the viewer is identified: `SHISN_AUTH` = demo (default: the labelled role switcher), oidc (Streamlit's
    st.login / st.user, configured in .streamlit/secrets.toml) or header (a trusted header set by the organisation's
    reverse proxy, named by `SHISN_AUTH_HEADER`, default X-Forwarded-Email). `SHISN_DEMO_ROLES=0` also turns the
    demo switcher off (nobody is signed in unless a real identity arrives)."""
    mode = os.environ.get("SHISN_AUTH", "demo").strip().lower()
    if mode not in AUTH_MODES:
        raise ValueError(f"SHISN_AUTH={mode!r}: use one of {', '.join(AUTH_MODES)}")
    if mode == "demo" and os.environ.get("SHISN_DEMO_ROLES", "1") == "0":
        return "none"
    return mode


def demo_mode() -> bool:
    """The role switcher is a demo device, on only in the explicit demo mode."""
    return auth_mode() == "demo"


def auth_header() -> str:
    return os.environ.get("SHISN_AUTH_HEADER", DEFAULT_HEADER)


def allowed(viewer: Viewer | None, roles: tuple[str, ...]) -> bool:
    return viewer is not None and viewer.role in roles


def demo_viewer(role: str, pm_assignments, pm_name: str | None = None, state: str | None = None) -> Viewer:
    """A viewer for the demo role switcher. `pm_assignments` is a DataFrame (state, name, email)."""
    if role == LEADERSHIP:
        return Viewer(LEADERSHIP, "Demo leadership")
    if role == PROGRAM_MANAGER:
        states = tuple(sorted(pm_assignments.loc[pm_assignments["name"] == pm_name, "state"]))
        return Viewer(PROGRAM_MANAGER, pm_name or "?", states)
    if role == STATE:
        return Viewer(STATE, f"Demo state user ({state})", (state,) if state else ())
    raise ValueError(f"unknown role {role!r}")


# --- users and roles (the `users` table) -----------------------------------------------------------------------

class UserError(ValueError):
    """A user record that cannot be written; nothing was changed."""


def _clean_email(email: str) -> str:
    e = str(email or "").strip().lower()
    if not e or "@" not in e or " " in e or e.startswith("@") or e.endswith("@"):
        raise UserError(f"{email!r} is not an email address")
    return e


def add_user(con, email: str, role: str, by: str, *, state: str | None = None, name: str | None = None) -> dict:
    """Add or change a user's role (leadership only, via the admin page or the CLI). Audited."""
    from shisn.store import audit
    from shisn.domain import jurisdictions as J
    from shisn.store.db import transaction
    email = _clean_email(email)
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    code = None
    if role == STATE:
        code = J.state_code(state) if state else None
        if not code:
            raise UserError("a state user needs --state (a USPS code or name such as VA or Virginia)")
    elif state:
        raise UserError(f"only state users have a state; a {ROLE_LABELS[role]} sees "
                        + ("everything" if role == LEADERSHIP else "the states assigned to them as program manager"))
    name = (name or email.split("@")[0]).strip()[:200]
    with transaction(con) as cur:
        old = cur.execute("SELECT role, state FROM users WHERE email = ?", [email]).fetchall()
        cur.execute("DELETE FROM users WHERE email = ?", [email]).fetchall()
        cur.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, now())", [email, role, code, name, by]).fetchall()
        was = f" (was {old[0][0]}{' ' + old[0][1] if old[0][1] else ''})" if old else ""
        audit.record_in(cur, by, "role", f"{email} set to {role}{' ' + code if code else ''}{was}")
    return {"email": email, "role": role, "state": code, "name": name}


def remove_user(con, email: str, by: str) -> bool:
    from shisn.store import audit
    from shisn.store.db import transaction
    email = _clean_email(email)
    with transaction(con) as cur:
        n = cur.execute("DELETE FROM users WHERE email = ? RETURNING email", [email]).fetchall()
        if n:
            audit.record_in(cur, by, "role", f"{email} removed")
    return bool(n)


def users(con):
    from shisn.store.db import query_df
    return query_df(con, "SELECT email, role, state, name, added_by, added_at FROM users ORDER BY role, email")


def viewer_for(con, email: str | None) -> Viewer | None:
    """The Viewer for a signed-in email, or None when the user has no role (they then see nothing)."""
    from shisn.store.db import query_df
    if not email:
        return None
    try:
        email = _clean_email(email)
    except UserError:
        return None
    got = query_df(con, "SELECT role, state, name FROM users WHERE email = ?", [email])
    if got.empty:
        return None
    role, state, name = got.iloc[0]["role"], got.iloc[0]["state"], got.iloc[0]["name"]
    if role == LEADERSHIP:
        return Viewer(LEADERSHIP, name)
    if role == PROGRAM_MANAGER:
        states = query_df(con, "SELECT state FROM program_managers WHERE lower(email) = ? ORDER BY state", [email])
        return Viewer(PROGRAM_MANAGER, name, tuple(states["state"]))
    return Viewer(STATE, name, (state,))


# --- the one place rows are cut to what a viewer may see ----------------------------------------------------------

DETAIL_COLUMNS = ("notes",)  # what only viewers with detail rights receive (scores and offer/seek flags stay)


def redact(df, viewer: Viewer | None, state_column: str = "state"):
    """Assessment rows as `viewer` may receive them: notes blanked for states they do not see in detail; nothing at
    all for an unknown viewer."""
    if viewer is None:
        return df.iloc[0:0].copy()
    if viewer.role == LEADERSHIP:
        return df
    out = df.copy()
    hidden = ~out[state_column].isin(viewer.states)
    for c in DETAIL_COLUMNS:
        if c in out.columns:
            out[c] = out[c].astype(object).where(~hidden, None)
    return out


def visible_loads(log, viewer: Viewer | None):
    """Load-log rows a viewer may see: all for leadership; for others, loads that touched their states."""
    if viewer is None:
        return log.iloc[0:0]
    if viewer.role == LEADERSHIP:
        return log
    mine = set(viewer.states)
    return log[log["states"].map(lambda s: bool(mine & set(str(s).split(","))))].reset_index(drop=True)
