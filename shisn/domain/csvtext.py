"""The text of a small CSV file as shisn's CSV loaders read it (program-manager assignments, exchanges recorded
elsewhere): the delimiter guessed from the first line that is not blank or a `#` comment (`,`, `;` or tab), blank
and `#` lines skipped, the header's names in lower case with spaces and hyphens read as underscores, each data row
with its line number in the file. No Streamlit, no store."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass


class CsvTextError(ValueError):
    """The text cannot be read as CSV (`line`: where, if known); or it holds more rows than allowed."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


@dataclass
class CsvText:
    delimiter: str
    header: list[str] | None  # the names, normalised; None when the file holds no line at all
    header_line: int | None
    records: list[tuple[int, list[str]]]  # (line number, cells) of each data row


def read(text: str, max_rows: int | None = None) -> CsvText:
    """`text` as a header and data rows (see the module docstring). Raises CsvTextError when the CSV is malformed or
    has more than `max_rows` data rows."""
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    delimiter = max([",", ";", "\t"], key=lambda d: first.count(d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, header_line, records = None, None, []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header, header_line = [re.sub(r"[\s\-]+", "_", c.strip().lower()) for c in cells], reader.line_num
                continue
            records.append((reader.line_num, cells))
            if max_rows is not None and len(records) > max_rows:
                raise CsvTextError(f"the file has more than {max_rows:,} data rows")
    except csv.Error as e:
        raise CsvTextError(f"the CSV cannot be read: {e}", reader.line_num) from None
    return CsvText(delimiter, header, header_line, records)
