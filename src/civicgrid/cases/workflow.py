"""The case workflow as one table of transitions.

Every action on a case goes through `require` (state, role, jurisdiction and the rule's own
guard) and then `apply` (state change guarded by the row's version, one timeline row, one
audit row). Docs, the exhaustive state-machine test and the "what can I do here" buttons all
read `TRANSITIONS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.models import Role, User
from civicgrid.audit.services import audit_record
from civicgrid.core import clock
from civicgrid.core.errors import Conflict, NotAllowed, NotFound
from civicgrid.core.text import clean_text

from . import hooks
from .models import AssignmentRole, Case, CaseEvent, State


class Action(models.TextChoices):
    REPORT = "report", gettext_lazy("Report")
    ACCEPT = "accept", gettext_lazy("Accept")
    REJECT = "reject", gettext_lazy("Reject")
    MERGE = "merge", gettext_lazy("Merge into another case")
    DISPATCH = "dispatch", gettext_lazy("Dispatch")
    TAKE = "take", gettext_lazy("Take")
    REPORT_HANDLED = "report_handled", gettext_lazy("Report handled")
    RETURN = "return", gettext_lazy("Return (not ours)")
    VERIFY_OK = "verify_ok", gettext_lazy("Verify: fixed")
    VERIFY_FAIL = "verify_fail", gettext_lazy("Verify: not fixed")
    CLOSE = "close", gettext_lazy("Close")
    REOPEN = "reopen", gettext_lazy("Reopen")
    TRANSFER = "transfer", gettext_lazy("Transfer to another grid")
    ESCALATE = "escalate", gettext_lazy("Escalate")
    SELF_HANDLE = "self_handle", gettext_lazy("Fix on the spot")
    EXTEND = "extend", gettext_lazy("Extend deadline")
    SUSPEND = "suspend", gettext_lazy("Suspend")
    RESUME = "resume", gettext_lazy("Resume")
    FEEDBACK = "feedback", gettext_lazy("Rate the result")
    SUPPORT = "support", gettext_lazy("Me too")
    EXTERNAL_SYNC = "external_sync", gettext_lazy("Updated from another system")
    MARK_OVERDUE = "mark_overdue", gettext_lazy("Became overdue")
    MARK_NEAR_DUE = "mark_near_due", gettext_lazy("Nearly due")


SAME: Literal["same"] = "same"  # the action leaves the state as it is
PREVIOUS: Literal["previous"] = "previous"  # back to the state before suspension

Guard = Callable[[Case, User], str | None]  # returns why not, or None


def _lead_department_member(case: Case, actor: User) -> str | None:
    if not case.assignments.filter(
        active=True, role=AssignmentRole.LEAD, department_id=actor.department_id or 0
    ).exists():
        return _("Only the lead department of this case may do this.")
    return None


def _reporter_or_staff(case: Case, actor: User) -> str | None:
    if actor.role == Role.RESIDENT and case.reporter_id != actor.pk:
        return _("Only the person who reported this case may do this.")
    return None


def _reporter_within_reopen_window(case: Case, actor: User) -> str | None:
    if actor.role != Role.RESIDENT:
        return None
    if case.reporter_id != actor.pk:
        return _("Only the person who reported this case may reopen it.")
    days = settings.CIVICGRID["REOPEN_WINDOW_DAYS"]
    if case.closed_at is None or clock.now() - case.closed_at > dt.timedelta(days=days):
        return _("A case can be reopened within %(days)d days of closing.") % {"days": days}
    return None


def _not_own_report(case: Case, actor: User) -> str | None:
    if case.reporter_id == actor.pk:
        return _("You reported this case; you already follow it.")
    return None


def _has_lead(case: Case, actor: User) -> str | None:
    if not case.assignments.filter(active=True, role=AssignmentRole.LEAD).exists():
        return _("This case has no lead department.")
    return None


@dataclass(frozen=True)
class Rule:
    to: State | Literal["same", "previous"]
    roles: frozenset[str]
    guards: tuple[Guard, ...] = field(default=())


INTAKE = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.STATION_HEAD})
COMMAND = frozenset({Role.DISPATCHER, Role.STATION_HEAD})
HANDLER = frozenset({Role.DEPARTMENT_HANDLER})
VERIFIER = frozenset({Role.INSPECTOR, Role.STATION_HEAD})
ACTIVE_WORK = (State.DISPATCHED, State.IN_PROGRESS, State.REWORK)

_table: list[tuple[tuple[State, ...], Action, Rule]] = [
    ((State.REPORTED,), Action.ACCEPT, Rule(State.ACCEPTED, INTAKE)),
    ((State.REPORTED,), Action.REJECT, Rule(State.REJECTED, INTAKE)),
    ((State.REPORTED, State.ACCEPTED, State.RETURNED), Action.MERGE, Rule(State.MERGED, COMMAND)),
    ((State.ACCEPTED, State.RETURNED), Action.DISPATCH, Rule(State.DISPATCHED, COMMAND)),
    (
        (State.DISPATCHED, State.REWORK),
        Action.TAKE,
        Rule(State.IN_PROGRESS, HANDLER, (_lead_department_member,)),
    ),
    (
        (State.IN_PROGRESS, State.REWORK),
        Action.REPORT_HANDLED,
        Rule(State.HANDLED, HANDLER, (_lead_department_member,)),
    ),
    (
        (State.DISPATCHED, State.IN_PROGRESS),
        Action.RETURN,
        Rule(State.RETURNED, HANDLER, (_lead_department_member,)),
    ),
    ((State.HANDLED,), Action.VERIFY_OK, Rule(State.VERIFIED, VERIFIER)),
    ((State.HANDLED,), Action.VERIFY_FAIL, Rule(State.REWORK, VERIFIER, (_has_lead,))),
    ((State.VERIFIED,), Action.CLOSE, Rule(State.CLOSED, INTAKE)),
    (
        (State.CLOSED,),
        Action.REOPEN,
        Rule(
            State.ACCEPTED,
            COMMAND | {Role.RESIDENT},
            (_reporter_within_reopen_window,),
        ),
    ),
    (
        (State.REPORTED, State.ACCEPTED, State.RETURNED),
        Action.TRANSFER,
        Rule(State.REPORTED, COMMAND),
    ),
    (
        (State.REPORTED, State.ACCEPTED, State.RETURNED, *ACTIVE_WORK),
        Action.ESCALATE,
        Rule(SAME, COMMAND | {Role.INSPECTOR}),
    ),
    ((State.REPORTED,), Action.SELF_HANDLE, Rule(State.CLOSED, frozenset({Role.INSPECTOR}))),
    (ACTIVE_WORK, Action.EXTEND, Rule(SAME, COMMAND)),
    (
        (State.ACCEPTED, State.RETURNED, *ACTIVE_WORK),
        Action.SUSPEND,
        Rule(State.SUSPENDED, COMMAND),
    ),
    ((State.SUSPENDED,), Action.RESUME, Rule(PREVIOUS, COMMAND)),
    (
        (State.CLOSED,),
        Action.FEEDBACK,
        Rule(
            SAME,
            frozenset({Role.RESIDENT, Role.OPERATOR}),
            (_reporter_or_staff,),
        ),
    ),
    (
        (
            State.REPORTED,
            State.ACCEPTED,
            State.DISPATCHED,
            State.IN_PROGRESS,
            State.HANDLED,
            State.VERIFIED,
            State.RETURNED,
            State.REWORK,
            State.SUSPENDED,
        ),
        Action.SUPPORT,
        Rule(SAME, frozenset({Role.RESIDENT}), (_not_own_report,)),
    ),
]

TRANSITIONS: dict[tuple[State, Action], Rule] = {
    (state, action): rule for states, action, rule in _table for state in states
}


def _in_jurisdiction(case: Case, actor: User) -> bool:
    from .selectors import case_list_visible_to

    return case_list_visible_to(user=actor).filter(pk=case.pk).exists()


# What an anonymous reporter may do with the tracking token they were given when reporting.
TOKEN_ACTIONS = frozenset({Action.FEEDBACK, Action.REOPEN})


def _require_by_token(case: Case, action: Action, token: object) -> Rule:
    if action not in TOKEN_ACTIONS or str(case.tracking_token) != str(token):
        raise NotAllowed(_("You must sign in to do this."))
    rule = TRANSITIONS.get((State(case.state), action))
    if rule is None:
        raise Conflict(
            _("A case that is %(state)s cannot be given the action '%(action)s'.")
            % {"state": case.get_state_display(), "action": action.label},
            field="state",
        )
    if action == Action.REOPEN:
        days = settings.CIVICGRID["REOPEN_WINDOW_DAYS"]
        if case.closed_at is None or clock.now() - case.closed_at > dt.timedelta(days=days):
            raise NotAllowed(
                _("A case can be reopened within %(days)d days of closing.") % {"days": days}
            )
    return rule


def require(
    case: Case, action: Action, actor: User | None, *, reporter_token: object = None
) -> Rule:
    """The rule for this action now, or the reason it is refused (403/404/409)."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        if reporter_token is not None:
            return _require_by_token(case, action, reporter_token)
        raise NotAllowed(_("You must sign in to do this."))
    rule = TRANSITIONS.get((State(case.state), action))
    role_allowed = any(
        r.roles and actor.role in r.roles for (_s, a), r in TRANSITIONS.items() if a == action
    )
    if not role_allowed:
        raise NotAllowed(
            _("Your role (%(role)s) may not %(action)s a case.")
            % {"role": actor.get_role_display(), "action": action.label}
        )
    if rule is None or actor.role not in rule.roles:
        raise Conflict(
            _("A case that is %(state)s cannot be given the action '%(action)s'.")
            % {"state": case.get_state_display(), "action": action.label},
            field="state",
        )
    # Staff act inside their jurisdiction; residents act on their own reports (the guards)
    # or support any case they can see publicly.
    if actor.role != Role.RESIDENT and not _in_jurisdiction(case, actor):
        # Same answer as a missing case: another jurisdiction's ids reveal nothing.
        raise NotFound(_("No case %(number)s.") % {"number": case.number})
    for guard in rule.guards:
        why = guard(case, actor)
        if why:
            raise NotAllowed(why)
    return rule


