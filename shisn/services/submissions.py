"""Self-assessments filled in on the app's form, and their review.

A *submission* is one state's self-assessment for one cycle, kept in the store (`submissions`) while it is written
and reviewed, so drafts survive a server restart. Its `areas` are the form's rows, one per program area, with
the same columns as a self-assessment file (ingest.COLUMNS without state and cycle).

Statuses (exactly these moves):

    draft ──submit──► submitted ──accept──► accepted
      ▲                   │
      └──── returned ◄────┘ return (with the reviewer's comment, which the state sees)

A returned submission is edited like a draft (saving it makes it a draft again) and submitted again. Accepted is
final: a later correction is a new submission for the same state × cycle. A state × cycle has at most one open
(draft, submitted or returned) submission.

Who may do what: a state user fills in its own state's form only; the state's program manager (assigned states)
and leadership may fill one in on the state's behalf. Drafts are visible only to those same people. A submitted
assessment is reviewed by the state's PM; leadership may review any. A PM reviews only assigned states.

The rules are the file's: `validate` runs the form's rows through `ingest.check_rows`, the same validator (rules
and messages) as a file upload and the CLI; each problem is tied to the area whose row it names. Submitting needs
no problems. Accepting writes the rows through `ingest.load`, the same all-or-nothing writer as a file load (it
replaces the state × cycle; the load log names it "form, submitted by …, accepted by …"), and marks the
submission accepted IN THE SAME TRANSACTION.

Nothing is overwritten silently: every step (saved, submitted, accepted, returned) is one row of the append-only
`submission_history` and one audit-log entry; every update names the version it read, so when two people act on
the same submission one wins and the other gets `StaleSubmission` ("... was changed by X at HH:MM since you
opened it: reload ...") and nothing is written. A file load for the same state × cycle after the submission was
made raises `NewerLoad` on accept unless the reviewer confirms (`replace_newer=True`).

Submitting, returning and accepting write their e-mail notifications (shisn/services/notify.py: the state's program manager,
the state's users) in the same transaction as the step itself.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from shisn.domain import auth, basics, catalog, jurisdictions
from shisn.services import notify
from shisn.store import audit, ingest
from shisn.store.db import WriteConflict, query_df, transaction

DRAFT, SUBMITTED, ACCEPTED, RETURNED = "draft", "submitted", "accepted", "returned"
STATUSES: tuple[str, ...] = (DRAFT, SUBMITTED, ACCEPTED, RETURNED)
STATUS_LABELS = {
    DRAFT: "draft",
    SUBMITTED: "submitted, awaiting review",
    ACCEPTED: "accepted",
    RETURNED: "returned for changes",
}
OPEN: tuple[str, ...] = (DRAFT, SUBMITTED, RETURNED)
EDITABLE: tuple[str, ...] = (DRAFT, RETURNED)
AREA_FIELDS: tuple[str, ...] = (
    "program_area",
    "maturity",
    "offers_help",
    "seeks_help",
    "other_area",
    "notes",
    *catalog.POETE,
)
MAX_COMMENT = 4000
COLUMNS = [
    "submission_id",
    "state",
    "cycle",
    "status",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "submitted_by",
    "submitted_at",
    "reviewed_by",
    "reviewed_at",
    "review_comment",
    "load_id",
    "base_load_id",
    "version",
]


class SubmissionError(ValueError):
    """Something asked of a submission cannot be done; the message says why. Nothing was written."""


class NotAllowed(SubmissionError):
    pass


class Invalid(SubmissionError):
    """The form's rows break the self-assessment rules. `by_area`: {area slug: [messages]} ('' for the whole)."""

    def __init__(self, problems: list[ingest.Problem], by_area: dict[str, list[str]]):
        self.problems, self.by_area = problems, by_area
        n = len(problems)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} to fix before submitting: "
            + "; ".join(
                f"{catalog.area_short(a) if a else 'assessment'}: {m}" for a, ms in by_area.items() for m in ms[:1]
            )
        )


class StaleSubmission(SubmissionError):
    """The submission changed since the caller read it; nothing was written."""

    def __init__(self, submission_id: int, changed_by: str, changed_at, status: str):
        self.submission_id, self.changed_by, self.status = submission_id, changed_by, status
        at = pd.Timestamp(changed_at).to_pydatetime() if changed_at is not None else None
        when = (
            ""
            if at is None
            else (" at " + (at.strftime("%H:%M") if at.date() == dt.date.today() else at.strftime("%Y-%m-%d %H:%M")))
        )
        super().__init__(
            f"submission {submission_id} was changed by {changed_by}{when} since you opened it (it is "
            f"now {STATUS_LABELS.get(status, status)}): nothing was saved; reload to see their change"
        )


