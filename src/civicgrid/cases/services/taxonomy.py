"""The category taxonomy and SLA policies: upserted from a file (data/*.json) or an admin screen.

Both upserts check every row before writing any, so a bad file changes nothing, and they are
idempotent: loading the same file twice leaves the database as the first load did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Department, Role, User
from civicgrid.audit.services import audit_record
from civicgrid.core.errors import NotAllowed, ValidationFailed

from ..models import Category, CategoryKind, HourType, SlaPolicy, Urgency

DATA_DIR = Path(settings.PROJECT_DIR) / "data"
MAJOR_CODE = re.compile(r"^\d{2}$")
MINOR_CODE = re.compile(r"^\d{4}$")
DATATYPES = ("string", "number", "singlevaluelist")


@dataclass(frozen=True)
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _require_admin(actor: User | None) -> None:
    # No actor means the command line or the demo loader: whoever runs manage.py is trusted.
    if actor is not None and not (actor.is_superuser or actor.role == Role.ADMIN):
        raise NotAllowed(_("Only an administrator may change the taxonomy."))


def _text(row: Mapping[str, Any], key: str, where: str, *, required: bool, limit: int) -> str:
    value = row.get(key) or ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise ValidationFailed(
            _("Give a text of at most %(n)d characters.") % {"n": limit}, field=f"{where}.{key}"
        )
    return value.strip()


def _questions(value: Any, where: str) -> list[dict[str, Any]]:
    """Extra questions: [{code, label, label_en, datatype, required, values: [{key, name}]}]."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationFailed(_("Questions must be a list."), field=where)
    out, seen = [], set()
    for i, q in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(q, Mapping):
            raise ValidationFailed(_("Each question must be an object."), field=at)
        code = _text(q, "code", at, required=True, limit=50)
        if code in seen:
            raise ValidationFailed(_("Question code '%(c)s' is repeated.") % {"c": code}, field=at)
        seen.add(code)
        datatype = q.get("datatype")
        if datatype not in DATATYPES:
            raise ValidationFailed(
                _("datatype must be one of: %(v)s.") % {"v": ", ".join(DATATYPES)},
                field=f"{at}.datatype",
            )
        values = q.get("values") or []
        if not isinstance(values, list) or not all(
            isinstance(v, Mapping) and v.get("key") and v.get("name") for v in values
        ):
            raise ValidationFailed(
                _("values must be a list of {key, name} objects."), field=f"{at}.values"
            )
        if datatype == "singlevaluelist" and not values:
            raise ValidationFailed(_("A list question needs values."), field=f"{at}.values")
        out.append(
            {
                "code": code,
                "label": _text(q, "label", at, required=True, limit=200),
                "label_en": _text(q, "label_en", at, required=False, limit=200),
                "datatype": datatype,
                "required": bool(q.get("required", False)),
                "values": [
                    {"key": str(v["key"]), "name": str(v["name"]), "name_en": v.get("name_en", "")}
                    for v in values
                ],
            }
        )
    return out


def _check_category_rows(
    rows: list[Mapping[str, Any]], *, with_departments: bool
) -> list[dict[str, Any]]:
    existing = {
        c.code: c for c in Category.objects.filter(parent__isnull=True).only("code", "kind")
    }
    departments = set(Department.objects.values_list("code", flat=True))
    kinds_in_batch: dict[str, str] = {}
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        where = f"rows[{i}]"
        if not isinstance(row, Mapping):
            raise ValidationFailed(_("Each row must be an object."), field=where)
        code = str(row.get("code") or "")
        parent = row.get("parent") or None
        pattern = MINOR_CODE if parent else MAJOR_CODE
        if not pattern.match(code) or (parent and not code.startswith(str(parent))):
            raise ValidationFailed(
                _(
                    "A major class code has 2 digits; a minor class code has 4 digits and "
                    "starts with its major class code (got '%(c)s')."
                )
                % {"c": code},
                field=f"{where}.code",
            )
        if code in seen:
            raise ValidationFailed(
                _("Code '%(c)s' is repeated.") % {"c": code}, field=f"{where}.code"
            )
        seen.add(code)
        kind = row.get("kind")
        if kind not in CategoryKind.values:
            raise ValidationFailed(
                _("kind must be one of: %(v)s.") % {"v": ", ".join(CategoryKind.values)},
                field=f"{where}.kind",
            )
        if parent:
            parent_kind = kinds_in_batch.get(parent) or getattr(existing.get(parent), "kind", None)
            if parent_kind is None:
                raise ValidationFailed(
                    _("Unknown major class '%(c)s'.") % {"c": parent}, field=f"{where}.parent"
                )
            if parent_kind != kind:
                raise ValidationFailed(
                    _("A minor class has the kind of its major class (%(k)s).")
                    % {"k": parent_kind},
                    field=f"{where}.kind",
                )
        else:
            kinds_in_batch[code] = kind
        department = row.get("default_department") or None
        if with_departments and department and department not in departments:
            raise ValidationFailed(
                _("Unknown department '%(c)s'.") % {"c": department},
                field=f"{where}.default_department",
            )
        clean: dict[str, Any] = {
            "code": code,
            "parent": parent,
            "name": _text(row, "name", where, required=True, limit=100),
            "name_en": _text(row, "name_en", where, required=False, limit=100),
            "kind": kind,
            "questions": _questions(row.get("questions"), f"{where}.questions"),
            "is_active": bool(row.get("is_active", True)),
        }
        if with_departments:
            clean["default_department"] = department
        checked.append(clean)
    return checked


