"""The ranking tables as an .xlsx workbook: one sheet per table, then the formulas."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from civicgrid.accounts.models import User

from .counters import COUNTERS
from .indicators import HOTLINE, INDICATORS
from .periods import Period

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Counters shown next to the indicators in each table (all of them are on the formulas sheet).
SHOWN = ("reported", "accepted", "dispatches", "returns", "handled", "closed", "rated", "open")


def _titles() -> dict[str, str]:
    return {
        "grid": _("Grids"),
        "community": _("Communities"),
        "subdistrict": _("Subdistricts"),
        "department": _("Departments"),
    }


def _table(ws: Any, rows: list[dict[str, Any]], caption: str) -> None:
    ws.append([caption])
    ws["A1"].font = Font(bold=True)
    header = [_("Rank"), _("Code"), _("Name")]
    header += [str(i.label) for i in INDICATORS]
    header += list(SHOWN)
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(
            [row["rank"], row["code"], row["name"]]
            + [row["indicators"][i.name] for i in INDICATORS]
            + [row["counters"][c] for c in SHOWN]
        )
    for n, i in enumerate(INDICATORS, start=4):
        fmt = "0.00" if i.unit == "hours" else "0.0%"
        for (cell,) in ws.iter_rows(min_row=3, min_col=n, max_col=n):
            cell.number_format = fmt
    ws.freeze_panes = "D3"
    for col in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 14 if col > 3 else 18


def rankings_workbook(
    *, target: Any, period: Period, tables: dict[str, list[dict[str, Any]]], user: User
) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    caption = _("%(target)s, %(first)s to %(last)s. Exported by %(user)s at %(at)s.") % {
        "target": target.name,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "user": user.get_username(),
        "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }
    for by, rows in tables.items():
        _table(wb.create_sheet(_titles()[by]), rows, caption)
    ws = wb.create_sheet(_("Indicators"))
    ws.append([_("Indicator"), _("Name in the API"), _("Formula")])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i in (*INDICATORS, *HOTLINE):
        ws.append([str(i.label), i.name, str(i.formula)])
    ws.append([])
    ws.append([_("Counters are defined in docs/indicators.md:"), ", ".join(COUNTERS)])
    ws.append(
        [
            _(
                "Cases count on the day they were reported (closures on the day they were "
                "closed), in their current grid; rates use the cases' state at export time."
            )
        ]
    )
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 28
    ws.column_dimensions["C"].width = 50
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
