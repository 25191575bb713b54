"""Self-assessment files (CSV or XLSX) → validated rows → one all-or-nothing write to the store.

The file contract (also in the README and the template):
one row per state × program area × cycle; header names matched case-insensitively, surrounding whitespace ignored,
spaces or hyphens in a header read as underscores; column order free.
Required: state, program_area, cycle, maturity, offers_help, seeks_help.
Optional: notes, other_area, planning, organization, equipment, training, exercises (POETE sub-ratings).

Every problem names the data row, the line of the file (the spreadsheet row for XLSX), the column and the value.
Validation is vectorised over columns so a 100k-row file validates in about a second.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import catalog
from . import jurisdictions as J
from . import audit
from .db import transaction

REQUIRED = ("state", "program_area", "cycle", "maturity", "offers_help", "seeks_help")
OPTIONAL = ("notes", "other_area") + catalog.POETE
COLUMNS = REQUIRED + OPTIONAL
FIRST_CYCLE = 2003
MAX_BYTES = 25 * 1024 * 1024      # larger uploads are refused before parsing
MAX_ROWS = 200_000                # data rows per file
MAX_NOTES = 4000                  # characters
MAX_OTHER_AREA = 200
MAX_PROBLEMS_SHOWN = 200          # every problem is counted; this many are listed
TRUE_WORDS = {"yes", "y", "true", "t", "1"}
FALSE_WORDS = {"no", "n", "false", "f", "0", ""}
DB_COLUMNS = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "other_area", "notes",
              *catalog.POETE]


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
    """A file read and validated: rows ready to write, or problems (then nothing may be written)."""
    file_name: str
    rows: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # file line of each row in `rows`

    @property
    def ok(self) -> bool:
        return not self.problems


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
        return (f"loaded {self.file_name}: {self.rows} rows for {len(self.states)} jurisdiction(s) × "
                f"{len(self.cycles)} cycle(s) ({', '.join(map(str, self.cycles))}): {self.added} new, "
                f"{self.changed} changed, {self.unchanged} unchanged, {self.removed} removed")


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
        for ln in (lines if whole else lines[:-1]):
            if ln.strip() and not ln.lstrip().startswith("#"):
                return ln
        if whole:
            return ""
        size *= 4


def _read_csv(data: bytes, problems: list[Problem], warnings: list[str]):
    if b"\x00" in data[:8192]:
        problems.append(Problem("this is not a CSV text file (it contains binary data); "
                                "upload a .csv saved as 'CSV UTF-8' or an .xlsx workbook"))
        return None, []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        bad = data[e.start:e.start + 1]
        problems.append(Problem(f"the file is not UTF-8 text (byte {bad!r} at position {e.start}); "
                                "in Excel use Save As → 'CSV UTF-8 (Comma delimited)'", line=line))
        return None, []
    first = _first_data_line(text)
    delimiter = max([",", ";", "\t"], key=lambda d: first.count(d))
    if delimiter != ",":
        warnings.append(f"read as {'semicolon' if delimiter == ';' else 'tab'}-separated values")
    fast = _read_csv_columnar(data, text, delimiter)
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
    """Data rows read column by column (the fast CSV path): one Arrow array of stripped strings per header
    column, and the file line of each row. Stands in for the reader's list of rows in `read_table`."""

    def __init__(self, columns: list, lines: list[int]):
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
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.csv  # noqa: F401
            space = [chr(i) for i in range(0x3001) if chr(i).isspace()]
            other = ["\u180e", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "x"]
            trimmed = pc.utf8_trim_whitespace(pa.array(space + other)).to_pylist()
            _FAST_CSV_OK = trimmed == [""] * len(space) + other
        except Exception:  # pragma: no cover - pyarrow missing or too old: the row-by-row reader still works
            _FAST_CSV_OK = False
    return _FAST_CSV_OK