def category_upsert_many(
    *,
    rows: Iterable[Mapping[str, Any]],
    actor: User | None = None,
    with_departments: bool = True,
) -> UpsertResult:
    """Create or update categories by code. Rows: code, parent (major code or None), name,
    name_en, kind, default_department (code), questions, is_active.

    With `with_departments=False` the default departments are left as they are, for a
    deployment whose departments have other codes.
    """
    _require_admin(actor)
    checked = _check_category_rows(list(rows), with_departments=with_departments)
    dept_ids = dict(Department.objects.values_list("code", "id"))
    created = updated = unchanged = 0
    with transaction.atomic():
        major_ids = dict(Category.objects.filter(parent__isnull=True).values_list("code", "id"))
        # Major classes first, so every minor class finds its parent.
        for row in sorted(checked, key=lambda r: r["parent"] is not None):
            fields: dict[str, Any] = {
                "name": row["name"],
                "name_en": row["name_en"],
                "kind": row["kind"],
                "questions": row["questions"],
                "is_active": row["is_active"],
                "parent_id": major_ids[row["parent"]] if row["parent"] else None,
            }
            if "default_department" in row:
                dept = row["default_department"]
                fields["default_department_id"] = dept_ids[dept] if dept else None
            category = Category.objects.filter(code=row["code"]).first()
            if category is None:
                category = Category.objects.create(code=row["code"], **fields)
                created += 1
            elif any(getattr(category, k) != v for k, v in fields.items()):
                Category.objects.filter(pk=category.pk).update(**fields)
                updated += 1
            else:
                unchanged += 1
            if row["parent"] is None:
                major_ids[row["code"]] = category.pk
        result = UpsertResult(created, updated, unchanged)
        if created or updated:
            audit_record(
                actor=actor,
                action="category.upsert_many",
                object_type="cases.category",
                after={"created": created, "updated": updated},
            )
    return result


def sla_policy_upsert_many(
    *, rows: Iterable[Mapping[str, Any]], actor: User | None = None
) -> UpsertResult:
    """Create or update SLA policies by (category code or None, urgency).

    Rows: category, urgency, hours, hour_type.
    """
    _require_admin(actor)
    categories = dict(Category.objects.values_list("code", "id"))
    checked: list[tuple[int | None, str, int, str]] = []
    seen: set[tuple[int | None, str]] = set()
    for i, row in enumerate(list(rows)):
        where = f"rows[{i}]"
        if not isinstance(row, Mapping):
            raise ValidationFailed(_("Each row must be an object."), field=where)
        code = row.get("category") or None
        category_id = categories.get(code) if code else None
        if code and category_id is None:
            raise ValidationFailed(
                _("Unknown category '%(c)s'.") % {"c": code}, field=f"{where}.category"
            )
        urgency = row.get("urgency")
        if urgency not in Urgency.values:
            raise ValidationFailed(
                _("urgency must be one of: %(v)s.") % {"v": ", ".join(Urgency.values)},
                field=f"{where}.urgency",
            )
        hours = row.get("hours")
        if isinstance(hours, bool) or not isinstance(hours, int) or hours <= 0:
            raise ValidationFailed(
                _("hours must be a whole number above 0."), field=f"{where}.hours"
            )
        hour_type = row.get("hour_type", HourType.WORKING)
        if hour_type not in HourType.values:
            raise ValidationFailed(
                _("hour_type must be one of: %(v)s.") % {"v": ", ".join(HourType.values)},
                field=f"{where}.hour_type",
            )
        if (category_id, urgency) in seen:
            raise ValidationFailed(
                _("The policy for %(c)s / %(u)s is repeated.") % {"c": code or "*", "u": urgency},
                field=where,
            )
        seen.add((category_id, urgency))
        checked.append((category_id, urgency, hours, hour_type))
    created = updated = unchanged = 0
    with transaction.atomic():
        for category_id, urgency, hours, hour_type in checked:
            same: dict[str, Any] = (
                {"category__isnull": True} if category_id is None else {"category_id": category_id}
            )
            policy = SlaPolicy.objects.filter(urgency=urgency, **same).first()
            if policy is None:
                SlaPolicy.objects.create(
                    category_id=category_id, urgency=urgency, hours=hours, hour_type=hour_type
                )
                created += 1
            elif (policy.hours, policy.hour_type) != (hours, hour_type):
                SlaPolicy.objects.filter(pk=policy.pk).update(hours=hours, hour_type=hour_type)
                updated += 1
            else:
                unchanged += 1
        result = UpsertResult(created, updated, unchanged)
        if created or updated:
            audit_record(
                actor=actor,
                action="sla_policy.upsert_many",
                object_type="cases.slapolicy",
                after={"created": created, "updated": updated},
            )
    return result


def category_rows_from_document(doc: Any) -> list[dict[str, Any]]:
    """Flatten the file format ({"categories": [major with "children": [minor]]}) to rows."""
    majors = doc.get("categories") if isinstance(doc, Mapping) else None
    if not isinstance(majors, list):
        raise ValidationFailed(_("The file needs a list 'categories'."), field="categories")
    rows: list[dict[str, Any]] = []
    for i, major in enumerate(majors):
        if not isinstance(major, Mapping):
            raise ValidationFailed(_("Each row must be an object."), field=f"categories[{i}]")
        rows.append({k: v for k, v in major.items() if k != "children"} | {"parent": None})
        for minor in major.get("children") or []:
            if not isinstance(minor, Mapping):
                raise ValidationFailed(
                    _("Each row must be an object."), field=f"categories[{i}].children"
                )
            rows.append(dict(minor) | {"parent": major.get("code")})
    return rows


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ValidationFailed(
            _("Cannot read %(p)s: %(e)s") % {"p": path, "e": e.strerror}, field="path"
        ) from None
    except json.JSONDecodeError as e:
        raise ValidationFailed(
            _("%(p)s is not valid JSON: %(e)s") % {"p": path, "e": e}, field="path"
        ) from None
