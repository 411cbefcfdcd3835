"""Which case events send which messages to whom. Called once per committed timeline row.

`notify_case_event` is a consumer of `civicgrid.cases.tasks.process_case_event`. It is
idempotent: each message's key is the event id and the recipient, so a replayed event queues
nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import NoReverseMatch, reverse

from civicgrid.accounts.models import Department, Role, User
from civicgrid.cases.models import AssignmentRole, Case, CaseEvent, State
from civicgrid.cases.workflow import Action

from .conf import notify_setting
from .models import Channel, Notification
from .recipients import department_handlers, nearest_staff
from .rendering import iso
from .services import language_for, notification_create, notify_user


@dataclass
class Plan:
    """The messages one event asks for: staff by user, plus extra context per user."""

    template: str
    staff: list[User] = field(default_factory=list)
    per_user: dict[int, dict[str, Any]] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    to_reporter: bool = False


def _link(name: str, number: str) -> str:
    site = notify_setting("SITE_URL")
    if not site:
        return ""
    try:
        return site.rstrip("/") + reverse(name, args=[number])
    except NoReverseMatch:
        return ""


def case_context(case: Case) -> dict[str, Any]:
    category = case.category
    return {
        "number": case.number,
        "category": category.name,
        "category_en": category.name_en or category.name,
        "address": case.address,
        "grid": case.management_grid.code,
        "grid_name": case.management_grid.name or case.management_grid.code,
        "description": case.description[:140],
        "deadline": iso(case.deadline),
        "url": _link("case", case.number),
    }


def _lead_ids(case: Case) -> list[int]:
    return list(
        case.assignments.filter(active=True, role=AssignmentRole.LEAD).values_list(
            "department_id", flat=True
        )
    )


def _dispatch(event: CaseEvent, case: Case) -> Plan:
    lead = event.data.get("lead")
    codes = [lead, *event.data.get("co_handlers", [])]
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    plan = Plan("dispatch")
    for code in codes:
        dept = departments.get(code)
        if dept is None:
            continue
        for user in department_handlers(case, [dept.pk]):
            plan.staff.append(user)
            plan.per_user[user.pk] = {"department": dept.name, "as_lead": code == lead}
    return plan


def _deadline_plan(template: str) -> Callable[[CaseEvent, Case], Plan]:
    def build(event: CaseEvent, case: Case) -> Plan:
        staff = department_handlers(case, _lead_ids(case)) + nearest_staff(case, Role.DISPATCHER)
        return Plan(
            template,
            staff=staff,
            context={"overdue_since": iso(case.overdue_since) or event.data.get("deadline")},
        )

    return build


def _returned(event: CaseEvent, case: Case) -> Plan:
    code = event.data.get("department", "")
    dept = Department.objects.filter(code=code).first() if code else None
    return Plan(
        "returned",
        staff=nearest_staff(case, Role.DISPATCHER, from_level="subdistrict"),
        context={"department": dept.name if dept else code, "reason": event.note},
    )


def _escalated(event: CaseEvent, case: Case) -> Plan:
    level = event.data.get("to_level") or case.escalation_level
    return Plan(
        "escalated",
        staff=nearest_staff(case, Role.STATION_HEAD, from_level=level),
        context={"level": level, "reason": event.note},
    )


def _closed(event: CaseEvent, case: Case) -> Plan:
    return Plan("closed", to_reporter=True, context={"closed_at": iso(event.at)})


BUILDERS: dict[str, Callable[[CaseEvent, Case], Plan]] = {
    Action.DISPATCH: _dispatch,
    Action.MARK_NEAR_DUE: _deadline_plan("near_due"),
    Action.MARK_OVERDUE: _deadline_plan("overdue"),
    Action.RETURN: _returned,
    Action.ESCALATE: _escalated,
    Action.CLOSE: _closed,
    Action.SELF_HANDLE: _closed,
}


def _notify_reporter(event: CaseEvent, case: Case, context: dict[str, Any]) -> list[Notification]:
    reporter = case.reporter
    key = f"case-event:{event.pk}:reporter"
    if reporter is not None and reporter.pk == event.actor_id:
        return []  # an inspector who fixed what they found needs no message about it
    if reporter is not None and reporter.is_active:
        sent = notify_user(
            user=reporter,
            template="closed",
            context=context,
            idempotency_key=key,
            channels=notify_setting("REPORTER_CHANNELS"),
            case=case,
        )
        if sent is not None:
            return [sent]
    if case.reporter_phone:
        sent, _created = notification_create(
            channel=Channel.SMS,
            address=case.reporter_phone,
            template="closed",
            context=context,
            idempotency_key=key,
            recipient=reporter,
            language=language_for(reporter),
            case=case,
        )
        return [sent]
    return []


def notify_case_event(*, event_id: int) -> list[Notification]:
    """Queue the messages a timeline row calls for (none for most actions); safe to repeat."""
    event = (
        CaseEvent.objects.select_related(
            "case__category", "case__management_grid", "case__reporter"
        )
        .filter(pk=event_id)
        .first()
    )
    if event is None or event.action not in BUILDERS:
        return []
    if event.action == Action.SELF_HANDLE and event.to_state != State.CLOSED:
        return []
    case = event.case
    plan = BUILDERS[event.action](event, case)
    base = {**case_context(case), **plan.context}
    if plan.to_reporter:
        return _notify_reporter(event, case, {**base, "url": _link("track_case", case.number)})
    queued: list[Notification] = []
    seen: set[int] = set()
    for user in plan.staff:
        if user.pk in seen or user.pk == event.actor_id:
            continue  # nobody is told about what they just did themselves
        seen.add(user.pk)
        sent = notify_user(
            user=user,
            template=plan.template,
            context={**base, **plan.per_user.get(user.pk, {})},
            idempotency_key=f"case-event:{event.pk}:user:{user.pk}",
            case=case,
        )
        if sent is not None:
            queued.append(sent)
    return queued