class NewerLoad(SubmissionError):
    """A file load wrote this state × cycle after the submission was made; accepting replaces those rows."""

    def __init__(self, loads: pd.DataFrame):
        self.loads = loads
        first = loads.iloc[0]
        when = pd.Timestamp(first["loaded_at"]).strftime("%Y-%m-%d %H:%M")
        super().__init__(
            f"{len(loads)} load(s) wrote this state × cycle after the submission was made (latest: "
            f"{first['file_name']} by {first['loaded_by']} at {when}): accepting replaces those newer "
            "rows. Confirm to accept anyway."
        )


# --- who may do what ---------------------------------------------------------------------------------------------


def can_fill(viewer: auth.Viewer | None, state: str) -> bool:
    """Fill in (and see the drafts of) `state`'s self-assessment: the state itself, its PM, leadership."""
    return viewer is not None and (viewer.role == auth.LEADERSHIP or state in viewer.states)


def can_review(viewer: auth.Viewer | None, state: str) -> bool:
    """Accept or return `state`'s submission: its PM (assigned states only) or leadership."""
    if viewer is None:
        return False
    return viewer.role == auth.LEADERSHIP or (viewer.role == auth.PROGRAM_MANAGER and state in viewer.states)


def why_not_fill(viewer: auth.Viewer, state: str, pm_name: str | None = None) -> str:
    """Why `viewer` may not open `state`'s form; `pm_name`: who handles that state (named so the user knows whom
    to ask)."""
    handled = (
        (f" Its program manager is {pm_name}." if pm_name else " No program manager is assigned to it yet.")
        if viewer.role != auth.STATE
        else ""
    )
    if viewer.role == auth.STATE:
        own = viewer.home_state or "your own state"
        return f"As a {own} user you can open only {own}'s self-assessment, not {state}'s."
    if viewer.role == auth.PROGRAM_MANAGER:
        return (
            f"{state} is not one of your assigned states, so you cannot open or review its self-assessment." + handled
        )
    return "You may not open this self-assessment."


# --- the form's rows ---------------------------------------------------------------------------------------------


def _int_or_none(v):
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v == "":
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return v  # kept as typed: the validator names it


def blank_area(slug: str) -> dict:
    return {
        "program_area": slug,
        "maturity": None,
        "offers_help": False,
        "seeks_help": False,
        "other_area": "",
        "notes": "",
        **{p: None for p in catalog.POETE},
    }


def normalise(areas) -> list[dict]:
    """The form's areas as a list in catalog order, one dict per area with AREA_FIELDS (blank where not given).
    `areas`: a list of dicts with `program_area`, or {slug: dict}."""
    if isinstance(areas, dict):
        areas = [{**v, "program_area": k} for k, v in areas.items()]
    by_slug = {}
    for a in areas or []:
        slug = catalog.area_slug(a.get("program_area", ""))
        if slug is None:
            raise SubmissionError(f"{a.get('program_area')!r} is not a program area")
        unknown = set(a) - set(AREA_FIELDS)
        if unknown:
            raise SubmissionError(f"unknown field(s) {', '.join(sorted(unknown))}")
        by_slug[slug] = a
    out = []
    for slug in catalog.AREA_SLUGS:
        a = {**blank_area(slug), **by_slug.get(slug, {}), "program_area": slug}
        a["maturity"] = _int_or_none(a["maturity"])
        for p in catalog.POETE:
            a[p] = _int_or_none(a[p])
        a["offers_help"] = bool(a["offers_help"])
        a["seeks_help"] = bool(a["seeks_help"])
        a["other_area"] = basics.cell_text(a["other_area"], strip=False)
        a["notes"] = basics.cell_text(a["notes"], strip=False)
        out.append(a)
    return out


def is_blank(area: dict) -> bool:
    """Nothing entered for the area: it is not rated (and not a row of the assessment)."""
    return (
        area.get("maturity") is None
        and not area.get("offers_help")
        and not area.get("seeks_help")
        and not basics.cell_text(area.get("notes"), strip=False).strip()
        and not basics.cell_text(area.get("other_area"), strip=False).strip()
        and all(area.get(p) is None for p in catalog.POETE)
    )


