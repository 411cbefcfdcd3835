"""Resident pages: report a problem without an account, track it by number, rate the result."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicgrid.accounts.models import Role
from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseSupport, State
from civicgrid.cases.presenters import public_case_dict
from civicgrid.cases.selectors import case_get_public, case_list_visible_to
from civicgrid.cases.workflow import Action, allowed_actions
from civicgrid.core.errors import DomainError, NotFound

from ..forms import FeedbackForm, ReopenForm, ReportForm, TrackForm
from ..selectors import category_search, category_tree, grid_features, service_area_grids
from .common import (
    INTAKE_ROLES,
    ROLE_HOME,
    PageRequest,
    actor,
    error_status,
    form_response,
    go,
    show_domain_error,
    take_photos,
)

# A service's field name → the report form's field that shows its message.
REPORT_FIELDS = {"location": "lon", "crs": "lon", "source": None}


def home(request: PageRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated and user.role in ROLE_HOME:
        return redirect(ROLE_HOME[user.role])
    mine = []
    if user.is_authenticated:
        mine = list(case_list_visible_to(user=user)[:20])
    return render(request, "web/home.html", {"track_form": TrackForm(), "mine": mine})


def _report_context(form: ReportForm) -> dict[str, Any]:
    return {"form": form, "tree": category_tree()}


@require_http_methods(["GET", "POST"])
def report(request: PageRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated and user.role == Role.INSPECTOR:
        return redirect("web:patrol_report")
    if user.is_authenticated and user.role in INTAKE_ROLES:
        return redirect("web:intake")
    if request.method == "GET":
        return render(request, "web/report.html", _report_context(ReportForm(variant="resident")))
    form = ReportForm(request.POST, request.FILES, variant="resident")
    valid = form.is_valid()
    photos = take_photos(request, form, actor=actor(request))
    exc = None
    if valid and not form.errors:
        data = form.cleaned_data
        try:
            created = services.case_create(
                actor=actor(request),
                category=data["category"],
                description=data["description"],
                lon=data["lon"],
                lat=data["lat"],
                crs=data["crs"] or "wgs84",
                address=data["address"],
                reporter_phone=data["reporter_phone"],
                photos=photos,
            )
        except DomainError as e:
            exc = e
            show_domain_error(form, e, REPORT_FIELDS)
        else:
            case = created.case
            # The private link is shown once, on the next page; the session carries it there.
            reported = request.session.get("reported", {})
            reported[case.number] = str(case.tracking_token)
            request.session["reported"] = reported
            return go(request, reverse("web:report_thanks", args=[case.number]))
    return form_response(
        request,
        page="web/report.html",
        partial="web/partials/report_form.html",
        context=_report_context(form),
        status=error_status(form, exc),
        target="#report-form",
    )


def _session_token(request: PageRequest, number: str) -> str:
    return request.session.get("reported", {}).get(number, "")


def report_thanks(request: PageRequest, number: str) -> HttpResponse:
    token = _session_token(request, number)
    if not token:
        return redirect("web:track_case", number=number)
    case = case_get_public(number=number)
    private = request.build_absolute_uri(
        reverse("web:track_case", args=[number]) + f"?token={token}"
    )
    duplicates = services.duplicate_candidates(
        category_id=case.category_id,
        lon=case.lon,
        lat=case.lat,
        at=case.reported_at,
        exclude_id=case.pk,
    )
    return render(
        request,
        "web/report_thanks.html",
        {"case": case, "private_link": private, "duplicates": duplicates},
    )


@require_GET
def track(request: PageRequest) -> HttpResponse:
    form = TrackForm(request.GET or None)
    if form.is_bound and form.is_valid():
        number = form.cleaned_data["number"].strip()
        if Case.objects.filter(number=number).exists():
            return redirect("web:track_case", number=number)
        form.add_error("number", _("No case has this number. Check it and try again."))
    status = 404 if form.is_bound and form.errors else 200
    return render(request, "web/track.html", {"track_form": form}, status=status)


def _rated_since_closed(case: Case) -> Any:
    if case.state != State.CLOSED or case.closed_at is None:
        return None
    return case.feedback.filter(created_at__gte=case.closed_at).order_by("-created_at").first()


def _track_context(
    request: PageRequest,
    case: Case,
    *,
    feedback_form: FeedbackForm | None = None,
    reopen_form: ReopenForm | None = None,
) -> dict[str, Any]:
    user: Any = request.user
    token = (
        request.POST.get("token")
        or request.GET.get("token")
        or _session_token(request, case.number)
    )
    token_ok = bool(token) and token == str(case.tracking_token)
    signed_in = user.is_authenticated
    # Staff act on the case page; this page is the resident's view of the case.
    allowed = set(allowed_actions(case, user)) if signed_in and not user.is_staff_role else set()
    if not signed_in and token_ok and case.state == State.CLOSED:
        allowed |= {Action.FEEDBACK, Action.REOPEN}
    rated = _rated_since_closed(case)
    if rated is not None:
        allowed.discard(Action.FEEDBACK)
    supporting = signed_in and CaseSupport.objects.filter(case=case, user=user).exists()
    return {
        "case": case,
        "public": public_case_dict(case),
        "token": token if token_ok else "",
        "is_reporter": signed_in and case.reporter_id == user.pk,
        "can_rate": Action.FEEDBACK in allowed,
        "can_reopen": Action.REOPEN in allowed,
        "can_support": Action.SUPPORT in allowed and not supporting,
        "supporting": supporting,
        "rated": rated,
        "feedback_form": feedback_form
        or FeedbackForm(initial={"token": token if token_ok else ""}),
        "reopen_form": reopen_form or ReopenForm(initial={"token": token if token_ok else ""}),
    }


def _public_case(number: str) -> Case:
    try:
        return case_get_public(number=number)
    except NotFound:
        raise Http404(number) from None


def track_case(request: PageRequest, number: str) -> HttpResponse:
    case = _public_case(number)
    return render(request, "web/track_case.html", _track_context(request, case))


def _track_main(request: PageRequest, case: Case, **forms: Any) -> HttpResponse:
    template = "web/partials/track_main.html" if request.htmx else "web/track_case.html"
    case.refresh_from_db()
    return render(request, template, _track_context(request, case, **forms))


@require_POST
def track_feedback(request: PageRequest, number: str) -> HttpResponse:
    case = _public_case(number)
    form = FeedbackForm(request.POST)
    exc = None
    if form.is_valid():
        try:
            services.case_feedback(
                case=case,
                actor=actor(request),
                satisfaction=form.cleaned_data["satisfaction"],
                text=form.cleaned_data["text"],
                reporter_token=form.cleaned_data["token"] or None,
            )
        except DomainError as e:
            exc = e
            show_domain_error(form, e)
        else:
            return _track_main(request, case)
    return form_response(
        request,
        page="web/track_case.html",
        partial="web/partials/feedback_form.html",
        context=_track_context(request, case, feedback_form=form),
        status=error_status(form, exc),
        target="#feedback-form",
    )


@require_POST
def track_reopen(request: PageRequest, number: str) -> HttpResponse:
    case = _public_case(number)
    form = ReopenForm(request.POST)
    exc = None
    if form.is_valid():
        try:
            services.case_reopen(
                case=case,
                actor=actor(request),
                reason=form.cleaned_data["reason"],
                reporter_token=form.cleaned_data["token"] or None,
            )
        except DomainError as e:
            exc = e
            show_domain_error(form, e)
        else:
            return _track_main(request, case)
    return form_response(
        request,
        page="web/track_case.html",
        partial="web/partials/reopen_form.html",
        context=_track_context(request, case, reopen_form=form),
        status=error_status(form, exc),
        target="#reopen-form",
    )


@login_required
@require_POST
def track_support(request: PageRequest, number: str) -> HttpResponse:
    case = _public_case(number)
    try:
        services.case_support(case=case, actor=actor(request))
    except DomainError as exc:
        context = _track_context(request, case)
        context["support_error"] = exc.message
        template = "web/partials/track_main.html" if request.htmx else "web/track_case.html"
        return render(request, template, context, status=exc.status)
    return _track_main(request, case)


@require_GET
def category_options(request: PageRequest) -> HttpResponse:
    """The minor classes under a major class, as <option>s for the category select."""
    major = request.GET.get("major", "")
    tree = [(m, minors) for m, minors in category_tree() if not major or m.code == major]
    return render(request, "web/partials/category_options.html", {"tree": tree})


@require_GET
def category_suggest(request: PageRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    return render(
        request,
        "web/partials/category_suggest.html",
        {"suggestions": category_search(text), "q": text},
    )


@require_GET
def service_area(request: PageRequest) -> JsonResponse:
    """Outlines of the management grids, so a resident sees where a report can be placed."""
    data = grid_features(service_area_grids())
    response = JsonResponse(data)
    response["Cache-Control"] = "public, max-age=300"
    return response
