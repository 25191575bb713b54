"""Whole stores (shisn/store/archive.py; `python -m shisn copy | backup | restore`) on both engines: every table and row
arrives, checksums agree across engines, sequences continue past the copied ids, and every refusal writes nothing
(a target holding data, a damaged or truncated archive, an unknown schema version, a copy interrupted midway)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from shisn.cli import main
from shisn.services import exchanges
from shisn.store import archive, db
from shisn.store.ingest import load
from tests.support import ROOT, make_csv, upgrade_stores

TRICKY = ["NULL", "", 'a,b\n"c" \\ and\ta tab', "N/A", "ünïcode ✓"]


def rich_source(path) -> str:
    """A DuckDB store at today's schema with rows in every table (the newest upgrade fixture, upgraded, plus a
    reporting cycle, a notification carried by a digest, a notification preference, an offer with its history, a
    practice and a request made from the offer), text that CSV and NULL handling could get wrong, and a timestamp
    with microseconds."""
    path = str(path)
    upgrade_stores.build(path, max(upgrade_stores.VERSIONS)).close()
    s = db.connect(path)
    with s.transaction() as cur:
        cur.execute(
            "INSERT INTO reporting_cycles VALUES (?, 'open', ?, 'Lee Lead', ?, NULL, NULL, ?)",
            [2026, "2026-09-30", "2026-01-05 09:00:00", "2026-01-05 09:00:00.123456"],
        )
        for nid, status, digest in ((11, "sent", None), (12, "digested", 11)):
            cur.execute(
                "INSERT INTO notifications (notification_id, created_at, kind, event, recipient, state, "
                "subject, body_text, body_html, link, unsubscribe, status, attempts, next_attempt_at, "
                "sent_at, last_error, digest_id) VALUES (?, ?, 'exchange', 'exchange 1 version 5', "
                "'va.user@example.org', 'VA', ?, ?, '<p>x</p>', '/exchanges?exchange=1', "
                "'http://localhost:8501/notifications?unsubscribe=x.y', ?, 1, ?, ?, ?, ?)",
                [
                    nid,
                    "2026-01-06 09:00:00",
                    TRICKY[2],
                    TRICKY[4],
                    status,
                    "2026-01-06 09:00:00",
                    "2026-01-06 09:00:01" if status == "sent" else None,
                    TRICKY[0],
                    digest,
                ],
            )
        for _ in range(12):
            cur.execute("SELECT nextval('notification_id_seq')")
        cur.execute(
            "INSERT INTO offers VALUES (1, 'VA', 'exercises', ?, ?, 'teleconference,on_site_visit', 2, 30, ?, "
            "'published', 'VA user', ?, 'VA user', ?, ?, 2, false)",
            [
                TRICKY[1],
                TRICKY[3],
                TRICKY[0],
                "2026-01-07 09:00:00",
                "2026-01-07 10:00:00.123456",
                "2026-01-07 10:00:00",
            ],
        )
        cur.execute(
            "INSERT INTO offer_history VALUES (1, 1, '2026-01-07 09:00:00', 'VA user', NULL, 'draft', '{}'), "
            "(1, 2, '2026-01-07 10:00:00', 'VA user', 'draft', 'published', '{\"status\": [\"draft\", \"published\"]}')"
        )
        cur.execute("SELECT nextval('offer_id_seq')")
        cur.execute(
            "INSERT INTO practices VALUES (1, 'VA', 'exercises', ?, ?, ?, NULL, ?, 1, 1, 'published', 'VA user', "
            "'2026-01-08 09:00:00', 'VA user', '2026-01-08 09:00:00', '2026-01-08 09:00:00', 1, false)",
            [TRICKY[2], TRICKY[4], TRICKY[1], TRICKY[3]],
        )
        cur.execute("SELECT nextval('practice_id_seq')")
        cur.execute("INSERT INTO exchange_offers VALUES (1, 1)")
        cur.execute(
            "INSERT INTO notification_preferences VALUES ('va.user@example.org', 'exchange', 'off', "
            "'VA user', '2026-01-06 10:00:00')"
        )
        areas = ["regional_planning", "training", "exercises", "interoperability", "strategy"]
        for note, area in zip(TRICKY, areas):
            cur.execute(
                "UPDATE assessments SET notes = ? WHERE state = 'MD' AND cycle = 2024 AND program_area = ?",
                [note, area],
            )
    s.close()
    return path


def sums(target) -> dict:
    s = db.connect(str(target), read_only=True)
    try:
        return archive.read_store(s).checksums()
    finally:
        s.close()


def counts(target) -> dict:
    s = db.connect(str(target), read_only=True)
    try:
        return {t: int(s.scalar(f"SELECT count(*) FROM {t}")) for t in archive.schema_at(db.SCHEMA_VERSION).tables}
    finally:
        s.close()


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


# --- the format's coverage ----------------------------------------------------------------------------------------


def test_the_archive_knows_every_table_and_sequence_the_migrations_create():
    schema = archive.schema_at(db.SCHEMA_VERSION)
    assert set(schema.tables) == set(archive.TABLE_ORDER), "a new table: add it to archive.TABLE_ORDER"
    assert list(schema.tables) == list(archive.TABLE_ORDER)
    assert set(schema.sequences) == set(archive.SEQUENCES), "a new sequence: add it to archive.SEQUENCES"
    for seq, (table, col) in archive.SEQUENCES.items():
        assert col in dict(schema.tables[table].columns)


def test_the_checksum_is_pinned_so_old_archives_keep_verifying():
    """The checksum's byte form is part of the archive format: changing it would make every archive written
    before look damaged."""
    import datetime as dt

    import pyarrow as pa

    t = pa.table(
        {
            "a": pa.array(["x", None, "", "yz"]),
            "b": pa.array([1, None, 3, 4], pa.int64()),
            "c": pa.array([True, None, False, True]),
            "d": pa.array([dt.date(2025, 1, 1), None, None, None], pa.date32()),
            "e": pa.array([dt.datetime(2025, 1, 1, 1, 1, 1, 5), None, None, None], pa.timestamp("us")),
        }
    )
    assert archive.checksum(t) == "8efa1a557fd526b4e0b10391a95972d2f956ad2ca4c91d89150163de9d280572"
    assert archive.checksum(t.slice(1, 3)) == archive.checksum(
        pa.Table.from_pylist(t.slice(1, 3).to_pylist(), schema=t.schema)
    )


def test_the_rich_source_has_rows_in_every_table(tmp_path):
    assert all(counts(rich_source(tmp_path / "src.duckdb")).values())


# --- copy -----------------------------------------------------------------------------------------------------------


def test_copy_into_either_engine_and_back_keeps_every_row_and_the_checksums(store_target, tmp_path, capsys):
    src = rich_source(tmp_path / "src.duckdb")
    want = sums(src)
    assert main(["copy", "--from", src, "--to", store_target]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in out] == list(archive.TABLE_ORDER)  # one line per table
    assert all(line.endswith("identical") for line in out)
    assert sums(store_target) == want  # the same rows give the same checksum on either engine
    back = str(tmp_path / "back.duckdb")
    assert main(["copy", "--from", store_target, "--to", back]) == 0
    assert sums(back) == want
    s = db.connect(store_target, read_only=True)
    notes = s.read(
        "SELECT notes FROM assessments WHERE state = 'MD' AND cycle = 2024 AND program_area IN "
        "('regional_planning', 'training', 'exercises', 'interoperability', 'strategy') "
        "ORDER BY program_area"
    )["notes"].tolist()
    assert sorted(notes) == sorted(TRICKY)
    assert s.read("SELECT closed_at IS NULL AS c FROM reporting_cycles ORDER BY cycle")["c"].tolist() == [False, True]
    s.close()


def test_after_a_copy_the_sequences_continue_past_the_copied_ids(store_target, tmp_path):
    src = rich_source(tmp_path / "src.duckdb")
    archive.copy(src, store_target)
    s = db.connect(store_target)
    try:
        top = {seq: int(s.scalar(f"SELECT max({col}) FROM {table}")) for seq, (table, col) in archive.SEQUENCES.items()}
        with db.transaction(s) as cur:
            got = {seq: cur.nextval(seq) for seq in archive.SEQUENCES}
        assert all(got[seq] > top[seq] for seq in got), (got, top)
        # and the app's own writes take those ids without a clash
        load(s, [("wy.csv", make_csv([["WY", "training", 2025, 4, "yes", "no", ""]]))], "t", this_year=2026)
        ex = exchanges.open_exchange(s, "WY", "VA", "training", 2025, "PM")
        assert ex > top["exchange_id_seq"]
    finally:
        s.close()


def test_copy_from_postgresql_or_duckdb_reads_one_moment_and_changes_nothing_in_the_source(store_target, tmp_path):
    src = rich_source(tmp_path / "src.duckdb")
    archive.copy(src, store_target)
    before = sums(store_target)
    archive.copy(store_target, str(tmp_path / "again.duckdb"))
    assert sums(store_target) == before


def test_copy_refuses_a_target_holding_data_unless_replace(store_target, tmp_path):
    src = rich_source(tmp_path / "src.duckdb")
    s = db.connect(store_target)
    load(
        s,
        [("va.csv", make_csv([["VA", "exercises", 2025, 5, "yes", "no", "the target's own row"]]))],
        "t",
        this_year=2026,
    )
    s.close()
    before = sums(store_target)
    r = cli("copy", "--from", src, "--to", store_target)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "already holds data" in r.stderr and "--replace" in r.stderr
    assert sums(store_target) == before
    r = cli("copy", "--from", src, "--to", store_target, "--replace")
    assert r.returncode == 0, r.stderr
    assert sums(store_target) == sums(src)


@pytest.mark.parametrize("filled", [False, True], ids=["empty target", "target holding data"])
def test_an_interrupted_copy_leaves_the_target_unchanged(store_target, tmp_path, monkeypatch, capsys, filled):
    src = rich_source(tmp_path / "src.duckdb")
    s = db.connect(store_target)  # an empty store of today's schema (a new DuckDB file: the test below)
    if filled:
        load(s, [("va.csv", make_csv([["VA", "exercises", 2025, 5, "yes", "no", "kept"]]))], "t", this_year=2026)
    s.close()
    before = sums(store_target)
    written = []
    real = archive._write_table

    def failing(cur, name, rows):
        if name == "exchange_history":  # midway: several tables are already in
            raise ConnectionError("the connection to the target was lost")
        real(cur, name, rows)
        written.append(name)

    monkeypatch.setattr(archive, "_write_table", failing)
    args = ["copy", "--from", src, "--to", store_target] + (["--replace"] if filled else [])
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "copy failed, nothing was written: the connection to the target was lost" in err
    assert {"load_log", "assessments", "exchanges"} <= set(written)
    assert sums(store_target) == before


def test_an_interrupted_copy_into_a_new_duckdb_file_leaves_no_file(tmp_path, monkeypatch):
    src = rich_source(tmp_path / "src.duckdb")
    target = tmp_path / "new.duckdb"

    def failing(cur, name, rows):
        raise ConnectionError("disk full")

    monkeypatch.setattr(archive, "_write_table", failing)
    with pytest.raises(ConnectionError):
        archive.copy(src, str(target))
    assert not target.exists() and not (tmp_path / "new.duckdb.wal").exists()


def test_copy_checks_the_schema_version_on_both_sides(store_target, tmp_path):
    src = rich_source(tmp_path / "src.duckdb")
    newer = rich_source(tmp_path / "newer.duckdb")
    s = db.connect(newer, read_only=True)
    with db.transaction(s) as cur:
        cur.execute("UPDATE schema_version SET version = ?", [db.SCHEMA_VERSION + 1])
    s.close()
    r = cli("copy", "--from", newer, "--to", store_target)
    newer_version = f"schema version {db.SCHEMA_VERSION + 1}"
    assert r.returncode == 2 and newer_version in r.stderr and "newer shisn" in r.stderr
    if db.is_url(store_target):
        assert counts(store_target) == dict.fromkeys(archive.TABLE_ORDER, 0)
    else:
        assert not os.path.exists(store_target)
    r = cli("copy", "--from", src, "--to", newer, "--replace")
    assert r.returncode == 2 and newer_version in r.stderr
    s = db.connect(newer, read_only=True)
    assert s.schema_version() == db.SCHEMA_VERSION + 1
    s.close()


def test_copy_refuses_a_missing_source_and_the_same_store_twice(tmp_path):
    r = cli("copy", "--from", tmp_path / "none.duckdb", "--to", tmp_path / "x.duckdb")
    assert r.returncode == 2 and "no such store" in r.stderr
    assert not (tmp_path / "none.duckdb").exists() and not (tmp_path / "x.duckdb").exists()
    src = rich_source(tmp_path / "src.duckdb")
    r = cli("copy", "--from", src, "--to", src)
    assert r.returncode == 2 and "same store" in r.stderr


# --- backup and restore -------------------------------------------------------------------------------------------


def test_backup_writes_one_archive_with_a_parquet_file_per_table_and_a_manifest(store_target, tmp_path):
    archive.copy(rich_source(tmp_path / "src.duckdb"), store_target)
    out = tmp_path / "backup.zip"
    r = cli("backup", "--db", store_target, "--output", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith(f"wrote {out}: schema version {db.SCHEMA_VERSION}")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
    assert names == ["manifest.json"] + [f"tables/{t}.parquet" for t in archive.TABLE_ORDER]
    assert manifest["format"] == "shisn-archive" and manifest["schema_version"] == db.SCHEMA_VERSION
    assert manifest["shisn_version"] and manifest["created_at"].endswith("+00:00")
    assert manifest["source"].startswith(("duckdb ", "postgresql "))
    want = sums(store_target)
    assert {t["name"]: t["checksum"] for t in manifest["tables"]} == want
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == counts(store_target)
    assert set(manifest["sequences"]) == set(archive.SEQUENCES)
    assert not list(tmp_path.glob("*.partial"))


def test_restore_fills_an_empty_store_of_either_engine(store_target, tmp_path):
    src = rich_source(tmp_path / "src.duckdb")
    out = tmp_path / "b.zip"
    assert cli("backup", "--db", src, "--output", out).returncode == 0
    r = cli("restore", out, "--db", store_target)
    assert r.returncode == 0, r.stderr
    assert sums(store_target) == sums(src)
    assert r.stdout.strip().splitlines()[-1].startswith(f"restored {out}")
    # and back out of that engine into a DuckDB file
    out2 = tmp_path / "b2.zip"
    assert cli("backup", "--db", store_target, "--output", out2).returncode == 0
    assert cli("restore", out2, "--db", tmp_path / "r.duckdb").returncode == 0
    assert sums(tmp_path / "r.duckdb") == sums(src)


def test_restore_refuses_a_store_holding_data_unless_replace(store_target, tmp_path):
    src = rich_source(tmp_path / "src.duckdb")
    out = tmp_path / "b.zip"
    archive.backup(src, out)
    archive.restore(out, store_target)
    r = cli("restore", out, "--db", store_target)
    assert r.returncode == 2 and "already holds data" in r.stderr
    assert cli("restore", out, "--db", store_target, "--replace").returncode == 0
    assert sums(store_target) == sums(src)


def _rezip(src, dst, change):
    """Write a copy of archive `src` to `dst` with `change(name, data) -> data | None` (None: leave it out)."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for name in z.namelist():
            data = change(name, z.read(name))
            if data is not None:
                out.writestr(name, data)