def _read_csv_columnar(data: bytes, text: str, delimiter: str):
    """The common case, column-wise at C speed (Arrow): a file with no quote characters, NULs or stray carriage
    returns, whose lines (header included) all hold the same number of fields. Each line is then exactly one
    record, so file lines are known, and the result is exactly what the row-by-row reader gives: blank lines (every
    cell blank) and comment lines (first cell starting with #) skipped, the first other line the header, values
    stripped. Returns (header, _Columnar) or None when the file needs the row-by-row reader."""
    if ('"' in text or "\x00" in text or text.count("\r") != text.count("\r\n")
            or not _fast_csv_available()):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    first = text.split("\n", 1)[0].rstrip("\r")
    width = first.count(delimiter) + 1
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                             escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                 check_utf8=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # ragged lines, blank lines, ...: the row-by-row reader
        return None
    if table.num_rows > text.count("\n") + 1:  # one record per line, or something is not what it seems
        return None
    raw = [table.column(i).combine_chunks() for i in range(width)]
    stripped = [pc.utf8_trim_whitespace(c) for c in raw]
    blank = pc.equal(pc.utf8_length(stripped[0]), 0)
    for c in stripped[1:]:
        blank = pc.and_(blank, pc.equal(pc.utf8_length(c), 0))
    comment = pc.starts_with(pc.utf8_ltrim_whitespace(raw[0]), "#")
    records = np.flatnonzero(~(blank.to_numpy(zero_copy_only=False) | comment.to_numpy(zero_copy_only=False)))
    if not len(records):
        return None, _Columnar([], [])
    head = int(records[0])
    header = ([raw[i][head].as_py() for i in range(width)], head + 1)
    rows = records[1:MAX_ROWS + 2]  # one more than allowed: read_table refuses the file
    take = pa.array(rows, type=pa.int64())
    return header, _Columnar([c.take(take) for c in stripped], (rows + 1).tolist())


def _read_xlsx(data: bytes, problems: list[Problem], warnings: list[str]):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
    import zipfile

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        problems.append(Problem(f"the Excel workbook cannot be opened ({type(e).__name__}); "
                                "save it again as .xlsx or export it as CSV UTF-8"))
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
        problems.append(Problem("several sheets have a self-assessment header ("
                                + ", ".join(repr(ws.title) for ws in candidates)
                                + "); keep the data on one sheet"))
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


def read_table(file_name: str, data: bytes) -> tuple[pd.DataFrame | None, list[int], dict, list[Problem], list[str]]:
    """Parse a file into a DataFrame of stripped strings (canonical column names), the file line of each row,
    the set of formula cells {(row index, column)}, problems and warnings."""
    problems: list[Problem] = []
    warnings: list[str] = []
    suffix = Path(file_name).suffix.lower()
    if len(data) > MAX_BYTES:
        return None, [], {}, [Problem(f"the file is {len(data) / 1e6:.1f} MB; the limit is "
                                      f"{MAX_BYTES // (1024 * 1024)} MB: split it by state or cycle")], warnings
    if not data.strip():
        return None, [], {}, [Problem("the file is empty")], warnings
    is_zip = data[:4] == b"PK\x03\x04"
    if suffix == ".xls" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return None, [], {}, [Problem("old-style Excel (.xls) files are not supported; save as .xlsx or CSV UTF-8")], warnings
    if suffix in (".xlsx", ".xlsm") or is_zip:
        if not is_zip:
            return None, [], {}, [Problem("the file is named .xlsx but is not an Excel workbook")], warnings
        header, rows = _read_xlsx(data, problems, warnings)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        if data[:5] == b"%PDF-" or data[:2] in (b"\x89P", b"\xff\xd8"):
            return None, [], {}, [Problem("this is not a CSV file; upload .csv or .xlsx")], warnings
        header, rows = _read_csv(data, problems, warnings)
    else:
        return None, [], {}, [Problem(f"wrong file type {suffix!r}: upload a .csv or .xlsx self-assessment")], warnings
    if problems:
        return None, [], {}, problems, warnings
    if header is None:
        return None, [], {}, [Problem("the file is empty")], warnings
    if len(rows) > MAX_ROWS:
        return None, [], {}, [Problem(f"the file has more than {MAX_ROWS:,} data rows; split it by state or cycle")], warnings

    cells, header_line = header
    names = [_norm_header(h) for h in cells]
    seen: dict[str, int] = {}
    keep: dict[int, str] = {}
    unknown = []
    for i, n in enumerate(names):
        if not n:
            continue
        if n in seen:
            problems.append(Problem(f"column {n!r} appears twice in the header (columns {seen[n] + 1} and {i + 1})",
                                    line=header_line, column=n))
            continue
        seen[n] = i
        if n in COLUMNS:
            keep[i] = n
        else:
            unknown.append(str(cells[i]).strip())
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        problems.append(Problem("missing required column(s): " + ", ".join(missing)
                                + f" (the header has: {', '.join(n for n in names if n) or 'nothing'})",
                                line=header_line))
    if unknown:
        warnings.append("ignored unknown column(s): " + ", ".join(unknown))
    if problems:
        return None, [], {}, problems, warnings
    if not rows:
        return None, [], {}, [Problem("the file has a header but no data rows", line=header_line)], warnings

    if isinstance(rows, _Columnar):
        df = pd.DataFrame({name: pd.Series(rows.columns[i], dtype="str") for i, name in keep.items()})
        for c in COLUMNS:
            if c not in df.columns:
                df[c] = pd.Series([""] * len(df), dtype="str")
        return df, rows.lines, {}, problems, warnings
    width = len(cells)
    records, lines, formulas = [], [], {}
    for k, (line, vals, f_cells) in enumerate(rows):
        extra = [v for v in vals[width:] if v]
        if extra:
            problems.append(Problem(f"the row has {len(vals)} values but the header has {width} columns",
                                    row=k + 1, line=line, value=extra[0]))
        vals = vals + [""] * (width - len(vals))
        records.append([vals[i] for i in keep])
        lines.append(line)
        for i in f_cells:
            if i in keep:
                formulas[(k, keep[i])] = True
    df = pd.DataFrame(records, columns=list(keep.values()), dtype="str")
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = pd.Series([""] * len(df), dtype="str")
    return df, lines, formulas, problems, warnings


