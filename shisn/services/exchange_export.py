"""The exchanges as a file: the columns the CLI (`python -m shisn exchanges`) and the Exchanges page's
download write, each state's view of the exchange included. `python -m shisn exchanges load` reads the same
columns back (shisn.services.exchange_import)."""

from __future__ import annotations

import pandas as pd

from shisn.domain import auth
from shisn.services import outcomes
from shisn.services.exchanges import list_exchanges

EXPORT_COLUMNS = [
    "id",
    "mentor",
    "mentee",
    "program_areas",
    "status",
    "means",
    "proposed_at",
    "first_contact_at",
    "updated_at",
    "outcome",
    # each state's view (shisn.services.outcomes): useful 1-5, what changed, what it would do differently
    "mentor_useful",
    "mentor_what_changed",
    "mentor_differently",
    "mentee_useful",
    "mentee_what_changed",
    "mentee_differently",
]


def export_frame(con, viewer: auth.Viewer | None = None) -> pd.DataFrame:
    """The exchanges as the CLI and the download give them: id, mentor, mentee, program_areas (slugs separated by
    ';'), status, means, proposed_at, first_contact_at, updated_at (ISO text), outcome, and each state's view
    (mentor_useful, mentor_what_changed, mentor_differently, mentee_...; empty until recorded). Oldest first."""
    df = list_exchanges(con, viewer).sort_values("exchange_id")
    views = outcomes.export_columns(outcomes.visible(con, viewer), df["exchange_id"])

    def iso(s):
        return [None if pd.isna(v) else pd.Timestamp(v).isoformat(sep=" ") for v in s]

    out = pd.DataFrame(
        {
            "id": df["exchange_id"].astype(int).to_numpy(),
            "mentor": df["mentor"].to_numpy(),
            "mentee": df["mentee"].to_numpy(),
            "program_areas": [s.replace(",", ";") for s in df["program_areas"]],
            "status": df["status"].to_numpy(),
            "means": [m if isinstance(m, str) else None for m in df["means"]],
            "proposed_at": iso(df["proposed_at"]),
            "first_contact_at": iso(df["first_contact_at"]),
            "updated_at": iso(df["updated_at"]),
            "outcome": [o if isinstance(o, str) else None for o in df["outcome"]],
            **{c: views[c].array for c in outcomes.EXPORT_COLUMNS},
        },
        columns=EXPORT_COLUMNS,
    )
    return out.reset_index(drop=True)
