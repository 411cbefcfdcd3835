"""The figures computed the slow, obvious way, straight from cases, assignments, events and feedback.

Written independently of `metrics.truth` (ORM filters and plain Python, no contributions),
so that a test comparing the two fails if either definition drifts.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from civicgrid.cases.models import Case, CaseAssignment, CaseEvent, Feedback
from civicgrid.metrics.counters import COUNTERS, Counts

FINAL = {"closed", "rejected", "merged"}


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _secs(t: dt.datetime) -> int:
    return int(t.timestamp() // 1)


def _lead_of(case: Case) -> int:
    a = case.assignments.filter(role="lead").order_by("-id").first()
    return a.department_id if a else 0


def _return_departments(case: Case) -> list[int]:
    out = []
    for e in case.timeline.filter(action="return"):
        a = (
            case.assignments.filter(role="lead", assigned_at__lte=e.at)
            .order_by("-assigned_at", "-id")
            .first()
        )
        out.append(a.department_id if a else 0)
    return out


def naive(
    cases: QuerySet[Case], first: dt.date, last: dt.date, *, department: int | None = None
) -> Counts:
    """Counters for the cases reported (closures: closed) from `first` to `last`, local days."""
    start, end = _midnight(first), _midnight(last + dt.timedelta(days=1))
    verify_s = settings.CIVICGRID.get("METRICS_VERIFY_HOURS", 24) * 3600
    response_s = settings.CIVICGRID.get("METRICS_HOTLINE_RESPONSE_HOURS", 24) * 3600
    out = dict.fromkeys(COUNTERS, 0)
    for c in cases.filter(reported_at__gte=start, reported_at__lt=end):
        lead = _lead_of(c)
        dispatched_to = list(
            CaseAssignment.objects.filter(case=c, role="lead").values_list(
                "department_id", flat=True
            )
        )
        returned_by = _return_departments(c)
        if department is None:
            out["dispatches"] += len(dispatched_to)
            out["returns"] += len(returned_by)
        else:
            out["dispatches"] += dispatched_to.count(department)
            out["returns"] += returned_by.count(department)
        if department is not None and lead != department:
            continue
        handled = bool(c.handled_at and c.dispatched_at and c.handled_at >= c.dispatched_at)
        verified = bool(c.verified_at and c.dispatched_at)
        fb = Feedback.objects.filter(case=c).order_by("-id").first()
        first_response = (
            CaseEvent.objects.filter(
                case=c, action__in=["accept", "reject", "self_handle", "merge"]
            )
            .order_by("at")
            .values_list("at", flat=True)
            .first()
        )
        is_open = c.state not in FINAL
        out["reported"] += 1
        out["accepted"] += int(c.accepted_at is not None and c.state != "merged")
        out["rejected"] += int(c.state == "rejected")
        out["dispatched"] += int(c.dispatched_at is not None)
        out["extended"] += int(
            c.dispatched_at is not None and c.timeline.filter(action="extend").exists()
        )
        out["handled"] += int(handled)
        out["handled_on_time"] += int(
            handled and (c.deadline is None or c.handled_at <= c.deadline)
        )
        out["handling_seconds"] += _secs(c.handled_at) - _secs(c.dispatched_at) if handled else 0
        out["verified"] += int(verified)
        out["verified_on_time"] += int(
            verified
            and c.handled_at is not None
            and _secs(c.verified_at) - _secs(c.handled_at) <= verify_s
        )
        out["verify_failures"] += c.rework_count
        out["closed"] += int(c.closed_at is not None)
        out["closed_on_time"] += int(
            c.closed_at is not None and (c.deadline is None or c.closed_at <= c.deadline)
        )
        out["rated"] += int(fb is not None)
        out["satisfied"] += int(fb is not None and fb.satisfaction >= 4)
        out["satisfaction_points"] += fb.satisfaction if fb else 0
        out["responded"] += int(
            c.source == "hotline"
            and first_response is not None
            and _secs(first_response) - _secs(c.reported_at) <= response_s
        )
        out["open"] += int(is_open)
        out["overdue"] += int(is_open and c.overdue)
    closed = cases.filter(closed_at__gte=start, closed_at__lt=end)
    out["closures"] = sum(1 for c in closed if department is None or _lead_of(c) == department)
    return out


def naive_now(cases: QuerySet[Case]) -> dict[str, int]:
    open_ = cases.exclude(state__in=FINAL)
    return {"open": open_.count(), "overdue": open_.filter(overdue=True).count()}
