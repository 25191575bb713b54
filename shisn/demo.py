"""A realistic SYNTHETIC demo data set: all 56 jurisdictions, all program areas, four cycles.

Nothing here describes a real state. Patterns are plausible on purpose so the views have something to show:
larger states tend to be more mature; each FEMA region has areas it is known for (hurricane regions in recovery,
the north-east corridor in prevention and interoperability, the west in exercises); territories start lower;
most states improve from cycle to cycle and a few slip. The rows go through the same validated loader as any
uploaded file, flagged as synthetic in the load log, so the app can label them as demo data everywhere.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd

from shisn.domain import auth, catalog, jurisdictions
from shisn.domain.exchange_rules import (
    CLOSED,
    DECLINED,
    HELD,
    IN_CONTACT,
    INTRODUCED,
    PROPOSED,
    STATUS_TIME,
)
from shisn.services import exchanges, offers, outcomes, practices
from shisn.store import audit, queries
from shisn.store.db import is_empty, query_df, transaction
from shisn.store.ingest import LoadSummary, load

DEMO_FILE_NAME = "demo-data (synthetic).csv"
DEMO_CYCLES = (2023, 2024, 2025, 2026)
DEMO_USER = "shisn demo generator"

# Areas each FEMA region is (synthetically) strong (+) or weak (-) in.
REGION_PROFILE = {
    1: {"regional_planning": 0.6, "training": 0.4, "recovery": -0.4},
    2: {"prevention": 0.9, "interoperability": 0.6, "assessment_validation": 0.3},
    3: {"prevention": 0.7, "exercises": 0.6, "interoperability": 0.5, "strategy": 0.3},
    4: {"recovery": 1.0, "regional_planning": 0.5, "prevention": -0.3},
    5: {"training": 0.6, "exercises": 0.3, "recovery": -0.2},
    6: {"recovery": 0.7, "interoperability": 0.3, "assessment_validation": -0.4},
    7: {"strategy": 0.3, "interoperability": -0.5, "exercises": -0.2},
    8: {"regional_planning": -0.3, "interoperability": -0.6, "training": 0.2},
    9: {"exercises": 0.7, "interoperability": 0.4, "regional_planning": 0.3},
    10: {"regional_planning": 0.4, "recovery": 0.3, "prevention": -0.4},
}
OTHER_AREAS = [
    "Cybersecurity",
    "Agroterrorism preparedness",
    "Port and maritime security",
    "Public health surveillance",
    "Critical infrastructure protection",
    "Mass care and sheltering",
    "Fusion centre operations",
]
STRENGTH_NOTES = [
    "Statewide {area} programme documented and used in the last two real incidents.",
    "After-action reviews feed a yearly improvement plan for {area}.",
    "Can host an on-site visit; playbooks and templates for {area} ready to share.",
    "Regional teams trained and exercised twice a year in {area}.",
]
GAP_NOTES = [
    "Plan for {area} still in draft; looking for a peer state that has institutionalised it.",
    "No dedicated staff for {area}; would value a teleconference with an experienced state.",
    "Funding approved but no design yet for {area}.",
    "Local jurisdictions ask for guidance on {area} that we cannot yet give.",
]


def generate(seed: int = 2004, cycles: tuple[int, ...] = DEMO_CYCLES) -> pd.DataFrame:
    """Rows in the self-assessment file's columns (strings and numbers), ready to write as a CSV."""
    rng = np.random.default_rng(seed)
    jur = jurisdictions.jurisdictions()
    rows = []
    areas = [a for a in catalog.AREA_SLUGS if a != catalog.OTHER]
    for _, j in jur.iterrows():
        code, region, pop = j["code"], int(j["fema_region"]), int(j["population"])
        base = 2.25 + 0.55 * np.clip(np.log10(pop / 1e6), -1.4, 1.6) + rng.normal(0, 0.35)
        if j["kind"] == "territory":
            base -= 0.35
        area_bias = {a: REGION_PROFILE[region].get(a, 0.0) + rng.normal(0, 0.45) for a in areas}
        has_other = rng.random() < 0.3
        other_name = OTHER_AREAS[int(rng.integers(len(OTHER_AREAS)))]
        # Some jurisdictions joined the network late: they report from a later cycle on.
        first_cycle = cycles[0] if rng.random() > 0.12 else cycles[min(len(cycles) - 1, int(rng.integers(1, 3)))]
        drift = rng.normal(0.22, 0.15)  # per-cycle improvement (some negative)
        for k, cycle in enumerate(cycles):
            if cycle < first_cycle:
                continue
            for area in areas + ([catalog.OTHER] if has_other else []):
                bias = area_bias.get(area, rng.normal(0, 0.4))
                latent = base + bias + drift * k + rng.normal(0, 0.3)
                m = int(np.clip(np.rint(latent), 1, 5))
                offers = bool((m >= 4 and rng.random() < 0.65) or (m == 3 and rng.random() < 0.12))
                seeks = bool((m <= 2 and rng.random() < 0.8) or (m == 3 and rng.random() < 0.2))
                label = catalog.area_short(area).lower() if area != catalog.OTHER else other_name.lower()
                note = ""
                if m >= 4 and rng.random() < 0.7:
                    note = STRENGTH_NOTES[int(rng.integers(len(STRENGTH_NOTES)))].format(area=label)
                elif m <= 2 and rng.random() < 0.7:
                    note = GAP_NOTES[int(rng.integers(len(GAP_NOTES)))].format(area=label)
                row = {
                    "state": code,
                    "program_area": area,
                    "cycle": cycle,
                    "maturity": m,
                    "offers_help": "yes" if offers else "no",
                    "seeks_help": "yes" if seeks else "no",
                    "notes": note,
                    "other_area": other_name if area == catalog.OTHER else "",
                }
                give_poete = rng.random() < 0.7
                for p in catalog.POETE:
                    row[p] = int(np.clip(m + rng.integers(-1, 2), 1, 5)) if give_poete else ""
                rows.append(row)
    return pd.DataFrame(rows)


