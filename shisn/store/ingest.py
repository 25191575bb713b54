"""Self-assessment files (CSV or XLSX) → validated rows → one all-or-nothing write to the store.

The file contract (also in docs/self-assessment-file.md and the template):
one row per state × program area × cycle; header names matched case-insensitively, surrounding whitespace ignored,
spaces or hyphens in a header read as underscores; column order free.
Required: state, program_area, cycle, maturity, offers_help, seeks_help.
Optional: notes, other_area, planning, organization, equipment, training, exercises (POETE sub-ratings).

Every problem names the data row, the line of the file (the spreadsheet row for XLSX), the column and the value.

One set of rules: `_validate` holds every rule and message; `check` (a file: the Data page, the CLI) and
`check_rows` (the self-assessment form's rows, shisn.services.submissions) both run it, so a form and a file can never be
judged differently. `load` writes files, or rows a form already validated, all or nothing.

How it stays fast (a 100,000-row file reads, validates and writes in a small multiple of DuckDB's own `read_csv`):
columns are Arrow arrays (pyarrow, which Streamlit and DuckDB's Arrow exchange already bring); a column with few
distinct values (state, area, the numbers, the yes/no flags: all but notes and other_area) is dictionary-encoded
and every rule runs once per distinct value, in plain Python, then spreads to the rows with one numpy take; the
valid rows go to DuckDB as an Arrow table (no copy).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv
import pyarrow.csv as pacsv

from shisn.domain import catalog, jurisdictions
from shisn.store import audit
from shisn.store.db import transaction

REQUIRED = ("state", "program_area", "cycle", "maturity", "offers_help", "seeks_help")
OPTIONAL = ("notes", "other_area") + catalog.POETE
COLUMNS = REQUIRED + OPTIONAL
TEXT_COLUMNS = ("notes", "other_area")  # free text: checked row by row (in Arrow), not per distinct value
FIRST_CYCLE = 2003
MAX_BYTES = 25 * 1024 * 1024  # larger uploads are refused before parsing
MAX_ROWS = 200_000  # data rows per file
MAX_NOTES = 4000  # characters
MAX_OTHER_AREA = 200
MAX_PROBLEMS_SHOWN = 200  # every problem is counted; this many are listed
TRUE_WORDS = {"yes", "y", "true", "t", "1"}
FALSE_WORDS = {"no", "n", "false", "f", "0", ""}
DB_COLUMNS = [
    "state",
    "program_area",
    "cycle",
    "maturity",
    "offers_help",
    "seeks_help",
    "other_area",
    "notes",
    *catalog.POETE,
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file. `row` is the data row (1 = first row under the header); `line` is the line of
    the file (or spreadsheet row) it sits on. File-level problems have no row."""

    reason: str
    row: int | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row} (line {self.line})")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            parts.append(f"value {shown!r}")
        where = ", ".join(parts)
        return f"{where}: {self.reason}" if where else self.reason


@dataclass
class Checked:
    """A file read and validated: rows ready to write (`table`, an Arrow table in DB_COLUMNS order), or problems
    (then `table` is None and nothing may be written)."""

    file_name: str
    table: pa.Table | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    line_numbers: np.ndarray | None = None  # file line of each row in `table`

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def lines(self) -> list[int]:
        return [] if self.line_numbers is None else self.line_numbers.tolist()

    @cached_property
    def rows(self) -> pd.DataFrame:
        """The valid rows as a DataFrame (state and area codes as text, numbers as nullable Int64)."""
        if self.table is None:
            return pd.DataFrame(columns=DB_COLUMNS)
        t = self.table
        t = t.cast(
            pa.schema([pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in t.schema])
        )
        return t.to_pandas(types_mapper=lambda ty: pd.Int64Dtype() if pa.types.is_integer(ty) else None)


class LoadError(Exception):
    """Raised when any file in a load is invalid; nothing was written."""

    def __init__(self, problems: list[Problem], warnings: list[str] | None = None):
        self.problems = problems
        self.warnings = warnings or []
        super().__init__(f"{len(problems)} problem(s); nothing was loaded")

    def report(self, limit: int = MAX_PROBLEMS_SHOWN) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problem(s)")
        lines.append(f"{len(self.problems)} problem(s); nothing was loaded.")
        return "\n".join(lines)


@dataclass
class LoadSummary:
    load_id: int
    file_name: str
    rows: int
    states: list[str]
    cycles: list[int]
    added: int
    changed: int
    unchanged: int
    removed: int
    warnings: list[str]

    def line(self) -> str:
        return (
            f"loaded {self.file_name}: {self.rows} rows for {len(self.states)} jurisdiction(s) × "
            f"{len(self.cycles)} cycle(s) ({', '.join(map(str, self.cycles))}): {self.added} new, "
            f"{self.changed} changed, {self.unchanged} unchanged, {self.removed} removed"
        )


