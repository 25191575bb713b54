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
