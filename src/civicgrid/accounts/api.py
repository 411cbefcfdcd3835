from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from .auth import staff_user
from .models import Department

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    department: str | None
    regions: list[str]
    grid_codes: list[str]


class DepartmentOut(Schema):
    code: str
    name: str


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    user = staff_user(request)
    return MeOut(
        username=user.username,
        display_name=str(user),
        role=user.role,
        department=user.department.code if user.department else None,
        regions=list(user.regions.values_list("code", flat=True)),
        grid_codes=list(user.grid_codes or []),
    )


@router.get("/departments", response=list[DepartmentOut])
def departments(request: HttpRequest) -> list[Department]:
    return list(Department.objects.filter(is_active=True))