# ---------------------------------------------------------------------------------------------------------------
# Reading: bytes → header + rows of strings, each with its file line
# ---------------------------------------------------------------------------------------------------------------


def _norm_header(h: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(h if h is not None else "").strip().lower())


def _cell_text(v: object) -> str:
    """A spreadsheet cell as the text a person typed."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return str(v).strip()


def _first_data_line(text: str) -> str:
    """The first line that is neither blank nor a # comment, as `text.splitlines()` would give it, without
    splitting the whole file (the lines of a prefix are the same, all but possibly its last)."""
    size = 1 << 16
    while True:
        lines = text[:size].splitlines()
        whole = size >= len(text)
        for ln in lines if whole else lines[:-1]:
            if ln.strip() and not ln.lstrip().startswith("#"):
                return ln
        if whole:
            return ""
        size *= 4


def _read_csv(data: bytes, problems: list[Problem], warnings: list[str]):
    if b"\x00" in data[:8192]:
        problems.append(
            Problem(
                "this is not a CSV text file (it contains binary data); "
                "upload a .csv saved as 'CSV UTF-8' or an .xlsx workbook"
            )
        )
        return None, []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        bad = data[e.start : e.start + 1]
        problems.append(
            Problem(
                f"the file is not UTF-8 text (byte {bad!r} at position {e.start}); "
                "in Excel use Save As → 'CSV UTF-8 (Comma delimited)'",
                line=line,
            )
        )
        return None, []
    first = _first_data_line(text)
    delimiter = max([",", ";", "\t"], key=lambda d: first.count(d))
    if delimiter != ",":
        warnings.append(f"read as {'semicolon' if delimiter == ';' else 'tab'}-separated values")
    fast = _read_csv_columnar(data, delimiter)
    if fast is not None:
        return fast
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, rows = None, []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if cells[0].lstrip().startswith("#"):
                continue  # comment lines (the template explains itself in them)
            if header is None:
                header = (cells, line)
                continue
            rows.append((line, [c.strip() for c in cells], set()))
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as e:
        problems.append(Problem(f"the CSV cannot be read: {e}", line=reader.line_num))
        return None, []
    return header, rows


class _Columnar:
    """Data rows read column by column (the fast CSV path): one Arrow string array per header column, values NOT
    yet stripped (check strips them: per distinct value, or in Arrow for free text), and the file line of each
    row. Stands in for the reader's list of rows in `_read`."""

    def __init__(self, columns: list, lines: np.ndarray):
        self.columns, self.lines = columns, lines

    def __len__(self) -> int:
        return len(self.lines)


_FAST_CSV_OK: bool | None = None


def _fast_csv_available() -> bool:
    """Arrow's CSV reader and whitespace trimming, checked once against Python's str.strip (which the row-by-row
    reader uses) on every character Python calls whitespace and on the invisible ones it does not."""
    global _FAST_CSV_OK
    if _FAST_CSV_OK is None:
        try:
            space = [chr(i) for i in range(0x3001) if chr(i).isspace()]
            other = ["\u180e", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "x"]
            trimmed = pc.utf8_trim_whitespace(pa.array(space + other)).to_pylist()
            left = pc.utf8_ltrim_whitespace(pa.array([s + "x" for s in space + other])).to_pylist()
            _FAST_CSV_OK = trimmed == [""] * len(space) + other and left == ["x"] * len(space) + [
                s + "x" for s in other
            ]
        except Exception:  # pragma: no cover - pyarrow too old: the row-by-row reader still works
            _FAST_CSV_OK = False
    return _FAST_CSV_OK


