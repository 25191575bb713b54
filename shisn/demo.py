"""A realistic SYNTHETIC demo data set: all 56 jurisdictions, all program areas, four cycles.

Nothing here describes a real state. Patterns are plausible on purpose so the views have something to show:
larger states tend to be more mature; each FEMA region has areas it is known for (hurricane regions in recovery,
the north-east corridor in prevention and interoperability, the west in exercises); territories start lower;
most states improve from cycle to cycle and a few slip. The rows go through the same validated loader as any
uploaded file, flagged as synthetic in the load log, so the app can label them as demo data everywhere.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from . import catalog
from . import jurisdictions as J
from .db import transaction
from .ingest import LoadSummary, load

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
OTHER_AREAS = ["Cybersecurity", "Agroterrorism preparedness", "Port and maritime security",
               "Public health surveillance", "Critical infrastructure protection", "Mass care and sheltering",
               "Fusion centre operations"]
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
    jur = J.jurisdictions()
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
                row = {"state": code, "program_area": area, "cycle": cycle, "maturity": m,
                       "offers_help": "yes" if offers else "no", "seeks_help": "yes" if seeks else "no",
                       "notes": note, "other_area": other_name if area == catalog.OTHER else ""}
                give_poete = rng.random() < 0.7
                for p in catalog.POETE:
                    row[p] = int(np.clip(m + rng.integers(-1, 2), 1, 5)) if give_poete else ""
                rows.append(row)
    return pd.DataFrame(rows)


def demo_program_managers() -> pd.DataFrame:
    """Fictional ODP program managers, one per FEMA region (addresses on the reserved example.org domain)."""
    first = ["Alex", "Jordan", "Morgan", "Casey", "Riley", "Taylor", "Jamie", "Avery", "Quinn", "Drew"]
    last = ["Rivera", "Chen", "Okafor", "Novak", "Haddad", "Lindqvist", "Moreau", "Tanaka", "Brennan", "Silva"]
    jur = J.jurisdictions()
    return pd.DataFrame({
        "state": jur["code"],
        "name": [f"{first[r - 1]} {last[r - 1]} (demo)" for r in jur["fema_region"]],
        "email": [f"{first[r - 1].lower()}.{last[r - 1].lower()}@example.org" for r in jur["fema_region"]],
    })


def write_demo(con, seed: int = 2004) -> LoadSummary:
    """Generate the demo set and load it through the validated loader (flagged synthetic)."""
    buf = io.StringIO()
    generate(seed).to_csv(buf, index=False)
    [summary] = load(con, [(DEMO_FILE_NAME, buf.getvalue().encode("utf-8"))], DEMO_USER, synthetic=True)
    pms = demo_program_managers()
    with transaction(con) as cur:
        cur.temp_table("pms", pms)
        cur.execute("INSERT INTO program_managers SELECT state, name, email FROM pms "
                    "ON CONFLICT (state) DO NOTHING")
        cur.drop_temp("pms")
    from .exchanges import demo_exchanges
    demo_exchanges(con)  # a few synthetic exchanges and TA referrals so the facilitation views have content
    return summary


def ensure_seeded(con) -> LoadSummary | None:
    """On the first start with an empty store, write the demo set. Returns its summary, or None if data existed."""
    from .db import is_empty
    if not is_empty(con):
        return None
    with transaction(con) as cur:
        cur.lock("demo")  # replicas starting together on an empty PostgreSQL: one seeds, the others find its data
        if cur.scalar("SELECT count(*) FROM assessments"):
            return None
        return write_demo(con)
