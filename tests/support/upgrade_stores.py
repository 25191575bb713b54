"""Stores made at every earlier schema version, for the upgrade tests (tests/store/test_upgrade.py).

Each `tests/fixtures/upgrade/store_vN.sql` (N = 1 … SCHEMA_VERSION − 1) is a small store as shisn wrote it at
schema version N: the migrations as shipped up to N, verbatim (each between `-- >>> migration K` markers), then rows
in every table of that version (12 jurisdictions, two cycles and a correction load, program managers and their
log, exchanges in every status of their time with their history, referrals, users, the audit log; from version 5
an introduction request, submissions with their history, a confirmed flag, states' views, a setting; from version 6
a closed reporting cycle), and the id sequences past the ids used. The same SQL runs on DuckDB and PostgreSQL
(PostgreSQL first gets the one `CREATE DOMAIN tinyint` line every PostgreSQL store starts with).

Why SQL kept in the repository rather than built stores: the text is frozen when written, so it keeps the
migrations exactly as shipped (a test compares them with shisn.store.db.MIGRATIONS: editing a shipped step fails it) and
the rows exactly as they were, and it builds the old store on either engine in a few milliseconds, where a DuckDB
file would serve one engine only, be tied to one DuckDB storage format and weigh about a megabyte per version.

    python -m tests.support.upgrade_stores --write     # (re)write the files for versions not yet written
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from shisn.store import db

ROOT = Path(__file__).resolve().parents[2]

FIXTURES = ROOT / "tests" / "fixtures" / "upgrade"
VERSIONS = tuple(range(1, db.SCHEMA_VERSION))


def path(version: int) -> Path:
    return FIXTURES / f"store_v{version}.sql"


def sql(version: int) -> str:
    return path(version).read_text(encoding="utf-8")


def shipped_migrations(text: str) -> list[str]:
    """The migrations a fixture was written with, in order (the text between its markers)."""
    parts = text.split("-- >>> migration ")[1:]
    return [p.split("\n", 1)[1].split("\n-- <<< migration", 1)[0] for p in parts]


def build(target: str, version: int) -> db.Store:
    """The store of fixture `version` at `target` (a new DuckDB file or an empty PostgreSQL database), as it was
    written: not upgraded. Returns it opened without upgrading."""
    store = db.connect(target, read_only=True)
    script = sql(version)
    if store.engine == "postgresql":
        script = db._PG_PRELUDE + script  # the line migration 1 starts with on PostgreSQL
    with store.transaction() as cur:
        cur.run_script(script)
    return store


# --- writing the fixtures (once per schema version; the files are then kept as they are) ---------------------------

STATES = ("CA", "DC", "DE", "FL", "MD", "NJ", "NV", "NY", "PA", "TX", "VA", "WV")
CYCLES = (2024, 2025)
AREAS = (
    "regional_planning",
    "training",
    "exercises",
    "interoperability",
    "assessment_validation",
    "strategy",
    "prevention",
    "recovery",
)
OTHER = {"CA": "Cybersecurity", "NY": "Port and maritime security"}
POETE = ("planning", "organization", "equipment", "training", "exercises")
T = dt.datetime


def _rows() -> dict[str, list[dict]]:
    """Every table's rows (columns of the newest version; a row's `_since` is the first version it belongs to)."""
    import numpy as np

    rng = np.random.default_rng(2004)
    out: dict[str, list[dict]] = {}
    loads = [(1, T(2024, 3, 15, 9, 0), "states-2024.csv", 2024), (2, T(2025, 3, 14, 9, 30), "states-2025.csv", 2025)]
    assessments = []
    level = {s: 2.2 + 1.6 * rng.random() for s in STATES}
    for load_id, _, _, cycle in loads:
        for s in STATES:
            for area in AREAS + (("other",) if s in OTHER else ()):
                m = int(np.clip(round(level[s] + rng.normal(0, 0.9) + 0.3 * (cycle - 2024)), 1, 5))
                offers = bool(m >= 4 and rng.random() < 0.7)
                seeks = bool(m <= 2 and rng.random() < 0.8)
                poete = {p: int(np.clip(m + rng.integers(-1, 2), 1, 5)) if rng.random() < 0.6 else None for p in POETE}
                note = None
                if m >= 4 and rng.random() < 0.4:
                    note = f"Statewide {area.replace('_', ' ')} programme; happy to share (it's documented)."
                elif m <= 2 and rng.random() < 0.4:
                    note = f"Looking for a peer state in {area.replace('_', ' ')}, e.g. plans, templates."
                assessments.append(
                    {
                        "state": s,
                        "program_area": area,
                        "cycle": cycle,
                        "maturity": m,
                        "offers_help": offers,
                        "seeks_help": seeks,
                        "other_area": OTHER.get(s) if area == "other" else None,
                        "notes": note,
                        **poete,
                        "load_id": load_id,
                    }
                )
    for a in assessments:  # the correction: VA 2025 loaded again (load 3), one rating changed
        if a["state"] == "VA" and a["cycle"] == 2025:
            a["load_id"] = 3
            if a["program_area"] == "exercises":
                a.update(
                    maturity=5,
                    offers_help=True,
                    seeks_help=False,
                    notes="Corrected after the review, line two: ünïcode ✓",
                )
    n = {c: sum(1 for a in assessments if a["cycle"] == c) for c in CYCLES}
    va = sum(1 for a in assessments if a["state"] == "VA" and a["cycle"] == 2025)
    out["assessments"] = assessments
    out["load_log"] = [
        {
            "load_id": i,
            "loaded_at": at,
            "loaded_by": "ODP data team",
            "file_name": name,
            "rows_in_file": n[c],
            "rows_added": n[c],
            "rows_replaced": 0,
            "states": ",".join(STATES),
            "cycles": str(c),
            "synthetic": False,
        }
        for i, at, name, c in loads
    ] + [
        {
            "load_id": 3,
            "loaded_at": T(2025, 4, 2, 14, 10),
            "loaded_by": "cli:odp",
            "file_name": "va-2025.csv",
            "rows_in_file": va,
            "rows_added": 0,
            "rows_replaced": va,
            "states": "VA",
            "cycles": "2025",
            "synthetic": False,
        }
    ]
    pms = {
        "Alex Rivera": ("DC", "DE", "MD", "PA", "VA", "WV"),
        "Jordan Chen": ("NJ", "NY"),
        "Morgan Okafor": ("CA", "FL", "NV", "TX"),
    }
    out["program_managers"] = [
        {"state": s, "name": name, "email": name.lower().replace(" ", ".") + "@example.org"}
        for name, states in pms.items()
        for s in states
    ]
    out["program_manager_log"] = [
        {
            "changed_at": T(2024, 2, 1, 8, 0),
            "changed_by": "cli:odp",
            "source": "program-managers.csv",
            "state": r["state"],
            "old_name": None,
            "old_email": None,
            "new_name": r["name"],
            "new_email": r["email"],
            "_since": 2,
        }
        for r in out["program_managers"]
    ]
    exchanges, history = [], []

    def exchange(ex_id, mentor, mentee, areas, cycle, steps, since=2, request=None):
        """steps: (status, when, fields, comment); the first is the opening (proposed, or requested)."""
        row = {
            "exchange_id": ex_id,
            "mentor": mentor,
            "mentee": mentee,
            "program_areas": ",".join(areas),
            "cycle": cycle,
            "means": None,
            "means_detail": None,
            "planned_on": None,
            "outcome": None,
            "proposed_at": None,
            "introduced_at": None,
            "contact_at": None,
            "held_at": None,
            "closed_at": None,
            "declined_at": None,
            "created_by": "Alex Rivera",
            "synthetic": False,
            "requested_at": None,
            "requested_by": None,
            "requested_state": None,
            "request_message": None,
            "decline_reason": None,
            "_since": since,
            **(request or {}),
        }
        prev = None
        for version, (status, when, fields, comment) in enumerate(steps, start=1):
            changes = {"status": [prev, status]}
            if version == 1:
                changes.update(
                    cycle=[None, cycle],
                    mentee=[None, mentee],
                    mentor=[None, mentor],
                    program_areas=[None, ",".join(areas)],
                )
            for k, v in fields.items():
                changes[k] = [row.get(k), v.isoformat() if isinstance(v, dt.date) else v]
                row[k] = v
            time_col = {
                "requested": "requested_at",
                "proposed": "proposed_at",
                "introduced": "introduced_at",
                "in_contact": "contact_at",
                "exchange_held": "held_at",
                "closed": "closed_at",
                "declined": "declined_at",
            }[status]
            row[time_col] = when
            history.append(
                {
                    "exchange_id": ex_id,
                    "version": version,
                    "changed_at": when,
                    "changed_by": "Alex Rivera",
                    "from_status": prev,
                    "to_status": status,
                    "effective_at": when,
                    "changes": json.dumps(changes, sort_keys=True),
                    "comment": comment,
                    "_since": since,
                }
            )
            prev = status
        row.update(status=prev, updated_at=steps[-1][1], updated_by="Alex Rivera", version=len(steps))
        exchanges.append(row)

    exchange(
        1,
        "VA",
        "MD",
        ["exercises"],
        2024,
        [
            ("proposed", T(2024, 4, 1, 10), {}, "Suggested pair."),
            ("introduced", T(2024, 4, 8, 11), {}, None),
            ("in_contact", T(2024, 4, 20, 9), {}, None),
            ("exchange_held", T(2024, 6, 3, 15), {"means": "teleconference", "planned_on": dt.date(2024, 6, 3)}, None),
            ("closed", T(2024, 7, 1, 12), {"outcome": "MD adopted VA's exercise templates."}, "Done."),
        ],
    )
    exchange(
        2,
        "CA",
        "NV",
        ["interoperability"],
        2024,
        [
            ("proposed", T(2024, 4, 2, 10), {}, None),
            ("introduced", T(2024, 4, 15, 10), {}, None),
            ("declined", T(2024, 5, 2, 16), {}, "No staff free this cycle."),
        ],
    )
    exchange(
        3,
        "NY",
        "NJ",
        ["prevention"],
        2025,
        [("proposed", T(2025, 4, 10, 10), {}, None), ("introduced", T(2025, 4, 18, 10), {}, None)],
    )
    exchange(4, "TX", "FL", ["recovery"], 2025, [("proposed", T(2025, 4, 11, 9), {}, None)])
    exchange(
        5,
        "PA",
        "DE",
        ["training", "exercises"],
        2025,
        [
            ("proposed", T(2025, 4, 12, 9), {}, None),
            ("introduced", T(2025, 4, 20, 9), {}, None),
            ("in_contact", T(2025, 5, 2, 9), {}, None),
            (
                "exchange_held",
                T(2025, 6, 10, 13),
                {"means": "on_site_visit", "means_detail": "Two days in Dover"},
                None,
            ),
        ],
    )
    exchanges[1]["decline_reason"] = "The mentor state had no staff free this cycle."
    exchange(
        6,
        "VA",
        "WV",
        ["strategy"],
        2025,
        [("requested", T(2025, 5, 5, 8, 30), {}, None)],
        since=5,
        request={
            "requested_by": "WV user",
            "requested_state": "WV",
            "created_by": "WV user",
            "request_message": "Could VA walk us through its strategy process?",
        },
    )
    out["exchanges"], out["exchange_history"] = exchanges, history
    out["ta_referrals"] = [
        {
            "referral_id": 1,
            "state": "NV",
            "program_area": "interoperability",
            "cycle": 2024,
            "reason": "exchange 2 with CA was declined",
            "referred_by": "Alex Rivera",
            "referred_at": T(2024, 5, 2, 16),
            "exchange_id": 2,
            "synthetic": False,
            "_since": 2,
        },
        {
            "referral_id": 2,
            "state": "WV",
            "program_area": "assessment_validation",
            "cycle": 2025,
            "reason": "no eligible mentor",
            "referred_by": "Alex Rivera",
            "referred_at": T(2025, 4, 30, 10),
            "exchange_id": None,
            "synthetic": False,
            "_since": 2,
        },
    ]
    out["users"] = [
        {"email": "lead@example.org", "role": "leadership", "state": None, "name": "Lee Lead"},
        {"email": "alex.rivera@example.org", "role": "program_manager", "state": None, "name": "Alex Rivera"},
        {"email": "va.user@example.org", "role": "state", "state": "VA", "name": "VA user"},
        {"email": "wv.user@example.org", "role": "state", "state": "WV", "name": "WV user"},
    ]
    for u in out["users"]:
        u.update(added_by="cli:odp", added_at=T(2024, 1, 10, 9), _since=3)
    form = [
        {
            "program_area": a,
            "maturity": 3,
            "offers_help": False,
            "seeks_help": a == "strategy",
            "notes": "Draft from the form." if a == "strategy" else "",
        }
        for a in AREAS
    ]
    from shisn.services import submissions

    areas_json = json.dumps(submissions.normalise(form), ensure_ascii=False)
    out["submissions"] = [
        {
            "submission_id": 1,
            "state": "WV",
            "cycle": 2026,
            "status": "submitted",
            "areas": areas_json,
            "created_by": "WV user",
            "created_at": T(2025, 11, 2, 10),
            "updated_by": "WV user",
            "updated_at": T(2025, 11, 3, 10),
            "submitted_by": "WV user",
            "submitted_at": T(2025, 11, 3, 10),
            "reviewed_by": None,
            "reviewed_at": None,
            "review_comment": None,
            "load_id": None,
            "base_load_id": 3,
            "version": 2,
            "synthetic": False,
            "_since": 5,
        },
        {
            "submission_id": 2,
            "state": "VA",
            "cycle": 2026,
            "status": "returned",
            "areas": areas_json,
            "created_by": "VA user",
            "created_at": T(2025, 11, 4, 10),
            "updated_by": "Alex Rivera",
            "updated_at": T(2025, 11, 6, 10),
            "submitted_by": "VA user",
            "submitted_at": T(2025, 11, 4, 10),
            "reviewed_by": "Alex Rivera",
            "reviewed_at": T(2025, 11, 6, 10),
            "review_comment": "Please rate recovery too.",
            "load_id": None,
            "base_load_id": 3,
            "version": 2,
            "synthetic": False,
            "_since": 5,
        },
    ]
    out["submission_history"] = [
        {
            "submission_id": 1,
            "version": 1,
            "changed_at": T(2025, 11, 2, 10),
            "changed_by": "WV user",
            "from_status": None,
            "to_status": "draft",
            "comment": None,
            "_since": 5,
        },
        {
            "submission_id": 1,
            "version": 2,
            "changed_at": T(2025, 11, 3, 10),
            "changed_by": "WV user",
            "from_status": "draft",
            "to_status": "submitted",
            "comment": None,
            "_since": 5,
        },
        {
            "submission_id": 2,
            "version": 1,
            "changed_at": T(2025, 11, 4, 10),
            "changed_by": "VA user",
            "from_status": None,
            "to_status": "submitted",
            "comment": None,
            "_since": 5,
        },
        {
            "submission_id": 2,
            "version": 2,
            "changed_at": T(2025, 11, 6, 10),
            "changed_by": "Alex Rivera",
            "from_status": "submitted",
            "to_status": "returned",
            "comment": "Please rate recovery too.",
            "_since": 5,
        },
    ]
    out["flag_confirmations"] = [
        {
            "state": "VA",
            "cycle": 2025,
            "rule": "big_change",
            "program_area": "exercises",
            "note": "Real: a new exercise officer and programme.",
            "confirmed_by": "Alex Rivera",
            "confirmed_at": T(2025, 4, 3, 9),
            "_since": 5,
        }
    ]
    out["exchange_outcomes"] = [
        {
            "exchange_id": 1,
            "state": "VA",
            "useful": 4,
            "what_changed": "Shared our lessons.",
            "differently": None,
            "recorded_by": "Alex Rivera",
            "recorded_at": T(2024, 7, 2, 9),
            "version": 1,
            "synthetic": False,
            "_since": 5,
        },
        {
            "exchange_id": 1,
            "state": "MD",
            "useful": 5,
            "what_changed": "Adopted the templates.",
            "differently": "Agree the goals in writing first.",
            "recorded_by": "Alex Rivera",
            "recorded_at": T(2024, 7, 2, 9),
            "version": 2,
            "synthetic": False,
            "_since": 5,
        },
        {
            "exchange_id": 5,
            "state": "DE",
            "useful": 3,
            "what_changed": "Two courses adapted.",
            "differently": None,
            "recorded_by": "Alex Rivera",
            "recorded_at": T(2025, 6, 12, 9),
            "version": 1,
            "synthetic": False,
            "_since": 5,
        },
    ]
    out["settings"] = [
        {"key": "stuck_days", "value": "45", "updated_by": "Lee Lead", "updated_at": T(2025, 1, 5, 9), "_since": 5}
    ]
    out["reporting_cycles"] = [
        {
            "cycle": 2025,
            "status": "closed",
            "due_on": dt.date(2025, 3, 31),
            "opened_by": "Lee Lead",
            "opened_at": T(2025, 1, 6, 9),
            "closed_by": "Lee Lead",
            "closed_at": T(2025, 5, 1, 9),
            "updated_at": T(2025, 5, 1, 9),
            "_since": 6,
        }
    ]
    out["notifications"] = [
        {
            "notification_id": 1,
            "created_at": T(2025, 2, 3, 10),
            "kind": "request",
            "event": "exchange 1 version 1",
            "recipient": "pm.va@example.org",
            "state": "VA",
            "subject": "Maryland asks for an introduction",
            "body_text": "Maryland asks Virginia to mentor it in exercises.",
            "body_html": "<p>Maryland asks Virginia to mentor it in exercises.</p>",
            "link": "http://localhost:8501/exchanges?exchange=1",
            "unsubscribe": "http://localhost:8501/notifications?unsubscribe=token",
            "status": "sent",
            "attempts": 1,
            "next_attempt_at": None,
            "claimed_by": None,
            "claimed_at": None,
            "sent_at": T(2025, 2, 3, 10, 1),
            "last_error": None,
            "digest_id": None,
            "_since": 7,
        }
    ]
    out["notification_preferences"] = [
        {
            "email": "pm.va@example.org",
            "kind": "request",
            "mode": "immediate",
            "updated_by": "Pat PM",
            "updated_at": T(2025, 2, 1, 9),
            "_since": 7,
        }
    ]
    audit = [
        (r["loaded_at"], r["loaded_by"], "load", f"loaded {r['file_name']}: {r['rows_in_file']} rows", 3)
        for r in out["load_log"]
    ]
    audit += [
        (
            h["changed_at"],
            h["changed_by"],
            "edit",
            f"exchange {h['exchange_id']} version {h['version']}: {h['from_status'] or 'new'} → {h['to_status']}",
            h["_since"],
        )
        for h in history
    ]
    audit += [(u["added_at"], "cli:odp", "role", f"{u['email']}: {u['role']}", 3) for u in out["users"]]
    audit += [
        (h["changed_at"], h["changed_by"], "edit", f"submission {h['submission_id']}: {h['to_status']}", 5)
        for h in out["submission_history"]
    ]
    audit += [(T(2024, 8, 1, 9), "Lee Lead", "export", "national CSV, cycle 2024", 3)]
    audit.sort(key=lambda a: (a[0], a[2], a[3]))
    out["audit_log"] = [{"at_time": a[0], "who": a[1], "action": a[2], "detail": a[3], "_since": a[4]} for a in audit]
    return out


def _literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dt.datetime):
        return f"'{v:%Y-%m-%d %H:%M:%S}'"
    if isinstance(v, dt.date):
        return f"'{v:%Y-%m-%d}'"
    return "'" + str(v).replace("'", "''") + "'"


def render(version: int) -> str:
    """The fixture of `version` as SQL (see the module's docstring)."""
    from shisn.store.archive import SEQUENCES, schema_at

    schema = schema_at(version)
    lines = [
        f"-- A shisn store at schema version {version}, as shisn wrote it: the migrations as shipped, then rows",
        "-- in every table of that version. Written once by tests/support/upgrade_stores.py; kept as it is.",
        "",
    ]
    for i in range(version):
        lines += [f"-- >>> migration {i + 1}", db.MIGRATIONS[i], f"-- <<< migration {i + 1}", ""]
    lines += [f"INSERT INTO schema_version VALUES ({version});", ""]
    rows = _rows()
    if "audit_log" in schema.tables:  # ids numbered over the entries of this version, in time order
        kept = [r for r in rows["audit_log"] if r["_since"] <= version]
        rows["audit_log"] = [{"audit_id": i, **r} for i, r in enumerate(kept, start=1)]
    nexts = {}
    for name, spec in schema.tables.items():
        cols = [c for c, _ in spec.columns]
        kept = [r for r in rows.get(name, []) if r.get("_since", 1) <= version]
        assert kept, f"no rows for {name} at version {version}"
        values = ",\n".join("    (" + ", ".join(_literal(r.get(c)) for c in cols) + ")" for r in kept)
        lines += [f"INSERT INTO {name} ({', '.join(cols)}) VALUES", values + ";", ""]
        for seq, (table, col) in SEQUENCES.items():
            if table == name and seq in schema.sequences:
                nexts[seq] = max(r[col] for r in kept) + 1
    for seq, nxt in nexts.items():  # each id was taken with nextval, so the sequence stands past it
        lines += [f"SELECT nextval('{seq}');"] * (nxt - 1)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="write the upgrade fixtures not yet written")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--force", action="store_true", help="also rewrite existing files (never for a shipped one)")
    args = ap.parse_args(argv)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for v in VERSIONS:
        p = path(v)
        if p.exists() and not args.force:
            print(f"{p.relative_to(ROOT)}: kept")
            continue
        if args.write:
            p.write_text(render(v), encoding="utf-8")
            print(f"{p.relative_to(ROOT)}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