def _read_csv_columnar(body: bytes, delimiter: str):
    """The common case, column-wise at C speed (Arrow): a file (BOM removed) with no quote characters, NULs or
    stray carriage returns, whose lines (header included) all hold the same number of fields. Each line is then
    exactly one record, so file lines are known, and the result is exactly what the row-by-row reader gives:
    blank lines (every cell blank) and comment lines (first cell starting with #) skipped, the first other line
    the header. Returns (header, _Columnar) or None when the file needs the row-by-row reader."""
    if (
        b'"' in body
        or b"\x00" in body
        or (b"\r" in body and body.count(b"\r") != body.count(b"\r\n"))
        or not _fast_csv_available()
    ):
        return None
    end = body.find(b"\n")
    first = body if end < 0 else body[:end]
    width = first.count(delimiter.encode()) + 1
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # ragged lines, blank lines, ...: the row-by-row reader
        return None
    if table.num_rows > body.count(b"\n") + 1:  # one record per line, or something is not what it seems
        return None
    n = table.num_rows
    if not n:
        return None, _Columnar([], np.zeros(0, dtype=np.int64))
    raw = [table.column(i).combine_chunks() for i in range(width)]
    # a line is skipped when its first cell is blank or starts with # (after leading whitespace) and, for blank,
    # every other cell is blank too; only lines whose first cell is blank need their other cells looked at
    lead = pc.utf8_ltrim_whitespace(raw[0])
    skip = _bool(pc.starts_with(lead, "#"))
    blank_first = np.flatnonzero(_bool(pc.equal(pc.binary_length(lead), 0)))
    if len(blank_first):
        blank = np.ones(len(blank_first), dtype=bool)
        at = pa.array(blank_first, type=pa.int64())
        for c in raw[1:]:
            cells = pc.utf8_trim_whitespace(c.take(at))
            blank &= _bool(pc.equal(pc.binary_length(cells), 0))
        skip[blank_first[blank]] = True
    if not skip.any():
        head, rows = 0, np.arange(1, min(n, MAX_ROWS + 2), dtype=np.int64)
    else:
        records = np.flatnonzero(~skip)
        if not len(records):
            return None, _Columnar([], np.zeros(0, dtype=np.int64))
        head, rows = int(records[0]), records[1 : MAX_ROWS + 2]  # one more than allowed: _read refuses the file
    header = ([raw[i][head].as_py() for i in range(width)], head + 1)
    if not len(rows):
        columns = [c.slice(0, 0) for c in raw]
    elif rows[-1] - rows[0] + 1 == len(rows):  # contiguous (the usual case): a slice, no copy
        columns = [c.slice(int(rows[0]), len(rows)) for c in raw]
    else:
        at = pa.array(rows, type=pa.int64())
        columns = [c.take(at) for c in raw]
    return header, _Columnar(columns, rows + 1)


def _read_xlsx(data: bytes, problems: list[Problem], warnings: list[str]):
    import openpyxl  # import costs 50 ms: only for XLSX files
    from openpyxl.utils.exceptions import InvalidFileException  # import costs 50 ms: only for XLSX files

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        problems.append(
            Problem(
                f"the Excel workbook cannot be opened ({type(e).__name__}); "
                "save it again as .xlsx or export it as CSV UTF-8"
            )
        )
        return None, []
    candidates = []
    for ws in wb.worksheets:
        for r in ws.iter_rows(min_row=1, max_row=30, values_only=True):
            names = {_norm_header(v) for v in r if v is not None}
            if not names:
                continue
            if set(REQUIRED) <= names:
                candidates.append(ws)
            break
    if not candidates:
        sheets = ", ".join(repr(ws.title) for ws in wb.worksheets)
        problems.append(Problem(f"no sheet has the required header ({', '.join(REQUIRED)}); sheets found: {sheets}"))
        return None, []
    if len(candidates) > 1:
        problems.append(
            Problem(
                "several sheets have a self-assessment header ("
                + ", ".join(repr(ws.title) for ws in candidates)
                + "); keep the data on one sheet"
            )
        )
        return None, []
    ws = candidates[0]
    if len(wb.worksheets) > 1:
        warnings.append(f"read sheet {ws.title!r}; other sheets were ignored")
    header, rows = None, []
    for r_idx, row in enumerate(ws.iter_rows(), start=1):
        cells = [_cell_text(c.value) for c in row]
        if not any(cells):
            continue
        if header is None:
            if cells and cells[0].startswith("#"):
                continue
            header = (cells, r_idx)
            continue
        formulas = {i for i, c in enumerate(row) if getattr(c, "data_type", None) == "f"}
        rows.append((r_idx, cells, formulas))
        if len(rows) > MAX_ROWS:
            break
    wb.close()
    return header, rows


@dataclass
class _Read:
    """A file read: per canonical column present, its Arrow string array (`stripped` says whether surrounding
    whitespace is already gone); the file line of each row; the formula cells {(row index, column)}."""

    columns: dict[str, pa.Array]
    stripped: bool
    lines: np.ndarray
    formulas: dict


