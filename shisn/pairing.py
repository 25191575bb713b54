"""Mentor-mentee pairing: candidate edges, their scores and explanations, and the optimal assignment.

Pure functions over one cycle's assessment rows (no Streamlit, no database).

Who can be paired
    A *need* is a (state, program area) row with ``seeks_help``; states that did not opt in are never paired, however
    weak they are. A *mentor* in an area is a state with ``offers_help`` and maturity >= ``catalog.MENTOR_MIN`` there.
    A candidate edge (mentor, mentee, area) also requires mentor != mentee and mentor maturity > mentee maturity.

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from . import catalog

DEFAULT_CAPACITY = 3
SCALE = 1000                      # scores are optimised as integer thousandths
SIMILAR_POPULATION_RATIO = 2.0    # "similar population" in explanations: within a factor of 2
MAX_LISTED = 5                    # mentors named in one referral reason before "and N more"
_GAP_RANGE = catalog.MAX_LEVEL - catalog.MIN_LEVEL
_BREADTH_RANGE = max(1, len(catalog.AREA_SLUGS) - 1)
_EXACT_LIMIT = 2 ** 50            # keep every float cost (and sums of them) an exactly representable integer

REQUIRED_COLUMNS = ("state", "program_area", "maturity", "offers_help", "seeks_help")
CANDIDATE_COLUMNS = ["mentor", "mentee", "program_area", "score", "mentor_maturity", "mentee_maturity",
                     "same_region", "shared_border", "reasons", "population_similarity", "mentor_areas"]
PAIR_COLUMNS = ["mentor", "mentee", "program_area", "score", "reasons", "mentor_maturity", "mentee_maturity",
                "same_region", "shared_border", "mentor_name", "mentee_name", "area_label"]
REFERRAL_COLUMNS = ["mentee", "program_area", "mentee_maturity", "reason", "reason_code", "considered",
                    "mentee_name", "area_label"]
INELIGIBLE_COLUMNS = ["state", "program_area", "maturity", "reason", "state_name", "area_label"]
LOAD_COLUMNS = ["mentor", "mentor_name", "capacity", "assigned", "mentor_areas"]

# Referral reason codes
NO_ELIGIBLE_MENTOR = "no_eligible_mentor"   # nobody (else) offers eligible help in the area
NO_MENTOR_AHEAD = "no_mentor_ahead"         # eligible mentors exist, none rated above the mentee
AT_CAPACITY = "at_capacity"                 # candidate mentors exist, all are full


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
        return {name: {"label": label, "help": text, "default": getattr(defaults, name)}
                for name, (label, text) in WEIGHT_DESCRIPTIONS.items()}

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


WEIGHT_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "base": ("Serve more needs", "Value of giving a need any mentor at all; higher values favour serving more "
                                 "needs over better-fitting pairs."),
    "maturity_gap": ("Maturity gap", "Value of the mentor being further ahead (full weight for a 4-level gap, "
                                     "a quarter per level)."),
    "same_region": ("Same FEMA region", "Both states are in the same FEMA region."),
    "shared_border": ("Shared border", "The two states share a land border."),
    "similar_population": ("Similar population", "Similar size as a proxy for a similar program: full weight for "
                                                 "equal population, none from a factor of 10 apart."),
    "breadth": ("Mentor breadth", "Mentors able to help in many program areas bring cross-cutting experience; "
                                  "full weight when eligible in every area."),
}
assert set(WEIGHT_DESCRIPTIONS) == {f.name for f in fields(Weights)}


@dataclass
class PairingResult:
    pairs: pd.DataFrame       # PAIR_COLUMNS, sorted by (program area in catalog order, mentee)
    referrals: pd.DataFrame   # REFERRAL_COLUMNS, needs left without a mentor, same order
    candidates: pd.DataFrame  # CANDIDATE_COLUMNS (+ names, area_label, chosen)
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
    text = s.astype(object).map(lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                                else str(v).strip().lower())
    bad = sorted(set(text) - _TRUE - _FALSE)
    if bad:
        raise ValueError(f"{name} must be yes/no, got {bad[:5]}")
    return text.isin(_TRUE).to_numpy(dtype=bool)


def _area_order(slugs) -> list[str]:
    known = {s: i for i, s in enumerate(catalog.AREA_SLUGS)}
    return sorted(set(slugs), key=lambda s: (known.get(s, len(known)), s))


def _area_label(slug: str) -> str:
    return catalog.area_label(slug) if slug in catalog.AREAS_BY_SLUG else str(slug)


def _region_text(region: float) -> str:
    from .jurisdictions import ROMAN
    r = int(region)
    return f"FEMA Region {ROMAN[r]}" if r in ROMAN else f"FEMA region {r}"


class _Data:
    """One cycle's assessments as integer arrays over a sorted universe of state codes."""

    def __init__(self, assessments: pd.DataFrame, jurisdictions: pd.DataFrame | None, borders: frozenset | None):
        missing = [c for c in REQUIRED_COLUMNS if c not in assessments.columns]
        if missing:
            raise ValueError(f"assessments lack required columns: {', '.join(missing)}")
        a = assessments
        if "cycle" in a.columns and a["cycle"].dropna().nunique() > 1:
            raise ValueError(f"assessments hold several cycles ({sorted(a['cycle'].dropna().unique().tolist())}); "
                             "pair one cycle at a time")
        state = a["state"].astype(str).str.strip().str.upper().to_numpy(dtype=object)
        area = a["program_area"].astype(str).str.strip().to_numpy(dtype=object)
        if a["maturity"].isna().any():
            raise ValueError("maturity is missing in some rows")
        maturity = pd.to_numeric(a["maturity"]).to_numpy()
        if not (np.equal(np.mod(maturity, 1), 0).all()
                and ((maturity >= catalog.MIN_LEVEL) & (maturity <= catalog.MAX_LEVEL)).all()):
            raise ValueError(f"maturity must be a whole number {catalog.MIN_LEVEL}-{catalog.MAX_LEVEL}")
        maturity = maturity.astype(np.int64)
        offers = _flag(a["offers_help"], "offers_help")
        seeks = _flag(a["seeks_help"], "seeks_help")

        self.codes = np.array(sorted(set(state)), dtype=object)
        self.areas = _area_order(area)
        n, k = len(self.codes), len(self.areas)
        si = np.searchsorted(self.codes, state).astype(np.int64) if n else np.zeros(0, np.int64)
        area_index = {x: i for i, x in enumerate(self.areas)}
        ai = np.fromiter((area_index[x] for x in area), dtype=np.int64, count=len(area))
        key = ai * max(n, 1) + si
        if len(np.unique(key)) != len(key):
            dup = pd.Series(list(zip(state, area)))[pd.Series(key).duplicated()].iloc[0]
            raise ValueError(f"several rows for {dup[0]} in {dup[1]}; expected one row per state and area")
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
            from . import jurisdictions as J
            jurisdictions = J.jurisdictions()
        if borders is None:
            from . import jurisdictions as J
            borders = J.borders()
        jur = jurisdictions.drop_duplicates("code").set_index("code")
        codes = pd.Index(self.codes)
        self.names = np.array([str(x) for x in
                               jur["name"].reindex(codes).fillna(pd.Series(self.codes, index=codes))], dtype=object) \
            if "name" in jur.columns else self.codes.copy()
        self.region = (pd.to_numeric(jur["fema_region"].reindex(codes), errors="coerce").to_numpy(dtype=float)
                       if "fema_region" in jur.columns else np.full(n, np.nan))
        pop = (pd.to_numeric(jur["population"].reindex(codes), errors="coerce").to_numpy(dtype=float, copy=True)
               if "population" in jur.columns else np.full(n, np.nan))
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