def form_rows(state: str, cycle: int, areas) -> list[dict]:
    """The rows a file would hold for this form: one per area with anything entered (blank areas are not rated)."""
    return [
        {"state": state, "cycle": cycle, **{k: v for k, v in a.items()}} for a in normalise(areas) if not is_blank(a)
    ]


def validate(
    state: str, cycle: int, areas, *, name: str = "form", this_year: int | None = None
) -> tuple[ingest.Checked, dict[str, list[str]]]:
    """Run the form's rows through the self-assessment validator (ingest.check_rows: the file's rules and
    messages, rows for `state` only). Returns the result and {area slug: ['column: reason', ...]} ('' for
    problems about the whole assessment)."""
    rows = form_rows(state, cycle, areas)
    checked = ingest.check_rows(rows, name, this_year=this_year, allowed_states=(state,))
    by_area: dict[str, list[str]] = {}
    for p in checked.problems:
        area = rows[p.row - 1]["program_area"] if p.row is not None and 0 < p.row <= len(rows) else ""
        label = (
            {"other_area": "area name", "offers_help": "offers help", "seeks_help": "seeks guidance"}.get(
                p.column, p.column
            )
            if p.column
            else ""
        )
        by_area.setdefault(area, []).append(f"{label}: {p.reason}" if label else p.reason)
    return checked, by_area


def _check_key(state: str, cycle, this_year: int | None) -> tuple[str, int]:
    """The state and cycle, checked by the same validator (its state and cycle rules and messages)."""
    code = jurisdictions.state_code(state) if state else None
    if code is None:
        raise SubmissionError(f"{state!r} is not one of the 56 reporting jurisdictions (use a USPS code such as VA)")
    probe = ingest.check_rows(
        [{"state": code, "program_area": catalog.AREA_SLUGS[0], "cycle": cycle, "maturity": 1}], this_year=this_year
    )
    bad = [p for p in probe.problems if p.column in ("state", "cycle")]
    if bad:
        raise SubmissionError(f"{bad[0].column} {bad[0].value!r}: {bad[0].reason}")
    return code, int(cycle)


# --- prefill and "changed since last cycle" ---------------------------------------------------------------------


def areas_from_rows(rows: pd.DataFrame) -> list[dict]:
    """Stored assessment rows (one state × cycle) as the form's areas."""
    got = {}
    for r in rows.to_dict("records"):
        got[r["program_area"]] = {k: r.get(k) for k in AREA_FIELDS}
    return normalise(got)


def previous_cycle(state_rows: pd.DataFrame, cycle: int) -> int | None:
    """The state's latest cycle before `cycle` (from its rows), or None."""
    earlier = state_rows.loc[state_rows["cycle"] < int(cycle), "cycle"] if len(state_rows) else []
    return int(max(earlier)) if len(earlier) else None


def prefill(state_rows: pd.DataFrame, cycle: int) -> tuple[list[dict], str]:
    """The form's starting values when no submission is open: the cycle's stored rows if there are any (a
    correction), else the state's latest earlier cycle. Returns (areas, where they came from)."""
    this = state_rows[state_rows["cycle"] == int(cycle)] if len(state_rows) else state_rows
    if len(this):
        return areas_from_rows(this), f"the {cycle} self-assessment on record"
    prev = previous_cycle(state_rows, cycle)
    if prev is not None:
        return areas_from_rows(state_rows[state_rows["cycle"] == prev]), f"the {prev} self-assessment"
    return normalise([]), ""


# --- the ratings as one grid (a row per area: maturity, offers, seeks, notes; last cycle's rating beside them) ---

GRID_AREA = "Program area"
GRID_LAST = "last_cycle"  # read-only: the previous cycle's rating, for comparison
RATING_COLUMNS = ("maturity", "offers_help", "seeks_help", "notes", "other_area")  # other_area: the Other row only


def maturity_choice(level: int) -> str:
    """How the grid names a maturity level: '3 · Established'."""
    return f"{int(level)} · {catalog.level_name(level)}"


MATURITY_CHOICES = [maturity_choice(m) for m in catalog.MATURITY_LEVELS]


def maturity_from_choice(v):
    """The level of a grid cell ('3 · Established' → 3; empty → None); anything else is kept as typed, so the
    validator names it."""
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA or str(v).strip() == "":
        return None
    head = str(v).split("·")[0].strip()
    return int(head) if head.isdigit() else v