def _read(file_name: str, data: bytes) -> tuple[_Read | None, list[Problem], list[str]]:
    """Parse a file into columns of strings (canonical column names), or None and file-level problems. Rows with
    more values than the header are problems that come with the columns (their cells are still checked)."""
    problems: list[Problem] = []
    warnings: list[str] = []
    suffix = Path(file_name).suffix.lower()
    if len(data) > MAX_BYTES:
        return (
            None,
            [
                Problem(
                    f"the file is {len(data) / 1e6:.1f} MB; the limit is "
                    f"{MAX_BYTES // (1024 * 1024)} MB: split it by state or cycle"
                )
            ],
            warnings,
        )
    if not data or data.isspace():
        return None, [Problem("the file is empty")], warnings
    is_zip = data[:4] == b"PK\x03\x04"
    if suffix == ".xls" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return None, [Problem("old-style Excel (.xls) files are not supported; save as .xlsx or CSV UTF-8")], warnings
    if suffix in (".xlsx", ".xlsm") or is_zip:
        if not is_zip:
            return None, [Problem("the file is named .xlsx but is not an Excel workbook")], warnings
        header, rows = _read_xlsx(data, problems, warnings)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        if data[:5] == b"%PDF-" or data[:2] in (b"\x89P", b"\xff\xd8"):
            return None, [Problem("this is not a CSV file; upload .csv or .xlsx")], warnings
        header, rows = _read_csv(data, problems, warnings)
    else:
        return None, [Problem(f"wrong file type {suffix!r}: upload a .csv or .xlsx self-assessment")], warnings
    if problems:
        return None, problems, warnings
    if header is None:
        return None, [Problem("the file is empty")], warnings
    if len(rows) > MAX_ROWS:
        return None, [Problem(f"the file has more than {MAX_ROWS:,} data rows; split it by state or cycle")], warnings

    cells, header_line = header
    names = [_norm_header(h) for h in cells]
    seen: dict[str, int] = {}
    keep: dict[int, str] = {}
    unknown = []
    for i, n in enumerate(names):
        if not n:
            continue
        if n in seen:
            problems.append(
                Problem(
                    f"column {n!r} appears twice in the header (columns {seen[n] + 1} and {i + 1})",
                    line=header_line,
                    column=n,
                )
            )
            continue
        seen[n] = i
        if n in COLUMNS:
            keep[i] = n
        else:
            unknown.append(str(cells[i]).strip())
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        problems.append(
            Problem(
                "missing required column(s): "
                + ", ".join(missing)
                + f" (the header has: {', '.join(n for n in names if n) or 'nothing'})",
                line=header_line,
            )
        )
    if unknown:
        warnings.append("ignored unknown column(s): " + ", ".join(unknown))
    if problems:
        return None, problems, warnings
    if not len(rows):
        return None, [Problem("the file has a header but no data rows", line=header_line)], warnings

    if isinstance(rows, _Columnar):
        return _Read({name: rows.columns[i] for i, name in keep.items()}, False, rows.lines, {}), problems, warnings
    width = len(cells)
    records, lines, formulas = [], [], {}
    for k, (line, vals, f_cells) in enumerate(rows):
        extra = [v for v in vals[width:] if v]
        if extra:
            problems.append(
                Problem(
                    f"the row has {len(vals)} values but the header has {width} columns",
                    row=k + 1,
                    line=line,
                    value=extra[0],
                )
            )
        vals = vals + [""] * (width - len(vals))
        records.append([vals[i] for i in keep])
        lines.append(line)
        for i in f_cells:
            if i in keep:
                formulas[(k, keep[i])] = True
    by_column = list(zip(*records))
    columns = {name: pa.array(by_column[j], type=pa.string()) for j, name in enumerate(keep.values())}
    return _Read(columns, True, np.asarray(lines, dtype=np.int64), formulas), problems, warnings


def read_table(file_name: str, data: bytes) -> tuple[pd.DataFrame | None, list[int], dict, list[Problem], list[str]]:
    """Parse a file into a DataFrame of stripped strings (canonical column names, every column of the contract;
    absent ones blank), the file line of each row, the set of formula cells {(row index, column)}, problems and
    warnings."""
    r, problems, warnings = _read(file_name, data)
    if r is None:
        return None, [], {}, problems, warnings
    n = len(r.lines)
    df = pd.DataFrame(
        {
            c: pd.Series(_stripped(r.columns[c], r.stripped).to_pylist() if c in r.columns else [""] * n, dtype="str")
            for c in COLUMNS
        }
    )
    return df, r.lines.tolist(), r.formulas, problems, warnings


# ---------------------------------------------------------------------------------------------------------------
# Validation: strings → typed rows, or problems naming row, line, column, value
# ---------------------------------------------------------------------------------------------------------------

_INT_RE = re.compile(r"([0-9]+)(?:\.0+)?")


def _as_int(text: str) -> int | None:
    """A whole number written as '3' or '3.0' (Excel); anything else → None (so are numbers of more than 18
    digits, which no column allows)."""
    m = _INT_RE.fullmatch(text)
    return int(m.group(1)) if m and len(m.group(1)) <= 18 else None


def _stripped(values: pa.Array, stripped: bool) -> pa.Array:
    return values if stripped else pc.utf8_trim_whitespace(values)


class _Distinct:
    """A column with few distinct values: its distinct values (stripped; stripping may make two equal) and, per
    row, the index of its value. A rule is evaluated once per distinct value and spread to the rows with a take."""

    def __init__(self, values: pa.Array | None, n: int, stripped: bool):
        if values is None:  # an optional column the file does not have: blank on every row
            self.values, self.codes = [""], np.zeros(n, dtype=np.int32)
            return
        enc = pc.dictionary_encode(values)
        distinct, codes = enc.dictionary.to_pylist(), enc.indices.to_numpy(zero_copy_only=False)
        self.values = distinct if stripped else [v.strip() for v in distinct]
        self.codes = codes

    def rows(self, per_value) -> np.ndarray:
        """Spread one result per distinct value (a list or array) to the rows."""
        return np.asarray(per_value)[self.codes]

    def value(self, i: int) -> str:
        return self.values[self.codes[i]]


