"""Whole stores: `backup` to a portable archive, `restore` from one, and `copy` between two stores (a DuckDB file
and PostgreSQL, either way). One format serves all three (`python -m shisn backup | restore | copy`).

The contract:

- A **snapshot** is every table the migrations create at one schema version (`schema_at(v)`; `schema_version`
  itself is not one: the snapshot carries the version), read in one transaction, so it is one moment even while
  the app writes. Each table is a pyarrow Table of canonical types (integers int64, text string, booleans,
  timestamp[us] without a zone, date32), its rows sorted by its primary key (a table without one: by every column,
  in column order). With it, the next value of every id sequence. Sources are read as they are: a store of an
  older schema is not upgraded by being read.
- A table's **checksum** is the SHA-256 of its canonical rows in a byte form defined by `checksum` (not by any
  library's file format): the same rows give the same checksum whichever engine they come from, and an archive
  verifies the same with later library versions.
- The **archive** is one zip file (members stored: Parquet is compressed already) holding `manifest.json` and
  `tables/NAME.parquet` (zstd), one per table, in `TABLE_ORDER` (a table after those its ids point to). The
  manifest: `format`, `format_version`, `schema_version`, `created_at` (UTC), `shisn_version`, `source` (engine and
  place, no password), per table its `rows`, `checksum`, `columns` and the SHA-256 of its Parquet file, and
  `sequences` (the next value of each).
- **Reading an archive** checks everything before anything is written: a truncated or damaged zip, a missing or
  unreadable member, a Parquet file or a table's rows that do not match the manifest, an unknown format or a schema
  version newer than this shisn's each raise `Refused` (one line saying what is wrong; the CLI exits 2).
- **Writing a snapshot** into a store (`restore`, `copy`) is one transaction: the target's schema is brought up to
  date; a target holding any row is refused unless `replace` (its rows are then deleted first); every table's rows
  go in; every sequence is set past the copied ids (and no lower than where the source's stood); then every table
  is read back and compared with the snapshot by row count and checksum before the commit. Anything failing on the
  way rolls it all back, so the target is as it was (a DuckDB file the copy created is removed again).
- A snapshot of an older schema (an old archive, or a source not yet upgraded) is brought forward by the
  migrations themselves, run on a scratch in-memory DuckDB store, before it is written: `restore` and `copy`
  always write today's schema (`db.SCHEMA_VERSION`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shisn import __version__
from shisn.store import db

FORMAT = "shisn-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

# Dependency order: a table comes after the tables its ids point to (loads before their rows, exchanges before
# their history and views, submissions before theirs). Restores insert in this order and delete in the reverse.
TABLE_ORDER = (
    "load_log",
    "assessments",
    "program_managers",
    "program_manager_log",
    "users",
    "exchanges",
    "exchange_history",
    "exchange_outcomes",
    "ta_referrals",
    "offers",
    "offer_history",
    "exchange_offers",
    "practices",
    "submissions",
    "submission_history",
    "flag_confirmations",
    "settings",
    "reporting_cycles",
    "notification_preferences",
    "notifications",
    "audit_log",
)
# Each id sequence and the column whose ids it hands out: a copy sets the sequence past the largest copied id.
SEQUENCES = {
    "load_id_seq": ("load_log", "load_id"),
    "exchange_id_seq": ("exchanges", "exchange_id"),
    "ta_referral_id_seq": ("ta_referrals", "referral_id"),
    "audit_id_seq": ("audit_log", "audit_id"),
    "submission_id_seq": ("submissions", "submission_id"),
    "notification_id_seq": ("notifications", "notification_id"),
    "offer_id_seq": ("offers", "offer_id"),
    "practice_id_seq": ("practices", "practice_id"),
}

_TYPES = {
    "BOOLEAN": pa.bool_(),
    "TINYINT": pa.int64(),
    "SMALLINT": pa.int64(),
    "INTEGER": pa.int64(),
    "BIGINT": pa.int64(),
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
    "DOUBLE": pa.float64(),
}


class Refused(Exception):
    """The input or the target was refused before anything was written (damaged archive, unknown schema version,
    a target holding data, a missing source): one line saying what to do."""


class Mismatch(RuntimeError):
    """A table read back from the target differs from what was written; the transaction was rolled back."""


# --- the schema at each version -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, pa.DataType], ...]
    key: tuple[str, ...]  # the primary key; empty: none

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c, t) for c, t in self.columns])

    @property
    def sort_keys(self) -> tuple[str, ...]:
        return self.key or tuple(c for c, _ in self.columns)

    def select(self) -> str:
        return f"SELECT {', '.join(c for c, _ in self.columns)} FROM {self.name}"


@dataclass(frozen=True)
class Schema:
    version: int
    tables: dict  # name -> TableSpec, in TABLE_ORDER (tables it does not name after, by name)
    sequences: tuple[str, ...]


@cache
def schema_at(version: int) -> Schema:
    """The tables (columns, canonical types, primary keys) and sequences that MIGRATIONS[:version] create, read from
    a scratch in-memory DuckDB store the migrations are run on."""
    if not 1 <= version <= db.SCHEMA_VERSION:
        raise ValueError(f"no schema version {version}")
    scratch = db.connect(":memory:", read_only=True)
    try:
        with scratch.transaction() as cur:
            for i in range(version):
                cur.run_script(db.migration_sql(i, "duckdb"))
            cols = cur.df(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_name <> 'schema_version' ORDER BY table_name, ordinal_position"
            )
            keys = cur.df(
                "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
                "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
                "AND kcu.table_name = tc.table_name WHERE tc.constraint_type = 'PRIMARY KEY' "
                "ORDER BY tc.table_name, kcu.ordinal_position"
            )
    finally:
        scratch.close()
    names = sorted(
        set(cols["table_name"]), key=lambda t: (TABLE_ORDER.index(t) if t in TABLE_ORDER else len(TABLE_ORDER), t)
    )
    tables = {}
    for t in names:
        c = cols[cols["table_name"] == t]
        tables[t] = TableSpec(
            t,
            tuple((n, _TYPES[ty]) for n, ty in zip(c["column_name"], c["data_type"])),
            tuple(keys[keys["table_name"] == t]["column_name"]),
        )
    seqs = re.findall(r"CREATE SEQUENCE IF NOT EXISTS (\w+)", "\n".join(db.MIGRATIONS[:version]))
    return Schema(version, tables, tuple(dict.fromkeys(seqs)))


# --- snapshots ------------------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    schema_version: int
    tables: dict  # name -> pa.Table (canonical types and order), in schema_at(schema_version)'s order
    sequences: dict  # sequence -> the value its next nextval returns
    sums: dict | None = None  # the checksums, once computed

    def checksums(self) -> dict:
        if self.sums is None:
            self.sums = {name: checksum(t) for name, t in self.tables.items()}
        return dict(self.sums)

    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())


def canonical(table: pa.Table, spec: TableSpec) -> pa.Table:
    """`table` with `spec`'s columns and canonical types, its rows in canonical order."""
    table = db._conform(table, spec.schema)
    if table.num_rows > 1:
        table = table.sort_by([(k, "ascending") for k in spec.sort_keys])
    return table.combine_chunks()


