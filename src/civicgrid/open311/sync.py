"""Writes of a pull from another Open311 server: its requests imported as cases, and followed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Role, User
from civicgrid.audit.services import audit_record
from civicgrid.cases import workflow
from civicgrid.cases.models import FINAL_STATES, Case, CaseAssignment, Category, State
from civicgrid.cases.services import case_create
from civicgrid.cases.services.intake import MAX_DESCRIPTION
from civicgrid.cases.workflow import Action
from civicgrid.core import clock
from civicgrid.core.errors import ValidationFailed

from .formats import w3
from .models import META
from .remote import RemoteRequest


def system_actor_get_or_create(*, username: str) -> User:
    """The account imports act as: an operator that cannot sign in and sees no cases."""
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"role": Role.OPERATOR, "display_name": _("Open311 import")},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            audit_record(
                actor=None,
                action="open311.system_actor_create",
                obj=user,
                after={"username": username, "role": user.role},
            )
    return user


# The timeline action of an update that came from the system a case was imported from.
SYNC_ACTION = "external_sync"


@dataclass(frozen=True)
class SyncResult:
    case: Case
    outcome: str  # "created", "updated" or "unchanged"


def _snapshot(remote: RemoteRequest) -> dict[str, str]:
    return {
        "status": remote.status,
        "status_notes": remote.status_notes,
        "description": remote.description,
    }


def _follow(
    case: Case, remote: RemoteRequest, *, actor: User, origin: str, previous: dict[str, Any]
) -> bool:
    """Record what changed on the remote side since `previous`; False when nothing did.

    Only remote *changes* act: a case a dispatcher reopened here stays open until the remote
    side changes its status again, so two systems never fight over one case on every run.
    """
    now = clock.now()
    description = remote.description[:MAX_DESCRIPTION]
    text_changes: dict[str, Any] = {}
    data: dict[str, Any] = {"origin": origin, "remote_status": remote.status}
    if description and description != case.description:
        data["description"] = {"from": case.description, "to": description}
        text_changes["description"] = description
    notes_changed = remote.status_notes != previous.get("status_notes", "")
    status_changed = remote.status != previous.get("status", "open")

    status_step: tuple[str, State, dict[str, Any]] | None = None
    if status_changed and remote.status == "closed" and case.state not in FINAL_STATES:
        status_step = (Action.CLOSE, State.CLOSED, {"closed_at": now, "near_due": False})
    elif status_changed and remote.status == "open" and case.state == State.CLOSED:
        status_step = (
            Action.REOPEN,
            State.ACCEPTED,
            {
                "closed_at": None,
                "verified_at": None,
                "handled_at": None,
                "accepted_at": now,
                "reopen_count": case.reopen_count + 1,
                "overdue": False,
                "near_due": False,
                "overdue_since": None,
            },
        )
    note = remote.status_notes if notes_changed else ""
    steps: list[tuple[str, State, str, dict[str, Any], dict[str, Any]]] = []
    if text_changes or (status_step is None and (notes_changed or status_changed)):
        sync_note = note if status_step is None else ""
        if not sync_note and status_changed and status_step is None:
            # The remote status changed but this case is already final here: say so, only.
            sync_note = _("%(origin)s now reports the request as %(status)s.") % {
                "origin": origin,
                "status": remote.status,
            }
        steps.append((SYNC_ACTION, State(case.state), sync_note, data, text_changes))
    if status_step is not None:
        action, to_state, changes = status_step
        step_data = {"origin": origin, "external": True, "remote_status": remote.status}
        steps.append((action, to_state, note, step_data, changes))
    if not steps:
        return False

    extra = {**case.extra, META: {**case.extra.get(META, {}), "remote": _snapshot(remote)}}
    for i, (action, to_state, step_note, step_data, changes) in enumerate(steps):
        # The remote system is the authority on an imported case: its close and reopen are
        # recorded as timeline events by the import account, not checked against our roles.
        workflow.apply(
            case,
            action,  # type: ignore[arg-type]
            actor=actor,
            to_state=to_state,
            note=step_note,
            data=step_data,
            changes={**changes, "extra": extra} if i == 0 else changes,
        )
    if status_step is not None and status_step[0] == Action.REOPEN:
        CaseAssignment.objects.filter(case=case, active=True).update(active=False)
    return True


def case_sync_external(
    *, remote: RemoteRequest, source: str, category_code: str, actor: User, origin: str
) -> SyncResult:
    """Bring one service request of another system into our cases: file it once, then follow it.

    Idempotent: the case is found by (source, external_id), which the database keeps unique, and
    a request that has not changed since the last run writes nothing.
    """
    external_id = remote.service_request_id
    if len(external_id) > 64:
        raise ValidationFailed(
            _("service_request_id %(id)s is longer than 64 characters.") % {"id": external_id},
            field="service_request_id",
        )
    existing = Case.objects.filter(source=source, external_id=external_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                case = _import(
                    remote=remote,
                    source=source,
                    category_code=category_code,
                    actor=actor,
                    origin=origin,
                )
            return SyncResult(case, "created")
        except IntegrityError:
            # Another run filed it between our look-up and our insert: follow that one instead.
            existing = Case.objects.filter(source=source, external_id=external_id).first()
            if existing is None:
                raise
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=existing.pk)
        previous = case.extra.get(META, {}).get("remote", {})
        changed = _follow(case, remote, actor=actor, origin=origin, previous=previous)
    return SyncResult(case, "updated" if changed else "unchanged")


def _import(
    *, remote: RemoteRequest, source: str, category_code: str, actor: User, origin: str
) -> Case:
    if remote.lat is None or remote.lon is None:
        raise ValidationFailed(
            _("Service request %(id)s has no lat/long, so it cannot be placed on a grid.")
            % {"id": remote.service_request_id},
            field="lat",
        )
    meta = {
        "origin": origin,
        "service_code": remote.service_code,
        "requested_datetime": w3(remote.requested_datetime),
        "media_url": remote.media_url,
        "agency_responsible": remote.agency_responsible,
    }
    kept: dict[str, Any] = {k: v for k, v in meta.items() if v}
    kept["remote"] = _snapshot(remote)
    fallback = Category.objects.filter(code=category_code).values_list("name", flat=True).first()
    description = remote.description or remote.service_name or fallback or category_code
    case = case_create(
        actor=actor,
        category=category_code,
        description=description[:MAX_DESCRIPTION],
        lon=remote.lon,
        lat=remote.lat,
        source=source,
        address=remote.address,
        external_id=remote.service_request_id,
        extra={META: kept},
    ).case
    # A request first seen closed is filed, then closed: both steps are in the timeline.
    _follow(
        case,
        remote,
        actor=actor,
        origin=origin,
        previous={"status": "open", "status_notes": "", "description": case.description},
    )
    return case