def _bool(values: pa.Array) -> np.ndarray:
    return values.to_numpy(zero_copy_only=False)


def _duplicated(key: np.ndarray) -> np.ndarray:
    """Rows whose integer key occurs more than once."""
    if not len(key):
        return np.zeros(0, dtype=bool)
    if key.max() <= 8 * len(key) + (1 << 16):
        return np.bincount(key)[key] > 1
    return pd.Series(key).duplicated(keep=False).to_numpy()


def check(
    file_name: str, data: bytes, *, this_year: int | None = None, allowed_states: tuple[str, ...] | None = None
) -> Checked:
    """Read and validate one file. Nothing touches the database. With `allowed_states` (a state user's own
    state), rows for any other jurisdiction are problems."""
    r, problems, warnings = _read(file_name, data)
    if r is None:
        return Checked(file_name, None, problems, warnings)
    return _validate(file_name, r, problems, warnings, this_year=this_year, allowed_states=allowed_states)


def _form_text(v: object) -> str:
    """A form's value as the text a file's cell would hold (None → blank, True → yes, 3 → '3')."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def check_rows(
    rows, name: str = "form", *, this_year: int | None = None, allowed_states: tuple[str, ...] | None = None
) -> Checked:
    """Validate rows given as values rather than a file (the self-assessment form's rows: one mapping per program
    area, keys from COLUMNS) with exactly the rules and messages a file gets: the same `_validate`. Row i + 1 is
    `rows[i]` (its `line` too), so a problem names the row, hence the program area, it concerns. Nothing touches
    the database."""
    rows = list(rows)
    if not rows:
        return Checked(name, None, [Problem("nothing to check: rate at least one program area", file=name)])
    unknown = sorted({k for r in rows for k in r} - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; columns: {', '.join(COLUMNS)}")
    columns = {c: pa.array([_form_text(r.get(c)) for r in rows], type=pa.string()) for c in COLUMNS}
    r = _Read(columns, False, np.arange(1, len(rows) + 1, dtype=np.int64), {})
    return _validate(name, r, [], [], this_year=this_year, allowed_states=allowed_states)


def _validate(
    file_name: str,
    r: _Read,
    problems: list[Problem],
    warnings: list[str],
    *,
    this_year: int | None = None,
    allowed_states: tuple[str, ...] | None = None,
) -> Checked:
    """The rules, once, for files and forms alike: strings → typed rows, or problems naming row, line, column,
    value."""
    this_year = this_year or dt.date.today().year
    lines, n = r.lines, len(r.lines)
    found: list[tuple[int, int, Problem]] = []
    col_order = {c: i for i, c in enumerate(COLUMNS)}
    dist = {c: _Distinct(r.columns.get(c), n, r.stripped) for c in COLUMNS if c not in TEXT_COLUMNS}
    text = {c: _stripped(r.columns[c], r.stripped) for c in TEXT_COLUMNS if c in r.columns}
    empty = {c: _bool(pc.equal(pc.binary_length(t), 0)) for c, t in text.items()}

    def value(i: int, column: str) -> str:
        if column in dist:
            return dist[column].value(i)
        return text[column][i].as_py() if column in text else ""

    def flag(mask: np.ndarray, column: str, reason: str):
        for i in np.flatnonzero(mask).tolist():  # rows are 0..n-1
            found.append((i, col_order[column], Problem(reason, i + 1, int(lines[i]), column, value(i, column))))

    def flag_values(column: str, bad: list[bool], reason: str):
        """Flag the rows whose (distinct) value is bad."""
        if any(bad):
            flag(dist[column].rows(bad), column, reason)

    def too_long(column: str, limit: int) -> np.ndarray | None:
        t = text.get(column)
        if t is None or (pc.max(pc.binary_length(t)).as_py() or 0) <= limit:  # never more characters than bytes
            return None
        return _bool(pc.greater(pc.utf8_length(t), limit))

    for i, col in r.formulas:
        found.append(
            (
                i,
                col_order[col],
                Problem(
                    "cell holds a spreadsheet formula; type the value itself", i + 1, int(lines[i]), col, value(i, col)
                ),
            )
        )
    formula = "looks like a spreadsheet formula; type the value itself"
    for c in COLUMNS:
        if c in dist:
            flag_values(c, [v.startswith("=") and len(v) > 1 for v in dist[c].values], formula)
        elif c in text:
            hit = pc.and_(pc.starts_with(text[c], "="), pc.greater(pc.binary_length(text[c]), 1))
            if pc.any(hit).as_py():
                flag(_bool(hit), c, formula)

    # state
    st = dist["state"]
    codes = [jurisdictions.state_code(v) for v in st.values]
    flag_values("state", [v == "" for v in st.values], "required: a USPS code or name such as VA or Virginia")
    flag_values(
        "state",
        [c is None and v != "" for v, c in zip(st.values, codes)],
        "not one of the 56 reporting jurisdictions (use a USPS code such as VA or a name such as Virginia)",
    )
    if allowed_states is not None:
        flag_values(
            "state",
            [c is not None and c not in allowed_states for c in codes],
            "you may load rows only for " + (", ".join(allowed_states) or "no jurisdiction"),
        )
    # program area
    ar = dist["program_area"]
    slugs = [catalog.area_slug(v) for v in ar.values]
    flag_values("program_area", [v == "" for v in ar.values], "required: a program area slug or label")
    flag_values(
        "program_area",
        [s is None and v != "" for v, s in zip(ar.values, slugs)],
        "not a program area; use one of: " + ", ".join(catalog.AREA_SLUGS),
    )
    # cycle
    cycles = [_as_int(v) for v in dist["cycle"].values]
    flag_values(
        "cycle",
        [y is None or y < FIRST_CYCLE or y > this_year + 1 for y in cycles],
        f"must be a four-digit assessment year from {FIRST_CYCLE} to {this_year + 1}",
    )
    # maturity and POETE
    numbers = {c: [_as_int(v) for v in dist[c].values] for c in ("maturity", *catalog.POETE)}
    numbers["cycle"] = cycles
    flag_values(
        "maturity", [x is None or not 1 <= x <= 5 for x in numbers["maturity"]], "required: a whole number from 1 to 5"
    )
    for c in catalog.POETE:
        flag_values(
            c,
            [v != "" and (x is None or not 1 <= x <= 5) for v, x in zip(dist[c].values, numbers[c])],
            "must be blank or a whole number from 1 to 5",
        )
    # yes/no flags
    flags = {}
    for c in ("offers_help", "seeks_help"):
        words = [
            "yes" if v.lower() in TRUE_WORDS else "no" if v.lower() in FALSE_WORDS else "?" for v in dist[c].values
        ]
        flags[c] = [w == "yes" for w in words]
        flag_values(c, [w == "?" for w in words], "must be yes/no, y/n, true/false or 1/0 (blank means no)")
    # text
    long = too_long("notes", MAX_NOTES)
    if long is not None:
        flag(long, "notes", f"longer than {MAX_NOTES} characters")
    other = ar.rows([s == catalog.OTHER for s in slugs])
    other_empty = empty.get("other_area", np.ones(n, dtype=bool))
    flag(other & other_empty, "other_area", "required when program_area is 'other': name the area (e.g. Cybersecurity)")
    long = too_long("other_area", MAX_OTHER_AREA)
    if long is not None:
        flag(long, "other_area", f"longer than {MAX_OTHER_AREA} characters")
    if (~other & ~other_empty).any():
        warnings.append("other_area is only used with program_area 'other'; it was ignored on other rows")
    # duplicates inside the file: one integer per (state, area, cycle), over the rows where all three are known
    s_known, a_known = [c is not None for c in codes], [s is not None for s in slugs]
    key_ok = st.rows(s_known) & ar.rows(a_known) & dist["cycle"].rows([y is not None for y in cycles])
    state_ix = _index_of(codes)
    area_ix = _index_of(slugs)
    cycle_ix = _index_of(cycles)
    key = (st.rows(state_ix).astype(np.int64) * (max(area_ix) + 1) + ar.rows(area_ix)) * (max(cycle_ix) + 1) + dist[
        "cycle"
    ].rows(cycle_ix)
    rows_ok = np.flatnonzero(key_ok)
    dup = rows_ok[_duplicated(key[rows_ok])]
    if len(dup):
        firsts: dict[tuple, int] = {}
        for i in dup.tolist():
            k = (codes[st.codes[i]], slugs[ar.codes[i]], cycles[dist["cycle"].codes[i]])
            if k in firsts:
                j = firsts[k]
                found.append(
                    (
                        i,
                        col_order["state"],
                        Problem(
                            f"duplicates row {j + 1} (line {lines[j]}): same state, program area and cycle "
                            f"({k[0]}, {k[1]}, {k[2]})",
                            i + 1,
                            int(lines[i]),
                            "state",
                            value(i, "state"),
                        ),
                    )
                )
            else:
                firsts[k] = i

    found.sort(key=lambda t: (t[0], t[1]))  # stable: a formula problem stays ahead of others on that cell
    seen_cells: set[tuple[int, str | None]] = set()
    for _, _, p in found:
        cell = (p.row, p.column)
        if cell not in seen_cells or p.reason.startswith("duplicates"):
            seen_cells.add(cell)
            problems.append(p)
    problems = [Problem(p.reason, p.row, p.line, p.column, p.value, file_name) for p in problems]
    if problems:
        return Checked(file_name, None, problems, warnings)

    def category(d: _Distinct, mapped: list) -> pa.DictionaryArray:
        """The rows' mapped values (all known) as a dictionary array over the distinct mapped values."""
        distinct = sorted(set(mapped))
        where = {v: i for i, v in enumerate(distinct)}
        return pa.DictionaryArray.from_arrays(
            pa.array(d.rows(np.array([where[m] for m in mapped], np.int32))), pa.array(distinct, type=pa.string())
        )

    def numbers_of(c: str, typ) -> pa.Array:
        d, xs = dist[c], numbers[c]
        missing = d.rows([x is None for x in xs])
        return pa.array(
            d.rows([0 if x is None else x for x in xs]).astype(typ.to_pandas_dtype()),
            type=typ,
            mask=missing if missing.any() else None,
        )

    def nulls_for_empty(c: str, keep: np.ndarray | None = None) -> pa.Array:
        if c not in text:
            return pa.nulls(n, type=pa.string())
        keep = ~empty[c] if keep is None else keep & ~empty[c]
        return pc.if_else(pa.array(keep), text[c], pa.scalar(None, type=pa.string()))

    table = pa.table(
        {
            "state": category(st, codes),
            "program_area": category(ar, slugs),
            "cycle": numbers_of("cycle", pa.int32()),
            "maturity": numbers_of("maturity", pa.int8()),
            "offers_help": pa.array(dist["offers_help"].rows(flags["offers_help"])),
            "seeks_help": pa.array(dist["seeks_help"].rows(flags["seeks_help"])),
            "other_area": nulls_for_empty("other_area", other),
            "notes": nulls_for_empty("notes"),
            **{c: numbers_of(c, pa.int8()) for c in catalog.POETE},
        }
    )
    return Checked(file_name, table, [], warnings, lines)