class _Edges:
    """Candidate edges as arrays, sorted by (need, mentor); needs sorted by (area in catalog order, mentee)."""

    def __init__(self, d: _Data, w: Weights):
        n = len(d.codes)
        need_area, need_state, e_need, e_mentor = [], [], [], []
        offset = 0
        for ai in range(len(d.areas)):
            needs = np.flatnonzero(d.seeks[ai])
            mentors = np.flatnonzero(d.eligible[ai])
            need_area.append(np.full(len(needs), ai, dtype=np.int64))
            need_state.append(needs)
            if len(needs) and len(mentors):
                nn = np.repeat(np.arange(len(needs)), len(mentors))
                mm = np.tile(mentors, len(needs))
                keep = (mm != needs[nn]) & (d.mat[ai, mm] > d.mat[ai, needs[nn]])
                e_need.append(nn[keep] + offset)
                e_mentor.append(mm[keep])
            offset += len(needs)
        cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64)  # noqa: E731
        self.need_area, self.need_state = cat(need_area), cat(need_state)
        self.need, self.mentor = cat(e_need), cat(e_mentor)
        self.area = self.need_area[self.need]
        self.mentee = self.need_state[self.need]
        self.mentor_mat = d.mat[self.area, self.mentor]
        self.mentee_mat = d.mat[self.area, self.mentee]
        self.gap = self.mentor_mat - self.mentee_mat
        rm, re_ = d.region[self.mentor], d.region[self.mentee]
        self.same_region = np.isfinite(rm) & (rm == re_)
        lo, hi = np.minimum(self.mentor, self.mentee), np.maximum(self.mentor, self.mentee)
        keys = lo * n + hi
        pos = np.searchsorted(d.border_keys, keys)
        self.shared_border = (pos < len(d.border_keys)) & (d.border_keys[np.minimum(pos, len(d.border_keys) - 1)]
                                                            == keys) if len(d.border_keys) else np.zeros(len(keys),
                                                                                                         bool)
        dlog = np.abs(d.log_pop[self.mentor] - d.log_pop[self.mentee])
        self.pop_sim = np.nan_to_num(np.clip(1.0 - dlog, 0.0, 1.0), nan=0.0)
        self.similar_pop = np.nan_to_num(dlog, nan=np.inf) <= math.log10(SIMILAR_POPULATION_RATIO) + 1e-12
        self.breadth_n = d.mentor_areas[self.mentor]
        breadth = np.clip((self.breadth_n - 1) / _BREADTH_RANGE, 0.0, 1.0)
        score = (w.base + w.maturity_gap * self.gap / _GAP_RANGE + w.same_region * self.same_region
                 + w.shared_border * self.shared_border + w.similar_population * self.pop_sim
                 + w.breadth * breadth)
        self.score_int = np.maximum(np.rint(score * SCALE), 1).astype(np.int64)

    def __len__(self):
        return len(self.need)

    def reasons(self, d: _Data, w: Weights, idx: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
        """Plain-language explanation of edges ``idx`` (all edges by default), built per distinct combination."""
        idx = np.arange(len(self)) if idx is None else idx
        if not len(idx):
            return pd.array([], dtype="str")
        region = np.where(self.same_region[idx] & (w.same_region > 0), d.region[self.mentor[idx]], -1)
        region = np.where(np.isfinite(region), region, -1).astype(np.int64) + 1
        combo = ((((region * 2 + (self.shared_border[idx] & (w.shared_border > 0))) * 2
                   + (self.similar_pop[idx] & (w.similar_population > 0))) * 8 + self.gap[idx]) * 64
                 + np.where(w.breadth > 0, self.breadth_n[idx], 0))
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
        import pyarrow as pa
        import pyarrow.compute as pc
        per = catalog.MAX_LEVEL + 1
        labels = pa.array([f"{nm} ({m})" for nm in d.names for m in range(per)], type=pa.string())
        area_labels = pa.array([_area_label(a) for a in d.areas], type=pa.string())
        out = pc.binary_join_element_wise(
            labels.take(pa.array(self.mentor[idx] * per + self.mentor_mat[idx])), " → ",
            labels.take(pa.array(self.mentee[idx] * per + self.mentee_mat[idx])), ", ",
            area_labels.take(pa.array(self.area[idx])), ": ",
            pa.array(texts, type=pa.string()).take(pa.array(inv.astype(np.int64))), "")
        return pd.Series(out.to_pandas(), dtype="str").array

    def frame(self, d: _Data, w: Weights, explain: bool = True) -> pd.DataFrame:
        codes = pd.array(d.codes, dtype="str")
        areas = pd.array(list(d.areas), dtype="str")
        df = pd.DataFrame({
            "mentor": codes.take(self.mentor),
            "mentee": codes.take(self.mentee),
            "program_area": areas.take(self.area),
            "score": self.score_int / SCALE,
            "mentor_maturity": self.mentor_mat,
            "mentee_maturity": self.mentee_mat,
            "same_region": self.same_region,
            "shared_border": self.shared_border,
            "reasons": self.reasons(d, w) if explain else pd.array(np.full(len(self), None, dtype=object), dtype="str"),
            "population_similarity": np.round(self.pop_sim, 3),
            "mentor_areas": self.breadth_n,
        })
        return df


def candidates(assessments: pd.DataFrame, weights: Weights = Weights(), *, jurisdictions: pd.DataFrame | None = None,
               borders: frozenset | None = None, explain: bool = True) -> pd.DataFrame:
    """Every candidate edge (mentor, mentee, program_area) with its score and explanation.

    Sorted by (program area in catalog order, mentee, mentor). ``explain=False`` leaves ``reasons`` empty, which
    saves time and memory for millions of edges.
    """
    d = _Data(assessments, jurisdictions, borders)
    return _Edges(d, weights).frame(d, weights, explain)


# ------------------------------------------------------------------------------------------------ solver

def solve_bmatching(need: np.ndarray, mentor: np.ndarray, score: np.ndarray, capacity: np.ndarray,
                    n_needs: int) -> np.ndarray:
    """Exact maximum-weight bipartite b-matching; returns the indices of the chosen edges.

    ``need``/``mentor`` index the edges' ends (at most one edge per pair), ``score`` are positive integers,
    ``capacity[m]`` bounds mentor ``m``'s load and each need takes at most one edge. Among optimal solutions the one
    with the smallest sum of mentor indices is preferred (deterministic tie-break). See the module docstring.
    """
    need = np.asarray(need, dtype=np.int64)
    mentor = np.asarray(mentor, dtype=np.int64)
    score = np.asarray(score, dtype=np.int64)
    capacity = np.asarray(capacity, dtype=np.int64)
    if len(score) and score.min() <= 0:
        raise ValueError("scores must be positive")
    live = np.flatnonzero(capacity[mentor] > 0)
    if not len(live) or n_needs == 0:
        return np.zeros(0, dtype=np.int64)
    order = live[np.lexsort((mentor[live], need[live]))]  # rows of the CSR must come need by need
    nd, mt, sc = need[order], mentor[order], score[order]
    n_m = len(capacity)
    slots = np.minimum(capacity, np.bincount(mt, minlength=n_m))
    off = np.concatenate([[0], np.cumsum(slots)])
    n_slots = int(off[-1])
    top = int(sc.max()) + 1
    big = n_needs * n_m + 1                                  # sum of tie-breaks over any matching < big
    if (n_needs + 1) * top * big >= _EXACT_LIMIT:
        big, tie = 1, np.zeros(len(mt), dtype=np.int64)      # huge scores: no tie-break, still exact
    else:
        tie = mt
    k = slots[mt]
    per_row = np.bincount(nd, weights=k, minlength=n_needs).astype(np.int64) + 1
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float64)
    rep = np.repeat(np.arange(len(mt)), k)
    within = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    pos = np.arange(len(rep)) + nd[rep]                      # shift by the unmatched columns of earlier rows
    indices[pos] = off[mt[rep]] + within
    data[pos] = ((top - sc[rep]) * big + tie[rep]).astype(np.float64)
    last = indptr[1:] - 1
    indices[last] = n_slots + np.arange(n_needs)
    data[last] = float(top * big)
    graph = sparse.csr_array((data, indices, indptr), shape=(n_needs, n_slots + n_needs))
    rows, cols = min_weight_full_bipartite_matching(graph)
    real = cols < n_slots
    slot_owner = np.repeat(np.arange(n_m), slots)
    got_need, got_mentor = rows[real].astype(np.int64), slot_owner[cols[real]]
    edge_key = nd * n_m + mt                                 # sorted
    at = np.searchsorted(edge_key, got_need * n_m + got_mentor)
    assert (edge_key[at] == got_need * n_m + got_mentor).all()
    return np.sort(order[at])


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


