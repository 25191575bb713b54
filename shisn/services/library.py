"""The library users search: every published offer and practice as one entry of shisn.domain.search (title, the
searchable text, state, area, FEMA region, formats). Drafts, withdrawn offers and private practices never become
entries, so nothing private can reach a search result."""

from __future__ import annotations

import pandas as pd

from shisn.domain import jurisdictions, search
from shisn.services import offers, practices

ENTRY_COLUMNS = ["kind", "id", "state", "state_name", "program_area", "region", "formats", "title", "text"]
OFFER, PRACTICE = "offer", "practice"


def _join(*parts) -> str:
    return "\n".join(str(p) for p in parts if isinstance(p, str) and p.strip())


def entries(con) -> pd.DataFrame:
    """The published offers and practices as search entries (ENTRY_COLUMNS), offers first."""
    names, regions = jurisdictions.names(), jurisdictions.regions()
    o = offers.published(con)
    p = practices.published(con)
    rows = [
        {
            "kind": OFFER,
            "id": int(r.offer_id),
            "state": r.state,
            "program_area": r.program_area,
            "formats": r.formats,
            "title": r.title,
            "text": _join(r.covers, r.prepare, offers.formats_text(r.formats)),
        }
        for r in o.itertuples()
    ] + [
        {
            "kind": PRACTICE,
            "id": int(r.practice_id),
            "state": r.state,
            "program_area": r.program_area,
            "formats": "",
            "title": r.title,
            "text": _join(r.summary, r.what_worked, r.differently, r.documents),
        }
        for r in p.itertuples()
    ]
    df = pd.DataFrame(rows, columns=[c for c in ENTRY_COLUMNS if c not in ("state_name", "region")])
    df["state_name"] = df["state"].map(names)
    df["region"] = df["state"].map(regions)
    return df[ENTRY_COLUMNS]


def index(con) -> search.Index:
    """A search index over `entries(con)` (the web layer keeps one per data version)."""
    return search.Index.build(entries(con))
