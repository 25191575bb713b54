"""Helpers the tests share: the project's root, self-assessment files built in memory, a page run in Streamlit's
AppTest as a given viewer, and the tables a page drew."""

import contextlib
import csv
import io
import os
import re
import shutil
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from streamlit.testing.v1 import AppTest

from shisn.web import loaders

ROOT = Path(__file__).resolve().parents[2]


HEADER = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "notes"]


def make_csv(rows, header=HEADER, delimiter=",", bom=False, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def make_xlsx(sheets: dict) -> bytes:
    """sheets: {title: [header, *rows]}; a cell value starting with '=' is written as a formula."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@contextlib.contextmanager
def demo_copy_in_env(demo_template, directory):
    """For module-scoped fixtures (monkeypatch is per test): a copy of the demo store in `directory`, with SHISN_DB
    pointing at it until the block ends (the earlier value restored)."""
    path = Path(directory) / "shisn.duckdb"
    shutil.copy(demo_template, path)
    old = os.environ.get("SHISN_DB")
    os.environ["SHISN_DB"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("SHISN_DB", None)
        else:
            os.environ["SHISN_DB"] = old


def page_as(viewer, path, params=None, timeout=120, **state):
    """AppTest of one page script as `viewer` (set as the signed-in viewer), with URL `params` and session `state`
    set before the first run; returns it after that run."""
    at = AppTest.from_file(str(path), default_timeout=timeout)
    at.session_state[loaders.VIEWER_KEY] = viewer
    for k, v in state.items():
        at.session_state[k] = v
    for k, v in (params or {}).items():
        at.query_params[k] = str(v)
    return at.run()


def static_tables(at) -> list:
    """The static tables a page drew (shisn.web.displays.text_table: Markdown pipe tables), as DataFrames of their shown text
    (escapes removed; columns of numbers as numbers), in page order."""
    out = []
    for m in at.markdown:
        lines = m.value.split("\n")
        if len(lines) < 2 or not lines[0].startswith("| ") or not lines[1].startswith("|---"):
            continue

        def cells(line):
            return [re.sub(r"\\(.)", r"\1", c.strip()) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]

        df = pd.DataFrame([cells(x) for x in lines[2:]], columns=cells(lines[0]))
        for c in df.columns:
            numbers = pd.to_numeric(df[c], errors="coerce")
            if len(df) and numbers.notna().all():
                df[c] = numbers
        out.append(df)
    return out
