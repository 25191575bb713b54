"""Synthetic county-scale reference data for the benchmarks (not used by the app or the tests).

shisn knows the 56 real jurisdictions (`shisn/domain/jurisdictions.py`, from `data/`). To see what the same code costs
at county scale, `patch_jurisdictions()` swaps that module's reference data, in this process only, for
3,100 synthetic jurisdictions on a 62 x 50 grid (10 rectangular "FEMA regions", rook-adjacent borders, log-normal
populations, one square of geometry each, placed over the contiguous US so the map's view fitting behaves).
Every shisn function reads the reference data through `shisn.domain.jurisdictions`' functions, so after the patch the
real page scripts, loader and coverage logic run unchanged on county-shaped data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shisn.domain import catalog, jurisdictions  # noqa: E402 - after the path above

GRID = (62, 50)  # columns x rows = 3,100 jurisdictions (the same grid as bench_pairing.py)
CYCLES = (2022, 2023, 2024, 2025, 2026)
WEST, SOUTH, EAST, NORTH = -124.0, 25.0, -67.0, 49.0


def county_jurisdictions(seed: int = 2004) -> pd.DataFrame:
    """Shaped like `jurisdictions.jurisdictions()`: code, fips, name, kind, fema_region, population, region_label."""
    rng = np.random.default_rng(seed)
    cols, rows = GRID
    n = cols * rows
    r, c = np.divmod(np.arange(n), cols)
    region = 1 + (c * 5 // cols) + 5 * (r * 2 // rows)
    df = pd.DataFrame(
        {
            "code": [f"C{i:04d}" for i in range(n)],
            "fips": [f"{i:05d}" for i in range(n)],
            "name": [f"County {i:04d}" for i in range(n)],
            "kind": "county",
            "fema_region": region.astype(int),
            "population": np.rint(rng.lognormal(np.log(30_000), 1.3, n)).astype(np.int64) + 100,
        }
    )
    df["region_label"] = df["fema_region"].map(jurisdictions.region_label)
    return df


def county_geojson(jur: pd.DataFrame) -> dict:
    """One square per jurisdiction on the grid (5 points each), with the properties the map reads."""
    cols, rows = GRID
    dx, dy = (EAST - WEST) / cols, (NORTH - SOUTH) / rows
    feats = []
    for i, (code, name) in enumerate(zip(jur["code"], jur["name"])):
        r, c = divmod(i, cols)
        w, s = WEST + c * dx, NORTH - (r + 1) * dy
        ring = [
            [round(w, 4), round(s, 4)],
            [round(w + dx, 4), round(s, 4)],
            [round(w + dx, 4), round(s + dy, 4)],
            [round(w, 4), round(s + dy, 4)],
            [round(w, 4), round(s, 4)],
        ]
        feats.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {
                    "code": code,
                    "name": name,
                    "inset": False,
                    "label_lon": round(w + dx / 2, 4),
                    "label_lat": round(s + dy / 2, 4),
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "bbox": [WEST, SOUTH, EAST, NORTH], "features": feats}


def county_borders(jur: pd.DataFrame) -> frozenset:
    cols, rows = GRID
    codes = np.asarray(jur["code"], dtype=object)
    idx = np.arange(cols * rows).reshape(rows, cols)
    pairs = np.concatenate(
        [np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1), np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1)]
    )
    return frozenset(tuple(sorted((codes[a], codes[b]))) for a, b in pairs)


def patch_jurisdictions(seed: int = 2004) -> pd.DataFrame:
    """Replace shisn.domain.jurisdictions' reference data with the synthetic county set (this process only)."""
    jur = county_jurisdictions(seed).sort_values("code").reset_index(drop=True)
    geo = county_geojson(jur)
    borders = county_borders(jur)
    codes = tuple(jur["code"])
    names = dict(zip(jur["code"], jur["name"]))
    regions = {c: int(r) for c, r in zip(jur["code"], jur["fema_region"])}
    pops = {c: int(p) for c, p in zip(jur["code"], jur["population"])}
    lookup = {jurisdictions._norm(k): c for c, nm in names.items() for k in (c, nm)}
    jurisdictions.jurisdictions = lambda: jur
    jurisdictions.codes = lambda: codes
    jurisdictions.names = lambda: names
    jurisdictions.regions = lambda: regions
    jurisdictions.populations = lambda: pops
    jurisdictions._lookup = lambda: lookup
    jurisdictions.borders = lambda: borders
    jurisdictions.geojson = lambda: geo
    return jur


