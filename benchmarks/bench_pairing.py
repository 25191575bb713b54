"""Benchmark the pairing engine against scipy.optimize.milp (HiGHS) on the same synthetic instances.

    python benchmarks/bench_pairing.py [--scale state|county|both] [--seed N] [--milp-time-limit SECONDS]

state:  the 56 shipped jurisdictions (names, FEMA regions, populations, borders) x 9 program areas.
county: 3,100 synthetic jurisdictions on a 62 x 50 grid: 10 rectangular "regions", borders between grid neighbours
        (rook adjacency), log-normal populations; seeded.
Assessments are synthetic and seeded: about 20% eligible mentors and 25% seekers per area, plus some offers below
maturity 4 (ineligible) and some seekers that are already strong.

The engine's pairing is timed end to end (``pairing.suggest``, with every candidate explained), and its solver
alone. The same instance (the engine's own integer scores, the same need and capacity constraints, built here from
the public ``pairing.candidates`` frame) is then solved as a 0/1 program with ``scipy.optimize.milp``. The optima
must be equal; the script exits 1 if they differ and 2 if milp could neither finish nor prove the engine optimal
through its dual bound within the time limit.

``run(scale) -> dict`` is the entry point for other benchmark runners.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shisn.domain import (  # noqa: E402
    catalog,
    jurisdictions,  # noqa: E402
    pairing,
)

CAPACITY = pairing.DEFAULT_CAPACITY
GRID = (62, 50)  # 3,100 synthetic jurisdictions


def synthetic_assessments(codes, seed: int) -> pd.DataFrame:
    """One cycle, every jurisdiction x area: ~20% eligible mentors, ~25% seekers per area."""
    rng = np.random.default_rng(seed)
    n = len(codes)
    frames = []
    for area in catalog.AREA_SLUGS:
        mat = rng.choice(np.arange(1, 6), size=n, p=[0.10, 0.20, 0.30, 0.25, 0.15])
        u = rng.random(n)
        offers = np.where(mat >= 4, u < 0.5, np.where(mat == 3, u < 0.15, False))  # 20% eligible, ~4.5% not
        v = rng.random(n)
        seeks = np.select([mat <= 2, mat == 3], [v < 0.6, v < 0.2], v < 0.02) & ~(offers & (mat >= 4))
        frames.append(
            pd.DataFrame(
                {
                    "state": codes,
                    "program_area": area,
                    "cycle": 2026,
                    "maturity": mat,
                    "offers_help": offers,
                    "seeks_help": seeks,
                    "notes": "",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def instance(scale: str, seed: int = 2004):
    """(assessments, jurisdictions, borders, note) for 'state' or 'county'."""
    if scale == "state":
        jur = jurisdictions.jurisdictions()[["code", "name", "fema_region", "population"]]
        try:
            borders, note = jurisdictions.borders(), "shipped borders"
        except FileNotFoundError:
            borders, note = frozenset(), "data/borders.csv missing: no borders"
        return synthetic_assessments(jur["code"].to_numpy(), seed), jur, borders, note
    if scale == "county":
        rng = np.random.default_rng(seed + 1)
        cols, rows = GRID
        n = cols * rows
        r, c = np.divmod(np.arange(n), cols)
        codes = np.array([f"C{i:04d}" for i in range(n)], dtype=object)
        region = 1 + (c * 5 // cols) + 5 * (r * 2 // rows)
        pop = np.rint(rng.lognormal(np.log(30_000), 1.3, n)).astype(np.int64) + 100
        jur = pd.DataFrame(
            {"code": codes, "name": [f"County {i:04d}" for i in range(n)], "fema_region": region, "population": pop}
        )
        idx = np.arange(n).reshape(rows, cols)
        pairs = np.concatenate(
            [
                np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
                np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1),
            ]
        )
        borders = frozenset((codes[a], codes[b]) for a, b in pairs)
        return synthetic_assessments(codes, seed), jur, borders, f"{cols}x{rows} grid, rook borders"
    raise ValueError(f"unknown scale {scale!r}")


def _milp_child(conn, w, a, ub, time_limit):
    t = time.perf_counter()
    res = milp(
        c=-w.astype(float),
        constraints=LinearConstraint(a, -np.inf, ub),
        integrality=np.ones(len(w)),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False, "presolve": False},
    )
    bound = getattr(res, "mip_dual_bound", None)
    conn.send(
        {
            "seconds": time.perf_counter() - t,
            "x": None if res.x is None else np.rint(res.x).astype(np.int8),
            "status": int(res.status),
            "message": res.message,
            "bound": None if bound is None or not np.isfinite(bound) else float(bound),
        }
    )
    conn.close()


def milp_optimum(cand: pd.DataFrame, capacity: int, time_limit: float) -> dict:
    """Solve max sum(score_int * x) s.t. one mentor per need, mentor load <= capacity, x binary.

    HiGHS's MIP presolve is switched off: on the county instance it ran for 45 minutes without honouring the time
    limit (it builds clique tables over 4 million binaries), while the root LP alone solves it (the constraint matrix
    is totally unimodular). milp runs in a child process that is stopped if it overruns the limit by more than a
    minute, so the benchmark always ends.
    """
    w = np.rint(cand["score"].to_numpy() * pairing.SCALE).astype(np.int64)
    if len(w) == 0:
        return {"objective": 0, "status": 0, "message": "empty", "seconds": 0.0, "dual_bound": 0.0}
    need = cand.groupby(["program_area", "mentee"], sort=True).ngroup().to_numpy()
    mentor = pd.factorize(cand["mentor"], sort=True)[0]
    n_e, n_need, n_m = len(w), int(need.max()) + 1, int(mentor.max()) + 1
    cols = np.arange(n_e)
    a = sparse.csr_array(
        (np.ones(2 * n_e), (np.concatenate([need, n_need + mentor]), np.concatenate([cols, cols]))),
        shape=(n_need + n_m, n_e),
    )
    ub = np.concatenate([np.ones(n_need), np.full(n_m, capacity)])
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    t = time.perf_counter()
    proc = ctx.Process(target=_milp_child, args=(child, w, a, ub, time_limit))
    proc.start()
    child.close()
    got = parent.recv() if parent.poll(time_limit + 60) else None
    seconds = time.perf_counter() - t
    if got is None:
        proc.kill()
        proc.join()
        return {
            "objective": None,
            "status": -1,
            "message": f"killed after {seconds:.0f}s (time limit {time_limit:.0f}s not honoured)",
            "seconds": seconds,
            "dual_bound": None,
        }
    proc.join()
    obj = None if got["x"] is None else int(w @ got["x"].astype(np.int64))
    return {
        "objective": obj,
        "status": got["status"],
        "message": got["message"],
        "seconds": got["seconds"],
        "dual_bound": None if got["bound"] is None else -got["bound"],
    }


def _timed(repeat: int, fn, *args, **kwargs):
    """(result, median seconds over `repeat` calls)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        times.append(time.perf_counter() - t)
    return out, float(np.median(times))


