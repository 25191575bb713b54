"""Whole-store copy, backup and restore (shisn/store/archive.py) at county scale, against each engine's own floor.

    python benchmarks/bench_archive.py [--quick] [--json] [--write]

The store: benchmarks/synthetic.py's 3,100 jurisdictions, 100,000 assessment rows (one load), 10,000 exchanges
with their history (about 3.5 versions each), the states' views of the held ones, referrals for the declined ones,
an audit-log entry per history row, program managers and users (generated once per run, written straight into a
DuckDB file; the PostgreSQL source is a copy of it).

Measured (seconds, median of the rounds; ours and the floor alternate within a round):

    backup  DuckDB       archive.backup                 vs EXPORT DATABASE (FORMAT parquet)
    restore DuckDB       archive.restore into a new file vs IMPORT DATABASE into a new file
    backup  PostgreSQL   archive.backup                 vs pg_dump -Fc
    restore PostgreSQL   archive.restore into an empty database vs pg_restore into an empty database
    copy DuckDB → PostgreSQL   archive.copy            vs EXPORT DATABASE + pg_restore (each engine's own way out
                                                          and in)
    copy PostgreSQL → DuckDB   archive.copy            vs pg_dump + IMPORT DATABASE

Ours run in this process (the CLI adds Python's start-up, about a second); ours also verify every table (row
count and checksum) read back before committing, which the floors do not. `--write` puts the figures in
BENCHMARKS.md between `<!-- archive:start -->` and `<!-- archive:end -->` (added at the end if missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _util import median, write_benchmarks_section

from shisn.domain import exchange_rules


def county_store(path: str, n_exchanges: int = 10_000, seed: int = 2004) -> dict:
    """Write the county-scale store at `path` (a new DuckDB file); returns its row counts."""
    import synthetic as S

    from shisn.domain import catalog
    from shisn.services import exchanges
    from shisn.store import db

    jur = S.patch_jurisdictions(seed)
    con = db.connect(path)
    S.write_store(con, S.county_rows(jur).head(100_000))
    rng = np.random.default_rng(seed)
    codes = np.asarray(jur["code"], dtype=object)
    areas = [a for a in catalog.AREA_SLUGS if a != catalog.OTHER]
    paths = [
        ["proposed"],
        ["proposed", "introduced"],
        ["proposed", "introduced", "in_contact"],
        ["proposed", "introduced", "in_contact", "exchange_held"],
        ["proposed", "introduced", "in_contact", "exchange_held", "closed"],
        ["proposed", "introduced", "declined"],
        ["proposed", "introduced", "in_contact", "declined"],
    ]
    weights = np.array([0.05, 0.08, 0.1, 0.12, 0.45, 0.1, 0.1])
    ex, hist, views, refs, audit = [], [], [], [], []
    referred = set()
    base = dt.datetime(2022, 2, 1, 9)
    for i in range(n_exchanges):
        ex_id = i + 1
        mentor, mentee = rng.choice(codes, 2, replace=False)
        area = areas[int(rng.integers(len(areas)))]
        cycle = int(S.CYCLES[int(rng.integers(len(S.CYCLES) - 1))])
        path = paths[int(rng.choice(len(paths), p=weights / weights.sum()))]
        t = base + dt.timedelta(days=int(rng.integers(0, 1400)), minutes=int(rng.integers(0, 600)))
        row = {c: None for c in exchanges.ROW_COLUMNS}
        row.update(
            exchange_id=ex_id,
            mentor=mentor,
            mentee=mentee,
            program_areas=area,
            cycle=cycle,
            created_by="PM " + str(int(rng.integers(40))),
            synthetic=True,
        )
        prev = None
        for v, status in enumerate(path, start=1):
            t = t + dt.timedelta(days=int(rng.integers(1, 40)))
            row[exchange_rules.STATUS_TIME[status]] = t
            changes = {"status": [prev, status]}
            if status == "exchange_held":
                row["means"] = "teleconference"
                changes["means"] = [None, "teleconference"]
            if status == "closed":
                row["outcome"] = "Synthetic county exchange outcome, with a sentence or two of lessons learned."
            hist.append((ex_id, v, t, row["created_by"], prev, status, t, json.dumps(changes), None))
            audit.append((t, row["created_by"], "edit", f"exchange {ex_id} version {v}: {prev or 'new'} → {status}"))
            prev = status
        row.update(status=prev, updated_at=t, updated_by=row["created_by"], version=len(path))
        if prev == "declined":
            row["decline_reason"] = "No staff free this cycle."
            if (mentee, area, cycle) not in referred:
                referred.add((mentee, area, cycle))
                refs.append(
                    (
                        len(refs) + 1,
                        mentee,
                        area,
                        cycle,
                        f"exchange {ex_id} was declined",
                        row["updated_by"],
                        t,
                        ex_id,
                        True,
                    )
                )
        if "exchange_held" in path:
            for state in (mentor, mentee):
                if rng.random() < 0.7:
                    views.append(
                        (
                            ex_id,
                            state,
                            int(rng.integers(1, 6)),
                            "Adopted the partner's templates.",
                            None,
                            row["updated_by"],
                            t + dt.timedelta(days=3),
                            1,
                            True,
                        )
                    )
        ex.append(row)
    us = "datetime64[us]"
    frames = {
        "exchanges": pd.DataFrame(ex, columns=exchanges.ROW_COLUMNS).astype(
            {
                c: us
                for c in (
                    "proposed_at",
                    "introduced_at",
                    "contact_at",
                    "held_at",
                    "closed_at",
                    "declined_at",
                    "updated_at",
                    "requested_at",
                )
            }
            | {"planned_on": "datetime64[s]"}
        ),
        "exchange_history": pd.DataFrame(
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
        ).astype({"changed_at": us, "effective_at": us}),
        "exchange_outcomes": pd.DataFrame(
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
        ).astype({"recorded_at": us}),
        "ta_referrals": pd.DataFrame(
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
        ).astype({"referred_at": us}),
        "audit_log": pd.DataFrame(
            [(i + 1, *a) for i, a in enumerate(sorted(audit, key=lambda a: a[0]))],
            columns=["audit_id", "at_time", "who", "action", "detail"],
        ).astype({"at_time": us}),
        "program_managers": pd.DataFrame(
            {
                "state": codes,
                "name": [f"PM {i % 40}" for i in range(len(codes))],
                "email": [f"pm{i % 40}@example.org" for i in range(len(codes))],
            }
        ),
        "users": pd.DataFrame(
            {
                "email": [f"user{i}@example.org" for i in range(300)],
                "role": "state",
                "state": codes[:300],
                "name": [f"User {i}" for i in range(300)],
                "added_by": "benchmark",
                "added_at": pd.Timestamp("2024-01-01"),
            }
        ).astype({"added_at": us}),
    }
    frames["exchanges"]["planned_on"] = None
    with db.transaction(con) as cur:
        for table, frame in frames.items():
            cols = ", ".join(frame.columns)
            cur.temp_table("bench_rows", frame)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM bench_rows")
            cur.drop_temp("bench_rows")
        for seq, (table, col) in {
            "exchange_id_seq": ("exchanges", "exchange_id"),
            "ta_referral_id_seq": ("ta_referrals", "referral_id"),
            "audit_id_seq": ("audit_log", "audit_id"),
        }.items():
            cur.set_sequence_next(seq, int(frames[table][col].max()) + 1)
    got = {
        t: int(con.scalar(f"SELECT count(*) FROM {t}"))
        for t in (
            "assessments",
            "exchanges",
            "exchange_history",
            "exchange_outcomes",
            "ta_referrals",
            "audit_log",
            "program_managers",
            "users",
        )
    }
    con.close()
    return got


def _t(f, *args, **kw) -> float:
    t = time.perf_counter()
    f(*args, **kw)
    return time.perf_counter() - t


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def measure(rounds: int, pg) -> dict:
    import duckdb

    from shisn.store import archive
    from tests.support import pgcluster

    work = Path(tempfile.mkdtemp(prefix="shisn-bench-archive-"))
    src = str(work / "county.duckdb")
    sizes = county_store(src)
    pg_dump, pg_restore = pgcluster.find_bin("pg_dump"), pgcluster.find_bin("pg_restore")
    pg_src = pg.url(pg.create_database()) if pg else None
    if pg:
        archive.copy(src, pg_src)
    times: dict[str, dict[str, list[float]]] = {}

    def add(name, which, seconds):
        times.setdefault(name, {"ours": [], "floor": []})[which].append(seconds)

    def duck_export(dest):
        c = duckdb.connect(src, read_only=True)
        c.execute(f"EXPORT DATABASE '{dest}' (FORMAT parquet)")
        c.close()

    def duck_import(exported, target):
        c = duckdb.connect(target)
        c.execute(f"IMPORT DATABASE '{exported}'")
        c.close()

    for r in range(rounds):
        n = f"r{r}"
        # DuckDB backup / restore
        ours_zip, exported = work / f"{n}.zip", work / f"{n}-export"
        pair = [("ours", lambda: archive.backup(src, ours_zip)), ("floor", lambda: duck_export(exported))]
        for which, f in pair if r % 2 == 0 else pair[::-1]:
            add("backup, DuckDB", which, _t(f))
        pair = [
            ("ours", lambda: archive.restore(ours_zip, str(work / f"{n}-restored.duckdb"))),
            ("floor", lambda: duck_import(exported, str(work / f"{n}-imported.duckdb"))),
        ]
        for which, f in pair if r % 2 == 0 else pair[::-1]:
            add("restore, DuckDB", which, _t(f))
        if not pg:
            continue
        # PostgreSQL backup / restore
        pg_zip, dump = work / f"{n}-pg.zip", work / f"{n}.dump"
        pair = [
            ("ours", lambda: archive.backup(pg_src, pg_zip)),
            ("floor", lambda: _run([pg_dump, "-Fc", "-d", pg_src, "-f", str(dump)])),
        ]
        for which, f in pair if r % 2 == 0 else pair[::-1]:
            add("backup, PostgreSQL", which, _t(f))
        a, b = pg.url(pg.create_database()), pg.url(pg.create_database())
        pair = [("ours", lambda: archive.restore(pg_zip, a)), ("floor", lambda: _run([pg_restore, "-d", b, str(dump)]))]
        for which, f in pair if r % 2 == 0 else pair[::-1]:
            add("restore, PostgreSQL", which, _t(f))
        # copies: ours against the source engine's dump plus the target engine's load
        a = pg.url(pg.create_database())
        add("copy, DuckDB → PostgreSQL", "ours", _t(archive.copy, src, a))
        add(
            "copy, DuckDB → PostgreSQL",
            "floor",
            times["backup, DuckDB"]["floor"][-1]
            + _t(_run, [pg_restore, "-d", pg.url(pg.create_database()), str(dump)]),
        )
        add("copy, PostgreSQL → DuckDB", "ours", _t(archive.copy, pg_src, str(work / f"{n}-from-pg.duckdb")))
        add(
            "copy, PostgreSQL → DuckDB",
            "floor",
            _t(_run, [pg_dump, "-Fc", "-d", pg_src, "-f", str(dump)])
            + _t(duck_import, exported, str(work / f"{n}-imported-2.duckdb")),
        )
    archive_mb = (work / "r0.zip").stat().st_size / 1e6
    export_mb = sum(f.stat().st_size for f in (work / "r0-export").iterdir()) / 1e6
    shutil.rmtree(work, ignore_errors=True)
    out = {
        name: {
            "ours_s": median(v["ours"]),
            "floor_s": median(v["floor"]),
            "ratio": median(v["ours"]) / median(v["floor"]),
            "all_ours": v["ours"],
            "all_floor": v["floor"],
        }
        for name, v in times.items()
    }
    return {"rows": sizes, "results": out, "archive_mb": archive_mb, "export_mb": export_mb}


FLOORS = {
    "backup, DuckDB": "`EXPORT DATABASE … (FORMAT parquet)`",
    "restore, DuckDB": "`IMPORT DATABASE` into a new file",
    "backup, PostgreSQL": "`pg_dump -Fc`",
    "restore, PostgreSQL": "`pg_restore` into an empty database",
    "copy, DuckDB → PostgreSQL": "`EXPORT DATABASE` + `pg_restore`",
    "copy, PostgreSQL → DuckDB": "`pg_dump -Fc` + `IMPORT DATABASE`",
}


def render(r: dict, quick: bool) -> str:
    """The archive section of BENCHMARKS.md. No date: the history of the figures is the git history of the file."""
    rows = r["rows"]
    lines = [
        "<!-- archive:start -->",
        "## Copy, backup and restore of a whole store",
        "",
        "`benchmarks/bench_archive.py`. **No target:** shisn's `backup`, `restore` and `copy` against each "
        "engine's own way out and in. **Reproduce:** "
        f"`python benchmarks/bench_archive.py{' --quick' if quick else ''} --write` (it rewrites this section). "
        f"{os.cpu_count()} cores, PostgreSQL {r.get('pg_version', '?')} (a local throwaway cluster), "
        f"DuckDB {r['duckdb_version']}; "
        f"load average {r['load_average_at_start'][0]:.1f} at the start, {r['load_average_at_end'][0]:.1f} at "
        "the end. The county-scale store: "
        f"{rows['assessments']:,} assessment rows, {rows['exchanges']:,} exchanges with "
        f"{rows['exchange_history']:,} "
        f"history rows, {rows['exchange_outcomes']:,} states' views, {rows['audit_log']:,} audit-log entries, "
        f"{rows['program_managers']:,} program managers (3,100 synthetic jurisdictions). Seconds, median of "
        f"{len(next(iter(r['results'].values()))['all_ours'])} rounds; ours and the floor alternate.",
        "",
        "| operation | shisn (s) | floor | floor (s) | ratio |",
        "|---|---:|---|---:|---:|",
    ]
    for name, v in r["results"].items():
        lines.append(f"| {name} | {v['ours_s']:.2f} | {FLOORS[name]} | {v['floor_s']:.2f} | {v['ratio']:.1f}× |")
    lines += [
        "",
        f"The archive is {r['archive_mb']:.1f} MB (DuckDB's Parquet export of the same store: "
        f"{r['export_mb']:.1f} MB). shisn's figures include what the floors do not do: every table is read back "
        "from the target and compared by row count and checksum before the commit, the rows are sorted into "
        "canonical order for the engine-independent checksum, and a restore or copy is one transaction. "
        "They run in-process; the CLI adds Python's start-up (about a second). The copy floors are the "
        "source engine's own dump plus the target engine's own load of the same data.",
        "",
        "<!-- archive:end -->",
    ]
    return "\n".join(lines) + "\n"


def write_section(r: dict, quick: bool) -> None:
    write_benchmarks_section("archive", render(r, quick))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one round instead of three")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", action="store_true", help="update the archive section of BENCHMARKS.md")
    args = ap.parse_args(argv)
    import duckdb

    from tests.support import pgcluster

    pg = pgcluster.Cluster().start() if pgcluster.unavailable_reason() is None else None
    try:
        load_avg = os.getloadavg()
        result = measure(1 if args.quick else 3, pg)
        result.update(
            load_average_at_start=load_avg, load_average_at_end=os.getloadavg(), duckdb_version=duckdb.__version__
        )
        if pg:
            import psycopg

            with psycopg.connect(pg.url("postgres")) as conn:
                result["pg_version"] = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    finally:
        if pg:
            pg.stop()
    if args.json:
        print(json.dumps(result))
        return 0
    if args.write:
        write_section(result, args.quick)
    print(f"rows: {result['rows']}")
    print(f"{'operation':<28} {'shisn s':>8} {'floor s':>8} {'ratio':>6}  floor")
    for name, v in result["results"].items():
        print(f"{name:<28} {v['ours_s']:8.2f} {v['floor_s']:8.2f} {v['ratio']:5.1f}×  {FLOORS[name]}")
    print(
        f"archive {result['archive_mb']:.1f} MB, DuckDB export {result['export_mb']:.1f} MB; load average: "
        f"start {load_avg[0]:.1f}, end {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
