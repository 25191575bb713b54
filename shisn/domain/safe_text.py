"""Text made safe for where it goes: one escape function per target.

- `markdown(text)`: user text made inert for st.markdown/st.caption: every Markdown-significant character
  backslash-escaped (no links, images, HTML, emoji shortcodes, colour directives or LaTeX), line breaks kept as
  spaces.
- `html(value)`: text for an HTML page or e-mail (reports, briefs, notifications); None and NaN become "".
- `csv_file(frame)`: a table as the CSV file every download and export writes: RFC 4180 (CRLF rows; UTF-8 with BOM,
  so Excel reads accents) with formula injection neutralised in every text cell and header.
"""

from __future__ import annotations

import csv
import html as html_lib
from typing import Any

import pandas as pd

_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~=$:&\"'")
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def markdown(text: Any) -> str:
    s = " ".join(str(text).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)


def html(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return html_lib.escape(str(value), quote=True)


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula (= + - @, tab, CR) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_file(df: pd.DataFrame) -> bytes:
    """Numbers stay numbers (a negative number is not text, so it is left alone)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]):
            continue
        if pd.api.types.is_string_dtype(out[c]) and not pd.api.types.is_object_dtype(out[c]):
            risky = out[c].str.startswith(CSV_FORMULA_PREFIXES).fillna(False).astype(bool)  # text column
            if risky.any():
                out[c] = out[c].where(~risky, "'" + out[c])
        else:
            out[c] = out[c].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out.to_csv(index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n").encode("utf-8-sig")
