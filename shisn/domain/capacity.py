"""Capacity planning: what one more mentoring slot for a state would buy, and which needs no slot can meet.

Pure functions over one cycle's assessment rows (no Streamlit, no database), on the optimal national pairing of
``shisn.domain.pairing`` with the same weights and capacities.

One more slot
    A state's capacity is per state, across its areas. For each *mentor state at capacity* (it could take at least
    one need, and the plan gives it as many as its capacity allows), the pairing is solved again, exactly, with that
    state's capacity raised by one and every other capacity unchanged. Of the plans with the best total score under
    those capacities, the one changing the fewest pairs of the current plan is taken (then the pairing's usual
    tie-break; ``pairing.Plans.solve(..., keep=)``): its total score is that of ``pairing.suggest`` with
    ``capacity_overrides={state: capacity + 1}``, and so are its pairs unless several plans tie on total score (then
    ``suggest`` may also swap unrelated pairs for equally good ones, which is no effect of the slot). Such a plan
    differs from the current one by a single chain: the state takes one more need; if that need had a mentor, that
    mentor takes another need, and so on, until a need without a mentor is served or a mentor is left with a free
    slot. Its row (``SLOT_COLUMNS``) compares it with the current plan:

    ``extra_needs_served``  needs served in it minus needs served now: 1, or 0 when the chain only moves pairs to
                            better-fitting mentors (or changes nothing: every need the state could take is served)
    ``extra_score``         its total score minus the current total (exact: scores are integer thousandths)
    ``changed_pairs``       needs whose mentor differs (the length of the chain)
    ``newly_served``        the need served in it and not now, as ``MENTEE:area``: not always a need of the state
                            itself, which may take over a need whose mentor then serves another
    ``no_longer_served``    the reverse, ``;`` between needs: always empty (a chain never leaves a need without its
                            mentor); kept so the figures add up whatever the data
    ``areas``               the area slug of ``newly_served`` (``;`` between several)

    Re-solving, not the linear program's dual values: the b-matching's LP is integral, so the dual of a state's
    capacity constraint does bound the score gain of one more slot, but an optimal dual is not unique where the
    solution is degenerate (common: many needs tie), the compiled assignment solver does not report one, and a dual
    says nothing about *which* need the slot serves. A state not at capacity gains nothing from another slot (its
    capacity constraint is slack, so by LP duality the optimum cannot rise), so it is not listed; nor is a state no
    need could take. One solve per state at capacity: about a millisecond each for the 56 states and territories.

Needs per program area
    ``AREA_COLUMNS``, one row per area with needs (a named "other" area is an area of its own, as in the pairing):
    ``needs`` and ``served`` now; ``at_capacity``: needs left unmet only because their candidate mentors are full
    (enough slots would serve every one of them); ``no_mentor``: needs no offer can meet at any capacity (no other
    state offers help there at maturity >= 4 and rated above the seeker): candidates for technical assistance.
    ``slot_states``: the states whose one more slot would serve a need in that area. The ``*_states`` columns name
    the seekers (USPS codes, ``;`` between them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shisn.domain import pairing

SLOT_COLUMNS = [
    "mentor",
    "mentor_name",
    "capacity",
    "extra_needs_served",
    "extra_score",
    "changed_pairs",
    "areas",
    "newly_served",
    "no_longer_served",
    "explanation",
]
AREA_COLUMNS = [
    "program_area",
    "area_label",
    "needs",
    "served",
    "at_capacity",
    "no_mentor",
    "slot_states",
    "at_capacity_states",
    "no_mentor_states",
]
# what `python -m shisn capacity` prints (and `--areas`)
SLOT_EXPORT = [c for c in SLOT_COLUMNS if c != "mentor_name"]
AREA_EXPORT = AREA_COLUMNS


@dataclass
class CapacityPlan:
    slots: pd.DataFrame  # SLOT_COLUMNS, most needs served first, then most score, then by mentor code
    areas: pd.DataFrame  # AREA_COLUMNS, areas in catalog order
    needs: int  # needs in the cycle
    served: int  # needs served by the current plan
    total_score: float  # the current plan's total score
    mentors: int  # states that could take at least one need

    def summary(self) -> str:
        return summary(self.slots, self.areas, self.mentors)


def _join(items) -> str:
    return ";".join(items)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _explain(
    p: pairing.Plans, base: np.ndarray, new: np.ndarray, newly: np.ndarray, extra: int, extra_score: int
) -> str:
    changed = int((base != new).sum())
    if extra > 0 and len(newly):
        served = "; ".join(f"{p.names[p.need_state[i]]} · {p.need_label[i]} (mentor: {p.names[new[i]]})" for i in newly)
        text = f"Serves {_plural(extra, 'more need')}: {served}"
        others = changed - len(newly)
        if others > 0:
            text += f"; {_plural(others, 'other pair changes', 'other pairs change')} mentor to make room"
        return text + "."
    if extra < 0:
        return (
            f"Serves {_plural(-extra, 'need')} fewer in an equally scored plan "
            f"(total score {extra_score / pairing.SCALE:+.3f})."
        )
    if extra_score > 0:
        return (
            f"Serves no more needs; {_plural(changed, 'pair changes', 'pairs change')} to a better-fitting "
            f"mentor (total score +{extra_score / pairing.SCALE:.3f})."
        )
    if changed:
        return "Serves no more needs and scores the same (an equally good plan)."
    return "Serves no more needs: every need it could mentor is already served."


def plan(
    assessments: pd.DataFrame,
    weights: pairing.Weights = pairing.Weights(),
    capacity: int = pairing.DEFAULT_CAPACITY,
    capacity_overrides: dict[str, int] | None = None,
    *,
    jurisdictions: pd.DataFrame | None = None,
    borders: frozenset | None = None,
    offers: pd.DataFrame | None = None,
) -> CapacityPlan:
    """The capacity figures of the module docstring for one cycle's assessments and the pairing's settings
    (`offers`: the published offers, whose own capacities stay as they are; see pairing.suggest)."""
    p = pairing.Plans(assessments, weights, jurisdictions=jurisdictions, borders=borders, offers=offers)
    cap = p.capacities(capacity, capacity_overrides)
    base, base_total = p.solve(cap)
    load = np.bincount(base[base >= 0], minlength=len(p.codes))
    base_served = base >= 0

    def need_text(i) -> str:
        return f"{p.need_mentee[i]}:{p.need_area[i]}"

    rows, slot_areas = [], {}  # slot_areas: area key -> states whose extra slot serves a need there
    for m in np.flatnonzero((p.mentor_degree > 0) & (load >= cap)).tolist():
        bigger = cap.copy()
        bigger[m] += 1
        new, total = p.solve(bigger, keep=base)
        newly = np.flatnonzero((new >= 0) & ~base_served)
        lost = np.flatnonzero((new < 0) & base_served)
        extra, extra_score = int((new >= 0).sum() - base_served.sum()), total - base_total
        areas = list(dict.fromkeys(p.need_area[newly].tolist()))
        for k in dict.fromkeys(p.need_area_key[newly].tolist()):
            slot_areas.setdefault(k, []).append(p.codes[m])
        rows.append(
            (
                p.codes[m],
                p.names[m],
                int(cap[m]),
                extra,
                extra_score / pairing.SCALE,
                int((base != new).sum()),
                _join(areas),
                _join(need_text(i) for i in newly),
                _join(need_text(i) for i in lost),
                _explain(p, base, new, newly, extra, extra_score),
            )
        )
    slots = pd.DataFrame(rows, columns=SLOT_COLUMNS).astype(
        {"capacity": "int64", "extra_needs_served": "int64", "extra_score": "float64", "changed_pairs": "int64"}
    )
    slots = slots.sort_values(
        ["extra_needs_served", "extra_score", "mentor"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)

    area_rows = []
    for k in dict.fromkeys(p.need_area_key.tolist()):
        at = p.need_area_key == k
        first = int(np.flatnonzero(at)[0])
        full = at & ~base_served & (p.need_candidates > 0)
        none = at & (p.need_candidates == 0)
        area_rows.append(
            (
                p.need_area[first],
                p.need_label[first],
                int(at.sum()),
                int((at & base_served).sum()),
                int(full.sum()),
                int(none.sum()),
                _join(sorted(slot_areas.get(k, []))),
                _join(p.need_mentee[full]),
                _join(p.need_mentee[none]),
            )
        )
    areas = pd.DataFrame(area_rows, columns=AREA_COLUMNS).astype(
        {c: "int64" for c in ("needs", "served", "at_capacity", "no_mentor")}
    )
    return CapacityPlan(
        slots=slots,
        areas=areas,
        needs=len(base),
        served=int(base_served.sum()),
        total_score=base_total / pairing.SCALE,
        mentors=int((p.mentor_degree > 0).sum()),
    )


def summary(slots: pd.DataFrame, areas: pd.DataFrame, mentors: int | None = None) -> str:
    """One sentence for leadership over (possibly filtered) slot and area tables."""
    gain = slots[slots["extra_needs_served"] > 0]
    of = f" of {mentors} mentor states" if mentors is not None else " mentor states"
    if not len(slots):
        head = f"None{of} is at capacity, so one more slot anywhere serves no more needs"
    else:
        head = f"{len(slots)}{of} {'is' if len(slots) == 1 else 'are'} at capacity"
        if len(gain):
            names = ", ".join(gain["mentor"].head(8)) + (f" and {len(gain) - 8} more" if len(gain) > 8 else "")
            head += (
                f", and one more slot would serve one more need for {len(gain)} of them ({names})"
                if (gain["extra_needs_served"] == 1).all()
                else f", and one more slot would serve more needs for {len(gain)} of them ({names})"
            )
        else:
            head += ", but one more slot for any of them would serve no more needs"
    full, none = int(areas["at_capacity"].sum()), int(areas["no_mentor"].sum())
    full_text = "no need is" if not full else f"{_plural(full, 'need')} {'is' if full == 1 else 'are'}"
    none_text = "no need" if not none else _plural(none, "need")
    return (
        f"{head}; {full_text} unmet only for lack of capacity, and {none_text} no offer can meet "
        "(candidates for technical assistance)."
    )


def export_slots(cp: CapacityPlan) -> pd.DataFrame:
    """The CLI's table per mentor state at capacity (``SLOT_EXPORT``)."""
    return cp.slots[SLOT_EXPORT]


def export_areas(cp: CapacityPlan) -> pd.DataFrame:
    """The CLI's table per program area (``AREA_EXPORT``)."""
    return cp.areas[AREA_EXPORT]
