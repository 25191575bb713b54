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


def demo_mode() -> bool:
    """The role switcher is a demo device; it is on unless SHISN_DEMO_ROLES=0."""
    return os.environ.get("SHISN_DEMO_ROLES", "1") != "0"


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