# ---------------------------------------------------------------------------------------------------------------
# Validation: strings → typed rows, or problems naming row, line, column, value
# ---------------------------------------------------------------------------------------------------------------

_INT_RE = re.compile(r"^\s*([0-9]+)(?:\.0+)?\s*$")


def _as_int(s: pd.Series) -> pd.Series:
    """Whole numbers written as '3' or '3.0' (Excel); anything else → NA (so are numbers of more than 18 digits,
    which no column allows). Column-wise in Arrow when available."""
    if _fast_csv_available():
        import pyarrow as pa
        import pyarrow.compute as pc
        text = pc.utf8_trim_whitespace(pa.array(s.astype("str"), type=pa.string(), from_pandas=True))
        length = pc.utf8_length(text)
        plain = pc.or_kleene(pc.ascii_is_decimal(text), pc.equal(length, 0))
        if pc.all(plain).as_py() and (pc.max(length).as_py() or 0) <= 18:  # the usual case: digits or blank
            values = pc.cast(pc.if_else(pc.equal(length, 0), pa.scalar(None, pa.string()), text), pa.int64())
            missing = pc.is_null(values).to_numpy(zero_copy_only=False)
            return pd.Series(pd.arrays.IntegerArray(values.fill_null(0).to_numpy(zero_copy_only=False), missing),
                             index=s.index)
        digits = pc.struct_field(pc.extract_regex(text, r"^(?P<d>[0-9]+)(?:\.0+)?$"), [0])
        digits = pc.if_else(pc.less_equal(pc.utf8_length(digits), 18), digits, pa.scalar(None, pa.string()))
        values = pc.cast(digits, pa.int64())
        missing = pc.is_null(values).to_numpy(zero_copy_only=False)
        return pd.Series(pd.arrays.IntegerArray(values.fill_null(0).to_numpy(zero_copy_only=False), missing),
                         index=s.index)
    m = s.str.extract(_INT_RE, expand=False)
    m = m.where(m.str.len() <= 18)
    return pd.to_numeric(m, errors="coerce").astype("Int64")


