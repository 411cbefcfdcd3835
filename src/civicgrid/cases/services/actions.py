"""The actions of the case loop. Each: lock the row, check the rule, change, record, in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Department, User
from civicgrid.core import clock
from civicgrid.core.errors import Conflict, NotFound, ValidationFailed
from civicgrid.core.text import clean_text
from civicgrid.geo.models import GenerationStatus, Grid, GridKind

from .. import sla, workflow
from ..models import (
    OPEN_STATES,
    AssignmentRole,
    AttachmentKind,
    Case,
    CaseAssignment,
    CaseSupport,
    EscalationLevel,
    Feedback,
    State,
)
from ..selectors import case_list_visible_to
from ..workflow import Action
from .intake import attach_uploads

Uploads = Sequence[uuid.UUID | str]


def _locked(case: Case) -> Case:
    # On PostgreSQL the second of two racing writers waits here, then sees the new state.
    return Case.objects.select_for_update().select_related("category").get(pk=case.pk)


def _required(text: str, field: str, message: str) -> str:
    text = clean_text(text, field=field)
    if not text:
        raise ValidationFailed(message, field=field)
    return text


def _act(
    case: Case,
    action: Action,
    actor: User | None,
    *,
    note: str = "",
    data: dict | None = None,
    changes: dict | None = None,
    photos: Uploads = (),
    photo_kind: str = AttachmentKind.PHOTO,
    reporter_token: uuid.UUID | str | None = None,
) -> Case:
    """The common path of a simple action, for use inside a transaction with the row locked."""
    rule = workflow.require(case, action, actor, reporter_token=reporter_token)
    to = workflow.target_state(case, rule)
    event = workflow.apply(
        case, action, actor=actor, to_state=to, note=note, data=data, changes=changes
    )
    if photos:
        attach_uploads(case, event, photos, photo_kind, "photos")
    return case


def _deadline_from(case: Case, start: dt.datetime) -> dt.datetime | None:
    try:
        deadline, _policy = sla.deadline_for(
            category=case.category, urgency=case.urgency, start=start
        )
    except sla.NoSlaPolicy:
        return case.deadline
    return deadline


def case_accept(*, case: Case, actor: User, note: str = "") -> Case:
    with transaction.atomic():
        case = _locked(case)
        return _act(case, Action.ACCEPT, actor, note=note, changes={"accepted_at": clock.now()})


def case_reject(*, case: Case, actor: User, reason: str) -> Case:
    reason = _required(reason, "reason", _("Say why the case is rejected."))
    with transaction.atomic():
        case = _locked(case)
        return _act(case, Action.REJECT, actor, note=reason)


def case_merge(*, case: Case, into: Case, actor: User, note: str = "") -> Case:
    """Fold a duplicate into the case that stays; its reporter and supporters follow the target."""
    if case.pk == into.pk:
        raise ValidationFailed(_("A case cannot be merged into itself."), field="into")
    with transaction.atomic():
        first, second = sorted(
            [case.pk, into.pk]
        )  # lock in id order: no deadlock between two merges
        locked = {
            c.pk: c
            for c in Case.objects.select_for_update()
            .select_related("category")
            .filter(pk__in=[first, second])
        }
        case, into = locked[case.pk], locked[into.pk]
        if into.state not in OPEN_STATES or into.merged_into_id:
            raise Conflict(
                _("The target case %(n)s is no longer open.") % {"n": into.number}, field="into"
            )
        if not case_list_visible_to(user=actor).filter(pk=into.pk).exists():
            raise NotFound(_("No case %(n)s.") % {"n": into.number}, field="into")
        _act(
            case,
            Action.MERGE,
            actor,
            note=note,
            data={"into": into.number},
            changes={"merged_into": into},
        )
        followers = set(CaseSupport.objects.filter(case=case).values_list("user_id", flat=True))
        if case.reporter_id:
            followers.add(case.reporter_id)
        followers.discard(into.reporter_id)
        existing = set(
            CaseSupport.objects.filter(case=into, user_id__in=followers).values_list(
                "user_id", flat=True
            )
        )
        new = followers - existing
        CaseSupport.objects.bulk_create([CaseSupport(case=into, user_id=u) for u in new])
        workflow.apply(
            into,
            Action.MERGE,
            actor=actor,
            to_state=State(into.state),
            note=note,
            data={"merged": case.number},
            changes={"supporters_count": into.supporters_count + 1 + len(new)},
        )
        return case


def case_dispatch(
    *,
    case: Case,
    lead: Department,
    co_handlers: Sequence[Department] = (),
    actor: User,
    note: str = "",
) -> Case:
    """Hand the case to its lead department and any co-handlers (吹哨报到). The clock starts here."""
    co = [d for d in dict.fromkeys(co_handlers) if d.pk != lead.pk]
    for dept, field in [(lead, "lead"), *((d, "co_handlers") for d in co)]:
        if not dept.is_active:
            raise ValidationFailed(
                _("Department %(d)s is not active.") % {"d": dept.name}, field=field
            )
    with transaction.atomic():
        case = _locked(case)
        now = clock.now()
        rule = workflow.require(case, Action.DISPATCH, actor)
        CaseAssignment.objects.filter(case=case, active=True).update(active=False)
        CaseAssignment.objects.create(
            case=case, department=lead, role=AssignmentRole.LEAD, assigned_at=now
        )
        CaseAssignment.objects.bulk_create(
            [
                CaseAssignment(
                    case=case, department=d, role=AssignmentRole.CO_HANDLER, assigned_at=now
                )
                for d in co
            ]
        )
        workflow.apply(
            case,
            Action.DISPATCH,
            actor=actor,
            to_state=workflow.target_state(case, rule),
            note=note,
            data={"lead": lead.code, "co_handlers": [d.code for d in co]},
            changes={
                "dispatched_at": now,
                "deadline": _deadline_from(case, now),
                "overdue": False,
                "near_due": False,
                "overdue_since": None,
            },
        )
        return case


def case_take(*, case: Case, actor: User, note: str = "") -> Case:
    with transaction.atomic():
        case = _locked(case)
        _act(case, Action.TAKE, actor, note=note)
        CaseAssignment.objects.filter(case=case, active=True, role=AssignmentRole.LEAD).update(
            taken_at=clock.now(), taken_by=actor
        )
        return case


def case_report_handled(*, case: Case, actor: User, note: str, evidence: Uploads = ()) -> Case:
    note = _required(note, "note", _("Say what was done."))
    with transaction.atomic():
        case = _locked(case)
        return _act(
            case,
            Action.REPORT_HANDLED,
            actor,
            note=note,
            photos=evidence,
            photo_kind=AttachmentKind.EVIDENCE,
            changes={"handled_at": clock.now()},
        )


def case_return(*, case: Case, actor: User, reason: str) -> Case:
    reason = _required(reason, "reason", _("Say why this case is not for your department."))
    with transaction.atomic():
        case = _locked(case)
        _act(
            case,
            Action.RETURN,
            actor,
            note=reason,
            data={"department": actor.department.code if actor.department else ""},
        )
        CaseAssignment.objects.filter(case=case, active=True).update(active=False)
        return case


def case_verify(*, case: Case, actor: User, ok: bool, note: str = "", photos: Uploads = ()) -> Case:
    if not ok:
        note = _required(note, "note", _("Say what is still wrong."))
    with transaction.atomic():
        case = _locked(case)
        if ok:
            return _act(
                case,
                Action.VERIFY_OK,
                actor,
                note=note,
                photos=photos,
                photo_kind=AttachmentKind.AFTER,
                changes={"verified_at": clock.now()},
            )
        return _act(
            case,
            Action.VERIFY_FAIL,
            actor,
            note=note,
            photos=photos,
            photo_kind=AttachmentKind.AFTER,
            changes={"rework_count": case.rework_count + 1},
        )


def case_close(*, case: Case, actor: User, note: str = "") -> Case:
    with transaction.atomic():
        case = _locked(case)
        return _act(
            case,
            Action.CLOSE,
            actor,
            note=note,
            changes={"closed_at": clock.now(), "near_due": False},
        )


def case_reopen(
    *, case: Case, actor: User | None, reason: str, reporter_token: uuid.UUID | str | None = None
) -> Case:
    """The reporter (within the window) or a dispatcher says a closed case is not really fixed."""
    reason = _required(reason, "reason", _("Say why the case is not fixed."))
    with transaction.atomic():
        case = _locked(case)
        now = clock.now()
        _act(
            case,
            Action.REOPEN,
            actor,
            note=reason,
            reporter_token=reporter_token,
            changes={
                "closed_at": None,
                "verified_at": None,
                "handled_at": None,
                "accepted_at": now,
                "reopen_count": case.reopen_count + 1,
                "deadline": _deadline_from(case, now),
                "overdue": False,
                "near_due": False,
                "overdue_since": None,
            },
        )
        CaseAssignment.objects.filter(case=case, active=True).update(active=False)
        return case


def case_transfer(*, case: Case, actor: User, grid_code: str, reason: str) -> Case:
    """Move the case to another management grid; that grid's station takes it in as a new report."""
    reason = _required(reason, "reason", _("Say why the case is transferred."))
    grid = (
        Grid.objects.filter(
            code=grid_code, kind=GridKind.MANAGEMENT, generation__status=GenerationStatus.ACTIVE
        )
        .select_related("region")
        .first()
    )
    if grid is None:
        raise ValidationFailed(
            _("No management grid with code '%(c)s'.") % {"c": grid_code}, field="grid"
        )
    with transaction.atomic():
        case = _locked(case)
        if grid.pk == case.management_grid_id:
            raise ValidationFailed(_("The case is already in that grid."), field="grid")
        _act(
            case,
            Action.TRANSFER,
            actor,
            note=reason,
            data={"from_grid": case.management_grid.code, "to_grid": grid.code},
            changes={
                "management_grid": grid,
                "region": grid.region,
                "region_path": grid.region.path,
                "escalation_level": EscalationLevel.GRID,
                "accepted_at": None,
            },
        )
        CaseAssignment.objects.filter(case=case, active=True).update(active=False)
        return case


