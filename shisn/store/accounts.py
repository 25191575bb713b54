"""Users and their roles (the `users` table): who may sign in, as what, and the Viewer a signed-in e-mail gets."""

from __future__ import annotations

from shisn.domain import jurisdictions
from shisn.domain.auth import (
    LEADERSHIP,
    PROGRAM_MANAGER,
    ROLE_LABELS,
    ROLES,
    STATE,
    Viewer,
)
from shisn.store import audit
from shisn.store.db import query_df, transaction


class UserError(ValueError):
    """A user record that cannot be written; nothing was changed."""


def _clean_email(email: str) -> str:
    e = str(email or "").strip().lower()
    if not e or "@" not in e or " " in e or e.startswith("@") or e.endswith("@"):
        raise UserError(f"{email!r} is not an email address")
    return e


def add_user(con, email: str, role: str, by: str, *, state: str | None = None, name: str | None = None) -> dict:
    """Add or change a user's role (leadership only, via the admin page or the CLI). Audited."""
    email = _clean_email(email)
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    code = None
    if role == STATE:
        code = jurisdictions.state_code(state) if state else None
        if not code:
            raise UserError("a state user needs --state (a USPS code or name such as VA or Virginia)")
    elif state:
        raise UserError(
            f"only state users have a state; a {ROLE_LABELS[role]} sees "
            + ("everything" if role == LEADERSHIP else "the states assigned to them as program manager")
        )
    name = (name or email.split("@")[0]).strip()[:200]
    with transaction(con) as cur:
        old = cur.execute("SELECT role, state FROM users WHERE email = ?", [email]).fetchall()
        cur.execute("DELETE FROM users WHERE email = ?", [email]).fetchall()
        cur.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, now())", [email, role, code, name, by]).fetchall()
        was = f" (was {old[0][0]}{' ' + old[0][1] if old[0][1] else ''})" if old else ""
        audit.record_in(cur, by, "role", f"{email} set to {role}{' ' + code if code else ''}{was}")
    return {"email": email, "role": role, "state": code, "name": name}


def remove_user(con, email: str, by: str) -> bool:
    email = _clean_email(email)
    with transaction(con) as cur:
        n = cur.execute("DELETE FROM users WHERE email = ? RETURNING email", [email]).fetchall()
        if n:
            audit.record_in(cur, by, "role", f"{email} removed")
    return bool(n)


def users(con):
    return query_df(con, "SELECT email, role, state, name, added_by, added_at FROM users ORDER BY role, email")


def viewer_for(con, email: str | None) -> Viewer | None:
    """The Viewer for a signed-in email, or None when the user has no role (they then see nothing)."""
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