def previous_text(row) -> str:
    """An area's rating in an earlier cycle, in a few words that fit the form's column: '3 · offers help'."""
    if row is None:
        return ""
    m = _int_or_none(row.get("maturity"))
    bits = [str(m) if isinstance(m, int) and m in catalog.MATURITY_LEVELS else "not rated"]
    if row.get("offers_help"):
        bits.append("offers help")
    if row.get("seeks_help"):
        bits.append("seeks guidance")
    return " · ".join(bits)


def rating_grid(areas, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ratings grid the form shows: a row per program area in catalog order (row i is catalog.AREA_SLUGS[i]):
    its short label, the previous cycle's rating (`previous`: that cycle's rows; blank without), the maturity as a
    `maturity_choice` (None: not rated), offers / seeks, the notes and, on the 'Other' row only, the name the state
    gives that area (as in the file template, where other_area is used only with program_area 'other')."""
    before = (
        {r["program_area"]: r for r in previous.to_dict("records")} if previous is not None and len(previous) else {}
    )
    rows = normalise(areas)
    return pd.DataFrame(
        {
            GRID_AREA: [catalog.area_short(a["program_area"]) for a in rows],
            GRID_LAST: [previous_text(before.get(a["program_area"])) for a in rows],
            "maturity": [
                maturity_choice(a["maturity"]) if a["maturity"] in catalog.MATURITY_LEVELS else None for a in rows
            ],
            "offers_help": [a["offers_help"] for a in rows],
            "seeks_help": [a["seeks_help"] for a in rows],
            "notes": [a["notes"] for a in rows],
            "other_area": [(a["other_area"] or None) if a["program_area"] == catalog.OTHER else "" for a in rows],
        }
    )


def ratings_after_edits(areas, edited_rows: dict) -> list[dict]:
    """The form's areas with a ratings-grid editor's edits applied (Streamlit's `edited_rows`: {row position:
    {column: value}}, row i being catalog.AREA_SLUGS[i]; a cleared cell is None)."""
    out = normalise(areas)
    for row, changes in (edited_rows or {}).items():
        try:
            a = out[int(row)]
        except (ValueError, IndexError):
            continue
        for column, v in changes.items():
            if column == "maturity":
                a["maturity"] = maturity_from_choice(v)
            elif column in ("offers_help", "seeks_help"):
                a[column] = bool(v) and v is not pd.NA
            elif column == "notes":
                a["notes"] = basics.cell_text(v, strip=False)
            elif column == "other_area" and a["program_area"] == catalog.OTHER:  # a name typed on another row:
                a["other_area"] = basics.cell_text(v, strip=False)  # not a field of that area
    for a in out:
        if a["program_area"] != catalog.OTHER:
            a["other_area"] = ""
    return out


# --- the POETE sub-ratings as one grid (the form edits them in a table: one row per area, a column per part) ---

POETE_GRID_AREA = "Program area"


def poete_values(areas) -> dict[str, dict[str, int | None]]:
    """{area slug: {POETE part: 1-5 or None}} of a form's areas (None: not rated)."""
    return {a["program_area"]: {p: _int_or_none(a.get(p)) or None for p in catalog.POETE} for a in normalise(areas)}


def poete_grid(values: dict[str, dict[str, int | None]]) -> pd.DataFrame:
    """The grid the form shows: a row per program area in catalog order (its short label), a column per POETE
    part holding 1-5 or nothing. Row i is catalog.AREA_SLUGS[i]."""
    grid = pd.DataFrame({POETE_GRID_AREA: [catalog.area_short(s) for s in catalog.AREA_SLUGS]})
    for p in catalog.POETE:
        grid[p] = pd.array([values.get(s, {}).get(p) for s in catalog.AREA_SLUGS], dtype="Int64")
    return grid


def poete_after_edits(values: dict[str, dict[str, int | None]], edited_rows: dict) -> dict[str, dict[str, int | None]]:
    """`values` with a grid editor's edits applied (Streamlit's `edited_rows`: {row position: {column: value}},
    row i being catalog.AREA_SLUGS[i]; a cleared cell is None). Values outside 1-5 are kept as given, so the
    validator names them."""
    out = {s: dict(values.get(s, {p: None for p in catalog.POETE})) for s in catalog.AREA_SLUGS}
    for row, changes in (edited_rows or {}).items():
        try:
            slug = catalog.AREA_SLUGS[int(row)]
        except (ValueError, IndexError):
            continue
        for part, v in changes.items():
            if part in catalog.POETE:
                out[slug][part] = None if v is None or (isinstance(v, float) and pd.isna(v)) else v
    return out