# Synthetic exchanges in the cycles before the latest (shisn.services.exchanges.demo_exchanges writes them), so the impact
# view has exchanges whose mentees were rated again. Which needs and mentors become exchanges, how far each got, and
# how useful the states found it are drawn at random: nothing ties them to the mentees' next ratings, which come from
# `generate` alone (no effect is planted; whatever difference the impact view shows is chance and the generator's).
PAST_EXCHANGES_PER_CYCLE = 16
DECLINE_REASONS = [
    "The mentor state had no staff free this cycle. (demo)",
    "The mentee chose to wait for its new strategy before taking part. (demo)",
    "The dates for a visit could not be agreed before the exercise season. (demo)",
    "The mentee found help through a regional working group instead. (demo)",
]
WHAT_CHANGED = [
    "Adopted the partner's templates and adapted them to our counties. (demo)",
    "Drafted our own plan from the partner's; approval expected next quarter. (demo)",
    "Set up a standing call between the two offices. (demo)",
    "Little changed yet: the material needs staff we do not have. (demo)",
    "Trained two staff on the partner's method; more to follow. (demo)",
    "Shared our lessons and learned from their questions. (demo)",
]
DIFFERENTLY = [
    "Agree the goals in writing before the first call. (demo)",
    "Involve the local emergency managers from the start. (demo)",
    "A site visit instead of calls only. (demo)",
    "Nothing: it worked as planned. (demo)",
    "Plan a follow-up call three months later. (demo)",
]


