"""Mentor-mentee pairing: candidate edges, their scores and explanations, and the optimal assignment.

Pure functions over one cycle's assessment rows (no Streamlit, no database).

Who can be paired
    A *need* is a (state, program area) row with ``seeks_help``; states that did not opt in are never paired, however
    weak they are. A *mentor* in an area is a state with ``offers_help`` and maturity >= ``catalog.MENTOR_MIN`` there.
    A candidate edge (mentor, mentee, area) also requires mentor != mentee and mentor maturity > mentee maturity.
    The catch-all area ``other`` is each state's own (``other_area`` names it): a need there meets only mentors
    that name the same area (case and spacing ignored, as the national page counts it), so every named "other" area
    is an area of its own; an unnamed one meets nobody. Output keeps the slug ``other``, labelled "Other: <name>".

Score of a candidate edge (every term below is in [0, 1] before weighting)::

    score = base
          + maturity_gap       * (mentor maturity - mentee maturity) / 4
          + same_region        * [same FEMA region]
          + shared_border      * [the two jurisdictions share a land border]
          + similar_population * max(0, 1 - |log10(mentor population / mentee population)|)
          + breadth            * (areas the mentor can mentor in - 1) / (number of program areas - 1)

    ``base`` > 0 and all weights >= 0, so every score is positive. Scores are rounded to integer thousandths
    (``SCALE``) and the optimisation runs on those integers, so the optimum is exact; reported scores are the same
    integers / 1000.

Constraints and objective
    Each need gets at most one mentor; each mentor state takes at most ``capacity`` needs in total over all areas
    (``capacity_overrides`` per state). The total score is maximised: a maximum-weight bipartite b-matching. Because
    every score is positive, a need is left unmatched only when every one of its candidate mentors is full (the
    referral says which).

Solver
    The b-matching is reduced exactly to a rectangular linear assignment problem and solved with
    ``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` (LAPJVsp, compiled, exact): each mentor becomes
    ``min(capacity, candidate needs)`` identical slots, and each need also gets a private "unmatched" column, so a full
    matching of the needs always exists and choosing that column means "no mentor". Costs are ``(M - score) * B +
    tie``, with ``M`` above every score, so minimising cost maximises the total score; ``tie`` (the mentor's rank in
    code order, summed over the needs at most ``B - 1``) only decides between equally good optima, preferring mentors
    whose code sorts first. The graph is built in a canonical order (areas in catalog order, then codes), so the same
    data and settings give the same pairs whatever the order of the input rows. County scale (3,100 jurisdictions,
    ~4 million candidate edges) solves in a few seconds; see ``benchmarks/README_pairing.md``.

Memory
    Candidate edges are kept compactly (sorted by need, with the need implicit in a pointer array: only the
    mentor and the integer score, 6 bytes an edge at county scale) and built a block of needs at a time; the other
    facts about an edge are recomputed (``_features``) for the edges that are shown or referred to. The slot graph
    (a float64 cost and an int32 column per slot, about 12 x capacity bytes per edge) is written directly in the
    arrays scipy reads, and scipy is kept from copying it (``_Graph``). ``suggest(..., with_candidates=False)``,
    which the app uses, also frees the edges before the solve and never builds the candidates table (millions of
    rows of text at county scale): it then needs about the slot graph plus scipy's own temporaries, ~190 MB at
    county scale, with the same result.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import shisn.domain.jurisdictions
from shisn.domain import catalog

DEFAULT_CAPACITY = 3
SCALE = 1000  # scores are optimised as integer thousandths
SIMILAR_POPULATION_RATIO = 2.0  # "similar population" in explanations: within a factor of 2
MAX_LISTED = 5  # mentors named in one referral reason before "and N more"
_GAP_RANGE = catalog.MAX_LEVEL - catalog.MIN_LEVEL
_BREADTH_RANGE = max(1, len(catalog.AREA_SLUGS) - 1)
_EXACT_LIMIT = 2**50  # keep every float cost (and sums of them) an exactly representable integer

REQUIRED_COLUMNS = ("state", "program_area", "maturity", "offers_help", "seeks_help")
CANDIDATE_COLUMNS = [
    "mentor",
    "mentee",
    "program_area",
    "score",
    "mentor_maturity",
    "mentee_maturity",
    "same_region",
    "shared_border",
    "reasons",
    "population_similarity",
    "mentor_areas",
]
PAIR_COLUMNS = [
    "mentor",
    "mentee",
    "program_area",
    "score",
    "reasons",
    "mentor_maturity",
    "mentee_maturity",
    "same_region",
    "shared_border",
    "mentor_name",
    "mentee_name",
    "area_label",
    "offer_id",  # the published offer the pair goes through, if any (see suggest)
    "offer_title",
]
REFERRAL_COLUMNS = [
    "mentee",
    "program_area",
    "mentee_maturity",
    "reason",
    "reason_code",
    "considered",
    "mentee_name",
    "area_label",
]
INELIGIBLE_COLUMNS = ["state", "program_area", "maturity", "reason", "state_name", "area_label"]
LOAD_COLUMNS = ["mentor", "mentor_name", "capacity", "assigned", "mentor_areas"]

# Referral reason codes
NO_ELIGIBLE_MENTOR = "no_eligible_mentor"  # nobody (else) offers eligible help in the area
NO_MENTOR_AHEAD = "no_mentor_ahead"  # eligible mentors exist, none rated above the mentee
AT_CAPACITY = "at_capacity"  # candidate mentors exist, all are full


@dataclass(frozen=True)
class Weights:
    """Weights of the pairing score (see the module docstring for the formula). All >= 0; ``base`` > 0."""

    base: float = 1.0
    """Value of giving a need any mentor at all. Higher values favour serving more needs over better-fitting pairs;
    it also keeps every score positive."""
    maturity_gap: float = 1.0
    """Per full maturity gap (4 levels): how much more the mentor has to teach. A gap of 1 level earns a quarter."""
    same_region: float = 1.0
    """Both states are in the same FEMA region: shared regional office, hazards and mutual-aid partners."""
    shared_border: float = 1.0
    """The states share a land border: visits are cheap and they already plan together."""
    similar_population: float = 0.5
    """Similar size (a proxy for a similar program profile): full weight for equal population, nothing from a
    factor of 10 apart, linear in between on a log scale."""
    breadth: float = 0.5
    """Mentor breadth: a state able to mentor in many areas has cross-cutting experience (governance, funding,
    strategy) to share. Full weight when it can mentor in every area, nothing when in one only. The optimiser still
    weighs this against capacity, so broad mentors are not used up where a specialist fits as well."""

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"weight {f.name} must be a finite number, got {v!r}")
            if v < 0:
                raise ValueError(f"weight {f.name} must be >= 0, got {v}")
        if self.base <= 0:
            raise ValueError("weight base must be > 0 so that every candidate has a positive score")

    @classmethod
    def describe(cls) -> dict[str, dict]:
        """For labelled sliders: ``{field: {"label", "help", "default"}}`` in display order."""
        defaults = cls()
        return {
            name: {"label": label, "help": text, "default": getattr(defaults, name)}
            for name, (label, text) in WEIGHT_DESCRIPTIONS.items()
        }

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


WEIGHT_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "base": (
        "Serve more needs",
        "Value of giving a need any mentor at all; higher values favour serving more needs over better-fitting pairs.",
    ),
    "maturity_gap": (
        "Maturity gap",
        "Value of the mentor being further ahead (full weight for a 4-level gap, a quarter per level).",
    ),
    "same_region": ("Same FEMA region", "Both states are in the same FEMA region."),
    "shared_border": ("Shared border", "The two states share a land border."),
    "similar_population": (
        "Similar population",
        "Similar size as a proxy for a similar program: full weight for "
        "equal population, none from a factor of 10 apart.",
    ),
    "breadth": (
        "Mentor breadth",
        "Mentors able to help in many program areas bring cross-cutting experience; "
        "full weight when eligible in every area.",
    ),
}
assert set(WEIGHT_DESCRIPTIONS) == {f.name for f in fields(Weights)}


@dataclass
class PairingResult:
    pairs: pd.DataFrame  # PAIR_COLUMNS, sorted by (program area in catalog order, mentee)
    referrals: pd.DataFrame  # REFERRAL_COLUMNS, needs left without a mentor, same order
    candidates: pd.DataFrame  # CANDIDATE_COLUMNS (+ names, area_label, chosen); empty unless with_candidates
    total_score: float
    ineligible_offers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INELIGIBLE_COLUMNS))
    mentor_load: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LOAD_COLUMNS))
    weights: Weights = field(default_factory=Weights)
    capacity: int = DEFAULT_CAPACITY
    capacity_overrides: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ input handling

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}


def _flag(s: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        vals = s.fillna(0).to_numpy()
        if not np.isin(vals, (0, 1)).all():
            raise ValueError(f"{name} must be yes/no, got {sorted(set(vals) - {0, 1})[:5]}")
        return vals.astype(bool)
    text = s.astype(object).map(
        lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v).strip().lower()
    )
    bad = sorted(set(text) - _TRUE - _FALSE)
    if bad:
        raise ValueError(f"{name} must be yes/no, got {bad[:5]}")
    return text.isin(_TRUE).to_numpy(dtype=bool)


def _area_order(slugs) -> list[str]:
    known = {s: i for i, s in enumerate(catalog.AREA_SLUGS)}
    return sorted(set(slugs), key=lambda s: (known.get(s, len(known)), s))


_OTHER_KEY = catalog.OTHER + ":"  # internal area key of a named "other" area: "other:" + the name, casefolded


def _area_label(slug: str) -> str:
    return catalog.area_label(slug) if slug in catalog.AREAS_BY_SLUG else str(slug)


def _region_text(region: float) -> str:
    r = int(region)
    return (
        f"FEMA Region {shisn.domain.jurisdictions.ROMAN[r]}"
        if r in shisn.domain.jurisdictions.ROMAN
        else f"FEMA region {r}"
    )


class _Data:
    """One cycle's assessments as integer arrays over a sorted universe of state codes."""

    def __init__(self, assessments: pd.DataFrame, jurisdictions: pd.DataFrame | None, borders: frozenset | None):
        missing = [c for c in REQUIRED_COLUMNS if c not in assessments.columns]
        if missing:
            raise ValueError(f"assessments lack required columns: {', '.join(missing)}")
        a = assessments
        if "cycle" in a.columns and a["cycle"].dropna().nunique() > 1:
            raise ValueError(
                f"assessments hold several cycles ({sorted(a['cycle'].dropna().unique().tolist())}); "
                "pair one cycle at a time"
            )
        state = a["state"].astype(str).str.strip().str.upper().to_numpy(dtype=object)
        area = a["program_area"].astype(str).str.strip().to_numpy(dtype=object)
        if a["maturity"].isna().any():
            raise ValueError("maturity is missing in some rows")
        maturity = pd.to_numeric(a["maturity"]).to_numpy()
        if not (
            np.equal(np.mod(maturity, 1), 0).all()
            and ((maturity >= catalog.MIN_LEVEL) & (maturity <= catalog.MAX_LEVEL)).all()
        ):
            raise ValueError(f"maturity must be a whole number {catalog.MIN_LEVEL}-{catalog.MAX_LEVEL}")
        maturity = maturity.astype(np.int64)
        offers = _flag(a["offers_help"], "offers_help")
        seeks = _flag(a["seeks_help"], "seeks_help")

        self.codes = np.array(sorted(set(state)), dtype=object)
        n = len(self.codes)
        si = np.searchsorted(self.codes, state).astype(np.int64) if n else np.zeros(0, np.int64)
        slug_index = {x: i for i, x in enumerate(_area_order(area))}
        key = np.fromiter((slug_index[x] for x in area), dtype=np.int64, count=len(area)) * max(n, 1) + si
        if len(np.unique(key)) != len(key):
            dup = pd.Series(list(zip(state, area)))[pd.Series(key).duplicated()].iloc[0]
            raise ValueError(f"several rows for {dup[0]} in {dup[1]}; expected one row per state and area")
        # Each state's "other" names an area of its own: two states meet there only when they name the same one
        # (case and spacing ignored, as on the national page), so each named area is an area of its own here.
        topics: dict[str, str] = {}
        if "other_area" in a.columns and (area == catalog.OTHER).any():
            named = a["other_area"].to_numpy(dtype=object)
            for i in np.flatnonzero(area == catalog.OTHER):
                v = named[i]
                text = "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else " ".join(str(v).split())
                k_ = _OTHER_KEY + (text.casefold() if text else "\x00" + state[i])  # unnamed: pairs with nobody
                area[i] = k_
                topics[k_] = min(topics.get(k_, text), text)  # one spelling whatever the row order
        self.areas = _area_order(area)
        k = len(self.areas)
        self.area_slugs = [catalog.OTHER if x.startswith(_OTHER_KEY) else x for x in self.areas]
        self.area_labels = [
            f"{_area_label(catalog.OTHER)}: {topics[x]}"
            if x.startswith(_OTHER_KEY) and topics[x]
            else _area_label(slug)
            for x, slug in zip(self.areas, self.area_slugs)
        ]
        area_index = {x: i for i, x in enumerate(self.areas)}
        ai = np.fromiter((area_index[x] for x in area), dtype=np.int64, count=len(area))
        # dense (area, state) grids; -1 where a state has no row for an area
        self.mat = np.full((k, n), -1, dtype=np.int64)
        self.offers = np.zeros((k, n), dtype=bool)
        self.seeks = np.zeros((k, n), dtype=bool)
        self.mat[ai, si] = maturity
        self.offers[ai, si] = offers
        self.seeks[ai, si] = seeks
        self.eligible = self.offers & (self.mat >= catalog.MENTOR_MIN)
        self.mentor_areas = self.eligible.sum(axis=0).astype(np.int64)

        # reference data
        if jurisdictions is None:
            jurisdictions = shisn.domain.jurisdictions.jurisdictions()
        if borders is None:
            borders = shisn.domain.jurisdictions.borders()
        jur = jurisdictions.drop_duplicates("code").set_index("code")
        codes = pd.Index(self.codes)
        self.names = (
            np.array(
                [str(x) for x in jur["name"].reindex(codes).fillna(pd.Series(self.codes, index=codes))], dtype=object
            )
            if "name" in jur.columns
            else self.codes.copy()
        )
        self.region = (
            pd.to_numeric(jur["fema_region"].reindex(codes), errors="coerce").to_numpy(dtype=float)
            if "fema_region" in jur.columns
            else np.full(n, np.nan)
        )
        pop = (
            pd.to_numeric(jur["population"].reindex(codes), errors="coerce").to_numpy(dtype=float, copy=True)
            if "population" in jur.columns
            else np.full(n, np.nan)
        )
        pop[~(pop > 0)] = np.nan
        self.log_pop = np.log10(pop)
        ends = np.array([tuple(str(c).upper() for c in b) for b in borders], dtype=object).reshape(-1, 2)
        self.border_keys = np.zeros(0, dtype=np.int64)
        if n and len(ends):
            at = np.minimum(np.searchsorted(self.codes, ends), n - 1)
            known = (self.codes[at] == ends).all(axis=1) & (at[:, 0] != at[:, 1])
            lo, hi = at.min(axis=1)[known], at.max(axis=1)[known]
            self.border_keys = np.unique(lo * n + hi).astype(np.int64)


