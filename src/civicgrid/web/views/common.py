"""What every page view shares: role checks, domain errors shown on forms, photo uploads."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget
from django_htmx.middleware import HtmxDetails

from civicgrid.accounts.models import Role, User
from civicgrid.cases.models import Upload
from civicgrid.cases.services import upload_create
from civicgrid.core.errors import DomainError, ValidationFailed


class PageRequest(HttpRequest):
    """A request through `HtmxMiddleware`, as the views see it."""

    htmx: HtmxDetails


class StaffRequest(PageRequest):
    """A request that `roles_required` let through: the user is signed in."""

    user: User  # type: ignore[assignment]


# Where each role lands after signing in.
ROLE_HOME: dict[str, str] = {
    Role.INSPECTOR: "web:patrol",
    Role.OPERATOR: "web:intake",
    Role.DISPATCHER: "web:desk",
    Role.STATION_HEAD: "web:desk",
    Role.OPS_CENTER: "web:desk",
    Role.ADMIN: "web:desk",
    Role.DEPARTMENT_HANDLER: "web:dept",
}
STAFF = tuple(ROLE_HOME)
DESK_ROLES = (Role.OPERATOR, Role.DISPATCHER, Role.STATION_HEAD, Role.OPS_CENTER, Role.ADMIN)
INTAKE_ROLES = (Role.OPERATOR, Role.DISPATCHER, Role.STATION_HEAD, Role.ADMIN)
PATROL_ROLES = (Role.INSPECTOR, Role.STATION_HEAD, Role.ADMIN)
DEPT_ROLES = (Role.DEPARTMENT_HANDLER,)
PAGE_SIZE = 30

View = Callable[..., HttpResponse]


def forbidden(request: PageRequest, message: str = "") -> HttpResponse:
    return render(
        request,
        "web/forbidden.html",
        {"message": message or _("Your role may not open this page.")},
        status=403,
    )


def roles_required(*roles: str) -> Callable[[View], View]:
    """Sign in first; then only these roles (and superusers) may open the page."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: PageRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_active or not (user.is_superuser or user.role in roles):
                return forbidden(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def show_domain_error(
    form: forms.Form, exc: DomainError, aliases: dict[str, str | None] | None = None
) -> None:
    """Put a service's refusal next to the field it names, or on top of the form."""
    name = (aliases or {}).get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)


def form_response(
    request: PageRequest,
    *,
    page: str,
    partial: str,
    context: dict[str, Any],
    status: int = 422,
    target: str,
) -> HttpResponse:
    """The form again with its errors: swapped in place of the sent form under htmx, else the page."""
    if not request.htmx:
        return render(request, page, context, status=status)
    response = render(request, partial, context, status=status)
    retarget(response, target)
    reswap(response, "outerHTML")
    return response


def go(request: PageRequest, url: str) -> HttpResponse:
    """After a successful write: htmx follows HX-Redirect, a plain form post gets a 303."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url, status=303)


def error_status(form: forms.Form, exc: DomainError | None) -> int:
    """422 when the input is at fault; the domain's own status (403, 404, 409) otherwise."""
    if exc is None or isinstance(exc, ValidationFailed):
        return 422
    return exc.status


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def take_photos(request: PageRequest, form: forms.Form, *, actor: Any) -> list[str]:
    """Upload the chosen images; return their ids with any kept from an earlier failed try.

    Runs after `form.is_valid()`, so that an error elsewhere in the form does not make a
    phone user pick and send the same photos again: the ids ride along in `photo_ids`.
    """
    raw = request.POST.get(form.add_prefix("photo_ids"), "")
    carried = [p for p in raw.split(",") if _is_uuid(p)]
    kept = list(Upload.objects.filter(pk__in=carried, attachment__isnull=True)) if carried else []
    for file in request.FILES.getlist(form.add_prefix("photos")):
        try:
            kept.append(upload_create(file=file, actor=actor, field="photos"))
        except ValidationFailed as exc:
            form.add_error("photos", exc.message)
    form.kept_uploads = kept  # type: ignore[attr-defined]
    return [str(u.pk) for u in kept]


def paginate(request: PageRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def actor(request: PageRequest) -> Any:
    user = request.user
    return user if user.is_authenticated else None
