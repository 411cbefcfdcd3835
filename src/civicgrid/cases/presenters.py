"""Turning cases into the dicts the API returns (one place, so list and detail agree)."""

from __future__ import annotations

from typing import Any

from .models import Case, CaseAttachment, CaseEvent
from .workflow import allowed_actions


def _ref(obj: Any) -> dict[str, str]:
    return {"code": obj.code, "name": obj.name or obj.code}


def case_dict(case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "state": case.state,
        "source": case.source,
        "category": _ref(case.category),
        "urgency": case.urgency,
        "description": case.description,
        "address": case.address,
        "lon": case.lon,
        "lat": case.lat,
        "management_grid": _ref(case.management_grid),
        "unit_grid": case.unit_grid.code if case.unit_grid_id and case.unit_grid else None,
        "region": _ref(case.region),
        "escalation_level": case.escalation_level,
        "reported_at": case.reported_at,
        "accepted_at": case.accepted_at,
        "dispatched_at": case.dispatched_at,
        "handled_at": case.handled_at,
        "closed_at": case.closed_at,
        "deadline": case.deadline,
        "overdue": case.overdue,
        "near_due": case.near_due,
        "supporters_count": case.supporters_count,
        "reopen_count": case.reopen_count,
        "merged_into": case.merged_into.number
        if case.merged_into_id and case.merged_into
        else None,
    }


def attachment_dict(att: CaseAttachment) -> dict[str, Any]:
    return {
        "id": att.upload_id,
        "kind": att.kind,
        "url": att.upload.file.url,
        "content_type": att.upload.content_type,
    }


def case_detail_dict(case: Case, user: Any) -> dict[str, Any]:
    out = case_dict(case)
    out.update(
        reporter_name=case.reporter_name,
        reporter_phone=case.reporter_phone,
        assignments=[
            {
                "department": _ref(a.department),
                "role": a.role,
                "active": a.active,
                "assigned_at": a.assigned_at,
                "taken_at": a.taken_at,
            }
            for a in case.assignments.select_related("department").order_by(
                "-active", "assigned_at"
            )
        ],
        attachments=[attachment_dict(a) for a in case.attachments.select_related("upload")],
        allowed_actions=[str(a) for a in allowed_actions(case, user)],
    )
    return out


def event_dict(event: CaseEvent) -> dict[str, Any]:
    return {
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor": str(event.actor) if event.actor_id and event.actor else None,
        "actor_role": event.actor_role,
        "at": event.at,
        "note": event.note,
        "data": event.data,
        "attachments": [attachment_dict(a) for a in event.attachments.all()],
    }


def public_case_dict(case: Case) -> dict[str, Any]:
    events = case.timeline.filter(public=True).order_by("at", "id")
    return {
        **{
            k: v
            for k, v in case_dict(case).items()
            if k
            in {
                "number",
                "state",
                "category",
                "description",
                "address",
                "lon",
                "lat",
                "reported_at",
                "deadline",
                "overdue",
                "closed_at",
                "supporters_count",
                "merged_into",
            }
        },
        "timeline": [
            # Staff notes can name people; the public sees what happened and when, and the
            # reporter's own words only on the rows they wrote.
            {
                "action": e.action,
                "to_state": e.to_state,
                "at": e.at,
                "note": e.note if e.action in ("report", "feedback", "reject") else "",
            }
            for e in events
        ],
    }