def _index_of(values: list) -> np.ndarray:
    """Each value's index among the distinct known (not None) values; 0 for None (such rows are never compared)."""
    where: dict = {}
    for v in values:
        if v is not None and v not in where:
            where[v] = len(where)
    return np.array([where.get(v, 0) for v in values], dtype=np.int64)


# ---------------------------------------------------------------------------------------------------------------
# Writing: all files or none
# ---------------------------------------------------------------------------------------------------------------

_WRITE_LOCK = threading.Lock()  # one load at a time in this process (DuckDB lets only one process write a store)


def _keys(c: Checked) -> pd.DataFrame:
    t = c.table
    return pd.DataFrame(
        {
            "state": t.column("state").cast(pa.string()).to_numpy(),
            "program_area": t.column("program_area").cast(pa.string()).to_numpy(),
            "cycle": t.column("cycle").to_numpy(),
        }
    )


def _across_files(checked: list[Checked]) -> list[Problem]:
    """The same state × area × cycle in two files of one load: named at each later occurrence, in file order."""
    keys = pd.concat(
        [_keys(c).assign(f=k, i=np.arange(c.table.num_rows)) for k, c in enumerate(checked)], ignore_index=True
    )
    key = ["state", "program_area", "cycle"]
    later = keys.duplicated(key, keep="first").to_numpy()
    if not later.any():
        return []
    pairs = keys[later].merge(keys[~later], on=key, how="left", suffixes=("", "0"))  # keeps the later rows' order
    problems = []
    for s, f, i, f0, i0 in pairs[["state", "f", "i", "f0", "i0"]].itertuples(index=False):
        c, c0 = checked[f], checked[f0]
        problems.append(
            Problem(
                f"also in {c0.file_name} row {i0 + 1} (line {c0.line_numbers[i0]}): load one file per state × cycle",
                i + 1,
                int(c.line_numbers[i]),
                "state",
                s,
                c.file_name,
            )
        )
    return problems