def exchange_plan(
    assessments: pd.DataFrame, cycles: list[int], seed: int = 2004, per_cycle: int = PAST_EXCHANGES_PER_CYCLE
) -> list[dict]:
    """Synthetic past exchanges, oldest first: for each of `cycles`, `per_cycle` needs (a state seeking guidance in
    a named area) drawn at random, each with a mentor drawn at random from the states able to mentor it (offering
    help there at maturity 4+, rated above the seeker); sometimes a second need of the same mentee that mentor can
    also meet joins the exchange. Each is closed (most) or declined, with dates in the cycle's year, the means,
    and each state's view (usefulness drawn at random). `assessments`: every cycle's rows as
    `queries.assessments` gives them. Reproducible by `seed`."""
    rng = np.random.default_rng(seed + 16)
    steps = {
        "introduced": (2, 26),
        "in_contact": (3, 31),
        "exchange_held": (10, 76),
        "closed": (7, 46),
        "declined": (5, 41),
    }
    plan = []
    for cycle in sorted(cycles):
        rows = assessments[(assessments["cycle"] == cycle) & (assessments["program_area"] != catalog.OTHER)]
        rows = rows[["state", "program_area", "maturity", "seeks_help", "eligible_mentor"]].sort_values(
            ["state", "program_area"]
        )
        by_area: dict[str, list[tuple[str, int]]] = {}
        needs = []
        for state, area, m, seeks, elig in rows.itertuples(index=False):
            if bool(elig) and not pd.isna(elig):
                by_area.setdefault(area, []).append((state, int(m)))
            if bool(seeks):
                needs.append((state, area, int(m)))
        options = []
        for state, area, m in needs:
            able = sorted(s for s, sm in by_area.get(area, []) if sm > m and s != state)
            if able:
                options.append((state, area, able))
        taken: set = set()
        for i in rng.permutation(len(options)):
            if sum(1 for p in plan if p["cycle"] == cycle) >= per_cycle:
                break
            mentee, area, candidates = options[int(i)]
            if (mentee, area) in taken:
                continue
            mentor = candidates[int(rng.integers(len(candidates)))]
            areas = [area]
            more = [
                o[1]
                for o in options
                if o[0] == mentee and o[1] != area and mentor in o[2] and (mentee, o[1]) not in taken
            ]
            if more and rng.random() < 0.3:
                areas.append(more[int(rng.integers(len(more)))])
            taken.update((mentee, a) for a in areas)
            start = pd.Timestamp(f"{cycle}-02-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
            declined = rng.random() < 0.2
            if declined:
                path = ["introduced", "declined"] if rng.random() < 0.5 else ["introduced", "in_contact", "declined"]
            else:
                path = ["introduced", "in_contact", "exchange_held", "closed"]
            days = [int(rng.integers(*steps[s])) for s in path]
            means = ["teleconference", "on_site_visit", "document_exchange"][int(rng.integers(3))]
            views = []
            if not declined:
                for state in (mentor, mentee):
                    if rng.random() < 0.85:
                        views.append(
                            (
                                state,
                                int(rng.integers(2, 6)),
                                WHAT_CHANGED[int(rng.integers(len(WHAT_CHANGED)))],
                                DIFFERENTLY[int(rng.integers(len(DIFFERENTLY)))],
                            )
                        )
            plan.append(
                {
                    "mentor": mentor,
                    "mentee": mentee,
                    "areas": [a for a in catalog.AREA_SLUGS if a in areas],
                    "cycle": int(cycle),
                    "proposed_at": start.to_pydatetime(),
                    "path": path,
                    "days": days,
                    "means": means,
                    "decline_reason": DECLINE_REASONS[int(rng.integers(len(DECLINE_REASONS)))] if declined else None,
                    "outcome": None if declined else "Synthetic demo exchange: see each state's view. (demo)",
                    "views": views,
                }
            )
    return plan


def demo_program_managers() -> pd.DataFrame:
    """Fictional ODP program managers, one per FEMA region (addresses on the reserved example.org domain)."""
    first = ["Alex", "Jordan", "Morgan", "Casey", "Riley", "Taylor", "Jamie", "Avery", "Quinn", "Drew"]
    last = ["Rivera", "Chen", "Okafor", "Novak", "Haddad", "Lindqvist", "Moreau", "Tanaka", "Brennan", "Silva"]
    jur = jurisdictions.jurisdictions()
    return pd.DataFrame(
        {
            "state": jur["code"],
            "name": [f"{first[r - 1]} {last[r - 1]} (demo)" for r in jur["fema_region"]],
            "email": [f"{first[r - 1].lower()}.{last[r - 1].lower()}@example.org" for r in jur["fema_region"]],
        }
    )


def write_demo(con, seed: int = 2004) -> LoadSummary:
    """Generate the demo set and load it through the validated loader (flagged synthetic)."""
    buf = io.StringIO()
    generate(seed).to_csv(buf, index=False)
    [summary] = load(con, [(DEMO_FILE_NAME, buf.getvalue().encode("utf-8"))], DEMO_USER, synthetic=True)
    pms = demo_program_managers()
    with transaction(con) as cur:
        cur.temp_table("pms", pms)
        cur.execute("INSERT INTO program_managers SELECT state, name, email FROM pms ON CONFLICT (state) DO NOTHING")
        cur.drop_temp("pms")
    demo_exchanges(con, seed=seed)  # synthetic exchanges (several cycles, with outcomes) and TA referrals
    demo_library(con)  # synthetic published offers and practices
    return summary


def ensure_seeded(con) -> LoadSummary | None:
    """On the first start with an empty store, write the demo set. Returns its summary, or None if data existed."""
    if not is_empty(con):
        return None
    with transaction(con) as cur:
        cur.lock("demo")  # replicas starting together on an empty PostgreSQL: one seeds, the others find its data
        if cur.scalar("SELECT count(*) FROM assessments"):
            return None
        return write_demo(con)


DEMO_EXCHANGES = [
    # mentor, mentee, areas, statuses after `proposed`, means, days ago proposed, days between steps, outcome
    (
        "VA",
        "MD",
        ["exercises"],
        [INTRODUCED, IN_CONTACT, HELD, CLOSED],
        "on_site_visit",
        160,
        (6, 15, 41, 30),
        "Two-day visit to the state exercise office; MD adopted the after-action template and scheduled its first "
        "regional full-scale exercise. (demo)",
    ),
    (
        "CA",
        "NV",
        ["interoperability"],
        [INTRODUCED, IN_CONTACT, HELD],
        "teleconference",
        95,
        (11, 9, 27),
        "Three calls on a shared radio channel plan; NV is drafting its own plan from CA's. (demo)",
    ),
    ("NY", "CT", ["prevention", "strategy"], [INTRODUCED, IN_CONTACT], None, 60, (4, 20), None),
    ("FL", "PR", ["recovery"], [INTRODUCED], None, 35, (17,), None),
    ("TX", "NM", ["recovery"], [], None, 12, (), None),
    (
        "WA",
        "ID",
        ["regional_planning"],
        [INTRODUCED, DECLINED],
        None,
        120,
        (8, 25),
        "ID chose to wait for its new strategy before taking part. (demo)",
    ),
    (
        "OH",
        "WV",
        ["training"],
        [INTRODUCED, IN_CONTACT, HELD, CLOSED],
        "document_exchange",
        210,
        (13, 10, 35, 21),
        "Course catalogue and instructor certification rules shared; WV adapted four courses. (demo)",
    ),
    ("MN", "ND", ["training", "exercises"], [], None, 5, (), None),
]


DEMO_REFERRALS = [
    ("GU", "interoperability", "No eligible mentor state offers help with a higher rating. (demo)"),
    ("AS", "recovery", "Mentor capacity in recovery taken by other needs this cycle. (demo)"),
]


DEMO_VIEWS = {
    ("VA", "MD"): [
        (
            "VA",
            4,
            "Learned how a smaller state runs its after-action reviews. (demo)",
            "Send the exercise calendar earlier. (demo)",
        ),
        (
            "MD",
            5,
            "Adopted the after-action template; first regional full-scale exercise scheduled. (demo)",
            "Bring the county exercise officers on the visit. (demo)",
        ),
    ],
    ("CA", "NV"): [
        (
            "NV",
            3,
            "A draft channel plan; equipment funding still open. (demo)",
            "Agree the deliverables before the first call. (demo)",
        )
    ],
    ("OH", "WV"): [
        ("OH", 3, "Little for us; glad to help. (demo)", None),
        (
            "WV",
            4,
            "Four courses adapted; instructors certified under the shared rules. (demo)",
            "Ask for the course evaluation forms too. (demo)",
        ),
    ],
}


def demo_exchanges(con, cycle: int | None = None, seed: int = 2004) -> list[int]:
    """Write the SYNTHETIC exchanges of the demo data set (created_by 'shisn demo generator', synthetic = true):
    for the cycles before the latest, needs and mentors drawn at random (`demo.exchange_plan`: closed or declined,
    with the states' views, declined needs referred to TA), then ~8 in the latest cycle in various statuses (three
    held or closed with views), and two TA referrals. Does nothing when synthetic exchanges already exist. Returns the ids."""
    got = query_df(con, "SELECT count(*) AS n FROM exchanges WHERE synthetic")
    if int(got["n"].iloc[0]):
        return []
    if cycle is None:
        c = query_df(con, "SELECT max(cycle) AS c FROM assessments")["c"].iloc[0]
        cycle = int(c) if not pd.isna(c) else dt.date.today().year
    now = dt.datetime.now().replace(microsecond=0)
    recorder = auth.Viewer(auth.LEADERSHIP, DEMO_USER)

    def views(ex_id, rows, at):
        for state, useful, changed, differently in rows:
            outcomes.record(con, ex_id, state, recorder, useful, changed, differently, now=at, synthetic=True)

    past = [c for c in queries.cycles(con) if c < cycle]
    ids = _write_demo_past(con, exchange_plan(queries.assessments(con), past, seed=seed), now)
    for mentor, mentee, areas, path, means, ago, steps, outcome in DEMO_EXCHANGES:
        t = now - dt.timedelta(days=ago)
        ex_id = exchanges.open_exchange(
            con, mentor, mentee, areas, cycle, DEMO_USER, at=t, now=t, synthetic=True, note="Synthetic demo exchange."
        )
        version = 1
        for status, days in zip(path, steps):
            t = min(now, t + dt.timedelta(days=days))
            fields = {}
            if status == HELD:
                fields["means"] = means
            if status in (CLOSED, DECLINED) or (status == HELD and outcome):
                fields["outcome"] = outcome
            version = exchanges.update(con, ex_id, version, DEMO_USER, status=status, at=t, now=t, **fields)
        views(ex_id, DEMO_VIEWS.get((mentor, mentee), []), t)
        ids.append(ex_id)
    for state, area, reason in DEMO_REFERRALS:
        exchanges.refer_to_ta(con, state, area, cycle, reason, DEMO_USER, synthetic=True)
    return ids


def _write_demo_past(con, plan: list[dict], now: dt.datetime) -> list[int]:
    """Write `demo.exchange_plan`'s past exchanges in one transaction, as `open_exchange` and `update` would have
    written them one by one (the same rows, history and views; one audit entry for the lot), declined needs
    referred to TA. A few statements instead of hundreds: the demo set is written on a store's first start."""
    if not plan:
        return []
    ex_rows, hist, views, refs = [], [], [], []
    with transaction(con) as cur:
        for p in plan:
            ex_id = cur.nextval("exchange_id_seq")
            t = min(now, p["proposed_at"])
            times = {PROPOSED: t}
            hist.append(
                [
                    ex_id,
                    1,
                    t,
                    DEMO_USER,
                    None,
                    PROPOSED,
                    t,
                    json.dumps(
                        {
                            "cycle": [None, p["cycle"]],
                            "mentee": [None, p["mentee"]],
                            "mentor": [None, p["mentor"]],
                            "program_areas": [None, ",".join(p["areas"])],
                            "status": [None, PROPOSED],
                        },
                        sort_keys=True,
                    ),
                    "Synthetic demo exchange.",
                ]
            )
            prev = PROPOSED
            for version, (status, days) in enumerate(zip(p["path"], p["days"]), start=2):
                t = min(now, t + dt.timedelta(days=days))
                times[status] = t
                changes = {"status": [prev, status]}
                if status == HELD:
                    changes["means"] = [None, p["means"]]
                if status == CLOSED:
                    changes["outcome"] = [None, p["outcome"]]
                hist.append(
                    [
                        ex_id,
                        version,
                        t,
                        DEMO_USER,
                        prev,
                        status,
                        t,
                        json.dumps(changes, sort_keys=True),
                        p["decline_reason"] if status == DECLINED else None,
                    ]
                )
                prev = status
            held = HELD in p["path"]
            ex_rows.append(
                {
                    "exchange_id": ex_id,
                    "mentor": p["mentor"],
                    "mentee": p["mentee"],
                    "program_areas": ",".join(p["areas"]),
                    "cycle": p["cycle"],
                    "status": prev,
                    "means": p["means"] if held else None,
                    "outcome": p["outcome"] if prev == CLOSED else None,
                    **{
                        STATUS_TIME[s]: times.get(s) for s in (PROPOSED, INTRODUCED, IN_CONTACT, HELD, CLOSED, DECLINED)
                    },
                    "created_by": DEMO_USER,
                    "updated_at": t,
                    "updated_by": DEMO_USER,
                    "version": len(p["path"]) + 1,
                    "synthetic": True,
                    "decline_reason": p["decline_reason"],
                }
            )
            if prev == DECLINED:
                for area in p["areas"]:
                    refs.append(
                        {
                            "referral_id": cur.nextval("ta_referral_id_seq"),
                            "state": p["mentee"],
                            "program_area": area,
                            "cycle": p["cycle"],
                            "reason": f"exchange {ex_id} with {p['mentor']} was declined",
                            "referred_by": DEMO_USER,
                            "referred_at": t,
                            "exchange_id": ex_id,
                            "synthetic": True,
                        }
                    )
            for state, useful, changed, differently in p["views"]:
                views.append(
                    {
                        "exchange_id": ex_id,
                        "state": state,
                        "useful": useful,
                        "what_changed": changed,
                        "differently": differently,
                        "recorded_by": DEMO_USER,
                        "recorded_at": min(now, t + dt.timedelta(days=3)),
                        "version": 1,
                        "synthetic": True,
                    }
                )
        time_cols = ["proposed_at", "introduced_at", "contact_at", "held_at", "closed_at", "declined_at", "updated_at"]
        frames = {
            "demo_exchanges": (pd.DataFrame(ex_rows).astype({c: "datetime64[us]" for c in time_cols}), "exchanges"),
            "demo_history": (
                pd.DataFrame(
                    hist,
                    columns=[
                        "exchange_id",
                        "version",
                        "changed_at",
                        "changed_by",
                        "from_status",
                        "to_status",
                        "effective_at",
                        "changes",
                        "comment",
                    ],
                ).astype(
                    {
                        "changed_at": "datetime64[us]",
                        "effective_at": "datetime64[us]",
                        "from_status": object,
                        "comment": object,
                    }
                ),
                "exchange_history",
            ),
            "demo_views": (
                pd.DataFrame(
                    views,
                    columns=[
                        "exchange_id",
                        "state",
                        "useful",
                        "what_changed",
                        "differently",
                        "recorded_by",
                        "recorded_at",
                        "version",
                        "synthetic",
                    ],
                ).astype({"recorded_at": "datetime64[us]"}),
                "exchange_outcomes",
            ),
            "demo_referrals": (
                pd.DataFrame(
                    refs,
                    columns=[
                        "referral_id",
                        "state",
                        "program_area",
                        "cycle",
                        "reason",
                        "referred_by",
                        "referred_at",
                        "exchange_id",
                        "synthetic",
                    ],
                ).astype({"referred_at": "datetime64[us]"}),
                "ta_referrals",
            ),
        }
        for name, (frame, table) in frames.items():
            if frame.empty:
                continue
            cols = ", ".join(frame.columns)
            cur.temp_table(name, frame)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}").fetchall()
            cur.drop_temp(name)
        audit.record_in(
            cur,
            DEMO_USER,
            "edit",
            f"demo data: {len(ex_rows)} synthetic exchanges of cycles "
            f"{', '.join(str(c) for c in sorted({p['cycle'] for p in plan}))} "
            f"with their history, {len(views)} states' views and {len(refs)} "
            "TA referrals",
        )
    return [int(r["exchange_id"]) for r in ex_rows]


