"""Program areas and maturity levels: the only place they are spelled.

The nine program areas come from the ODP information-sharing bulletin; each has a stable slug (used in files, URLs,
the database and the CLI) and the bulletin's label (shown to people).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgramArea:
    slug: str
    label: str
    short: str  # for axis labels and narrow tables


PROGRAM_AREAS: tuple[ProgramArea, ...] = (
    ProgramArea("regional_planning", "Regional planning and response mechanisms", "Regional planning"),
    ProgramArea(
        "training",
        "Training systems, including course development and institutionalization strategies",
        "Training systems",
    ),
    ProgramArea("exercises", "Exercise programs", "Exercises"),
    ProgramArea("interoperability", "Communications and equipment interoperability", "Interoperability"),
    ProgramArea(
        "assessment_validation",
        "State Homeland Security Assessment and Strategy program data validation",
        "Assessment data validation",
    ),
    ProgramArea("strategy", "State Homeland Security Strategy development and implementation", "Strategy"),
    ProgramArea("prevention", "Prevention/deterrence", "Prevention/deterrence"),
    ProgramArea("recovery", "Recovery operations", "Recovery"),
    ProgramArea("other", "Other", "Other"),
)
AREA_SLUGS: tuple[str, ...] = tuple(a.slug for a in PROGRAM_AREAS)
AREAS_BY_SLUG: dict[str, ProgramArea] = {a.slug: a for a in PROGRAM_AREAS}
OTHER = "other"

# Maturity scale used for the overall rating and the POETE sub-ratings.
MATURITY_LEVELS: dict[int, tuple[str, str]] = {
    1: ("Not started", "No capability in place; the area has not yet been planned or resourced."),
    2: ("Developing", "Planning has begun; some elements exist but are incomplete, untested or not funded."),
    3: ("Established", "A working capability exists, is documented and funded, and has been used at least once."),
    4: ("Advanced", "The capability is tested regularly, improved from lessons learned, and could guide others."),
    5: (
        "Nationally leading",
        "A model for other states: proven in real events or major exercises, "
        "documented for reuse, and staffed to share it.",
    ),
}
MIN_LEVEL, MAX_LEVEL = 1, 5
STRENGTH_MIN = 4  # maturity 4-5 is a strength
GAP_MAX = 2  # maturity 1-2 is a gap
MENTOR_MIN = 4  # a state may mentor in an area only with offers_help and maturity >= 4

POETE = ("planning", "organization", "equipment", "training", "exercises")
POETE_LABELS = {
    "planning": "Planning",
    "organization": "Organization",
    "equipment": "Equipment",
    "training": "Training",
    "exercises": "Exercises",
}


def _norm(text: str) -> str:
    return " ".join(str(text).strip().lower().replace("_", " ").split())


_AREA_LOOKUP: dict[str, str] = {}
for _a in PROGRAM_AREAS:
    for _key in (_a.slug, _a.label, _a.short):
        _AREA_LOOKUP[_norm(_key)] = _a.slug


def area_slug(text: str) -> str | None:
    """The slug for a slug, bulletin label or short label in any case; None if it names no program area."""
    if text is None:
        return None
    return _AREA_LOOKUP.get(_norm(text))


def area_label(slug: str) -> str:
    return AREAS_BY_SLUG[slug].label


def area_short(slug: str) -> str:
    return AREAS_BY_SLUG[slug].short


def level_name(level: int) -> str:
    return MATURITY_LEVELS[int(level)][0]


def band(maturity: float | int | None) -> str:
    """'strength' (4-5), 'gap' (1-2), 'established' (3) or 'not reported'."""
    if maturity is None or maturity != maturity:  # None or NaN
        return "not reported"
    if maturity >= STRENGTH_MIN:
        return "strength"
    if maturity <= GAP_MAX:
        return "gap"
    return "established"


def mentor_ineligibility(offers_help: bool, maturity: int) -> str | None:
    """Why an offer of help cannot be used for pairing, or None when the state is an eligible mentor."""
    if not offers_help:
        return "does not offer help in this area"
    if maturity < MENTOR_MIN:
        return (
            f"offers help but rates itself {maturity} ({level_name(maturity)}); "
            f"mentoring needs maturity {MENTOR_MIN} or higher"
        )
    return None