def checksum(table: pa.Table) -> str:
    """SHA-256 of a canonical table over a byte form defined here, not by a library's file format (so an archive
    written years ago still verifies): the row count, then per column its name and type, one byte per row saying
    whether the value is NULL, and the values: integers, booleans, dates (days) and timestamps (microseconds) as
    little-endian int64 (NULL as 0), text as each value's UTF-8 length (int64) followed by all the bytes."""
    h = hashlib.sha256(f"shisn-checksum-1 {table.num_rows}\n".encode())
    for f in table.schema:
        arr = table.column(f.name).combine_chunks()
        h.update(f"{f.name} {f.type}\n".encode())
        h.update(arr.is_valid().to_numpy(zero_copy_only=False).astype(np.uint8).tobytes())
        t = f.type
        if pa.types.is_string(t):
            filled = arr.fill_null("")
            h.update(pc.binary_length(filled).cast(pa.int64()).to_numpy().astype("<i8").tobytes())
            offsets, data = filled.buffers()[1], filled.buffers()[2]
            if data is not None and len(filled):
                at = np.frombuffer(offsets, dtype="<i4")[filled.offset : filled.offset + len(filled) + 1]
                h.update(memoryview(data)[int(at[0]) : int(at[-1])])
            continue
        if pa.types.is_timestamp(t) or pa.types.is_integer(t):
            ints = arr.cast(pa.int64())
        elif pa.types.is_date32(t):
            ints = arr.cast(pa.int32()).cast(pa.int64())
        elif pa.types.is_boolean(t):
            ints = arr.cast(pa.int8()).cast(pa.int64())
        elif pa.types.is_floating(t):
            h.update(arr.fill_null(0).to_numpy().astype("<f8").tobytes())
            continue
        else:
            raise TypeError(f"no checksum for {f.name} of type {t}")
        h.update(ints.fill_null(0).to_numpy().astype("<i8").tobytes())
    return h.hexdigest()