def allowed_actions(case: Case, actor: User | None) -> list[Action]:
    """What the actor may do to the case now: the buttons on the case page."""
    out = []
    for (state, action), _rule in TRANSITIONS.items():
        if state != case.state:
            continue
        try:
            require(case, action, actor)
        except (NotAllowed, Conflict, NotFound):
            continue
        out.append(action)
    return out


def target_state(case: Case, rule: Rule) -> State:
    if rule.to == SAME:
        return State(case.state)
    if rule.to == PREVIOUS:
        return State(case.suspended_from or State.ACCEPTED)
    return State(rule.to)


def apply(
    case: Case,
    action: Action,
    *,
    actor: User | None,
    to_state: State,
    note: str = "",
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    public: bool = True,
) -> CaseEvent:
    """Move the case (and any other `changes`) in one versioned UPDATE, then record it.

    Must run inside the caller's transaction; a writer that lost a race updates no row and
    gets a 409, so a case is never in two states.
    """
    from_state = case.state
    note = clean_text(note, field="note")
    fields = {"state": to_state, "version": case.version + 1, **(changes or {})}
    updated = Case.objects.filter(pk=case.pk, version=case.version).update(
        **fields, updated_at=clock.now()
    )
    if updated != 1:
        raise Conflict(_("Someone else changed this case at the same time; reload and try again."))
    for name, value in fields.items():
        setattr(case, name, value)
    event = CaseEvent.objects.create(
        case=case,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor if actor is not None and actor.pk else None,
        actor_role=getattr(actor, "role", "") or "",
        at=clock.now(),
        note=note,
        data=data or {},
        public=public,
    )
    hooks.after_commit(event.pk)
    if actor is not None and getattr(actor, "is_staff_role", False):
        audit_record(
            actor=actor,
            action=f"case.{action}",
            obj=case,
            before={"state": from_state},
            after={"state": to_state, **{k: str(v) for k, v in (changes or {}).items()}},
        )
    return event