# ------------------------------------------------------------------------------------------------ candidates

_BLOCK = 1 << 16  # grid cells (needs x mentors) or edges handled at once: bounds the temporaries to a few MB


def _features(d: _Data, area, mentor, mentee) -> dict[str, np.ndarray]:
    """Facts about candidate edges, elementwise with numpy broadcasting (1-D edge arrays, or a needs column against
    a mentors row). The same function serves the solver's scores and the tables, so they always agree."""
    mentor, mentee = np.asarray(mentor, dtype=np.intp), np.asarray(mentee, dtype=np.intp)
    n = len(d.codes)
    f = {"mentor_mat": d.mat[area, mentor], "mentee_mat": d.mat[area, mentee]}
    f["gap"] = f["mentor_mat"] - f["mentee_mat"]
    rm, re_ = d.region[mentor], d.region[mentee]
    f["same_region"] = np.isfinite(rm) & (rm == re_)
    keys = np.minimum(mentor, mentee) * n + np.maximum(mentor, mentee)
    nb = len(d.border_keys)
    if nb:
        pos = np.minimum(np.searchsorted(d.border_keys, keys), nb - 1)
        f["shared_border"] = d.border_keys[pos] == keys
    else:
        f["shared_border"] = np.zeros(keys.shape, dtype=bool)
    dlog = np.abs(d.log_pop[mentor] - d.log_pop[mentee])
    f["pop_sim"] = np.nan_to_num(np.clip(1.0 - dlog, 0.0, 1.0), nan=0.0)
    f["similar_pop"] = np.nan_to_num(dlog, nan=np.inf) <= math.log10(SIMILAR_POPULATION_RATIO) + 1e-12
    f["breadth_n"] = d.mentor_areas[mentor]
    return f