def load(
    con,
    files: list,
    loaded_by: str,
    *,
    synthetic: bool = False,
    this_year: int | None = None,
    allowed_states: tuple[str, ...] | None = None,
    also=None,
) -> list[LoadSummary]:
    """Validate every file, then write all of them in ONE transaction, or raise LoadError and write nothing.
    Each file replaces the rows of the states × cycles it contains. `files` holds (name, bytes) pairs, or rows
    already validated (a `Checked` from `check_rows`: the form's accepted submission, named for the load log).
    `also(cur, summaries)`, if given, runs inside the same transaction after the rows are written (e.g. marking
    the submission accepted); if it raises, nothing at all is written."""
    checked = [
        f if isinstance(f, Checked) else check(f[0], f[1], this_year=this_year, allowed_states=allowed_states)
        for f in files
    ]
    problems = [p for c in checked for p in c.problems]
    warnings = [f"{c.file_name}: {w}" for c in checked for w in c.warnings]
    if not problems and len(checked) > 1:
        problems = _across_files(checked)
    if problems:
        raise LoadError(problems, warnings)
    summaries = []
    with _WRITE_LOCK, transaction(con) as cur:
        cur.lock("load")  # one load at a time across processes and replicas (PostgreSQL advisory lock)
        for c in checked:
            summaries.append(_write(cur, c, loaded_by, synthetic))
            audit.record_in(cur, loaded_by, "load", summaries[-1].line())
        if also is not None:
            also(cur, summaries)
    return summaries


