"""Search speed: shisn.domain.search.Index.build and Index.search on 10,000 synthetic offers and practices.

    python benchmarks/bench_search.py [--entries N] [--seed N] [--repeat N] [--json]

The entries (seeded, so every run searches the same data): 60% offers, 40% practices, spread over the 56 shipped
jurisdictions (their names and FEMA regions) and the 9 program areas; offers list 1-3 of the exchange formats,
practices none. Titles are about 8 words and texts about 80, drawn from a homeland-security vocabulary (exercises,
HSEEP, tabletop, interoperability, radio cache, fusion center, mutual aid, training, recovery, ...), general
English words and a long tail of 15,000 made-up rare words (place and program names), so the vocabulary, and with
it the typo index, is about the size real text of this size has.

Timed in this process with time.perf_counter:
- build: Index.build on the whole frame, the median of 3 builds;
- search: a fixed set of 50 queries in five kinds (single words, two words, typos, prefixes of a word still being
  typed, and queries with filters, some with an empty query), each run --repeat times (5) after one untimed
  warm-up search; median and p95 per kind and over all runs, and the slowest query's median.
Target: every query < 100 ms (each query's median, and the p95 over all runs). Exits 1 if missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shisn.domain import catalog, jurisdictions, search  # noqa: E402

TARGET_MS = 100.0
RARE_WORDS = 15_000  # made-up rare words (place, program and system names): the long tail of the vocabulary
FORMATS = ("teleconference", "on_site_visit", "document_exchange", "other")

DOMAIN = """exercise exercises tabletop functional full-scale HSEEP after-action improvement plan planning drill drills
evaluator evaluators controller facilitator scenario injects interoperability interoperable radio radios cache
communications P25 trunked console gateway patch frequency spectrum SCIP SWIC statewide channel tower repeater
fusion center analyst analysts intelligence suspicious activity reporting SAR bulletin threat assessment
liaison officers privacy civil liberties mutual aid EMAC compact agreement resource typing credentialing
deployment team teams training course courses curriculum instructor instructors certification NIMS ICS
incident command emergency operations EOC recovery debris removal housing public assistance individual
damage assessment continuity COOP shelter sheltering evacuation mass care volunteers donations logistics
warehouse stockpile strategic national stockpile points of dispensing POD hazmat CBRNE WMD bomb squad SWAT
cybersecurity cyber critical infrastructure protection ports transit rail pipeline water utilities hospital
healthcare coalition surge pandemic influenza biological agricultural food county counties municipal tribal
regional region urban area UASI grant grants homeland security strategy capability capabilities gap gaps
target THIRA SPR preparedness prevention deterrence detection response partners partnership stakeholders
volunteer citizen corps CERT outreach public information warning alerting notification IPAWS siren""".split()

GENERAL = """the a an and of to in for with on by from at as that this which our their its we they was were has have
had been will can may should must each every all more most new first state states local federal program programs
process processes staff staffing team budget funding year years month months week weeks day days meeting meetings
review reviewed reviews develop developed developing development implement implemented implementing
implementation coordinate coordinated coordinating coordination share shared sharing lessons learned practice
practices offer offers model template templates guide guidance document documents policy policies procedure
procedures standard standards include includes including support supported supporting provide provided providing
improve improved improving manage managed managing management build built building maintain maintained
maintaining use used using help helped helping successful success challenge challenges approach approaches
across between within during after before through over under network networks system systems tool tools data
information report reports reporting level levels leadership executive senior officials agency agencies
department departments office offices jurisdiction jurisdictions neighboring border cross-border annual
quarterly monthly weekly online virtual in-person workshop workshops seminar seminars webinar""".split()


def _rare_words(rng: np.random.Generator, n: int) -> list[str]:
    """n made-up words (2-4 syllables): the long tail of place, program and system names."""
    sy = "ba be bi bo ka ke ki ko la le li lo ma me mi mo na ne ni no ra re ri ro sa se si so ta te ti to va ve vi".split()
    sy += "dor fen gal har jon kel mar nor pel quin rast sten tor ul wex yar zan".split()
    out = set()
    while len(out) < n:
        k = int(rng.integers(2, 5))
        out.add("".join(sy[int(i)] for i in rng.integers(0, len(sy), k)))
    return sorted(out)


def synthetic_entries(n: int = 10_000, seed: int = 2026) -> pd.DataFrame:
    """n entries with the columns shisn.domain.search.Index.build reads, seeded."""
    rng = np.random.default_rng(seed)
    jur = jurisdictions.jurisdictions()[["code", "name", "fema_region"]].reset_index(drop=True)
    rare = _rare_words(rng, RARE_WORDS)
    # Zipf-like weights: a few words very common, most rare
    domain_p = 1.0 / np.arange(1, len(DOMAIN) + 1) ** 0.8
    domain_p /= domain_p.sum()
    general_p = 1.0 / np.arange(1, len(GENERAL) + 1) ** 0.9
    general_p /= general_p.sum()
    rare_p = 1.0 / np.arange(1, len(rare) + 1) ** 0.9
    rare_p /= rare_p.sum()
    # one seeded stream of words, cut into titles and sentences in order
    lengths_title = rng.integers(5, 12, n)
    n_sent = rng.integers(5, 8, n)
    lengths_sent = rng.integers(8, 18, int(n_sent.sum()))
    total = int(lengths_title.sum() + lengths_sent.sum())
    which = rng.choice(3, size=total, p=[0.35, 0.5, 0.15])
    stream = np.empty(total, dtype=object)
    for k, (pool, p) in enumerate(zip((DOMAIN, GENERAL, rare), (domain_p, general_p, rare_p))):
        at = np.flatnonzero(which == k)
        stream[at] = np.array(pool, dtype=object)[rng.choice(len(pool), size=len(at), p=p)]
    pos = 0

    def phrase(length: int) -> str:
        nonlocal pos
        out = " ".join(stream[pos : pos + length])
        pos += length
        return out

    rows = []
    st = rng.integers(0, len(jur), n)
    areas = rng.integers(0, len(catalog.AREA_SLUGS), n)
    kinds = np.where(rng.random(n) < 0.6, "offer", "practice")
    codes, names, regions = jur["code"].tolist(), jur["name"].tolist(), jur["fema_region"].tolist()
    sent_at = 0
    for i in range(n):
        kind = str(kinds[i])
        if kind == "offer":
            k = int(rng.integers(1, 4))
            formats = ",".join(sorted(rng.choice(FORMATS, size=k, replace=False)))
        else:
            formats = ""
        title = phrase(int(lengths_title[i])).capitalize()
        sentences = [phrase(int(lengths_sent[s])).capitalize() + "." for s in range(sent_at, sent_at + int(n_sent[i]))]
        sent_at += int(n_sent[i])
        rows.append(
            {
                "kind": kind,
                "id": i + 1,
                "state": codes[int(st[i])],
                "state_name": names[int(st[i])],
                "program_area": catalog.AREA_SLUGS[int(areas[i])],
                "region": float(regions[int(st[i])]),
                "formats": formats,
                "title": title,
                "text": " ".join(sentences),
            }
        )
    return pd.DataFrame(rows)


QUERIES: list[tuple[str, str, dict]] = [
    # (kind, query, filters)
    ("single", "exercise", {}),
    ("single", "interoperability", {}),
    ("single", "fusion", {}),
    ("single", "HSEEP", {}),
    ("single", "tabletop", {}),
    ("single", "radio", {}),
    ("single", "recovery", {}),
    ("single", "training ", {}),
    ("single", "cybersecurity", {}),
    ("single", "virginia", {}),
    ("two words", "fusion center ", {}),
    ("two words", "mutual aid ", {}),
    ("two words", "radio cache ", {}),
    ("two words", "tabletop exercise ", {}),
    ("two words", "virginia exercises ", {}),
    ("two words", "regional planning ", {}),
    ("two words", "after action ", {}),
    ("two words", "debris removal ", {}),
    ("two words", "grant management ", {}),
    ("two words", "shared lessons learned ", {}),
    ("typo", "excercise ", {}),
    ("typo", "interoperabilty ", {}),
    ("typo", "fuson center ", {}),
    ("typo", "tabeltop ", {}),
    ("typo", "mutal aid ", {}),
    ("typo", "recovry ", {}),
    ("typo", "credentailing ", {}),
    ("typo", "trainning ", {}),
    ("typo", "comunications ", {}),
    ("typo", "evacuaton shelter ", {}),
    ("prefix", "interop", {}),
    ("prefix", "fusion cen", {}),
    ("prefix", "tablet", {}),
    ("prefix", "evac", {}),
    ("prefix", "cyber sec", {}),
    ("prefix", "mutual ai", {}),
    ("prefix", "exer", {}),
    ("prefix", "recov", {}),
    ("prefix", "co", {}),
    ("prefix", "pr", {}),
    ("filtered", "exercise", {"area": "exercises"}),
    ("filtered", "training", {"region": 3}),
    ("filtered", "radio", {"format": "teleconference"}),
    ("filtered", "", {"area": "recovery"}),
    ("filtered", "", {"kind": "practice", "region": 4}),
    ("filtered", "mutual aid", {"kind": "offer"}),
    ("filtered", "exercize", {"area": "exercises"}),
    ("filtered", "fusion", {"region": 5, "format": "on_site_visit"}),
    ("filtered", "plan", {"area": "regional_planning"}),
    ("filtered", "cache", {"kind": "practice"}),
]


def _pct(xs, q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def run(entries: int = 10_000, seed: int = 2026, repeat: int = 5) -> dict:
    t = time.perf_counter()
    frame = synthetic_entries(entries, seed)
    generate_s = time.perf_counter() - t
    builds = []
    index = None
    for _ in range(3):
        t = time.perf_counter()
        index = search.Index.build(frame)
        builds.append(time.perf_counter() - t)
    assert index is not None and len(index) == entries
    index.search("warm up")  # untimed: first-call costs (numpy, pandas paths)
    per_query = []
    for kind, q, filters in QUERIES:
        times = []
        hits = 0
        for _ in range(repeat):
            t = time.perf_counter()
            res = index.search(q, **filters)
            times.append((time.perf_counter() - t) * 1000.0)
            hits = len(res)
        per_query.append(
            {
                "kind": kind,
                "query": q,
                "filters": filters,
                "ms": times,
                "median_ms": float(np.median(times)),
                "hits": hits,
            }
        )
    kinds = {}
    for kind in dict.fromkeys(k for k, _, _ in QUERIES):
        xs = [x for p in per_query if p["kind"] == kind for x in p["ms"]]
        kinds[kind] = {"median_ms": float(np.median(xs)), "p95_ms": _pct(xs, 95), "max_ms": max(xs)}
    every = [x for p in per_query for x in p["ms"]]
    slowest = max(per_query, key=lambda p: p["median_ms"])
    overall = {"median_ms": float(np.median(every)), "p95_ms": _pct(every, 95), "max_ms": max(every)}
    return {
        "entries": entries,
        "seed": seed,
        "repeat": repeat,
        "terms": len(index._stems),
        "generate_seconds": generate_s,
        "build_seconds": float(np.median(builds)),
        "build_all": builds,
        "kinds": kinds,
        "overall": overall,
        "slowest": {"query": slowest["query"], "filters": slowest["filters"], "median_ms": slowest["median_ms"]},
        "queries": per_query,
        "target_ms": TARGET_MS,
        "ok": slowest["median_ms"] < TARGET_MS and overall["p95_ms"] < TARGET_MS,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10_000, help="number of synthetic entries (default 10,000)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each query (default 5)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    r = run(args.entries, args.seed, args.repeat)
    if args.json:
        print(json.dumps(r))
        return 0 if r["ok"] else 1
    print(
        f"{r['entries']:,} entries, {r['terms']:,} terms (generated in {r['generate_seconds']:.1f}s); "
        f"build {r['build_seconds'] * 1000:.0f} ms (median of 3: "
        + ", ".join(f"{b * 1000:.0f}" for b in r["build_all"])
        + " ms)"
    )
    print(f"{'kind':<10} {'median':>8} {'p95':>8} {'max':>8}   ({len(QUERIES)} queries x {r['repeat']} runs)")
    for kind, s in list(r["kinds"].items()) + [("overall", r["overall"])]:
        print(f"{kind:<10} {s['median_ms']:7.2f}ms {s['p95_ms']:7.2f}ms {s['max_ms']:7.2f}ms")
    sl = r["slowest"]
    print(f"slowest query: {sl['query']!r} {sl['filters'] or ''} median {sl['median_ms']:.2f} ms")
    print(f"target: every query < {TARGET_MS:.0f} ms: {'met' if r['ok'] else 'MISSED'}")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