def _empty(columns, dtypes=None) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=(dtypes or {}).get(c, "object")) for c in columns})


def suggest(assessments: pd.DataFrame, weights: Weights = Weights(), capacity: int = DEFAULT_CAPACITY,
            capacity_overrides: dict[str, int] | None = None, *, jurisdictions: pd.DataFrame | None = None,
            borders: frozenset | None = None, explain_candidates: bool = True) -> PairingResult:
    """The optimal pairing for one cycle's assessments, with explanations and TA referrals for unserved needs."""
    d = _Data(assessments, jurisdictions, borders)
    e = _Edges(d, weights)
    cap = _capacities(d, capacity, capacity_overrides)
    n_needs = len(e.need_state)
    chosen = solve_bmatching(e.need, e.mentor, e.score_int, cap, n_needs)
    codes = pd.array(d.codes, dtype="str")
    area_labels = np.array([_area_label(a) for a in d.areas], dtype=object)
    slugs = pd.array(list(d.areas), dtype="str")

    cand = e.frame(d, weights, explain_candidates)
    cand["mentor_name"] = pd.array(d.names, dtype="str").take(e.mentor)
    cand["mentee_name"] = pd.array(d.names, dtype="str").take(e.mentee)
    cand["area_label"] = pd.array(area_labels, dtype="str").take(e.area)
    is_chosen = np.zeros(len(e), dtype=bool)
    is_chosen[chosen] = True
    cand["chosen"] = is_chosen

    # pairs (chosen edges are already in (area, mentee) order)
    pairs = cand.iloc[chosen][[c for c in PAIR_COLUMNS if c != "reasons"]].reset_index(drop=True)
    pairs.insert(PAIR_COLUMNS.index("reasons"), "reasons",
                 e.reasons(d, weights, chosen) if len(chosen) else pd.array([], dtype="str"))
    load = np.bincount(e.mentor[chosen], minlength=len(d.codes))
    assert (load <= cap).all() and len(np.unique(e.need[chosen])) == len(chosen)

    # referrals: needs without a mentor
    served = np.zeros(n_needs, dtype=bool)
    served[e.need[chosen]] = True
    open_needs = np.flatnonzero(~served)
    referrals = []
    if len(open_needs):
        # candidates of open needs, best first
        open_mask = ~served[e.need]
        oi = np.flatnonzero(open_mask)
        oi = oi[np.lexsort((e.mentor[oi], -e.score_int[oi], e.need[oi]))]
        starts = np.searchsorted(e.need[oi], open_needs)
        ends = np.searchsorted(e.need[oi], open_needs, side="right")
        for q, ni in enumerate(open_needs):
            ai, s = int(e.need_area[ni]), int(e.need_state[ni])
            area_text = area_labels[ai]
            cands = oi[starts[q]:ends[q]]
            if len(cands):
                ms = e.mentor[cands]
                assert (load[ms] >= cap[ms]).all(), "a need was left open while a candidate mentor had room"
                names = [d.names[m] for m in ms]
                verb = "is" if len(names) == 1 else "are"
                noun = "mentor" if len(names) == 1 else "mentors"
                reason = f"eligible {noun} ({_names_list(names)}) {verb} at capacity"
                code, considered = AT_CAPACITY, [d.codes[m] for m in ms]
            else:
                others = np.flatnonzero(d.eligible[ai])
                others = others[others != s]
                if len(others):
                    ms = others[np.lexsort((others, -d.mat[ai, others]))]
                    names = [f"{d.names[m]} ({d.mat[ai, m]})" for m in ms]
                    reason = (f"no eligible mentor in {area_text} is rated above {d.names[s]}'s "
                              f"{d.mat[ai, s]}: {_names_list(names)}")
                    code, considered = NO_MENTOR_AHEAD, [d.codes[m] for m in ms]
                else:
                    other = " other" if d.eligible[ai, s] else ""
                    reason = f"no{other} state offers eligible help in {area_text}"
                    weak = np.flatnonzero(d.offers[ai] & ~d.eligible[ai])
                    weak = weak[weak != s]
                    if len(weak):
                        weak = weak[np.lexsort((weak, -d.mat[ai, weak]))]
                        why = [f"{d.names[m]} {catalog.mentor_ineligibility(True, int(d.mat[ai, m]))}"
                               for m in weak]
                        reason += "; " + "; ".join(why[:MAX_LISTED])
                        if len(why) > MAX_LISTED:
                            reason += f"; and {len(why) - MAX_LISTED} more offers below maturity {catalog.MENTOR_MIN}"
                    code, considered = NO_ELIGIBLE_MENTOR, []
            referrals.append((d.codes[s], d.areas[ai], int(d.mat[ai, s]), reason, code, ", ".join(considered),
                              d.names[s], area_text))
    int_cols = {"mentee_maturity": "int64"}
    ref = (pd.DataFrame(referrals, columns=REFERRAL_COLUMNS).astype(int_cols) if referrals
           else _empty(REFERRAL_COLUMNS, int_cols))

    # offers that cannot be used, and mentor load
    ka, ks = np.nonzero(d.offers & ~d.eligible)
    inel = pd.DataFrame({
        "state": codes.take(ks), "program_area": slugs.take(ka), "maturity": d.mat[ka, ks],
        "reason": [catalog.mentor_ineligibility(True, int(m)) for m in d.mat[ka, ks]],
        "state_name": d.names[ks].astype(str), "area_label": area_labels[ka].astype(str),
    }, columns=INELIGIBLE_COLUMNS)
    mi = np.flatnonzero(d.mentor_areas > 0)
    mentor_load = pd.DataFrame({"mentor": codes.take(mi), "mentor_name": d.names[mi].astype(str),
                                "capacity": cap[mi], "assigned": load[mi], "mentor_areas": d.mentor_areas[mi]},
                               columns=LOAD_COLUMNS)
    return PairingResult(pairs=pairs, referrals=ref, candidates=cand,
                         total_score=int(e.score_int[chosen].sum()) / SCALE, ineligible_offers=inel,
                         mentor_load=mentor_load, weights=weights, capacity=int(capacity),
                         capacity_overrides=dict(capacity_overrides or {}))