# --- offers and practices ----------------------------------------------------------------------------------------

# What a strong state might describe in each area (title, what it covers, formats, what the mentee prepares).
DEMO_OFFER_TEXT = {
    "regional_planning": (
        "Regional mutual-aid compact toolkit",
        "How we drafted and signed a regional mutual-aid compact with our neighbours: the model agreement, the cost "
        "reimbursement rules and the annual review meeting.",
        "teleconference,documents",
        "Your current mutual-aid agreements and the partners you want in the compact.",
    ),
    "training": (
        "Institutionalizing a state training academy",
        "Turning one-off courses into a training system: a course catalogue, instructor certification, a learning "
        "management system and training records that survive staff turnover.",
        "teleconference,on_site_visit,documents",
        "A list of the courses you run today and who delivers them.",
    ),
    "exercises": (
        "HSEEP tabletop exercise design clinic",
        "Designing tabletop and functional exercises the HSEEP way: objectives, master scenario events list, "
        "evaluation guides and an after-action report with an improvement plan that gets tracked.",
        "teleconference,on_site_visit,shadowing",
        "Your last after-action report and the objectives of your next exercise.",
    ),
    "interoperability": (
        "Statewide radio interoperability walkthrough",
        "Our statewide communication interoperability plan: governance board, shared channels, radio cache "
        "deployment and the quarterly interoperability drill with county dispatch centers.",
        "teleconference,on_site_visit",
        "A map of your radio systems and who governs them.",
    ),
    "assessment_validation": (
        "Validating capability assessment data",
        "How we check county self-assessments before they are reported: validation rules, a review panel and the "
        "follow-up calls that correct outliers.",
        "teleconference,documents",
        "Last year's assessment data and the questions you had about it.",
    ),
    "strategy": (
        "Writing a homeland security strategy that is used",
        "Goals and objectives tied to measurable targets, a yearly implementation review and how grant decisions "
        "follow the strategy.",
        "teleconference,documents",
        "Your current strategy and its last progress report.",
    ),
    "prevention": (
        "Fusion center partnership model",
        "How our fusion center shares suspicious activity reporting with local law enforcement and the private "
        "sector, with the privacy policy and the liaison officer program.",
        "teleconference,shadowing",
        "Your information-sharing agreements and privacy policy.",
    ),
    "recovery": (
        "Long-term recovery planning after a disaster",
        "Our recovery framework: recovery support functions, the damage assessment process and how we coordinated "
        "housing and infrastructure recovery with federal partners.",
        "teleconference,on_site_visit,documents",
        "Your recovery plan and the hazards you plan for.",
    ),
}
DEMO_PRACTICES = [
    (
        "exercises",
        "Improvement plans with owners and dates",
        "After our exercise with a mentor state we stopped writing after-action reports that nobody reads: every "
        "finding now becomes an improvement item with an owner and a due date, reviewed each quarter.",
        "Copying the mentor's improvement-plan tracker and reviewing it at the quarterly preparedness meeting.",
        "We would involve the county emergency managers from the start, not after the exercise.",
        "Improvement plan tracker (spreadsheet)\nAfter-action report template",
    ),
    (
        "interoperability",
        "A radio cache everyone can find at 2 a.m.",
        "We keep the state radio cache ready: a deployment checklist, a programming standard and a drill twice a "
        "year with two counties.",
        "Labelling each radio with its channel plan; a single phone number to request the cache.",
        "Start the drills before buying more radios.",
        "Radio cache deployment checklist",
    ),
    (
        "training",
        "Instructor certification that keeps courses alive",
        "Courses used to disappear when an instructor left; a certification path for instructors and a shared "
        "course library fixed that.",
        "Pairing each new instructor with a certified one for their first two courses.",
        "Put the course materials in the library before the first delivery, not after.",
        "Instructor certification guide\nCourse library index",
    ),
    (
        "regional_planning",
        "Mutual aid reimbursed in weeks, not months",
        "Pre-agreed reimbursement rates and one claim form for all members of the compact cut payment delays.",
        "A single claim form, agreed rates reviewed each year.",
        "Agree the rates before the first deployment, not during it.",
        "Mutual-aid claim form",
    ),
]


