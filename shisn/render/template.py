"""The blank self-assessment template (CSV or XLSX) with the column rules and the five maturity levels."""

from __future__ import annotations

import io

import pandas as pd

from shisn.domain import catalog, jurisdictions
from shisn.store.ingest import COLUMNS, REQUIRED

COLUMN_HELP = {
    "state": "USPS code or full name (VA, Virginia)",
    "program_area": "program area slug or label (see list)",
    "cycle": "four-digit assessment year, e.g. 2026",
    "maturity": "whole number 1-5 (see levels)",
    "offers_help": "yes/no: can your state guide others in this area?",
    "seeks_help": "yes/no: does your state want guidance in this area?",
    "notes": "free text (optional)",
    "other_area": "required when program_area is 'other': name the area",
    **{p: f"optional {catalog.POETE_LABELS[p]} sub-rating 1-5" for p in catalog.POETE},
}


def _guide_lines() -> list[str]:
    lines = [
        "shisn self-assessment template: one row per state x program area x cycle.",
        "Lines starting with # are ignored. Required columns: " + ", ".join(REQUIRED) + ".",
        "A state may mentor in an area only with offers_help = yes and maturity 4 or 5.",
        "Maturity levels (also for the POETE sub-ratings planning, organization, equipment, training, exercises):",
    ]
    lines += [f"  {lvl} = {name}: {text}" for lvl, (name, text) in catalog.MATURITY_LEVELS.items()]
    lines.append("Program areas (slug = label):")
    lines += [f"  {a.slug} = {a.label}" for a in catalog.PROGRAM_AREAS]
    lines.append("Columns:")
    lines += [f"  {c}: {COLUMN_HELP[c]}" for c in COLUMNS]
    return lines


def template_csv() -> bytes:
    out = io.StringIO()
    for line in _guide_lines():
        out.write("# " + line.replace("\n", " ") + "\n")
    out.write(",".join(COLUMNS) + "\n")
    return out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    from openpyxl import Workbook  # import costs 50 ms: only for XLSX files
    from openpyxl.styles import Alignment, Font, PatternFill  # import costs 50 ms: only for XLSX files
    from openpyxl.worksheet.datavalidation import DataValidation  # import costs 50 ms: only for XLSX files

    wb = Workbook()
    ws = wb.active
    ws.title = "Self-assessment"
    ws.append(list(COLUMNS))
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    for cell in ws[1]:
        cell.font = bold
        if cell.value in REQUIRED:
            cell.fill = fill
        ws.column_dimensions[cell.column_letter].width = max(12, len(str(cell.value)) + 4)
    ws.column_dimensions["G"].width = 60
    ws.freeze_panes = "A2"

    lists = wb.create_sheet("Lists")
    lists.append(["state", "program_area", "maturity", "yes_no"])
    codes = list(jurisdictions.codes())
    for i in range(max(len(codes), len(catalog.AREA_SLUGS))):
        lists.append(
            [
                codes[i] if i < len(codes) else None,
                catalog.AREA_SLUGS[i] if i < len(catalog.AREA_SLUGS) else None,
                i + 1 if i < 5 else None,
                ["yes", "no"][i] if i < 2 else None,
            ]
        )
    n_rows = 5000

    def col(name: str) -> str:
        return ws.cell(row=1, column=COLUMNS.index(name) + 1).column_letter

    rules = [
        ("state", f"=Lists!$A$2:$A${len(codes) + 1}"),
        ("program_area", f"=Lists!$B$2:$B${len(catalog.AREA_SLUGS) + 1}"),
        ("maturity", "=Lists!$C$2:$C$6"),
        ("offers_help", "=Lists!$D$2:$D$3"),
        ("seeks_help", "=Lists!$D$2:$D$3"),
    ] + [(p, "=Lists!$C$2:$C$6") for p in catalog.POETE]
    for name, ref in rules:
        dv = DataValidation(type="list", formula1=ref, allow_blank=True)
        dv.add(f"{col(name)}2:{col(name)}{n_rows}")
        ws.add_data_validation(dv)

    levels = wb.create_sheet("Maturity levels")
    levels.append(["level", "name", "definition"])
    for lvl, (name, text) in catalog.MATURITY_LEVELS.items():
        levels.append([lvl, name, text])
    areas = wb.create_sheet("Program areas")
    areas.append(["slug", "label"])
    for a in catalog.PROGRAM_AREAS:
        areas.append([a.slug, a.label])
    guide = wb.create_sheet("Instructions")
    for line in _guide_lines():
        guide.append([line])
    for sheet in (levels, areas, lists):
        for cell in sheet[1]:
            cell.font = bold
    levels.column_dimensions["C"].width = 100
    areas.column_dimensions["B"].width = 90
    guide.column_dimensions["A"].width = 120
    for row in levels.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_bytes(fmt: str) -> bytes:
    if fmt == "csv":
        return template_csv()
    if fmt == "xlsx":
        return template_xlsx()
    raise ValueError(f"unknown template format {fmt!r}: use csv or xlsx")


def levels_frame():
    return pd.DataFrame([{"level": k, "name": n, "definition": d} for k, (n, d) in catalog.MATURITY_LEVELS.items()])


def areas_frame():
    return pd.DataFrame([{"slug": a.slug, "program area": a.label} for a in catalog.PROGRAM_AREAS])