def _manifest(change):
    def edit(name, data):
        if name != "manifest.json":
            return data
        m = json.loads(data)
        change(m)
        return json.dumps(m).encode()

    return edit


def _flip(name, data):
    if name != "tables/assessments.parquet":
        return data
    b = bytearray(data)
    b[len(b) // 2] ^= 0xFF
    return bytes(b)


DAMAGE = {
    "truncated": lambda src, dst: dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2]),
    "cut at the very end": lambda src, dst: dst.write_bytes(src.read_bytes()[:-10]),
    "a flipped byte in a member": lambda src, dst: dst.write_bytes(
        (lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 0xFF]) + b[len(b) // 2 + 1 :])(src.read_bytes())
    ),
    "a Parquet file that does not match the manifest": lambda src, dst: _rezip(src, dst, _flip),
    "a table missing": lambda src, dst: _rezip(src, dst, lambda n, d: None if "exchanges." in n else d),
    "no manifest": lambda src, dst: _rezip(src, dst, lambda n, d: None if n == "manifest.json" else d),
    "rows that do not match the manifest": lambda src, dst: _rezip(
        src, dst, _manifest(lambda m: next(t for t in m["tables"] if t["name"] == "users").update(rows=99))
    ),
    "an unknown schema version": lambda src, dst: _rezip(
        src, dst, _manifest(lambda m: m.update(schema_version=db.SCHEMA_VERSION + 1))
    ),
    "not an archive": lambda src, dst: dst.write_text("state,program_area\nVA,exercises\n"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_restore_refuses_a_damaged_archive_with_one_line_and_writes_nothing(store_target, tmp_path, damage, capsys):
    good = tmp_path / "good.zip"
    archive.backup(rich_source(tmp_path / "src.duckdb"), good)
    bad = tmp_path / "bad.zip"
    DAMAGE[damage](good, bad)
    existed = os.path.exists(store_target)
    assert main(["restore", str(bad), "--db", store_target]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err, err
    if damage == "an unknown schema version":
        assert f"schema version {db.SCHEMA_VERSION + 1}" in err and "newer shisn" in err
    else:
        assert "damaged" in err or "not a shisn archive" in err, err
    if db.is_url(store_target):
        assert counts(store_target) == dict.fromkeys(archive.TABLE_ORDER, 0)
    else:
        assert os.path.exists(store_target) == existed  # not even created


def test_a_backup_interrupted_midway_leaves_no_archive(tmp_path, monkeypatch):
    src = rich_source(tmp_path / "src.duckdb")
    out = tmp_path / "b.zip"
    import pyarrow.parquet as pq

    calls = []
    real = pq.write_table

    def failing(table, where, **kw):
        calls.append(1)
        if len(calls) == 5:
            raise OSError("no space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError):
        archive.backup(src, out)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_the_archive_is_portable_plain_parquet(tmp_path):
    """Anything that reads Parquet reads the tables (no shisn needed to get the data out)."""
    import pyarrow.parquet as pq

    out = tmp_path / "b.zip"
    src = rich_source(tmp_path / "src.duckdb")
    archive.backup(src, out)
    with zipfile.ZipFile(out) as z:
        t = pq.read_table(io.BytesIO(z.read("tables/assessments.parquet")))
    assert t.num_rows == counts(src)["assessments"] and "maturity" in t.column_names