_NEXT_LEVEL = {
    EscalationLevel.GRID: EscalationLevel.SUBDISTRICT,
    EscalationLevel.SUBDISTRICT: EscalationLevel.DISTRICT,
}


def case_escalate(*, case: Case, actor: User, reason: str) -> Case:
    """Grid → subdistrict → district: the case enters the higher level's queue."""
    reason = _required(reason, "reason", _("Say why the case needs a higher level."))
    with transaction.atomic():
        case = _locked(case)
        workflow.require(case, Action.ESCALATE, actor)
        level = _NEXT_LEVEL.get(EscalationLevel(case.escalation_level))
        if level is None:
            raise Conflict(
                _("The case is already at the district level."), field="escalation_level"
            )
        return _act(
            case,
            Action.ESCALATE,
            actor,
            note=reason,
            data={"to_level": level},
            changes={"escalation_level": level},
        )


def case_self_handle(*, case: Case, actor: User, note: str, photos: Uploads = ()) -> Case:
    """An inspector fixed a small matter on the spot: the case is closed with their evidence."""
    note = _required(note, "note", _("Say what you fixed."))
    with transaction.atomic():
        case = _locked(case)
        now = clock.now()
        return _act(
            case,
            Action.SELF_HANDLE,
            actor,
            note=note,
            photos=photos,
            photo_kind=AttachmentKind.AFTER,
            changes={"accepted_at": now, "handled_at": now, "verified_at": now, "closed_at": now},
        )


