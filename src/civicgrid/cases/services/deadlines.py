"""The periodic sweep that turns stored deadlines into overdue and near-due flags."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from civicgrid.core import clock

from .. import hooks
from ..models import OPEN_STATES, Case, CaseEvent, State
from ..workflow import Action


@dataclass
class SweepResult:
    newly_overdue: list[int] = field(default_factory=list)
    newly_near_due: list[int] = field(default_factory=list)
    cleared: int = 0


def case_sweep_deadlines(*, now: dt.datetime | None = None) -> SweepResult:
    """Idempotent: running it twice, or from two schedulers at once, flags each case once."""
    now = now or clock.now()
    result = SweepResult()
    fraction = settings.CIVICGRID["NEAR_DUE_FRACTION"]
    open_states = [s for s in OPEN_STATES if s != State.SUSPENDED]
    with transaction.atomic():
        due = list(
            Case.objects.select_for_update(skip_locked=True)
            .filter(state__in=open_states, overdue=False, deadline__lt=now)
            .values_list("id", "deadline", "state")
        )
        for case_id, deadline, state in due:
            assert deadline is not None  # filtered on deadline__lt
            # The flag update is conditional, so a second sweeper that saw the same row does nothing.
            if Case.objects.filter(pk=case_id, overdue=False).update(
                overdue=True, near_due=False, overdue_since=deadline
            ):
                event = CaseEvent.objects.create(
                    case_id=case_id,
                    action=Action.MARK_OVERDUE,
                    from_state=state,
                    to_state=state,
                    at=now,
                    data={"deadline": deadline.isoformat()},
                )
                hooks.after_commit(event.pk)
                result.newly_overdue.append(case_id)
        result.cleared = Case.objects.filter(
            overdue=True, deadline__gte=now, state__in=open_states
        ).update(overdue=False, overdue_since=None)
        horizon = now + dt.timedelta(days=30)
        candidates = Case.objects.filter(
            state__in=open_states,
            overdue=False,
            near_due=False,
            deadline__gte=now,
            deadline__lt=horizon,
        ).values_list("id", "deadline", "sla_hours", "dispatched_at", "reported_at", "state")
        for case_id, deadline, hours, dispatched_at, reported_at, state in candidates:
            assert deadline is not None  # filtered on deadline__gte
            start = dispatched_at or reported_at
            total = (deadline - start) if deadline > start else dt.timedelta(hours=hours or 24)
            if deadline - now <= total * fraction and Case.objects.filter(
                pk=case_id, near_due=False
            ).update(near_due=True):
                # A staff-only timeline row, so near-due has a committed event to act on (notify).
                event = CaseEvent.objects.create(
                    case_id=case_id,
                    action=Action.MARK_NEAR_DUE,
                    from_state=state,
                    to_state=state,
                    at=now,
                    data={"deadline": deadline.isoformat()},
                    public=False,
                )
                hooks.after_commit(event.pk)
                result.newly_near_due.append(case_id)
    return result