def run(scale: str, seed: int = 2004, milp_time_limit: float = 600.0, verbose: bool = False) -> dict:
    """Time the engine and milp on one synthetic instance; ``equal`` is True when both optima agree."""
    log = (lambda *a: print(*a, flush=True)) if verbose else (lambda *a: None)
    t = time.perf_counter()
    assessments, jur, borders, note = instance(scale, seed)
    log(f"[{scale}] instance built in {time.perf_counter() - t:.1f}s ({note})")

    repeat = 7 if scale == "state" else 1
    result, engine_s = _timed(
        repeat, pairing.suggest, assessments, capacity=CAPACITY, jurisdictions=jur, borders=borders
    )
    _, engine_lean_s = _timed(
        repeat,
        pairing.suggest,
        assessments,
        capacity=CAPACITY,
        jurisdictions=jur,
        borders=borders,
        explain_candidates=False,
    )
    # the solver alone, on the engine's own arrays
    d = pairing._Data(assessments, jur, borders)
    e = pairing._Edges(d, pairing.Weights())
    cap = pairing._capacities(d, CAPACITY, None)
    _, solver_s = _timed(repeat, pairing.solve_bmatching, e.need, e.mentor, e.score_int, cap, len(e.need_state))
    engine_total = int(round(result.total_score * pairing.SCALE))
    log(f"[{scale}] engine {engine_s:.2f}s (without candidate texts {engine_lean_s:.2f}s, solver {solver_s:.2f}s)")

    cand = result.candidates
    m = milp_optimum(cand, CAPACITY, milp_time_limit)
    log(f"[{scale}] milp {m['seconds']:.2f}s: {m['message']}")
    proven_by_bound = m["dual_bound"] is not None and engine_total >= m["dual_bound"] - 0.5
    if m["status"] == 0:
        equal = m["objective"] == engine_total
        verdict = "equal" if equal else "DIFFERENT"
    else:  # time limit or other stop: equal only if milp's dual bound proves the engine optimal
        equal = None if not proven_by_bound else (m["objective"] is None or m["objective"] <= engine_total)
        verdict = (
            "milp stopped early; engine optimum proven by milp's dual bound"
            if equal
            else "milp stopped early; not confirmed"
        )
    return {
        "scale": scale,
        "seed": seed,
        "timing_repeats": repeat,
        "jurisdictions": len(jur),
        "areas": len(catalog.AREA_SLUGS),
        "mentor_states": int((d.mentor_areas > 0).sum()),
        "eligible_mentor_rows": int(d.eligible.sum()),
        "needs": len(e.need_state),
        "candidates": len(cand),
        "capacity": CAPACITY,
        "pairs": len(result.pairs),
        "referrals": len(result.referrals),
        "engine_seconds": engine_s,
        "engine_seconds_no_candidate_text": engine_lean_s,
        "solver_seconds": solver_s,
        "milp_seconds": m["seconds"],
        "milp_status": m["status"],
        "milp_message": m["message"],
        "ratio_milp_over_engine": m["seconds"] / engine_s if engine_s else None,
        "engine_total": engine_total / pairing.SCALE,
        "milp_total": None if m["objective"] is None else m["objective"] / pairing.SCALE,
        "milp_dual_bound": None if m["dual_bound"] is None else m["dual_bound"] / pairing.SCALE,
        "equal": equal,
        "verdict": verdict,
    }


