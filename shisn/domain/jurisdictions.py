"""The 56 reporting jurisdictions: USPS code, name, FEMA region, 2020 Census population, land borders, geometry.

Reference data lives in `data/` and is loaded once per process:
- `data/jurisdictions.csv`: code, FIPS, name, kind, FEMA region, 2020 Census resident population.
- `data/borders.csv`: pairs of jurisdictions sharing a land border, derived from the Census geometry by
  `data/build_geodata.py` (never typed by hand).
- `data/us_states.geojson`: simplified Census cartographic boundaries with the territories, Alaska and Hawaii
  placed as insets, built by the same script.
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII", 9: "IX", 10: "X"}

# Other spellings people use for the same jurisdiction (keys are normalised: lower case, single spaces, no dots).
ALIASES = {
    "washington dc": "DC",
    "washington d c": "DC",
    "district of columbia": "DC",
    "us virgin islands": "VI",
    "virgin islands": "VI",
    "united states virgin islands": "VI",
    "commonwealth of the northern mariana islands": "MP",
    "northern marianas": "MP",
    "cnmi": "MP",
    "commonwealth of puerto rico": "PR",
}


def region_label(region: int) -> str:
    return f"Region {ROMAN[int(region)]}"


@lru_cache(maxsize=1)
def jurisdictions() -> pd.DataFrame:
    """One row per jurisdiction: code, fips, name, kind, fema_region (1-10), region_label, population."""
    df = pd.read_csv(DATA_DIR / "jurisdictions.csv", dtype={"fips": str})
    df = df.rename(columns={"population_2020": "population"})
    df["region_label"] = df["fema_region"].map(region_label)
    return df.sort_values("code").reset_index(drop=True)


@lru_cache(maxsize=1)
def codes() -> tuple[str, ...]:
    return tuple(jurisdictions()["code"])


@lru_cache(maxsize=1)
def names() -> dict[str, str]:
    return dict(zip(jurisdictions()["code"], jurisdictions()["name"]))


@lru_cache(maxsize=1)
def regions() -> dict[str, int]:
    return {c: int(r) for c, r in zip(jurisdictions()["code"], jurisdictions()["fema_region"])}


@lru_cache(maxsize=1)
def populations() -> dict[str, int]:
    return {c: int(p) for c, p in zip(jurisdictions()["code"], jurisdictions()["population"])}


def _norm(text: str) -> str:
    return " ".join(str(text).strip().lower().replace(".", "").split())


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    table = {}
    for code, name in names().items():
        table[_norm(code)] = code
        table[_norm(name)] = code
    table.update(ALIASES)
    return table


def state_code(text: str | None) -> str | None:
    """USPS code for a code or full name in any case ("va", "Virginia"); None if it names no jurisdiction."""
    if text is None:
        return None
    return _lookup().get(_norm(text))


@lru_cache(maxsize=1)
def borders() -> frozenset[tuple[str, str]]:
    """Pairs (a, b) with a < b of jurisdictions that share a land border."""
    path = DATA_DIR / "borders.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        return frozenset(tuple(sorted((r["a"], r["b"]))) for r in csv.DictReader(fh))


def share_border(a: str, b: str) -> bool:
    return tuple(sorted((a, b))) in borders()


def neighbours(code: str) -> list[str]:
    return sorted({b for pair in borders() if code in pair for b in pair if b != code})


@lru_cache(maxsize=1)
def geojson() -> dict:
    """The shipped boundaries (FeatureCollection; each feature's properties carry `code` and `name`)."""
    with open(DATA_DIR / "us_states.geojson", encoding="utf-8") as fh:
        return json.load(fh)