def _read_tables(cur, schema: Schema) -> dict:
    return {name: canonical(cur.arrow(spec.select(), spec.schema), spec) for name, spec in schema.tables.items()}


def read_store(store: db.Store) -> Snapshot:
    """Every table of `store` at one moment, at the schema version the store has (it is not upgraded)."""
    with store.transaction() as cur:
        cur.snapshot()
        version = db.schema_version_in(cur)
        if version == 0:
            raise Refused(f"{db.describe(store.target)} holds no shisn store (it has no schema_version table)")
        _known(version, db.describe(store.target))
        schema = schema_at(version)
        tables = _read_tables(cur, schema)
        sequences = {s: cur.sequence_next(s) for s in schema.sequences}
    return Snapshot(version, tables, sequences)


def _known(version: int, what: str) -> None:
    if version > db.SCHEMA_VERSION:
        raise Refused(
            f"{what} has schema version {version}; this shisn knows versions 1 to {db.SCHEMA_VERSION}: "
            "use a newer shisn"
        )


def upgrade(snap: Snapshot) -> Snapshot:
    """The snapshot at today's schema version: an older one goes through the migrations on a scratch in-memory
    DuckDB store (the same SQL every store is upgraded by)."""
    if snap.schema_version == db.SCHEMA_VERSION:
        return snap
    scratch = db.connect(":memory:", read_only=True)
    try:
        with scratch.transaction() as cur:
            for i in range(snap.schema_version):
                cur.run_script(db.migration_sql(i, "duckdb"))
            cur.execute("DELETE FROM schema_version")
            cur.execute("INSERT INTO schema_version VALUES (?)", [snap.schema_version])
            for name, rows in snap.tables.items():
                if rows.num_rows:
                    cur.insert_arrow(name, rows)
            scratch.migrate_in(cur)
            tables = _read_tables(cur, schema_at(db.SCHEMA_VERSION))
    finally:
        scratch.close()
    return Snapshot(db.SCHEMA_VERSION, tables, dict(snap.sequences))


def _sequences_after(snap: Snapshot) -> dict:
    """Where each sequence of today's schema must stand after the copy: past the largest copied id, and no lower
    than the source's."""
    out = {}
    for seq in schema_at(db.SCHEMA_VERSION).sequences:
        nxt = int(snap.sequences.get(seq, 1))
        if seq in SEQUENCES:
            table, col = SEQUENCES[seq]
            ids = snap.tables[table].column(col)
            if len(ids) and ids.null_count < len(ids):
                nxt = max(nxt, int(pc.max(ids).as_py()) + 1)
        out[seq] = nxt
    return out


@dataclass
class TableResult:
    name: str
    rows: int
    checksum: str

    def line(self, verb: str = "identical") -> str:
        return f"{self.name}: {self.rows} rows, sha256 {self.checksum[:16]}, {verb}"