def _touched(rows: pa.Table) -> pa.Table:
    """The distinct (state, cycle) pairs of a file's rows: the part of the store the file replaces."""
    state = rows.column("state").combine_chunks()
    if not pa.types.is_dictionary(state.type):
        state = pc.dictionary_encode(state)
    s = state.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    y = rows.column("cycle").to_numpy()
    low = int(y.min())
    span = int(y.max()) - low + 1  # validated cycles: a few dozen at most
    pairs = np.flatnonzero(np.bincount(s * span + (y - low), minlength=1))
    return pa.table(
        {
            "state": state.dictionary.take(pa.array(pairs // span)).cast(pa.string()),
            "cycle": pa.array((pairs % span + low).astype(np.int32)),
        }
    )


def _write(cur, c: Checked, loaded_by: str, synthetic: bool) -> LoadSummary:
    """Replace the file's states × cycles by its rows (inside the caller's transaction) and log the load."""
    rows, n = c.table, c.table.num_rows
    load_id = cur.execute("SELECT nextval('load_id_seq')").fetchall()[0][0]
    touched = _touched(rows)
    cur.temp_table("incoming", rows)
    cur.temp_table("touched", touched)
    try:
        replaced_rows = (
            "FROM assessments a WHERE EXISTS (SELECT 1 FROM touched t WHERE t.state = a.state AND t.cycle = a.cycle)"
        )
        replaced = cur.execute(f"SELECT count(*) {replaced_rows}").fetchall()[0][0]
        if replaced:
            # the rows replaced, matched to the file's rows by key: added / changed / unchanged / removed in one pass
            same = " AND ".join(f"a.{col} IS NOT DISTINCT FROM i.{col}" for col in DB_COLUMNS[3:])
            added, changed, unchanged, removed = cur.execute(f"""
                WITH a AS (SELECT * {replaced_rows})
                SELECT count(*) FILTER (WHERE a.state IS NULL),
                       count(*) FILTER (WHERE a.state IS NOT NULL AND i.state IS NOT NULL AND NOT ({same})),
                       count(*) FILTER (WHERE a.state IS NOT NULL AND i.state IS NOT NULL AND ({same})),
                       count(*) FILTER (WHERE i.state IS NULL)
                FROM incoming i FULL OUTER JOIN a
                  ON a.state = i.state AND a.program_area = i.program_area AND a.cycle = i.cycle
            """).fetchall()[0]
            cur.execute(f"DELETE {replaced_rows}").fetchall()
        else:  # nothing stored yet for these states × cycles
            added, changed, unchanged, removed = n, 0, 0, 0
        cols = ", ".join(DB_COLUMNS)
        cur.execute(f"INSERT INTO assessments ({cols}, load_id) SELECT {cols}, ? FROM incoming", [load_id])
        # the file's keys are distinct (checked), so its states × cycles now hold its rows and no others, or
        # something else wrote to them: then the whole load rolls back (the store keeps one row per key)
        others = cur.execute(f"SELECT count(*) {replaced_rows} AND a.load_id <> ?", [load_id]).fetchall()[0][0]
        if others:
            raise RuntimeError(
                f"{c.file_name}: {others} other row(s) remain in the states × cycles it replaces; nothing was loaded"
            )
    finally:
        cur.drop_temp("touched")
        cur.drop_temp("incoming")
    states = sorted(set(touched.column("state").to_pylist()))
    cycles = sorted(set(touched.column("cycle").to_pylist()))
    cur.execute(
        "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            dt.datetime.now().replace(microsecond=0),
            loaded_by,
            c.file_name,
            n,
            int(added),
            int(replaced),
            ",".join(states),
            ",".join(map(str, cycles)),
            synthetic,
        ],
    )
    return LoadSummary(
        load_id,
        c.file_name,
        n,
        states,
        cycles,
        int(added),
        int(changed),
        int(unchanged),
        int(removed),
        list(c.warnings),
    )


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table for the UI (one row each; values as plain text)."""
    return pd.DataFrame(
        [
            {
                "file": p.file or "",
                "row": p.row,
                "line": p.line,
                "column": p.column or "",
                "value": p.value if p.value is not None else "",
                "problem": p.reason,
            }
            for p in problems
        ],
        columns=["file", "row", "line", "column", "value", "problem"],
    )