def changes_since(areas, previous: pd.DataFrame) -> dict[str, str]:
    """Per area, what changed since the previous cycle's rows (maturity, offer, need) in a few words; '' when
    nothing did, 'new' for an area not rated before, 'no longer rated' for one rated before and blank now."""
    before = {r["program_area"]: r for r in previous.to_dict("records")} if len(previous) else {}
    out = {}
    for a in normalise(areas):
        slug, old = a["program_area"], before.get(a["program_area"])
        if is_blank(a):
            out[slug] = "no longer rated" if old is not None else ""
            continue
        if old is None:
            out[slug] = "new: not rated last cycle"
            continue
        bits = []
        om = _int_or_none(old.get("maturity"))
        if a["maturity"] != om:
            bits.append(f"maturity {om} → {a['maturity'] if a['maturity'] is not None else 'blank'}")
        if a["offers_help"] != bool(old.get("offers_help")):
            bits.append("now offers help" if a["offers_help"] else "no longer offers help")
        if a["seeks_help"] != bool(old.get("seeks_help")):
            bits.append("now seeks guidance" if a["seeks_help"] else "no longer seeks guidance")
        if (
            slug == catalog.OTHER
            and a["other_area"].strip().lower() != basics.cell_text(old.get("other_area"), strip=False).strip().lower()
        ):
            bits.append("another area named")
        out[slug] = "; ".join(bits)
    return out


def candidate_rows(checked: ingest.Checked) -> pd.DataFrame:
    """A validated form's rows as assessment rows (for quality.preview)."""
    return checked.rows


# --- reading -----------------------------------------------------------------------------------------------------


def _row(df: pd.DataFrame) -> dict | None:
    if df.empty:
        return None
    r = df.iloc[0].to_dict()
    r["areas"] = normalise(json.loads(r["areas"])) if isinstance(r.get("areas"), str) else normalise([])
    for k in ("submission_id", "cycle", "version"):
        r[k] = int(r[k])
    for k in ("load_id", "base_load_id"):
        r[k] = None if pd.isna(r.get(k)) else int(r[k])
    for k in list(r):
        if k not in ("areas",) and not isinstance(r[k], (list, dict)) and r[k] is not None and pd.isna(r[k]):
            r[k] = None
    return r


def get(con, submission_id: int) -> dict:
    got = _row(
        query_df(
            con, f"SELECT {', '.join(COLUMNS)}, areas FROM submissions WHERE submission_id = ?", [int(submission_id)]
        )
    )
    if got is None:
        raise SubmissionError(f"there is no submission {submission_id}")
    return got


def open_submission(con, state: str, cycle: int) -> dict | None:
    """The state × cycle's open (draft, submitted or returned) submission, if any."""
    return _row(
        query_df(
            con,
            f"SELECT {', '.join(COLUMNS)}, areas FROM submissions WHERE state = ? AND cycle = ? "
            "AND status IN ('draft', 'submitted', 'returned') ORDER BY submission_id DESC LIMIT 1",
            [state, int(cycle)],
        )
    )


def latest(con, state: str, cycle: int) -> dict | None:
    """The state × cycle's most recent submission in any status."""
    return _row(
        query_df(
            con,
            f"SELECT {', '.join(COLUMNS)}, areas FROM submissions WHERE state = ? AND cycle = ? "
            "ORDER BY submission_id DESC LIMIT 1",
            [state, int(cycle)],
        )
    )


def _scope(viewer: auth.Viewer | None) -> tuple[str, list]:
    if viewer is None:
        return " AND false", []
    if viewer.role == auth.LEADERSHIP:
        return "", []
    if not viewer.states:
        return " AND false", []
    return f" AND state IN ({', '.join('?' for _ in viewer.states)})", list(viewer.states)