def case_extend(*, case: Case, actor: User, until: dt.datetime, reason: str) -> Case:
    reason = _required(reason, "reason", _("Say why the deadline is extended."))
    with transaction.atomic():
        case = _locked(case)
        workflow.require(case, Action.EXTEND, actor)
        if case.deadline is not None and until <= case.deadline:
            raise ValidationFailed(
                _("The new deadline must be later than the current one."), field="until"
            )
        if until <= clock.now():
            raise ValidationFailed(_("The new deadline must be in the future."), field="until")
        return _act(
            case,
            Action.EXTEND,
            actor,
            note=reason,
            data={
                "from": case.deadline.isoformat() if case.deadline else None,
                "to": until.isoformat(),
            },
            changes={"deadline": until, "overdue": False, "near_due": False, "overdue_since": None},
        )


def case_suspend(*, case: Case, actor: User, reason: str) -> Case:
    reason = _required(reason, "reason", _("Say why the case is suspended."))
    with transaction.atomic():
        case = _locked(case)
        return _act(
            case,
            Action.SUSPEND,
            actor,
            note=reason,
            changes={"suspended_from": case.state, "suspended_at": clock.now(), "near_due": False},
        )


def case_resume(*, case: Case, actor: User, note: str = "") -> Case:
    """Back to where it was; the deadline moves by the time spent suspended (the clock stopped)."""
    with transaction.atomic():
        case = _locked(case)
        paused = clock.now() - case.suspended_at if case.suspended_at else dt.timedelta()
        deadline = case.deadline + paused if case.deadline else None
        return _act(
            case,
            Action.RESUME,
            actor,
            note=note,
            changes={"suspended_from": "", "suspended_at": None, "deadline": deadline},
        )


def case_feedback(
    *,
    case: Case,
    actor: User | None,
    satisfaction: int,
    text: str = "",
    reporter_token: uuid.UUID | str | None = None,
) -> Feedback:
    if not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        raise ValidationFailed(
            _("Satisfaction is a whole number from 1 to 5."), field="satisfaction"
        )
    with transaction.atomic():
        case = _locked(case)
        workflow.require(case, Action.FEEDBACK, actor, reporter_token=reporter_token)
        if case.feedback.filter(created_at__gte=case.closed_at).exists():
            raise Conflict(
                _("This case has already been rated since it was closed."), field="satisfaction"
            )
        _act(
            case,
            Action.FEEDBACK,
            actor,
            note=text.strip(),
            data={"satisfaction": satisfaction},
            reporter_token=reporter_token,
        )
        return Feedback.objects.create(
            case=case,
            user=actor if actor is not None and actor.is_authenticated else None,
            satisfaction=satisfaction,
            text=text.strip(),
            created_at=clock.now(),
        )


def case_support(*, case: Case, actor: User | None) -> Case:
    """A resident says "me too" and follows the case instead of filing a duplicate."""
    with transaction.atomic():
        case = _locked(case)
        workflow.require(case, Action.SUPPORT, actor)
        assert actor is not None  # require() refuses anonymous supporters
        if CaseSupport.objects.filter(case=case, user=actor).exists():
            raise Conflict(_("You already support this case."))
        CaseSupport.objects.create(case=case, user=actor)
        return _act(
            case, Action.SUPPORT, actor, changes={"supporters_count": case.supporters_count + 1}
        )


def get_department(code: str, field: str = "lead") -> Department:
    dept = Department.objects.filter(code=code).first()
    if dept is None:
        raise NotFound(_("No department with code '%(c)s'.") % {"c": code}, field=field)
    return dept