def _write_table(cur, name: str, rows: pa.Table) -> None:
    """One table's rows into the target (inside write_store's transaction)."""
    if rows.num_rows:
        cur.insert_arrow(name, rows)


def write_store(store: db.Store, snap: Snapshot, replace: bool = False) -> list[TableResult]:
    """Write `snap` into `store` in one transaction (see the module's contract) and return each table's verified
    rows and checksum. Raises Refused (nothing written) for a target holding data without `replace` or a target
    of an unknown schema version, Mismatch when a table read back differs."""
    snap = upgrade(snap)
    expected = snap.checksums()
    sequences = _sequences_after(snap)
    schema = schema_at(db.SCHEMA_VERSION)
    where = db.describe(store.target)
    with store.transaction() as cur:
        _known(db.schema_version_in(cur), where)
        store.migrate_in(cur)
        cur.lock("demo")  # a replica starting on the empty target does not seed the demo meanwhile
        cur.lock("load")  # nor does a load write
        held = {}
        for name in schema.tables:
            n = int(cur.scalar(f"SELECT count(*) FROM {name}"))
            if n:
                held[name] = n
        if held and not replace:
            what = ", ".join(f"{n} in {t}" for t, n in held.items())
            raise Refused(
                f"{where} already holds data ({what}): nothing was written; use --replace to replace everything in it"
            )
        for name in reversed(schema.tables):
            if name in held:
                cur.execute(f"DELETE FROM {name}")
        for name in schema.tables:
            _write_table(cur, name, snap.tables[name])
        for seq, nxt in sequences.items():
            cur.set_sequence_next(seq, nxt)
        results = []
        for name, got in _read_tables(cur, schema).items():
            want = snap.tables[name]
            sha = checksum(got)
            if got.num_rows != want.num_rows or sha != expected[name]:
                raise Mismatch(
                    f"{name}: {got.num_rows} rows read back from {where}, {want.num_rows} written, "
                    f"checksums {sha[:16]} and {expected[name][:16]}: nothing was written"
                )
            results.append(TableResult(name, got.num_rows, sha))
    return results


# --- the archive file -----------------------------------------------------------------------------------------------


def save(snap: Snapshot, path: str | os.PathLike, source: str = "") -> dict:
    """Write `snap` as an archive at `path` (through a temporary file beside it, renamed when complete, so an
    interrupted backup never leaves a partial archive under the name). Returns the manifest."""
    path = Path(path)
    entries, members = [], []
    for name, table in snap.tables.items():
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        data = buf.getvalue()
        member = f"tables/{name}.parquet"
        members.append((member, data))
        entries.append(
            {
                "name": name,
                "file": member,
                "rows": table.num_rows,
                "checksum": snap.checksums()[name],
                "file_sha256": hashlib.sha256(data).hexdigest(),
                "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            }
        )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_version": snap.schema_version,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "shisn_version": __version__,
        "source": source,
        "tables": entries,
        "sequences": {k: int(v) for k, v in snap.sequences.items()},
    }
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(MANIFEST, json.dumps(manifest, indent=1))
            for member, data in members:
                z.writestr(member, data)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return manifest


