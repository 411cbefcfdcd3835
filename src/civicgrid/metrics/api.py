"""Figures, rankings, trends and the Excel export, at /api/metrics. Thin: selectors do the work."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router

from civicgrid.accounts.auth import staff_user
from civicgrid.core.errors import ValidationFailed

from . import selectors
from .counters import COUNTERS
from .export import XLSX, rankings_workbook
from .indicators import BY_NAME, HOTLINE, INDICATORS
from .periods import period_from, today
from .schemas import (
    BreakdownRowOut,
    FiguresOut,
    IndicatorOut,
    PeriodQuery,
    RankingOut,
    RankingQuery,
    TrendPointOut,
    WhereQuery,
)

router = Router(tags=["metrics"])


def _json(data: Any) -> HttpResponse:
    """The documented shape, serialised directly: a ranking of every grid is hundreds of rows,
    and validating and encoding them through the schema costs more than computing them.
    The tests check every answer against its schema instead."""
    return HttpResponse(orjson.dumps(data), content_type="application/json")


def _target(request: HttpRequest, q: WhereQuery) -> selectors.Target:
    return selectors.metrics_target(user=staff_user(request), region=q.region, grid=q.grid)


def _period(q: PeriodQuery) -> Any:
    return period_from(q.period, q.date_from, q.date_to)


def _target_dict(t: selectors.Target) -> dict[str, str]:
    return {"kind": t.kind, "code": t.code, "name": t.name}


@router.get(
    "/figures", response=FiguresOut, summary="Figures of your jurisdiction, a region or a grid"
)
def figures(request: HttpRequest, q: Query[PeriodQuery]) -> HttpResponse:
    return _json(selectors.figures(target=_target(request, q), period=_period(q)))


@router.get(
    "/rankings",
    response=RankingOut,
    summary="Grids, communities, subdistricts or departments ranked",
)
def rankings(request: HttpRequest, q: Query[RankingQuery]) -> HttpResponse:
    if q.sort not in BY_NAME and q.sort not in COUNTERS:
        raise ValidationFailed(_("Unknown indicator '%(s)s'.") % {"s": q.sort}, field="sort")
    target, period = _target(request, q), _period(q)
    rows = selectors.ranking(
        target=target, by=q.by, period=period, sort=q.sort, descending=q.order == "desc"
    )
    return _json(
        {
            "target": _target_dict(target),
            "period": {"first": period.first, "last": period.last},
            "by": q.by,
            "sort": q.sort,
            "rows": rows,
        }
    )


@router.get("/rankings.xlsx", summary="The ranking tables as an Excel workbook, with the formulas")
def rankings_xlsx(request: HttpRequest, q: Query[PeriodQuery]) -> HttpResponse:
    target, period = _target(request, q), _period(q)
    tables = {
        by: selectors.ranking(target=target, by=by, period=period)
        for by in ("grid", "community", "subdistrict", "department")
    }
    data = rankings_workbook(target=target, period=period, tables=tables, user=staff_user(request))
    response = HttpResponse(data, content_type=XLSX)
    name = f"rankings-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/trend", response=list[TrendPointOut], summary="Day by day, the last N days")
def trend(request: HttpRequest, q: Query[WhereQuery], days: int = 30) -> list[dict[str, Any]]:
    if not 1 <= days <= 366:
        raise ValidationFailed(_("days must be from 1 to 366."), field="days")
    return selectors.trend(target=_target(request, q), last=today(), days=days)


@router.get("/breakdown", response=list[BreakdownRowOut], summary="Per category or per source")
def breakdown(
    request: HttpRequest, q: Query[PeriodQuery], dim: str = "category"
) -> list[dict[str, Any]]:
    if dim not in ("category", "source"):
        raise ValidationFailed(_("dim is 'category' or 'source'."), field="dim")
    return selectors.breakdown(target=_target(request, q), period=_period(q), dim=dim)


@router.get("/indicators", response=list[IndicatorOut], summary="What each indicator means")
def indicators(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "name": i.name,
            "label": str(i.label),
            "formula": str(i.formula),
            "unit": i.unit,
            "hotline": h,
        }
        for h, group in ((False, INDICATORS), (True, HOTLINE))
        for i in group
    ]