def report(r: dict) -> str:
    lines = [
        f"== {r['scale']} scale (seed {r['seed']}) ==",
        f"instance   {r['jurisdictions']:,} jurisdictions x {r['areas']} areas; {r['needs']:,} needs, "
        f"{r['eligible_mentor_rows']:,} eligible mentor rows in {r['mentor_states']:,} mentor states "
        f"(capacity {r['capacity']}); {r['candidates']:,} candidate edges",
        f"engine     {r['engine_seconds']:.3f}s end to end (suggest; {r['engine_seconds_no_candidate_text']:.3f}s "
        f"without candidate texts; solver alone {r['solver_seconds']:.3f}s"
        + (f"; median of {r['timing_repeats']} runs" if r["timing_repeats"] > 1 else "")
        + ")",
        f"milp       {r['milp_seconds']:.3f}s  ({r['milp_message']})",
        f"ratio      milp / engine = {r['ratio_milp_over_engine']:.1f}x",
        f"result     {r['pairs']:,} pairs, {r['referrals']:,} referrals; total score engine {r['engine_total']:.3f}, "
        f"milp {r['milp_total'] if r['milp_total'] is None else format(r['milp_total'], '.3f')}"
        + (f", milp dual bound {r['milp_dual_bound']:.3f}" if r["milp_dual_bound"] is not None else ""),
        f"optimum    {r['verdict']}",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=["state", "county", "both"], default="both")
    ap.add_argument("--seed", type=int, default=2004)
    ap.add_argument("--milp-time-limit", type=float, default=600.0)
    args = ap.parse_args(argv)
    scales = ["state", "county"] if args.scale == "both" else [args.scale]
    code = 0
    for s in scales:
        r = run(s, args.seed, args.milp_time_limit, verbose=True)
        print(report(r), flush=True)
        if r["equal"] is False:
            code = max(code, 1)
        elif r["equal"] is None:
            code = max(code, 2)
    return code


if __name__ == "__main__":
    sys.exit(main())