def load(path: str | os.PathLike) -> tuple[Snapshot, dict]:
    """Read and verify an archive: (its snapshot, its manifest). Raises Refused, naming the problem, for anything
    that is not a complete, undamaged archive this shisn can read."""
    path = Path(path)
    if not path.is_file():
        raise Refused(f"{path}: no such file")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise Refused(f"{path} is not a shisn archive or is damaged (truncated?): {e}; nothing was written") from None
    with z:
        try:
            manifest = json.loads(z.read(MANIFEST))
        except KeyError:
            raise Refused(f"{path} has no {MANIFEST}: not a shisn archive; nothing was written") from None
        except Exception as e:
            raise Refused(
                f"{path}: its {MANIFEST} cannot be read ({e}): the archive is damaged; nothing was written"
            ) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise Refused(f"{path} is not a shisn archive (no format {FORMAT!r} in its manifest)")
        if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
            raise Refused(
                f"{path} is archive format {manifest.get('format_version')!r}; this shisn reads format "
                f"{FORMAT_VERSION}: use a newer shisn"
            )
        version = manifest.get("schema_version")
        if not isinstance(version, int) or version < 1:
            raise Refused(f"{path}: its manifest names no schema version ({version!r}): the archive is damaged")
        _known(version, str(path))
        schema = schema_at(version)
        try:
            entries = {e["name"]: e for e in manifest["tables"]}
            sequences = {str(k): int(v) for k, v in manifest.get("sequences", {}).items()}
        except Exception as e:
            raise Refused(f"{path}: its manifest is damaged ({e}); nothing was written") from None
        missing = [t for t in schema.tables if t not in entries]
        if missing:
            raise Refused(
                f"{path}: tables {', '.join(missing)} of schema version {version} are missing from the "
                "archive; nothing was written"
            )
        tables = {}
        for name, spec in schema.tables.items():
            e = entries[name]
            try:
                data = z.read(e["file"])
                if hashlib.sha256(data).hexdigest() != e["file_sha256"]:
                    raise ValueError("its file does not match the manifest's SHA-256")
                table = canonical(pq.read_table(io.BytesIO(data)), spec)
            except Exception as ex:
                raise Refused(
                    f"{path}: table {name} is damaged ({str(ex).splitlines()[0] if str(ex) else ex!r}); "
                    "nothing was written"
                ) from None
            if table.num_rows != e.get("rows") or checksum(table) != e.get("checksum"):
                raise Refused(
                    f"{path}: table {name}'s rows do not match the manifest (rows or checksum); "
                    "the archive is damaged; nothing was written"
                )
            tables[name] = table
    return Snapshot(version, tables, sequences, {t: entries[t]["checksum"] for t in tables}), manifest


# --- the commands ---------------------------------------------------------------------------------------------------


def open_source(target: str) -> db.Store:
    """A store to read from, as it is (not upgraded; a DuckDB file must exist)."""
    target = str(target)
    if not db.is_url(target) and not Path(target).is_file():
        raise Refused(f"{target}: no such store (no DuckDB file there)")
    return db.connect(target, read_only=True)


def _same(a: str, b: str) -> bool:
    if db.is_url(a) or db.is_url(b):
        return a.rstrip("/") == b.rstrip("/")
    return Path(a).resolve() == Path(b).resolve()


def _into(target: str, snap: Snapshot, replace: bool) -> list[TableResult]:
    """Write `snap` into the store at `target`; a DuckDB file this creates is removed again if it fails."""
    target = str(target)
    created = not db.is_url(target) and not Path(target).exists()
    store = db.connect(target, read_only=True)
    try:
        return write_store(store, snap, replace)
    except BaseException:
        if created:
            store.close()
            for f in (target, target + ".wal"):
                if os.path.exists(f):
                    os.remove(f)
        raise
    finally:
        store.close()


def copy(source: str, target: str, replace: bool = False) -> list[TableResult]:
    """Every table of the store at `source` into the store at `target` (see the module's contract)."""
    if _same(str(source), str(target)):
        raise Refused("--from and --to name the same store")
    src = open_source(source)
    try:
        snap = read_store(src)
    finally:
        src.close()
    return _into(target, snap, replace)


def backup(source: str, output: str | os.PathLike) -> tuple[dict, Snapshot]:
    """Write the store at `source` to an archive at `output`: (the manifest, the snapshot written)."""
    src = open_source(source)
    try:
        snap = read_store(src)
    finally:
        src.close()
    return save(snap, output, source=f"{src.engine} {db.describe(str(source))}"), snap


def restore(path: str | os.PathLike, target: str, replace: bool = False) -> tuple[list[TableResult], dict]:
    """Fill the store at `target` from the archive at `path`: (each table's verified result, the manifest)."""
    snap, manifest = load(path)
    return _into(target, snap, replace), manifest