def county_rows(jur: pd.DataFrame, cycles=CYCLES, seed: int = 2004) -> pd.DataFrame:
    """Self-assessment rows (the file's columns, typed) for every jurisdiction x area x cycle: ~20% eligible
    mentors and ~25% seekers per area, some offers below 4, notes on a third of the rows, POETE on half."""
    rng = np.random.default_rng(seed)
    codes = np.asarray(jur["code"], dtype=object)
    n = len(codes)
    frames = []
    for cycle in cycles:
        for area in catalog.AREA_SLUGS:
            mat = rng.choice(np.arange(1, 6), size=n, p=[0.10, 0.20, 0.30, 0.25, 0.15])
            u, v = rng.random(n), rng.random(n)
            offers = np.where(mat >= 4, u < 0.5, np.where(mat == 3, u < 0.15, False))
            seeks = np.select([mat <= 2, mat == 3], [v < 0.6, v < 0.2], v < 0.02) & ~(offers & (mat >= 4))
            has_note = rng.random(n) < 0.33
            poete = rng.random(n) < 0.5
            f = pd.DataFrame(
                {
                    "state": codes,
                    "program_area": area,
                    "cycle": cycle,
                    "maturity": mat,
                    "offers_help": offers,
                    "seeks_help": seeks,
                    "other_area": (
                        rng.choice(["Cybersecurity", "Port security", "Fusion centre"], n)
                        if area == catalog.OTHER
                        else None
                    ),
                    "notes": np.where(
                        has_note,
                        "Synthetic county note about " + area + " with a little more text to be realistic.",
                        None,
                    ),
                }
            )
            for p in catalog.POETE:
                f[p] = pd.array(np.where(poete, np.clip(mat + rng.integers(-1, 2, n), 1, 5), 0), dtype="Int64")
                f.loc[~poete, p] = pd.NA
            frames.append(f)
    return pd.concat(frames, ignore_index=True)


def to_csv_bytes(rows: pd.DataFrame) -> bytes:
    out = rows.copy()
    for c in ("offers_help", "seeks_help"):
        out[c] = np.where(out[c], "yes", "no")
    return out.to_csv(index=False).encode("utf-8")


def write_store(con, rows: pd.DataFrame, synthetic: bool = True) -> None:
    """Write typed rows straight into the store (one load_log entry), bypassing the loader: for seeding a
    county-scale store quickly. The loader itself is timed separately."""
    from shisn.store.db import transaction
    from shisn.store.ingest import DB_COLUMNS

    cols = ", ".join(DB_COLUMNS)
    with transaction(con) as cur:
        load_id = cur.execute("SELECT nextval('load_id_seq')").fetchall()[0][0]
        cur.temp_table("incoming", rows[DB_COLUMNS])
        cur.execute(f"INSERT INTO assessments ({cols}, load_id) SELECT {cols}, ? FROM incoming", [load_id])
        cur.drop_temp("incoming")
        cur.execute(
            "INSERT INTO load_log VALUES (?, now()::TIMESTAMP, 'benchmark', 'county (synthetic)', ?, ?, 0, '', '', ?)",
            [load_id, len(rows), len(rows), synthetic],
        )


if __name__ == "__main__":  # python benchmarks/synthetic.py --seed-store PATH: a county-scale store
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--seed-store", required=True)
    args = ap.parse_args()
    from shisn.store import db

    jur = patch_jurisdictions()
    con = db.connect(args.seed_store)
    write_store(con, county_rows(jur))
    con.close()
