"""The staff case page: details, photos, map, timeline, and one panel per allowed action.

The panels shown come from `workflow.allowed_actions`; every post goes to one service. A
refused action comes back as the panel with the reason next to the field (422 for input,
the domain's status otherwise); a done action swaps the whole case in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civicgrid.accounts.models import Department
from civicgrid.cases import services
from civicgrid.cases.models import AttachmentKind, Case, CaseAttachment
from civicgrid.cases.selectors import case_get_visible_to, case_list_visible_to
from civicgrid.cases.workflow import Action, allowed_actions
from civicgrid.core.errors import DomainError, NotFound

from .. import forms as f
from ..selectors import case_features, grid_features
from .common import (
    STAFF,
    StaffRequest,
    error_status,
    form_response,
    go,
    roles_required,
    show_domain_error,
)
from .common import take_photos as _take_photos

Do = Callable[[Case, Any, dict[str, Any], list[str]], Any]


@dataclass(frozen=True)
class Panel:
    key: str
    actions: tuple[Action, ...]
    form: type[forms.Form]
    do: Do
    label: Any = None
    quick: bool = False  # one tap: the form is only a button
    danger: bool = False
    photos: bool = False

    @property
    def title(self) -> str:
        return str(self.label or self.actions[0].label)


def _merge(case: Case, user: Any, d: dict[str, Any], _p: list[str]) -> Any:
    try:
        into = case_get_visible_to(user=user, number=d["into"].strip())
    except NotFound as e:
        raise NotFound(e.message, field="into") from None
    return services.case_merge(case=case, into=into, actor=user, note=d["note"])


PANELS = [
    Panel(
        "accept",
        (Action.ACCEPT,),
        f.NoteForm,
        lambda c, u, d, p: services.case_accept(case=c, actor=u, note=d["note"]),
        quick=True,
    ),
    Panel(
        "dispatch",
        (Action.DISPATCH,),
        f.DispatchForm,
        lambda c, u, d, p: services.case_dispatch(
            case=c, lead=d["lead"], co_handlers=list(d["co_handlers"]), actor=u, note=d["note"]
        ),
    ),
    Panel(
        "take",
        (Action.TAKE,),
        f.NoteForm,
        lambda c, u, d, p: services.case_take(case=c, actor=u, note=d["note"]),
        quick=True,
    ),
    Panel(
        "report_handled",
        (Action.REPORT_HANDLED,),
        f.EvidenceForm,
        lambda c, u, d, p: services.case_report_handled(
            case=c, actor=u, note=d["note"], evidence=p
        ),
        photos=True,
    ),
    Panel(
        "verify",
        (Action.VERIFY_OK, Action.VERIFY_FAIL),
        f.VerifyForm,
        lambda c, u, d, p: services.case_verify(
            case=c, actor=u, ok=d["ok"], note=d["note"], photos=p
        ),
        label=gettext_lazy("Verify on site"),
        photos=True,
    ),
    Panel(
        "self_handle",
        (Action.SELF_HANDLE,),
        f.EvidenceForm,
        lambda c, u, d, p: services.case_self_handle(case=c, actor=u, note=d["note"], photos=p),
        photos=True,
    ),
    Panel(
        "close",
        (Action.CLOSE,),
        f.NoteForm,
        lambda c, u, d, p: services.case_close(case=c, actor=u, note=d["note"]),
        quick=True,
    ),
    Panel(
        "resume",
        (Action.RESUME,),
        f.NoteForm,
        lambda c, u, d, p: services.case_resume(case=c, actor=u, note=d["note"]),
        quick=True,
    ),
    Panel("merge", (Action.MERGE,), f.MergeForm, _merge),
    Panel(
        "return",
        (Action.RETURN,),
        f.ReasonForm,
        lambda c, u, d, p: services.case_return(case=c, actor=u, reason=d["reason"]),
    ),
    Panel(
        "transfer",
        (Action.TRANSFER,),
        f.TransferForm,
        lambda c, u, d, p: services.case_transfer(
            case=c, actor=u, grid_code=d["grid"], reason=d["reason"]
        ),
    ),
    Panel(
        "escalate",
        (Action.ESCALATE,),
        f.ReasonForm,
        lambda c, u, d, p: services.case_escalate(case=c, actor=u, reason=d["reason"]),
    ),
    Panel(
        "extend",
        (Action.EXTEND,),
        f.ExtendForm,
        lambda c, u, d, p: services.case_extend(
            case=c, actor=u, until=d["until"], reason=d["reason"]
        ),
    ),
    Panel(
        "suspend",
        (Action.SUSPEND,),
        f.ReasonForm,
        lambda c, u, d, p: services.case_suspend(case=c, actor=u, reason=d["reason"]),
    ),
    Panel(
        "reopen",
        (Action.REOPEN,),
        f.ReasonForm,
        lambda c, u, d, p: services.case_reopen(case=c, actor=u, reason=d["reason"]),
    ),
    Panel(
        "feedback",
        (Action.FEEDBACK,),
        f.StaffFeedbackForm,
        lambda c, u, d, p: services.case_feedback(
            case=c, actor=u, satisfaction=d["satisfaction"], text=d["text"]
        ),
        label=gettext_lazy("Record the reporter's rating"),
    ),
    Panel(
        "reject",
        (Action.REJECT,),
        f.ReasonForm,
        lambda c, u, d, p: services.case_reject(case=c, actor=u, reason=d["reason"]),
        danger=True,
    ),
]
PANEL_BY_KEY = {p.key: p for p in PANELS}


def _make_form(panel: Panel, case: Case, data: Any = None, files: Any = None) -> forms.Form:
    kwargs: dict[str, Any] = {"prefix": panel.key}
    if panel.form is f.TransferForm:
        kwargs["exclude_grid"] = case.management_grid.code
    default = case.category.default_department
    if panel.form is f.DispatchForm and data is None and default is not None:
        kwargs["initial"] = {"lead": default.code}
    return panel.form(data, files, **kwargs)


def _panels(case: Case, user: Any) -> list[Panel]:
    allowed = set(allowed_actions(case, user))
    return [p for p in PANELS if allowed.intersection(p.actions)]


def _duplicates(case: Case, user: Any) -> list[Any]:
    found = services.duplicate_candidates(
        category_id=case.category_id,
        lon=case.lon,
        lat=case.lat,
        at=case.reported_at,
        exclude_id=case.pk,
    )
    visible = set(
        case_list_visible_to(user=user)
        .filter(pk__in=[d.case.pk for d in found])
        .values_list("pk", flat=True)
    )
    return [d for d in found if d.case.pk in visible]


def _panel_context(panel: Panel, case: Case, user: Any, form: forms.Form | None = None) -> dict:
    out: dict[str, Any] = {
        "panel": panel,
        "form": form or _make_form(panel, case),
        "case": case,
    }
    if panel.key == "merge":
        dups = _duplicates(case, user)
        out["duplicates"] = dups
        out["compare_geojson"] = case_features([case, *[d.case for d in dups]])
    if panel.key == "verify":
        out["before"] = [
            a
            for a in case.attachments.select_related("upload")
            if a.kind in (AttachmentKind.PHOTO, AttachmentKind.EVIDENCE, AttachmentKind.BEFORE)
        ]
    return out


def case_context(case: Case, user: Any, **extra: Any) -> dict[str, Any]:
    events = case.timeline.select_related("actor").prefetch_related(
        Prefetch("attachments", queryset=CaseAttachment.objects.select_related("upload"))
    )
    attachments = list(case.attachments.select_related("upload", "event"))
    return {
        "case": case,
        "events": events,
        "attachments": attachments,
        "assignments": case.assignments.select_related("department", "taken_by").order_by(
            "-active", "role", "assigned_at"
        ),
        "panels": [_panel_context(p, case, user) for p in _panels(case, user)],
        "case_geojson": case_features([case]),
        "grid_geojson": grid_features([case.management_grid]),
        # The timeline stores department codes; people read names.
        "department_names": dict(Department.objects.values_list("code", "name")),
        **extra,
    }


def _visible(user: Any, number: str) -> Case:
    try:
        case = case_get_visible_to(user=user, number=number)
    except NotFound:
        raise Http404(number) from None
    return Case.objects.select_related(
        "category__default_department", "management_grid", "unit_grid", "region", "merged_into"
    ).get(pk=case.pk)


@roles_required(*STAFF)
def case_detail(request: StaffRequest, number: str) -> HttpResponse:
    case = _visible(request.user, number)
    return render(request, "web/case_detail.html", case_context(case, request.user))


@roles_required(*STAFF)
@require_POST
def case_act(request: StaffRequest, number: str, panel_key: str) -> HttpResponse:
    panel = PANEL_BY_KEY.get(panel_key)
    if panel is None:
        raise Http404(panel_key)
    user = request.user
    case = _visible(user, number)
    form = _make_form(panel, case, request.POST, request.FILES)
    valid = form.is_valid()
    photos = _take_photos(request, form, actor=user) if panel.photos else []
    exc: DomainError | None = None
    if valid and not form.errors:
        try:
            panel.do(case, user, form.cleaned_data, photos)
        except DomainError as e:
            exc = e
            show_domain_error(form, e)
        else:
            return _after_action(request, number, panel)
    context = case_context(case, user)
    mine = _panel_context(panel, case, user, form)
    context["panels"] = [mine if p["panel"] is panel else p for p in context["panels"]]
    context.update(mine, open_panel=panel.key)
    return form_response(
        request,
        page="web/case_detail.html",
        partial="web/partials/action_panel.html",
        context=context,
        status=error_status(form, exc),
        target=f"#panel-{panel.key}",
    )


def _after_action(request: StaffRequest, number: str, panel: Panel) -> HttpResponse:
    done = _("Done: %(action)s.") % {"action": panel.title}
    try:
        case = _visible(request.user, number)
    except Http404:
        # Transferred or returned: the case has left this user's jurisdiction.
        return render(
            request,
            "web/partials/case_gone.html" if request.htmx else "web/case_gone.html",
            {"number": number, "done": done},
        )
    if not request.htmx:
        return go(request, reverse("web:case", args=[number]))
    return render(
        request, "web/partials/case_main.html", case_context(case, request.user, done=done)
    )