def list_submissions(
    con, viewer: auth.Viewer | None = None, status: str | None = None, state: str | None = None
) -> pd.DataFrame:
    """Submissions (newest first) a viewer may see (`viewer=None`: all, for the CLI), without their areas."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM submissions WHERE 1 = 1"
    params: list = []
    if viewer is not None:
        where, p = _scope(viewer)
        sql, params = sql + where, params + p
    if status is not None:
        if status not in STATUSES:
            raise SubmissionError(f"{status!r} is not a status; statuses: {', '.join(STATUSES)}")
        sql += " AND status = ?"
        params.append(status)
    if state is not None:
        sql += " AND state = ?"
        params.append(state)
    return query_df(con, sql + " ORDER BY submission_id DESC", params)


def pending_reviews(con, viewer: auth.Viewer | None) -> pd.DataFrame:
    """Submitted assessments awaiting THIS viewer's review, oldest first: a PM's assigned states, every state for
    leadership, none for a state user. Columns: submission_id, state, cycle, submitted_by, submitted_at, version,
    link (the form's address)."""
    cols = ["submission_id", "state", "cycle", "submitted_by", "submitted_at", "version", "link"]
    if viewer is None or viewer.role == auth.STATE:
        return pd.DataFrame(columns=cols)
    where, params = _scope(viewer)
    df = query_df(
        con,
        "SELECT submission_id, state, cycle, submitted_by, submitted_at, version FROM submissions "
        f"WHERE status = 'submitted'{where} ORDER BY submitted_at, submission_id",
        params,
    )
    df["link"] = [f"/assessment?state={s}&cycle={c}" for s, c in zip(df["state"], df["cycle"])]
    return df[cols]


def history(con, submission_id: int) -> pd.DataFrame:
    return query_df(
        con,
        "SELECT version, changed_at, changed_by, from_status, to_status, comment "
        "FROM submission_history WHERE submission_id = ? ORDER BY version",
        [int(submission_id)],
    )


def newer_loads(con, submission: dict) -> pd.DataFrame:
    """Loads (files or other accepted forms) made after this submission was submitted whose rows now hold its
    state × cycle: accepting would replace them. Newest first."""
    df = query_df(
        con,
        "SELECT load_id, loaded_at, loaded_by, file_name FROM load_log l WHERE load_id > ? AND "
        "EXISTS (SELECT 1 FROM assessments a WHERE a.load_id = l.load_id AND a.state = ? "
        "AND a.cycle = ?) ORDER BY load_id DESC",
        [int(submission.get("base_load_id") or 0), submission["state"], int(submission["cycle"])],
    )
    if submission.get("load_id") is not None:
        df = df[df["load_id"] != submission["load_id"]]
    return df.reset_index(drop=True)


def export_frame(con, status: str | None = None) -> pd.DataFrame:
    """Every submission (or those in one status) for the CLI: id, state, cycle, status, who and when, the return
    comment and the load that wrote accepted rows; oldest first."""
    df = list_submissions(con, None, status).sort_values("submission_id")

    def iso(s):
        return [None if pd.isna(v) else pd.Timestamp(v).isoformat(sep=" ") for v in s]

    out = pd.DataFrame(
        {
            "id": df["submission_id"].astype(int).to_numpy(),
            "state": df["state"].to_numpy(),
            "cycle": df["cycle"].astype(int).to_numpy(),
            "status": df["status"].to_numpy(),
            "created_by": df["created_by"].to_numpy(),
            "submitted_by": df["submitted_by"].to_numpy(),
            "submitted_at": iso(df["submitted_at"]),
            "reviewed_by": df["reviewed_by"].to_numpy(),
            "reviewed_at": iso(df["reviewed_at"]),
            "review_comment": df["review_comment"].to_numpy(),
            "load_id": [None if pd.isna(v) else int(v) for v in df["load_id"]],
            "updated_at": iso(df["updated_at"]),
        }
    )
    return out.astype(object).where(out.notna(), None).reset_index(drop=True)


# --- writing -----------------------------------------------------------------------------------------------------


def _who(viewer: auth.Viewer) -> str:
    return str(viewer.name)[:200]


def _history(cur, sid: int, version: int, at, by: str, from_status, to_status: str, comment=None) -> None:
    cur.execute(
        "INSERT INTO submission_history VALUES (?, ?, ?, ?, ?, ?, ?)",
        [sid, version, at, by, from_status, to_status, comment],
    ).fetchall()


def _read(cur, sid: int) -> dict:
    rows = cur.execute(f"SELECT {', '.join(COLUMNS)} FROM submissions WHERE submission_id = ?", [int(sid)]).fetchall()
    if not rows:
        raise SubmissionError(f"there is no submission {sid}")
    return dict(zip(COLUMNS, rows[0]))


def _stale(row: dict) -> StaleSubmission:
    return StaleSubmission(int(row["submission_id"]), row["updated_by"], row["updated_at"], row["status"])


def save(
    con,
    viewer: auth.Viewer,
    state: str,
    cycle: int,
    areas,
    *,
    submission_id: int | None = None,
    version: int | None = None,
    submit: bool = False,
    now: dt.datetime | None = None,
    this_year: int | None = None,
) -> tuple[int, int]:
    """Save the form as a draft (any time, complete or not), or with `submit=True` submit it for review (only with
    no problem: raises Invalid otherwise). A new submission when `submission_id` is None (refused when the state ×
    cycle already has an open one); else an update of that draft/returned submission naming the `version` read.
    Returns (submission_id, new version). Writes the history and the audit log; on any error nothing."""
    state, cycle = _check_key(state, cycle, this_year)
    if not can_fill(viewer, state):
        raise NotAllowed(why_not_fill(viewer, state))
    areas = normalise(areas)
    if submit:
        checked, by_area = validate(state, cycle, areas, this_year=this_year)
        if not checked.ok:
            raise Invalid(checked.problems, by_area)
    by, now = _who(viewer), now or basics.now()
    to_status = SUBMITTED if submit else DRAFT
    payload = json.dumps(areas, ensure_ascii=False)
    action = "submitted" if submit else "draft saved"
    try:
        with transaction(con) as cur:
            cur.lock("submission")
            newest = int(cur.scalar("SELECT coalesce(max(load_id), 0) FROM load_log"))
            if submission_id is None:
                other = cur.execute(
                    "SELECT submission_id, status, updated_by FROM submissions WHERE state = ? AND "
                    "cycle = ? AND status IN ('draft', 'submitted', 'returned')",
                    [state, cycle],
                ).fetchall()
                if other:
                    sid, st, who = other[0]
                    raise SubmissionError(
                        f"{state} {cycle} already has an open submission ({sid}, "
                        f"{STATUS_LABELS[st]}, last saved by {who}): reload to open it"
                    )
                sid, new_version, from_status = cur.nextval("submission_id_seq"), 1, None
                cur.execute(
                    "INSERT INTO submissions (submission_id, state, cycle, status, areas, created_by, "
                    "created_at, updated_by, updated_at, submitted_by, submitted_at, base_load_id, version, "
                    "synthetic) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)",
                    [
                        sid,
                        state,
                        cycle,
                        to_status,
                        payload,
                        by,
                        now,
                        by,
                        now,
                        by if submit else None,
                        now if submit else None,
                        newest if submit else None,
                        new_version,
                    ],
                ).fetchall()
            else:
                row = _read(cur, submission_id)
                if version is None or int(row["version"]) != int(version):
                    raise _stale(row)
                if (row["state"], int(row["cycle"])) != (state, cycle):
                    raise SubmissionError(
                        f"submission {submission_id} is {row['state']} {row['cycle']}, not {state} {cycle}"
                    )
                if row["status"] not in EDITABLE:
                    raise SubmissionError(
                        f"submission {submission_id} is {STATUS_LABELS[row['status']]}: it can no longer be edited"
                    )
                sid, new_version, from_status = int(submission_id), int(version) + 1, row["status"]
                sets = {
                    "status": to_status,
                    "areas": payload,
                    "updated_by": by,
                    "updated_at": now,
                    "version": new_version,
                }
                if submit:
                    sets.update(submitted_by=by, submitted_at=now, base_load_id=newest)
                n = cur.execute(
                    f"UPDATE submissions SET {', '.join(f'{k} = ?' for k in sets)} "
                    "WHERE submission_id = ? AND version = ?",
                    [*sets.values(), sid, int(version)],
                ).fetchall()[0][0]
                if n != 1:
                    raise _stale(_read(cur, sid))
            if submit:  # its program manager hears of it, in this transaction
                notify.submission_event(cur, sid, by, now=now)
            _history(cur, sid, new_version, now, by, from_status, to_status)
            audit.record_in(cur, by, "edit", f"self-assessment {state} {cycle} (submission {sid}): {action}")
            return sid, new_version
    except WriteConflict:
        if submission_id is None:
            raise SubmissionError(f"someone else saved {state} {cycle} at the same moment: reload to open it") from None
        raise _stale(get(con, submission_id)) from None


def submit(con, viewer, state, cycle, areas, **kw) -> tuple[int, int]:
    """`save(..., submit=True)`."""
    return save(con, viewer, state, cycle, areas, submit=True, **kw)


def _review_target(con, viewer, submission_id: int, version: int) -> dict:
    sub = get(con, submission_id)
    if not can_review(viewer, sub["state"]):
        if viewer is not None and viewer.role == auth.STATE:
            raise NotAllowed("state users cannot review self-assessments; the state's program manager does")
        raise NotAllowed(f"only {sub['state']}'s program manager or leadership may review this submission")
    if int(sub["version"]) != int(version):
        raise StaleSubmission(sub["submission_id"], sub["updated_by"], sub["updated_at"], sub["status"])
    if sub["status"] != SUBMITTED:
        raise SubmissionError(f"submission {submission_id} is {STATUS_LABELS[sub['status']]}, not awaiting review")
    return sub


def load_name(submitted_by: str, accepted_by: str) -> str:
    """The load log's file name for an accepted form."""
    return f"form, submitted by {submitted_by}, accepted by {accepted_by}"


def accept(
    con,
    viewer: auth.Viewer,
    submission_id: int,
    version: int,
    *,
    replace_newer: bool = False,
    now: dt.datetime | None = None,
    this_year: int | None = None,
) -> ingest.LoadSummary:
    """Accept a submitted assessment: its rows replace the state × cycle through ingest.load (all or nothing,
    logged as "form, submitted by …, accepted by …"), and the submission becomes accepted in the same transaction.
    Raises NewerLoad when a load wrote the state × cycle after the submission was made (unless `replace_newer`),
    StaleSubmission when someone acted on it first; nothing is written then."""
    sub = _review_target(con, viewer, submission_id, version)
    by, now = _who(viewer), now or basics.now()
    newer = newer_loads(con, sub)
    if len(newer) and not replace_newer:
        raise NewerLoad(newer)
    checked, by_area = validate(
        sub["state"],
        sub["cycle"],
        sub["areas"],
        name=load_name(sub["submitted_by"] or sub["updated_by"], by),
        this_year=this_year,
    )
    if not checked.ok:  # the rules may have moved on since it was submitted (e.g. the year)
        raise Invalid(checked.problems, by_area)

    def mark_accepted(cur, summaries):
        load_id = summaries[0].load_id
        n = cur.execute(
            "UPDATE submissions SET status = 'accepted', reviewed_by = ?, reviewed_at = ?, load_id = ?, "
            "updated_by = ?, updated_at = ?, version = ? WHERE submission_id = ? AND version = ? "
            "AND status = 'submitted'",
            [by, now, load_id, by, now, int(version) + 1, int(submission_id), int(version)],
        ).fetchall()
        if n[0][0] != 1:
            raise _stale(_read(cur, submission_id))
        notify.submission_event(cur, int(submission_id), by, now=now)  # the state hears of it
        _history(cur, int(submission_id), int(version) + 1, now, by, SUBMITTED, ACCEPTED, f"written as load {load_id}")
        audit.record_in(
            cur,
            by,
            "edit",
            f"self-assessment {sub['state']} {sub['cycle']} (submission {submission_id}): accepted, load {load_id}",
        )

    try:
        return ingest.load(con, [checked], by, also=mark_accepted)[0]
    except WriteConflict:
        raise _stale(get(con, submission_id)) from None


def return_submission(
    con, viewer: auth.Viewer, submission_id: int, version: int, comment: str, *, now: dt.datetime | None = None
) -> int:
    """Send a submitted assessment back to the state with the reviewer's comment (required; the state sees it).
    Returns the new version."""
    comment = " ".join(str(comment or "").split()) if comment is not None else ""
    sub = _review_target(con, viewer, submission_id, version)
    if not comment:
        raise SubmissionError("say what the state should change: returning needs a comment")
    if len(comment) > MAX_COMMENT:
        raise SubmissionError(f"the comment is longer than {MAX_COMMENT} characters")
    by, now = _who(viewer), now or basics.now()
    try:
        with transaction(con) as cur:
            n = cur.execute(
                "UPDATE submissions SET status = 'returned', reviewed_by = ?, reviewed_at = ?, "
                "review_comment = ?, updated_by = ?, updated_at = ?, version = ? "
                "WHERE submission_id = ? AND version = ? AND status = 'submitted'",
                [by, now, comment, by, now, int(version) + 1, int(submission_id), int(version)],
            ).fetchall()[0][0]
            if n != 1:
                raise _stale(_read(cur, submission_id))
            notify.submission_event(cur, int(submission_id), by, comment=comment, now=now)  # the state hears of it
            _history(cur, int(submission_id), int(version) + 1, now, by, SUBMITTED, RETURNED, comment)
            audit.record_in(
                cur,
                by,
                "edit",
                f"self-assessment {sub['state']} {sub['cycle']} (submission {submission_id}): returned: {comment}",
            )
            return int(version) + 1
    except WriteConflict:
        raise _stale(get(con, submission_id)) from None