def _score_int(f: dict[str, np.ndarray], w: Weights) -> np.ndarray:
    """The score formula (module docstring) in integer thousandths, >= 1."""
    breadth = np.clip((f["breadth_n"] - 1) / _BREADTH_RANGE, 0.0, 1.0)
    score = (
        w.base
        + w.maturity_gap * f["gap"] / _GAP_RANGE
        + w.same_region * f["same_region"]
        + w.shared_border * f["shared_border"]
        + w.similar_population * f["pop_sim"]
        + w.breadth * breadth
    )
    return np.maximum(np.rint(score * SCALE), 1).astype(np.int64)


def _candidate_grid(d: _Data, ai: int, needs: np.ndarray, mentors: np.ndarray) -> np.ndarray:
    """needs x mentors (state indices, in area ``ai``): is (mentor, need) a candidate edge?"""
    return (mentors[None, :] != needs[:, None]) & (d.mat[ai, mentors][None, :] > d.mat[ai, needs][:, None])


class _Edges:
    """Candidate edges, sorted by (need, mentor); needs sorted by (area in catalog order, mentee).

    Compact, because county scale has millions of edges: need ``r`` owns edges ``ptr[r]:ptr[r + 1]``, and per edge
    only the mentor (int16 when the codes allow) and the integer score (int32 unless the weights are huge) are
    kept, 6 bytes an edge. Everything else about an edge (maturities, region, border, population) is recomputed by
    ``_features`` from the small per-state arrays for the edges that are shown. The edges are built a block of
    needs at a time, so no temporary spans all edges.
    """

    def __init__(self, d: _Data, w: Weights):
        n = len(d.codes)
        mentor_dtype = np.int16 if n <= np.iinfo(np.int16).max + 1 else np.int32
        # every term of the score is at most its weight, so this bounds every score_int
        score_dtype = np.int32 if (sum(w.as_dict().values()) + 1) * SCALE < np.iinfo(np.int32).max else np.int64
        need_area, need_state, blocks, n_before = [], [], [], 0
        for ai in range(len(d.areas)):
            needs = np.flatnonzero(d.seeks[ai])
            mentors = np.flatnonzero(d.eligible[ai])
            need_area.append(np.full(len(needs), ai, dtype=np.int64))
            need_state.append(needs)
            step = max(1, _BLOCK // max(len(mentors), 1))
            for b in range(0, len(needs) if len(mentors) else 0, step):
                blocks.append((ai, needs[b : b + step], mentors, n_before + b))
            n_before += len(needs)
        cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64)  # noqa: E731
        self.need_area, self.need_state = cat(need_area), cat(need_state)

        # first pass: edges per need; second pass: scores, written in place (no concatenation of big parts)
        per_need = np.zeros(len(self.need_state), dtype=np.int64)
        for ai, needs, mentors, r in blocks:
            per_need[r : r + len(needs)] = _candidate_grid(d, ai, needs, mentors).sum(axis=1)
        self.ptr = np.concatenate([[0], np.cumsum(per_need)]).astype(np.int64)
        n_e = int(self.ptr[-1])
        self.mentor = np.empty(n_e, dtype=mentor_dtype)
        self.score_int = np.empty(n_e, dtype=score_dtype)
        at = 0
        for ai, needs, mentors, _ in blocks:
            ok = _candidate_grid(d, ai, needs, mentors)
            rows, cols = np.nonzero(ok)  # row-major: by need, then mentor
            s = _score_int(_features(d, ai, mentors[None, :], needs[:, None]), w)
            self.mentor[at : at + len(cols)] = mentors[cols]
            self.score_int[at : at + len(cols)] = s[rows, cols]
            at += len(cols)
        assert at == n_e

    def __len__(self):
        return len(self.mentor)

    @property
    def need(self) -> np.ndarray:
        """The need of every edge (materialised on request; the edges store it implicitly in ``ptr``)."""
        return np.repeat(np.arange(len(self.need_state), dtype=np.int64), np.diff(self.ptr))

    def locate(self, need: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        """Indices of the edges (need[i], mentor[i]), which must exist: a binary search inside each need's run."""
        return _locate(self.ptr, self.mentor, need, mentor)

    def ends(self, idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(need, area, mentor, mentee) of edges ``idx`` (all edges by default) as integer arrays."""
        if idx is None:
            need = self.need
            return need, self.need_area[need], self.mentor.astype(np.intp), self.need_state[need]
        idx = np.asarray(idx, dtype=np.intp)
        need = np.searchsorted(self.ptr, idx, side="right") - 1
        return need, self.need_area[need], self.mentor[idx].astype(np.intp), self.need_state[need]


def _locate(ptr: np.ndarray, mentor: np.ndarray, need: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Positions of the edges (need[i], target[i]) in edges sorted by (need, mentor), need ``r`` owning
    ``ptr[r]:ptr[r + 1]``: one vectorised binary search per need's run (no key array over all edges)."""
    need = np.asarray(need, dtype=np.intp)
    target = np.asarray(target, dtype=np.int64)
    lo, hi = ptr[need].astype(np.int64), ptr[need + 1].astype(np.int64)
    while True:
        act = lo < hi
        if not act.any():
            break
        mid = (lo + hi) // 2
        less = act & (mentor[np.where(act, mid, 0)] < target)
        lo = np.where(less, mid + 1, lo)
        hi = np.where(act & ~less, mid, hi)
    assert (lo < ptr[need + 1]).all() and (mentor[np.minimum(lo, len(mentor) - 1)] == target).all(), "edge not found"
    return lo


def _reasons(d: _Data, w: Weights, area, mentor, mentee, f) -> pd.api.extensions.ExtensionArray:
    """Plain-language explanation of edges given by their ends and ``_features``, built per distinct combination."""
    if not len(mentor):
        return pd.array([], dtype="str")
    region = np.where(f["same_region"] & (w.same_region > 0), d.region[mentor], -1)
    region = np.where(np.isfinite(region), region, -1).astype(np.int64) + 1
    combo = (
        (
            (region * 2 + (f["shared_border"] & (w.shared_border > 0))) * 2
            + (f["similar_pop"] & (w.similar_population > 0))
        )
        * 8
        + f["gap"]
    ) * 64 + np.where(w.breadth > 0, f["breadth_n"], 0)
    uniq, inv = np.unique(combo, return_inverse=True)
    texts = []
    for c in uniq.tolist():
        breadth_n, c = c % 64, c // 64
        gap, c = c % 8, c // 8
        sim, c = c % 2, c // 2
        border, reg = c % 2, c // 2 - 1
        parts = []
        if reg >= 0:
            parts.append(f"same {_region_text(reg)}")
        if border:
            parts.append("shared border")
        if sim:
            parts.append("similar population")
        if w.maturity_gap > 0 or not parts:
            parts.append(f"{gap} level{'s' if gap != 1 else ''} ahead")
        if breadth_n >= 2:
            parts.append(f"can mentor in {breadth_n} areas")
        texts.append(", ".join(parts))
    # join with pyarrow: millions of edges in about a second, memory in one buffer
    per = catalog.MAX_LEVEL + 1
    labels = pa.array([f"{nm} ({m})" for nm in d.names for m in range(per)], type=pa.string())
    area_labels = pa.array(d.area_labels, type=pa.string())
    out = pc.binary_join_element_wise(
        labels.take(pa.array(mentor * per + f["mentor_mat"])),
        " → ",
        labels.take(pa.array(mentee * per + f["mentee_mat"])),
        ", ",
        area_labels.take(pa.array(area)),
        ": ",
        pa.array(texts, type=pa.string()).take(pa.array(inv.astype(np.int64))),
        "",
    )
    return pd.Series(out.to_pandas(), dtype="str").array


def _edge_frame(
    d: _Data, w: Weights, area, mentor, mentee, score_int, explain: bool = True, f: dict | None = None
) -> pd.DataFrame:
    """CANDIDATE_COLUMNS for edges given by their ends (intp arrays) and integer scores."""
    f = _features(d, area, mentor, mentee) if f is None else f
    codes = pd.array(d.codes, dtype="str")
    areas = pd.array(d.area_slugs, dtype="str")
    return pd.DataFrame(
        {
            "mentor": codes.take(mentor),
            "mentee": codes.take(mentee),
            "program_area": areas.take(area),
            "score": score_int / SCALE,
            "mentor_maturity": f["mentor_mat"],
            "mentee_maturity": f["mentee_mat"],
            "same_region": f["same_region"],
            "shared_border": f["shared_border"],
            "reasons": (
                _reasons(d, w, area, mentor, mentee, f)
                if explain
                else pd.array(np.full(len(mentor), None, dtype=object), dtype="str")
            ),
            "population_similarity": np.round(f["pop_sim"], 3),
            "mentor_areas": f["breadth_n"],
        }
    )


def candidates(
    assessments: pd.DataFrame,
    weights: Weights = Weights(),
    *,
    jurisdictions: pd.DataFrame | None = None,
    borders: frozenset | None = None,
    explain: bool = True,
) -> pd.DataFrame:
    """Every candidate edge (mentor, mentee, program_area) with its score and explanation.

    Sorted by (program area in catalog order, mentee, mentor). ``explain=False`` leaves ``reasons`` empty, which
    saves time and memory for millions of edges.
    """
    d = _Data(assessments, jurisdictions, borders)
    e = _Edges(d, weights)
    _, area, mentor, mentee = e.ends()
    return _edge_frame(d, weights, area, mentor, mentee, e.score_int.astype(np.int64), explain)


# ------------------------------------------------------------------------------------------------ solver


@functools.cache
def _graph_type() -> type:
    """The class of the slot graph, made on first use: scipy's sparse arrays and its matching cost 20 MB resident,
    paid when a pairing is solved, not by every page that imports this module."""
    from scipy import sparse  # 20 MB resident with the matching: see above

    class _Graph(sparse.csr_array):
        """The slot graph handed to ``min_weight_full_bipartite_matching``. That function starts with
        ``biadjacency.astype(np.double)``, which for scipy sparse arrays copies even when the dtype already matches (a
        second copy of the largest structure of the pairing, ~150 MB at county scale); this class returns itself
        instead. The graph is built as the function wants it otherwise: float64 data without zeros or infinities,
        int32 indices and indptr, rows with sorted column indices, so nothing else is converted. The graph is not
        used after the call, so scipy may change it in place (it changes nothing in such a graph)."""

        def astype(self, dtype, casting="unsafe", copy=True):
            if np.dtype(dtype) == self.dtype:
                return self
            return super().astype(dtype, casting=casting, copy=copy)

    return _Graph


def _slot_graph(
    ptr: np.ndarray, mentor: np.ndarray, score: np.ndarray, capacity: np.ndarray, keep: np.ndarray | None = None
) -> tuple[Any, np.ndarray]:
    """The assignment problem of the module docstring for edges sorted by (need, mentor), need ``r`` owning edges
    ``ptr[r]:ptr[r + 1]``: (graph, slots per mentor), or (None, slots) when nothing can be matched.

    ``keep`` (per need: a mentor index, -1 for none) adds a second criterion between the score and the mentor-code
    tie-break: among the plans of the best total score, the one giving the fewest needs another mentor than
    ``keep`` (or none, or one where ``keep`` has none). Scores are scaled by ``needs + 1`` so that it never outweighs
    a point of score; it is left out (as the tie-break is, before it) when the costs would not stay exact.

    The graph is written directly into its final arrays, a block of edges at a time, so the only structure
    proportional to the slots (about capacity x edges) is the graph itself.
    """
    n_needs, n_m, n_e = len(ptr) - 1, len(capacity), len(mentor)
    capacity = np.asarray(capacity, dtype=np.int64)
    none = (None, np.zeros(n_m, dtype=np.int64))
    if n_needs == 0 or n_e == 0:
        return none
    all_live = bool((capacity > 0).all())
    degree = np.zeros(n_m, dtype=np.int64)
    best = None
    for a in range(0, n_e, _BLOCK):
        mt = mentor[a : a + _BLOCK].astype(np.intp)
        degree += np.bincount(mt, minlength=n_m)
        sc = score[a : a + _BLOCK] if all_live else score[a : a + _BLOCK][capacity[mt] > 0]
        if len(sc):
            best = int(sc.max()) if best is None else max(best, int(sc.max()))
    if best is None:  # every candidate mentor has capacity 0
        return none
    slots = np.minimum(capacity, degree)  # a mentor's identical slot columns (0 for capacity 0)
    off = np.concatenate([[0], np.cumsum(slots)])
    n_slots = int(off[-1])
    top = best + 1
    big = n_needs * n_m + 1  # sum of tie-breaks over any matching < big
    if keep is not None and (n_needs + 1) * (top * (n_needs + 1) + 1) >= _EXACT_LIMIT:
        keep = None
    scale = 1 if keep is None else n_needs + 1  # sum of keep's misses over any matching < scale
    tie_on = (n_needs + 1) * (top * scale + (keep is not None)) * big < _EXACT_LIMIT
    if not tie_on:
        big = 1  # huge scores: no tie-break, still exact
    nnz = int((degree * slots).sum()) + n_needs
    idx_dtype = np.int32 if max(nnz, n_slots + n_needs) < np.iinfo(np.int32).max else np.int64
    indices = np.empty(nnz, dtype=idx_dtype)
    data = np.empty(nnz, dtype=np.float64)
    indptr = np.empty(n_needs + 1, dtype=idx_dtype)
    kmax = int(slots.max())
    done = 0  # slot entries written for the edges before this block
    for a in range(0, n_e, _BLOCK):
        b = min(a + _BLOCK, n_e)
        mt = mentor[a:b].astype(np.int64)
        k = slots[mt]
        first = np.cumsum(k)
        block_total = int(first[-1])
        first -= k
        first += done  # entries of all earlier edges ...
        r0, r1 = np.searchsorted(ptr, [a, b])  # needs whose edges start in this block
        indptr[r0:r1] = first[ptr[r0:r1] - a] + np.arange(r0, r1)
        need_of = np.searchsorted(ptr, np.arange(a, b), side="right") - 1
        first += need_of  # ... + the unmatched columns before
        cost = (top - score[a:b].astype(np.int64)) * scale
        if keep is not None:
            cost += mt != keep[need_of]
        cost *= big
        if tie_on:
            cost += mt
        cost = cost.astype(np.float64)
        sel = np.flatnonzero(k)
        for j in range(kmax):  # the j-th slot of every edge whose mentor has more than j
            if j:
                sel = sel[k[sel] > j]
            if not len(sel):
                break
            p = first[sel] + j
            indices[p] = off[mt[sel]] + j
            data[p] = cost[sel]
        done += block_total
    r0 = int(np.searchsorted(ptr, n_e))  # needs without edges at the end, and the final pointer
    indptr[r0:] = done + np.arange(r0, n_needs + 1)
    last = indptr[1:] - 1  # each need's private "unmatched" column comes last in its row
    indices[last] = n_slots + np.arange(n_needs)
    data[last] = float(top * big) if keep is None else ((top * scale + (keep >= 0)) * big).astype(np.float64)
    return _graph_type()((data, indices, indptr), shape=(n_needs, n_slots + n_needs)), slots


def _match(graph: Any, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve a ``_slot_graph``: (need, mentor) of the chosen edges, by need."""
    if graph is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching  # with _graph_type: on first solve

    rows, cols = min_weight_full_bipartite_matching(graph)
    n_slots = int(slots.sum())
    real = cols < n_slots
    slot_owner = np.repeat(np.arange(len(slots)), slots)
    return np.asarray(rows[real], dtype=np.int64), slot_owner[cols[real]].astype(np.int64)


def solve_bmatching(
    need: np.ndarray, mentor: np.ndarray, score: np.ndarray, capacity: np.ndarray, n_needs: int
) -> np.ndarray:
    """Exact maximum-weight bipartite b-matching; returns the indices of the chosen edges.

    ``need``/``mentor`` index the edges' ends (at most one edge per pair), ``score`` are positive integers,
    ``capacity[m]`` bounds mentor ``m``'s load and each need takes at most one edge. Among optimal solutions the one
    with the smallest sum of mentor indices is preferred (deterministic tie-break). See the module docstring.
    """
    need = np.asarray(need)
    mentor = np.asarray(mentor)
    score = np.asarray(score)
    capacity = np.asarray(capacity, dtype=np.int64)
    if len(score) and score.min() <= 0:
        raise ValueError("scores must be positive")
    if not len(need) or n_needs == 0:
        return np.zeros(0, dtype=np.int64)
    dn = np.diff(need)
    if bool(((dn > 0) | ((dn == 0) & (np.diff(mentor) > 0))).all()):
        order = None  # already sorted by (need, mentor), as suggest's edges are
    else:
        order = np.lexsort((mentor, need))
        need, mentor, score = need[order], mentor[order], score[order]
    del dn
    ptr = np.concatenate([[0], np.cumsum(np.bincount(need, minlength=n_needs))]).astype(np.int64)
    got_need, got_mentor = _match(*_slot_graph(ptr, mentor, score, capacity))
    at = _locate(ptr, mentor, got_need, got_mentor)
    return np.sort(at if order is None else order[at])


# ------------------------------------------------------------------------------------------------ suggest


def _names_list(names: list[str]) -> str:
    if len(names) <= MAX_LISTED:
        return ", ".join(names)
    return ", ".join(names[:MAX_LISTED]) + f" and {len(names) - MAX_LISTED} more"


def _capacities(d: _Data, capacity: int, overrides: dict[str, int] | None) -> np.ndarray:
    def check(v, what):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{what} must be a whole number >= 0, got {v!r}")
        return int(v)

    cap = np.full(len(d.codes), check(capacity, "capacity"), dtype=np.int64)
    for code, v in (overrides or {}).items():
        v = check(v, f"capacity override for {code}")
        i = np.searchsorted(d.codes, str(code).upper())
        if i < len(d.codes) and d.codes[i] == str(code).upper():
            cap[i] = v
    return cap


@dataclass
class _Units:
    """Who takes needs, as the solver sees them: each state's own slots (its capacity, for every area without a
    published offer of its), and one more unit per published offer (that offer's capacity, for its area alone).
    Units are numbered in state order, a state's own unit first, so the solver's tie-break by mentor order is the
    state order as before. ``edge_unit`` gives each candidate edge its unit."""

    cap: np.ndarray  # per unit
    state: np.ndarray  # per unit: index into codes
    offer_id: np.ndarray  # per unit: the offer's id, -1 for a state's own unit
    offer_title: list  # per unit: the offer's title, "" for a state's own unit
    offer_key: dict  # (state index, area slug) -> unit
    own: np.ndarray  # per state: its own unit

    def of(self, state, area_slug: str) -> np.ndarray:
        """The unit taking a need in `area_slug` for each mentor in `state` (indices into codes)."""
        state = np.asarray(state, dtype=np.int64)
        return np.array([self.offer_key.get((int(s), area_slug), self.own[s]) for s in state], dtype=np.int64)


def _units(d: _Data, cap: np.ndarray, offers: pd.DataFrame | None) -> _Units:
    offer_rows: dict[int, list] = {}
    if offers is not None and len(offers):
        index = {c: i for i, c in enumerate(d.codes.astype(str))}
        for r in offers.sort_values(["state", "program_area"]).itertuples():
            s = index.get(str(r.state).upper())
            if s is None:
                continue
            v = int(r.capacity)
            if v < 0:
                raise ValueError(f"offer {r.offer_id}'s capacity must be >= 0, got {v}")
            offer_rows.setdefault(s, []).append((str(r.program_area), v, int(r.offer_id), str(r.title)))
    caps, states, ids, titles, key, own = [], [], [], [], {}, np.zeros(len(d.codes), dtype=np.int64)
    for s in range(len(d.codes)):
        own[s] = len(caps)
        caps.append(int(cap[s]))
        states.append(s)
        ids.append(-1)
        titles.append("")
        for area, v, oid, title in offer_rows.get(s, []):
            key[(s, area)] = len(caps)
            caps.append(v)
            states.append(s)
            ids.append(oid)
            titles.append(title)
    return _Units(
        np.array(caps, dtype=np.int64),
        np.array(states, dtype=np.int64),
        np.array(ids, dtype=np.int64),
        titles,
        key,
        own,
    )


def _edge_units(e: _Edges, d: _Data, u: _Units) -> np.ndarray:
    """Each candidate edge's unit (see _Units), in the edges' order."""
    out = u.own[e.mentor.astype(np.int64)]
    if u.offer_key:
        need_of_edge = np.repeat(np.arange(len(e.need_area)), np.diff(e.ptr))
        slug = np.array(d.area_slugs, dtype=object)[e.need_area[need_of_edge]]
        for (s, area), unit in u.offer_key.items():
            out[(e.mentor == s) & (slug == area)] = unit
    return out


def _empty(columns, dtypes=None) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=(dtypes or {}).get(c, "object")) for c in columns})


class Plans:
    """One cycle's needs and candidate edges, built once and solved for several capacity settings: for what-if
    questions (one more slot for one state) without building the explanations and tables ``suggest`` builds.

    ``solve`` runs the very graph, solver and tie-break ``suggest`` runs, so for the same assessments, weights and
    capacities it chooses the same mentor for every need (unless asked to stay close to another plan: ``keep``).
    Needs are in ``suggest``'s order (area in catalog order, then mentee); ``need_mentee``, ``need_area`` (slug;
    ``other`` for every named other area), ``need_area_key`` (one per named other area), ``need_label``,
    ``need_state`` (index into ``codes``) and ``need_candidates`` (how many mentors could take it) describe them.
    ``codes``/``names`` are the states, ``mentor_degree`` how many needs each could take.
    """

    def __init__(
        self,
        assessments: pd.DataFrame,
        weights: Weights = Weights(),
        *,
        jurisdictions: pd.DataFrame | None = None,
        borders: frozenset | None = None,
        offers: pd.DataFrame | None = None,
    ):
        self._d = d = _Data(assessments, jurisdictions, borders)
        self._e = e = _Edges(d, weights)
        self._u = _units(d, np.zeros(len(d.codes), dtype=np.int64), offers)  # offers' units fixed; own set per solve
        self._edge_unit = _edge_units(e, d, self._u)
        self.weights = weights
        self.codes = d.codes.astype(str)
        self.names = d.names.astype(str)
        self.need_state = e.need_state
        self.need_mentee = self.codes[e.need_state]
        self.need_area = np.array(d.area_slugs, dtype=object)[e.need_area].astype(str)
        self.need_area_key = np.array(d.areas, dtype=object)[e.need_area].astype(str)
        self.need_label = np.array(d.area_labels, dtype=object)[e.need_area].astype(str)
        self.need_candidates = np.diff(e.ptr)
        self.mentor_degree = np.bincount(e.mentor.astype(np.intp), minlength=len(d.codes))

    def capacities(self, capacity: int = DEFAULT_CAPACITY, overrides: dict[str, int] | None = None) -> np.ndarray:
        """Each state's capacity (by ``codes``), as ``suggest`` reads ``capacity`` and ``capacity_overrides``."""
        return _capacities(self._d, capacity, overrides)

    def solve(self, capacities: np.ndarray, keep: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """(mentor of each need as an index into ``codes``, -1 for none; total score in integer thousandths).

        ``keep``: a plan (as returned here) to stay close to: among the plans of the best total score, the one
        changing the fewest of its needs (then the usual tie-break). The total is the same with or without it."""
        e, u = self._e, self._u
        keep = None if keep is None else np.asarray(keep, dtype=np.int64)
        if keep is not None:  # the plan's mentors, as the units that took them
            need_slug = np.array(self._d.area_slugs, dtype=object)[e.need_area]
            keep = np.array(
                [-1 if m < 0 else int(u.of([m], need_slug[i])[0]) for i, m in enumerate(keep.tolist())], dtype=np.int64
            )
        unit_cap = u.cap.copy()
        unit_cap[u.own] = np.asarray(capacities, dtype=np.int64)
        got_need, got_unit = _match(*_slot_graph(e.ptr, self._edge_unit, e.score_int, unit_cap, keep))
        got_mentor = u.state[got_unit]
        mentor = np.full(len(e.need_state), -1, dtype=np.int64)
        mentor[got_need] = got_mentor
        total = int(e.score_int[e.locate(got_need, got_mentor)].astype(np.int64).sum()) if len(got_need) else 0
        return mentor, total


def suggest(
    assessments: pd.DataFrame,
    weights: Weights = Weights(),
    capacity: int = DEFAULT_CAPACITY,
    capacity_overrides: dict[str, int] | None = None,
    *,
    jurisdictions: pd.DataFrame | None = None,
    borders: frozenset | None = None,
    explain_candidates: bool = True,
    with_candidates: bool = True,
    offers: pd.DataFrame | None = None,
) -> PairingResult:
    """The optimal pairing for one cycle's assessments, with explanations and TA referrals for unserved needs.

    ``with_candidates=False`` leaves ``candidates`` an empty frame (same columns) and gives the same pairs,
    referrals and total: at county scale (millions of candidate edges) it saves most of the time and memory, and
    the app never shows the candidates. ``explain_candidates=False`` keeps the candidates but leaves their
    ``reasons`` empty (the pairs are always explained).

    ``offers`` (state, program_area, offer_id, title, capacity: the published offers) give a state, in an offer's
    area, that offer's capacity instead of ``capacity``; its other areas keep ``capacity`` (or its override). A pair
    taken through an offer names it (``offer_id``, ``offer_title`` and its reasons).
    """
    d = _Data(assessments, jurisdictions, borders)
    e = _Edges(d, weights)
    cap = _capacities(d, capacity, capacity_overrides)
    u = _units(d, cap, offers)
    need_area, need_state = e.need_area, e.need_state
    n_needs = len(need_state)
    graph, slots = _slot_graph(e.ptr, _edge_units(e, d, u), e.score_int, u.cap)
    if not with_candidates:
        e = None  # free the edges before the solver's own peak; what is needed below is recomputed
    got_need, got_unit = _match(graph, slots)  # by need, i.e. in (area, mentee) order
    got_mentor = u.state[got_unit]
    del graph
    codes = pd.array(d.codes, dtype="str")
    names = pd.array(d.names, dtype="str")
    area_labels = np.array(d.area_labels, dtype=object)
    label_array = pd.array(area_labels, dtype="str")
    slugs = pd.array(d.area_slugs, dtype="str")

    def with_names(df: pd.DataFrame, area, mentor, mentee) -> pd.DataFrame:
        df["mentor_name"] = names.take(mentor)
        df["mentee_name"] = names.take(mentee)
        df["area_label"] = label_array.take(area)
        return df

    # pairs, from the chosen edges alone
    area, mentee = need_area[got_need], need_state[got_need]
    f = _features(d, area, got_mentor, mentee)
    chosen_score = _score_int(f, weights)
    pairs = with_names(_edge_frame(d, weights, area, got_mentor, mentee, chosen_score, f=f), area, got_mentor, mentee)[
        PAIR_COLUMNS[:-2]
    ]
    oid = u.offer_id[got_unit]
    pairs["offer_id"] = pd.array([int(x) if x >= 0 else pd.NA for x in oid], dtype="Int64")
    pairs["offer_title"] = pd.array([u.offer_title[x] or None for x in got_unit], dtype="object")
    through = oid >= 0
    if through.any():
        pairs.loc[through, "reasons"] = [
            f"{r}; through {n}'s offer “{u.offer_title[x]}” ({int(u.cap[x])} a cycle)"
            for r, n, x in zip(pairs.loc[through, "reasons"], pairs.loc[through, "mentor_name"], got_unit[through])
        ]
    load = np.bincount(got_mentor, minlength=len(d.codes))
    unit_load = np.bincount(got_unit, minlength=len(u.cap))
    assert (unit_load <= u.cap).all() and len(np.unique(got_need)) == len(got_need)

    # every candidate edge, only on request
    if with_candidates:
        chosen = e.locate(got_need, got_mentor)
        assert (e.score_int[chosen] == chosen_score).all()
        _, area, mentor, mentee = e.ends()
        cand = with_names(
            _edge_frame(d, weights, area, mentor, mentee, e.score_int.astype(np.int64), explain_candidates),
            area,
            mentor,
            mentee,
        )
        del area, mentor, mentee
        is_chosen = np.zeros(len(e), dtype=bool)
        is_chosen[chosen] = True
        cand["chosen"] = is_chosen
    else:
        none = np.zeros(0, dtype=np.intp)
        cand = with_names(
            _edge_frame(d, weights, none, none, none, none.astype(np.int64), explain_candidates), none, none, none
        )
        cand["chosen"] = np.zeros(0, dtype=bool)

    # referrals: needs without a mentor
    served = np.zeros(n_needs, dtype=bool)
    served[got_need] = True
    open_needs = np.flatnonzero(~served)
    ranked = {}  # open need -> its candidate mentors, best first (recomputed: the edges may be gone)
    for ai in np.unique(need_area[open_needs]).tolist():
        group = open_needs[need_area[open_needs] == ai]
        mentors = np.flatnonzero(d.eligible[ai])
        step = max(1, _BLOCK // max(len(mentors), 1))
        for b in range(0, len(group) if len(mentors) else 0, step):
            rows = group[b : b + step]
            states = need_state[rows]
            ok = _candidate_grid(d, ai, states, mentors)
            sc = _score_int(_features(d, ai, mentors[None, :], states[:, None]), weights)
            for q, ni in enumerate(rows.tolist()):
                ms = mentors[ok[q]]
                ranked[ni] = ms[np.lexsort((ms, -sc[q][ok[q]]))]
    referrals = []
    for ni in open_needs.tolist():
        ai, s = int(need_area[ni]), int(need_state[ni])
        area_text = area_labels[ai]
        ms = ranked.get(ni, ())
        if len(ms):
            full = u.of(ms, d.area_slugs[ai])
            assert (unit_load[full] >= u.cap[full]).all(), "a need was left open while a candidate mentor had room"
            names_ = [d.names[m] for m in ms]
            verb = "is" if len(names_) == 1 else "are"
            noun = "mentor" if len(names_) == 1 else "mentors"
            reason = f"eligible {noun} ({_names_list(names_)}) {verb} at capacity"
            code, considered = AT_CAPACITY, [d.codes[m] for m in ms]
        else:
            others = np.flatnonzero(d.eligible[ai])
            others = others[others != s]
            if len(others):
                ms = others[np.lexsort((others, -d.mat[ai, others]))]
                names_ = [f"{d.names[m]} ({d.mat[ai, m]})" for m in ms]
                reason = (
                    f"no eligible mentor in {area_text} is rated above {d.names[s]}'s "
                    f"{d.mat[ai, s]}: {_names_list(names_)}"
                )
                code, considered = NO_MENTOR_AHEAD, [d.codes[m] for m in ms]
            else:
                other = " other" if d.eligible[ai, s] else ""
                reason = f"no{other} state offers eligible help in {area_text}"
                weak = np.flatnonzero(d.offers[ai] & ~d.eligible[ai])
                weak = weak[weak != s]
                if len(weak):
                    weak = weak[np.lexsort((weak, -d.mat[ai, weak]))]
                    why = [f"{d.names[m]} {catalog.mentor_ineligibility(True, int(d.mat[ai, m]))}" for m in weak]
                    reason += "; " + "; ".join(why[:MAX_LISTED])
                    if len(why) > MAX_LISTED:
                        reason += f"; and {len(why) - MAX_LISTED} more offers below maturity {catalog.MENTOR_MIN}"
                code, considered = NO_ELIGIBLE_MENTOR, []
        referrals.append(
            (
                d.codes[s],
                d.area_slugs[ai],
                int(d.mat[ai, s]),
                reason,
                code,
                ", ".join(considered),
                d.names[s],
                area_text,
            )
        )
    int_cols = {"mentee_maturity": "int64"}
    ref = (
        pd.DataFrame(referrals, columns=REFERRAL_COLUMNS).astype(int_cols)
        if referrals
        else _empty(REFERRAL_COLUMNS, int_cols)
    )

    # offers that cannot be used, and mentor load
    ka, ks = np.nonzero(d.offers & ~d.eligible)
    inel = pd.DataFrame(
        {
            "state": codes.take(ks),
            "program_area": slugs.take(ka),
            "maturity": d.mat[ka, ks],
            "reason": [catalog.mentor_ineligibility(True, int(m)) for m in d.mat[ka, ks]],
            "state_name": d.names[ks].astype(str),
            "area_label": area_labels[ka].astype(str),
        },
        columns=INELIGIBLE_COLUMNS,
    )
    mi = np.flatnonzero(d.mentor_areas > 0)
    mentor_load = pd.DataFrame(
        {
            "mentor": codes.take(mi),
            "mentor_name": d.names[mi].astype(str),
            "capacity": np.bincount(u.state, weights=u.cap, minlength=len(d.codes)).astype(np.int64)[mi],
            "assigned": load[mi],
            "mentor_areas": d.mentor_areas[mi],
        },
        columns=LOAD_COLUMNS,
    )
    return PairingResult(
        pairs=pairs,
        referrals=ref,
        candidates=cand,
        total_score=int(chosen_score.sum()) / SCALE,
        ineligible_offers=inel,
        mentor_load=mentor_load,
        weights=weights,
        capacity=int(capacity),
        capacity_overrides=dict(capacity_overrides or {}),
    )