def demo_library(con) -> tuple[list[int], list[int]]:
    """Write the SYNTHETIC offers and practices of the demo set: for each program area (but `other`) the two
    strongest states offering help in the latest cycle publish an offer (capacity 2 or 3), and practices written
    by mentee states of the demo's held exchanges (plus one standalone). Does nothing when synthetic offers exist.
    Returns the ids written."""
    if int(query_df(con, "SELECT count(*) AS n FROM offers WHERE synthetic")["n"].iloc[0]):
        return [], []
    rows = queries.assessments(con)
    latest = int(rows["cycle"].max())
    rows = rows[(rows["cycle"] == latest) & rows["offers_help"].fillna(False).astype(bool)]
    writer = auth.Viewer(auth.LEADERSHIP, DEMO_USER)
    now = dt.datetime.now().replace(microsecond=0)
    offer_ids = []
    for area, (title, covers, formats, prepare) in DEMO_OFFER_TEXT.items():
        strong = rows[(rows["program_area"] == area) & (rows["maturity"] >= catalog.MENTOR_MIN)]
        for rank, state in enumerate(strong.sort_values(["maturity", "state"], ascending=[False, True])["state"][:2]):
            offer_ids.append(
                offers.create(
                    con,
                    writer,
                    state=state,
                    program_area=area,
                    title=title if rank == 0 else f"{title} ({jurisdictions.names()[state]})",
                    covers=covers,
                    formats=formats,
                    capacity=3 - rank,
                    lead_time_days=21 + 7 * rank,
                    prepare=prepare,
                    publish=True,
                    now=now,
                    synthetic=True,
                )
            )
    held = query_df(
        con,
        "SELECT exchange_id, mentee, program_areas FROM exchanges WHERE synthetic AND status IN (?, ?) "
        "ORDER BY exchange_id DESC",
        [HELD, CLOSED],
    )
    practice_ids = []
    for area, title, summary, worked, differently, documents in DEMO_PRACTICES:
        ex = held[[area in str(a).split(",") for a in held["program_areas"]]].head(1)
        state = ex["mentee"].iloc[0] if len(ex) else "VA"
        practice_ids.append(
            practices.create(
                con,
                writer,
                state=state,
                program_area=area,
                title=title,
                summary=summary,
                what_worked=worked,
                differently=differently,
                documents=documents,
                exchange_id=int(ex["exchange_id"].iloc[0]) if len(ex) else None,
                publish=True,
                now=now,
                synthetic=True,
            )
        )
    return offer_ids, practice_ids