def _map_distinct(values: pd.Series, f) -> pd.Series:
    """f applied to each distinct value once (a file repeats a few dozen states and areas 100,000 times)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([f(v) for v in distinct] + [None], dtype=object)  # the last one: missing values
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _duplicated(keys: pd.DataFrame) -> pd.Series:
    """keys.duplicated(keep=False) for (state, program_area, cycle), on one integer per row."""
    if keys.empty:
        return pd.Series(False, index=keys.index)
    s = pd.factorize(keys["state"])[0].astype(np.int64)
    a = pd.factorize(keys["program_area"])[0].astype(np.int64)
    c = pd.factorize(keys["cycle"])[0].astype(np.int64)
    key = (s * (a.max() + 1) + a) * (c.max() + 1) + c
    return pd.Series(key, index=keys.index).duplicated(keep=False)


def check(file_name: str, data: bytes, *, this_year: int | None = None,
          allowed_states: tuple[str, ...] | None = None) -> Checked:
    """Read and validate one file. Nothing touches the database. With `allowed_states` (a state user's own
    state), rows for any other jurisdiction are problems."""
    this_year = this_year or dt.date.today().year
    df, lines, formulas, problems, warnings = read_table(file_name, data)
    if df is None:
        return Checked(file_name, pd.DataFrame(columns=DB_COLUMNS), problems, warnings)
    found: list[tuple[int, int, Problem]] = []
    col_order = {c: i for i, c in enumerate(COLUMNS)}

    def flag(mask: pd.Series, column: str, reason: str | pd.Series):
        hit = np.flatnonzero(np.asarray(pd.array(mask, dtype="boolean").fillna(False), dtype=bool))
        for i in hit.tolist():  # rows are 0..n-1 (read_table's frame has a RangeIndex)
            r = reason if isinstance(reason, str) else reason.iloc[i]
            found.append((i, col_order.get(column, 99), Problem(r, i + 1, int(lines[i]), column,
                                                                str(df.at[i, column]))))

    for (i, col) in formulas:
        found.append((i, col_order[col], Problem("cell holds a spreadsheet formula; type the value itself",
                                                 i + 1, lines[i], col, str(df.at[i, col]))))
    for c in COLUMNS:
        starts = df[c].str.startswith("=")
        if starts.any():
            flag(starts & (df[c].str.len() > 1), c, "looks like a spreadsheet formula; type the value itself")

    out = pd.DataFrame(index=df.index)
    # state
    out["state"] = _map_distinct(df["state"], J.state_code)
    flag(df["state"] == "", "state", "required: a USPS code or name such as VA or Virginia")
    flag(out["state"].isna() & (df["state"] != ""), "state", "not one of the 56 reporting jurisdictions "
         "(use a USPS code such as VA or a name such as Virginia)")
    if allowed_states is not None:
        flag(out["state"].notna() & ~out["state"].isin(allowed_states), "state",
             "you may load rows only for " + (", ".join(allowed_states) or "no jurisdiction"))
    # program area
    out["program_area"] = _map_distinct(df["program_area"], catalog.area_slug)
    flag(df["program_area"] == "", "program_area", "required: a program area slug or label")
    flag(out["program_area"].isna() & (df["program_area"] != ""), "program_area",
         "not a program area; use one of: " + ", ".join(catalog.AREA_SLUGS))
    # cycle
    cyc = _as_int(df["cycle"])
    out["cycle"] = cyc
    flag(cyc.isna() | (cyc < FIRST_CYCLE) | (cyc > this_year + 1), "cycle",
         f"must be a four-digit assessment year from {FIRST_CYCLE} to {this_year + 1}")
    # maturity and POETE
    mat = _as_int(df["maturity"])
    out["maturity"] = mat
    flag(mat.isna() | (mat < 1) | (mat > 5), "maturity", "required: a whole number from 1 to 5")
    for c in catalog.POETE:
        v = _as_int(df[c])
        out[c] = v
        flag((df[c] != "") & (v.isna() | (v < 1) | (v > 5)), c, "must be blank or a whole number from 1 to 5")
    # yes/no flags
    for c in ("offers_help", "seeks_help"):
        word = _map_distinct(df[c], lambda v: "yes" if v.lower() in TRUE_WORDS else
                             "no" if v.lower() in FALSE_WORDS else "?")
        out[c] = (word == "yes").astype(bool)
        flag(word == "?", c, "must be yes/no, y/n, true/false or 1/0 (blank means no)")
    # text
    out["notes"] = df["notes"].where(df["notes"] != "", None)
    flag(df["notes"].str.len() > MAX_NOTES, "notes", f"longer than {MAX_NOTES} characters")
    other = out["program_area"] == catalog.OTHER
    out["other_area"] = df["other_area"].where(other & (df["other_area"] != ""), None)
    flag(other & (df["other_area"] == ""), "other_area",
         "required when program_area is 'other': name the area (e.g. Cybersecurity)")
    flag(df["other_area"].str.len() > MAX_OTHER_AREA, "other_area", f"longer than {MAX_OTHER_AREA} characters")
    if ((~other) & (df["other_area"] != "")).any():
        warnings.append("other_area is only used with program_area 'other'; it was ignored on other rows")
    # duplicates inside the file
    key_ok = out["state"].notna() & out["program_area"].notna() & out["cycle"].notna()
    keys = out.loc[key_ok, ["state", "program_area", "cycle"]]
    dup = _duplicated(keys)
    if dup.any():
        firsts: dict[tuple, int] = {}
        for i, k in zip(keys.index[dup], map(tuple, keys[dup].itertuples(index=False))):
            if k in firsts:
                j = firsts[k]
                found.append((i, col_order["state"], Problem(
                    f"duplicates row {j + 1} (line {lines[j]}): same state, program area and cycle "
                    f"({k[0]}, {k[1]}, {k[2]})", i + 1, lines[i], "state", str(df.at[i, "state"]))))
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
        return Checked(file_name, pd.DataFrame(columns=DB_COLUMNS), problems, warnings)
    rows = out[DB_COLUMNS].copy()
    for c in ["cycle", "maturity", *catalog.POETE]:
        rows[c] = rows[c].astype("Int64")
    return Checked(file_name, rows.reset_index(drop=True), [], warnings, list(lines))


# ---------------------------------------------------------------------------------------------------------------
# Writing: all files or none
# ---------------------------------------------------------------------------------------------------------------

def load(con, files: list[tuple[str, bytes]], loaded_by: str, *, synthetic: bool = False,
         this_year: int | None = None, allowed_states: tuple[str, ...] | None = None) -> list[LoadSummary]:
    """Validate every file, then write all of them in ONE transaction, or raise LoadError and write nothing.
    Each file replaces the rows of the states × cycles it contains."""
    checked = [check(name, data, this_year=this_year, allowed_states=allowed_states) for name, data in files]
    problems = [p for c in checked for p in c.problems]
    warnings = [f"{c.file_name}: {w}" for c in checked for w in c.warnings]
    if not problems and len(checked) > 1:
        seen: dict[tuple, tuple[str, int, int]] = {}
        for c in checked:
            for i, k in enumerate(c.rows[["state", "program_area", "cycle"]].itertuples(index=False)):
                k = tuple(k)
                if k in seen:
                    f, r, ln = seen[k]
                    problems.append(Problem(f"also in {f} row {r} (line {ln}): load one file per state × cycle",
                                            i + 1, c.lines[i], "state", k[0], c.file_name))
                else:
                    seen[k] = (c.file_name, i + 1, c.lines[i])
    if problems:
        raise LoadError(problems, warnings)
    summaries = []
    with transaction(con) as cur:
        for c in checked:
            summaries.append(_write(cur, c, loaded_by, synthetic))
            audit.record_in(cur, loaded_by, "load", summaries[-1].line())
    return summaries


def _write(cur, c: Checked, loaded_by: str, synthetic: bool) -> LoadSummary:
    rows = c.rows
    load_id = cur.execute("SELECT nextval('load_id_seq')").fetchall()[0][0]
    cur.register("incoming", rows)
    try:
        same = " AND ".join(f"a.{col} IS NOT DISTINCT FROM i.{col}" for col in DB_COLUMNS[3:])
        counts = cur.execute(f"""
            SELECT
              count(*) FILTER (WHERE a.state IS NULL),
              count(*) FILTER (WHERE a.state IS NOT NULL AND NOT ({same})),
              count(*) FILTER (WHERE a.state IS NOT NULL AND ({same}))
            FROM incoming i LEFT JOIN assessments a
              ON a.state = i.state AND a.program_area = i.program_area AND a.cycle = i.cycle
        """).fetchall()[0]
        removed = cur.execute("""
            SELECT count(*) FROM assessments a
            WHERE EXISTS (SELECT 1 FROM incoming i WHERE i.state = a.state AND i.cycle = a.cycle)
              AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.state = a.state AND i.cycle = a.cycle
                              AND i.program_area = a.program_area)
        """).fetchall()[0][0]
        replaced = cur.execute("""
            DELETE FROM assessments a
            WHERE EXISTS (SELECT 1 FROM incoming i WHERE i.state = a.state AND i.cycle = a.cycle)
        """).fetchall()[0][0]
        cols = ", ".join(DB_COLUMNS)
        cur.execute(f"INSERT INTO assessments ({cols}, load_id) SELECT {cols}, ? FROM incoming", [load_id])
    finally:
        cur.unregister("incoming")
    states = sorted(rows["state"].unique())
    cycles = sorted(int(x) for x in rows["cycle"].unique())
    cur.execute("INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [load_id, dt.datetime.now().replace(microsecond=0), loaded_by, c.file_name, len(rows),
                 int(counts[0]), int(replaced), ",".join(states), ",".join(map(str, cycles)), synthetic])
    return LoadSummary(load_id, c.file_name, len(rows), states, cycles, int(counts[0]), int(counts[1]),
                       int(counts[2]), int(removed), list(c.warnings))


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table for the UI (one row each; values as plain text)."""
    return pd.DataFrame([{"file": p.file or "", "row": p.row, "line": p.line, "column": p.column or "",
                          "value": p.value if p.value is not None else "", "problem": p.reason}
                         for p in problems], columns=["file", "row", "line", "column", "value", "problem"])
